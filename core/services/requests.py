""""Nouvelle inscription": a request from someone unknown, decided once by an officer."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, and_, bindparam, exists, insert, select

from core import clock, db, nrn
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import (
    ChatIdentity,
    Collaborator,
    Language,
    MailingListSubscription,
    Officer,
    RegistrationRequest,
    RequestState,
    TeamsConversation,
    Training,
    TrainingKind,
    TrainingSession,
    officer_organisations,
)
from core.services import (
    approval,
    authority,
    booking,
    enrollment,
    intake,
    outbox_rows,
    reply_tokens,
)
from core.services.access import organisation_by_code, require_organisation, responsible_for
from core.services.authority import Authority
from core.services.catalog import normalise_code, training_by_code
from core.services.collaborators import NewCollaborator, add_collaborator, find_by_nrn
from core.services.intake import FieldError as FieldError
from core.services.intake import InvalidRequest as InvalidRequest
from core.text import fold

PERSON_FIELDS = ("surname", "given_names", "email", "language", "organisation")


def idempotency_key(payload: dict[str, Any], external_id: str | None = None) -> str:
    """The site's own id when given, else a digest of the content: a re-post is one request."""
    if external_id:
        return external_id
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    return "sha256-" + hashlib.sha256(canonical).hexdigest()[:40]


def submit(uow: UnitOfWork, payload: Any) -> tuple[RegistrationRequest, bool]:
    """Store a pending request; returns (request, created). Never stores the NRN in clear.

    The payload is checked against the intake schema first (InvalidRequest lists every bad
    field); only the documented fields are kept, the wish as kind, training code and date.
    """
    registration = intake.parse(payload)
    key = idempotency_key(payload, registration.external_id)
    existing = uow.session.scalar(select(RegistrationRequest)
                                  .where(RegistrationRequest.external_id == key))
    if existing is not None:
        return existing, False
    person = registration.person_record()
    organisation = organisation_by_code(uow, person["organisation"])
    person["organisation"] = organisation.code
    number = registration.person.national_register_number
    request = RegistrationRequest(
        external_id=key, organisation=organisation, person=person,
        nrn_encrypted=uow.app.vault.encrypt(nrn.parse(number)) if number else None,
        wants=registration.wants_record())
    uow.session.add(request)
    uow.session.flush()
    notify_officers(uow, request, audit=[booking.audit_row(
        None, "request.submitted", "request", request.id, actor="intake",
        organisation=organisation.code, wants=request.wants["kind"])])
    return request, True


@dataclass(frozen=True)
class Wanted:
    """What a stored request asks for, read defensively: rows stored before the intake schema
    may hold anything, and a listing must not fail for one of them."""

    kind: str | None
    training_code: str | None = None
    session_start: date | None = None

    @property
    def complete(self) -> bool:
        return self.kind == "mailing_list" or (
            self.kind == "session" and self.training_code is not None
            and self.session_start is not None)


def wanted(request: RegistrationRequest) -> Wanted:
    """The request's wish: kind "session" or "mailing_list" (else None), and for a session
    the training code and start date, each None when missing or malformed."""
    wants = request.wants if isinstance(request.wants, dict) else {}
    kind = wants.get("kind")
    if kind == "mailing_list":
        return Wanted("mailing_list")
    if kind != "session":
        return Wanted(None)
    code = wants.get("training_code")
    start = wants.get("session_start")
    return Wanted(
        "session",
        code.upper() if isinstance(code, str) and intake.TRAINING_CODE.fullmatch(code) else None,
        _iso_day(start))


def wanted_session_start(request: RegistrationRequest) -> date | None:
    """The start date asked for, or None when the stored value is missing or malformed."""
    return wanted(request).session_start


def _iso_day(value: Any) -> date | None:
    if not isinstance(value, str) or not intake.ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def typed_person(request: RegistrationRequest) -> dict[str, str]:
    """The person's fields as typed, each a single line of text ("" when missing or not text),
    safe for a mail subject or a chat line even in a row stored before the intake schema."""
    person = request.person if isinstance(request.person, dict) else {}
    return {name: _one_line(person.get(name)) for name in PERSON_FIELDS}


