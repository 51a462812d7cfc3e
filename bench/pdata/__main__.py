"""python -m bench.pdata [--rows 50000] [--databases sqlite,postgresql] — the validation module.

One command, one run: a temporary ITMA_HOME, a migrated database per engine (SQLite file; a
throwaway PostgreSQL from tests.support.postgres when its binaries are installed), one
organisation, and generated files of ROWS rows in the template:

* add — ROWS new people (CSV), validated then applied in one unit of work;
* mixed — on top of them: 40 % updates, 10 % leaving, 50 % new people (CSV);
* mixed.xlsx — the same rows as an Excel workbook (national numbers as numbers, as Excel
  saves them), validated only;

next to two baselines measured in the same run on the same files: the csv module merely
splitting the file (the floor for reading it), and `import collaborators`, the existing bulk
loader, inserting the same new people into a fresh database. Validation is timed alone (rows/s)
and the apply includes the commit. Targets: validation < 3 s and apply < 10 s for 50,000 rows.
Prints a Markdown table; writes bench/results/pdata.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.pdata import dataset
from core import migrate
from core.app import App
from core.config import load_settings
from core.models import Organisation
from core.services import pdata
from core.services.collaborators import import_collaborators

VALIDATE_TARGET_S = 3.0
APPLY_TARGET_S = 10.0
RESULTS = Path(__file__).resolve().parent.parent / "results" / "pdata.json"


@contextmanager
def database(engine: str, home: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{home / 'itma.db'}"
        return
    from tests.support.postgres import postgres

    with postgres() as server:
        yield server.create_database(f"bench_{home.name}".replace("-", "_").lower())


def fresh_app(url: str, home: Path) -> App:
    app = App(load_settings({"ITMA_HOME": str(home), "ITMA_DATABASE_URL": url,
                             "ITMA_SECRET_KEY": "bench-secret-key-0123456789"}))
    migrate.upgrade(app.db)
    with app.unit_of_work() as uow:
        uow.session.add(Organisation(code="BOSA", names={"fr": "SPF BOSA"}))
    return app


def run_file(app: App, data: bytes, name: str, *, apply: bool) -> dict[str, Any]:
    with app.unit_of_work() as uow:
        organisation = uow.session.query(Organisation).filter_by(code="BOSA").one()
        started, cpu = time.perf_counter(), time.process_time()
        report = pdata.validate(uow, organisation, data, name, "en")
        validated, validated_cpu = time.perf_counter(), time.process_time()
        assert report.ok, report.errors[:3]
        if apply:
            pdata.apply(uow, organisation, report)
    done, done_cpu = time.perf_counter(), time.process_time()
    result = {"rows": report.rows, "validate_s": round(validated - started, 3),
              "validate_cpu_s": round(validated_cpu - cpu, 3),
              "rows_per_s": round(report.rows / (validated - started)),
              **report.summary.as_dict()}
    if apply:
        result["apply_s"] = round(done - validated, 3)
        result["apply_cpu_s"] = round(done_cpu - validated_cpu, 3)
    return result


def per_row_costs(people: list[dataset.Person]) -> dict[str, float]:
    """Microseconds per row of the steps every row pays (same numbers, same run)."""
    from core import matching, nrn
    from core.nrn import NRNVault

    vault = NRNVault(b"bench-secret-key-0123456789")
    numbers = [p.nrn for p in people[:20_000]]
    parsed = [nrn.parse(n) for n in numbers]
    steps = {"nrn.parse": lambda: [nrn.parse(n) for n in numbers],
             "vault.lookup_hash": lambda: [vault.lookup_hash(n) for n in parsed],
             "vault.encrypt": lambda: [vault.encrypt(n) for n in parsed],
             "matching.search_key": lambda: [matching.search_key(p.surname, p.given_names)
                                             for p in people[:20_000]]}
    costs = {}
    for name, step in steps.items():
        started = time.process_time()
        step()
        costs[name] = round((time.process_time() - started) / len(numbers) * 1e6, 2)
    return costs


def csv_floor(data: bytes) -> float:
    started = time.perf_counter()
    text = data.decode("utf-8-sig")
    count = sum(1 for _ in csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert count > 1
    return time.perf_counter() - started


def import_baseline(url: str, home: Path, people: list[dataset.Person]) -> float:
    app = fresh_app(url, home)
    path = home / "baseline.csv"
    rows = [[p.nrn, p.surname, p.given_names, p.email, p.language, "BOSA", p.department]
            for p in people]
    path.write_bytes(dataset.csv_file(rows, header=(
        "national_register_number", "surname", "given_names", "email", "language",
        "organisation", "department")))
    started = time.perf_counter()
    with app.unit_of_work() as uow:
        import_collaborators(uow, path)
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed


def bench_engine(engine: str, rows: int) -> dict[str, Any]:
    rng = random.Random(2026)
    people = dataset.people(rng, rows + rows // 2)
    first, newcomers = people[:rows], people[rows:]
    add_file = dataset.csv_file(dataset.rows_for(first, [], []))
    updates, leaves = first[: rows * 4 // 10], first[rows * 4 // 10: rows // 2]
    mixed_rows = dataset.rows_for(newcomers, updates, leaves)
    mixed_file = dataset.csv_file(mixed_rows)
    home = Path(tempfile.mkdtemp(prefix=f"itma-bench-pdata-{engine}-"))
    try:
        with database(engine, home) as url:
            app = fresh_app(url, home)
            results = {
                "add": run_file(app, add_file, "add.csv", apply=True),
                "mixed": run_file(app, mixed_file, "mixed.csv", apply=True),
            }
            # the same rows again, now that they are applied: adds are known, so as updates
            again = dataset.rows_for([], updates + newcomers, [])
            results["mixed.xlsx"] = run_file(app, dataset.xlsx_file(again), "mixed.xlsx",
                                             apply=False)
            app.close()
        baseline_home = home / "baseline"
        baseline_home.mkdir()
        with database(engine, baseline_home) as url:
            results["baseline"] = {"csv_split_s": round(csv_floor(add_file), 3),
                                   "import_collaborators_s": round(
                                       import_baseline(url, baseline_home, first), 3)}
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return results


def table(rows: int, report: dict[str, dict[str, Any]]) -> str:
    lines = [f"{rows:,} rows per file; validation alone, then apply including the commit "
             "(wall clock; this process's CPU in brackets).", "",
             "| database | file | validate s | rows/s | apply s | added | updated | left | "
             "vs baseline |",
             "|---|---|---|---|---|---|---|---|---|"]
    for engine, results in report.items():
        base = results["baseline"]
        for name in ("add", "mixed", "mixed.xlsx"):
            r = results[name]
            if name == "add":
                ratio = (r["validate_s"] + r["apply_s"]) / base["import_collaborators_s"]
                versus = f"validate+apply {ratio:.2f}× import collaborators"
            else:
                versus = f"validate {r['validate_s'] / base['csv_split_s']:.0f}× csv split"
            applied = (f"{r['apply_s']} ({r['apply_cpu_s']})" if "apply_s" in r else "—")
            lines.append(f"| {engine} | {name} | {r['validate_s']} ({r['validate_cpu_s']}) | "
                         f"{r['rows_per_s']:,} | {applied} | {r['added']} | {r['updated']} | "
                         f"{r['left']} | {versus} |")
        lines.append(f"| {engine} | baseline | csv split {base['csv_split_s']} s | | "
                     f"import collaborators {base['import_collaborators_s']} s | | | | |")
    worst_validate = max(r[n]["validate_s"] for r in report.values()
                         for n in ("add", "mixed", "mixed.xlsx"))
    worst_apply = max(r[n]["apply_s"] for r in report.values() for n in ("add", "mixed"))
    lines += ["", f"Targets: validation < {VALIDATE_TARGET_S} s (worst {worst_validate} s: "
                  f"{'met' if worst_validate < VALIDATE_TARGET_S else 'NOT met'}), apply < "
                  f"{APPLY_TARGET_S} s (worst {worst_apply} s: "
                  f"{'met' if worst_apply < APPLY_TARGET_S else 'NOT met'})."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pdata", description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    engines = [e for e in args.databases.split(",") if e]
    if "postgresql" in engines:
        from tests.support.postgres import PostgresError, find_pg_bin

        try:
            find_pg_bin()
        except PostgresError as exc:
            print(f"note: PostgreSQL skipped ({exc})", file=sys.stderr)
            engines.remove("postgresql")
    report = {engine: bench_engine(engine, args.rows) for engine in engines}
    costs = per_row_costs(dataset.people(random.Random(7), 20_000))
    print(table(args.rows, report))
    print("\nPer row, µs of CPU: " + ", ".join(f"{k} {v}" for k, v in costs.items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rows": args.rows, "machine": platform.platform(),
                                   "python": platform.python_version(), "results": report,
                                   "per_row_us": costs},
                                  indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
