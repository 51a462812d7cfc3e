"""One instance at a time: the holder of a named lock does the job (an IMAP mailbox, a schedule).

On PostgreSQL a session advisory lock on a dedicated connection: if the holder dies, its
connection closes and the lock is free for another instance to take over. On SQLite (one host)
an flock on $ITMA_HOME/locks/NAME.lock, released the same way by the kernel.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Connection

from core.app import App

log = logging.getLogger(__name__)


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Leadership:
    def __init__(self, app: App, name: str) -> None:
        self.app = app
        self.name = name
        self._connection: Connection | None = None
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None

    def acquire(self) -> bool:
        """Take the lock if free; never waits."""
        if self.held:
            return self.alive()
        if self.app.db.is_sqlite:
            return self._acquire_file()
        connection = self.app.db.engine.connect()
        connection.detach()  # its own database session: closing it really frees the lock
        try:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                     {"k": _key(self.name)}).scalar()
            connection.commit()
        except Exception:
            connection.close()
            raise
        if got:
            self._connection = connection
            log.info("leader for %s", self.name)
            return True
        connection.close()
        return False

    def _acquire_file(self) -> bool:
        folder = self.app.settings.home / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / f"{Path(self.name).name.replace('/', '_')}.lock").open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        log.info("leader for %s", self.name)
        return True

    def alive(self) -> bool:
        """Still ours? A lost database connection means someone else may lead now."""
        if self._file is not None:
            return True
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except Exception:
            log.warning("lost the lock for %s (database connection dropped)", self.name)
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                log.debug("closing the lock connection of %s failed", self.name)
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None