def _one_line(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    if value.isascii() and value.isprintable():  # the usual name: no character to look at
        text = value
    else:
        text = "".join(" " if intake.has_control_characters(ch) else ch for ch in value)
    return " ".join(text.split())[:intake.NAME_MAX * 3]


def _session_of(uow: UnitOfWork, wish: Wanted) -> tuple[Training | None, TrainingSession | None]:
    """The catalogue's training and session for a wish (either None when not found)."""
    if wish.training_code is None:
        return None, None
    training = uow.session.scalar(select(Training).where(Training.code == wish.training_code))
    if training is None or wish.session_start is None:
        return training, None
    return training, uow.session.scalar(select(TrainingSession).where(
        TrainingSession.training_id == training.id,
        TrainingSession.starts_on == wish.session_start))


def wants_context(uow: UnitOfWork, request: RegistrationRequest, language: str,
                  catalogue: tuple[Training | None, TrainingSession | None] | None = None
                  ) -> dict[str, Any]:
    """The wish as mails show it: title and place from the catalogue, never from the request
    (``catalogue``: the training and session of the wish, when the caller read them)."""
    wish = wanted(request)
    training, session = catalogue if catalogue is not None else _session_of(uow, wish)
    return {"kind": wish.kind or "unknown", "training_code": wish.training_code or "",
            "session_start": wish.session_start.isoformat() if wish.session_start else None,
            "title": training.title(language) if training else None,
            "place": session.place if session else None}


CHAT_PLATFORMS = ("slack", "teams")


def card_context(uow: UnitOfWork, request: RegistrationRequest, language: str,
                 catalogue: tuple[Training | None, TrainingSession | None] | None = None
                 ) -> dict[str, Any]:
    """What the officer's notification mail shows: who, what they asked, what they typed."""
    person = typed_person(request)
    return {"request_id": request.id, "organisation": request.organisation.code,
            "requester": f"{person['surname']} {person['given_names']}".strip(),
            "person": {"surname": person["surname"], "given_names": person["given_names"],
                       "email": person["email"] or None,
                       "language": person["language"] or None,
                       "nrn_given": request.nrn_encrypted is not None},
            "wants": wants_context(uow, request, language, catalogue)}


@dataclass(frozen=True)
class Recipient:
    """An officer as a "Nouvelle inscription" needs them (reply_tokens.issue reads the id)."""

    id: int
    email: str
    language: str
    display_name: str


_OFFICERS, _LINKS = Officer.__table__, officer_organisations
_IDENTITIES = ChatIdentity.__table__
RECIPIENTS = (
    select(_OFFICERS.c.id, _OFFICERS.c.email, _OFFICERS.c.language, _OFFICERS.c.given_names,
           _OFFICERS.c.surname, _IDENTITIES.c.platform, _IDENTITIES.c.workspace,
           _IDENTITIES.c.user_ref)
    .select_from(_OFFICERS.join(_LINKS, _LINKS.c.officer_id == _OFFICERS.c.id)
                 .outerjoin(_IDENTITIES, _IDENTITIES.c.officer_id == _OFFICERS.c.id))
    .where(_LINKS.c.organisation_id == bindparam("org"),
           _OFFICERS.c.valid_until >= bindparam("today", type_=Date()))
    .order_by(_OFFICERS.c.id, _IDENTITIES.c.id))


def _recipients(uow: UnitOfWork, organisation_id: int
                ) -> list[tuple[Recipient, list[tuple[str, str, str]]]]:
    """The organisation's officers with valid access, and their chat accounts, one statement."""
    found: dict[int, tuple[Recipient, list[tuple[str, str, str]]]] = {}
    for row in uow.session.connection().execute(RECIPIENTS, {"org": organisation_id,
                                                             "today": clock.today()}):
        if row.id not in found:
            found[row.id] = (Recipient(row.id, row.email, Language(row.language).value,
                                       f"{row.given_names} {row.surname}"), [])
        if row.platform is not None:
            found[row.id][1].append((row.platform, row.workspace, row.user_ref))
    return list(found.values())


def notify_officers(uow: UnitOfWork, request: RegistrationRequest,
                    audit: Sequence[dict[str, Any]] = ()) -> int:
    """Queue the "Nouvelle inscription" for every linked chat account of the organisation's
    officers with valid access, and for the organisation's own channel when it has one.

    Everything is read first (the wish's catalogue rows, the officers with their chat accounts
    in one statement, the organisation's Teams channels); then the reply tokens, the mails and
    chat messages, and the caller's `audit` rows go in one multi-row INSERT per table, sent
    together (core.db.pipelined: one round trip on PostgreSQL) — no ORM flush of a few dozen
    objects, which cost a submit more than its statements."""
    person = typed_person(request)
    organisation = request.organisation
    context = {"request_id": request.id, "organisation": organisation.code,
               "name": f"{person['surname']} {person['given_names']}".strip()}
    catalogue = _session_of(uow, wanted(request))
    officers = _recipients(uow, request.organisation_id)
    channels = uow.session.execute(select(
        TeamsConversation.tenant_id, TeamsConversation.conversation_id).where(
        TeamsConversation.organisation_id == request.organisation_id,
        TeamsConversation.kind == "channel")).all()
    app, now = uow.app, clock.now()
    tokens: list[dict[str, Any]] = []
    rows: list[dict[str, Any] | None] = []
    for officer, identities in officers:
        token, token_row = reply_tokens.issued_row(officer.id, request.id)
        tokens.append(token_row)
        rows.append(outbox_rows.mail_row(
            app, officer.email, officer.language, "request_new",
            {**card_context(uow, request, officer.language, catalogue),
             "name": officer.display_name,
             "organisation_name": organisation.name(officer.language)}, now, token=token))
        rows.extend(outbox_rows.chat_row(app, platform, f"{workspace}:{user_ref}",
                                         officer.language, "request_new", context, now)
                    for platform, workspace, user_ref in identities
                    if platform in CHAT_PLATFORMS)
    language = organisation.languages.split(",")[0]
    if organisation.slack_channel:
        rows.append(outbox_rows.chat_row(app, "slack", organisation.slack_channel, language,
                                         "request_new", context, now))
    rows.extend(outbox_rows.chat_row(app, "teams", f"{tenant}:{conversation}", language,
                                     "request_new", context, now)
                for tenant, conversation in channels)
    queued = [row for row in rows if row is not None]
    connection = uow.session.connection()
    with db.pipelined(connection):
        if audit:
            connection.execute(booking.INSERT_AUDIT, list(audit))
        if tokens:
            connection.execute(reply_tokens.INSERT, tokens)
        if queued:
            connection.execute(outbox_rows.INSERT, queued)
    return len(queued)


def pending(uow: UnitOfWork, officer: Officer) -> list[RegistrationRequest]:
    ids = [o.id for o in officer.organisations]
    return list(uow.session.scalars(
        select(RegistrationRequest).where(RegistrationRequest.state == RequestState.PENDING,
                                          RegistrationRequest.organisation_id.in_(ids))
        .order_by(RegistrationRequest.created_at)))


def get(uow: UnitOfWork, request_id: int) -> RegistrationRequest:
    request = uow.session.get(RegistrationRequest, request_id)
    if request is None:
        raise DomainError("unknown_request", id=request_id)
    return request


def _open(uow: UnitOfWork, officer: Officer | Authority, request_id: int) -> RegistrationRequest:
    """The request, locked for this transaction and read afresh, if it is still undecided.

    On PostgreSQL the row lock (FOR UPDATE) makes a second decision wait for the first to
    commit and then see it; SQLite write transactions (BEGIN IMMEDIATE) are already one at a
    time. Either way exactly one approve or refuse wins; the other is told who decided.
    """
    request = uow.session.scalar(
        select(RegistrationRequest).where(RegistrationRequest.id == request_id)
        .with_for_update(of=RegistrationRequest)
        .execution_options(populate_existing=True))
    if request is None:
        raise DomainError("unknown_request", id=request_id)
    require_organisation(officer, request.organisation)
    if request.state != RequestState.PENDING:
        decided_by = request.decided_by.display_name if request.decided_by else "?"
        raise DomainError(f"request_already_{request.state}", id=request.id, by=decided_by,
                          at=request.decided_at or "?")
    return request


def same_person(collaborator: Collaborator, surname: str, given_names: str) -> bool:
    """Whether typed names plausibly name this collaborator: the surname the same (case,
    accents, spaces and hyphens aside), and a given name in common or one a prefix of the
    other ("Marie" for "Marie-Louise", "J" for "Jean")."""
    if _squeezed(collaborator.surname) != _squeezed(surname):
        return False
    known, typed = _squeezed(collaborator.given_names), _squeezed(given_names)
    if not known or not typed or known.startswith(typed) or typed.startswith(known):
        return True
    return bool(_names(collaborator.given_names) & _names(given_names))


def _squeezed(text: str) -> str:
    return re.sub(r"[\s\-'.,]+", "", fold(text))


def _names(text: str) -> set[str]:
    return {name for name in re.split(r"[\s\-,]+", fold(text)) if name}


def _collaborator(uow: UnitOfWork, officer: Officer | Authority, request: RegistrationRequest,
                  accept_mismatch: bool) -> Collaborator:
    if request.nrn_encrypted is None:
        raise DomainError("request_needs_nrn", id=request.id)
    number = uow.app.vault.decrypt(request.nrn_encrypted)
    person = typed_person(request)
    typed = f"{person['surname']} {person['given_names']}".strip()
    existing = find_by_nrn(uow, number)
    if existing is not None:
        if not accept_mismatch and not same_person(existing, person["surname"],
                                                   person["given_names"]):
            if responsible_for(officer, existing.organisation_id):
                raise DomainError("request_identity_mismatch", variant="known", id=request.id,
                                  typed=typed, name=existing.display_name,
                                  organisation=existing.organisation.code)
            raise DomainError("request_identity_mismatch", variant="elsewhere", id=request.id,
                              typed=typed)
        return existing
    return add_collaborator(uow, officer, NewCollaborator(
        nrn=number, surname=person["surname"], given_names=person["given_names"],
        email=person["email"] or None, language=person["language"] or "fr",
        organisation=request.organisation.code), organisation=request.organisation,
        known_new=True)


def _session_wanted(uow: UnitOfWork, officer: Officer | Authority, wish: Wanted) -> TrainingSession:
    assert wish.training_code is not None and wish.session_start is not None
    training = training_by_code(uow, wish.training_code, officer)
    session = uow.session.scalar(select(TrainingSession).where(
        TrainingSession.training_id == training.id,
        TrainingSession.starts_on == wish.session_start))
    if session is None:
        raise DomainError("request_session_gone", code=training.code,
                          date=wish.session_start)
    return session


_TRAININGS, _SESSIONS = Training.__table__, TrainingSession.__table__
WISHED_SESSION = (
    select(_SESSIONS.c.id, _TRAININGS.c.kind, _TRAININGS.c.owner_organisation_id)
    .select_from(_TRAININGS.outerjoin(_SESSIONS, and_(
        _SESSIONS.c.training_id == _TRAININGS.c.id,
        _SESSIONS.c.starts_on == bindparam("start", type_=Date()))))
    .where(_TRAININGS.c.code == bindparam("code")))


def _session_id(uow: UnitOfWork, officer: Officer | Authority, wish: Wanted) -> int:
    """The wished session's id in one statement when the training is there for this officer;
    else the catalogue's lookups say what is wrong."""
    row = uow.session.connection().execute(WISHED_SESSION, {
        "code": normalise_code(wish.training_code or "") or "",
        "start": wish.session_start}).first()
    if row is not None and row.id is not None and (
            row.kind != TrainingKind.ON_DEMAND
            or row.owner_organisation_id in authority.of(officer).organisation_ids):
        return int(row.id)
    return _session_wanted(uow, officer, wish).id


def approve(uow: UnitOfWork, officer: Officer | Authority, request_id: int, via: str = "chat", *,
            accept_mismatch: bool = False) -> tuple[RegistrationRequest,
                                                     enrollment.Outcome | None]:
    """Do what the requester asked: add them, then enroll (or waitlist) or subscribe.

    When the typed national number is already a collaborator's and the typed names are not
    theirs, nothing is done (request_identity_mismatch) unless the officer, told so, accepts.
    """
    facts = authority.of(officer)
    if facts.active:
        done = approval.approve(uow, facts, request_id, via, accept_mismatch)
        if done is not None:
            return done
    request = _open(uow, officer, request_id)
    wish = wanted(request)
    person = typed_person(request)
    if not wish.complete or (wish.kind == "mailing_list" and not _deliverable(person)):
        raise DomainError("request_malformed", id=request.id)
    outcome = None
    if wish.kind == "session":
        session_id = _session_id(uow, officer, wish)
        collaborator = _collaborator(uow, officer, request, accept_mismatch)
        outcome = enrollment.enroll(uow, officer, collaborator.id, session_id)
    else:
        _subscribe(uow, request, person)
    _decide(uow, officer, request, RequestState.APPROVED, None, via)
    return request, outcome


def _deliverable(person: dict[str, str]) -> bool:
    return bool(intake.EMAIL.fullmatch(person["email"])) and person["language"] in intake.LANGUAGES


_SUBSCRIPTIONS = MailingListSubscription.__table__


def _subscription_param(name: str) -> Any:
    column = {"email": "email", "language": "language", "org": "organisation_id",
              "now": "created_at"}[name]
    return bindparam(name, type_=_SUBSCRIPTIONS.c[column].type)


SUBSCRIBE = insert(_SUBSCRIPTIONS).inline().from_select(
    ["email", "language", "organisation_id", "created_at"],
    select(*(_subscription_param(n) for n in ("email", "language", "org", "now"))).where(
        ~exists().where(_SUBSCRIPTIONS.c.email == _subscription_param("email"),
                        _SUBSCRIPTIONS.c.organisation_id == _subscription_param("org"))))
"""The subscription unless the address is on the organisation's list already: one statement
(it was a SELECT, then an ORM object whose flush cost more Python than both statements)."""


def _subscribe(uow: UnitOfWork, request: RegistrationRequest, person: dict[str, str],
               audit: Sequence[dict[str, Any]] = ()) -> None:
    """The subscription, its mail and the caller's `audit` rows, sent together."""
    email = person["email"].lower()
    now = clock.now()
    connection = uow.session.connection()
    with db.pipelined(connection):  # nothing read back: one round trip on PostgreSQL
        connection.execute(SUBSCRIBE, {"email": email, "language": Language(person["language"]),
                                       "org": request.organisation_id, "now": now})
        connection.execute(outbox_rows.INSERT, outbox_rows.mail_row(
            uow.app, email, person["language"], "mailing_list_subscribed",
            {"name": f"{person['given_names']} {person['surname']}".strip()}, now))
        if audit:
            connection.execute(booking.INSERT_AUDIT, list(audit))


def refuse(uow: UnitOfWork, officer: Officer | Authority, request_id: int, reason: str | None,
           via: str = "chat") -> RegistrationRequest:
    """Refuse and tell the requester why; a request too malformed to answer is just closed."""
    request = _open(uow, officer, request_id)
    _decide(uow, officer, request, RequestState.REFUSED, reason, via)
    person = typed_person(request)
    if _deliverable(person):
        uow.enqueue_mail(person["email"], person["language"], "request_refused",
                         {"name": f"{person['given_names']} {person['surname']}".strip(),
                          "reason": reason or "",
                          "wants": wants_context(uow, request, person["language"])})
    return request


@dataclass(frozen=True)
class Decision:
    """What deciding did: approved or refused, the enrollment made, or — `changed` False —
    that somebody had decided first (the request says who and when)."""

    request: RegistrationRequest
    approved: bool
    changed: bool
    outcome: enrollment.Outcome | None = None


def decide(uow: UnitOfWork, officer: Officer | Authority, request_id: int, approved: bool,
           reason: str | None = None, *, via: str = "chat",
           accept_mismatch: bool = False) -> Decision:
    """The one use case behind every way of deciding: chat, card buttons, mail replies.

    Every rule refuses with a DomainError; a request already decided is not an error but
    a Decision that changed nothing, so each front end can show who decided.
    """
    try:
        if approved:
            request, outcome = approve(uow, officer, request_id, via,
                                       accept_mismatch=accept_mismatch)
            return Decision(request, True, True, outcome)
        return Decision(refuse(uow, officer, request_id, reason, via), False, True)
    except DomainError as exc:
        if not exc.code.startswith("request_already_"):
            raise
    request = get(uow, request_id)
    return Decision(request, request.state == RequestState.APPROVED, False)


def _decide(uow: UnitOfWork, officer: Officer | Authority, request: RegistrationRequest,
            state: RequestState, reason: str | None, via: str) -> None:
    request.state = state
    if isinstance(officer, Officer):
        request.decided_by = officer
    else:  # the ORM officer is not loaded for this: the relationship reads it if asked
        request.decided_by_id = officer.id
        uow.session.expire(request, ["decided_by"])
    request.decided_at = clock.now()
    request.reason = reason
    uow.audit(f"request.{state}", "request", request.id, officer, via=via, reason=reason)


def as_json(request: RegistrationRequest) -> dict[str, Any]:
    return {"id": request.id, "external_id": request.external_id, "state": str(request.state),
            "organisation": request.organisation.code, "person": request.person,
            "decided_by": request.decided_by.email if request.decided_by else None,
            "decided_at": request.decided_at.isoformat() if request.decided_at else None,
            "reason": request.reason, "wants": request.wants,
            "created_at": request.created_at.isoformat()}
