"""python -m bench.utterances [--half dev|test|all] [--show-errors] — how well sentences are read.

For each language and overall, on the chosen half of the corpus (bench/utterances/):
- intent accuracy (a `clarify` sentence must get no guessed intent; a `none` one neither);
- all slots exact (persons, code, date or month, number), over sentences with an intent;
- the "one sentence" rate: fully specified sentences answered, in one reply, with the right
  confirmation (enroll, unenroll) or the right listing or report (see world.py);
- clarify / none: the engine asks with choices (or for the missing slot) / says it did not
  understand, with examples;
- parse time p50 / p99 over sentences of each sentence's median of 20 warm runs, and the p99
  of every single run, in wall time (which also holds the scheduler's pauses on a shared
  machine) and in the thread's CPU time;
next to the parser before sentences were understood (baseline.py), measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.utterances import baseline, world
from bench.utterances.corpus import HALVES, LANGUAGES, Utterance, bench_clock, load, person_key
from core import clock, i18n
from core.conversation import Engine
from core.conversation.parser import Parsed, parse
from core.conversation.understanding import dates

RESULTS = Path(__file__).resolve().parent.parent / "results" / "utterances.json"
RUNS = 20


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _share(value: float, n: int) -> str:
    return f"{value:.1%}" if n else "—"


def _when(parsed: Parsed) -> str | None:
    return parsed.when.label() if parsed.when else None


def intent_right(utterance: Utterance, intent: str | None, code: str | None) -> bool:
    if utterance.intent == "clarify":
        return intent is None
    if utterance.intent == "none":
        return intent is None and code is None
    return intent == utterance.intent


def slots_right(utterance: Utterance, persons: list[tuple[str, ...]], code: str | None,
                when: str | None, number: int | None) -> bool:
    return (persons == utterance.person_keys and (code or None) == utterance.code
            and when == utterance.when and number == utterance.number)


def ours(utterance: Utterance) -> tuple[bool, bool]:
    parsed = parse(utterance.text)
    persons = sorted(person_key(p.text) for p in parsed.persons)
    return (intent_right(utterance, parsed.intent, parsed.code),
            slots_right(utterance, persons, parsed.code, _when(parsed), parsed.number))


def theirs(utterance: Utterance) -> tuple[bool, bool]:
    intent, code, day, number, rest = baseline.parse(utterance.text)
    intent = None if intent in ("confirm", "cancel", "number") else intent
    persons = [person_key(rest)] if rest else []
    normalised = code.upper() if code else None
    return (intent_right(utterance, intent, code),
            slots_right(utterance, persons, normalised, day.isoformat() if day else None,
                        number))


def parse_times(utterances: list[Utterance]) -> tuple[list[float], list[float], list[float]]:
    """(each sentence's median over RUNS runs, every run, every run in CPU time): the first is
    what a sentence costs; the second also holds the pauses a shared machine's scheduler adds
    (a 4 ms time slice when other processes compete for the cores); the third leaves them out."""
    for utterance in utterances:
        parse(utterance.text)
    runs: dict[str, list[float]] = defaultdict(list)
    cpu: list[float] = []
    for _ in range(RUNS):
        for utterance in utterances:
            start, start_cpu = time.perf_counter(), time.thread_time()
            parse(utterance.text)
            runs[utterance.text].append((time.perf_counter() - start) * 1000)
            cpu.append((time.thread_time() - start_cpu) * 1000)
    return ([statistics.median(r) for r in runs.values()],
            [t for r in runs.values() for t in r], cpu)


def engine_checks(utterances: list[Utterance], show: Callable[[str], None]) -> dict[str, Any]:
    """One sentence, right answer; clarify asks; none says so — against the seeded demo."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with world.demo_app() as app:
        engine = Engine(app)
        for utterance in utterances:
            row = counts[utterance.language]
            if utterance.intent in ("clarify", "none"):
                reply = world.answer(engine, utterance)
                asked = bool(reply.choices) or (not reply.done and not reply.actions)
                not_understood = reply.text.startswith(
                    i18n.t(reply.language, "flow.not_understood", text="").split("«")[0]
                    .split("‘")[0].split("“")[0].split("„")[0].strip())
                good = asked if utterance.intent == "clarify" else not_understood
                row[f"{utterance.intent}_n"] += 1
                row[f"{utterance.intent}_ok"] += good
                if not good:
                    show(f"  [{utterance.language} {utterance.intent}] {utterance.text}\n"
                         f"      → {reply.text.splitlines()[0][:110]}")
                continue
            want = world.expected(app, utterance)
            if want is None:
                continue
            ok, reply = world.right_in_one(engine, utterance, want)
            row["one_n"] += 1
            row["one_ok"] += ok
            if not ok:
                show(f"  [{utterance.language} one-sentence] {utterance.text}\n"
                     f"      → {reply.text.splitlines()[0][:110] if reply.text else reply}"
                     f" {[c.label[:40] for c in reply.choices][:3]}")
    return counts


def main() -> int:
    argparser = argparse.ArgumentParser(prog="python -m bench.utterances")
    argparser.add_argument("--half", choices=[*HALVES, "all"], default="all")
    argparser.add_argument("--show-errors", action="store_true",
                           help="print the sentences read wrongly (do not use on the test half "
                                "while tuning)")
    argparser.add_argument("--parse-only", action="store_true",
                           help="skip the engine checks against the seeded demo")
    args = argparser.parse_args()
    halves = HALVES if args.half == "all" else (args.half,)
    dates.warm_up()
    clock.set_clock(bench_clock)
    results: dict[str, Any] = {}
    for half in halves:
        utterances = load((half,))
        show: Callable[[str], None] = (
            (lambda line: print(line, file=sys.stderr)) if args.show_errors else
            (lambda line: None))
        rows = []
        engine = (defaultdict(lambda: defaultdict(int)) if args.parse_only
                  else engine_checks(utterances, show))
        clock.set_clock(bench_clock)
        for language in (*LANGUAGES, "all"):
            chosen = [u for u in utterances if language in ("all", u.language)]
            scored = [u for u in chosen if u.intent != "none"]
            mine = {u: ours(u) for u in chosen}
            old = {u: theirs(u) for u in chosen}
            for u in chosen if language != "all" else []:
                if args.show_errors and not (mine[u][0] and (u.intent == "none" or mine[u][1])):
                    p = parse(u.text)
                    print(f"  [{u.language} parse] {u.text}\n      → {p.intent} "
                          f"{p.readings or ''} persons={[x.text for x in p.persons]} "
                          f"code={p.code} when={_when(p)} n={p.number}   want {u.intent} "
                          f"{list(u.persons)} {u.code} {u.when} {u.number}", file=sys.stderr)
            times, every_run, cpu = parse_times(chosen)
            counts: dict[str, int] = defaultdict(int)
            for key in ("one_n", "one_ok", "clarify_n", "clarify_ok", "none_n", "none_ok"):
                counts[key] = sum(engine[lang][key] for lang in LANGUAGES
                                  if language in ("all", lang))
            row = {
                "language": language, "sentences": len(chosen),
                "intent": sum(mine[u][0] for u in chosen) / len(chosen),
                "all_slots": sum(mine[u][1] for u in scored) / len(scored),
                "one_sentence": counts["one_ok"] / max(counts["one_n"], 1),
                "one_sentence_n": counts["one_n"],
                "clarify_asks": counts["clarify_ok"] / max(counts["clarify_n"], 1),
                "clarify_n": counts["clarify_n"],
                "none_says_so": counts["none_ok"] / max(counts["none_n"], 1),
                "none_n": counts["none_n"],
                "p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99),
                "mean_ms": statistics.fmean(times),
                "p99_every_run_ms": percentile(every_run, 99),
                "p99_every_run_cpu_ms": percentile(cpu, 99),
                "baseline_intent": sum(old[u][0] for u in chosen) / len(chosen),
                "baseline_all_slots": sum(old[u][1] for u in scored) / len(scored),
            }
            rows.append(row)
        results[half] = rows
        print(f"\n{half} half — {len(utterances)} sentences (baseline: the verb-first parser "
              f"before this work, same run)\n")
        print("| language | sentences | intent | all slots | one sentence (n) | clarify asks "
              "| none → not understood | parse p50 ms | parse p99 ms | p99 every run ms "
              "(CPU) | baseline intent | baseline slots |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['language']} | {r['sentences']} | {r['intent']:.1%} | "
                  f"{r['all_slots']:.1%} | {_share(r['one_sentence'], r['one_sentence_n'])} "
                  f"({r['one_sentence_n']}) | {_share(r['clarify_asks'], r['clarify_n'])} | "
                  f"{_share(r['none_says_so'], r['none_n'])} | {r['p50_ms']:.3f} | "
                  f"{r['p99_ms']:.3f} | {r['p99_every_run_ms']:.2f} "
                  f"({r['p99_every_run_cpu_ms']:.2f}) | {r['baseline_intent']:.1%} | "
                  f"{r['baseline_all_slots']:.1%} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous.update({half: [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
                            for r in rows] for half, rows in results.items()})
    RESULTS.write_text(json.dumps(previous, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
