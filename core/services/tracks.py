"""PRO Academy certification tracks: a candidate in the next cohort with seats, every module's
session of that cohort at once, and out again (future modules freed, past results kept).

A track's capacity is per cohort; the cohort row is locked (FOR UPDATE on PostgreSQL, BEGIN
IMMEDIATE on SQLite) before its candidates are counted, so the count and the insert are one
step for every writer — the same rule as enrollment.lock_session for a session's seats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

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
    TrackModule,
    Training,
    TrainingSession,
    cohort_sessions,
)
from core.services.access import require_collaborator
from core.services.enrollment import ACTIVE, lock_session, seats_taken, transition

HOLDING = ("active", "paused")
"""Track enrollments of a candidate still in the track (one per track at a time)."""
SEATED = ("active",)
"""Track enrollments that hold a seat in their cohort: a paused candidate gave theirs back."""
TRACK_CODE = re.compile(r"^PRO-[A-Z]{2,8}$")


def is_track_code(code: str | None) -> bool:
    """PRO-MGT: a track, where BOSA-101 is a training (a track's module is one too)."""
    return bool(code and TRACK_CODE.match(code.upper()))


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
        TrackEnrollment.cohort_id == cohort_id, TrackEnrollment.state.in_(SEATED))) or 0


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


def plan(uow: UnitOfWork, officer: Officer, collaborator_id: int, code: str) -> Cohort:
    """The cohort `enroll` would choose now, checked the same way (for the confirmation that
    lists every module's session); nothing is locked or changed."""
    track, collaborator = _checked(uow, officer, collaborator_id, code)
    for cohort in _upcoming(uow, track):
        if candidates(uow, cohort.id) < track.capacity:
            for module, session in module_sessions(track, cohort):
                _check_session(uow, collaborator, module.training.code, session)
            return cohort
    raise DomainError("track_full", code=track.code)


def _upcoming(uow: UnitOfWork, track: Track, after: date | None = None) -> list[Cohort]:
    today = clock.today()
    query = select(Cohort).where(Cohort.track_id == track.id, Cohort.starts_on >= today)
    if after is not None:
        query = query.where(Cohort.starts_on > after)
    return list(uow.session.scalars(query.order_by(Cohort.starts_on)))


def module_sessions(track: Track, cohort: Cohort,
              skip: frozenset[int] = frozenset()) -> list[tuple[TrackModule, TrainingSession]]:
    """Each module's session in the cohort, in the track's order (modules in `skip` left out)."""
    by_training = {s.training_id: s for s in cohort.sessions}
    pairs = []
    for module in track.modules:
        if module.training_id in skip:
            continue
        session = by_training.get(module.training_id)
        if session is None:
            raise DomainError("unknown_session", id=module.training_id)
        pairs.append((module, session))
    return pairs


def _check_session(uow: UnitOfWork, collaborator: Collaborator, code: str,
                   session: TrainingSession) -> None:
    if _overlaps(uow, collaborator, session):
        raise DomainError("track_overlap", name=collaborator.display_name, code=code,
                          date=session.starts_on)
    if seats_taken(uow, session.id) >= session.capacity:
        raise DomainError("session_full", code=code, date=session.starts_on)


def _checked(uow: UnitOfWork, officer: Officer, collaborator_id: int,
             code: str) -> tuple[Track, Collaborator]:
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
    return track, collaborator


def enroll(uow: UnitOfWork, officer: Officer, collaborator_id: int, code: str) -> Placed:
    """Put the candidate in the next cohort (not started yet) with a seat, in each module's
    session of that cohort; every rule refuses with a DomainError and changes nothing."""
    track, collaborator = _checked(uow, officer, collaborator_id, code)
    for upcoming in _upcoming(uow, track):
        cohort = lock_cohort(uow, upcoming.id)
        if candidates(uow, cohort.id) < track.capacity:
            return _place(uow, officer, track, cohort, collaborator)
    raise DomainError("track_full", code=track.code)


def _seat(uow: UnitOfWork, officer: Officer, track: Track, cohort: Cohort,
          collaborator: Collaborator, skip: frozenset[int] = frozenset()) -> list[Enrollment]:
    """Enrolled in each module's session of the cohort (under the session's lock)."""
    enrollments = []
    for module, session in module_sessions(track, cohort, skip):
        lock_session(uow, session.id)
        _check_session(uow, collaborator, module.training.code, session)
        enrollments.append(_enrolled(uow, officer, collaborator, session, track))
    return enrollments


