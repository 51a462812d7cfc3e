"""Enroll and unenroll in a handful of SQLAlchemy Core statements (the same on SQLite and
PostgreSQL), for the common case; ``None`` sends the caller to the ORM path that words every
refusal, waitlists and expires lapsed holds (core.services.enrollment).

Why it is safe: the seat is taken by one guarded UPDATE of the session row
(``seats_taken = seats_taken + 1 WHERE seats_taken < capacity AND <every rule>``), which also
locks that row until the commit, exactly as the ORM path's ``SELECT … FOR UPDATE`` does. A rule
that fails matches no row and nothing is written. The rules read other rows through
subqueries of that statement; on PostgreSQL those see the snapshot taken before the statement
waited for the lock, so every later write is guarded again by what it expects (no row for this
person yet, the state read) and a write that finds something else undoes the seat and hands
over to the ORM path, which reads everything afresh under the lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    bindparam,
    case,
    exists,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from core import clock, db, i18n
from core.app import UnitOfWork
from core.models import (
    SEAT_HOLDING,
    AuditEvent,
    Collaborator,
    Enrollment,
    EnrollmentEvent,
    EnrollmentState,
    OutboxMessage,
    Training,
    TrainingKind,
    TrainingSession,
    UTCDateTime,
)
from core.services.authority import Authority

S = EnrollmentState
ACTIVE = (S.OPTION, S.ENROLLED, S.WAITLISTED, S.OFFERED)
SESSIONS, TRAININGS = TrainingSession.__table__, Training.__table__
PEOPLE, ENROLLMENTS = Collaborator.__table__, Enrollment.__table__
EVENTS, AUDIT, OUTBOX = EnrollmentEvent.__table__, AuditEvent.__table__, OutboxMessage.__table__


# -- what the fast paths hand back: the facts an ORM Enrollment would show ----------------------


@dataclass(frozen=True)
class TrainingFacts:
    code: str
    titles: dict[str, Any]

    def title(self, language: str) -> str:
        return self.titles.get(language) or self.titles.get("fr") or self.code


@dataclass(frozen=True)
class SessionFacts:
    id: int
    starts_on: date
    ends_on: date
    place: str
    capacity: int
    training: TrainingFacts


@dataclass(frozen=True)
class PersonFacts:
    id: int
    surname: str
    given_names: str
    sex: str | None
    email: str | None
    language: str

    @property
    def display_name(self) -> str:
        return f"{self.surname} {self.given_names}"


@dataclass(frozen=True)
class Booked:
    """An enrollment as written by a fast path (reads like core.models.Enrollment)."""

    id: int
    state: EnrollmentState
    session: SessionFacts
    collaborator: PersonFacts
    hold_expires_at: datetime | None = None
    session_id: int = field(init=False)
    collaborator_id: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "session_id", self.session.id)
        object.__setattr__(self, "collaborator_id", self.collaborator.id)


# -- the statements, built once (building a statement costs more CPU than sending it) ---------
# Values come as bound parameters: session_id / code + start, person_id, enrollment_id, orgs
# (the officer's organisation ids, expanding), today, now, offer_until.

TYPES: dict[str, Any] = {
    "now": UTCDateTime(), "offer_until": UTCDateTime(), "today": Date(), "start": Date(),
    "sid": Integer(), "pid": Integer(), "eid": Integer(),
    "delta": Integer(), "code": String(), "was": ENROLLMENTS.c.state.type}


def P(name: str, expanding: bool = False) -> Any:
    """A bound parameter, typed (times and states are converted as the columns convert them)."""
    return bindparam(name, type_=TYPES.get(name), expanding=expanding)

MINE, OTHER, LAPSED, WAITING = (ENROLLMENTS.alias("mine"), ENROLLMENTS.alias("other"),
                                ENROLLMENTS.alias("lapsed"), ENROLLMENTS.alias("waiting"))
OTHER_SESSION = SESSIONS.alias("other_session")


def _person_columns(person_id: Any) -> list[Any]:
    def one(column: Any, name: str) -> Any:
        return select(column).where(PEOPLE.c.id == person_id).scalar_subquery().label(name)
    return [one(PEOPLE.c.surname, "surname"), one(PEOPLE.c.given_names, "given_names"),
            one(PEOPLE.c.sex, "sex"), one(PEOPLE.c.email, "email"),
            one(PEOPLE.c.language, "language")]


def _training_columns() -> list[Any]:
    def one(column: Any, name: str) -> Any:
        return (select(column).where(TRAININGS.c.id == SESSIONS.c.training_id)
                .scalar_subquery().label(name))
    return [one(TRAININGS.c.code, "code"), one(TRAININGS.c.titles, "titles")]


NO_LAPSED_HOLD = ~exists().where(LAPSED.c.session_id == SESSIONS.c.id,
                                 LAPSED.c.state.in_((S.OPTION, S.OFFERED)),
                                 LAPSED.c.hold_expires_at <= P("now"))
SESSION_COLUMNS = (SESSIONS.c.id, SESSIONS.c.starts_on, SESSIONS.c.ends_on, SESSIONS.c.place,
                   SESSIONS.c.capacity, SESSIONS.c.seats_taken, *_training_columns())


def _take_seat(this_session: Any) -> Any:
    """The seat and every rule of enroll in one UPDATE of the session row."""
    person = P("pid")
    orgs = P("orgs", expanding=True)
    return (update(SESSIONS)
            .where(this_session, SESSIONS.c.seats_taken < SESSIONS.c.capacity,
                   SESSIONS.c.cancelled.is_(False), SESSIONS.c.starts_on >= P("today"),
                   exists().where(TRAININGS.c.id == SESSIONS.c.training_id,
                                  or_(TRAININGS.c.kind != TrainingKind.ON_DEMAND,
                                      TRAININGS.c.owner_organisation_id.in_(orgs))),
                   exists().where(PEOPLE.c.id == person, PEOPLE.c.active.is_(True),
                                  PEOPLE.c.organisation_id.in_(orgs)),
                   ~exists().where(MINE.c.session_id == SESSIONS.c.id,
                                   MINE.c.collaborator_id == person,
                                   MINE.c.state != S.CANCELLED),
                   ~exists().where(OTHER.c.collaborator_id == person,
                                   OTHER.c.session_id == OTHER_SESSION.c.id,
                                   OTHER_SESSION.c.training_id == SESSIONS.c.training_id,
                                   OTHER_SESSION.c.id != SESSIONS.c.id,
                                   OTHER_SESSION.c.starts_on >= P("today"),
                                   OTHER.c.state.in_(ACTIVE)),
                   NO_LAPSED_HOLD)
            .values(seats_taken=SESSIONS.c.seats_taken + 1)
            .returning(*SESSION_COLUMNS, *_person_columns(person),
                       select(MINE.c.id).where(MINE.c.session_id == SESSIONS.c.id,
                                               MINE.c.collaborator_id == person)
                       .scalar_subquery().label("cancelled_id")))


TAKE_SEAT_BY_ID = _take_seat(SESSIONS.c.id == P("sid"))
TAKE_SEAT_BY_WISH = _take_seat(and_(
    SESSIONS.c.training_id == select(TRAININGS.c.id).where(TRAININGS.c.code == P("code"))
    .scalar_subquery(), SESSIONS.c.starts_on == P("start")))
MOVE_SEATS = (update(SESSIONS).where(SESSIONS.c.id == P("sid"))
              .values(seats_taken=SESSIONS.c.seats_taken + P("delta")))
ENROLL_AGAIN = (update(ENROLLMENTS)
                .where(ENROLLMENTS.c.id == P("eid"),
                       ENROLLMENTS.c.state == S.CANCELLED)
                .values(state=S.ENROLLED, updated_at=P("now"), hold_expires_at=None))
NEW_ENROLLMENT = (
    insert(ENROLLMENTS).from_select(
        ["session_id", "collaborator_id", "state", "hold_expires_at", "created_at",
         "updated_at"],
        select(P("sid"), P("pid"),
               literal(S.ENROLLED, ENROLLMENTS.c.state.type),
               literal(None, ENROLLMENTS.c.hold_expires_at.type),
               P("now"), P("now"))
        .where(~exists().where(MINE.c.session_id == P("sid"),
                               MINE.c.collaborator_id == P("pid"))))
    .returning(ENROLLMENTS.c.id))


def _of_mine(column: Any) -> Any:
    return select(column).where(MINE.c.id == P("eid")) \
        .scalar_subquery()


FREE_SEAT = (
    update(SESSIONS)
    .where(SESSIONS.c.id == _of_mine(MINE.c.session_id), SESSIONS.c.starts_on >= P("today"),
           exists().where(MINE.c.id == P("eid"), MINE.c.state.in_(ACTIVE),
                          PEOPLE.c.id == MINE.c.collaborator_id,
                          PEOPLE.c.organisation_id.in_(P("orgs", expanding=True))),
           NO_LAPSED_HOLD)
    .values(seats_taken=SESSIONS.c.seats_taken
            - case((_of_mine(MINE.c.state).in_(SEAT_HOLDING), 1), else_=0))
    .returning(*SESSION_COLUMNS, *_person_columns(_of_mine(MINE.c.collaborator_id)),
               _of_mine(MINE.c.collaborator_id).label("person_id"),
               _of_mine(MINE.c.state).label("from_state")))
CANCEL = (update(ENROLLMENTS)
          .where(ENROLLMENTS.c.id == P("eid"), ENROLLMENTS.c.state == P("was"))
          .values(state=S.CANCELLED, updated_at=P("now"), hold_expires_at=None))
OFFER_TO_FIRST = (
    update(ENROLLMENTS)
    .where(ENROLLMENTS.c.id == select(WAITING.c.id).where(
        WAITING.c.session_id == P("sid"), WAITING.c.state == S.WAITLISTED)
        .order_by(WAITING.c.updated_at, WAITING.c.id).limit(1).scalar_subquery())
    .values(state=S.OFFERED, updated_at=P("now"), hold_expires_at=P("offer_until"))
    .returning(ENROLLMENTS.c.id, ENROLLMENTS.c.collaborator_id,
               *_person_columns(ENROLLMENTS.c.collaborator_id)))


def _session_facts(row: Row[Any]) -> SessionFacts:
    return SessionFacts(row.id, row.starts_on, row.ends_on, row.place, row.capacity,
                        TrainingFacts(row.code, row.titles or {}))


def _person_facts(person_id: int, row: Row[Any]) -> PersonFacts:
    return PersonFacts(person_id, row.surname, row.given_names, row.sex, row.email,
                       str(row.language.value if hasattr(row.language, "value") else row.language))


def _move_seats(connection: Connection, session_id: int, delta: int) -> None:
    connection.execute(MOVE_SEATS, {"sid": session_id, "delta": delta})


# -- enroll ----------------------------------------------------------------------------------


def enroll(uow: UnitOfWork, auth: Authority, collaborator_id: int,
           session: int | tuple[str, date], *, audit_before: list[dict[str, Any]] | None = None,
           audit_after: list[dict[str, Any]] | None = None) -> tuple[Booked, int] | None:
    """Enrolled with a seat, or None (a rule refuses, the session is full, a lapsed hold or a
    live one of this person is there): then the ORM path decides, nothing was written.

    ``session`` is an id, or a training code and start date (a request's wish); the audit
    rows of the caller's own changes go into the same multi-row INSERT."""
    if not auth.organisation_ids:
        return None
    connection = uow.session.connection()
    now = clock.now()
    params = {"pid": collaborator_id, "orgs": list(auth.organisation_ids),
              "today": clock.today(), "now": now}
    if isinstance(session, int):
        seat = connection.execute(TAKE_SEAT_BY_ID, {**params, "sid": session}).first()
    else:
        seat = connection.execute(TAKE_SEAT_BY_WISH, {**params, "code": session[0],
                                                      "start": session[1]}).first()
    if seat is None:
        return None
    if seat.cancelled_id is not None:
        done = connection.execute(ENROLL_AGAIN, {"eid": seat.cancelled_id,
                                                 "now": now}).rowcount == 1
        enrollment_id = seat.cancelled_id if done else None
    else:
        enrollment_id = connection.execute(NEW_ENROLLMENT, {
            "sid": seat.id, "pid": collaborator_id, "now": now}).scalar()
    if enrollment_id is None:  # someone enrolled this person meanwhile: the ORM path says so
        _move_seats(connection, seat.id, -1)
        return None
    facts, person = _session_facts(seat), _person_facts(collaborator_id, seat)
    booked = Booked(enrollment_id, S.ENROLLED, facts, person)
    from_state = S.CANCELLED if seat.cancelled_id is not None else None
    write_changes(uow, auth, [(booked, from_state, None)],
                  [(booked, "enrollment_confirmed")], audit_before or [], audit_after or [])
    return booked, max(seat.capacity - seat.seats_taken, 0)


# -- unenroll --------------------------------------------------------------------------------


def unenroll(uow: UnitOfWork, auth: Authority, enrollment_id: int, reason: str | None,
             offer_until: datetime) -> tuple[Booked, int, Booked | None] | None:
    """Cancelled (its seat to the first on the waitlist, as an offer), or None: then the ORM
    path words the refusal or expires lapsed holds first; nothing was written."""
    if not auth.organisation_ids:
        return None
    connection = uow.session.connection()
    now = clock.now()
    seat = connection.execute(FREE_SEAT, {
        "eid": enrollment_id, "orgs": list(auth.organisation_ids),
        "today": clock.today(), "now": now}).first()
    if seat is None:
        return None
    from_state = S(seat.from_state)
    cancelled = connection.execute(CANCEL, {"eid": enrollment_id,
                                            "was": from_state, "now": now})
    if cancelled.rowcount != 1:  # changed meanwhile: give the seat back, the ORM path says why
        _move_seats(connection, seat.id, 1 if from_state in SEAT_HOLDING else 0)
        return None
    session = _session_facts(seat)
    booked = Booked(enrollment_id, S.CANCELLED, session, _person_facts(seat.person_id, seat))
    promoted = None
    taken = seat.seats_taken
    if from_state in SEAT_HOLDING and taken < seat.capacity:
        offered = connection.execute(OFFER_TO_FIRST, {
            "sid": session.id, "now": now, "offer_until": offer_until}).first()
        if offered is not None:  # read afresh: this statement starts once the row is ours
            promoted = Booked(offered.id, S.OFFERED, session,
                              _person_facts(offered.collaborator_id, offered),
                              hold_expires_at=offer_until)
            _move_seats(connection, session.id, 1)
            taken += 1
    changes: list[tuple[Booked, EnrollmentState | None, str | None]] = [
        (booked, from_state, reason)]
    mails = [(booked, "unenrolled")]
    if promoted is not None:
        changes.append((promoted, S.WAITLISTED, "seat_freed"))
        mails.append((promoted, "seat_offered"))
    write_changes(uow, auth, changes, mails)
    return booked, seat.capacity - taken, promoted


# -- history, audit and mail: one multi-row INSERT each ---------------------------------------


# inline: no RETURNING of the new ids (nobody reads them), so they can go in one pipeline
INSERT_EVENTS, INSERT_AUDIT, INSERT_OUTBOX = (insert(EVENTS).inline(), insert(AUDIT).inline(),
                                             insert(OUTBOX).inline())


def audit_row(auth: Authority | None, action: str, subject_type: str, subject_id: int | None,
              actor: str | None = None, **details: Any) -> dict[str, Any]:
    """An audit row as UnitOfWork.audit writes it."""
    return {"at": clock.now(), "officer_id": auth.id if auth else None,
            "actor": actor or (auth.email if auth else "system"), "action": action,
            "subject_type": subject_type, "subject_id": subject_id, "details": details}


def write_changes(uow: UnitOfWork, auth: Authority | None,
                  changes: list[tuple[Booked, EnrollmentState | None, str | None]],
                  mails: list[tuple[Booked, str]], audit_before: Sequence[dict[str, Any]] = (),
                  audit_after: Sequence[dict[str, Any]] = ()) -> None:
    """The history rows, the audit rows and the participants' mails of these changes, as the
    ORM path's ``transition`` and ``_notify`` write them."""
    connection = uow.session.connection()
    now = clock.now()
    officer_id = auth.id if auth else None
    events = [{"enrollment_id": b.id, "from_state": before, "to_state": b.state, "at": now,
               "officer_id": officer_id, "reason": reason} for b, before, reason in changes]
    audits = [*audit_before, *(
        audit_row(auth, f"enrollment.{b.state}", "enrollment", b.id, session_id=b.session_id,
                  collaborator_id=b.collaborator_id,
                  from_state=str(before) if before else None, reason=reason)
        for b, before, reason in changes), *audit_after]
    rows = [_mail_row(uow, b, template, now) for b, template in mails if b.collaborator.email]
    with db.pipelined(connection):  # nothing read back: one round trip on PostgreSQL
        connection.execute(INSERT_EVENTS, events)
        connection.execute(INSERT_AUDIT, audits)
        if rows:
            connection.execute(INSERT_OUTBOX, rows)


def _mail_row(uow: UnitOfWork, booked: Booked, template: str, now: datetime) -> dict[str, Any]:
    """As UnitOfWork.enqueue_mail writes it: facts only, the Message-ID fixed now."""
    person, session = booked.collaborator, booked.session
    language = person.language
    return {
        "channel": "mail", "to_address": person.email,
        "language": i18n.language_or_default(language), "template": template, "subject": "",
        "context": {
            "name": f"{person.given_names} {person.surname}", "given_names": person.given_names,
            "code": session.training.code, "title": session.training.title(language),
            "start": session.starts_on.isoformat(), "end": session.ends_on.isoformat(),
            "place": session.place, "enrollment_id": booked.id, "session_id": session.id,
            "hold_expires_at": (booked.hold_expires_at.isoformat()
                                if booked.hold_expires_at else None)},
        "message_id": f"<{uuid.uuid4().hex}@{uow.app.settings.mail_domain}>",
        "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
