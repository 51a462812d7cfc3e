"""SQLAlchemy 2 typed models of the domain (DESIGN.md, "Domain").

Enumerations are stored as short strings so SQLite and PostgreSQL hold the same data.
Times are stored as naive UTC and come back aware (UTCDateTime).
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class Language(enum.StrEnum):
    FR = "fr"
    NL = "nl"
    DE = "de"
    EN = "en"


class TrainingKind(enum.StrEnum):
    CATALOGUE = "catalogue"
    ON_DEMAND = "on_demand"
    CERTIFICATION = "certification"


class EnrollmentState(enum.StrEnum):
    OPTION = "option"
    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


SEAT_HOLDING = (EnrollmentState.OPTION, EnrollmentState.ENROLLED, EnrollmentState.OFFERED)
"""Capacity counts enrolled + option + offered (DESIGN.md)."""


class RequestState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


officer_organisations = Table(
    "officer_organisations",
    Base.metadata,
    Column("officer_id", ForeignKey("officers.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"),
           primary_key=True),
)


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)
    languages: Mapped[str] = mapped_column(String(20), default="fr,nl")
    slack_channel: Mapped[str | None] = mapped_column(String(100))
    """'TEAM:CHANNEL' where the organisation's "Nouvelle inscription" messages also go."""
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Its officers' yearly renewals are approved without an administrator's click."""

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("fr") or self.code


class Officer(Base):
    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    given_names: Mapped[str] = mapped_column(String(120))
    surname: Mapped[str] = mapped_column(String(120))
    nrn_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    language: Mapped[Language] = mapped_column(_enum(Language), default=Language.FR)
    valid_until: Mapped[date | None] = mapped_column(Date)
    roles: Mapped[str] = mapped_column(String(60), default="officer", server_default="officer")
    """Comma-separated: officer, helpdesk, admin (institute staff who decide access)."""
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    organisations: Mapped[list[Organisation]] = relationship(
        secondary=officer_organisations, lazy="selectin", order_by=Organisation.code)
    identities: Mapped[list[ChatIdentity]] = relationship(
        back_populates="officer", lazy="select", cascade="all, delete-orphan")

    @property
    def display_name(self) -> str:
        return f"{self.given_names} {self.surname}"

    def has_role(self, role: str) -> bool:
        return role in {r.strip() for r in (self.roles or "").split(",")}


class ChatIdentity(Base):
    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("platform", "workspace", "user_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    workspace: Mapped[str] = mapped_column(String(100))
    user_ref: Mapped[str] = mapped_column(String(200))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"))
    linked_at: Mapped[datetime] = mapped_column(default=clock.now)
    linked_via: Mapped[str] = mapped_column(String(20))
    cert_fingerprint: Mapped[str | None] = mapped_column(String(128))
    cert_issuer: Mapped[str | None] = mapped_column(String(400))
    cert_serial: Mapped[str | None] = mapped_column(String(80))
    officer: Mapped[Officer] = relationship(back_populates="identities")


class Collaborator(Base):
    __tablename__ = "collaborators"
    id: Mapped[int] = mapped_column(primary_key=True)
    nrn_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nrn_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    nrn_masked: Mapped[str] = mapped_column(String(20))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(1))
    surname: Mapped[str] = mapped_column(String(120))
    given_names: Mapped[str] = mapped_column(String(160))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[Language] = mapped_column(_enum(Language), default=Language.FR)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    department: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    search_key: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now,
                                                 index=True)
    organisation: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def display_name(self) -> str:
        return f"{self.surname} {self.given_names}"


class Training(Base):
    __tablename__ = "trainings"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    titles: Mapped[dict[str, Any]] = mapped_column(default=dict)
    kind: Mapped[TrainingKind] = mapped_column(_enum(TrainingKind), default=TrainingKind.CATALOGUE)
    owner_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    owner: Mapped[Organisation | None] = relationship(lazy="joined")
    sessions: Mapped[list[TrainingSession]] = relationship(
        back_populates="training", order_by="TrainingSession.starts_on")

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles.get("fr") or self.code


class TrainingSession(Base):
    __tablename__ = "training_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Enrollments holding a seat (SEAT_HOLDING), kept by every write of an enrollment
    (core.services.booking, and the mapper events at the end of this module): taking a seat
    is one guarded UPDATE of this row."""
    training: Mapped[Training] = relationship(back_populates="sessions", lazy="joined")


