"""python -m bench.load.statements [--operations 3000] — what each statement costs the server.

A throwaway PostgreSQL with ``pg_stat_statements`` preloaded (``ALTER SYSTEM``, then a restart;
Debian's postgresql-15 ships the module), the bench's world (bench/load/world.py), and one
plain-SQL worker (bench/load/raw.py: the SQL text the services send) playing the bench's mix in
this process. Then, per statement, the server's own account: calls, mean and total execution
time, planning time, rows, shared buffers hit and read, and the share of all server execution
time — so a statement that costs more than its few rows deserve (a missing index, a subquery
evaluated per row) stands out. Last, ``EXPLAIN (ANALYZE, BUFFERS)`` of the guarded seat UPDATEs
and of FREE_SEAT, each in a transaction rolled back.

Client side and the cost of the wire are not here (see ``python -m bench.load --raw``).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.load import raw_sql, world
from bench.load.__main__ import postgres_cpu
from bench.load.raw import RULES, RawWorker, _now
from bench.load.worker import Worker
from core import clock
from tests.support.postgres import postgres

LAPSED_INDEX = ("CREATE INDEX ix_enrollments_holds ON enrollments (session_id, hold_expires_at)"
                " WHERE state IN ('option', 'offered')")
PARAM = re.compile(r"%\(\w+\)s")
NUMBERED = re.compile(r"\$\d+")


def _key(text: str) -> str:
    return " ".join(text.split())


def labels() -> dict[str, str]:
    """Normalised text (parameters as ``$``) → the raw_sql constant's name."""
    found = {}
    for name in dir(raw_sql):
        text = getattr(raw_sql, name)
        if not name.isupper() or not isinstance(text, str):
            continue
        for count in (1, 2, 3, 4):
            found[_key(PARAM.sub("$", raw_sql.in_orgs(text, count)))] = name
    return found


def label_of(query: str, known: dict[str, str]) -> str:
    return known.get(_key(NUMBERED.sub("$", query)), " ".join(query.split())[:60])


REPORT = """SELECT query, calls, plans, mean_exec_time, total_exec_time, total_plan_time, rows,
       shared_blks_hit, shared_blks_read
FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s)
ORDER BY total_exec_time DESC"""


