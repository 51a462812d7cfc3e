"""The daily jobs: access reminders and the notice that access ended, lapsed holds.

`serve` runs them once a day on the instance holding the scheduler lock (core.scheduler);
`itma-assistant jobs run [--today]` runs them once, for cron and for tests. Each job is
idempotent for a given day (a reminder is recorded before it is queued, in one transaction),
so a second run the same day, or on another instance, sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core import clock
from core.app import App
from core.models import Meta
from core.services import access, enrollment

LAST_RUN = "jobs.daily.last_run"


@dataclass
class Report:
    """What one run did, job by job, as facts (the CLI prints them)."""

    today: date
    done: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _reminders(app: App, today: date) -> list[dict[str, Any]]:
    with app.unit_of_work() as uow:
        return [{"officer": email, "days": days} for email, days in
                access.send_reminders(uow, today)]


def _expiry(app: App, today: date) -> list[dict[str, Any]]:
    """Access that ended is blocked by the gate already; its holder is told so once."""
    with app.unit_of_work() as uow:
        row = uow.session.get(Meta, LAST_RUN)
        since = date.fromisoformat(row.value) if row is not None else None
        return [{"officer": email} for email, _days in
                access.send_reminders(uow, today, ended=True, since=since)]


def _holds(app: App, today: date) -> list[dict[str, Any]]:
    with app.unit_of_work() as uow:
        sessions = enrollment.expire_lapsed_holds(uow)
    return [{"sessions": sessions}] if sessions else []


JOBS: dict[str, Callable[[App, date], list[dict[str, Any]]]] = {
    "access reminders": _reminders,
    "access expiry": _expiry,
    "lapsed holds": _holds,
}


def run(app: App, today: date | None = None) -> Report:
    """Run every daily job once for `today` (the clock's day by default)."""
    day = today or clock.today()
    report = Report(day)
    for name, job in JOBS.items():
        report.done[name] = job(app, day)
    with app.unit_of_work() as uow:
        row = uow.session.get(Meta, LAST_RUN)
        if row is None:
            uow.session.add(Meta(key=LAST_RUN, value=day.isoformat()))
        else:
            row.value = day.isoformat()
    return report


def due(app: App, today: date | None = None) -> bool:
    """Whether today's run has not happened yet (on any instance)."""
    with app.unit_of_work(readonly=True) as uow:
        row = uow.session.get(Meta, LAST_RUN)
    return row is None or row.value < (today or clock.today()).isoformat()
