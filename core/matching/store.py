"""The index of one database: loaded once, then caught up with changed rows before each search.

Rows changed by another instance are picked up through `updated_at` (indexed). Rows within a
small margin before the newest one seen are read again until that margin has passed, for
commits that land late or clocks slightly apart; after that a search costs one MAX() query.
Applying a row twice is harmless.

A process's first search may start from the index cached on disk (core/matching/cache.py)
instead of reading every row: `search(..., cache=path)`. The cache is written only from a
full read whose newest row has settled (older than the margin), so that a slow commit that
lands just after the read cannot be missing from the file.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core import clock
from core.matching import cache as disk
from core.models import Collaborator

if TYPE_CHECKING:
    from core.matching.index import Candidate, NameIndex

MIN_SCORE = 70.0
CLEAR_WINNER_SCORE = 95.0
CLEAR_WINNER_GAP = 8.0
SKEW_MARGIN = timedelta(seconds=5)


class IndexedCollaborators:
    def __init__(self) -> None:
        self._index: NameIndex | None = None
        self._watermark: datetime | None = None
        self._lock = threading.Lock()
        self.loaded_from: str | None = None
        """How this process's index began: "cache", "database", or None before a search."""

    @property
    def index(self) -> NameIndex:
        """Made at the first search: rapidfuzz is imported by processes that search only."""
        if self._index is None:
            from core.matching.index import NameIndex

            self._index = NameIndex()
        return self._index

    @index.setter
    def index(self, value: NameIndex) -> None:
        self._index = value

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
            self._highest_id = max(self._highest_id, person_id)
        self._watermark = watermark  # stays None while the table is empty: next time, read all
        return count

    _highest_id = 0

    def _start(self, session: Session, path: Path) -> None:
        """The first look of this process: the cached index if it still fits, else a full
        read — written to the cache when it has settled."""
        from core.matching.index import NameIndex

        wanted = disk.current_key(session)
        with _collector_paused():
            state = disk.load(path, wanted)
            try:
                loaded = None if state is None else NameIndex.from_state(state)
            except (ValueError, TypeError, KeyError, IndexError):
                loaded = None
        if loaded is not None and wanted["newest"] is not None:
            self.index = loaded
            self._watermark = datetime.fromisoformat(wanted["newest"])
            self.loaded_from = "cache"
            return
        count = self.refresh(session)
        self.loaded_from = "database"
        if self._watermark is not None and clock.now() - self._watermark > SKEW_MARGIN:
            disk.save(path, disk.key(count, self._watermark, self._highest_id),
                      self.index.state())

    def search(self, session: Session, organisation_ids: Collection[int], query: str,
               limit: int = 5, min_score: float = MIN_SCORE,
               cache: Path | None = None) -> list[Candidate]:
        with self._lock:
            if self.loaded_from is None and cache is not None:
                self._start(session, cache)
            elif self.loaded_from is None:
                self.loaded_from = "database"
            self.refresh(session)
            return self.index.search(query, organisation_ids, limit, min_score)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Tens of thousands of small objects at once: without this, the cyclic collector walks
    every object of the process several times over (60 of the 85 ms of a load at 20,000)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def clear_winner(candidates: Sequence[Candidate]) -> Candidate | None:
    """One candidate that is both a near-exact match and well ahead of the next one."""
    if not candidates or candidates[0].score < CLEAR_WINNER_SCORE:
        return None
    if len(candidates) > 1 and candidates[0].score - candidates[1].score < CLEAR_WINNER_GAP:
        return None
    return candidates[0]
