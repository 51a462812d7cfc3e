"""Fuzzy collaborator search that understands Belgian names (see normalise and index).

The names below are loaded on first use: a process that never searches (`mail process`, run
by the MTA for every mail) does not import rapidfuzz through core.app.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.matching.index import Candidate, NameIndex
    from core.matching.normalise import search_key
    from core.matching.store import (
        CLEAR_WINNER_GAP,
        CLEAR_WINNER_SCORE,
        MIN_SCORE,
        IndexedCollaborators,
        clear_winner,
    )

_WHERE = {"Candidate": "index", "NameIndex": "index", "search_key": "normalise",
          "CLEAR_WINNER_GAP": "store", "CLEAR_WINNER_SCORE": "store", "MIN_SCORE": "store",
          "IndexedCollaborators": "store", "clear_winner": "store"}

__all__ = ["CLEAR_WINNER_GAP", "CLEAR_WINNER_SCORE", "MIN_SCORE", "Candidate",
           "IndexedCollaborators", "NameIndex", "clear_winner", "search_key"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'core.matching' has no attribute {name!r}")
    value = getattr(import_module(f"core.matching.{module}"), name)
    globals()[name] = value
    return value
