"""Teams conversation references in the database: where the bot may write without being asked.

A person's 1:1 chat with the bot is remembered from their first activity (or the app's install)
by tenant and Entra object id, so a request card or a private answer reaches them later from any
instance; a channel is remembered by its conversation id so an operator can give it to an
organisation. Everything here is synchronous SQL, called on worker threads.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import clock
from core.app import App, UnitOfWork
from core.models import Organisation, TeamsConversation
from core.services import deliveries
from core.services.access import organisation_by_code

PERSONAL = "personal"
CHANNEL = "channel"


@dataclass(frozen=True)
class Where:
    """A conversation the bot can post to."""

    conversation_id: str
    service_url: str


@dataclass(frozen=True)
class Reference:
    """What an activity tells about where its sender (or its channel) can be reached."""

    tenant_id: str
    conversation_id: str
    service_url: str
    kind: str
    user_ref: str | None = None
    name: str | None = None

    @property
    def where(self) -> Where:
        return Where(self.conversation_id, self.service_url)


def delivery_key(conversation_id: str, activity_id: str) -> str:
    """Activity ids are unique within a conversation: together they name one delivery."""
    digest = hashlib.sha256(f"{conversation_id}\x00{activity_id}".encode()).hexdigest()
    return f"teams:{digest[:48]}"


REMEMBERED_FOR = 60.0
"""Seconds a reference this process stored (or found stored) is taken as still stored."""


@dataclass
class Remembered:
    """The references one bot stored lately, so a person's every message does not read their
    row again to find it unchanged (a SELECT per message). Keyed like the table's unique keys;
    a different reference for the same key, a `forget`, or REMEMBERED_FOR elapsed (another
    instance may have changed the row) sends the next one to the database again."""

    seen: dict[tuple[str, ...], tuple[Reference, float]] = field(default_factory=dict)

    @staticmethod
    def _key(reference: Reference) -> tuple[str, ...]:
        if reference.kind == PERSONAL:
            return (PERSONAL, reference.tenant_id, reference.user_ref or "")
        return (CHANNEL, reference.conversation_id)

    def fresh(self, reference: Reference) -> bool:
        known = self.seen.get(self._key(reference))
        return (known is not None and known[0] == reference
                and time.monotonic() - known[1] < REMEMBERED_FOR)

    def stored(self, reference: Reference) -> None:
        if len(self.seen) > 10_000:
            self.seen.clear()
        self.seen[self._key(reference)] = (reference, time.monotonic())

    def forgotten(self, conversation_id: str) -> None:
        for key, (reference, _) in list(self.seen.items()):
            if reference.conversation_id == conversation_id:
                self.seen.pop(key, None)


class Arrival:
    """An activity's bookkeeping — record its delivery, remember its conversation — run in the
    caller's transaction: the engine turn's own (`Inbound.arrival`), or `arrive`'s.

    Called with the session: False when the key was already recorded, a redelivered activity
    handled once on any instance (INSERT … ON CONFLICT DO NOTHING, like Slack's retries). A
    reference `remembered` holds as lately stored is not looked up again; `committed()` notes
    it as stored once the transaction has committed.
    """

    def __init__(self, key: str | None, reference: Reference | None,
                 remembered: Remembered | None = None) -> None:
        if remembered is not None and reference is not None and remembered.fresh(reference):
            reference = None
        self.key, self.reference, self.remembered = key, reference, remembered

    def __call__(self, session: Session) -> bool:
        if self.key is not None and not deliveries.record_once(session, self.key):
            return False
        if self.reference is not None:
            remember(session, self.reference)
        return True

    def committed(self) -> None:
        if self.remembered is not None and self.reference is not None:
            self.remembered.stored(self.reference)


def arrive(app: App, key: str | None, reference: Reference | None,
           remembered: Remembered | None = None) -> bool:
    """Record a delivery and remember its conversation, in a transaction of their own."""
    arrival = Arrival(key, reference, remembered)
    with app.unit_of_work() as uow:
        if not arrival(uow.session):
            return False
    arrival.committed()
    return True


def remember(session: Session, reference: Reference) -> None:
    """Insert or refresh the reference; a read first, so an unchanged one costs no write."""
    if reference.kind == PERSONAL:
        where = (TeamsConversation.tenant_id == reference.tenant_id,
                 TeamsConversation.user_ref == reference.user_ref)
        target = ["tenant_id", "user_ref"]
    else:
        where = (TeamsConversation.conversation_id == reference.conversation_id,)
        target = ["conversation_id"]
    known = session.execute(select(TeamsConversation.conversation_id,
                                   TeamsConversation.service_url, TeamsConversation.name)
                            .where(*where)).first()
    if known is not None and tuple(known) == (reference.conversation_id, reference.service_url,
                                              reference.name or known.name):
        return
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    values = {"conversation_id": reference.conversation_id,
              "service_url": reference.service_url[:400], "updated_at": clock.now()}
    if reference.name:
        values["name"] = reference.name[:200]
    statement = dialect.insert(TeamsConversation).values(
        tenant_id=reference.tenant_id, user_ref=reference.user_ref, kind=reference.kind,
        **values)
    session.execute(statement.on_conflict_do_update(index_elements=target, set_=values))


def personal(app: App, tenant_id: str, user_ref: str) -> Where | None:
    with app.unit_of_work(readonly=True) as uow:
        row = uow.session.execute(select(TeamsConversation.conversation_id,
                                         TeamsConversation.service_url).where(
            TeamsConversation.tenant_id == tenant_id,
            TeamsConversation.user_ref == user_ref)).first()
    return Where(*row) if row else None


def channel(app: App, conversation_id: str) -> Where | None:
    with app.unit_of_work(readonly=True) as uow:
        row = uow.session.execute(select(TeamsConversation.conversation_id,
                                         TeamsConversation.service_url).where(
            TeamsConversation.conversation_id == conversation_id)).first()
    return Where(*row) if row else None


def service_url(app: App, tenant_id: str) -> str | None:
    """The Bot Connector most recently seen for a tenant (Teams serves a tenant from one region)."""
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(TeamsConversation.service_url)
                                  .where(TeamsConversation.tenant_id == tenant_id)
                                  .order_by(TeamsConversation.updated_at.desc()).limit(1))


def forget(app: App, conversation_id: str) -> None:
    """A conversation the connector no longer knows: the next message opens a new one."""
    with app.unit_of_work() as uow:
        uow.session.execute(delete(TeamsConversation)
                            .where(TeamsConversation.conversation_id == conversation_id))


@dataclass(frozen=True)
class Channel:
    tenant_id: str
    conversation_id: str
    name: str | None
    organisation: str | None

    @property
    def address(self) -> str:
        """The outbox's to_address for this channel: TENANT:CONVERSATION."""
        return f"{self.tenant_id}:{self.conversation_id}"


def channels(uow: UnitOfWork) -> list[Channel]:
    rows = uow.session.execute(
        select(TeamsConversation.tenant_id, TeamsConversation.conversation_id,
               TeamsConversation.name, Organisation.code)
        .outerjoin(Organisation, Organisation.id == TeamsConversation.organisation_id)
        .where(TeamsConversation.kind == CHANNEL)
        .order_by(TeamsConversation.name, TeamsConversation.conversation_id))
    return [Channel(*row) for row in rows]


class UnknownChannel(LookupError):
    pass


def assign(uow: UnitOfWork, conversation_id: str, code: str | None,
           actor: str = "operator") -> Channel:
    """Give a channel the bot is in to an organisation (or to none): its request cards go there."""
    row = uow.session.scalar(select(TeamsConversation).where(
        TeamsConversation.conversation_id == conversation_id,
        TeamsConversation.kind == CHANNEL))
    if row is None:
        raise UnknownChannel(conversation_id)
    organisation = organisation_by_code(uow, code) if code else None
    row.organisation_id = organisation.id if organisation else None
    uow.audit("organisation.teams_channel", "organisation",
              organisation.id if organisation else None, actor=actor, channel=conversation_id)
    return Channel(row.tenant_id, row.conversation_id, row.name,
                   organisation.code if organisation else None)

