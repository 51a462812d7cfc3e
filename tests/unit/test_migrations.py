"""Migrations go up from empty and down again, and match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core import migrate
from core.app import App
from core.models import Base


def test_up_down_up_and_no_drift(app: App) -> None:
    with app.db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    migrate.downgrade(app.db)
    assert set(inspect(app.db.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(app.db)
    assert {"enrollments", "officers", "outbox_messages"} <= set(
        inspect(app.db.engine).get_table_names())