def _enrolled(uow: UnitOfWork, officer: Officer, collaborator: Collaborator,
              session: TrainingSession, track: Track) -> Enrollment:
    row = uow.session.scalar(select(Enrollment).where(
        Enrollment.session_id == session.id, Enrollment.collaborator_id == collaborator.id))
    if row is None:
        row = Enrollment(session=session, collaborator=collaborator, state=None)
    transition(uow, row, EnrollmentState.ENROLLED, officer, reason=f"track:{track.code}")
    return row


def _place(uow: UnitOfWork, officer: Officer, track: Track, cohort: Cohort,
           collaborator: Collaborator) -> Placed:
    enrollments = _seat(uow, officer, track, cohort, collaborator)
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
    freed = _free_future(uow, officer, placed, "track_withdrawn")
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


def holding(uow: UnitOfWork, officer: Officer, collaborator_id: int,
            code: str) -> TrackEnrollment:
    """The candidate's current place in the track `code` (or in the track of module `code`)."""
    collaborator = uow.session.get(Collaborator, collaborator_id)
    if collaborator is None:
        raise DomainError("unknown_collaborator")
    require_collaborator(officer, collaborator)
    query = select(TrackEnrollment).join(TrackEnrollment.track).where(
        TrackEnrollment.collaborator_id == collaborator_id,
        TrackEnrollment.state.in_(HOLDING))
    if is_track_code(code):
        query = query.where(Track.code == code.upper())
    else:
        query = query.join(TrackModule, TrackModule.track_id == Track.id).join(
            TrackModule.training).where(Training.code == code.upper())
    found = uow.session.scalar(query.limit(1))
    if found is None:
        raise DomainError("track_not_enrolled", name=collaborator.display_name, code=code)
    return found


def future_modules(uow: UnitOfWork, placed: TrackEnrollment) -> list[Enrollment]:
    return [row for row in module_enrollments(uow, placed)
            if row.state in ACTIVE and row.session.starts_on >= clock.today()]


def _module_of(placed: TrackEnrollment, training_id: int) -> TrackModule:
    for module in placed.track.modules:
        if module.training_id == training_id:
            return module
    raise DomainError("unknown_training", code=str(training_id))


def alternatives(uow: UnitOfWork, placed: TrackEnrollment,
                 code: str) -> tuple[Enrollment, list[TrainingSession]]:
    """The candidate's session of module `code`, and the other cohorts' sessions of it that
    have not started and have a seat (what `change_session` accepts)."""
    current = next((row for row in module_enrollments(uow, placed)
                    if row.session.training.code == code.upper() and row.state in ACTIVE),
                   None)
    if current is None:
        raise DomainError("track_not_enrolled", name=placed.collaborator.display_name,
                          code=code)
    if current.session.starts_on <= clock.today():
        raise DomainError("track_module_past", code=code.upper(),
                          date=current.session.starts_on)
    sessions = uow.session.scalars(
        select(TrainingSession).join(cohort_sessions,
                                     cohort_sessions.c.session_id == TrainingSession.id)
        .join(Cohort, Cohort.id == cohort_sessions.c.cohort_id)
        .where(Cohort.track_id == placed.track_id,
               TrainingSession.training_id == current.session.training_id,
               TrainingSession.id != current.session_id,
               TrainingSession.starts_on > clock.today())
        .order_by(TrainingSession.starts_on))
    return current, [s for s in sessions if seats_taken(uow, s.id) < s.capacity]


def change_session(uow: UnitOfWork, officer: Officer, track_enrollment_id: int,
                   session_id: int) -> Placed:
    """One module in another cohort's session: never a module that took place (or starts
    today), never into a session that started, is full, or overlaps another enrollment."""
    placed = _held(uow, officer, track_enrollment_id, ("active",))
    target = lock_session(uow, session_id)
    in_track = uow.session.scalar(
        select(Cohort.id).join(cohort_sessions, cohort_sessions.c.cohort_id == Cohort.id)
        .where(cohort_sessions.c.session_id == session_id, Cohort.track_id == placed.track_id))
    if in_track is None:
        raise DomainError("unknown_session", id=session_id)
    module = _module_of(placed, target.training_id)
    current, _others = alternatives(uow, placed, module.training.code)
    if target.id == current.session_id:
        return Placed(placed, [current])
    if target.starts_on <= clock.today():
        raise DomainError("track_module_past", code=module.training.code, date=target.starts_on)
    lock_session(uow, current.session_id)
    transition(uow, current, EnrollmentState.CANCELLED, officer, reason="track_changed")
    uow.session.flush()
    _check_session(uow, placed.collaborator, module.training.code, target)
    row = _enrolled(uow, officer, placed.collaborator, target, placed.track)
    placed.updated_at = clock.now()
    uow.session.flush()
    uow.audit("track.session_changed", "track_enrollment", placed.id, officer,
              track=placed.track.code, module=module.training.code, session_id=target.id)
    _notify(uow, placed, [row])
    return Placed(placed, [row])


