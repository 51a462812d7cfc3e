"""How a unit of work that raised ends (core.db): rolled back whenever it wrote anything, and —
with psycopg — committed when it wrote nothing, so that the connection keeps its prepared
statements (psycopg deallocates all of them at any ROLLBACK; bench/load/statements measured
planning at a quarter of the server's CPU per transaction before).

The property that matters most is the first: whatever a failed unit of work wrote or had
pending is gone, on both databases, whichever way it wrote it (ORM pending, ORM flushed, Core,
a pipeline). Real databases: SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text, update

from core import clock, db
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import AuditEvent, Enrollment, Officer, TrainingSession
from core.services import authority, enrollment
from tests.conftest import World


def _audit_rows(world: World) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def _capacity(world: World) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(TrainingSession.capacity).where(
            TrainingSession.id == world.sessions["DIG-101/a"])) or 0


def _audit_core(uow: UnitOfWork) -> None:
    uow.session.connection().execute(insert(AuditEvent.__table__).values(
        at=clock.now(), actor="test", action="test.write", subject_type="test", details={}))


def _audit_pipelined(uow: UnitOfWork) -> None:
    connection = uow.session.connection()
    with db.pipelined(connection):
        connection.execute(insert(AuditEvent.__table__).inline(), [dict(
            at=clock.now(), actor="test", action="test.write", subject_type="test",
            details={})])


def _audit_pending(uow: UnitOfWork) -> None:
    uow.session.add(AuditEvent(actor="test", action="test.write", subject_type="test",
                               details={}))


def _audit_flushed(uow: UnitOfWork) -> None:
    _audit_pending(uow)
    uow.session.flush()


def _capacity_changed(uow: UnitOfWork, world: World) -> None:
    uow.session.connection().execute(update(TrainingSession.__table__).where(
        TrainingSession.__table__.c.id == world.sessions["DIG-101/a"]).values(capacity=99))


def _capacity_changed_orm(uow: UnitOfWork, world: World) -> None:
    found = uow.session.get_one(TrainingSession, world.sessions["DIG-101/a"])
    found.capacity = 99  # dirty, not flushed


WRITES: dict[str, Callable[..., None]] = {
    "core insert": lambda uow, _w: _audit_core(uow),
    "pipelined insert": lambda uow, _w: _audit_pipelined(uow),
    "orm pending": lambda uow, _w: _audit_pending(uow),
    "orm flushed": lambda uow, _w: _audit_flushed(uow),
    "core update": _capacity_changed,
    "orm dirty": _capacity_changed_orm,
}


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("readonly", [False, True])
def test_whatever_a_failed_unit_wrote_is_gone(world: World, write: str, readonly: bool) -> None:
    audits, capacity = _audit_rows(world), _capacity(world)
    with pytest.raises(DomainError), world.app.unit_of_work(readonly=readonly) as uow:
        uow.session.scalar(select(Officer.id))  # a read first, as a refusal does
        WRITES[write](uow, world)
        raise DomainError("already_enrolled")
    assert (_audit_rows(world), _capacity(world)) == (audits, capacity)


def test_a_failed_unit_that_wrote_nothing_changes_nothing(world: World) -> None:
    audits = _audit_rows(world)
    with pytest.raises(DomainError), world.app.unit_of_work() as uow:
        uow.session.execute(update(TrainingSession).where(TrainingSession.id == -1)
                            .values(capacity=1))  # matched no row: wrote nothing
        uow.session.scalar(select(TrainingSession.id).where(
            TrainingSession.id == world.sessions["DIG-101/a"]).with_for_update())
        raise DomainError("already_enrolled")
    assert _audit_rows(world) == audits
    with world.app.unit_of_work() as uow:  # the row lock is gone with the transaction
        _capacity_changed(uow, world)
    assert _capacity(world) == 99


def _enroll(world: World, person: str) -> Any:
    with world.app.unit_of_work() as uow:
        officer = uow.session.scalar(select(Officer.id).where(Officer.email == world.officer))
        auth = authority.load(uow, officer)
        assert auth is not None
        return enrollment.enroll(uow, auth, world.people[person], world.sessions["DIG-101/a"])


def _prepared(world: World) -> set[str]:
    """The server's prepared statements on the pool's one connection (PostgreSQL)."""
    with world.app.unit_of_work(readonly=True) as uow:
        return {" ".join(row.split())[:60] for row in uow.session.scalars(
            text("SELECT statement FROM pg_prepared_statements"))}


def test_a_refused_enrollment_keeps_the_prepared_statements(world: World) -> None:
    """Six enrollments prepare the seat UPDATE (psycopg prepares a statement at its fifth
    run); a refusal (already enrolled) must leave it prepared, and nothing written."""
    people = ["dupont_marie", "dupont_jean", "peeters", "vandenbossche", "muller",
              "lambrechts"]
    for person in people:
        assert _enroll(world, person).enrollment.state == "enrolled"
    with world.app.unit_of_work(readonly=True) as uow:
        enrolled = uow.session.scalar(select(func.count()).select_from(Enrollment))
    audits = _audit_rows(world)
    if world.app.db.is_sqlite:
        before: set[str] = set()
    else:
        before = _prepared(world)
        assert any(s.startswith("UPDATE training_sessions SET seats_taken") for s in before)
    with pytest.raises(DomainError) as refused:
        _enroll(world, "peeters")
    assert refused.value.code == "already_enrolled"
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Enrollment)) == enrolled
    assert _audit_rows(world) == audits
    if not world.app.db.is_sqlite:
        assert before <= _prepared(world)
    assert _enroll(world, "claes").enrollment.state == "enrolled"  # and it goes on
