"""Who may act: officers, their organisations, the yearly access, and chat identities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core import clock, nrn
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import (
    AccessReminder,
    AccessRequest,
    ChatIdentity,
    Collaborator,
    Language,
    Officer,
    Organisation,
    RequestState,
    Training,
    TrainingKind,
)

ACCESS_PERIOD = timedelta(days=365)
PLATFORMS = ("slack", "teams", "console", "mail")
ROLES = ("officer", "helpdesk", "admin")
REMINDER_DAYS = (30, 7, 1)
"""Reminders before the end of access; 0 is the notice that it ended."""
CHAT_PLATFORMS = ("slack", "teams")


def require_active(officer: Officer) -> None:
    today = clock.today()
    if officer.valid_until is None or officer.valid_until < today:
        raise DomainError("access_expired", date=officer.valid_until or "-")


def require_admin(officer: Officer) -> None:
    """Access requests are decided by institute administrators only (role `admin`)."""
    if not officer.has_role("admin"):
        raise DomainError("not_admin")
    require_active(officer)


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
    return can_see(officer, training.kind, training.owner_organisation_id)


def can_see(officer: Officer | None, kind: TrainingKind, owner_organisation_id: int | None
            ) -> bool:
    """The rule of can_see_training on a training's columns (listings read rows, not objects):
    an on-demand training is seen by the officers of its owner organisation only."""
    if kind != TrainingKind.ON_DEMAND or officer is None:
        return True
    return owner_organisation_id in {o.id for o in officer.organisations}


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
    # One statement, organisations joined in: every chat turn starts here.
    return uow.session.scalars(
        select(Officer).join(Officer.identities).options(joinedload(Officer.organisations))
        .where(ChatIdentity.platform == platform, ChatIdentity.workspace == workspace,
               ChatIdentity.user_ref == user_ref)).unique().first()


@dataclass(frozen=True)
class NewOfficer:
    email: str
    name: str
    nrn: str
    organisations: list[str]
    valid_until: date | None = None
    language: str = "fr"
    roles: tuple[str, ...] = ("officer",)


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
    roles = sorted(set(spec.roles) or {"officer"})
    if not organisations and roles == ["officer"]:
        raise DomainError("officer_needs_organisation")
    for role in roles:
        if role not in ROLES:
            raise DomainError("unknown_role", role=role)
    officer = Officer(
        email=email, given_names=given, surname=surname, nrn_hash=lookup,
        language=Language(spec.language),
        valid_until=spec.valid_until or clock.today() + ACCESS_PERIOD,
        organisations=organisations, roles=",".join(roles))
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


# --- Access requests: a new officer, or one more year ---------------------------------------

ACCESS, RENEWAL = "access", "renewal"


@dataclass(frozen=True)
class NewAccessRequest:
    """What the link page's short form sends: the certificate says who, the form the rest."""

    nrn: str
    given_names: str
    surname: str
    email: str
    function: str
    language: str
    organisations: list[str]
    chat_account: str | None = None
    """'platform:workspace:user' of the chat account that asked, linked on approval."""


def request_access(uow: UnitOfWork, spec: NewAccessRequest) -> tuple[AccessRequest, bool]:
    """Store who asks to become a training officer and tell the administrators; a person
    with a pending request gets that one back (created False), never a second one."""
    lookup = uow.app.vault.lookup_hash(nrn.parse(spec.nrn))
    if uow.session.scalar(select(Officer.id).where(Officer.nrn_hash == lookup)):
        raise DomainError("access_already_officer")
    existing = uow.session.scalar(select(AccessRequest).where(
        AccessRequest.nrn_hash == lookup, AccessRequest.kind == ACCESS,
        AccessRequest.state == RequestState.PENDING))
    if existing is not None:
        return existing, False
    email = spec.email.strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise DomainError("invalid_email", email=spec.email)
    if spec.language not in {lang.value for lang in Language}:
        raise DomainError("unknown_language", language=spec.language)
    function = " ".join(spec.function.split())[:200]
    if not function:
        raise DomainError("access_function_needed")
    organisations = [organisation_by_code(uow, code) for code in spec.organisations if code]
    if not organisations:
        raise DomainError("officer_needs_organisation")
    request = AccessRequest(
        kind=ACCESS, nrn_hash=lookup, nrn_encrypted=uow.app.vault.encrypt(nrn.parse(spec.nrn)),
        email=email, given_names=spec.given_names[:160], surname=spec.surname[:120],
        function=function, language=Language(spec.language),
        organisations=",".join(o.code for o in organisations),
        chat_account=spec.chat_account)
    uow.session.add(request)
    uow.session.flush()
    uow.audit("access.requested", "access_request", request.id, actor=f"eid:{lookup[:16]}",
              organisations=request.organisation_codes)
    notify_admins(uow, request)
    return request, True


