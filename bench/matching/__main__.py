"""python -m bench.matching [--people N] [--queries Q] — quality and speed of surname search.

Runs on the same people and queries, in one process: (a) the project's NameIndex, (b) a naive
rapidfuzz scan of the organisation, (c) PostgreSQL pg_trgm with a GIN index (local server).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.matching import dataset
from bench.matching.naive import NaiveScan
from core.matching import MIN_SCORE, NameIndex, clear_winner

RESULTS = Path(__file__).resolve().parent.parent / "results"


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def timed_queries(search: Callable[[dataset.Query], list[int]],
                  queries: list[dataset.Query]) -> tuple[list[list[int]], list[float]]:
    ranked, latencies = [], []
    for query in queries:
        start = time.perf_counter()
        ranked.append(search(query))
        latencies.append((time.perf_counter() - start) * 1000)
    return ranked, latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(name: str, build: Callable[[], object], search_factory: Callable[[object], Callable],
            queries: list[dataset.Query], size: Callable[[object], int] | None = None
            ) -> dict[str, object]:
    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    engine = build()
    build_s = time.perf_counter() - start
    gc.collect()
    memory = size(engine) if size else rss_bytes() - before
    search = search_factory(engine)
    search(queries[0])
    ranked, latencies = timed_queries(search, queries)
    quality = dataset.evaluate(ranked, queries)
    row = {"engine": name, "build_s": round(build_s, 2), "memory_mb": round(memory / 2**20, 1),
           "p50_ms": round(percentile(latencies, 50), 3),
           "p99_ms": round(percentile(latencies, 99), 3),
           "mean_ms": round(statistics.fmean(latencies), 3), **quality}
    print(f"  {name}: build {row['build_s']} s, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
          f"recall@5 {quality['recall@5']:.4f}", file=sys.stderr)
    return row


def proposals(index: NameIndex, queries: list[dataset.Query],
              org_ids: dict[str, int]) -> dict[str, float]:
    """How often the conversation would propose ONE person straight away, rightly or not."""
    wrong_none = wrong_match = nones = matches = 0
    for query in queries:
        found = index.search(query.text, [org_ids[query.organisation]], limit=5,
                             min_score=MIN_SCORE)
        winner = clear_winner(found)
        if query.target is None:
            nones += 1
            wrong_none += winner is not None
        else:
            matches += 1
            wrong_match += winner is not None and winner.id not in query.accept
    return {"clear_winner_fp_no_match": round(wrong_none / max(nones, 1), 4),
            "clear_winner_wrong_on_match": round(wrong_match / max(matches, 1), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matching")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=5_000)
    parser.add_argument("--no-postgres", action="store_true", help="skip (c) pg_trgm")
    parser.add_argument("--no-naive", action="store_true", help="skip (b), slow at 1,000,000")
    args = parser.parse_args()

    print(f"generating {args.people} people and {args.queries} queries…", file=sys.stderr)
    people = dataset.population(args.people)
    queries = dataset.queries(people, args.queries)
    organisations = sorted({p.organisation for p in people})
    org_ids = {code: i for i, code in enumerate(organisations, 1)}
    rows = [(p.id, p.surname, p.given_names, p.organisation) for p in people]
    results = []

    def build_index() -> NameIndex:
        index = NameIndex()
        index.bulk_load((pid, s, g, org_ids[o], True) for pid, s, g, o in rows)
        return index

    index_holder: list[NameIndex] = []
    results.append(measure(
        "NameIndex (this project)", lambda: index_holder.append(build_index()) or index_holder[0],
        lambda index: lambda q: [c.id for c in index.search(  # type: ignore[attr-defined]
            q.text, [org_ids[q.organisation]], limit=5, min_score=MIN_SCORE)], queries))
    results[0].update(proposals(index_holder[0], queries, org_ids))
    if not args.no_naive:
        results.append(measure(
            "rapidfuzz scan (naive)", lambda: NaiveScan(rows),
            lambda naive: lambda q: naive.search(q.text, q.organisation), queries))  # type: ignore[attr-defined]
    if not args.no_postgres:
        from bench.matching.pgtrgm import Row, TrigramSearch
        from tests.support.postgres import postgres

        with postgres() as server:
            database = server.dsn(server.create_database("bench").rsplit("/", 1)[1])
            trigram = TrigramSearch(database)
            build_s: list[float] = []
            results.append(measure(
                "PostgreSQL pg_trgm", lambda: build_s.append(trigram.load(
                    [Row(*r) for r in rows])) or trigram,
                lambda t: lambda q: t.search(q.text, q.organisation),  # type: ignore[attr-defined]
                queries, size=lambda t: t.index_size_bytes()))  # type: ignore[attr-defined]
            results[-1]["build_s"] = round(build_s[0], 2)
            trigram.close()

    base = results[0]
    report = {"people": args.people, "queries": len(queries),
              "organisations": len(organisations), "results": results,
              "ratios": {r["engine"]: {"p99_vs_index": round(r["p99_ms"] / base["p99_ms"], 1),
                                       "p50_vs_index": round(r["p50_ms"] / base["p50_ms"], 1)}
                         for r in results[1:]}}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"matching-{args.people}.json").write_text(json.dumps(report, indent=2))
    print(table(report))
    return 0


def table(report: dict) -> str:
    lines = [f"people {report['people']:,}, queries {report['queries']:,} "
             f"({report['organisations']} organisations, search scoped to one)", "",
             "| engine | build s | memory MB | p50 ms | p99 ms | recall@1 | recall@5 | "
             "false positives | p99 / NameIndex |", "|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        ratio = report["ratios"].get(r["engine"], {}).get("p99_vs_index", 1.0)
        lines.append(f"| {r['engine']} | {r['build_s']} | {r['memory_mb']} | {r['p50_ms']} | "
                     f"{r['p99_ms']} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | "
                     f"{r['false_positive_rate']:.3f} | {ratio}× |")
    first = report["results"][0]
    lines += ["", f"NameIndex proposes a single person (clear winner) for "
              f"{first['clear_winner_fp_no_match']:.1%} of no-match queries and a wrong single "
              f"person for {first['clear_winner_wrong_on_match']:.2%} of the others; "
              "'false positives' counts any candidate shown at all."]
    per_kind = sorted(k for k in first if k.startswith("recall@5:"))
    lines += ["", "| corruption | " + " | ".join(r["engine"] for r in report["results"]) + " |",
              "|---|" + "---|" * len(report["results"])]
    lines += [f"| {k.split(':', 1)[1]} | " + " | ".join(f"{r.get(k, 0):.3f}"
                                                        for r in report["results"]) + " |"
              for k in per_kind]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