class Enrollment(Base):
    """One row per (session, collaborator); its history is in EnrollmentEvent."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("session_id", "collaborator_id"),
        Index("ix_enrollments_session_state", "session_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"))
    collaborator_id: Mapped[int] = mapped_column(ForeignKey("collaborators.id"), index=True)
    state: Mapped[EnrollmentState] = mapped_column(_enum(EnrollmentState))
    hold_expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    session: Mapped[TrainingSession] = relationship(lazy="joined")
    collaborator: Mapped[Collaborator] = relationship(lazy="joined")


class EnrollmentEvent(Base):
    __tablename__ = "enrollment_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    from_state: Mapped[EnrollmentState | None] = mapped_column(_enum(EnrollmentState))
    to_state: Mapped[EnrollmentState] = mapped_column(_enum(EnrollmentState))
    at: Mapped[datetime] = mapped_column(default=clock.now)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    reason: Mapped[str | None] = mapped_column(String(300))


class TestResult(Base):
    __tablename__ = "test_results"
    __test__ = False
    id: Mapped[int] = mapped_column(primary_key=True)
    collaborator_id: Mapped[int] = mapped_column(ForeignKey("collaborators.id"), index=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"))
    taken_on: Mapped[date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    max_score: Mapped[int] = mapped_column(Integer, default=100)
    passed: Mapped[bool] = mapped_column(Boolean)
    training: Mapped[Training] = relationship(lazy="joined")


class RegistrationRequest(Base):
    """A "Nouvelle inscription": what an unknown civil servant asked for and the data they typed.

    The typed NRN is kept encrypted; `person` never holds it.
    """

    __tablename__ = "registration_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    person: Mapped[dict[str, Any]] = mapped_column(default=dict)
    nrn_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    wants: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[RequestState] = mapped_column(_enum(RequestState), default=RequestState.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    decided_by: Mapped[Officer | None] = relationship(lazy="joined")


class MailingListSubscription(Base):
    __tablename__ = "mailing_list_subscriptions"
    __table_args__ = (UniqueConstraint("email", "organisation_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[Language] = mapped_column(_enum(Language), default=Language.FR)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Base):
    """A notification decided in a business transaction, delivered later by a worker.

    The Message-ID is fixed here, at enqueue, so a relay that sees it twice can drop the copy.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_pending", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), default="mail")
    to_address: Mapped[str] = mapped_column(String(254))
    language: Mapped[Language] = mapped_column(_enum(Language), default=Language.FR)
    template: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(300))
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column()