def statement_table(dsn: str, database: str, transactions: int) -> list[str]:
    known = labels()
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(REPORT, (database,)).fetchall()
    total = sum(r[4] for r in rows) or 1.0
    lines = [f"| statement | calls | planned | mean µs | total ms | share | plan ms | rows/call | "
             f"blocks hit/call | read | µs per bench tx ({transactions:,} tx) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for query, calls, plans, mean, total_ms, plan, nrows, hit, read in rows:
        if calls < 5:
            continue
        lines.append(f"| {label_of(query, known)} | {calls:,} | {plans:,} | {mean * 1000:.0f} | "
                     f"{total_ms:.0f} | {total_ms / total:.1%} | {plan:.0f} | "
                     f"{nrows / calls:.2f} | {hit / calls:.1f} | {read} | "
                     f"{total_ms * 1000 / max(1, transactions):.0f} |")
    return lines


def explain(dsn: str, plan: list[dict[str, Any]]) -> list[str]:
    """EXPLAIN ANALYZE of the seat UPDATEs with a real officer, person and session."""
    officer = plan[0]
    out: list[str] = []
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(raw_sql.LOAD_AUTHORITY, {"oid": officer["id"]}).fetchall()
        orgs_ids = tuple(r[3] for r in rows if r[3] is not None)
        eid = conn.execute(
            "SELECT e.id FROM enrollments e JOIN collaborators c ON c.id = e.collaborator_id"
            " JOIN training_sessions s ON s.id = e.session_id WHERE e.state = 'enrolled'"
            " AND s.starts_on >= current_date AND c.organisation_id = ANY(%s) LIMIT 1",
            (list(orgs_ids),)).fetchone()
        conn.rollback()
        session_id, code, start = officer["sessions"][0]
        common = {**RULES, **raw_sql.orgs_params(orgs_ids), "pid": officer["collaborators"][0],
                  "today": clock.today(), "now": _now()}
        cases = [("TAKE_SEAT_BY_ID", raw_sql.TAKE_SEAT_BY_ID, {**common, "sid": session_id}),
                 ("TAKE_SEAT_BY_WISH", raw_sql.TAKE_SEAT_BY_WISH,
                  {**common, "code": code, "start": clock.today().fromisoformat(start)})]
        if eid is not None:
            cases.append(("FREE_SEAT", raw_sql.FREE_SEAT, {
                "eid": eid[0], "today": clock.today(), "now": _now(),
                "param_1_1": "option", "param_1_2": "enrolled", "param_1_3": "offered",
                "param_2": 1, "param_3": 0, "state_1_1": "option", "state_1_2": "enrolled",
                "state_1_3": "waitlisted", "state_1_4": "offered", "state_2_1": "option",
                "state_2_2": "offered", **raw_sql.orgs_params(orgs_ids)}))
        for name, text, params in cases:
            sql = raw_sql.in_orgs(text, len(orgs_ids))
            for _ in range(3):  # warm: the last of three runs is shown
                found = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql,  # type: ignore[arg-type]
                                     params).fetchall()
                conn.rollback()
            out += ["", f"EXPLAIN (ANALYZE, BUFFERS) {name} (rolled back):", "", "```",
                    *(r[0] for r in found), "```"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.statements")
    parser.add_argument("--operations", type=int, default=3000)
    parser.add_argument("--side", choices=("raw", "itma"), default="raw",
                        help="the plain-SQL worker (raw.py) or the services' (worker.py)")
    parser.add_argument("--generic-plans", action="store_true",
                        help="plan_cache_mode = force_generic_plan for the worker's database: "
                             "prepared statements planned once, not at every execution")
    parser.add_argument("--lapsed-index", action="store_true",
                        help="try the proposed partial index for the lapsed-hold check: "
                             f"{LAPSED_INDEX}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-statements-") as tmp, postgres() as server:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        server.restart()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:  # known once loaded
            conn.execute("ALTER SYSTEM SET pg_stat_statements.track_planning = on")
            conn.execute("ALTER SYSTEM SET pg_stat_statements.track_utility = on")
            conn.execute("SELECT pg_reload_conf()")
        url = server.create_database(world.TEMPLATE)
        info = world.build(Path(tmp), url)
        world.vacuum_analyze(server.dsn(world.TEMPLATE))
        dsn = server.dsn(world.TEMPLATE)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            if args.lapsed_index:
                conn.execute(LAPSED_INDEX)
                conn.execute("ANALYZE enrollments")
            if args.generic_plans:
                conn.execute(f"ALTER DATABASE {world.TEMPLATE}"
                             " SET plan_cache_mode = force_generic_plan")
        spec = {"seed": 11, "home": tmp, "url": url, "plan": info["plan"],
                "tag": "statements", "seconds": 0}
        worker: Any = RawWorker(spec) if args.side == "raw" else Worker(spec)
        for _ in range(100):  # warm: prepared statements, caches
            worker.operation()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_statements_reset()")
        worker.records.clear()
        server_before, client_before = postgres_cpu(server), time.process_time()
        for _ in range(args.operations):
            worker.operation()
        client_s = time.process_time() - client_before
        server_s = postgres_cpu(server) - server_before
        worker.close() if args.side == "raw" else worker.app.close()
        transactions = len(worker.records)
        mode = "force_generic_plan" if args.generic_plans else "auto (the default)"
        if args.lapsed_index:
            mode += ", with the partial index for lapsed holds"
        lines = [f"{transactions:,} transactions of the bench's mix by one "
                 f"{'plain-SQL' if args.side == 'raw' else 'services (itma)'} worker, "
                 f"plan_cache_mode {mode}: client CPU {client_s * 1000 / transactions:.3f} ms/tx, "
                 f"server CPU (all of the cluster's processes) "
                 f"{server_s * 1000 / transactions:.3f} ms/tx; server time per statement "
                 "(pg_stat_statements, execution and planning):", "",
                 *statement_table(dsn, world.TEMPLATE, transactions),
                 *explain(dsn, info["plan"])]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
