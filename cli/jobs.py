"""`jobs run [--today YYYY-MM-DD]`: the daily jobs once (cron, tests), printing what they did."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, time
from typing import Any

from cli.officers import _date
from cli.runtime import make_app, print_json
from core import clock
from core.services import jobs


def register(sub: argparse._SubParsersAction, command: Any) -> None:
    p = command("run", "run the daily jobs once (reminders, expiry, lapsed holds)", sub)
    p.add_argument("--today", type=_date, metavar="YYYY-MM-DD",
                   help="run as on that day (the clock is set to its noon, Brussels time)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.today is not None:
        moment = datetime.combine(args.today, time(12), clock.LOCAL_TZ).astimezone(UTC)
        clock.set_clock(lambda: moment)
    app = make_app()
    report = jobs.run(app, args.today)
    if args.json:
        print_json({"today": report.today.isoformat(), "jobs": report.done})
        return 0
    for name, rows in report.done.items():
        print(f"{report.today.isoformat()} {name}: {len(rows)}")
        for row in rows:
            print("  " + " ".join(f"{k}={v}" for k, v in row.items()))
    return 0
