"""PostgreSQL restarts under load: the work goes on afterwards and nothing is applied twice.

A dedicated server (not the session one: other tests must not see it go away) is restarted
(``pg_ctl stop -m fast`` then start) while

- two worker processes enroll and unenroll their own people in one small session; a transaction
  caught by the restart must fail as ``core.db.DatabaseError`` and is retried by the worker;
  afterwards every planned step is in the history exactly once, and the seats never exceeded
  the capacity;
- `serve` receives a stream of reply mails (OK) on its SMTP listener, sent with smtplib by a
  client that retries on 4xx as an MTA does; afterwards every request is approved exactly once
  with one confirmation, and serve's console log (serve.out) says in one clear line that the
  database was unavailable.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import random
import re
import signal
import smtplib
import subprocess
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from core import clock, nrn
from core.app import App
from core.config import Settings
from core.db import DatabaseError
from core.errors import DomainError
from core.models import (
    SEAT_HOLDING,
    AuditEvent,
    Enrollment,
    EnrollmentEvent,
    EnrollmentState,
    Officer,
    Organisation,
    OutboxMessage,
    RegistrationRequest,
    RequestState,
    Training,
    TrainingSession,
)
from core.services import enrollment
from core.services.access import NewOfficer, add_officer, officer_by_email
from core.services.collaborators import NewCollaborator, add_collaborator
from core.services.enrollment import TRANSITIONS
from tests.conftest import NOW, World
from tests.integration.test_mail import SOPHIE, reply, submit, token_of
from tests.support.postgres import PostgresServer, postgres
from tests.support.server import free_port, start

S = EnrollmentState


@pytest.fixture(scope="module")
def restartable() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this module's own, free to be restarted."""
    with postgres() as server:
        yield server


_databases = itertools.count(1)


@pytest.fixture
def database_url(restartable: PostgresServer) -> str:
    """Overrides conftest's: `app` and `world` live on the dedicated server (app migrates)."""
    return restartable.create_database(f"itma_restart_{next(_databases)}")


def _restart(server: PostgresServer) -> float:
    started = time.monotonic()
    server.restart()
    return time.monotonic() - started


# -- two processes enrolling and unenrolling ---------------------------------------------------

WORKERS = 2
PEOPLE_EACH = 6
CAPACITY = 7  # fewer seats than people: enrolls waitlist, unenrolls promote (offers)
STEPS_BEFORE = 40  # steps each worker completes before the restart
STEPS_AFTER = 40  # and after it
DEADLINE_S = 90


def _officer(n: int) -> str:
    return f"worker{n}@bosa.example"


def _prepare(app: App) -> tuple[int, list[list[int]]]:
    rng = random.Random(3)
    with app.unit_of_work() as uow:
        uow.session.add(Organisation(code="BOSA", names={"fr": "BOSA"}))
        uow.session.flush()
        for n in range(WORKERS):
            add_officer(uow, NewOfficer(_officer(n), f"Worker {n}", nrn.generate(rng), ["BOSA"]))
        session = TrainingSession(training=Training(code="PG-RST", titles={"fr": "Redémarrage"}),
                                  starts_on=date(2027, 9, 1), ends_on=date(2027, 9, 1),
                                  place="Bruxelles", capacity=CAPACITY)
        uow.session.add(session)
        people = [[add_collaborator(uow, None, NewCollaborator(
            nrn.generate(rng), f"Worker{n}Person{i}", "Test", None, "fr", "BOSA")).id
            for i in range(PEOPLE_EACH)] for n in range(WORKERS)]
        uow.session.flush()
        return session.id, people


def _step(app: App, officer_email: str, session_id: int, person: int, enroll: bool) -> str:
    """One planned step; 'done', or 'was_done' when a retry finds it already applied."""
    try:
        with app.unit_of_work() as uow:
            officer = officer_by_email(uow, officer_email)
            if enroll:
                enrollment.enroll(uow, officer, person, session_id)
            else:
                row = uow.session.scalar(select(Enrollment).where(
                    Enrollment.session_id == session_id, Enrollment.collaborator_id == person))
                if row is None:
                    raise DomainError("unknown_enrollment")
                enrollment.unenroll(uow, officer, row.id)
        return "done"
    except DomainError as exc:
        if exc.code.startswith("already_") or exc.code == "not_enrolled":
            return "was_done"  # only possible when a failed-looking attempt had committed
        raise


