"""Fuzzy collaborator search that understands Belgian names (see normalise and index)."""

from core.matching.index import Candidate, NameIndex
from core.matching.normalise import search_key
from core.matching.store import (
    CLEAR_WINNER_GAP,
    CLEAR_WINNER_SCORE,
    MIN_SCORE,
    IndexedCollaborators,
    clear_winner,
)

__all__ = ["CLEAR_WINNER_GAP", "CLEAR_WINNER_SCORE", "MIN_SCORE", "Candidate",
           "IndexedCollaborators", "NameIndex", "clear_winner", "search_key"]