def request_renewal(uow: UnitOfWork, officer: Officer, via: str = "chat"
                    ) -> tuple[AccessRequest, bool]:
    """One more year, asked in one message: decided by an administrator, or at once when an
    organisation of the officer renews automatically. A pending renewal is returned as is."""
    existing = uow.session.scalar(select(AccessRequest).where(
        AccessRequest.officer_id == officer.id, AccessRequest.kind == RENEWAL,
        AccessRequest.state == RequestState.PENDING))
    if existing is not None:
        return existing, False
    request = AccessRequest(
        kind=RENEWAL, officer=officer, nrn_hash=officer.nrn_hash, email=officer.email,
        given_names=officer.given_names, surname=officer.surname, language=officer.language,
        organisations=",".join(o.code for o in officer.organisations))
    uow.session.add(request)
    uow.session.flush()
    uow.audit("access.renewal_requested", "access_request", request.id, officer, via=via)
    if any(o.auto_renew for o in officer.organisations):
        _approve(uow, None, request, via="auto")
        _tell_requester(uow, request)
    else:
        notify_admins(uow, request)
    return request, True


def administrators(uow: UnitOfWork) -> list[Officer]:
    today = clock.today()
    return [o for o in uow.session.scalars(select(Officer).where(Officer.roles.contains("admin")))
            if o.has_role("admin") and o.valid_until is not None and o.valid_until >= today]


def notify_admins(uow: UnitOfWork, request: AccessRequest) -> int:
    """The request as a mail (answerable by reply) and a card in every administrator's chat."""
    from core.services import reply_tokens

    count = 0
    for admin in administrators(uow):
        language = admin.language.value
        token = reply_tokens.issue_access(uow, admin, request)
        uow.enqueue_mail(admin.email, language, "access_request_new",
                         {**request_facts(request), "name": admin.display_name}, token=token)
        count += 1
        for identity in admin.identities:
            if identity.platform in CHAT_PLATFORMS:
                count += uow.enqueue_chat(identity.platform,
                                          f"{identity.workspace}:{identity.user_ref}", language,
                                          "access_request_new",
                                          {"access_request_id": request.id}) is not None
    return count


def request_facts(request: AccessRequest) -> dict[str, Any]:
    return {"access_request_id": request.id, "kind": request.kind,
            "requester": request.display_name, "email": request.email,
            "function": request.function or "", "organisations": request.organisation_codes,
            "language": request.language.value,
            "valid_until": (request.officer.valid_until.isoformat()
                            if request.officer and request.officer.valid_until else None)}


def get_request(uow: UnitOfWork, request_id: int) -> AccessRequest:
    found = uow.session.get(AccessRequest, request_id)
    if found is None:
        raise DomainError("unknown_access_request", id=request_id)
    return found


def all_requests(uow: UnitOfWork) -> list[AccessRequest]:
    return list(uow.session.scalars(select(AccessRequest).order_by(AccessRequest.id)))


def pending_requests(uow: UnitOfWork) -> list[AccessRequest]:
    return list(uow.session.scalars(select(AccessRequest).where(
        AccessRequest.state == RequestState.PENDING).order_by(AccessRequest.created_at,
                                                              AccessRequest.id)))


@dataclass(frozen=True)
class AccessDecision:
    """What deciding did, or — `changed` False — that somebody had decided first."""

    request: AccessRequest
    approved: bool
    changed: bool


def decide(uow: UnitOfWork, admin: Officer | None, request_id: int, approved: bool,
           reason: str | None = None, *, via: str = "chat") -> AccessDecision:
    """The one use case behind every way of deciding an access request: chat cards, mail
    replies, the CLI (admin None: the operator). The row is locked and read afresh, so of two
    decisions exactly one wins; the other learns who decided."""
    if admin is not None:
        require_admin(admin)
    request = uow.session.scalar(
        select(AccessRequest).where(AccessRequest.id == request_id)
        .with_for_update(of=AccessRequest).execution_options(populate_existing=True))
    if request is None:
        raise DomainError("unknown_access_request", id=request_id)
    if request.state != RequestState.PENDING:
        return AccessDecision(request, request.state == RequestState.APPROVED, False)
    if approved:
        _approve(uow, admin, request, via)
    else:
        _close(uow, admin, request, RequestState.REFUSED, reason, via)
    _tell_requester(uow, request)
    return AccessDecision(request, approved, True)


def _close(uow: UnitOfWork, admin: Officer | None, request: AccessRequest, state: RequestState,
           reason: str | None, via: str) -> None:
    request.state = state
    request.decided_by = admin
    request.decided_at = clock.now()
    request.reason = (reason or "").strip()[:500] or None
    uow.audit(f"access.{state}", "access_request", request.id, admin,
              actor=None if admin else via, via=via, kind=request.kind, reason=request.reason)


def renewed_until(current: date | None) -> date:
    """One year from the current end; access that already ended restarts from today."""
    today = clock.today()
    start = current if current is not None and current >= today else today
    return start + ACCESS_PERIOD


