"""Schema migrations (Alembic), driven programmatically so no alembic.ini is needed."""

from __future__ import annotations

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
    with db.engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def downgrade(db: Database, revision: str = "base") -> None:
    with db.engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def revision(db: Database, message: str) -> None:
    """Autogenerate a migration from the models (developers only)."""
    with db.engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
