""""Nouvelle inscription": a request from someone unknown, decided once by an officer."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from core import clock, nrn
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import (
    Collaborator,
    Language,
    MailingListSubscription,
    Officer,
    Organisation,
    RegistrationRequest,
    RequestState,
    TrainingSession,
)
from core.services import enrollment, reply_tokens
from core.services.access import organisation_by_code, require_organisation
from core.services.catalog import training_by_code
from core.services.collaborators import NewCollaborator, add_collaborator, find_by_nrn

PERSON_FIELDS = ("surname", "given_names", "email", "language", "organisation")


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class InvalidRequest(DomainError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("invalid_request", fields=", ".join(e.field for e in errors))
        self.errors = errors


def _validate(payload: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    person = payload.get("person")
    wants = payload.get("wants")
    if not isinstance(person, dict):
        return [FieldError("person", "missing or not an object")]
    for name in PERSON_FIELDS:
        if not isinstance(person.get(name), str) or not person[name].strip():
            errors.append(FieldError(f"person.{name}", "required"))
    if person.get("language") not in (None, *[lang.value for lang in Language]):
        errors.append(FieldError("person.language", "expected fr, nl, de or en"))
    email = person.get("email")
    if isinstance(email, str) and "@" not in email:
        errors.append(FieldError("person.email", "not an e-mail address"))
    number = person.get("national_register_number")
    if number not in (None, "") and not (isinstance(number, str) and nrn.is_valid(number)):
        errors.append(FieldError("person.national_register_number", "not a valid number"))
    if not isinstance(wants, dict) or wants.get("kind") not in ("session", "mailing_list"):
        errors.append(FieldError("wants.kind", "expected 'session' or 'mailing_list'"))
    elif wants["kind"] == "session":
        if not isinstance(wants.get("training_code"), str):
            errors.append(FieldError("wants.training_code", "required"))
        try:
            date.fromisoformat(str(wants.get("session_start")))
        except ValueError:
            errors.append(FieldError("wants.session_start", "expected YYYY-MM-DD"))
    return errors


def idempotency_key(payload: dict[str, Any]) -> str:
    """The site's own id when given, else a digest of the content: a re-post is one request."""
    if isinstance(payload.get("external_id"), str) and payload["external_id"].strip():
        return payload["external_id"].strip()[:100]
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    return "sha256-" + hashlib.sha256(canonical).hexdigest()[:40]


def submit(uow: UnitOfWork, payload: dict[str, Any]) -> tuple[RegistrationRequest, bool]:
    """Store a pending request; returns (request, created). Never stores the NRN in clear."""
    errors = _validate(payload)
    if errors:
        raise InvalidRequest(errors)
    key = idempotency_key(payload)
    existing = uow.session.scalar(select(RegistrationRequest)
                                  .where(RegistrationRequest.external_id == key))
    if existing is not None:
        return existing, False
    person = {k: str(v).strip() for k, v in payload["person"].items()
              if k in PERSON_FIELDS and v is not None}
    organisation = organisation_by_code(uow, person["organisation"])
    number = payload["person"].get("national_register_number") or None
    request = RegistrationRequest(
        external_id=key, organisation=organisation, person=person,
        nrn_encrypted=uow.app.vault.encrypt(nrn.parse(number)) if number else None,
        wants=dict(payload["wants"]))
    uow.session.add(request)
    uow.session.flush()
    uow.audit("request.submitted", "request", request.id, actor="intake",
              organisation=organisation.code, wants=request.wants.get("kind"))
    notify_officers(uow, request)
    return request, True


CHAT_PLATFORMS = ("slack", "teams")


def card_context(request: RegistrationRequest) -> dict[str, Any]:
    """What the officer's notification mail shows: who, what they asked, what they typed."""
    person = request.person
    return {"request_id": request.id, "organisation": request.organisation.code,
            "requester": f"{person['surname']} {person['given_names']}",
            "person": {"surname": person["surname"], "given_names": person["given_names"],
                       "email": person.get("email"), "language": person.get("language", "fr"),
                       "nrn_given": request.nrn_encrypted is not None},
            "wants": dict(request.wants)}


