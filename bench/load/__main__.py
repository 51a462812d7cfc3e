"""python -m bench.load [--seconds 10] [--ks 1,2,4] — enrollment load on PostgreSQL vs pgbench.

One command, one run, loopback only, bounded: a throwaway PostgreSQL (tests.support.postgres,
whose defaults switch fsync, synchronous_commit and full_page_writes off — the same for both
sides), the demo migrated and seeded into database ``load`` (bench/load/world.py), and pgbench's
TPC-B-like tables (scale --scale) in database ``pgbench``. For each K, one after the other:

* pgbench — ``pgbench -c K -j K -T D -n`` (bench/load/pgbench.py), the ceiling;
* itma — a fresh copy of the seeded database, K spawned processes each with its own
  ``core.app.App`` driving enroll / unenroll / submit+approve through the core services for D
  seconds (bench/load/worker.py).

Prints a Markdown table (transactions/s, enroll/s, p50/p99, the itma/pgbench ratios, where the
CPU goes) and the verdict against the targets at K = 4; writes bench/results/load.json
(or ``--json PATH``).

``--raw`` adds a third side per K: the same unit of work in plain psycopg 3
(bench/load/raw.py: the SQL text SQLAlchemy sends today, prepared, pipelined), the ceiling of a
Python client with these statements on this machine, with its ratio to pgbench.

``--intake-http`` sends the submits through ``POST /intake/registrations`` of an
``itma-assistant serve`` process (its CPU counted with the workers'); enroll, unenroll and
approve have no HTTP endpoint of their own (they are reached through Slack, see bench/slack).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.load import pgbench, world
from bench.load import raw as raw_worker
from bench.load import worker as load_worker
from tests.support.postgres import PostgresServer, find_pg_bin, postgres

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
TARGET_RATIO, TARGET_P99_MS, TARGET_K = 0.40, 20.0, 4  # issue 16 (was 25 %, 50 ms)
READY_TIMEOUT_S = 120.0
QUIET_SHARE = 0.15  # busy share of the machine under which a run may start
NOISY_SHARE = 0.10  # other processes' CPU above this share of the machine: a warning
PGBENCH_DB = "pgbench"
INTAKE_SECRET = "bench-load-intake-secret"
KINDS = ("enroll", "unenroll", "submit", "approve")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- CPU accounting -------------------------------------------------------------------------------


TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from 3 (state) on


def postgres_cpu(server: PostgresServer) -> float:
    """CPU seconds of the cluster so far: the postmaster, its reaped and its live children.

    A backend that has exited but is not reaped yet (a zombie) no longer shows its CPU time
    anywhere: wait (briefly) until the postmaster has reaped it into its children's time.
    """
    try:
        postmaster = int((server.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return float("nan")
    deadline = time.monotonic() + 2.0
    while True:
        own = _stat(postmaster)
        if own is None:
            return float("nan")
        ticks = sum(int(v) for v in own[11:15])  # utime stime cutime cstime
        zombies = 0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                fields = _stat(entry.name)
                if fields is not None and fields[1] == str(postmaster):  # ppid
                    ticks += int(fields[11]) + int(fields[12])
                    zombies += fields[0] == "Z"
        if not zombies or time.monotonic() > deadline:
            return ticks / TICK
        time.sleep(0.01)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class CpuWindow:
    def __init__(self, server: PostgresServer) -> None:
        self.server = server

    def __enter__(self) -> CpuWindow:
        self.pg, self.machine = postgres_cpu(self.server), machine_cpu()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.pg_s = postgres_cpu(self.server) - self.pg
        busy, total = machine_cpu()
        self.busy = (busy - self.machine[0]) / max(1, total - self.machine[1])
        self.busy_s = (busy - self.machine[0]) / TICK

    def foreign(self, ours_s: float) -> float:
        """CPU seconds spent in the window by processes that are neither ours nor the server's."""
        return max(0.0, self.busy_s - self.pg_s - ours_s)


