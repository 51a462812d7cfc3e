"""Round trips to the database per use case, counted, so a regression that adds one fails.

What is counted, on the App's engine (core.db), from the connection's checkout to its commit:

* every statement the driver sends (SQLAlchemy ``before_cursor_execute``) — on SQLite the
  ``BEGIN IMMEDIATE`` core.db emits is one of them — except that the statements of one
  pipeline (core.db.pipelined, PostgreSQL) count once: they are sent and answered together;
* on PostgreSQL the ``BEGIN`` psycopg sends by itself before the first statement of a
  transaction (a round trip of its own: SQLAlchemy's ``begin`` event), and the pool's
  pre-ping (``SELECT 1`` on every checkout, ``pool_pre_ping``);
* the ``COMMIT`` (SQLAlchemy's ``commit`` event; one round trip on both databases).

``service`` is the round trips of the use case's own call (``enrollment.enroll``, ``.unenroll``,
``requests.approve``), the officer's authorisation already loaded (``requests.submit``, which
acts for no officer: its statements less the BEGIN); ``unit`` is the whole unit
of work as the bench's workers run it: checkout, begin, the authorisation (one statement),
the service, commit.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, inspect, select

from core import clock, db, migrate
from core.app import App, UnitOfWork
from core.models import Enrollment, Officer, TrainingSession
from core.services import authority, enrollment, requests
from tests.conftest import NOW, World, make_nrn

# The ceilings (the targets: enroll ≤ 5, approve ≤ 6 round trips), for the service's
# own round trips and for the whole unit of work on each database, as measured when this test
# was last changed. On PostgreSQL the history, audit and mail rows of a change, which nobody
# reads back, go in one pipeline (core.db.pipelined): one round trip for the three INSERTs, so
# enroll is 3 (the seat, the enrollment, the rows) and approve 5 (decide, the new person, the
# seat, the enrollment, the rows). On SQLite a statement is a call into the library in this
# process, not a round trip; its ceilings count statements: enroll 5, approve 7 (the same seven
# writes, one statement per table).
# submit (not a target, reported): the duplicate check, the organisation, the request, the
# wish's training and session, the officers, the Teams channels, then the audit row, the
# officers' reply tokens and the mails and chat messages, one multi-row INSERT each (in one
# pipeline on PostgreSQL) — 23 statements before issue 16.
SERVICE = {"sqlite": {"enroll": 5, "unenroll": 6, "approve": 7, "submit": 10},
           "postgresql": {"enroll": 3, "unenroll": 4, "approve": 5, "submit": 8}}
UNIT = {"sqlite": {"enroll": 8, "unenroll": 9, "approve": 10, "submit": 12},
        "postgresql": {"enroll": 7, "unenroll": 8, "approve": 9, "submit": 11}}


@dataclass
class Counter:
    """Round trips seen on one engine since the last ``reset``, by kind."""

    statements: list[str] = field(default_factory=list)
    begins: int = 0
    commits: int = 0
    pings: int = 0
    pipeline: int | None = None  # the serial of the pipeline the last statement went in

    def reset(self) -> None:
        self.statements.clear()
        self.begins = self.commits = self.pings = 0

    @property
    def total(self) -> int:
        return len(self.statements) + self.begins + self.commits + self.pings


@contextmanager
def counting(app: App) -> Iterator[Counter]:
    engine, counter = app.db.engine, Counter()
    implicit_begin = not app.db.is_sqlite  # SQLite's BEGIN is a statement, counted as such

    def on_statement(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        text = " ".join(statement.split())[:90]
        pipeline = conn.info.get(db.PIPELINE_KEY)
        if pipeline is None:
            counter.statements.append(text)
        elif pipeline == counter.pipeline:  # sent with the previous one: no round trip more
            counter.statements[-1] += f"\n      + {text}"
        else:
            counter.pipeline = pipeline
            counter.statements.append(f"pipeline: {text}")

    def on_begin(_conn: Any) -> None:
        counter.begins += implicit_begin

    def on_commit(_conn: Any) -> None:
        counter.commits += 1

    def on_checkout(*_args: Any) -> None:
        counter.pings += bool(engine.pool._pre_ping)  # SQLAlchemy's own flag

    hooks: list[tuple[Any, str, Callable[..., None]]] = [
        (engine, "before_cursor_execute", on_statement), (engine, "begin", on_begin),
        (engine, "commit", on_commit), (engine.pool, "checkout", on_checkout)]
    for target, name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield counter
    finally:
        for target, name, hook in hooks:
            event.remove(target, name, hook)


def _officer_id(world: World) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        found = uow.session.scalar(select(Officer.id).where(Officer.email == world.officer))
        assert found is not None
        return found


def _unit(app: App, counter: Counter, officer_id: int,
          use: Callable[[UnitOfWork, authority.Authority], Any]) -> tuple[int, int, Any]:
    """(service statements, unit round trips, result) of one unit of work; the statements
    stay in ``counter`` (for the assertion's message)."""
    counter.reset()
    with app.unit_of_work() as uow:
        auth = authority.load(uow, officer_id)
        assert auth is not None
        before = len(counter.statements)
        result = use(uow, auth)
        service = len(counter.statements) - before
    return service, counter.total, result


def _request(world: World, serial: int, start: str, session: str = "DIG-101/a") -> int:
    rng = random.Random(serial)
    with world.app.unit_of_work() as uow:
        found, _created = requests.submit(uow, {
            "external_id": f"round-trips-{serial}",
            "wants": {"kind": "session", "training_code": session.split("/")[0],
                      "session_start": start},
            "person": {"surname": "Mertens", "given_names": f"Julie{serial}", "language": "fr",
                       "email": f"julie{serial}@example.be", "organisation": "BOSA",
                       "national_register_number": make_nrn(rng, 1980 + serial)}})
        return found.id


def _start(world: World, session: str) -> str:
    with world.app.unit_of_work(readonly=True) as uow:
        found = uow.session.get(TrainingSession, world.sessions[session])
        assert found is not None
        return found.starts_on.isoformat()


SEEN: dict[str, list[str]] = {}


def measure(world: World) -> dict[str, tuple[int, int]]:
    app, officer_id = world.app, _officer_id(world)
    dig = world.sessions["DIG-101/a"]
    found: dict[str, tuple[int, int]] = {}
    with counting(app) as counter:
        _unit(app, counter, officer_id, lambda uow, a: enrollment.enroll(
            uow, a, world.people["dupont_marie"], dig))  # warm: caches, a live connection
        service, unit, outcome = _unit(app, counter, officer_id, lambda uow, a: enrollment.enroll(
            uow, a, world.people["peeters"], dig))
        assert outcome.enrollment.state == "enrolled" and outcome.free == 10
        found["enroll"] = (service, unit)
        SEEN["enroll"] = list(counter.statements)
        service, unit, outcome = _unit(app, counter, officer_id, lambda uow, a: enrollment.unenroll(
            uow, a, outcome.enrollment.id))
        assert outcome.enrollment.state == "cancelled" and outcome.free == 11
        found["unenroll"] = (service, unit)
        SEEN["unenroll"] = list(counter.statements)
        start = _start(world, "DIG-101/a")
        first = _request(world, 1, start)
        counter.reset()
        second = _request(world, 2, start)
        found["submit"] = (len(counter.statements) - world.app.db.is_sqlite, counter.total)
        SEEN["submit"] = list(counter.statements)
        _unit(app, counter, officer_id, lambda uow, a: requests.approve(uow, a, first))
        service, unit, (_request_row, outcome) = _unit(
            app, counter, officer_id, lambda uow, a: requests.approve(uow, a, second))
        assert outcome is not None and outcome.enrollment.state == "enrolled"
        found["approve"] = (service, unit)
        SEEN["approve"] = list(counter.statements)
    return found


def test_round_trips_per_use_case(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    database = "sqlite" if world.app.db.is_sqlite else "postgresql"
    found = measure(world)
    with capsys.disabled():
        print(f"\n{database}: " + ", ".join(f"{name} {service} in the service / {unit} in all"
                                            for name, (service, unit) in found.items()))
        if os.environ.get("ITMA_SHOW_ROUND_TRIPS"):
            for name, statements in SEEN.items():
                print(f"  {name}:", *statements, sep="\n    ")
    for name, (service, unit) in found.items():
        assert service <= SERVICE[database][name], (name, service, SEEN[name])
        assert unit <= UNIT[database][name], (name, unit, SEEN[name])


def test_the_seat_counter_equals_the_seats_held(world: World) -> None:
    """After the fast paths and the ORM paths (waitlist, offer, lapsed holds) alike."""
    measure(world)
    officer_id, full = _officer_id(world), world.sessions["BOSA-101/a"]  # 3 seats

    def enroll(person: str) -> enrollment.Outcome:
        with world.app.unit_of_work() as uow:
            auth = authority.load(uow, officer_id)
            assert auth is not None
            return enrollment.enroll(uow, auth, world.people[person], full)

    made = [enroll(p) for p in ("dupont_jean", "vandenbossche", "muller", "lambrechts",
                                "claes")]
    assert [str(m.enrollment.state) for m in made] == ["enrolled"] * 3 + ["waitlisted"] * 2
    _check_counter(world)
    with world.app.unit_of_work() as uow:  # the fast path: a seat freed, Lambrechts offered it
        auth = authority.load(uow, officer_id)
        assert auth is not None
        outcome = enrollment.unenroll(uow, auth, made[0].enrollment.id)
    assert outcome.promoted is not None and outcome.free == 0
    _check_counter(world)
    clock.set_clock(lambda: NOW + enrollment.OFFER_PERIOD + timedelta(minutes=1))
    enroll("janssens")  # the ORM path: the lapsed offer expires, Claes is offered the seat
    _check_counter(world)


def _check_counter(world: World) -> None:
    with world.app.unit_of_work(readonly=True) as uow:
        counted = dict(uow.session.execute(
            select(Enrollment.session_id, func.count()).where(
                Enrollment.state.in_(("option", "enrolled", "offered")))
            .group_by(Enrollment.session_id)).all())
        kept = dict(uow.session.execute(
            select(TrainingSession.id, TrainingSession.seats_taken)).all())
    assert {k: v for k, v in kept.items() if v} == counted


def test_migration_0012_fills_the_counter_going_up_and_drops_it_going_down(
        world: World) -> None:
    measure(world)  # Dupont and two approved requests hold seats, Peeters cancelled
    migrate.downgrade(world.app.db, "0011")
    columns = {c["name"] for c in inspect(world.app.db.engine).get_columns("training_sessions")}
    assert "seats_taken" not in columns and "capacity" in columns
    migrate.upgrade(world.app.db)
    _check_counter(world)
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.sum(TrainingSession.seats_taken))) == 3