def _churn(settings: Settings, n: int, session_id: int, people: list[int], progress: Any,
           stop: Any, results: Any) -> None:
    """Enroll, unenroll, enroll... each of its people in turn, until told to stop.

    A step that fails with DatabaseError is retried until it goes through; anything else that
    escapes is recorded as unexpected (and retried too, so the test reports instead of hanging).
    """
    clock.set_clock(lambda: NOW)
    app = App(settings)
    steps: list[tuple[int, bool, str]] = []
    database_errors: list[str] = []
    unexpected: list[str] = []
    enrolled = dict.fromkeys(people, False)
    try:
        while not stop.is_set():
            person = people[len(steps) % len(people)]
            wanted = not enrolled[person]
            result = None
            while result is None and not stop.is_set():
                try:
                    result = _step(app, _officer(n), session_id, person, wanted)
                except DatabaseError as exc:
                    database_errors.append(str(exc)[:300])
                    time.sleep(0.05)
                except Exception as exc:
                    unexpected.append(f"{type(exc).__module__}.{type(exc).__name__}: "
                                      f"{str(exc).splitlines()[0][:300]}")
                    time.sleep(0.05)
            if result is None:
                break  # told to stop while the step kept failing: the test has failed already
            steps.append((person, wanted, result))
            enrolled[person] = wanted
            progress[n] = len(steps)
    finally:
        app.close()
        results.put({"worker": n, "steps": steps, "database_errors": database_errors,
                     "unexpected": unexpected})


