"""Surname search among the collaborators an officer may act on.

A plain version: folded keys and rapidfuzz scoring over the organisation's people. The
fuzzy-matching issue replaces the candidate selection with a maintained index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Collaborator
from core.text import fold

_NON_WORD = re.compile(r"[^a-z0-9]+")
CLEAR_WINNER_SCORE = 95.0
CLEAR_WINNER_GAP = 8.0
MIN_SCORE = 70.0


def search_key(surname: str, given_names: str = "") -> str:
    """The folded form stored beside each collaborator: 'surname given names'."""
    return _NON_WORD.sub(" ", fold(f"{surname} {given_names}")).strip()


def _surname_key(surname: str) -> str:
    return _NON_WORD.sub("", fold(surname))


@dataclass(frozen=True)
class Candidate:
    id: int
    surname: str
    given_names: str
    organisation_id: int
    score: float


def _score(query: str, surname: str, key: str) -> float:
    folded = search_key(query)
    compact = folded.replace(" ", "")
    surname_score = fuzz.ratio(compact, _surname_key(surname))
    full_score = fuzz.token_set_ratio(folded, key)
    return max(surname_score, full_score * 0.98)


def search(session: Session, organisation_ids: Iterable[int], query: str,
           limit: int = 5, min_score: float = MIN_SCORE) -> list[Candidate]:
    ids = list(organisation_ids)
    if not query.strip() or not ids:
        return []
    rows = session.execute(
        select(Collaborator.id, Collaborator.surname, Collaborator.given_names,
               Collaborator.organisation_id, Collaborator.search_key)
        .where(Collaborator.organisation_id.in_(ids), Collaborator.active.is_(True))).all()
    return rank(query, rows, limit, min_score)


def rank(query: str, rows: Sequence[tuple[int, str, str, int, str]],
         limit: int, min_score: float = MIN_SCORE) -> list[Candidate]:
    keys = [row[4] for row in rows]
    found = process.extract(search_key(query), keys, scorer=fuzz.token_set_ratio,
                            processor=utils.default_process, limit=max(limit * 20, 50),
                            score_cutoff=min_score - 10)
    scored = []
    for _key, _s, index in found:
        row = rows[index]
        scored.append(Candidate(row[0], row[1], row[2], row[3], _score(query, row[1], row[4])))
    scored.sort(key=lambda c: (-c.score, c.surname, c.given_names))
    return [c for c in scored if c.score >= min_score][:limit]


def clear_winner(candidates: Sequence[Candidate]) -> Candidate | None:
    """One candidate that is both a near-exact match and well ahead of the next one."""
    if not candidates or candidates[0].score < CLEAR_WINNER_SCORE:
        return None
    if len(candidates) > 1 and candidates[0].score - candidates[1].score < CLEAR_WINNER_GAP:
        return None
    return candidates[0]
