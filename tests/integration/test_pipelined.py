"""core.db.pipelined: the history, audit and mail rows of a change sent in one round trip on
PostgreSQL. A failure the server reports for one of them arrives only when the pipeline is
synced, outside SQLAlchemy's own error wrapping; these tests make the server refuse or vanish
there and check that callers see what they always saw: a SQLAlchemy error, the unit of work
rolled back whole, the engine usable again at once.

Real parts: the database (SQLite and PostgreSQL), a real trigger that refuses the audit row, a
real ``pg_terminate_backend`` of the connection's server process while the rows are in flight.
On SQLite there is no pipeline (a statement is a call into the library): the same refusal must
surface the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from core import db
from core.db import DatabaseError
from core.models import AuditEvent, Enrollment, Officer, TrainingSession
from core.services import authority, enrollment
from tests.conftest import World


def _enroll(world: World, person: str, session: str = "DIG-101/a") -> enrollment.Outcome:
    with world.app.unit_of_work() as uow:
        officer = uow.session.scalar(select(Officer.id).where(Officer.email == world.officer))
        auth = authority.load(uow, officer)
        assert auth is not None
        return enrollment.enroll(uow, auth, world.people[person], world.sessions[session])


def _state(world: World, session: str = "DIG-101/a") -> tuple[int, int, int]:
    """(enrollments, seats taken, audit rows) of the session, as committed."""
    with world.app.unit_of_work(readonly=True) as uow:
        sid = world.sessions[session]
        return (uow.session.scalar(select(func.count()).select_from(Enrollment)
                                   .where(Enrollment.session_id == sid)) or 0,
                uow.session.scalar(select(TrainingSession.seats_taken)
                                   .where(TrainingSession.id == sid)) or 0,
                uow.session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


# The pipeline holds the history, then the audit, then the mail: a refusal in the middle shows
# when the driver reads the next statement's answer, one in the last only when the pipeline is
# synced at the end of the block — the path SQLAlchemy does not wrap by itself.
TABLES = pytest.mark.parametrize("table", ["audit_events", "outbox_messages"])


@contextmanager
def refused(world: World, table: str) -> Iterator[None]:
    """A real trigger that refuses every new row of the table."""
    with world.app.db.engine.begin() as connection:
        if world.app.db.is_sqlite:
            connection.exec_driver_sql(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END")
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$")
            connection.exec_driver_sql(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW "
                "EXECUTE FUNCTION refuse()")
    try:
        yield
    finally:
        with world.app.db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER refuse" if world.app.db.is_sqlite
                                       else f"DROP TRIGGER refuse ON {table}")
            if not world.app.db.is_sqlite:
                connection.exec_driver_sql("DROP FUNCTION refuse()")


@TABLES
def test_a_refused_row_in_the_pipeline_rolls_the_whole_change_back(world: World,
                                                                    table: str) -> None:
    seen: list[Any] = []

    def note(conn: Any, *_args: Any) -> None:
        seen.append(conn.info.get(db.PIPELINE_KEY))

    before = _state(world)
    event.listen(world.app.db.engine, "before_cursor_execute", note)
    try:
        with refused(world, table), pytest.raises(DBAPIError) as raised:
            _enroll(world, "peeters")
    finally:
        event.remove(world.app.db.engine, "before_cursor_execute", note)
    assert "refused" in str(raised.value.orig)
    # the rows went in a pipeline on PostgreSQL, and as plain statements on SQLite
    in_pipeline = [serial for serial in seen if serial is not None]
    assert (len(in_pipeline) >= 1) is (not world.app.db.is_sqlite)
    assert _state(world) == before  # no enrollment, no seat, no audit row: nothing half-done
    done = _enroll(world, "peeters")  # the same engine, at once
    assert done.enrollment.state == "enrolled"
    assert _state(world)[:2] == (before[0] + 1, before[1] + 1)


@TABLES
def test_the_server_gone_during_the_pipeline_is_a_database_error_and_the_pool_recovers(
        world: World, table: str) -> None:
    """On PostgreSQL the connection's server process is terminated just as the row is
    queued; on SQLite (no server, no pipeline) the engine raises the OperationalError a dying
    disk would give at the same point. Either way the caller gets core.db's DatabaseError, as
    for any lost connection, nothing is written, and the next unit of work succeeds."""
    url = make_url(world.app.settings.database_url)
    killed: list[int] = []

    def kill(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if killed or not statement.startswith(f"INSERT INTO {table}"):
            return
        killed.append(1)
        if world.app.db.is_sqlite:
            from sqlalchemy.exc import OperationalError
            raise OperationalError(statement, {}, Exception("disk I/O error"))
        assert conn.info.get(db.PIPELINE_KEY) is not None  # it is in flight in the pipeline
        pid = conn.connection.dbapi_connection.info.backend_pid
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

    before = _state(world)
    event.listen(world.app.db.engine, "before_cursor_execute", kill)
    try:
        with pytest.raises(DatabaseError):
            _enroll(world, "peeters")
    finally:
        event.remove(world.app.db.engine, "before_cursor_execute", kill)
    assert killed == [1]
    assert _state(world) == before
    done = _enroll(world, "peeters")
    assert done.enrollment.state == "enrolled"
