"""Schema migrations (Alembic), driven programmatically so no alembic.ini is needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from core.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    _migrate(db, lambda config: command.upgrade(config, revision))


def downgrade(db: Database, revision: str = "base") -> None:
    _migrate(db, lambda config: command.downgrade(config, revision))


def _migrate(db: Database, step: Callable[[Config], None]) -> None:
    """One transaction. On SQLite, foreign keys are off while it runs — changing a column there
    rebuilds the table (copy, DROP, rename), which a referenced table with rows refuses — and
    checked as a whole before the commit, so no migration leaves a dangling reference."""
    with db.engine.connect() as connection:
        raw = connection.connection.driver_connection if connection.dialect.name == "sqlite" \
            else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")  # autocommit mode: outside any transaction
        try:
            with connection.begin():
                step(_config(connection))
                if raw is not None:
                    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if dangling is not None:
                        raise RuntimeError(f"migration left a dangling reference: {dangling}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def known_revisions() -> list[str]:
    """Every schema revision this code can migrate from, oldest first."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def revision(db: Database, message: str) -> None:
    """Autogenerate a migration from the models (developers only)."""
    with db.engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