def _wait_steps(progress: Any, at_least: list[int], processes: list[Any]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while any(progress[n] < at_least[n] for n in range(WORKERS)):
        assert all(p.is_alive() for p in processes), "a worker died"
        assert time.monotonic() < deadline, (list(progress), at_least)
        time.sleep(0.02)


def _collect(results: Any, processes: list[Any]) -> list[dict[str, Any]]:
    """Every worker's report; a worker that died without one is missing (the test fails)."""
    reports: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(reports) < len(processes) and time.monotonic() < deadline:
        try:
            reports.append(results.get(timeout=0.5))
        except queue.Empty:
            if not any(p.is_alive() for p in processes):
                break
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    return reports


def _check_history(app: App, session_id: int, reports: list[dict[str, Any]]) -> None:
    with app.unit_of_work(readonly=True) as uow:
        officers = {o.email: o.id for o in uow.session.scalars(select(Officer))}
        rows = {e.collaborator_id: (e.id, e.state) for e in uow.session.scalars(
            select(Enrollment).where(Enrollment.session_id == session_id))}
        events = uow.session.execute(
            select(EnrollmentEvent.enrollment_id, EnrollmentEvent.from_state,
                   EnrollmentEvent.to_state, EnrollmentEvent.officer_id,
                   EnrollmentEvent.reason).order_by(EnrollmentEvent.id)).all()
    by_enrollment: dict[int, list[Any]] = defaultdict(list)
    held = peak = 0
    for event in events:
        enrollment_id, from_state, to_state, _officer_id, _reason = event
        chain = by_enrollment[enrollment_id]
        expected_from = chain[-1].to_state if chain else None
        assert from_state == expected_from, f"broken history of {enrollment_id}: {event}"
        assert to_state in TRANSITIONS[from_state], event
        chain.append(event)
        held += (to_state in SEAT_HOLDING) - (from_state in SEAT_HOLDING)
        peak = max(peak, held)
    assert peak <= CAPACITY, peak
    assert sum(state in SEAT_HOLDING for _id, state in rows.values()) == held
    for enrollment_id, state in rows.values():
        assert by_enrollment[enrollment_id][-1].to_state == state
    for report in reports:
        officer_id = officers[_officer(report["worker"])]
        planned: dict[int, list[bool]] = defaultdict(list)
        for person, wanted, _result in report["steps"]:
            planned[person].append(wanted)
        for person, wants in planned.items():
            enrollment_id, _state = rows[person]
            # the worker's own steps (not the promotions its unenrolls caused): each once
            own = [to for _e, _f, to, officer, reason in by_enrollment[enrollment_id]
                   if officer == officer_id and reason is None]
            assert [to != S.CANCELLED for to in own] == wants, (person, own, wants)


def test_enrolling_processes_survive_a_restart(app: App, restartable: PostgresServer) -> None:
    session_id, people = _prepare(app)
    context = multiprocessing.get_context("spawn")
    progress = context.Array("i", WORKERS)
    stop = context.Event()
    results = context.Queue()
    processes = [context.Process(target=_churn, args=(
        app.settings, n, session_id, people[n], progress, stop, results), daemon=True)
        for n in range(WORKERS)]
    for process in processes:
        process.start()
    try:
        _wait_steps(progress, [STEPS_BEFORE] * WORKERS, processes)
        before = list(progress)
        downtime = _restart(restartable)
        _wait_steps(progress, [b + STEPS_AFTER for b in before], processes)
    finally:
        stop.set()
        reports = _collect(results, processes)
    assert len(reports) == WORKERS, f"a worker died: {[p.exitcode for p in processes]}"
    unexpected = [u for r in reports for u in r["unexpected"]]
    assert not unexpected, unexpected[:5]
    errors = [e for r in reports for e in r["database_errors"]]
    assert errors, f"the restart ({downtime:.1f} s) interrupted no transaction"
    _check_history(app, session_id, reports)


# -- serve taking reply mails on its SMTP listener --------------------------------------------

REPLIES = 60
RESTART_AFTER = 20  # replies answered before the restart
MAIL_DEADLINE_S = 60


@dataclass
class Feeder:
    """Sends each reply like an MTA: a 4xx answer or a refused connection means try again."""

    port: int
    mails: list[bytes]
    answers: list[str] = field(default_factory=list)  # the final answer to each mail
    temporary: list[str] = field(default_factory=list)  # every 4xx or connection failure
    crashed: BaseException | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            for raw in self.mails:
                if self.stop.is_set():
                    return
                self.answers.append(self._deliver(raw))
        except BaseException as exc:
            self.crashed = exc

    def _deliver(self, raw: bytes) -> str:
        deadline = time.monotonic() + MAIL_DEADLINE_S
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
                    smtp.ehlo()
                    smtp.mail(SOPHIE)
                    code, text = smtp.rcpt(_recipient(raw))
                    if code == 250:
                        code, text = smtp.data(raw)
            except smtplib.SMTPResponseException as exc:
                code, text = exc.smtp_code, exc.smtp_error
            except (OSError, smtplib.SMTPException) as exc:
                code, text = 0, repr(exc).encode()
            if 200 <= code < 300:
                return text.decode()
            if code >= 500 or time.monotonic() > deadline or self.stop.is_set():
                return f"{code} {text.decode()}"
            self.temporary.append(f"{code} {text.decode()}")
            time.sleep(0.1)


def _recipient(raw: bytes) -> str:
    found = re.search(rb"^To: (reply\+[a-z2-7]{26}@[\w.]+)", raw, re.MULTILINE)
    assert found is not None
    return found.group(1).decode()


def _approvals(world: World) -> Counter[int | None]:
    with world.app.unit_of_work(readonly=True) as uow:
        return Counter(uow.session.scalars(select(AuditEvent.subject_id).where(
            AuditEvent.action == "request.approved")))


def test_serve_keeps_taking_replies_across_a_restart(world: World,
                                                      restartable: PostgresServer) -> None:
    ids = [submit(world, wants_session=False, external_id=f"restart-{n}")
           for n in range(REPLIES)]
    mails = [reply(world, token_of(world, SOPHIE, request_id), "OK",
                   message_id=f"<restart-{n}@bosa.example>") for n, request_id in enumerate(ids)]
    settings = world.app.settings
    smtp_port = free_port()
    process, base = start({
        "ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
        "ITMA_SECRET_KEY": settings.secret_key.decode(),
        "ITMA_SMTP_LISTEN": f"127.0.0.1:{smtp_port}"})
    feeder = Feeder(smtp_port, mails)
    thread = threading.Thread(target=feeder.run, daemon=True)
    try:
        thread.start()
        deadline = time.monotonic() + MAIL_DEADLINE_S
        while len(feeder.answers) < RESTART_AFTER:
            assert thread.is_alive() and process.poll() is None, feeder
            assert time.monotonic() < deadline and len(feeder.temporary) < 50, feeder
            time.sleep(0.01)
        answered_before = len(feeder.answers)
        downtime = _restart(restartable)
        thread.join(timeout=MAIL_DEADLINE_S * 2)
        assert not thread.is_alive() and feeder.crashed is None, feeder.crashed
        assert answered_before < REPLIES, "the stream ended before the restart: raise REPLIES"
        with urllib.request.urlopen(base + "/healthz", timeout=5) as answer:
            assert answer.status == 200
        assert process.poll() is None, "serve died"
    finally:
        feeder.stop.set()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log = (settings.home / "serve.out").read_text(errors="replace")
    # the work went on: every mail finally accepted, every request approved exactly once
    outcomes = Counter(answer.split()[-1] for answer in feeder.answers)
    assert len(feeder.answers) == REPLIES and set(outcomes) <= {"approved", "duplicate"}, (
        outcomes, feeder.answers[-3:])
    assert feeder.temporary, f"the restart ({downtime:.1f} s) refused no mail: nothing tested"
    approvals = _approvals(world)
    assert sorted(approvals) == sorted(ids) and set(approvals.values()) == {1}, approvals
    with world.app.unit_of_work(readonly=True) as uow:
        states = Counter(uow.session.scalars(select(RegistrationRequest.state)))
        done = Counter(uow.session.scalars(select(OutboxMessage.to_address).where(
            OutboxMessage.template == "reply_done")))
    assert states == {RequestState.APPROVED: REPLIES}, states
    assert done == {SOPHIE: REPLIES}, done  # one confirmation per reply, none twice
    # and the console said what happened, in one line, not a traceback
    assert "Traceback" not in log, log[-2000:]
    lines = [line for line in log.splitlines()
             if re.search(r"database", line, re.IGNORECASE)
             and re.search(r"unavailable|unreachable|connection|terminat|refused|lost",
                           line, re.IGNORECASE)]
    assert lines, ("serve.out has no line saying the database was unavailable; it has:\n"
                   + log[-2000:])