def pause(uow: UnitOfWork, officer: Officer, track_enrollment_id: int) -> Placed:
    """The candidate stops for now: future modules and the cohort seat freed, what took place
    kept; `resume` puts them in a later cohort."""
    placed = _held(uow, officer, track_enrollment_id, ("active",))
    freed = _free_future(uow, officer, placed, "track_paused")
    placed.state = "paused"
    placed.updated_at = clock.now()
    uow.audit("track.paused", "track_enrollment", placed.id, officer, track=placed.track.code,
              freed=len(freed))
    _notify(uow, placed, freed, cancelled=True)
    return Placed(placed, freed)


def resume_plan(uow: UnitOfWork, officer: Officer, track_enrollment_id: int) -> tuple[
        TrackEnrollment, Cohort, list[tuple[TrackModule, TrainingSession]]]:
    """The later cohort `resume` would choose now and the sessions of the modules left."""
    placed = _held(uow, officer, track_enrollment_id, ("paused",))
    skip = _taken_place(uow, placed)
    for cohort in _upcoming(uow, placed.track, _after(placed)):
        if candidates(uow, cohort.id) < placed.track.capacity:
            pairs = module_sessions(placed.track, cohort, skip)
            for module, session in pairs:
                _check_session(uow, placed.collaborator, module.training.code, session)
            return placed, cohort, pairs
    raise DomainError("track_full", code=placed.track.code)


def resume(uow: UnitOfWork, officer: Officer, track_enrollment_id: int) -> Placed:
    """Back in the track, in a cohort later than the one left, for the modules not taken yet."""
    placed = _held(uow, officer, track_enrollment_id, ("paused",))
    skip = _taken_place(uow, placed)
    for upcoming in _upcoming(uow, placed.track, _after(placed)):
        cohort = lock_cohort(uow, upcoming.id)
        if candidates(uow, cohort.id) < placed.track.capacity:
            rows = _seat(uow, officer, placed.track, cohort, placed.collaborator, skip)
            placed.cohort = cohort
            placed.state = "active"
            placed.updated_at = clock.now()
            uow.session.flush()
            uow.audit("track.resumed", "track_enrollment", placed.id, officer,
                      track=placed.track.code, cohort=cohort.number)
            _notify(uow, placed, rows)
            return Placed(placed, rows)
    raise DomainError("track_full", code=placed.track.code)


def _after(placed: TrackEnrollment) -> date | None:
    return placed.cohort.starts_on if placed.cohort is not None else None


def _taken_place(uow: UnitOfWork, placed: TrackEnrollment) -> frozenset[int]:
    """Modules the candidate attended (or whose session went by while enrolled): kept."""
    today = clock.today()
    return frozenset(row.session.training_id for row in module_enrollments(uow, placed)
                     if row.state == EnrollmentState.ATTENDED
                     or (row.state in ACTIVE and row.session.starts_on < today))


def _held(uow: UnitOfWork, officer: Officer, track_enrollment_id: int,
          states: tuple[str, ...]) -> TrackEnrollment:
    placed = uow.session.get(TrackEnrollment, track_enrollment_id)
    if placed is None or placed.state not in HOLDING:
        raise DomainError("unknown_enrollment")
    require_collaborator(officer, placed.collaborator)
    if placed.state not in states:
        raise DomainError(f"track_{placed.state}", name=placed.collaborator.display_name,
                          code=placed.track.code)
    if placed.cohort_id is not None:
        lock_cohort(uow, placed.cohort_id)
    return placed


def _free_future(uow: UnitOfWork, officer: Officer, placed: TrackEnrollment,
                 reason: str) -> list[Enrollment]:
    freed = []
    for row in future_modules(uow, placed):
        lock_session(uow, row.session_id)
        transition(uow, row, EnrollmentState.CANCELLED, officer, reason=reason)
        freed.append(row)
    return freed


def all_tracks(uow: UnitOfWork) -> list[Track]:
    return list(uow.session.scalars(select(Track).order_by(Track.code)))


def open_cohorts(uow: UnitOfWork, track: Track) -> list[tuple[Cohort, int]]:
    """Cohorts not started yet, with the seats left in each."""
    return [(cohort, max(0, track.capacity - candidates(uow, cohort.id)))
            for cohort in _upcoming(uow, track)]
