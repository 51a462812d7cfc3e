"""No overbooking, round after round: 200 simultaneous attempts on 10 seats, from 4 processes.

Four spawned worker processes, each with its own App (its own engine and connection pool), are
started once and reused for all 20 rounds, on PostgreSQL and on SQLite. A round is a fresh
10-seat session of its own training; the 200 attempts are split over the processes, which wait
on a barrier so they all start together, and each process runs its share on a few threads.
Every round must end with exactly 10 enrolled and 190 waitlisted, one history event per
enrollment, and a seat count that never went above the capacity: the free seats each winner
was told are exactly 9, 8, ..., 0, and replaying the history in the order it was written never
holds more than 10 seats.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from sqlalchemy import select

from core import clock, nrn
from core.app import App
from core.config import Settings
from core.errors import DomainError
from core.models import (
    SEAT_HOLDING,
    Enrollment,
    EnrollmentEvent,
    EnrollmentState,
    Organisation,
    Training,
    TrainingSession,
)
from core.services import enrollment
from core.services.access import NewOfficer, add_officer, officer_by_email
from core.services.collaborators import NewCollaborator, add_collaborator
from tests.conftest import NOW

PROCESSES = 4
THREADS = 4  # per process; within the engine's pool (5), so no thread waits for a connection
ATTEMPTS = 200
CAPACITY = 10
ROUNDS = 20
OFFICER = "seats@bosa.example"
ROUND_TIMEOUT_S = 60

S = EnrollmentState


def _prepare(app: App, rounds: int) -> tuple[list[int], list[int]]:
    """An officer, ATTEMPTS people, and a session per round, each of its own training (a person
    may be active in only one session per training)."""
    rng = random.Random(2027)
    with app.unit_of_work() as uow:
        organisation = Organisation(code="BOSA", names={"fr": "BOSA"})
        uow.session.add(organisation)
        uow.session.flush()
        add_officer(uow, NewOfficer(OFFICER, "Sam Seats", nrn.generate(rng), ["BOSA"]))
        people = [add_collaborator(uow, None, NewCollaborator(
            nrn.generate(rng), f"Seat{i:03d}", "Test", None, "fr", "BOSA")).id
            for i in range(ATTEMPTS)]
        sessions = [TrainingSession(
            training=Training(code=f"SEAT-{n:02d}", titles={"fr": f"Places {n}"}),
            starts_on=date(2027, 6, 1 + n), ends_on=date(2027, 6, 1 + n), place="Bruxelles",
            capacity=CAPACITY) for n in range(rounds)]
        uow.session.add_all(sessions)
        uow.session.flush()
        return people, [s.id for s in sessions]


def _attempt(app: App, session_id: int, person: int) -> tuple[str, int | None]:
    """(final state or refusal or error, free seats the service reported)."""
    try:
        with app.unit_of_work() as uow:
            officer = officer_by_email(uow, OFFICER)
            outcome = enrollment.enroll(uow, officer, person, session_id)
            return str(outcome.enrollment.state), outcome.free
    except DomainError as exc:
        return f"refused:{exc.code}", None
    except Exception as exc:  # a deadlock, a serialization failure...: the test must say so
        return f"error:{type(exc).__name__}:{str(exc).splitlines()[0][:200]}", None


def _worker(settings: Settings, barrier: Any, tasks: Any, results: Any) -> None:
    """One process: its own App; per round, wait for the others, then run its share."""
    clock.set_clock(lambda: NOW)
    app = App(settings)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            while (task := tasks.get()) is not None:
                session_id, people = task
                try:
                    barrier.wait(timeout=ROUND_TIMEOUT_S)
                    outcomes = list(pool.map(lambda p, s=session_id: _attempt(app, s, p),
                                             people))
                except Exception:
                    outcomes = [(f"error:worker:{traceback.format_exc(limit=3)}", None)]
                results.put(outcomes)
    finally:
        app.close()


def _check_round(app: App, session_id: int, outcomes: list[tuple[str, int | None]]) -> None:
    assert len(outcomes) == ATTEMPTS, outcomes[:3]
    results = Counter(state for state, _free in outcomes)
    assert results == {S.ENROLLED: CAPACITY, S.WAITLISTED: ATTEMPTS - CAPACITY}, results
    seen_free = sorted(free for state, free in outcomes if state == S.ENROLLED)
    assert seen_free == list(range(CAPACITY)), seen_free  # each winner saw its own count
    with app.unit_of_work(readonly=True) as uow:
        rows = uow.session.execute(select(Enrollment.id, Enrollment.state).where(
            Enrollment.session_id == session_id)).all()
        events = uow.session.execute(
            select(EnrollmentEvent.enrollment_id, EnrollmentEvent.from_state,
                   EnrollmentEvent.to_state)
            .join(Enrollment, Enrollment.id == EnrollmentEvent.enrollment_id)
            .where(Enrollment.session_id == session_id).order_by(EnrollmentEvent.id)).all()
    states = Counter(str(state) for _id, state in rows)
    assert states == {S.ENROLLED: CAPACITY, S.WAITLISTED: ATTEMPTS - CAPACITY}, states
    per_enrollment = Counter(enrollment_id for enrollment_id, _f, _t in events)
    assert set(per_enrollment) == {i for i, _s in rows}, "an enrollment without history"
    assert set(per_enrollment.values()) == {1}, per_enrollment.most_common(3)
    final = dict(rows)
    assert all(f is None and t == final[i] for i, f, t in events), events[:5]
    held = peak = 0
    for _id, _from, to in events:  # in the order written, which is the lock order
        held += to in SEAT_HOLDING
        peak = max(peak, held)
    assert peak == CAPACITY


def test_200_attempts_on_10_seats_round_after_round(app: App) -> None:
    people, session_ids = _prepare(app, ROUNDS)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    tasks = [context.Queue() for _ in range(PROCESSES)]
    results = context.Queue()
    workers = [context.Process(target=_worker, args=(app.settings, barrier, tasks[n], results),
                               daemon=True) for n in range(PROCESSES)]
    for worker in workers:
        worker.start()
    try:
        rng = random.Random(5)
        for round_number, session_id in enumerate(session_ids):
            shuffled = rng.sample(people, len(people))
            for n in range(PROCESSES):
                tasks[n].put((session_id, shuffled[n::PROCESSES]))
            outcomes: list[tuple[str, int | None]] = []
            for _ in range(PROCESSES):
                try:
                    outcomes += results.get(timeout=ROUND_TIMEOUT_S * 2)
                except queue.Empty:
                    raise AssertionError(f"round {round_number}: a worker did not answer "
                                         f"(alive: {[w.is_alive() for w in workers]})") from None
            errors = [state for state, _free in outcomes if state.startswith("error:")]
            assert not errors, f"round {round_number}: {errors[:3]}"
            _check_round(app, session_id, outcomes)
    finally:
        for n in range(PROCESSES):
            tasks[n].put(None)
        for worker in workers:
            worker.join(timeout=20)
            if worker.is_alive():
                worker.kill()
                worker.join()
