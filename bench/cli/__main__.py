"""python -m bench.cli [--runs 15] [--people 20000] — how fast the command line answers.

Each case is a fresh `itma-assistant` process, as an operator or the MTA runs it, timed from
spawn to exit next to `python -c pass` (the interpreter alone) in the same run, in rounds: one
run of every case per round, so a busy moment of the machine touches every case alike.

* help — ``itma-assistant --help``;
* say — ``say --as <the demo officer> places DIG-101`` on the seeded demo;
* mail — ``mail process`` with one officer's reply to a pending request piped in (a different
  request each run: every run approves one, as the MTA pipe does);
* search — ``collaborators search`` at --people collaborators, once the index is cached (the
  first call, which builds and caches it, is reported apart).

The database is SQLite in a temporary ITMA_HOME: the demo, the pending requests of
bench/mail/world.py, and people added up to --people (bench/cli/world.py). Prints a Markdown
table (median and p90 wall ms, CPU ms, ratio to python), the verdict against the targets of
issue 16, and writes bench/results/cli.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cli import world
from bench.mail import world as mail_world
from core.demo import seed

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
TARGETS_MS = {"help": 150.0, "say": 500.0, "mail": 400.0, "search": 500.0}
SEARCHES = ("peeters", "vandenbossche", "de smedt", "dupont marie", "lambrecht", "janssens")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(argv: list[str], env: dict[str, str], stdin: bytes = b"") -> tuple[float, float, str]:
    """Wall and CPU (user + system) milliseconds of one process, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, capture_output=True, env=env, cwd=ROOT,
                          timeout=120)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv[1:]} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu, done.stdout.decode()


def summary(samples: list[tuple[float, float]], baseline: float | None) -> dict[str, Any]:
    walls = sorted(w for w, _ in samples)
    median = statistics.median(walls)
    return {"runs": len(walls), "median_ms": round(median, 1),
            "p90_ms": round(walls[min(len(walls) - 1, int(0.9 * len(walls)))], 1),
            "min_ms": round(walls[0], 1),
            "cpu_median_ms": round(statistics.median(c for _, c in samples), 1),
            "ratio_to_python": round(median / baseline, 1) if baseline else 1.0}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="rounds (≥ 10 for the README)")
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=RESULTS / "cli.json")
    parser.add_argument("--tree", type=Path, help="run the CLI of another checkout of this "
                        "repository (e.g. an older commit's `git archive`), for before/after")
    args = parser.parse_args()
    python = sys.executable
    cli = str(Path(python).parent / "itma-assistant")
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as directory:
        home = Path(directory)
        log(f"seeding the demo, {args.runs + 2} pending requests, {args.people} people…")
        app = mail_world.make_app(home)
        built = mail_world.build(app, args.runs + 2, session_share=0.0)
        people = world.grow(app, args.people)
        tokens = mail_world.tokens(app, seed.DEMO_OFFICER, built["request_ids"])
        replies = [mail_world.reply(app, token, seed.DEMO_OFFICER, "Sophie Lambert", n).raw
                   for n, token in enumerate(tokens)]
        app.close()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ITMA_HOME": str(home),
               "ITMA_SECRET_KEY": mail_world.SECRET_KEY, "LANG": "C.UTF-8",
               **({"PYTHONPATH": str(args.tree.resolve())} if args.tree else {})}
        cases: dict[str, tuple[list[str], Any]] = {
            "python": ([python, "-c", "pass"], None),
            "help": ([cli, "--help"], None),
            "say": ([cli, "say", "--as", seed.DEMO_OFFICER, "places", "DIG-101"], None),
            "mail": ([cli, "mail", "process"], "reply"),
            "search": ([cli, "collaborators", "search"], "query"),
        }
        time.sleep(6)  # past the index cache's margin after the last change (store.py)
        first_search = timed([cli, "collaborators", "search", "peeters"], env)
        log(f"first search (builds and caches the index): {first_search[0]:.0f} ms")
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        load_before = os.getloadavg()
        for round_ in range(-1, args.runs):  # round -1 warms the page cache, not counted
            for name, (argv, extra) in cases.items():
                stdin, command = b"", list(argv)
                if extra == "reply":
                    stdin = replies[round_ + 1]
                elif extra == "query":
                    command.append(SEARCHES[round_ % len(SEARCHES)])
                wall, cpu, out = timed(command, env, stdin)
                if name == "mail" and not out.startswith("approved"):
                    raise SystemExit(f"mail process did not approve: {out!r}")
                if round_ >= 0:
                    samples[name].append((wall, cpu))
        load_after = os.getloadavg()
    baseline = statistics.median(w for w, _ in samples["python"])
    results = {name: summary(s, None if name == "python" else baseline)
               for name, s in samples.items()}
    results["search_first"] = {"wall_ms": round(first_search[0], 1),
                               "cpu_ms": round(first_search[1], 1)}
    verdict = {name: results[name]["median_ms"] < target for name, target in TARGETS_MS.items()}
    report = {"bench": "cli", "tree": str(args.tree) if args.tree else "this checkout",
              "collaborators": people, "results": results,
              "targets_ms": TARGETS_MS, "met": verdict,
              "load_average": {"before": [round(x, 2) for x in load_before],
                               "after": [round(x, 2) for x in load_after]},
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(f"\n{args.runs} rounds, {people} collaborators, load average "
          f"{load_before[0]:.2f} → {load_after[0]:.2f} on {os.cpu_count()} CPUs\n")
    print("| case | median ms | p90 ms | CPU ms | × python -c pass | target ms | met |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        if name == "search_first":
            continue
        target = TARGETS_MS.get(name)
        print(f"| {name} | {r['median_ms']} | {r['p90_ms']} | {r['cpu_median_ms']} | "
              f"{r['ratio_to_python']} | {target or '—'} | "
              f"{'—' if target is None else ('yes' if verdict[name] else 'NO')} |")
    print(f"\nfirst search of a new index: {results['search_first']['wall_ms']} ms "
          f"(builds it and writes the cache)")
    print("PASS" if all(verdict.values()) else "FAIL: " + ", ".join(
        n for n, ok in verdict.items() if not ok))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(verdict.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
