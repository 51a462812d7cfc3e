"""The search index on disk, so that a one-shot process (the CLI) does not rebuild it.

Building the index reads every collaborator and folds every name: about two seconds at 20,000
people, paid by each `collaborators search` before this cache. The file is JSON (never
pickle: loading it runs no code), 0600 under ITMA_HOME (it holds names), written to a
temporary file then renamed (concurrent writers leave one whole file), and used only while its
key still describes the table: how many collaborators, the newest `updated_at`, the highest id,
the database and this code's version. Anything else — another key, a damaged or foreign file —
is a miss: the index is built from the database, as without a cache.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import json_cache
from core.models import Collaborator

FORMAT = 1
_SOURCES = ("index.py", "normalise.py", "cache.py", "../text.py")


def _code_version() -> str:
    """Changes whenever the code that shapes the index does: an old file never fits it."""
    digest = hashlib.sha256(str(FORMAT).encode())
    here = Path(__file__).parent
    for name in _SOURCES:
        with contextlib.suppress(OSError):
            digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def path_for(home: Path, database_url: str) -> Path:
    """One file per database, so two databases sharing an ITMA_HOME never mix."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return home / "cache" / f"collaborators-{digest}.json"


def key(count: int, newest: datetime | None, highest_id: int | None) -> dict[str, Any]:
    return {"format": FORMAT, "code": _code_version(), "count": count,
            "newest": newest.isoformat() if newest else None, "highest_id": highest_id}


def current_key(session: Session) -> dict[str, Any]:
    """The key of the table as it is now: one aggregate query."""
    count, newest, highest = session.execute(select(
        func.count(), func.max(Collaborator.updated_at), func.max(Collaborator.id))).one()
    return key(int(count), newest, highest)


def load(path: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The stored index state if the file's key is `wanted`, else None."""
    state = json_cache.load(path, wanted, "index")
    return state if isinstance(state, dict) else None


def save(path: Path, stored_key: dict[str, Any], state: dict[str, Any]) -> None:
    """Write atomically, owner-only; a failure only means no cache next time."""
    json_cache.save(path, stored_key, "index", state)
