"""The search index cached on disk: a new process ranks exactly as a full build does, starts
from the file instead of reading every collaborator, and never uses a file that no longer
describes the table."""

from __future__ import annotations

import json
import random
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from core import clock
from core.app import App
from core.demo import seed
from core.matching import cache as index_cache
from core.models import Collaborator, Organisation
from core.services import collaborators
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parents[2]


def _queries(app: App) -> list[str]:
    """Surnames of the seeded people as officers type them, and names nobody has."""
    with app.unit_of_work(readonly=True) as uow:
        people = list(uow.session.execute(
            select(Collaborator.surname, Collaborator.given_names).order_by(Collaborator.id)))
    rng = random.Random(16)
    queries = []
    for surname, given in rng.sample(people, 60):
        word = surname.lower().replace(" ", "")
        dropped = rng.randrange(1, len(word))
        queries += [surname.lower(), word[:dropped] + word[dropped + 1:],
                    f"{given.split()[0]} {surname}", f"{surname} {given[0]}."]
    return [*queries, "vandenbossche", "de smedt", "muller", "peters", "lambrecht", "zzyzx",
            "Qwertyuiop", "van"]


def _ranked(app: App, queries: list[str]) -> list[list[tuple[int, float]]]:
    with app.unit_of_work(readonly=True) as uow:
        ids = list(uow.session.scalars(select(Organisation.id)))
        return [[(f.collaborator.id, f.score) for f in collaborators.search(uow, q, ids, 10)]
                for q in queries]


def _later(minutes: int) -> None:
    """The clock past the margin after the last change: a full read may be cached."""
    moment = NOW + timedelta(minutes=minutes)
    clock.set_clock(lambda: moment)


@pytest.fixture
def seeded(app: App) -> App:
    seed.seed(app)
    _later(1)
    return app


def test_a_new_process_starts_from_the_cache_and_ranks_identically(seeded: App) -> None:
    queries = _queries(seeded)
    built = _ranked(seeded, queries)
    assert seeded.collaborators.loaded_from == "database"
    assert sum(1 for r in built if r) > len(queries) * 0.8  # the comparison is not vacuous
    path = index_cache.path_for(seeded.settings.home, seeded.settings.database_url)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    second = App(seeded.settings)  # what the next `collaborators search` process does
    try:
        assert _ranked(second, queries) == built
        assert second.collaborators.loaded_from == "cache"
        assert len(second.collaborators.index) == len(seeded.collaborators.index) > 2000
    finally:
        second.close()


@pytest.mark.parametrize("change", ["renamed", "deactivated", "deleted"])
def test_a_changed_collaborator_invalidates_the_cache(seeded: App, change: str) -> None:
    _ranked(seeded, ["peeters"])
    with seeded.unit_of_work() as uow:
        person = uow.session.scalars(
            select(Collaborator).order_by(Collaborator.id).offset(100).limit(1)).one()
        person_id, surname = person.id, person.surname
        _later(2)
        if change == "renamed":
            person.surname = "Xylophonides"
        elif change == "deactivated":
            person.active = False
        else:
            uow.session.execute(delete(Collaborator).where(Collaborator.id == person_id))
    _later(3)

    second = App(seeded.settings)
    try:
        found = [i for i, _score in _ranked(second, [surname])[0]]
        assert second.collaborators.loaded_from == "database"
        assert person_id not in found
        if change == "renamed":
            assert [i for i, _ in _ranked(second, ["xylophonides"])[0]] == [person_id]
    finally:
        second.close()
    third = App(seeded.settings)  # the rebuilt index was cached in its turn
    try:
        assert person_id not in [i for i, _score in _ranked(third, [surname])[0]]
        assert third.collaborators.loaded_from == "cache"
    finally:
        third.close()


def test_a_damaged_or_unsettled_cache_is_not_used(seeded: App) -> None:
    queries = _queries(seeded)[:40]
    built = _ranked(seeded, queries)
    path = index_cache.path_for(seeded.settings.home, seeded.settings.database_url)
    stored = json.loads(path.read_bytes())
    stored["index"]["people"][0][1] = 10**9  # a surname that does not exist
    path.write_text(json.dumps(stored))
    second = App(seeded.settings)
    try:
        assert _ranked(second, queries) == built
        assert second.collaborators.loaded_from == "database"
    finally:
        second.close()

    path.unlink()
    clock.set_clock(lambda: NOW)  # the newest row is not yet past the margin: no file
    third = App(seeded.settings)
    try:
        assert _ranked(third, queries) == built
        assert third.collaborators.loaded_from == "database" and not path.exists()
    finally:
        third.close()


def test_the_command_line_answers_from_the_cache_as_from_the_database(seeded: App) -> None:
    """`collaborators search` in two processes: the same lines, the second from the file."""
    path = index_cache.path_for(seeded.settings.home, seeded.settings.database_url)
    env = {"ITMA_HOME": str(seeded.settings.home), "PATH": "/usr/bin",
           "ITMA_DATABASE_URL": seeded.settings.database_url,
           "ITMA_SECRET_KEY": "test-secret-key-0123456789"}

    def search() -> list[dict[str, object]]:
        done = subprocess.run([sys.executable, "-m", "cli", "collaborators", "search", "--json",
                               "--limit", "8", "peters"], capture_output=True, timeout=120,
                              cwd=ROOT, env=env, check=True)
        return list(json.loads(done.stdout))

    assert not path.exists()
    first = search()  # the real clock: long past the seed's fixed NOW
    written = path.stat().st_mtime_ns
    assert first and search() == first
    assert path.stat().st_mtime_ns == written  # read, not rebuilt and written again
