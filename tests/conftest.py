"""Shared fixtures: a migrated database per test, a fixed clock, and a small known world."""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from core import clock, migrate, nrn
from core.app import App
from core.config import load_settings
from core.models import Officer, Organisation, Training, TrainingKind, TrainingSession
from core.services.access import NewOfficer, add_officer
from core.services.collaborators import NewCollaborator, add_collaborator
from tests.support.postgres import PostgresServer, postgres

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    clock.set_clock(lambda: NOW)
    yield
    clock.set_clock(None)


DATABASES = ("sqlite", "postgresql")
"""Every database-touching test runs on both; ITMA_TEST_DATABASES narrows it (e.g. "sqlite")."""


def _selected() -> list[str]:
    chosen = os.environ.get("ITMA_TEST_DATABASES", ",".join(DATABASES)).split(",")
    return [d for d in DATABASES if d in chosen]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One real PostgreSQL for the whole run; each test gets a fresh database from a template."""
    with postgres() as server:
        template = server.create_database("itma_template").rsplit("/", 1)[1]
        engine_app = App(load_settings({
            "ITMA_HOME": str(tmp_path_factory.mktemp("pg-template")),
            "ITMA_DATABASE_URL": server.url(template),
            "ITMA_SECRET_KEY": "test-secret-key-0123456789"}))
        migrate.upgrade(engine_app.db)
        engine_app.close()
        yield server


_counter = itertools.count(1)


@pytest.fixture(params=_selected())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'itma.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"itma_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE itma_template')
    return server.url(name)


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[App]:
    settings = load_settings({"ITMA_HOME": str(tmp_path),
                              "ITMA_DATABASE_URL": database_url,
                              "ITMA_SECRET_KEY": "test-secret-key-0123456789"})
    application = App(settings)
    migrate.upgrade(application.db)
    yield application
    application.close()


@dataclass
class World:
    app: App
    officer: str
    nl_officer: str
    en_officer: str
    expired_officer: str
    sessions: dict[str, int]
    people: dict[str, int]


def make_nrn(rng: random.Random, year: int, sex: str = "F") -> str:
    return nrn.generate(rng, birth_date=date(year, 3, 14), sex=sex)


@pytest.fixture
def world(app: App) -> World:
    """Two organisations, four officers, three trainings, people with homonyms."""
    rng = random.Random(7)
    with app.unit_of_work() as uow:
        bosa = Organisation(code="BOSA", names={"fr": "SPF BOSA", "nl": "FOD BOSA"})
        fin = Organisation(code="FIN", names={"fr": "SPF Finances", "nl": "FOD Financiën"})
        uow.session.add_all([bosa, fin])
        uow.session.flush()
        for email, name, orgs, language in (
                ("sophie@bosa.example", "Sophie Lambert", ["BOSA"], "fr"),
                ("pieter@bosa.example", "Pieter Janssens", ["BOSA"], "nl"),
                ("emma@bosa.example", "Emma Wouters", ["BOSA", "FIN"], "en"),
                ("luc@bosa.example", "Luc Dubois", ["BOSA"], "fr")):
            add_officer(uow, NewOfficer(email, name, nrn.generate(rng), orgs, language=language))
        expired = uow.session.scalar(select(Officer).where(Officer.email == "luc@bosa.example"))
        assert expired is not None
        expired.valid_until = TODAY - timedelta(days=3)
        trainings = {
            "BOSA-101": Training(code="BOSA-101", titles={"fr": "Gestion du temps",
                                                          "nl": "Timemanagement",
                                                          "en": "Time management"}),
            "FIN-201": Training(code="FIN-201", titles={"fr": "Budget fédéral"},
                                kind=TrainingKind.ON_DEMAND, owner=fin),
            "DIG-101": Training(code="DIG-101", titles={"fr": "Excel", "en": "Excel"}),
        }
        uow.session.add_all(trainings.values())
        sessions = {
            "BOSA-101/a": TrainingSession(training=trainings["BOSA-101"],
                                          starts_on=date(2027, 3, 12), ends_on=date(2027, 3, 12),
                                          place="Bruxelles", capacity=3),
            "BOSA-101/b": TrainingSession(training=trainings["BOSA-101"],
                                          starts_on=date(2027, 4, 20), ends_on=date(2027, 4, 21),
                                          place="Gent", capacity=10),
            "FIN-201/a": TrainingSession(training=trainings["FIN-201"],
                                         starts_on=date(2027, 2, 1), ends_on=date(2027, 2, 1),
                                         place="North Galaxy", capacity=10),
            "DIG-101/a": TrainingSession(training=trainings["DIG-101"],
                                         starts_on=date(2027, 1, 15), ends_on=date(2027, 1, 15),
                                         place="Liège", capacity=12),
        }
        uow.session.add_all(sessions.values())
        people = {}
        for key, surname, given, org, year, sex in (
                ("dupont_marie", "Dupont", "Marie", "BOSA", 1985, "F"),
                ("dupont_jean", "Dupont", "Jean", "BOSA", 1971, "M"),
                ("peeters", "Peeters", "Jan", "BOSA", 1990, "M"),
                ("vandenbossche", "Van den Bossche", "Els", "BOSA", 1979, "F"),
                ("muller", "Müller", "Jürgen", "BOSA", 1968, "M"),
                ("lambrechts", "Lambrechts", "Sofie", "BOSA", 2001, "F"),
                ("claes", "Claes", "Hilde", "BOSA", 1982, "F"),
                ("janssens", "Janssens", "Tom", "BOSA", 1993, "M"),
                ("fin_only", "Vermeulen", "Katrien", "FIN", 1988, "F")):
            person = add_collaborator(uow, None, NewCollaborator(
                nrn=make_nrn(rng, year, sex), surname=surname, given_names=given,
                email=f"{given.lower()}.{key}@example.be", language="fr" if org == "BOSA"
                else "nl", organisation=org, department="DG Test"))
            people[key] = person.id
        uow.session.flush()
        session_ids = {k: s.id for k, s in sessions.items()}
    return World(app, "sophie@bosa.example", "pieter@bosa.example", "emma@bosa.example",
                 "luc@bosa.example", session_ids, people)
