"""Enroll and unenroll: the state machine of DESIGN.md, with capacity that cannot be exceeded.

The common case — a seat free, every rule met — is a few SQLAlchemy Core statements
(core.services.booking: one guarded UPDATE of the session row takes the seat and locks the
row). Everything else comes here, to the ORM path: the session row is locked (FOR UPDATE on
PostgreSQL; BEGIN IMMEDIATE on SQLite) before seats are counted, so the count and the insert
are one atomic step for every writer, and every refusal is worded from rows read afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from core import clock
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import (
    SEAT_HOLDING,
    Collaborator,
    Enrollment,
    EnrollmentEvent,
    EnrollmentState,
    Officer,
    TrainingSession,
)
from core.services import authority, booking
from core.services.access import require_collaborator, require_training
from core.services.authority import Authority
from core.services.catalog import free_seats

S = EnrollmentState
OFFER_PERIOD = timedelta(hours=72)
OPTION_PERIOD = timedelta(days=14)

TRANSITIONS: dict[S | None, frozenset[S]] = {
    None: frozenset({S.OPTION, S.ENROLLED, S.WAITLISTED}),
    S.OPTION: frozenset({S.ENROLLED, S.CANCELLED}),
    S.WAITLISTED: frozenset({S.OFFERED, S.ENROLLED, S.CANCELLED}),
    S.OFFERED: frozenset({S.ENROLLED, S.CANCELLED}),
    S.ENROLLED: frozenset({S.CANCELLED, S.ATTENDED, S.NO_SHOW}),
    S.CANCELLED: frozenset({S.OPTION, S.ENROLLED, S.WAITLISTED}),
    S.ATTENDED: frozenset(),
    S.NO_SHOW: frozenset(),
}
ACTIVE = frozenset({S.OPTION, S.ENROLLED, S.WAITLISTED, S.OFFERED})


class IllegalTransition(DomainError):
    def __init__(self, current: S | None, target: S) -> None:
        super().__init__("illegal_transition", current=current or "-", target=target)


def transition(uow: UnitOfWork, enrollment: Enrollment, target: S, officer: Officer | None,
               reason: str | None = None) -> None:
    """The only place an enrollment changes state; it appends the history row."""
    current = enrollment.state
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    enrollment.state = target
    enrollment.updated_at = clock.now()
    enrollment.hold_expires_at = {S.OPTION: clock.now() + OPTION_PERIOD,
                                  S.OFFERED: clock.now() + OFFER_PERIOD}.get(target)
    uow.session.add(enrollment)
    uow.session.flush()
    uow.session.add(EnrollmentEvent(enrollment_id=enrollment.id, from_state=current,
                                    to_state=target, officer_id=officer.id if officer else None,
                                    reason=reason))
    uow.audit(f"enrollment.{target}", "enrollment", enrollment.id, officer,
              session_id=enrollment.session_id, collaborator_id=enrollment.collaborator_id,
              from_state=str(current) if current else None, reason=reason)


@dataclass(frozen=True)
class Outcome:
    enrollment: Enrollment | booking.Booked
    free: int
    promoted: Enrollment | booking.Booked | None = None


def lock_session(uow: UnitOfWork, session_id: int) -> TrainingSession:
    found = uow.session.scalar(
        select(TrainingSession).where(TrainingSession.id == session_id)
        .with_for_update(of=TrainingSession))
    if found is None:
        raise DomainError("unknown_session", id=session_id)
    return found


def seats_taken(uow: UnitOfWork, session_id: int) -> int:
    """Seats held, lapsed holds included until they are expired (the waitlist comes first)."""
    return uow.session.scalar(select(func.count()).select_from(Enrollment).where(
        Enrollment.session_id == session_id, Enrollment.state.in_(SEAT_HOLDING))) or 0


def _notify(uow: UnitOfWork, enrollment: Enrollment, template: str) -> None:
    person = enrollment.collaborator
    if not person.email:
        return
    session = enrollment.session
    language = person.language.value
    uow.enqueue_mail(person.email, language, template, {
        "name": f"{person.given_names} {person.surname}", "given_names": person.given_names,
        "code": session.training.code, "title": session.training.title(language),
        "start": session.starts_on.isoformat(), "end": session.ends_on.isoformat(),
        "place": session.place, "enrollment_id": enrollment.id, "session_id": session.id,
        "hold_expires_at": (enrollment.hold_expires_at.isoformat()
                            if enrollment.hold_expires_at else None)})


def _expire_holds(uow: UnitOfWork, session: TrainingSession) -> None:
    """Lapsed options and offers give their seat back before anyone counts seats."""
    expired = uow.session.scalars(select(Enrollment).where(
        Enrollment.session_id == session.id,
        Enrollment.state.in_((S.OPTION, S.OFFERED)),
        Enrollment.hold_expires_at <= clock.now())).all()
    for enrollment in expired:
        transition(uow, enrollment, S.CANCELLED, None, reason="hold_expired")
    if expired:
        _promote(uow, session, None)


def _promote(uow: UnitOfWork, session: TrainingSession,
             officer: Officer | None) -> Enrollment | None:
    if seats_taken(uow, session.id) >= session.capacity:
        return None
    waiting = uow.session.scalar(
        select(Enrollment).where(Enrollment.session_id == session.id,
                                 Enrollment.state == S.WAITLISTED)
        .order_by(Enrollment.updated_at, Enrollment.id).limit(1))
    if waiting is None:
        return None
    transition(uow, waiting, S.OFFERED, officer, reason="seat_freed")
    _notify(uow, waiting, "seat_offered")
    return waiting


def _check_bookable(session: TrainingSession) -> None:
    if session.cancelled:
        raise DomainError("session_cancelled", code=session.training.code,
                          date=session.starts_on)
    if session.starts_on < clock.today():
        raise DomainError("session_past", code=session.training.code,
                          date=session.starts_on)


def check_enrollable(uow: UnitOfWork, officer: Officer, collaborator_id: int,
                     session_id: int) -> None:
    """The refusals enroll would give (not yours, already enrolled, another session of the
    same training, past or cancelled session), before anyone is asked to confirm; enroll
    checks again under the lock."""
    session = uow.session.get(TrainingSession, session_id)
    if session is None:
        raise DomainError("unknown_session", id=session_id)
    _enrollable(uow, officer, collaborator_id, session, option=False)


def _enrollable(uow: UnitOfWork, officer: Officer, collaborator_id: int,
                session: TrainingSession, option: bool) -> tuple[Collaborator, Enrollment | None]:
    collaborator = uow.session.get(Collaborator, collaborator_id)
    if collaborator is None or not collaborator.active:
        raise DomainError("unknown_collaborator")
    require_collaborator(officer, collaborator)
    require_training(officer, session.training)
    _check_bookable(session)
    _refuse_other_session(uow, collaborator, session)
    enrollment = uow.session.scalar(select(Enrollment).where(
        Enrollment.session_id == session.id, Enrollment.collaborator_id == collaborator.id))
    confirming_option = enrollment is not None and enrollment.state == S.OPTION and not option
    if (enrollment is not None and enrollment.state in (S.ENROLLED, S.OPTION, S.WAITLISTED)
            and not confirming_option):
        raise DomainError(f"already_{enrollment.state}", name=collaborator.display_name,
                          code=session.training.code)
    return collaborator, enrollment


def enroll(uow: UnitOfWork, officer: Officer | Authority, collaborator_id: int,
           session_id: int, *, waitlist_if_full: bool = True, option: bool = False) -> Outcome:
    """Enroll (or hold an option); a full session waitlists, or refuses when asked to."""
    facts = authority.of(officer)
    if not option and facts.active:
        booked = booking.enroll(uow, facts, collaborator_id, session_id)
        if booked is not None:
            return Outcome(*booked)
    return _enroll(uow, authority.officer(uow, officer), collaborator_id, session_id,
                   waitlist_if_full, option)


def _enroll(uow: UnitOfWork, officer: Officer, collaborator_id: int, session_id: int,
            waitlist_if_full: bool, option: bool) -> Outcome:
    session = lock_session(uow, session_id)
    collaborator, enrollment = _enrollable(uow, officer, collaborator_id, session, option)
    has_seat = (enrollment is not None and enrollment.state in (S.OPTION, S.OFFERED)
                and (enrollment.hold_expires_at is None
                     or enrollment.hold_expires_at > clock.now()))
    _expire_holds(uow, session)  # lapsed holds give their seats back (to the waitlist first)
    free = free_seats(session.capacity, seats_taken(uow, session.id))
    if enrollment is None:
        enrollment = Enrollment(session=session, collaborator=collaborator, state=None)
    if has_seat or free > 0:
        target = S.OPTION if option else S.ENROLLED
        transition(uow, enrollment, target, officer)
        _notify(uow, enrollment, "option_taken" if option else "enrollment_confirmed")
        return Outcome(enrollment, free - (0 if has_seat else 1))
    if not waitlist_if_full:
        raise DomainError("session_full", code=session.training.code,
                          date=session.starts_on)
    transition(uow, enrollment, S.WAITLISTED, officer)
    _notify(uow, enrollment, "waitlisted")
    return Outcome(enrollment, 0)


def _refuse_other_session(uow: UnitOfWork, collaborator: Collaborator,
                          session: TrainingSession) -> None:
    other = uow.session.scalar(
        select(Enrollment).join(Enrollment.session)
        .where(Enrollment.collaborator_id == collaborator.id,
               TrainingSession.training_id == session.training_id,
               TrainingSession.id != session.id,
               TrainingSession.starts_on >= clock.today(),
               Enrollment.state.in_(ACTIVE)).limit(1))
    if other is not None:
        raise DomainError("already_in_other_session", name=collaborator.display_name,
                          code=session.training.code,
                          date=other.session.starts_on)


def unenroll(uow: UnitOfWork, officer: Officer | Authority, enrollment_id: int,
             reason: str | None = None) -> Outcome:
    """Cancel; a freed seat goes to the first person on the waitlist as an offer."""
    facts = authority.of(officer)
    if facts.active:
        done = booking.unenroll(uow, facts, enrollment_id, reason, clock.now() + OFFER_PERIOD)
        if done is not None:
            return Outcome(*done)
    return _unenroll(uow, authority.officer(uow, officer), enrollment_id, reason)


def _unenroll(uow: UnitOfWork, officer: Officer, enrollment_id: int,
              reason: str | None) -> Outcome:
    enrollment = uow.session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise DomainError("unknown_enrollment")
    session = lock_session(uow, enrollment.session_id)
    require_collaborator(officer, enrollment.collaborator)
    _expire_holds(uow, session)
    if enrollment.state not in ACTIVE:
        raise DomainError("not_enrolled", name=enrollment.collaborator.display_name,
                          code=session.training.code)
    if session.starts_on < clock.today():
        raise DomainError("session_past", code=session.training.code,
                          date=session.starts_on)
    transition(uow, enrollment, S.CANCELLED, officer, reason=reason)
    _notify(uow, enrollment, "unenrolled")
    promoted = _promote(uow, session, officer)
    return Outcome(enrollment, session.capacity - seats_taken(uow, session.id), promoted)


def active_enrollments(uow: UnitOfWork, collaborator_id: int) -> list[Enrollment]:
    """Upcoming enrollments that can still be cancelled, soonest first."""
    return list(uow.session.scalars(
        select(Enrollment).join(Enrollment.session)
        .where(Enrollment.collaborator_id == collaborator_id, Enrollment.state.in_(ACTIVE),
               TrainingSession.starts_on >= clock.today())
        .order_by(TrainingSession.starts_on)))


def expire_lapsed_holds(uow: UnitOfWork) -> int:
    """Options and offers past their date give their seat back and the waitlist moves on,
    even for sessions nobody touches (the scheduler calls this)."""
    session_ids = set(uow.session.scalars(select(Enrollment.session_id).where(
        Enrollment.state.in_((S.OPTION, S.OFFERED)), Enrollment.hold_expires_at <= clock.now())))
    for session_id in sorted(session_ids):
        _expire_holds(uow, lock_session(uow, session_id))
    return len(session_ids)