def _approve(uow: UnitOfWork, admin: Officer | None, request: AccessRequest, via: str) -> None:
    actor = admin.email if admin else via
    if request.kind == RENEWAL:
        officer = request.officer
        if officer is None:
            raise DomainError("unknown_access_request", id=request.id)
        officer.valid_until = renewed_until(officer.valid_until)
    else:
        if request.nrn_encrypted is None:
            raise DomainError("unknown_access_request", id=request.id)
        officer = add_officer(uow, NewOfficer(
            email=request.email, name=f"{request.given_names} {request.surname}",
            nrn=uow.app.vault.decrypt(request.nrn_encrypted),
            organisations=request.organisation_codes, language=request.language.value),
            actor=actor)
        request.officer = officer
        if request.chat_account:
            platform, _, rest = request.chat_account.partition(":")
            workspace, _, user = rest.partition(":")
            if platform in CHAT_PLATFORMS and workspace and user:
                link_identity(uow, officer, platform, workspace, user, via="eid", actor=actor)
    request.valid_until = officer.valid_until
    _close(uow, admin, request, RequestState.APPROVED, None, via)


def _tell_requester(uow: UnitOfWork, request: AccessRequest) -> None:
    """The person hears of the decision by mail and in their chat."""
    language = request.language.value
    facts = {**request_facts(request), "approved": request.state == RequestState.APPROVED,
             "reason": request.reason or "",
             "valid_until": request.valid_until.isoformat() if request.valid_until else None,
             "name": request.display_name}
    uow.enqueue_mail(request.email, language, "access_decided", facts)
    chats: set[tuple[str, str]] = set()
    if request.officer is not None:
        chats |= {(i.platform, f"{i.workspace}:{i.user_ref}") for i in request.officer.identities
                  if i.platform in CHAT_PLATFORMS}
    if request.chat_account:
        platform, _, rest = request.chat_account.partition(":")
        if platform in CHAT_PLATFORMS:
            chats.add((platform, rest))
    for platform, to in sorted(chats):
        uow.enqueue_chat(platform, to, language, "access_decided", facts)


def request_as_json(request: AccessRequest) -> dict[str, Any]:
    return {"id": request.id, "email": request.email, "name": request.display_name,
            "organisations": request.organisation_codes, "kind": request.kind,
            "state": str(request.state), "function": request.function,
            "language": request.language.value,
            "decided_by": request.decided_by.email if request.decided_by else None,
            "decided_at": request.decided_at.isoformat() if request.decided_at else None,
            "reason": request.reason,
            "valid_until": request.valid_until.isoformat() if request.valid_until else None,
            "created_at": request.created_at.isoformat()}


# --- The daily jobs: reminders before the end, the notice that it ended ----------------------

def send_reminders(uow: UnitOfWork, today: date | None = None, *, ended: bool = False,
                   since: date | None = None) -> list[tuple[str, int]]:
    """Remind each officer 30, 7 and 1 days before the end of access (a missed day sends the
    due one late) — or, `ended`, tell once that it ended, for access whose last day is on or
    after `since` (the previous run: a first run does not write to everyone whose access lapsed
    long ago); each (end date, days) at most once."""
    today = today or clock.today()
    since = since or today - timedelta(days=1)
    sent: list[tuple[str, int]] = []
    officers = uow.session.scalars(select(Officer).where(
        Officer.valid_until.is_not(None),
        Officer.valid_until <= today + timedelta(days=max(REMINDER_DAYS)),
        Officer.valid_until >= today - timedelta(days=max(REMINDER_DAYS))))
    for officer in officers:
        assert officer.valid_until is not None
        left = (officer.valid_until - today).days
        if (left < 0) != ended or (ended and officer.valid_until < since):
            continue
        due = 0 if left < 0 else min(d for d in REMINDER_DAYS if left <= d)
        done = uow.session.scalar(select(AccessReminder.id).where(
            AccessReminder.officer_id == officer.id,
            AccessReminder.valid_until == officer.valid_until, AccessReminder.days <= due
            if due else AccessReminder.days == 0))
        if done is not None:
            continue
        uow.session.add(AccessReminder(officer_id=officer.id, valid_until=officer.valid_until,
                                       days=due))
        _remind(uow, officer, due)
        sent.append((officer.email, due))
    return sent


def _remind(uow: UnitOfWork, officer: Officer, days: int) -> None:
    language = officer.language.value
    facts = {"name": officer.display_name, "days": days,
             "valid_until": officer.valid_until.isoformat() if officer.valid_until else None,
             "expired": days == 0}
    uow.enqueue_mail(officer.email, language, "access_reminder", facts)
    for identity in officer.identities:
        if identity.platform in CHAT_PLATFORMS:
            uow.enqueue_chat(identity.platform, f"{identity.workspace}:{identity.user_ref}",
                             language, "access_reminder", facts)
    uow.audit("access.reminder" if days else "access.expired", "officer", officer.id,
              actor="scheduler", days=days)