class ConversationState(Base):
    """The pending multi-step flow of one chat user, so any instance can continue it."""

    __tablename__ = "conversation_states"
    __table_args__ = (UniqueConstraint("channel", "user_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(120))
    user_ref: Mapped[str] = mapped_column(String(200))
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    language: Mapped[Language] = mapped_column(_enum(Language))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class Meta(Base):
    """Key/value facts about this database (e.g. that it is a demo database)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(400))


class ProcessedDelivery(Base):
    """A chat platform delivery already handled (Slack retries, Teams redeliveries, mails)."""

    __tablename__ = "processed_deliveries"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now, index=True)


class ReplyToken(Base):
    """The secret in a notification's Reply-To: one officer, one request, single use, expiring.

    `kind` says which request: a registration ("Nouvelle inscription", `request_id`) or an
    access request (`access_request_id`), decided by an administrator.

    Only a hash of the token is stored: whoever reads the table cannot answer in an officer's
    name.
    """

    __tablename__ = "reply_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("registration_requests.id",
                                                              ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="registration",
                                      server_default="registration")
    access_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_requests.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    officer: Mapped[Officer] = relationship(lazy="joined")
    request: Mapped[RegistrationRequest | None] = relationship(lazy="joined")

    @property
    def subject_id(self) -> int:
        """The number of the request this token answers, whatever its kind."""
        return int(self.access_request_id if self.kind == "access" else self.request_id or 0)


class MailboxCheckpoint(Base):
    """Where an IMAP poller is: (UIDVALIDITY, last UID acted upon) per mailbox.

    ``failing_uid`` and ``failures`` count how often the next message failed, so that one
    message that always fails is passed over after a few tries instead of blocking the mailbox.
    """

    __tablename__ = "mailbox_checkpoints"
    mailbox: Mapped[str] = mapped_column(String(300), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(Integer)
    last_uid: Mapped[int] = mapped_column(Integer, default=0)
    failing_uid: Mapped[int | None] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class LinkToken(Base):
    """A one-time eID link URL: bound to the chat account that asked, 10 minutes, single use.

    Only a hash of the token is stored: the URL is the secret.
    """

    __tablename__ = "link_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    workspace: Mapped[str] = mapped_column(String(100))
    user_ref: Mapped[str] = mapped_column(String(200))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class TeamsConversation(Base):
    """Where the Teams bot may write unprompted (a conversation reference): a person's 1:1 chat
    with the bot, kept from their first activity or the app's install, or a team channel, whose
    organisation (when an operator set one) also gets its "Nouvelle inscription" cards there."""

    __tablename__ = "teams_conversations"
    __table_args__ = (UniqueConstraint("tenant_id", "user_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(100))
    user_ref: Mapped[str | None] = mapped_column(String(200))
    """The person's Entra object id (personal chats); None for a channel."""
    conversation_id: Mapped[str] = mapped_column(String(400), unique=True)
    service_url: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(20))
    """'personal' or 'channel'."""
    name: Mapped[str | None] = mapped_column(String(200))
    """Team and channel name, for operators choosing an organisation's channel."""
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class PdataTermsAcceptance(Base):
    """An officer accepted the validation module's terms of use (once per version)."""

    __tablename__ = "pdata_terms_acceptances"
    __table_args__ = (UniqueConstraint("officer_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(20))
    accepted_at: Mapped[datetime] = mapped_column(default=clock.now)


class PdataUpload(Base):
    """A P-data file validated in chat, waiting for the officer's one-click confirmation.

    The file is kept encrypted and dropped once applied, refused again, discarded or expired.
    """

    __tablename__ = "pdata_uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"),
                                            index=True)
    organisation: Mapped[str | None] = mapped_column(String(20))
    """The organisation code the officer chose, when the file is for one of theirs only."""
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[Language] = mapped_column(_enum(Language))
    rows: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(20))
    """validated → applied | rejected | discarded | expired."""
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    applied_at: Mapped[datetime | None] = mapped_column()


class AccessRequest(Base):
    """Someone asks to be a training officer (kind "access"), or an officer asks for one more
    year (kind "renewal"); an institute administrator decides, once.

    The person is identified by the eID certificate they showed: only the NRN's keyed hash
    (and its encryption, to create the officer on approval) is kept.
    """

    __tablename__ = "access_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"),
                                                   index=True)
    nrn_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    nrn_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    email: Mapped[str] = mapped_column(String(254))
    given_names: Mapped[str] = mapped_column(String(160))
    surname: Mapped[str] = mapped_column(String(120))
    function: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[Language] = mapped_column(_enum(Language), default=Language.FR)
    organisations: Mapped[str] = mapped_column(String(200))
    """Comma-separated organisation codes."""
    chat_account: Mapped[str | None] = mapped_column(String(320))
    """'platform:workspace:user' of the chat account that asked, linked on approval."""
    state: Mapped[RequestState] = mapped_column(_enum(RequestState), default=RequestState.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(500))
    valid_until: Mapped[date | None] = mapped_column(Date)
    """The end of access this decision gave (approved requests)."""
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    officer: Mapped[Officer | None] = relationship(foreign_keys=[officer_id], lazy="joined")
    decided_by: Mapped[Officer | None] = relationship(foreign_keys=[decided_by_id],
                                                      lazy="joined")

    @property
    def display_name(self) -> str:
        return f"{self.given_names} {self.surname}"

    @property
    def organisation_codes(self) -> list[str]:
        return [c for c in self.organisations.split(",") if c]


