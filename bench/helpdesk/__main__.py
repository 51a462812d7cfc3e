"""python -m bench.helpdesk [--half blind6|dev|test|blind…|NAME|all] [--rounds N] [--show-errors].

On the chosen set of bench/helpdesk/corpus (any directory of corpus/ holding LANG.txt files:
`--half blind6` reads corpus/blind6/) — by default blind6, the held-out set, once it is there
(every other set trained the model and the vocabulary; without blind6, blind5) — every
mail is written as an RFC 5322 message and handed to what `helpdesk process` runs
(mail_gateway.helpdesk.process) against a fresh SQLite database, as it would arrive. A set is
read as written (no corpus.CORRECTIONS): blind5 gives its first figure again. From the tickets
it opens (a mail labelled `no-ticket` is right when the gateway opens none; a mail that makes
no ticket is "no-ticket", its language what the triage would have said):
- category accuracy overall, per category (recall, precision) and per language, and the
  confusion matrix (rows: the label, columns: what the triage said);
- language detection accuracy and its confusion matrix;
- next to a naive Bayes classifier (words for the category, character trigrams for the
  language) trained on the development half in the same run: the baseline;
- messages per second through the whole path (parse, read, triage, ticket, context, draft,
  acknowledgement, commit), wall time and CPU time, over `--rounds` passes of the half; and the
  share of it spent classifying.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.helpdesk.baseline import NaiveBayes, trigram_features, word_features
from bench.helpdesk.corpus import BLIND5, HALVES, HELD_OUT, LANGUAGES, NO_TICKET, Mail, load, sets
from bench.helpdesk.train import TRAINED_ON
from core import migrate
from core.app import App
from core.config import load_settings
from core.models import HelpdeskMessage
from core.services import triage
from mail_gateway import helpdesk as gateway

RESULTS = Path(__file__).resolve().parent.parent / "results" / "helpdesk.json"
CATEGORIES = triage.CATEGORIES


def message(mail: Mail, index: int, round_: int) -> bytes:
    out = EmailMessage()
    out["From"] = formataddr((f"Sender {index}", f"sender{index}@org{index % 7}.example"))
    out["To"] = "helpdesk-itma@itma.localhost"
    out["Subject"] = mail.subject
    out["Date"] = "Mon, 30 Nov 2026 09:00:00 +0100"
    out["Message-ID"] = f"<bench-{round_}-{index}@bench.example>"
    out.set_content(mail.body + "\n")
    return bytes(out)


def share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def matrix(labels: tuple[str, ...], pairs: list[tuple[str, str]]) -> list[str]:
    counts = Counter(pairs)
    width = max(len(x) for x in labels) + 1
    head = " " * width + " ".join(f"{x[:6]:>6}" for x in labels)
    rows = [head] + [f"{t:<{width}}" + " ".join(f"{counts[(t, p)] or '·':>6}" for p in labels)
                     for t in labels]
    return rows


def through_process(mails: list[Mail], rounds: int) -> tuple[dict[int, tuple[str, str, str]],
                                                             dict[str, float]]:
    """Every mail through the helpdesk's inbound path; (category, language, why no ticket)
    per mail (its rank: two mails of a set may share a topic), read back from the tickets, and
    the timings."""
    with tempfile.TemporaryDirectory(prefix="itma-bench-helpdesk-") as home:
        app = App(load_settings({"ITMA_HOME": home, "ITMA_SECRET_KEY": "bench-secret-key-0123"}))
        migrate.upgrade(app.db)
        raws = [[message(m, i, r) for i, m in enumerate(mails)] for r in range(rounds)]
        wall, cpu = time.perf_counter(), time.process_time()
        found = {}
        for round_, batch in enumerate(raws):
            for index, raw in enumerate(batch):
                outcome = gateway.process(app, raw, via="pipe")
                if outcome.reason != "ticket_opened" and round_ == 0:
                    # no ticket (an out-of-office subject, say): right only for `no-ticket`
                    mail = mails[index]
                    language = triage.detect_language(f"{mail.subject}\n{mail.body}")[0]
                    found[index] = (NO_TICKET, language, f"{outcome.reason}: {outcome.detail}")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with app.unit_of_work(readonly=True) as uow:
            for row in uow.session.scalars(select(HelpdeskMessage).where(
                    HelpdeskMessage.message_id.like("<bench-0-%"))):
                index = int(row.message_id.split("-")[2].split("@")[0])
                found[index] = (row.ticket.category, row.ticket.language.value, "")
        app.close()
    count = len(mails) * rounds
    return found, {"messages": count, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                   "per_second_wall": round(count / wall, 1),
                   "per_second_cpu": round(count / cpu, 1)}


def classify_time(mails: list[Mail]) -> float:
    """Median microseconds to classify one mail (subject and body), warm."""
    runs = []
    for mail in mails:
        start = time.perf_counter()
        for _ in range(5):
            triage.triage(mail.subject, mail.body)
        runs.append((time.perf_counter() - start) / 5 * 1e6)
    return round(statistics.median(runs), 1)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.helpdesk")
    known = sets()
    parser.add_argument("--half", choices=[*known, "all"],
                        default=HELD_OUT if HELD_OUT in known else BLIND5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--save", action="store_true",
                        help="also save a set other than the held-out one "
                             "(bench/results/helpdesk-HALF.json)")
    args = parser.parse_args()
    halves = HALVES if args.half == "all" else (args.half,)
    mails = load(halves)
    development = load(("dev",))
    words_nb = NaiveBayes(word_features).fit(
        (f"{m.subject}\n{m.body}", m.category) for m in development)
    letters_nb = NaiveBayes(trigram_features).fit(
        (f"{m.subject}\n{m.body}", m.language) for m in development)

    found, speed = through_process(mails, args.rounds)
    speed["classify_us_p50"] = classify_time(mails)
    ours = [(m, *found[i][:2]) for i, m in enumerate(mails)]
    why = {i: found[i][2] for i in found}
    base = [(m, words_nb.predict(f"{m.subject}\n{m.body}"),
             letters_nb.predict(f"{m.subject}\n{m.body}")) for m in mails]

    def rate(rows: list[tuple[Mail, str, str]], keep: Any = None) -> tuple[int, int, int]:
        chosen = [r for r in rows if keep is None or keep(r[0])]
        return (len(chosen), sum(r[0].category == r[1] for r in chosen),
                sum(r[0].language == r[2] for r in chosen))

    tuned = "all" if args.half == "all" else args.half
    status = ("held out: never tuned on" if args.half == HELD_OUT else
              "TUNED ON: the vocabulary and the model learnt these mails" if tuned in TRAINED_ON
              or args.half == "all" else "not tuned on")
    lines = [f"helpdesk triage — {args.half}, {len(mails)} mails ({status}; "
             f"baseline: naive Bayes trained on the dev half, {len(development)} mails)", ""]
    n, right, lang = rate(ours)
    _, base_right, base_lang = rate(base)
    lines += [f"category accuracy {share(right, n)} (baseline {share(base_right, n)}); "
              f"language {share(lang, n)} (baseline {share(base_lang, n)})", ""]
    result: dict[str, Any] = {"half": args.half, "mails": n, "status": status,
                              "accuracy": round(right / n, 4),
                              "language_accuracy": round(lang / n, 4),
                              "baseline": {"accuracy": round(base_right / n, 4),
                                           "language_accuracy": round(base_lang / n, 4)},
                              "per_category": {}, "per_language": {}}
    lines.append(f"{'category':<14} {'n':>4} {'recall':>8} {'precision':>10} {'baseline':>9}")
    labelled = CATEGORIES + ((NO_TICKET,) if any(m.category == NO_TICKET for m in mails) else ())
    for category in labelled:
        n_c, right_c, _ = rate(ours, lambda m, c=category: m.category == c)
        said = sum(r[1] == category for r in ours)
        precise = sum(r[1] == category and r[0].category == category for r in ours)
        _, base_c, _ = rate(base, lambda m, c=category: m.category == c)
        lines.append(f"{category:<14} {n_c:>4} {share(right_c, n_c):>8} "
                     f"{share(precise, said):>10} {share(base_c, n_c):>9}")
        result["per_category"][category] = {
            "mails": n_c, "accuracy": round(right_c / n_c, 4) if n_c else None,
            "precision": round(precise / said, 4) if said else None,
            "baseline": round(base_c / n_c, 4) if n_c else None}
    lines += ["", f"{'language':<14} {'n':>4} {'category':>8} {'detected':>9} {'baseline':>9}"]
    for language in LANGUAGES:
        n_l, right_l, lang_l = rate(ours, lambda m, x=language: m.language == x)
        _, base_l, _ = rate(base, lambda m, x=language: m.language == x)
        lines.append(f"{language:<14} {n_l:>4} {share(right_l, n_l):>8} "
                     f"{share(lang_l, n_l):>9} {share(base_l, n_l):>9}")
        result["per_language"][language] = {
            "mails": n_l, "accuracy": round(right_l / n_l, 4) if n_l else None,
            "language_detection": round(lang_l / n_l, 4) if n_l else None,
            "baseline": round(base_l / n_l, 4) if n_l else None}
    category_pairs = [(m.category, c) for m, c, _ in ours]
    language_pairs = [(m.language, lang_) for m, _, lang_ in ours]
    columns = (*CATEGORIES, NO_TICKET)
    lines += ["", "confusion (rows: label, columns: triage)",
              *matrix(columns, category_pairs),
              "", "languages (rows: written in, columns: detected)",
              *matrix(LANGUAGES, language_pairs)]
    result["confusion"] = {t: {p: category_pairs.count((t, p)) for p in columns}
                           for t in columns}
    result["no_ticket"] = [{"mail": m.key, "label": m.category, "subject": m.subject,
                            "outcome": why[i],
                            "triage_alone": triage.triage(m.subject, m.body).category}
                           for i, (m, c, _lang) in enumerate(ours) if c == NO_TICKET]
    result["language_confusion"] = {t: {p: language_pairs.count((t, p)) for p in LANGUAGES}
                                    for t in LANGUAGES}
    classify_share = speed["classify_us_p50"] * speed["messages"] / 1e6 / speed["wall_s"]
    lines += ["", f"through helpdesk process (in-process, SQLite): {speed['messages']} messages "
              f"in {speed['wall_s']} s — {speed['per_second_wall']} messages/s wall, "
              f"{speed['per_second_cpu']} /s CPU; classifying one mail: "
              f"{speed['classify_us_p50']} µs (p50), {classify_share:.1%} of the time"]
    result["throughput"] = speed
    if args.show_errors:
        lines += ["", "errors:"]
        lines += [f"  {m.language} {m.topic}: {m.category} → {c}"
                  f"{f' ({why[i]})' if c == NO_TICKET else ''}"
                  f"{'' if lang_ == m.language else f' (language {lang_})'}"
                  f" — {m.subject}"
                  for i, (m, c, lang_) in enumerate(ours)
                  if c != m.category or lang_ != m.language]
    print("\n".join(lines))
    if not args.no_save and (args.half == HELD_OUT or args.save):
        RESULTS.parent.mkdir(exist_ok=True)
        target = RESULTS if args.half == HELD_OUT else RESULTS.with_name(
            f"helpdesk-{args.half}.json")
        text = json.dumps(result, indent=1, ensure_ascii=False) + "\n"
        target.write_text(text, "utf-8")
        first = RESULTS.with_name(f"helpdesk-{args.half}-first.json")
        if args.half == HELD_OUT and not first.exists():
            first.write_text(text, "utf-8")  # the held-out figure as first measured, kept
    return 0


if __name__ == "__main__":
    sys.exit(main())
