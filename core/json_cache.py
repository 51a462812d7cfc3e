"""Keyed JSON files under $ITMA_HOME/cache: what a one-shot process (the MTA pipe, `say`,
`collaborators search`) would otherwise rebuild from scratch every time it starts.

A file holds ``{"key": …, FIELD: data}``. It is JSON, so loading it runs no code; written to a
temporary file then renamed, so concurrent writers leave one whole file; mode 0600 in a 0700
directory. It is used only while its key is the one the caller computes now (a hash of the
sources it was built from). Anything else — another key, a damaged or foreign file, no
ITMA_HOME, a full disk — is a miss or a skipped write: the caller builds, as without a cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def home_file(name: str) -> Path | None:
    """$ITMA_HOME/cache/NAME; None without ITMA_HOME (no cache then)."""
    home = os.environ.get("ITMA_HOME")
    return Path(home).expanduser() / "cache" / name if home else None


def load(file: Path, wanted: Any, field: str) -> Any:
    """The stored data if the file's key is `wanted`, else None."""
    try:
        stored = json.loads(file.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != wanted:
        return None
    return stored.get(field)


def save(file: Path, stored_key: Any, field: str, data: Any) -> None:
    """Write atomically, owner-only; a failure only means no cache next time."""
    try:
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{file.stem}-", dir=file.parent)
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:  # mkstemp: mode 0600
            json.dump({"key": stored_key, field: data}, out, ensure_ascii=False,
                      separators=(",", ":"))
        os.replace(temporary, file)
    except (OSError, TypeError, ValueError):  # TypeError/ValueError: not JSON data
        with contextlib.suppress(OSError):
            os.unlink(temporary)
