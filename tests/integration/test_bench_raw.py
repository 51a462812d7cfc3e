"""bench/load/raw.py is the services' unit of work in plain SQL, or its ceiling means nothing.

Two copies of the bench's world; the services' worker (bench/load/worker.py) on one, the
plain-SQL worker on the other, the same seed, the same number of operations, the clock fixed
(so every timestamp is equal on both sides). Checked: every statement the services sent in a
committed transaction is one of raw_sql's texts, byte for byte; both made the same operations
with the same outcomes; and both databases hold the same rows afterwards (ids included), but
for what is random by design (ciphertexts, Message-IDs, reply tokens).

PostgreSQL only: raw.py speaks psycopg and the pipeline protocol, it is the PostgreSQL bench's
ceiling; there is no SQLite side to compare with.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event

from bench.load import raw_sql, world
from bench.load.raw import RawWorker
from bench.load.worker import Worker
from tests.support.postgres import PostgresServer

OPERATIONS = 160
ORGS = re.compile(r"IN \(%\(orgs_1\)s::INTEGER(, %\(orgs_\d+\)s::INTEGER)*\)")

TABLES = {  # the columns compared (what is random by design is left out)
    "enrollments": "id, session_id, collaborator_id, state, hold_expires_at, created_at,"
                   " updated_at",
    "enrollment_events": "id, enrollment_id, from_state, to_state, at, officer_id, reason",
    "audit_events": "id, at, officer_id, actor, action, subject_type, subject_id,"
                    " details::text",
    "outbox_messages": "id, channel, to_address, language, template, subject,"
                       " (context::jsonb - 'reply_token')::text, state, attempts,"
                       " next_attempt_at, created_at, sent_at, last_error",
    "registration_requests": "id, external_id, organisation_id, person::text, wants::text,"
                             " state, decided_by_id, decided_at, reason, created_at,"
                             " nrn_encrypted IS NULL",
    "collaborators": "id, nrn_hash, nrn_masked, birth_year, sex, surname, given_names, email,"
                     " language, organisation_id, department, active, search_key",
    "reply_tokens": "officer_id, request_id, kind, access_request_id, created_at, expires_at,"
                    " used_at",
    "training_sessions": "id, seats_taken",
}


BATCHED = {"batch: INSERT INTO outbox_messages", "batch: INSERT INTO reply_tokens"}
"""The ORM's flush of submit sends several officers' rows as one multi-VALUES INSERT
(insertmanyvalues); raw.py sends them as an executemany of the one-row text, in the pipeline."""


def _normalised(statement: str) -> str:
    if "__0)s" in statement:  # an insertmanyvalues batch
        return "batch: " + statement.split(" (", 1)[0]
    return ORGS.sub("IN ({orgs})", statement)


def _texts() -> set[str]:
    return {getattr(raw_sql, n) for n in dir(raw_sql)
            if n.isupper() and isinstance(getattr(raw_sql, n), str)}


def _outcomes(records: list[Any]) -> list[tuple[str, str]]:
    """Refusals are worded by the ORM path on one side, by the guard's name on the other."""
    return [(r[0], "refused" if r[1].startswith("refused:") else r[1]) for r in records]


def _contents(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(dsn) as conn:
        return {table: sorted(conn.execute(f"SELECT {columns} FROM {table}").fetchall(),
                              key=repr)
                for table, columns in TABLES.items()}


def _itma(spec: dict[str, Any]) -> tuple[Worker, list[tuple[str, list[str]]]]:
    worker = Worker(spec)
    sent: list[str] = []
    transactions: list[tuple[str, list[str]]] = []

    @event.listens_for(worker.app.db.engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    timed = worker._timed

    def _timed(kind: str, work: Any) -> Any:
        sent.clear()
        try:
            return timed(kind, work)
        finally:
            transactions.append((worker.records[-1][1], list(sent)))

    worker._timed = _timed  # type: ignore[method-assign]
    for _ in range(OPERATIONS):
        worker.operation()
    worker.app.close()
    return worker, transactions


def test_raw_worker_sends_the_services_sql_and_writes_their_rows(
        postgres_server: PostgresServer, tmp_path: Path) -> None:
    server = postgres_server
    template = f"raw_world_{id(tmp_path)}"
    url = server.create_database(template)
    info = world.build(tmp_path, url)
    names = [f"{template}_itma", f"{template}_raw"]
    for name in names:
        world.copy_database(server.dsn(), name, template)
    try:
        spec = {"seed": 5, "home": str(tmp_path), "plan": info["plan"], "tag": "t",
                "seconds": 0}
        itma, transactions = _itma({**spec, "url": server.url(names[0])})
        raw = RawWorker({**spec, "url": server.url(names[1])})
        for _ in range(OPERATIONS):
            raw.operation()
        raw.close()

        assert not itma.errors and not raw.errors, (itma.errors, raw.errors)
        assert _outcomes(raw.records) == _outcomes(itma.records)
        kinds = {r[0] for r in raw.records}
        assert kinds == {"enroll", "unenroll", "submit", "approve"}, kinds

        texts = _texts()
        committed = [s for outcome, sent in transactions if not outcome.startswith("refused:")
                     for s in sent]
        assert len(committed) > 5 * OPERATIONS
        foreign = {_normalised(s) for s in committed} - texts - BATCHED
        assert not foreign, "\n\n".join(foreign)

        itma_rows, raw_rows = _contents(server.dsn(names[0])), _contents(server.dsn(names[1]))
        for table in TABLES:
            assert raw_rows[table] == itma_rows[table], table
        assert len(raw_rows["outbox_messages"]) > OPERATIONS // 2
    finally:
        for name in (*names, template):
            world.drop_database(server.dsn(), name)
