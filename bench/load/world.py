"""The bench world: the demo seeded in PostgreSQL, future capacities raised, and the plan.

The demo is seeded once into the database ``load`` (migrated by core.migrate, seeded by
core.demo.seed, capacities of future sessions raised by RAISE_CAPACITY so enrollments rarely
meet a full session, VACUUM ANALYZE). Every run then gets its own copy
(``CREATE DATABASE load_kN TEMPLATE load``), so K = 1, 2 and 4 all start from the same state.

The plan is what the workers draw from, computed once here: for every officer whose access is
valid, the collaborators of their organisations and the upcoming sessions they may book.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import func, select, update

from core import clock, migrate
from core.app import App
from core.config import load_settings
from core.demo import seed
from core.models import Collaborator, Enrollment, Officer, TrainingSession
from core.services import catalog

SECRET_KEY = "bench-load-secret-key-0123456789"
TEMPLATE = "load"
RAISE_CAPACITY = 5_000


def settings_env(home: Path, url: str) -> dict[str, str]:
    """The ITMA_* settings every App of the bench is built from (no os.environ)."""
    return {"ITMA_HOME": str(home), "ITMA_DATABASE_URL": url, "ITMA_SECRET_KEY": SECRET_KEY}


def make_app(home: Path, url: str) -> App:
    return App(load_settings(settings_env(home, url)))


def build(home: Path, url: str) -> dict[str, Any]:
    """Migrate, seed the demo, raise future capacities; the seed summary and the plan."""
    app = make_app(home, url)
    try:
        migrate.upgrade(app.db)
        summary = seed.seed(app)
        today = clock.today()
        with app.unit_of_work() as uow:
            raised = uow.session.execute(
                update(TrainingSession).where(TrainingSession.starts_on >= today)
                .values(capacity=TrainingSession.capacity + RAISE_CAPACITY)).rowcount
        plan = make_plan(app, today)
        with app.unit_of_work(readonly=True) as uow:
            counts = {
                "collaborators": uow.session.scalar(select(func.count(Collaborator.id))),
                "sessions": uow.session.scalar(select(func.count(TrainingSession.id))),
                "upcoming_sessions": uow.session.scalar(select(func.count(TrainingSession.id))
                                                        .where(TrainingSession.starts_on
                                                               >= today)),
                "enrollments": uow.session.scalar(select(func.count(Enrollment.id))),
                "officers": uow.session.scalar(select(func.count(Officer.id))),
            }
    finally:
        app.close()
    return {"counts": counts, "capacity_raised_sessions": raised,
            "capacity_raised_by": RAISE_CAPACITY, "plan": plan,
            "seeded_trainings": len(summary.get("trainings", []))}


def make_plan(app: App, today: date) -> list[dict[str, Any]]:
    """Per valid officer: id, email, organisation codes, collaborator ids, bookable sessions."""
    plan = []
    with app.unit_of_work(readonly=True) as uow:
        officers = uow.session.scalars(select(Officer).where(Officer.valid_until >= today)
                                       .order_by(Officer.id)).all()
        for officer in officers:
            org_ids = [o.id for o in officer.organisations]
            people = list(uow.session.scalars(
                select(Collaborator.id).where(Collaborator.organisation_id.in_(org_ids),
                                              Collaborator.active.is_(True))
                .order_by(Collaborator.id)))
            sessions = [[v.id, v.training, v.starts_on.isoformat()]
                        for v in catalog.upcoming_sessions(uow, officer=officer)]
            if people and sessions:
                plan.append({"id": officer.id, "email": officer.email,
                             "organisations": [o.code for o in officer.organisations],
                             "collaborators": people, "sessions": sessions})
    return plan


def vacuum_analyze(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def copy_database(admin_dsn: str, name: str, template: str = TEMPLATE) -> None:
    """``CREATE DATABASE name TEMPLATE template`` (nobody may be connected to the template)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))


def drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def outcome_counts(dsn: str) -> dict[str, Any]:
    """What the database holds after a run: enrollments by state, requests by state, outbox."""
    with psycopg.connect(dsn) as conn:
        enrollments = dict(conn.execute(
            "SELECT state, count(*) FROM enrollments GROUP BY state ORDER BY state").fetchall())
        requests = dict(conn.execute(
            "SELECT state, count(*) FROM registration_requests GROUP BY state"
            " ORDER BY state").fetchall())
        outbox = conn.execute("SELECT count(*) FROM outbox_messages").fetchone()
        audit = conn.execute("SELECT count(*) FROM audit_events").fetchone()
    return {"enrollments": {str(k): v for k, v in enrollments.items()},
            "requests": {str(k): v for k, v in requests.items()},
            "outbox_messages": outbox[0] if outbox else 0,
            "audit_events": audit[0] if audit else 0}
