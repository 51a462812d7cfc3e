"""PRO Academy certification tracks: a candidate in the next cohort with seats, every module's
session of that cohort at once, and out again (future modules freed, past results kept).

A track's capacity is per cohort; the cohort row is locked (FOR UPDATE on PostgreSQL, BEGIN
IMMEDIATE on SQLite) before its candidates are counted, so the count and the insert are one
step for every writer — the same rule as enrollment.lock_session for a session's seats.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from core import clock
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import (
    Cohort,
    Collaborator,
    Enrollment,
    EnrollmentState,
    Officer,
    TestResult,
    Track,
    TrackEnrollment,
    TrainingSession,
)
from core.services.access import require_collaborator
from core.services.enrollment import ACTIVE, lock_session, seats_taken, transition

HOLDING = ("active", "paused")
"""Track enrollments that hold a seat in their cohort."""


def track_by_code(uow: UnitOfWork, code: str) -> Track:
    track = uow.session.scalar(select(Track).where(Track.code == code.upper()))
    if track is None:
        raise DomainError("unknown_training", code=code)
    return track


def lock_cohort(uow: UnitOfWork, cohort_id: int) -> Cohort:
    found = uow.session.scalar(select(Cohort).where(Cohort.id == cohort_id)
                               .with_for_update(of=Cohort)
                               .execution_options(populate_existing=True))
    if found is None:
        raise DomainError("unknown_session", id=cohort_id)
    return found


def candidates(uow: UnitOfWork, cohort_id: int) -> int:
    return uow.session.scalar(select(func.count()).select_from(TrackEnrollment).where(
        TrackEnrollment.cohort_id == cohort_id, TrackEnrollment.state.in_(HOLDING))) or 0


def _prerequisite_met(uow: UnitOfWork, track: Track, collaborator: Collaborator) -> bool:
    if track.requires_track_id is not None:
        done = uow.session.scalar(select(TrackEnrollment.id).where(
            TrackEnrollment.track_id == track.requires_track_id,
            TrackEnrollment.collaborator_id == collaborator.id,
            TrackEnrollment.state == "completed"))
        if done is None:
            return False
    if track.requires_test_id is not None:
        passed = uow.session.scalar(select(TestResult.id).where(
            TestResult.training_id == track.requires_test_id,
            TestResult.collaborator_id == collaborator.id, TestResult.passed.is_(True)))
        if passed is None:
            return False
    return True


def _overlaps(uow: UnitOfWork, collaborator: Collaborator, session: TrainingSession) -> bool:
    """Another active enrollment of the person at the same time."""
    return uow.session.scalar(
        select(Enrollment.id).join(Enrollment.session).where(
            Enrollment.collaborator_id == collaborator.id, Enrollment.state.in_(ACTIVE),
            TrainingSession.id != session.id, TrainingSession.starts_on <= session.ends_on,
            TrainingSession.ends_on >= session.starts_on).limit(1)) is not None


@dataclass(frozen=True)
class Placed:
    """Where a candidate was put: the track enrollment and the module enrollments, in order."""

    track_enrollment: TrackEnrollment
    modules: list[Enrollment]


def enroll(uow: UnitOfWork, officer: Officer, collaborator_id: int, code: str) -> Placed:
    """Put the candidate in the next cohort (not started yet) with a seat, in each module's
    session of that cohort; every rule refuses with a DomainError and changes nothing."""
    track = track_by_code(uow, code)
    collaborator = uow.session.get(Collaborator, collaborator_id)
    if collaborator is None or not collaborator.active:
        raise DomainError("unknown_collaborator")
    require_collaborator(officer, collaborator)
    if uow.session.scalar(select(TrackEnrollment.id).where(
            TrackEnrollment.track_id == track.id,
            TrackEnrollment.collaborator_id == collaborator.id,
            TrackEnrollment.state.in_(HOLDING))) is not None:
        raise DomainError("already_enrolled", name=collaborator.display_name, code=track.code)
    if not _prerequisite_met(uow, track, collaborator):
        raise DomainError("track_prerequisite", name=collaborator.display_name, code=track.code,
                          required=track.requires_track.code if track.requires_track
                          else track.requires_test.code if track.requires_test else "-")
    upcoming = [c.id for c in uow.session.scalars(
        select(Cohort).where(Cohort.track_id == track.id, Cohort.starts_on >= clock.today())
        .order_by(Cohort.starts_on))]
    for cohort_id in upcoming:
        cohort = lock_cohort(uow, cohort_id)
        if candidates(uow, cohort.id) < track.capacity:
            return _place(uow, officer, track, cohort, collaborator)
    raise DomainError("track_full", code=track.code)


def _place(uow: UnitOfWork, officer: Officer, track: Track, cohort: Cohort,
           collaborator: Collaborator) -> Placed:
    by_training = {s.training_id: s for s in cohort.sessions}
    enrollments = []
    for module in track.modules:
        session = by_training.get(module.training_id)
        if session is None:
            raise DomainError("unknown_session", id=module.training_id)
        lock_session(uow, session.id)
        if _overlaps(uow, collaborator, session):
            raise DomainError("track_overlap", name=collaborator.display_name,
                              code=module.training.code, date=session.starts_on)
        if seats_taken(uow, session.id) >= session.capacity:
            raise DomainError("session_full", code=module.training.code, date=session.starts_on)
        row = uow.session.scalar(select(Enrollment).where(
            Enrollment.session_id == session.id, Enrollment.collaborator_id == collaborator.id))
        if row is None:
            row = Enrollment(session=session, collaborator=collaborator, state=None)
        transition(uow, row, EnrollmentState.ENROLLED, officer, reason=f"track:{track.code}")
        enrollments.append(row)
    placed = TrackEnrollment(track=track, collaborator=collaborator, cohort=cohort,
                             state="active")
    uow.session.add(placed)
    uow.session.flush()
    uow.audit("track.enrolled", "track_enrollment", placed.id, officer, track=track.code,
              cohort=cohort.number, collaborator_id=collaborator.id)
    _notify(uow, placed, enrollments)
    return Placed(placed, enrollments)


def withdraw(uow: UnitOfWork, officer: Officer, track_enrollment_id: int) -> Placed:
    """Out of the track: every future module freed, modules that took place (and their
    results) kept."""
    placed = uow.session.get(TrackEnrollment, track_enrollment_id)
    if placed is None or placed.state not in HOLDING:
        raise DomainError("unknown_enrollment")
    require_collaborator(officer, placed.collaborator)
    if placed.cohort_id is not None:
        lock_cohort(uow, placed.cohort_id)
    freed = []
    for row in module_enrollments(uow, placed):
        if row.state in ACTIVE and row.session.starts_on >= clock.today():
            lock_session(uow, row.session_id)
            transition(uow, row, EnrollmentState.CANCELLED, officer, reason="track_withdrawn")
            freed.append(row)
    placed.state = "cancelled"
    placed.updated_at = clock.now()
    uow.audit("track.withdrawn", "track_enrollment", placed.id, officer,
              track=placed.track.code, freed=len(freed))
    _notify(uow, placed, freed, cancelled=True)
    return Placed(placed, freed)


def module_enrollments(uow: UnitOfWork, placed: TrackEnrollment) -> list[Enrollment]:
    trainings = [m.training_id for m in placed.track.modules]
    return list(uow.session.scalars(
        select(Enrollment).join(Enrollment.session)
        .where(Enrollment.collaborator_id == placed.collaborator_id,
               TrainingSession.training_id.in_(trainings))
        .order_by(TrainingSession.starts_on)))


def progress(uow: UnitOfWork, collaborator_id: int) -> list[dict[str, object]]:
    """Per track: modules done, results, next module — for the report and its exports."""
    rows = []
    for placed in uow.session.scalars(select(TrackEnrollment).where(
            TrackEnrollment.collaborator_id == collaborator_id).order_by(TrackEnrollment.id)):
        modules = module_enrollments(uow, placed)
        done = [e for e in modules if e.state == EnrollmentState.ATTENDED]
        upcoming = [e for e in modules if e.state in ACTIVE
                    and e.session.starts_on >= clock.today()]
        results = {r.training.code: r.score for r in uow.session.scalars(
            select(TestResult).where(TestResult.collaborator_id == collaborator_id,
                                     TestResult.training_id.in_(
                                         [m.training_id for m in placed.track.modules])))}
        rows.append({"track": placed.track.code, "state": placed.state,
                     "cohort": placed.cohort.number if placed.cohort else None,
                     "modules": len(placed.track.modules), "done": len(done),
                     "results": results,
                     "next": ({"code": upcoming[0].session.training.code,
                               "start": upcoming[0].session.starts_on.isoformat()}
                              if upcoming else None)})
    return rows


def _notify(uow: UnitOfWork, placed: TrackEnrollment, modules: list[Enrollment],
            cancelled: bool = False) -> None:
    """One mail per change, with every module concerned (each its .ics)."""
    person = placed.collaborator
    if not person.email or not modules:
        return
    language = person.language.value
    uow.enqueue_mail(person.email, language, "track_changed", {
        "name": f"{person.given_names} {person.surname}", "track": placed.track.code,
        "title": placed.track.title(language), "cancelled": cancelled,
        "modules": [{"enrollment_id": e.id, "code": e.session.training.code,
                     "title": e.session.training.title(language),
                     "start": e.session.starts_on.isoformat(),
                     "end": e.session.ends_on.isoformat(), "place": e.session.place}
                    for e in modules]})
