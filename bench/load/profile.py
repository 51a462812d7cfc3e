"""python -m bench.load.profile [--operations 2000] — where one worker's time goes, in-process.

The bench's world (bench/load/world.py) seeded into a throwaway PostgreSQL, one
``bench.load.worker.Worker`` playing the same mix under cProfile: per kind the statements and
client CPU per transaction, then the functions and the packages the CPU went to. Client side
only, in CPU time (the wait for the server is not counted).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from bench.load import world
from bench.load.worker import Worker
from tests.support.postgres import postgres

GROUPS = (("sqlalchemy/orm", "sqlalchemy ORM"), ("sqlalchemy/", "sqlalchemy Core/engine"),
          ("psycopg", "psycopg (driver)"), ("/core/", "core (ours)"),
          ("cryptography", "cryptography"), ("{", "builtins (incl. socket)"))


def group_of(filename: str) -> str:
    return next((name for key, name in GROUPS if key in filename), "other")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.profile")
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp, postgres() as server:
        url = server.create_database(world.TEMPLATE)
        info = world.build(Path(tmp), url)
        worker = Worker({"seed": 7, "home": tmp, "url": url, "plan": info["plan"],
                         "tag": "profile", "seconds": 0})
        for _ in range(50):
            worker.operation()
        worker.records.clear()
        profile = cProfile.Profile(time.process_time)  # CPU, not the wait for the server
        profile.enable()
        for _ in range(args.operations):
            worker.operation()
        profile.disable()
        worker.app.close()
    kinds: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for kind, _outcome, _start, latency, statements, cpu in worker.records:
        kinds[kind].append((statements, cpu, latency))
    print("| kind | tx | statements/tx | client CPU ms/tx (under cProfile) | mean ms |")
    print("|---|---|---|---|---|")
    for kind, rows in kinds.items():
        n = len(rows)
        print(f"| {kind} | {n} | {sum(r[0] for r in rows) / n:.1f} | "
              f"{sum(r[1] for r in rows) / n:.2f} | {sum(r[2] for r in rows) / n:.2f} |")
    stats = pstats.Stats(profile)
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    by_group: Counter[str] = Counter()
    for (filename, _line, _name), value in stats.stats.items():  # type: ignore[attr-defined]
        by_group[group_of(filename)] += value[2]
    print(f"\nself time by package ({total:.2f} s profiled, {len(worker.records)} tx):\n")
    for name, seconds in by_group.most_common():
        print(f"  {name:32s} {seconds:6.2f} s  {seconds / total:5.1%}")
    print()
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
