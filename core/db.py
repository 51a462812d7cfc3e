"""Engine and unit of work. SQLite by default (WAL, foreign keys, busy timeout), any URL otherwise.

Write transactions on SQLite start with BEGIN IMMEDIATE, so a check-then-insert (seat count,
then enrollment) is never interleaved with another writer; on PostgreSQL the services take a
row lock (SELECT ... FOR UPDATE) for the same effect. SQLite has one writer at a time anyway:
threads of one process queue on a lock for it instead of SQLite's busy handler, which sleeps
in steps of up to 100 ms and would throttle a busy instance.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import Insert

from core import logs, metrics
from core.config import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseError(Exception):
    """The database cannot be used (unreachable, not migrated, …); the message says why."""


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


AUDIT_TABLE, OUTBOX_TABLE = "audit_events", "outbox_messages"


def _observe(engine: Engine) -> None:
    """Where every path meets, whatever writes the rows (ORM or Core, chat, mail, CLI, jobs):
    an outbox row gets the log id of the action that queues it (logs.OUTBOX_KEY in its facts),
    and the audit rows of a transaction are counted for /metrics once it commits — those of a
    savepoint rolled back are dropped with it."""

    @event.listens_for(engine, "before_execute")
    def _inserting(conn: Any, clause: Any, multiparams: Any, params: Any, _options: Any) -> None:
        if not isinstance(clause, Insert):
            return
        table = clause.table.name
        if table == OUTBOX_TABLE:
            request_id = logs.current()
            if request_id:
                for row in multiparams or [params]:
                    facts = row.get("context")
                    if isinstance(facts, dict) and logs.OUTBOX_KEY not in facts:
                        row["context"] = {**facts, logs.OUTBOX_KEY: request_id}
        elif table == AUDIT_TABLE and metrics.enabled():
            frames = conn.info.setdefault("itma_audited", [[]])
            frames[-1].extend((row.get("action", ""), row.get("details") or {})
                              for row in multiparams or [params])

    @event.listens_for(engine, "savepoint")
    def _savepoint(conn: Any, _name: Any) -> None:
        if metrics.enabled():
            conn.info.setdefault("itma_audited", [[]]).append([])

    @event.listens_for(engine, "release_savepoint")
    def _released(conn: Any, _name: Any, _context: Any) -> None:
        frames = conn.info.get("itma_audited")
        if frames and len(frames) > 1:
            frames[-2].extend(frames.pop())

    @event.listens_for(engine, "rollback_savepoint")
    def _rolled_back_savepoint(conn: Any, _name: Any, _context: Any) -> None:
        frames = conn.info.get("itma_audited")
        if frames and len(frames) > 1:
            frames.pop()

    @event.listens_for(engine, "commit")
    def _committed(conn: Any) -> None:
        frames = conn.info.pop("itma_audited", None)
        if frames:
            metrics.audited(fact for frame in frames for fact in frame)

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn: Any) -> None:
        if conn.invalidated:  # the server went away: what it held is gone with the connection
            return
        conn.info.pop("itma_audited", None)


_PIPELINES = itertools.count(1)
PIPELINE_KEY = "itma_pipeline"  # connection.info, inside a pipeline: its serial (tests count)


@contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """The statements executed inside, whose results nobody reads (plain INSERTs: history,
    audit, outbox), sent to the server together and answered together: one round trip instead
    of one each, on PostgreSQL through psycopg's pipeline mode. On SQLite a statement is a call
    into the library in this process, not a round trip: nothing to gather, they run as they are.

    Inside, a statement's result is not there yet: only statements without RETURNING (an
    ``insert(...).inline()``, or several rows at once) belong here. A failure the server reports
    for one of them arrives when the block ends; it is raised as SQLAlchemy raises any driver
    error (IntegrityError, OperationalError…, the connection invalidated when the server is
    gone), so every caller's handling stays the same."""
    raw = connection.connection.dbapi_connection
    if connection.dialect.driver != "psycopg" or raw is None:
        yield
        return
    dbapi, info = connection.dialect.loaded_dbapi, connection.info
    info[PIPELINE_KEY] = next(_PIPELINES)
    try:
        with raw.pipeline():  # type: ignore[attr-defined]
            yield
    except dbapi.Error as exc:  # raised at the sync, outside SQLAlchemy's own wrapping
        info.pop(PIPELINE_KEY, None)
        gone = connection.dialect.is_disconnect(exc, raw, None)
        if gone:
            connection.invalidate(exc)
        raise DBAPIError.instance(None, None, exc, dbapi.Error, hide_parameters=True,
                                  connection_invalidated=gone,
                                  dialect=connection.dialect) from exc
    finally:
        info.pop(PIPELINE_KEY, None)


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"ITMA_DATABASE_URL: not a SQLAlchemy URL: {exc}") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: a database error in a log line never carries the values it was writing
    # (a mail's words, a person's name), whichever path logs it.
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, hide_parameters=True,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            _sqlite_setup(engine)
        else:
            engine = create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
            if engine.dialect.driver == "psycopg":
                _watch_writes(engine)
    except NoSuchModuleError as exc:
        raise ConfigError(f"ITMA_DATABASE_URL: unsupported database driver ({exc})") from exc
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"ITMA_DATABASE_URL: the driver module {exc.name!r} is not installed") from exc
    _observe(engine)
    return engine


