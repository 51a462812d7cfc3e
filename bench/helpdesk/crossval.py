"""python -m bench.helpdesk.crossval — how well the triage reads mail it never saw, estimated
from the labelled sets alone: leave one set out.

For each set of bench/helpdesk/corpus (dev, test, blind … blind5) the model is trained by
bench/helpdesk/train.py on every other set (and corpus/extra, training-only) and read the set
left out, as `helpdesk process` would hand it over (the text without quoted history); a mail
the gateway refuses as automatic (mail_gateway.automatic) is "no-ticket", right only when so
labelled (blind5's out-of-office replies are, corpus.CORRECTIONS). Printed:
- the model alone, per set and per category: an honest estimate, each set was written apart
  and the model never saw it;
- the rules and the model together. The vocabulary of templates/helpdesk/triage.toml was
  tuned on dev … blind5, so on those sets today's rules flatter themselves. Honest instead:
  each blind set read with the vocabulary of the day it was first measured (taken from git
  history, HISTORY below) and the model that left it out — the figure that chose how much
  the rules weigh against the model.
Writes bench/results/helpdesk-crossval.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from bench.helpdesk.__main__ import message
from bench.helpdesk.corpus import (
    BLIND,
    BLIND2,
    BLIND3,
    BLIND4,
    BLIND5,
    EXTRA,
    HALVES,
    NO_TICKET,
    Mail,
    load,
)
from bench.helpdesk.train import train
from core.services import triage
from mail_gateway.automatic import automatic_reason
from mail_gateway.headers import Headers
from mail_gateway.quoting import MAX_LINES, body_text, reply_part

REPOSITORY = Path(__file__).resolve().parent.parent.parent
RESULTS = REPOSITORY / "bench" / "results" / "helpdesk-crossval.json"
FOLDS = (*HALVES, BLIND, BLIND2, BLIND3, BLIND4, BLIND5)
HISTORY = {BLIND: "b259e76", BLIND2: "ea1d5da", BLIND3: "761ff2b", BLIND4: "723e378",
           BLIND5: "ff5373e"}
"""The commit whose triage.toml read each blind set the first time (blind4: the vocabulary
broadened before it was measured, without looking at it)."""
CATEGORIES = (*triage.CATEGORIES, NO_TICKET)

Row = tuple[str, Mail, str]


def gateway_text(mail: Mail) -> str | None:
    """The body as the helpdesk keeps it (mail_gateway.helpdesk.read): no quoted history;
    None when the gateway takes the mail for automatic and opens no ticket."""
    parsed = message_from_bytes(message(mail, 0, 0), policy=policy.default)
    if automatic_reason(Headers(parsed)):  # type: ignore[arg-type]
        return None
    full = "\n".join(body_text(parsed).split("\n", MAX_LINES)[:MAX_LINES])  # type: ignore[arg-type]
    return reply_part(full) or full.strip()


def old_vocabulary(commit: str) -> Any:
    shown = subprocess.run(["git", "show", f"{commit}:templates/helpdesk/triage.toml"],
                           cwd=REPOSITORY, capture_output=True, text=True, check=True).stdout
    return triage.vocabulary(tomllib.loads(shown))


def summary(rows: list[Row], folds: tuple[str, ...]) -> dict[str, Any]:
    def rate(keep: Callable[[Row], bool]) -> float | None:
        chosen = [r for r in rows if keep(r)]
        return round(sum(r[1].category == r[2] for r in chosen) / len(chosen), 4) \
            if chosen else None

    return {"mails": len(rows), "accuracy": rate(lambda r: True),
            "per_category": {c: rate(lambda r, c=c: r[1].category == c) for c in CATEGORIES},
            "per_set": {s: rate(lambda r, s=s: r[0] == s) for s in folds},
            "per_language": {x: rate(lambda r, x=x: r[1].language == x)
                             for x in ("fr", "nl", "en", "de")}}


def line(name: str, found: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.1%}"

    return (f"{name:<28} {pct(found['accuracy']):>6} ({found['mails']}) | "
            + " ".join(f"{c[:6]} {pct(v)}" for c, v in found["per_category"].items())
            + " | " + " ".join(f"{s} {pct(v)}" for s, v in found["per_set"].items()))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.helpdesk.crossval")
    parser.add_argument("--no-extra", action="store_true",
                        help="train without corpus/extra (what it adds)")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--show-errors", action="store_true",
                        help="list the mails the model alone or rules of the day + model miss")
    args = parser.parse_args()
    sets = {name: [(m, gateway_text(m)) for m in load((name,), corrected=True)]
            for name in FOLDS}
    extra = [] if args.no_extra else load((EXTRA,), corrected=True)
    vocabularies = {name: old_vocabulary(commit) for name, commit in HISTORY.items()}
    alone: list[Row] = []
    today: list[Row] = []
    then: list[Row] = []
    for left_out in FOLDS:
        mails = [m for name in FOLDS if name != left_out for m, _text in sets[name]] + extra
        found = triage.trained(json.loads(json.dumps(train(mails))))
        for mail, text in sets[left_out]:
            if text is None:
                for rows in (alone, today, *([then] if left_out in vocabularies else [])):
                    rows.append((left_out, mail, NO_TICKET))
                continue
            learned = found.distribution(mail.subject, text)
            alone.append((left_out, mail, max(triage.CATEGORIES, key=lambda c: learned[c])))
            points = triage.scores(mail.subject, text)
            today.append((left_out, mail, triage.combine(points, learned, found.rules_weight)[0]))
            if left_out in vocabularies:
                old = triage.scores(mail.subject, text, vocabularies[left_out])
                then.append((left_out, mail, triage.combine(old, learned, found.rules_weight)[0]))
    result = {"extra": len(extra),
              "model_alone": summary(alone, FOLDS),
              "rules_of_the_day_and_model": summary(then, tuple(HISTORY)),
              "rules_today_and_model": summary(today, FOLDS)}
    print(f"leave one set out; training adds {len(extra)} mails of corpus/extra")
    print(line("model alone", result["model_alone"]))
    print(line("rules of the day + model", result["rules_of_the_day_and_model"]))
    print(line("rules today + model (flatters)", result["rules_today_and_model"]))
    if args.show_errors:
        for name, rows in (("model alone", alone), ("rules of the day + model", then)):
            print(f"\nerrors, {name}:")
            print("\n".join(f"  {s} {m.key}: {m.category} → {said} — {m.subject}"
                            for s, m, said in rows if said != m.category))
    if not args.no_save:
        RESULTS.write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
