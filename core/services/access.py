"""Who may act: officers, their organisations, the yearly access, and chat identities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from core import clock, nrn
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import (
    ChatIdentity,
    Collaborator,
    Language,
    Officer,
    Organisation,
    Training,
    TrainingKind,
)

ACCESS_PERIOD = timedelta(days=365)
PLATFORMS = ("slack", "teams", "console", "mail")


def require_active(officer: Officer) -> None:
    today = clock.today()
    if officer.valid_until is None or officer.valid_until < today:
        raise DomainError("access_expired", date=officer.valid_until or "-")


def require_organisation(officer: Officer, organisation: Organisation) -> None:
    require_active(officer)
    if organisation.id not in {o.id for o in officer.organisations}:
        raise DomainError("not_your_organisation", organisation=organisation.code,
                          yours=", ".join(o.code for o in officer.organisations) or "-")


def responsible_for(officer: Officer, organisation_id: int) -> bool:
    """Whether the officer may see this organisation's people and requests at all."""
    return organisation_id in {o.id for o in officer.organisations}


def require_collaborator(officer: Officer, collaborator: Collaborator) -> None:
    require_organisation(officer, collaborator.organisation)


def can_see_training(officer: Officer | None, training: Training) -> bool:
    if training.kind != TrainingKind.ON_DEMAND or officer is None:
        return True
    return training.owner_organisation_id in {o.id for o in officer.organisations}


def require_training(officer: Officer, training: Training) -> None:
    require_active(officer)
    if not can_see_training(officer, training):
        raise DomainError("training_reserved", code=training.code,
                          organisation=training.owner.code if training.owner else "-")


def organisation_by_code(uow: UnitOfWork, code: str) -> Organisation:
    organisation = uow.session.scalar(select(Organisation).where(Organisation.code == code.upper()))
    if organisation is None:
        raise DomainError("unknown_organisation", code=code)
    return organisation


def officer_by_email(uow: UnitOfWork, email: str) -> Officer:
    officer = uow.session.scalar(select(Officer).where(Officer.email == email.strip().lower()))
    if officer is None:
        raise DomainError("unknown_officer", email=email)
    return officer


def officer_for_identity(uow: UnitOfWork, platform: str, workspace: str,
                         user_ref: str) -> Officer | None:
    identity = uow.session.scalar(select(ChatIdentity).where(
        ChatIdentity.platform == platform, ChatIdentity.workspace == workspace,
        ChatIdentity.user_ref == user_ref))
    return identity.officer if identity else None


@dataclass(frozen=True)
class NewOfficer:
    email: str
    name: str
    nrn: str
    organisations: list[str]
    valid_until: date | None = None
    language: str = "fr"


def add_officer(uow: UnitOfWork, spec: NewOfficer, actor: str = "operator") -> Officer:
    try:
        number = nrn.parse(spec.nrn)
    except nrn.InvalidNRN as exc:
        raise DomainError("invalid_nrn", variant=exc.reason) from exc
    given, _, surname = spec.name.strip().rpartition(" ")
    if not given or not surname:
        raise DomainError("officer_name_needed")
    if spec.language not in {lang.value for lang in Language}:
        raise DomainError("unknown_language", language=spec.language)
    email = spec.email.strip().lower()
    if "@" not in email:
        raise DomainError("invalid_email", email=spec.email)
    if uow.session.scalar(select(Officer.id).where(Officer.email == email)):
        raise DomainError("officer_exists", email=email)
    lookup = uow.app.vault.lookup_hash(number)
    if uow.session.scalar(select(Officer.id).where(Officer.nrn_hash == lookup)):
        raise DomainError("officer_nrn_exists")
    organisations = [organisation_by_code(uow, code) for code in spec.organisations]
    if not organisations:
        raise DomainError("officer_needs_organisation")
    officer = Officer(
        email=email, given_names=given, surname=surname, nrn_hash=lookup,
        language=Language(spec.language),
        valid_until=spec.valid_until or clock.today() + ACCESS_PERIOD,
        organisations=organisations)
    uow.session.add(officer)
    uow.session.flush()
    uow.audit("officer.added", "officer", officer.id, actor=actor,
              organisations=[o.code for o in organisations])
    return officer


def grant(uow: UnitOfWork, email: str, until: date | None, actor: str = "operator") -> Officer:
    officer = officer_by_email(uow, email)
    officer.valid_until = until or clock.today() + ACCESS_PERIOD
    uow.audit("officer.access_granted", "officer", officer.id, actor=actor,
              valid_until=officer.valid_until.isoformat())
    return officer


def revoke(uow: UnitOfWork, email: str, actor: str = "operator") -> Officer:
    officer = officer_by_email(uow, email)
    officer.valid_until = clock.today() - timedelta(days=1)
    uow.audit("officer.access_revoked", "officer", officer.id, actor=actor)
    return officer


def link_identity(uow: UnitOfWork, officer: Officer, platform: str, workspace: str,
                  user_ref: str, via: str, actor: str = "operator") -> ChatIdentity:
    """Bind a chat account to an officer; a chat account belongs to one officer only."""
    if platform not in PLATFORMS:
        raise DomainError("unknown_platform", platform=platform)
    identity = uow.session.scalar(select(ChatIdentity).where(
        ChatIdentity.platform == platform, ChatIdentity.workspace == workspace,
        ChatIdentity.user_ref == user_ref))
    if identity is None:
        identity = ChatIdentity(platform=platform, workspace=workspace, user_ref=user_ref,
                                officer=officer, linked_via=via)
        uow.session.add(identity)
    else:
        identity.officer = officer
        identity.linked_via = via
        identity.linked_at = clock.now()
    uow.session.flush()
    uow.audit("identity.linked", "officer", officer.id, actor=actor, platform=platform,
              workspace=workspace, user=user_ref, via=via)
    return identity


def unlink_identity(uow: UnitOfWork, platform: str, workspace: str, user_ref: str,
                    actor: str = "operator") -> Officer:
    """End a chat account's link (a lost phone, a departure); the officer stays."""
    identity = uow.session.scalar(select(ChatIdentity).where(
        ChatIdentity.platform == platform, ChatIdentity.workspace == workspace,
        ChatIdentity.user_ref == user_ref))
    if identity is None:
        raise DomainError("unknown_link", account=f"{platform} {workspace}:{user_ref}")
    officer = identity.officer
    uow.session.delete(identity)
    uow.audit("identity.unlinked", "officer", officer.id, actor=actor, platform=platform,
              workspace=workspace, user=user_ref)
    return officer


def list_officers(uow: UnitOfWork) -> list[Officer]:
    return list(uow.session.scalars(select(Officer).order_by(Officer.email)))


def set_slack_channel(uow: UnitOfWork, code: str, channel: str | None,
                      actor: str = "operator") -> Organisation:
    """Where the organisation's "Nouvelle inscription" cards also go ('TEAM:CHANNEL')."""
    organisation = organisation_by_code(uow, code)
    if channel is not None and (":" not in channel or not all(channel.split(":", 1))):
        raise DomainError("bad_channel", channel=channel)
    organisation.slack_channel = channel
    uow.audit("organisation.slack_channel", "organisation", organisation.id, actor=actor,
              channel=channel)
    return organisation