class Database:
    """Hands out units of work: one transaction each, committed on success, rolled back else."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        reader = self.engine.execution_options(sqlite_begin="DEFERRED")
        self._reader = sessionmaker(reader, expire_on_commit=False)
        self._writer_lock = threading.Lock() if self.is_sqlite else None

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Session]:
        factory = self._reader if readonly else self._writer
        lock = None if readonly else self._writer_lock
        try:
            with lock or nullcontext(), factory() as session:
                session.begin()
                try:
                    yield session
                except BaseException:
                    _end_failed(session)
                    raise
                try:
                    session.commit()
                except BaseException:
                    session.rollback()  # as SQLAlchemy's `with session.begin()` does
                    raise
        except OperationalError as exc:
            metrics.database_error(self.engine.dialect.name)
            raise DatabaseError(_describe(exc)) from exc

    def check_schema(self) -> None:
        """Fail with a clear line when `db upgrade` has not been run."""
        try:
            tables = set(inspect(self.engine).get_table_names())
        except OperationalError as exc:
            raise DatabaseError(_describe(exc)) from exc
        if "officers" not in tables or "alembic_version" not in tables:
            raise DatabaseError(
                "the database has no schema yet: run `itma-assistant db upgrade` first")

    def dispose(self) -> None:
        self.engine.dispose()


WROTE_KEY = "itma_wrote"  # connection.info: this transaction has sent a write


def _watch_writes(engine: Engine) -> None:
    """Mark the connection's transaction once it sends anything but a SELECT (an UPDATE or
    DELETE that matched no row wrote nothing; anything else counts, conservatively)."""

    @event.listens_for(engine, "begin")
    def _began(conn: Any) -> None:
        conn.info.pop(WROTE_KEY, None)

    @event.listens_for(engine, "after_cursor_execute")
    def _sent(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if WROTE_KEY in conn.info:
            return
        verb = statement[:7].upper()
        if verb.startswith("SELECT") or (verb.startswith(("UPDATE", "DELETE"))
                                         and cursor.rowcount == 0):
            return
        conn.info[WROTE_KEY] = True


def _end_failed(session: Session) -> None:
    """End a unit of work that raised (a refusal, mostly). With psycopg, one that wrote nothing
    ends with COMMIT: the database ends the same as after a ROLLBACK, and the connection keeps
    its prepared statements — psycopg deallocates every one of them at any ROLLBACK, and the
    next executions of each statement are parsed and planned again (bench/load/statements:
    planning was a quarter of the server's CPU per transaction, 210 µs against 5 once refused
    units committed). Anything else — a write sent or pending in the session, a transaction
    in error, a lost connection, SQLite — rolls back as before."""
    try:
        if _wrote_nothing(session):
            session.commit()
            return
    except Exception:  # the unit's own exception is the one to raise
        pass
    session.rollback()


def _wrote_nothing(session: Session) -> bool:
    if session.new or session.dirty or session.deleted or not session.in_transaction():
        return False
    connection = session.connection()
    if connection.dialect.driver != "psycopg" or connection.invalidated:
        return False
    raw = connection.connection.dbapi_connection
    from psycopg.pq import TransactionStatus

    return (raw is not None and WROTE_KEY not in connection.info
            and raw.info.transaction_status == TransactionStatus.INTRANS)


def _describe(exc: OperationalError) -> str:
    first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return f"database error: {first}"
