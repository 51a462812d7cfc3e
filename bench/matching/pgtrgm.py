"""The pg_trgm baseline of the fuzzy surname search benchmark.

What a PostgreSQL shop would do: fold names in the application (lower case, accents stripped,
punctuation to spaces), keep them in a ``search`` column with a trigram GIN index, and ask for
``search % query`` (similarity above ``pg_trgm.similarity_threshold``, 0.3 by default) ranked by
``similarity()``. The whole "surname given_names" string is indexed, so long given names dilute
the similarity of a surname-only query: a "Van den Bossche" with three given names can fall under
the threshold for "vandenbossche" while one called "Marc" is found. That is the baseline's
behaviour, measured as is.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l",
                          "ı": "i", "þ": "th"})
_NON_ALNUM = re.compile(r"[\W_]+")

_SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "DROP TABLE IF EXISTS people",
    "CREATE TABLE people (id int PRIMARY KEY, organisation text NOT NULL,"
    " surname text NOT NULL, given_names text NOT NULL, search text NOT NULL)",
]
_COPY = "COPY people (id, organisation, surname, given_names, search) FROM STDIN"
_INDEXES = [
    "CREATE INDEX people_search_trgm ON people USING gin (search gin_trgm_ops)",
    "CREATE INDEX people_organisation ON people (organisation)",
]
_SIZE = "SELECT pg_relation_size('people_search_trgm') + pg_relation_size('people')"
_SEARCH = ("SELECT id FROM people WHERE organisation = %s AND search %% %s"
           " ORDER BY similarity(search, %s) DESC, id LIMIT %s")


def fold(text: str) -> str:
    """``"Van den Bossche-Dupré, Zoë"`` -> ``"van den bossche dupre zoe"``."""
    lowered = text.lower().translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", lowered)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_ALNUM.sub(" ", bare).split())


@dataclass(frozen=True)
class Row:
    """One person as the benchmark hands it over."""

    id: int
    surname: str
    given_names: str
    organisation: str


class TrigramSearch:
    """Surname search the way a PostgreSQL shop would do it: pg_trgm similarity with a GIN index.

    One persistent autocommit connection; every query is prepared server-side on first use
    (``prepare_threshold=0``).
    """

    def __init__(self, dsn: str) -> None:
        self._conn: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(
            dsn, autocommit=True, prepare_threshold=0)

    def __enter__(self) -> TrigramSearch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def load(self, rows: Sequence[Row]) -> float:
        """(Re)create the ``people`` table with ``rows``; seconds spent on COPY + indexes.

        ``ANALYZE`` runs afterwards and is not counted, nor is creating the empty table.
        """
        conn = self._conn
        for statement in _SCHEMA:
            conn.execute(statement, prepare=False)
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(_COPY) as copy:
            for row in rows:
                copy.write_row((row.id, row.organisation, row.surname, row.given_names,
                                fold(f"{row.surname} {row.given_names}")))
        for statement in _INDEXES:
            conn.execute(statement, prepare=False)
        elapsed = time.perf_counter() - started
        conn.execute("ANALYZE people", prepare=False)
        return elapsed

    def index_size_bytes(self) -> int:
        """Bytes of the trigram GIN index plus the table's heap."""
        found = self._conn.execute(_SIZE, prepare=False).fetchone()
        return int(found[0]) if found else 0

    def search(self, query: str, organisation: str, limit: int = 5) -> list[int]:
        """Ids of the best matches of ``query`` within ``organisation``, best first."""
        folded = fold(query)
        if not folded or limit <= 0:
            return []
        cur = self._conn.execute(_SEARCH, (organisation, folded, folded, limit), prepare=True)
        return [int(row[0]) for row in cur.fetchall()]

    def close(self) -> None:
        self._conn.close()
