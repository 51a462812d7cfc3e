"""Backups of the database: SQLite through its online backup API, PostgreSQL through pg_dump.

SQLite: `backup` copies the live database with the online backup API in ONE step: the database
runs in WAL mode, where a reader never blocks a writer, so the copy reads one consistent
snapshot while other processes keep committing (copied in several steps, the API would restart
whenever a writer changed a page between two steps, and under steady writes never finish); the
copy goes to a temporary file beside the target, is checked
(`PRAGMA integrity_check`, `foreign_key_check`), synced and renamed into place, mode 0600 — a
crash leaves either no file or a whole one. `restore` checks the file is one of ours (SQLite,
intact, a schema revision this code knows), keeps a safety copy of the current database, and
copies the backup INTO the live database file with the same API: a process that has the
database open sees the restored content at its next transaction instead of keeping a deleted
inode open, as a rename would leave it. A backup from an older release is migrated to head.

PostgreSQL has its own tools; `pg_dump_command` / `pg_restore_command` print the exact
command lines (custom format), never the password.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from core.config import ConfigError

COUNTED = ("organisations", "officers", "collaborators", "training_sessions", "enrollments",
           "registration_requests", "outbox_messages", "helpdesk_tickets")
"""Tables whose row counts a backup or restore prints, so an operator sees what it holds."""

class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in one line."""


@dataclass(frozen=True)
class Summary:
    path: Path
    size: int
    revision: str | None
    counts: dict[str, int]


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for any other database."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError and friends
        raise ConfigError(f"ITMA_DATABASE_URL: not a SQLAlchemy URL: {exc}") from exc
    if parsed.get_backend_name() != "sqlite":
        return None
    if parsed.database in (None, "", ":memory:"):
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(parsed.database)


def backup(source: Path, target: Path, *, force: bool = False) -> Summary:
    """Copy the live database `source` to `target`, consistently, while others write."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.exists() and not force:
        raise BackupError(f"{target} exists already (--force replaces it)")
    if target.resolve() == source.resolve():
        raise BackupError("the backup cannot be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        _copy(_open_readonly(source), partial)
        summary = _check(partial)
        _sync_and_rename(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Summary(target, target.stat().st_size, summary.revision, summary.counts)


def restore(backup_file: Path, database: Path,
            known_revisions: list[str]) -> tuple[Summary, Path | None]:
    """Replace the content of `database` by `backup_file`; returns what was restored and the
    safety copy of what it replaced (None when there was no database yet)."""
    if not backup_file.is_file():
        raise BackupError(f"no file at {backup_file}")
    with backup_file.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{backup_file} is not a SQLite database")
    restored = _check(backup_file)
    if restored.revision is None:
        raise BackupError(f"{backup_file} is not an ITMA Assistant database "
                          "(no schema revision)")
    if restored.revision not in known_revisions:
        raise BackupError(f"{backup_file} has schema revision {restored.revision}, which this "
                          "version does not know (a backup from a newer release?)")
    safety = None
    if database.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        safety = database.with_name(f"{database.name}.before-restore-{stamp}")
        backup(database, safety)
    database.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    _copy(source, database)
    return Summary(database, database.stat().st_size, restored.revision, restored.counts), safety


def pg_dump_command(url: str, target: str) -> str:
    """The pg_dump line for this URL (custom format: pg_restore can pick tables and jobs)."""
    return shlex.join(["pg_dump", "--format=custom", "--no-owner", f"--file={target}",
                       *_pg_connection(make_url(url))])


def pg_restore_command(url: str, source: str) -> str:
    return shlex.join(["pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error",
                       *_pg_connection(make_url(url)), source])


def _pg_connection(url: URL) -> list[str]:
    """Host, port, user and database — the password stays out of the command line."""
    args = []
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    args.append(f"--dbname={url.database or ''}")
    return args


def _open_readonly(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """Copy in one step (pages=-1): one snapshot of the source; the target is locked while it
    is written, so a process reading it sees the old content or the new, never a mixture."""
    destination = sqlite3.connect(target, timeout=30)
    try:
        source.backup(destination, pages=-1)
    except sqlite3.Error as exc:
        raise BackupError(f"copy failed: {exc}") from exc
    finally:
        destination.close()
        source.close()
    target.chmod(0o600)


def _check(path: Path) -> Summary:
    """The copy is intact and holds whole references; what revision and how many rows."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            raise BackupError(f"{path.name}: integrity check failed: {integrity[0][0]}")
        if connection.execute("PRAGMA foreign_key_check").fetchone() is not None:
            raise BackupError(f"{path.name}: a row refers to a row that does not exist")
        tables = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        revision = None
        if "alembic_version" in tables:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        counts = {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                  for table in COUNTED if table in tables}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path.name}: not a readable SQLite database: {exc}") from exc
    finally:
        connection.close()
    return Summary(path, path.stat().st_size, revision, counts)


def _sync_and_rename(partial: Path, target: Path) -> None:
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