def notify_officers(uow: UnitOfWork, request: RegistrationRequest) -> int:
    """Queue the "Nouvelle inscription" for every linked chat account of the organisation's
    officers with valid access, and for the organisation's own channel when it has one."""
    context = {"request_id": request.id, "organisation": request.organisation.code,
               "name": f"{request.person['surname']} {request.person['given_names']}"}
    count = 0
    officers = uow.session.scalars(select(Officer).join(Officer.organisations).where(
        Organisation.id == request.organisation_id))
    mail = card_context(request)
    for officer in officers:
        if officer.valid_until is None or officer.valid_until < clock.today():
            continue
        token = reply_tokens.issue(uow, officer, request)
        uow.enqueue_mail(officer.email, officer.language.value, "request_new",
                         {**mail, "name": officer.display_name,
                          "organisation_name": request.organisation.name(officer.language.value)},
                         token=token)
        count += 1
        for identity in officer.identities:
            if identity.platform in CHAT_PLATFORMS:
                uow.enqueue_chat(identity.platform, f"{identity.workspace}:{identity.user_ref}",
                                 officer.language.value, "request_new", context)
                count += 1
    if request.organisation.slack_channel:
        language = request.organisation.languages.split(",")[0]
        uow.enqueue_chat("slack", request.organisation.slack_channel, language, "request_new",
                         context)
        count += 1
    return count


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


def _open(uow: UnitOfWork, officer: Officer, request_id: int) -> RegistrationRequest:
    request = get(uow, request_id)
    require_organisation(officer, request.organisation)
    if request.state != RequestState.PENDING:
        decided_by = request.decided_by.display_name if request.decided_by else "?"
        raise DomainError(f"request_already_{request.state}", id=request.id, by=decided_by,
                          at=request.decided_at.astimezone(clock.LOCAL_TZ)
                          .strftime("%d/%m/%Y %H:%M") if request.decided_at else "?")
    return request


def _collaborator(uow: UnitOfWork, officer: Officer, request: RegistrationRequest) -> Collaborator:
    if request.nrn_encrypted is None:
        raise DomainError("request_needs_nrn", id=request.id)
    number = uow.app.vault.decrypt(request.nrn_encrypted)
    existing = find_by_nrn(uow, number)
    if existing is not None:
        return existing
    person = request.person
    return add_collaborator(uow, officer, NewCollaborator(
        nrn=number, surname=person["surname"], given_names=person["given_names"],
        email=person.get("email"), language=person.get("language", "fr"),
        organisation=request.organisation.code), organisation=request.organisation,
        known_new=True)


def _session_wanted(uow: UnitOfWork, officer: Officer, wants: dict[str, Any]) -> TrainingSession:
    training = training_by_code(uow, wants["training_code"], officer)
    start = date.fromisoformat(wants["session_start"])
    session = uow.session.scalar(select(TrainingSession).where(
        TrainingSession.training_id == training.id, TrainingSession.starts_on == start))
    if session is None:
        raise DomainError("request_session_gone", code=training.code,
                          date=start.strftime("%d/%m/%Y"))
    return session


def approve(uow: UnitOfWork, officer: Officer, request_id: int,
            via: str = "chat") -> tuple[RegistrationRequest, enrollment.Outcome | None]:
    """Do what the requester asked: add them, then enroll (or waitlist) or subscribe."""
    request = _open(uow, officer, request_id)
    outcome = None
    if request.wants.get("kind") == "session":
        session = _session_wanted(uow, officer, request.wants)
        collaborator = _collaborator(uow, officer, request)
        outcome = enrollment.enroll(uow, officer, collaborator.id, session.id)
    else:
        _subscribe(uow, request)
    _decide(uow, officer, request, RequestState.APPROVED, None, via)
    return request, outcome


def _subscribe(uow: UnitOfWork, request: RegistrationRequest) -> None:
    email = request.person["email"].lower()
    language = request.person.get("language", "fr")
    exists = uow.session.scalar(select(MailingListSubscription.id).where(
        MailingListSubscription.email == email,
        MailingListSubscription.organisation_id == request.organisation_id))
    if exists is None:
        uow.session.add(MailingListSubscription(email=email, language=Language(language),
                                                organisation_id=request.organisation_id))
    uow.enqueue_mail(email, language, "mailing_list_subscribed",
                     {"name": f"{request.person['given_names']} {request.person['surname']}"})


def refuse(uow: UnitOfWork, officer: Officer, request_id: int, reason: str | None,
           via: str = "chat") -> RegistrationRequest:
    request = _open(uow, officer, request_id)
    _decide(uow, officer, request, RequestState.REFUSED, reason, via)
    person = request.person
    uow.enqueue_mail(person["email"], person.get("language", "fr"), "request_refused",
                     {"name": f"{person['given_names']} {person['surname']}",
                      "reason": reason or "", "wants": request.wants})
    return request


def _decide(uow: UnitOfWork, officer: Officer, request: RegistrationRequest,
            state: RequestState, reason: str | None, via: str) -> None:
    request.state = state
    request.decided_by = officer
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
