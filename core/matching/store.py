"""The index of one database: loaded once, then caught up with changed rows before each search.

Rows changed by another instance are picked up through `updated_at` (indexed). Rows within a
small margin before the newest one seen are read again until that margin has passed, for
commits that land late or clocks slightly apart; after that a search costs one MAX() query.
Applying a row twice is harmless.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core import clock
from core.matching.index import Candidate, NameIndex
from core.models import Collaborator

MIN_SCORE = 70.0
CLEAR_WINNER_SCORE = 95.0
CLEAR_WINNER_GAP = 8.0
SKEW_MARGIN = timedelta(seconds=5)


class IndexedCollaborators:
    def __init__(self) -> None:
        self.index = NameIndex()
        self._watermark: datetime | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _columns() -> Select[tuple[int, str, str, int, bool, datetime]]:
        return select(Collaborator.id, Collaborator.surname, Collaborator.given_names,
                      Collaborator.organisation_id, Collaborator.active, Collaborator.updated_at)

    def refresh(self, session: Session) -> int:
        """Apply rows changed since the last look; returns how many were read."""
        query = self._columns()
        if self._watermark is not None:
            latest = session.scalar(select(func.max(Collaborator.updated_at)))
            settled = clock.now() - self._watermark > SKEW_MARGIN
            if latest is None or (latest <= self._watermark and settled):
                return 0  # nothing newer, and too late for a slow commit to land before it
            query = query.where(Collaborator.updated_at >= self._watermark - SKEW_MARGIN)
        count = 0
        watermark = self._watermark
        for person_id, surname, given, organisation_id, active, updated_at in session.execute(
                query):
            self.index.upsert(person_id, surname, given, organisation_id, active)
            watermark = updated_at if watermark is None else max(watermark, updated_at)
            count += 1
        self._watermark = watermark  # stays None while the table is empty: next time, read all
        return count

    def search(self, session: Session, organisation_ids: Collection[int], query: str,
               limit: int = 5, min_score: float = MIN_SCORE) -> list[Candidate]:
        with self._lock:
            self.refresh(session)
            return self.index.search(query, organisation_ids, limit, min_score)


def clear_winner(candidates: Sequence[Candidate]) -> Candidate | None:
    """One candidate that is both a near-exact match and well ahead of the next one."""
    if not candidates or candidates[0].score < CLEAR_WINNER_SCORE:
        return None
    if len(candidates) > 1 and candidates[0].score - candidates[1].score < CLEAR_WINNER_GAP:
        return None
    return candidates[0]
