"""`db backup FILE` and `db restore FILE`: SQLite by its online backup API, PostgreSQL by the
pg_dump / pg_restore lines to run (core.backup says how and why)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.runtime import CommandError, private_files, secure_home
from core import backup
from core.config import load_settings


def _describe(summary: backup.Summary) -> str:
    counts = ", ".join(f"{table} {count}" for table, count in summary.counts.items())
    return (f"{summary.path}: {summary.size / 1e6:.1f} MB, schema {summary.revision or '?'}"
            f"{'; ' + counts if counts else ''}")


def db_backup(args: argparse.Namespace) -> int:
    settings = load_settings()
    source = backup.sqlite_path(settings.database_url)
    if source is None:
        print("PostgreSQL is backed up with its own tool; run (password from PGPASSWORD or "
              "~/.pgpass):")
        print(f"  {backup.pg_dump_command(settings.database_url, args.file)}")
        return 0
    private_files()
    try:
        summary = backup.backup(source, Path(args.file), force=args.force)
    except backup.BackupError as exc:
        raise CommandError(str(exc)) from exc
    print(f"backup written and checked: {_describe(summary)}")
    return 0


def db_restore(args: argparse.Namespace) -> int:
    from core import migrate  # Alembic only here
    from core.app import App

    settings = load_settings()
    target = backup.sqlite_path(settings.database_url)
    if target is None:
        print("PostgreSQL is restored with its own tool, every instance stopped; run:")
        print(f"  {backup.pg_restore_command(settings.database_url, args.file)}")
        print("then `itma-assistant db upgrade` if the dump comes from an older release")
        return 0
    if not args.yes:
        raise CommandError("restore replaces the whole database: stop every instance "
                           "(serve, the MTA pipe) first, then run again with --yes")
    secure_home(settings)
    private_files()
    try:
        summary, safety = backup.restore(Path(args.file), target, migrate.known_revisions())
    except backup.BackupError as exc:
        raise CommandError(str(exc)) from exc
    if safety is not None:
        print(f"the database it replaced is kept in {safety}")
    head = migrate.known_revisions()[-1]
    if summary.revision != head:
        app = App(settings)
        try:
            migrate.upgrade(app.db)
        finally:
            app.close()
        print(f"migrated from schema {summary.revision} to {head}")
    print(f"restored: {_describe(summary)}")
    return 0
