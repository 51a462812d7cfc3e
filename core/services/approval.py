"""Approve a "Nouvelle inscription" for a session in a handful of SQLAlchemy Core statements.

One guarded UPDATE decides the request (``… WHERE state = 'pending' AND organisation_id IN
(the officer's)``): it is the lock that makes one of two deciders win, as the ORM path's
``SELECT … FOR UPDATE``, and it returns the row. The new person is inserted unless their
national number is known, the seat taken by the session row's guarded UPDATE
(core.services.booking), and the audit rows of the three changes go in one INSERT.

``None`` before anything was written sends the caller to the ORM path (requests.approve),
which words every refusal. Once the request is decided here, a rule that refuses raises a
DomainError, as the ORM path does after its own writes: every caller decides in a savepoint
or a unit of work that the error rolls back. Refusals are worded in the ORM path's order (the
wished session first, then the person).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, bindparam, exists, insert, select, update
from sqlalchemy.orm.util import identity_key

from core import clock
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import (
    Collaborator,
    Organisation,
    RegistrationRequest,
    RequestState,
    UTCDateTime,
)
from core.services import booking, enrollment
from core.services.authority import Authority
from core.services.collaborators import NewCollaborator, _row, _validated

if TYPE_CHECKING:
    from core.services.requests import Wanted

REQUESTS, PEOPLE = RegistrationRequest.__table__, Collaborator.__table__
ORGANISATIONS = Organisation.__table__
KNOWN = PEOPLE.alias("known")

# Built once (building costs more CPU than sending); the values are bound per call.
DECIDE = (
    update(REQUESTS)
    .where(REQUESTS.c.id == bindparam("rid", type_=Integer()),
           REQUESTS.c.state == RequestState.PENDING,
           REQUESTS.c.organisation_id.in_(bindparam("orgs", expanding=True)))
    .values(state=RequestState.APPROVED, decided_by_id=bindparam("oid", type_=Integer()),
            decided_at=bindparam("now", type_=UTCDateTime()), reason=None)
    .returning(*REQUESTS.c, select(ORGANISATIONS.c.code).where(
        ORGANISATIONS.c.id == REQUESTS.c.organisation_id).scalar_subquery()
        .label("organisation_code")))
UNDECIDE = (
    update(REQUESTS)
    .where(REQUESTS.c.id == bindparam("rid", type_=Integer()),
           REQUESTS.c.state == RequestState.APPROVED)
    .values(state=RequestState.PENDING, decided_by_id=None, decided_at=None, reason=None))
PERSON_COLUMNS = ("nrn_hash", "nrn_encrypted", "nrn_masked", "birth_year", "sex", "surname",
                  "given_names", "email", "language", "organisation_id", "department", "active",
                  "search_key", "created_at", "updated_at")
NEW_PERSON = (
    insert(PEOPLE).from_select(list(PERSON_COLUMNS), select(*(
        bindparam(f"v_{name}", type_=PEOPLE.c[name].type) for name in PERSON_COLUMNS))
        .where(~exists().where(KNOWN.c.nrn_hash == bindparam("v_nrn_hash",
                                                              type_=PEOPLE.c.nrn_hash.type))))
    .returning(PEOPLE.c.id))


def approve(uow: UnitOfWork, auth: Authority, request_id: int, via: str,
            accept_mismatch: bool
            ) -> tuple[RegistrationRequest, enrollment.Outcome | None] | None:
    if not auth.organisation_ids:
        return None
    row = uow.session.connection().execute(DECIDE, {
        "rid": request_id, "orgs": list(auth.organisation_ids), "oid": auth.id,
        "now": clock.now()}).first()
    if row is None:
        return None
    request = _request(uow, row)
    try:
        return _approve_decided(uow, auth, request, row.organisation_code, via,
                                accept_mismatch)
    except DomainError:
        if not uow.session.in_nested_transaction():
            _undecide(uow, request_id)
        raise


def _undecide(uow: UnitOfWork, request_id: int) -> None:
    """A refusal after DECIDE leaves the request as it was, as the ORM path (which checks
    before it writes) does, also for a caller that goes on to commit after catching it: one
    UPDATE on that rare path rather than a SAVEPOINT and its RELEASE on every approval. Under
    a caller's savepoint (chat flow, mail batch) the savepoint's rollback does it already."""
    uow.session.connection().execute(UNDECIDE, {"rid": request_id})
    held = uow.session.identity_map.get(identity_key(RegistrationRequest, request_id))
    if held is not None:
        uow.session.expire(held)


def _approve_decided(uow: UnitOfWork, auth: Authority, request: RegistrationRequest,
                     organisation_code: str, via: str, accept_mismatch: bool
                     ) -> tuple[RegistrationRequest, enrollment.Outcome | None]:
    from core.services import requests

    request_id = request.id
    wish, typed = requests.wanted(request), requests.typed_person(request)
    if not wish.complete or (wish.kind == "mailing_list" and not requests._deliverable(typed)):
        raise DomainError("request_malformed", id=request_id)
    approved = booking.audit_row(auth, "request.approved", "request", request_id, via=via,
                                 reason=None)
    if wish.kind == "mailing_list":
        requests._subscribe(uow, request, typed, audit=[approved])
        return request, None
    person_id = _new_person(uow, auth, requests, request, organisation_code, wish)
    if person_id is None:  # known national number: the ORM path checks the names
        session_id = requests._session_id(uow, auth, wish)
        person_id = requests._collaborator(uow, auth, request, accept_mismatch).id
        added: list[dict[str, Any]] = []
    else:
        session_id = None
        added = [booking.audit_row(auth, "collaborator.added", "collaborator", person_id,
                                   organisation=organisation_code)]
    assert wish.training_code is not None and wish.session_start is not None
    booked = booking.enroll(uow, auth, person_id,
                            session_id or (wish.training_code, wish.session_start),
                            audit_before=added, audit_after=[approved])
    if booked is not None:
        return request, enrollment.Outcome(*booked)
    outcome = enrollment.enroll(uow, auth, person_id,
                                session_id or requests._session_id(uow, auth, wish))
    for audit in (*added, approved):  # the ORM path wrote its own rows, not these
        uow.audit(audit["action"], audit["subject_type"], audit["subject_id"], auth,  # type: ignore[arg-type]
                  **audit["details"])
    return request, outcome


def _request(uow: UnitOfWork, row: Any) -> RegistrationRequest:
    """The decided request as callers read it: the session's own object refreshed when it
    holds one already, else a detached copy of the returned row (no statement)."""
    key = identity_key(RegistrationRequest, row.id)
    held = uow.session.identity_map.get(key)
    if held is not None:
        uow.session.expire(held)
        return held  # type: ignore[no-any-return]
    return RegistrationRequest(**{c.key: getattr(row, c.key) for c in REQUESTS.c})


def _new_person(uow: UnitOfWork, auth: Authority, requests: Any, request: RegistrationRequest,
                organisation_code: str, wish: Wanted) -> int | None:
    """The requester inserted as a collaborator (one statement), or None when their national
    number is already someone's; a refusal is worded after the wished session's."""
    try:
        if request.nrn_encrypted is None:
            raise DomainError("request_needs_nrn", id=request.id)
        typed = requests.typed_person(request)
        spec = NewCollaborator(
            nrn=uow.app.vault.decrypt(request.nrn_encrypted), surname=typed["surname"],
            given_names=typed["given_names"], email=typed["email"] or None,
            language=typed["language"] or "fr", organisation=organisation_code)
        number, language = _validated(spec)
    except DomainError:
        requests._session_id(uow, auth, wish)  # that refusal first, as the ORM path
        raise
    organisation = Organisation(id=request.organisation_id, code=organisation_code)
    values = _row(uow, spec, number, language, organisation)
    found = uow.session.connection().execute(
        NEW_PERSON, {f"v_{name}": values[name] for name in PERSON_COLUMNS}).scalar()
    return int(found) if found is not None else None
