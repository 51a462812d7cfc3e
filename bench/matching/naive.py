"""Baseline (b): what a developer writes first — rapidfuzz over the whole organisation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from rapidfuzz import fuzz, process

from core.matching.normalise import search_key

NAIVE_CUTOFF = 75.0


class NaiveScan:
    def __init__(self, rows: Sequence[tuple[int, str, str, str]]) -> None:
        """rows: (id, surname, given_names, organisation)."""
        choices: dict[str, list[str]] = defaultdict(list)
        ids: dict[str, list[int]] = defaultdict(list)
        for person_id, surname, given, organisation in rows:
            choices[organisation].append(search_key(surname, given))
            ids[organisation].append(person_id)
        self.choices = dict(choices)
        self.ids = dict(ids)

    def search(self, query: str, organisation: str, limit: int = 5) -> list[int]:
        found = process.extract(search_key(query), self.choices[organisation],
                                scorer=fuzz.WRatio, limit=limit, score_cutoff=NAIVE_CUTOFF)
        return [self.ids[organisation][index] for _choice, _score, index in found]