class ActivitySampler:
    """Samples pg_stat_activity of one database every INTERVAL: what the backends are doing.

    Per sample and backend: ``running`` (active, no wait event: on the server's CPU or ready
    to run), ``lock`` (waiting for a row or transaction lock), ``io``/``other`` (another wait),
    ``client in tx`` (idle in transaction: the server waits for the client mid-transaction),
    ``client`` (idle between transactions). One short query per sample on its own connection.
    """

    INTERVAL = 0.05

    def __init__(self, server: PostgresServer, database: str) -> None:
        self.dsn, self.database = server.dsn(), database
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="activity-sampler", daemon=True)

    def __enter__(self) -> ActivitySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        import psycopg

        query = ("SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = %s"
                 " AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
        with contextlib.suppress(psycopg.Error), \
                psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.wait(self.INTERVAL):
                for state, wait in conn.execute(query, (self.database,)).fetchall():
                    self.counts[_activity(state, wait)] += 1
                self.samples += 1

    def shares(self) -> dict[str, float]:
        total = sum(self.counts.values()) or 1
        return {name: round(self.counts.get(name, 0) / total, 3) for name in ACTIVITIES}


ACTIVITIES = ("running", "lock", "io", "other", "client in tx", "client")


def _activity(state: str | None, wait: str | None) -> str:
    if state == "active":
        # "Client": inside a pipeline, the backend waits for the client's next message
        return {None: "running", "Lock": "lock", "LWLock": "other", "IO": "io",
                "Client": "client in tx"}.get(wait, "other")
    if state and state.startswith("idle in transaction"):
        return "client in tx"
    return "client"


def wait_quiet(limit_s: float) -> float:
    """Wait (at most limit_s) until the machine is mostly idle over one second; the busy share.

    Other work on the same machine (tests, other benchmarks) skews both sides; this only
    lowers the odds, the report still shows what other processes used during every run.
    """
    deadline = time.monotonic() + limit_s
    while True:
        busy, total = machine_cpu()
        time.sleep(1.0)
        after = machine_cpu()
        share = (after[0] - busy) / max(1, after[1] - total)
        if share <= QUIET_SHARE or time.monotonic() >= deadline:
            if share > QUIET_SHARE:
                log(f"  the machine is still {share:.0%} busy after {limit_s:.0f} s: going on")
            return share


# -- the two sides --------------------------------------------------------------------------------


def run_pgbench(server: PostgresServer, pg_bin: Path, k: int, seconds: int) -> dict[str, Any]:
    load_average = round(os.getloadavg()[0], 2)
    with ActivitySampler(server, PGBENCH_DB) as activity, CpuWindow(server) as cpu:
        raw = pgbench.run(pg_bin, server.host, server.port, server.user, PGBENCH_DB, k, seconds)
    latencies = raw.pop("latencies_ms")
    count = len(latencies) or 1
    row = {"tps": round(raw["tps"], 1), "transactions": len(latencies),
           "p50_ms": round(percentile(latencies, 50), 2),
           "p99_ms": round(percentile(latencies, 99), 2),
           "failed": raw["failed"],
           "postgres_cpu_ms_per_tx": round(cpu.pg_s * 1000 / count, 3),
           "client_cpu_ms_per_tx": round(raw["client_cpu_s"] * 1000 / count, 3),
           "machine_busy": round(cpu.busy, 3),
           "foreign_cpu_s": round(cpu.foreign(raw["client_cpu_s"]), 2),
           "backends": activity.shares(),
           "load_average_before": load_average,
           "command": raw["command"]}
    log(f"  pgbench K={k}: {row['tps']} tps, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
        f"machine {row['machine_busy']:.0%} busy")
    return row


def process_cpu(pid: int | None) -> float:
    fields = _stat(pid) if pid else None
    return (int(fields[11]) + int(fields[12])) / TICK if fields else 0.0


def drive(server: PostgresServer, home: Path, database: str, plan: list[dict[str, Any]],
          k: int, seconds: int, intake: dict[str, Any] | None = None,
          target: Any = load_worker.run) -> dict[str, Any]:
    """K spawned workers against ``database``; their records and CPU, started together.

    ``intake`` (url, secret, pid): submit through that serve process, whose CPU counts as ours.
    ``target``: the worker's process function (worker.run, or raw.run for the plain-SQL side).
    """
    serve_pid = intake["pid"] if intake else None
    context = multiprocessing.get_context("spawn")
    processes, pipes = [], []
    try:
        for index in range(k):
            parent, child = context.Pipe()
            spec = {"home": str(home), "url": server.url(database), "plan": plan,
                    "seconds": seconds, "seed": 1000 * k + index, "tag": f"k{k}w{index}",
                    **({"intake_url": intake["url"], "intake_secret": intake["secret"]}
                       if intake else {})}
            process = context.Process(target=target, args=(spec, child),
                                      name=f"bench-load-k{k}-{index}")
            process.start()
            child.close()
            processes.append(process)
            pipes.append(parent)
        warmup = 0
        for parent in pipes:
            if not parent.poll(READY_TIMEOUT_S):
                raise RuntimeError(f"a worker was not ready within {READY_TIMEOUT_S:.0f} s")
            message = parent.recv()
            if "error" in message:
                raise RuntimeError(f"worker failed while warming up:\n{message['error']}")
            warmup += message["warmup_transactions"]
        start = time.monotonic() + 0.25
        for parent in pipes:
            parent.send(start)
        time.sleep(max(0.0, start - time.monotonic()))
        results = []
        load_average = round(os.getloadavg()[0], 2)
        serve_before = process_cpu(serve_pid)
        with ActivitySampler(server, database) as activity, CpuWindow(server) as cpu:
            for parent in pipes:
                if not parent.poll(seconds + READY_TIMEOUT_S):
                    raise RuntimeError("a worker gave no result in time")
                message = parent.recv()
                if "error" in message:
                    raise RuntimeError(f"worker failed:\n{message['error']}")
                results.append(message)
            serve_s = process_cpu(serve_pid) - serve_before
        for parent in pipes:
            with contextlib.suppress(OSError):
                parent.send("bye")
    finally:
        for parent in pipes:
            parent.close()  # a worker still waiting for the start sees EOF and exits
        for process in processes:
            process.join(15)
            if process.is_alive():
                process.terminate()
                process.join(5)
    ours = sum(w["cpu_s"] for w in results) + serve_s
    return {"workers": results, "warmup_transactions": warmup, "postgres_cpu_s": cpu.pg_s,
            "serve_cpu_s": serve_s,
            "machine_busy": cpu.busy, "foreign_cpu_s": cpu.foreign(ours),
            "backends": activity.shares(), "load_average_before": load_average}


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    records = [r for w in raw["workers"] for r in w["records"]]
    wall = max(w["finished_s"] for w in raw["workers"])
    count = len(records) or 1
    latencies = [r[3] for r in records]
    outcomes = Counter(r[1] for r in records)
    refused = sum(n for o, n in outcomes.items() if o.startswith("refused:"))
    errors = sum(n for o, n in outcomes.items() if o.startswith("error:"))
    kinds = {}
    for kind in KINDS:
        mine = [r for r in records if r[0] == kind]
        values = [r[3] for r in mine]
        done = [r for r in mine if not r[1].startswith(("refused:", "error:"))]
        kinds[kind] = {"transactions": len(mine), "committed": len(done),
                       "per_s": round(len(mine) / wall, 1),
                       "committed_per_s": round(len(done) / wall, 1),
                       "p50_ms": round(percentile(values, 50), 2),
                       "p99_ms": round(percentile(values, 99), 2),
                       "mean_ms": round(statistics.fmean(values), 2) if values else None,
                       "statements_per_tx": round(sum(r[4] for r in mine) / max(1, len(mine)),
                                                  1),
                       "client_cpu_ms_per_tx": round(sum(r[5] for r in mine)
                                                     / max(1, len(mine)), 3),
                       "outcomes": dict(Counter(r[1] for r in mine).most_common())}
    client_cpu = sum(w["cpu_s"] for w in raw["workers"]) + raw["serve_cpu_s"]
    return {"transactions": len(records), "seconds": round(wall, 3),
            "tps": round(len(records) / wall, 1),
            "enroll_tps": kinds["enroll"]["committed_per_s"],
            "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2),
            "max_ms": round(max(latencies), 2) if latencies else None,
            "refused": refused, "errors": errors,
            "statements_per_tx": round(sum(w["statements"] for w in raw["workers"]) / count, 1),
            "client_cpu_ms_per_tx": round(client_cpu * 1000 / count, 3),
            "postgres_cpu_ms_per_tx": round(raw["postgres_cpu_s"] * 1000 / count, 3),
            "machine_busy": round(raw["machine_busy"], 3),
            "foreign_cpu_s": round(raw["foreign_cpu_s"], 2),
            "backends": raw["backends"],
            "load_average_before": raw["load_average_before"],
            "warmup_transactions": raw["warmup_transactions"],
            "kinds": kinds, "error_samples": [e for w in raw["workers"] for e in w["errors"]][:3]}


def plan_cache(server: PostgresServer, database: str, plan_cache_mode: str) -> None:
    """``--plan-cache-mode``: set on the copy for every connection the side opens to it."""
    if plan_cache_mode != "auto":
        import psycopg

        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" SET plan_cache_mode = {plan_cache_mode}')


def run_itma(server: PostgresServer, home: Path, plan: list[dict[str, Any]], k: int,
             seconds: int, intake_http: bool = False,
             plan_cache_mode: str = "auto") -> dict[str, Any]:
    """The core services' workers (bench/load/worker.py), on a fresh copy of the world."""
    return _run_side("itma", "load", load_worker.run, server, home, plan, k, seconds,
                     intake_http, plan_cache_mode)


def run_raw(server: PostgresServer, home: Path, plan: list[dict[str, Any]], k: int,
            seconds: int, plan_cache_mode: str = "auto") -> dict[str, Any]:
    """The same unit of work in plain psycopg (bench/load/raw.py), on its own fresh copy."""
    return _run_side("raw SQL", "raw", raw_worker.run, server, home, plan, k, seconds, False,
                     plan_cache_mode)


def _run_side(label: str, prefix: str, target: Any, server: PostgresServer, home: Path,
              plan: list[dict[str, Any]], k: int, seconds: int, intake_http: bool,
              plan_cache_mode: str) -> dict[str, Any]:
    database = f"{prefix}_k{k}"
    world.copy_database(server.dsn(), database)
    plan_cache(server, database, plan_cache_mode)
    try:
        with serve_intake(home, server.url(database), intake_http) as intake:
            row = summarise(drive(server, home, database, plan, k, seconds, intake,
                                  target=target))
        if target is load_worker.run:
            row["submit_via"] = "HTTP /intake/registrations" if intake_http else "core service"
        row["database_after"] = world.outcome_counts(server.dsn(database))
    finally:
        world.drop_database(server.dsn(), database)
    log(f"  {label:<7} K={k}: {row['tps']} tx/s ({row['enroll_tps']} enroll/s), "
        f"p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, {row['refused']} refused, "
        f"{row['errors']} errors, machine {row['machine_busy']:.0%} busy")
    return row


@contextlib.contextmanager
def serve_intake(home: Path, url: str, enabled: bool) -> Iterator[dict[str, Any] | None]:
    """``itma-assistant serve`` on loopback with the intake endpoint, or nothing."""
    if not enabled:
        yield None
        return
    from tests.support.processes import free_port
    from tests.support.server import start

    env = {**world.settings_env(home, url), "ITMA_INTAKE_SECRET": INTAKE_SECRET,
           "ITMA_LINK_LISTEN": f"127.0.0.1:{free_port()}"}
    process, base = start(env)
    try:
        yield {"url": base + "/intake/registrations", "secret": INTAKE_SECRET,
               "pid": process.pid}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- report ---------------------------------------------------------------------------------------


def compare(rows: list[dict[str, Any]]) -> dict[str, Any]:
    for row in rows:
        base = row["pgbench"]["tps"] or float("nan")
        row["itma_vs_pgbench"] = round(row["itma"]["tps"] / base, 4)
        row["enroll_vs_pgbench"] = round(row["itma"]["enroll_tps"] / base, 4)
        if "raw" in row:
            row["raw_vs_pgbench"] = round(row["raw"]["tps"] / base, 4)
            row["raw_enroll_vs_pgbench"] = round(row["raw"]["enroll_tps"] / base, 4)
            row["itma_vs_raw"] = round(row["itma"]["tps"] / (row["raw"]["tps"] or float("nan")),
                                       4)
    at = next((r for r in rows if r["k"] == TARGET_K), rows[-1])
    checks = [
        {"check": f"enroll/s ≥ {TARGET_RATIO:.0%} of pgbench tps at K = {at['k']}",
         "value": f"{at['itma']['enroll_tps']} / {at['pgbench']['tps']} = "
                  f"{at['enroll_vs_pgbench']:.1%}",
         "pass": at["enroll_vs_pgbench"] >= TARGET_RATIO},
        {"check": f"p99 < {TARGET_P99_MS:.0f} ms at K = {at['k']}",
         "value": f"{at['itma']['p99_ms']} ms", "pass": at["itma"]["p99_ms"] < TARGET_P99_MS}]
    errors = sum(r["itma"]["errors"] + r.get("raw", {}).get("errors", 0) for r in rows)
    return {"at_k": at["k"], "checks": checks, "errors": errors,
            "verdict": "PASS" if all(c["pass"] for c in checks) and not errors else "FAIL"}


def table(report: dict[str, Any]) -> str:
    args, info = report["args"], report["world"]
    verdicts = {c["check"]: c["pass"] for c in report["comparison"]["checks"]}
    ratio_ok, p99_ok = verdicts.values()
    at_k = report["comparison"]["at_k"]
    mix = ", ".join(f"{share:.0%} {name.replace('_', ' ')}"
                    for name, share in report["mix"].items())
    via = ("POST /intake/registrations of `itma-assistant serve`" if args["intake_http"]
           else "the core service")
    lines = [f"{args['seconds']} s per run, PostgreSQL {report['versions'].get('postgresql')} "
             f"(throwaway cluster, **fsync / synchronous_commit / full_page_writes off**, "
             f"same server for both sides), {report['cpus']} CPUs shared by server and clients; "
             f"demo: {info['counts']['collaborators']:,} collaborators, "
             f"{info['counts']['upcoming_sessions']} upcoming sessions (capacity +"
             f"{info['capacity_raised_by']:,}), {len(info['plan_officers'])} officers; "
             f"pgbench scale {args['scale']}; operations: {mix}; submit via {via}", "",
             "| K | itma tx/s | itma enroll/s | p50 ms | p99 ms | refused | errors | "
             "pgbench tps | pgbench p99 ms | itma / pgbench | enroll / pgbench | "
             f"target (enroll ≥ {TARGET_RATIO:.0%}, p99 < {TARGET_P99_MS:.0f} ms) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in report["runs"]:
        ours, theirs = row["itma"], row["pgbench"]
        verdict = "—"
        if row["k"] == at_k:
            verdict = (f"{'PASS' if ratio_ok else 'FAIL'} / {'PASS' if p99_ok else 'FAIL'}")
        lines.append(f"| {row['k']} | {ours['tps']} | {ours['enroll_tps']} | {ours['p50_ms']} | "
                     f"{ours['p99_ms']} | {ours['refused']} | {ours['errors']} | "
                     f"{theirs['tps']} | {theirs['p99_ms']} | {row['itma_vs_pgbench']:.1%} | "
                     f"{row['enroll_vs_pgbench']:.1%} | {verdict} |")
    lines += ["", "Where the time goes (CPU per transaction; machine busy = share of all CPUs "
              "busy during the run, with the CPU seconds of processes that are neither the "
              "bench's nor the server's):", "",
              "| K | itma statements/tx | itma client CPU ms/tx | itma server CPU ms/tx | "
              "pgbench server CPU ms/tx | pgbench client CPU ms/tx | machine busy itma | "
              "machine busy pgbench |", "|---|---|---|---|---|---|---|---|"]
    for row in report["runs"]:
        ours, theirs = row["itma"], row["pgbench"]
        lines.append(f"| {row['k']} | {ours['statements_per_tx']} | "
                     f"{ours['client_cpu_ms_per_tx']} | {ours['postgres_cpu_ms_per_tx']} | "
                     f"{theirs['postgres_cpu_ms_per_tx']} | {theirs['client_cpu_ms_per_tx']} | "
                     f"{ours['machine_busy']:.0%} (other {ours['foreign_cpu_s']} s) | "
                     f"{theirs['machine_busy']:.0%} (other {theirs['foreign_cpu_s']} s) |")
    if any("raw" in row for row in report["runs"]):
        lines += raw_table(report["runs"])
    lines += ["", "What the server backends were doing (pg_stat_activity sampled every "
              f"{ActivitySampler.INTERVAL * 1000:.0f} ms; 'client' = waiting for the client, "
              "between or inside a transaction):", "",
              "| K | side | " + " | ".join(ACTIVITIES) + " |",
              "|---|---|" + "---|" * len(ACTIVITIES)]
    for row in report["runs"]:
        for side in ("itma", "raw", "pgbench"):
            if side not in row:
                continue
            shares = row[side]["backends"]
            lines.append(f"| {row['k']} | {side} | "
                         + " | ".join(f"{shares.get(a, 0):.0%}" for a in ACTIVITIES) + " |")
    noisy = [row["k"] for row in report["runs"]
             if max(row["itma"]["foreign_cpu_s"], row["pgbench"]["foreign_cpu_s"])
             > NOISY_SHARE * report["cpus"] * report["args"]["seconds"]]
    if noisy:
        lines += ["", f"**Warning**: other processes used more than {NOISY_SHARE:.0%} of the "
                  f"machine during the runs at K = {', '.join(map(str, noisy))}; those numbers "
                  "are pessimistic."]
    last = report["runs"][-1]
    lines += ["", f"Per kind at K = {last['k']}:", "",
              "| kind | tx | committed/s | p50 ms | p99 ms | statements/tx | client CPU ms/tx | "
              "outcomes |", "|---|---|---|---|---|---|---|---|"]
    for kind, entry in last["itma"]["kinds"].items():
        outcomes = ", ".join(f"{o} {n}" for o, n in entry["outcomes"].items())
        lines.append(f"| {kind} | {entry['transactions']:,} | {entry['committed_per_s']} | "
                     f"{entry['p50_ms']} | {entry['p99_ms']} | {entry['statements_per_tx']} | "
                     f"{entry['client_cpu_ms_per_tx']} | {outcomes} |")
    lines += ["", "| check | value | verdict |", "|---|---|---|"]
    lines += [f"| {c['check']} | {c['value']} | {'PASS' if c['pass'] else 'FAIL'} |"
              for c in report["comparison"]["checks"]]
    lines += ["", f"**{report['comparison']['verdict']}**"
              + (f" ({report['comparison']['errors']} unexpected errors)"
                 if report["comparison"]["errors"] else "")]
    return "\n".join(lines)


def raw_table(runs: list[dict[str, Any]]) -> list[str]:
    """The plain-SQL side (``--raw``) next to itma and pgbench, with where its CPU goes."""
    lines = ["", "The same unit of work in plain psycopg 3 (bench/load/raw.py: the same SQL text, "
             "prepared, pipelined; no SQLAlchemy), the ceiling of a Python client with these "
             "statements:", "",
             "| K | side | tx/s | enroll/s | p50 ms | p99 ms | statements/tx | "
             "client CPU ms/tx | server CPU ms/tx | tx / pgbench | enroll / pgbench | "
             "machine busy (1-min load average before) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in runs:
        base = row["pgbench"]["tps"] or float("nan")
        for side in ("itma", "raw"):
            if side not in row:
                continue
            ours = row[side]
            lines.append(f"| {row['k']} | {side} | {ours['tps']} | {ours['enroll_tps']} | "
                         f"{ours['p50_ms']} | {ours['p99_ms']} | {ours['statements_per_tx']} | "
                         f"{ours['client_cpu_ms_per_tx']} | {ours['postgres_cpu_ms_per_tx']} | "
                         f"{ours['tps'] / base:.1%} | {ours['enroll_tps'] / base:.1%} | "
                         f"{ours['machine_busy']:.0%} (other {ours['foreign_cpu_s']} s, "
                         f"load {ours['load_average_before']}) |")
        theirs = row["pgbench"]
        lines.append(f"| {row['k']} | pgbench | {theirs['tps']} | — | {theirs['p50_ms']} | "
                     f"{theirs['p99_ms']} | 5 | {theirs['client_cpu_ms_per_tx']} | "
                     f"{theirs['postgres_cpu_ms_per_tx']} | 100% | — | "
                     f"{theirs['machine_busy']:.0%} (other {theirs['foreign_cpu_s']} s, "
                     f"load {theirs['load_average_before']}) |")
    last = next((r for r in reversed(runs) if "raw" in r), None)
    if last is not None:
        lines += ["", f"Plain SQL per kind at K = {last['k']}:", "",
                  "| kind | tx | committed/s | p50 ms | p99 ms | statements/tx | "
                  "client CPU ms/tx | outcomes |", "|---|---|---|---|---|---|---|---|"]
        for kind, entry in last["raw"]["kinds"].items():
            outcomes = ", ".join(f"{o} {n}" for o, n in entry["outcomes"].items())
            lines.append(f"| {kind} | {entry['transactions']:,} | {entry['committed_per_s']} | "
                         f"{entry['p50_ms']} | {entry['p99_ms']} | "
                         f"{entry['statements_per_tx']} | {entry['client_cpu_ms_per_tx']} | "
                         f"{outcomes} |")
    return lines


def versions(server_version: str) -> dict[str, str]:
    found = {"python": platform.python_version(), "postgresql": server_version}
    for package in ("sqlalchemy", "psycopg"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found


def server_version(server: PostgresServer) -> str:
    import psycopg

    with psycopg.connect(server.dsn()) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit',"
            " 'full_page_writes', 'shared_buffers', 'max_connections')").fetchall())
    server_settings.update(settings)
    return str(row[0]).split()[0] if row else "?"


server_settings: dict[str, str] = {}


def parse_ks(text: str) -> list[int]:
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,2,4, got {text!r}") from None
    if not ks or any(k < 1 or k > 64 for k in ks):
        raise argparse.ArgumentTypeError("every K must be between 1 and 64")
    return ks


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--seconds", type=int, default=10, help="duration of every run (D)")
    parser.add_argument("--ks", type=parse_ks, default=[1, 2, 4],
                        help="numbers of worker processes, e.g. 1,2,4")
    parser.add_argument("--scale", type=int, default=10, help="pgbench -i -s")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="wait up to this many seconds for an idle machine before each K")
    parser.add_argument("--intake-http", action="store_true",
                        help="submit requests through POST /intake/registrations of an "
                             "`itma-assistant serve` process instead of the core service")
    parser.add_argument("--json", type=Path, default=RESULTS / "load.json",
                        help="where to write the JSON report")
    parser.add_argument("--plan-cache-mode", choices=("auto", "force_generic_plan"),
                        default="auto",
                        help="PostgreSQL's plan_cache_mode for the itma and raw sides' "
                             "databases (pgbench's is left alone)")
    parser.add_argument("--raw", action="store_true",
                        help="also run the same unit of work in plain psycopg 3 "
                             "(bench/load/raw.py) per K, in the same run")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 600:
        parser.error("--seconds must be between 1 and 600")
    pg_bin = find_pg_bin()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp, postgres() as server:
        home = Path(tmp)
        version = server_version(server)
        log(f"PostgreSQL {version} on 127.0.0.1:{server.port} (fsync "
            f"{server_settings.get('fsync')}); seeding the demo into '{world.TEMPLATE}'…")
        url = server.create_database(world.TEMPLATE)
        info = world.build(home, url)
        world.vacuum_analyze(server.dsn(world.TEMPLATE))
        log(f"  seeded in {time.perf_counter() - started:.1f} s: {info['counts']}; "
            f"initialising pgbench (scale {args.scale})…")
        server.create_database(PGBENCH_DB)
        pgbench.initialise(pg_bin, server.host, server.port, server.user, PGBENCH_DB,
                           args.scale)
        runs = []
        for k in args.ks:
            wait_quiet(args.quiet_wait)
            theirs = run_pgbench(server, pg_bin, k, args.seconds)
            wait_quiet(args.quiet_wait)
            runs.append({"k": k, "pgbench": theirs,
                         "itma": run_itma(server, home, info["plan"], k, args.seconds,
                                          args.intake_http, args.plan_cache_mode)})
            if args.raw:
                wait_quiet(args.quiet_wait)
                runs[-1]["raw"] = run_raw(server, home, info["plan"], k, args.seconds,
                                          args.plan_cache_mode)
    plan = info.pop("plan")
    info["plan_officers"] = [{"email": o["email"], "organisations": o["organisations"],
                              "collaborators": len(o["collaborators"]),
                              "sessions": len(o["sessions"])} for o in plan]
    report = {"args": {"seconds": args.seconds, "ks": args.ks, "scale": args.scale,
                       "quiet_wait": args.quiet_wait, "intake_http": args.intake_http,
                       "raw": args.raw, "plan_cache_mode": args.plan_cache_mode},
              "cpus": os.cpu_count(), "versions": versions(version),
              "server_settings": server_settings,
              "mix": {"enroll": load_worker.ENROLL_SHARE, "unenroll": load_worker.UNENROLL_SHARE,
                      "submit_then_approve": round(1 - load_worker.ENROLL_SHARE
                                                   - load_worker.UNENROLL_SHARE, 2)},
              "targets": {"enroll_vs_pgbench_at_least": TARGET_RATIO,
                          "p99_ms_below": TARGET_P99_MS, "at_k": TARGET_K},
              "world": info, "runs": runs}
    report["comparison"] = compare(runs)
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
