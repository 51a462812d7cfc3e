"""Periodic jobs, run by whichever instance holds the scheduler lock (core.leader)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from core.app import App
from core.leader import Leadership
from core.services import deliveries, enrollment, jobs

log = logging.getLogger(__name__)


def _expire_holds(app: App) -> int:
    with app.unit_of_work() as uow:
        return enrollment.expire_lapsed_holds(uow)


JOBS: dict[str, Callable[[App], int]] = {
    "expire lapsed options and offers": _expire_holds,
    "forget old delivery records": deliveries.purge,
}


class Scheduler:
    def __init__(self, app: App) -> None:
        self.app = app
        self.leader = Leadership(app, "scheduler")

    def tick(self) -> dict[str, int] | None:
        """Run every job once if this instance leads; None when another one does."""
        if not self.leader.acquire():
            return None
        done = {}
        for name, job in JOBS.items():
            try:
                done[name] = job(self.app)
            except Exception:
                log.exception("scheduled job %r failed", name)
        try:
            if jobs.due(self.app):
                report = jobs.run(self.app)
                done.update({name: len(rows) for name, rows in report.done.items()})
        except Exception:
            log.exception("daily jobs failed")
        return done

    def close(self) -> None:
        self.leader.release()
