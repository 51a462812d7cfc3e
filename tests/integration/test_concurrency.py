"""No overbooking under concurrency: 50 attempts on the last 5 seats, threads and processes."""

from __future__ import annotations

import multiprocessing
import random
import threading
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from core import nrn
from core.app import App
from core.config import Settings
from core.errors import DomainError
from core.models import Enrollment, EnrollmentState, Organisation, Training, TrainingSession
from core.services import enrollment
from core.services.access import NewOfficer, add_officer, officer_by_email
from core.services.collaborators import NewCollaborator, add_collaborator

ATTEMPTS = 50
LAST_SEATS = 5
ALREADY = 15
OFFICER = "officer@bosa.example"


def _prepare(app: App) -> tuple[int, list[int]]:
    rng = random.Random(11)
    with app.unit_of_work() as uow:
        org = Organisation(code="BOSA", names={"fr": "BOSA"})
        uow.session.add(org)
        uow.session.flush()
        officer = add_officer(uow, NewOfficer(OFFICER, "Ann Officer", nrn.generate(rng), ["BOSA"]))
        training = Training(code="BOSA-900", titles={"fr": "Rush"})
        session = TrainingSession(training=training, starts_on=date(2027, 5, 3),
                                  ends_on=date(2027, 5, 3), place="Bruxelles",
                                  capacity=ALREADY + LAST_SEATS)
        uow.session.add(session)
        people = [add_collaborator(uow, None, NewCollaborator(
            nrn.generate(rng), f"Person{i:03d}", "Test", None, "fr", "BOSA")).id
            for i in range(ALREADY + ATTEMPTS)]
        uow.session.flush()
        for person in people[:ALREADY]:
            enrollment.enroll(uow, officer, person, session.id)
        return session.id, people[ALREADY:]


def _attempt(app: App, session_id: int, person: int) -> str:
    try:
        with app.unit_of_work() as uow:
            officer = officer_by_email(uow, OFFICER)
            return str(enrollment.enroll(uow, officer, person, session_id).enrollment.state)
    except DomainError as exc:
        return f"refused:{exc.code}"


def _final_states(app: App, session_id: int) -> Counter[str]:
    with app.unit_of_work(readonly=True) as uow:
        return Counter(str(s) for s in uow.session.scalars(
            select(Enrollment.state).where(Enrollment.session_id == session_id)))


def _check(app: App, session_id: int, outcomes: list[str]) -> None:
    assert len(outcomes) == ATTEMPTS
    results = Counter(outcomes)
    assert results[EnrollmentState.ENROLLED] == LAST_SEATS, results
    assert results[EnrollmentState.WAITLISTED] + sum(
        n for k, n in results.items() if k.startswith("refused")) == ATTEMPTS - LAST_SEATS
    states = _final_states(app, session_id)
    assert states[EnrollmentState.ENROLLED] == ALREADY + LAST_SEATS, states


def test_threads_never_overbook(app: App) -> None:
    session_id, people = _prepare(app)
    outcomes: list[str] = []
    barrier = threading.Barrier(ATTEMPTS)

    def run(person: int) -> None:
        barrier.wait()
        outcomes.append(_attempt(app, session_id, person))

    threads = [threading.Thread(target=run, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    _check(app, session_id, outcomes)


def _worker(settings: Settings, session_id: int, people: list[int], start: object) -> list[str]:
    app = App(settings)
    start.wait()  # type: ignore[attr-defined]
    try:
        return [_attempt(app, session_id, person) for person in people]
    finally:
        app.close()


@pytest.mark.slow
def test_processes_never_overbook(app: App) -> None:
    session_id, people = _prepare(app)
    context = multiprocessing.get_context("spawn")
    processes = 4
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(processes) as pool:
            chunks = [people[i::processes] for i in range(processes)]
            pending = [pool.apply_async(_worker, (app.settings, session_id, chunk, start))
                       for chunk in chunks]
            start.set()
            outcomes = [o for result in pending for o in result.get(timeout=300)]
    _check(app, session_id, outcomes)