class AccessReminder(Base):
    """A reminder sent (30, 7, 1 days before the end of access; 0 = it ended): never twice
    for the same end date."""

    __tablename__ = "access_reminders"
    __table_args__ = (UniqueConstraint("officer_id", "valid_until", "days"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"))
    valid_until: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(default=clock.now)


class Track(Base):
    """A PRO Academy certification track: ordered modules (each a Training of kind
    certification, with its own sessions), a prerequisite, and a capacity per cohort."""

    __tablename__ = "tracks"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    titles: Mapped[dict[str, Any]] = mapped_column(default=dict)
    capacity: Mapped[int] = mapped_column(Integer)
    """Candidates per cohort."""
    requires_track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"))
    requires_test_id: Mapped[int | None] = mapped_column(ForeignKey("trainings.id"))
    """A passed TestResult of this training is a prerequisite."""
    modules: Mapped[list[TrackModule]] = relationship(
        back_populates="track", order_by="TrackModule.position", lazy="selectin")
    cohorts: Mapped[list[Cohort]] = relationship(
        back_populates="track", order_by="Cohort.starts_on", lazy="select")
    requires_track: Mapped[Track | None] = relationship(remote_side=[id], lazy="joined")
    requires_test: Mapped[Training | None] = relationship(lazy="joined")

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles.get("fr") or self.code


class TrackModule(Base):
    __tablename__ = "track_modules"
    __table_args__ = (UniqueConstraint("track_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), unique=True)
    track: Mapped[Track] = relationship(back_populates="modules")
    training: Mapped[Training] = relationship(lazy="joined")


class Cohort(Base):
    """One intake of a track: a session of every module; its row is the capacity lock."""

    __tablename__ = "cohorts"
    __table_args__ = (UniqueConstraint("track_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    track: Mapped[Track] = relationship(back_populates="cohorts", lazy="joined")
    sessions: Mapped[list[TrainingSession]] = relationship(
        secondary="cohort_sessions", order_by="TrainingSession.starts_on", lazy="selectin")


cohort_sessions = Table(
    "cohort_sessions",
    Base.metadata,
    Column("cohort_id", ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    Column("session_id", ForeignKey("training_sessions.id", ondelete="CASCADE"),
           primary_key=True, unique=True),
)


class TrackEnrollment(Base):
    """A candidate in a track: the cohort holding their seat, and a state
    (active, paused, cancelled, completed). Each module is an ordinary Enrollment."""

    __tablename__ = "track_enrollments"
    __table_args__ = (Index("ix_track_enrollments_cohort_state", "cohort_id", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"), index=True)
    collaborator_id: Mapped[int] = mapped_column(ForeignKey("collaborators.id"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id"))
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    track: Mapped[Track] = relationship(lazy="joined")
    cohort: Mapped[Cohort | None] = relationship(lazy="joined")
    collaborator: Mapped[Collaborator] = relationship(lazy="joined")


class HeldFile(Base):
    """A file waiting for the chat user's click, on whichever instance the click arrives: an
    export behind a Teams file-consent card, a P-data file while its officer picks the
    organisation it is for. Encrypted, bound to the chat account, short-lived, single use."""

    __tablename__ = "held_files"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(150))
    user_ref: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class HelpdeskTicket(Base):
    """A thread of mails to the helpdesk address: what it is about, who wrote, who works on it.

    The number senders and staff see (`[ITMA #12]`) is the id. `context` holds what the
    product knew of the sender at its last mail (officer, organisation, access,
    pending requests, last P-data import, recent chat actions); `draft` an answer the product
    could write, for staff to send, never sent by itself.
    """

    __tablename__ = "helpdesk_tickets"
    __table_args__ = (Index("ix_helpdesk_tickets_state_category", "state", "category"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    sender: Mapped[str] = mapped_column(String(254), index=True)
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[Language] = mapped_column(_enum(Language))
    category: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(20), default="new")
    """new → assigned → answered → closed; a mail from the sender reopens it."""
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    """The officer the sender's address belongs to, when it does."""
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id",
                                                               ondelete="SET NULL"))
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    closed_at: Mapped[datetime | None] = mapped_column()
    officer: Mapped[Officer | None] = relationship(foreign_keys=[officer_id], lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    assignee: Mapped[Officer | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    messages: Mapped[list[HelpdeskMessage]] = relationship(
        back_populates="ticket", order_by="HelpdeskMessage.id", lazy="select",
        cascade="all, delete-orphan")

    @property
    def number(self) -> int:
        return self.id


class HelpdeskMessage(Base):
    """One mail of a ticket's thread: received (`in`), our acknowledgement (`ack`) or a staff
    answer (`out`). Outgoing ones keep the Message-ID the outbox gave them, which is how a
    reply names its ticket."""

    __tablename__ = "helpdesk_messages"
    __table_args__ = (Index("ix_helpdesk_messages_address_direction", "address", "direction",
                            "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("helpdesk_tickets.id", ondelete="CASCADE"),
                                           index=True)
    direction: Mapped[str] = mapped_column(String(10))
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    address: Mapped[str] = mapped_column(String(254))
    """The sender of a received mail, the recipient of ours."""
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    via: Mapped[str] = mapped_column(String(20), default="")
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    """Who wrote a staff answer."""
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    ticket: Mapped[HelpdeskTicket] = relationship(back_populates="messages")
    officer: Mapped[Officer | None] = relationship(lazy="joined")


class HelpdeskRoute(Base):
    """Where new tickets of a category are posted: a Slack channel ('TEAM:CHANNEL') or a Teams
    conversation ('TENANT:CONVERSATION'); category 'all' takes every ticket."""

    __tablename__ = "helpdesk_routes"
    __table_args__ = (UniqueConstraint("category", "platform", "target"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(20))
    platform: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(400))
    language: Mapped[Language] = mapped_column(_enum(Language), default=Language.FR)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


# --- The seat counter follows every enrollment the ORM writes --------------------------------
# The hot paths (core.services.enrollment) move the counter in their own guarded statements;
# every other write of an enrollment through the ORM — the slow paths, tracks, the demo seed,
# tests — moves it here, in the same flush, so the counter always equals the seat-holding rows.


def _holds(state: object) -> bool:
    return state in SEAT_HOLDING


def _move_seats(connection: Any, changes: dict[int, int]) -> None:
    sessions = TrainingSession.__table__
    for session_id, delta in changes.items():
        if delta and session_id is not None:
            connection.execute(sessions.update().where(sessions.c.id == session_id)
                               .values(seats_taken=sessions.c.seats_taken + delta))


@event.listens_for(Enrollment, "after_insert")
def _seat_on_insert(_mapper: Any, connection: Any, target: Enrollment) -> None:
    if _holds(target.state):
        _move_seats(connection, {target.session_id: 1})


@event.listens_for(Enrollment, "after_update")
def _seat_on_update(_mapper: Any, connection: Any, target: Enrollment) -> None:
    attrs = inspect(target).attrs
    states, sessions = attrs.state.history, attrs.session_id.history
    if not states.deleted and not sessions.deleted:
        return
    before = (sessions.deleted[0] if sessions.deleted else target.session_id,
              states.deleted[0] if states.deleted else target.state)
    changes: dict[int, int] = {}
    if _holds(before[1]):
        changes[before[0]] = changes.get(before[0], 0) - 1
    if _holds(target.state):
        changes[target.session_id] = changes.get(target.session_id, 0) + 1
    _move_seats(connection, changes)


@event.listens_for(Enrollment, "after_delete")
def _seat_on_delete(_mapper: Any, connection: Any, target: Enrollment) -> None:
    if _holds(target.state):
        _move_seats(connection, {target.session_id: -1})
