"""`import pdata --org CODE [--dry-run] [--errors FILE] FILE`: the validation module, run by the
operator for one organisation. Every row right: applied in one transaction. Otherwise nothing
is applied, every error is listed on stderr (and in FILE with --errors), exit 1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.runtime import CommandError, make_app, operator_language
from core import i18n
from core.services import pdata
from core.services.access import organisation_by_code

PROGRESS_FROM_ROWS = 2_000
"""Files longer than this show a progress bar on a terminal."""


class ProgressBars:
    """One tqdm bar per phase (validate, apply), only for long files and only on a terminal."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.bar: Any = None
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        if total < PROGRESS_FROM_ROWS:
            return
        if phase != self.phase:
            self.close()
            from tqdm import tqdm

            self.phase = phase
            label = i18n.t(self.language, f"pdata.progress.{phase}", done="", total="")
            self.bar = tqdm(total=total, desc=label.split(":")[0], unit=" rows",
                            file=sys.stderr, disable=None, leave=False, dynamic_ncols=True)
        if self.bar is not None:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def import_pdata(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}") from exc
    language = operator_language()
    app = make_app()
    bars = ProgressBars(language)
    try:
        with app.unit_of_work(readonly=args.dry_run) as uow:
            organisation = organisation_by_code(uow, args.org)
            report = pdata.validate(uow, organisation, source, path.name, language, bars)
            summary = None
            if report.ok and not args.dry_run:
                summary = pdata.apply(uow, organisation, report, bars, actor="operator")
    finally:
        bars.close()
    if not report.ok:
        print_errors(report, language)
        if args.errors:
            Path(args.errors).write_bytes(pdata.errors_csv(report, language))
            print(i18n.t(language, "pdata.saved_errors", path=args.errors), file=sys.stderr)
        return 1
    if summary is None:
        print(report.message(language))
        print(i18n.t(language, "pdata.dry_run"))
    else:
        print(i18n.t(language, "pdata.applied", filename=report.filename,
                     **summary.as_dict()))
    return 0


def print_errors(report: pdata.Report, language: str) -> None:
    line_word = i18n.t(language, "pdata.errors_header.line")
    column_word = i18n.t(language, "pdata.errors_header.column")
    print(f"error: {report.message(language)}", file=sys.stderr)
    for e in report.errors:
        where = []
        if e.line is not None:
            where.append(f"{line_word} {e.line}")
        if e.letter:
            where.append(f"{column_word} {e.letter} ({e.label})")
        value = f"{e.value} — " if e.value else ""
        prefix = ", ".join(where)
        print(f"  {prefix + ': ' if prefix else ''}{value}{e.reason}", file=sys.stderr)
