"""The throwaway PostgreSQL server (tests/support/postgres.py) and the pg_trgm bench baseline.

Runs a real server, also as root. Never skipped: without PostgreSQL the tests fail with the
reason given by PostgresError.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text

from bench.matching.pgtrgm import Row, TrigramSearch, fold
from tests.support.postgres import PostgresError, PostgresServer, postgres

ORGANISATIONS = ["BOSA", "FIN", "JUST", "MOB", "HEALTH", "ECON", "SOCSEC", "INTERIOR"]
SURNAMES = ["Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters",
            "De Smet", "Dubois", "Lambert", "Dupont", "Martin", "Simon", "Hermans", "Van Damme",
            "Leclercq", "Lejeune", "Renard", "Vermeulen", "Van de Velde", "Michiels", "Desmet",
            "Peters", "Pieters", "Lemaire", "Dumont", "Aerts", "Smets", "Cools", "Verhoeven",
            "Bossuyt", "Vandamme", "De Backer", "Coppens", "Timmermans", "Denis", "Petit",
            "Verstraete", "Leroy"]
GIVEN = ["Jan", "Marc", "Anne", "Sophie", "Luc", "Els", "Pierre", "Marie", "Koen", "Nathalie",
         "Jean-Pierre", "Ann-Sofie", "Thomas", "Hélène", "Geert", "Inge", "Olivier", "Zoë"]
RANDOM_ROWS = 2_000

# Fixed people the assertions are about (ids above the random ones).
PEETERS_BOSA = Row(5001, "Peeters", "Jan", "BOSA")
PEETERS_FIN = Row(5002, "Peeters", "Sophie Marie", "FIN")
BOSSCHE_SHORT = Row(5003, "Van den Bossche", "Marc", "BOSA")
BOSSCHE_LONG = Row(5004, "Van den Bossche", "Marie-Christine Joséphine Ghislaine", "BOSA")
DUPRE = Row(5005, "Dupré", "Élise", "JUST")
FIXED = [PEETERS_BOSA, PEETERS_FIN, BOSSCHE_SHORT, BOSSCHE_LONG, DUPRE]


def _people() -> list[Row]:
    rng = random.Random(2026)
    rows = [Row(i, rng.choice(SURNAMES), " ".join(rng.sample(GIVEN, rng.choice([1, 1, 2]))),
                ORGANISATIONS[i % len(ORGANISATIONS)])
            for i in range(1, RANDOM_ROWS + 1)]
    return rows + FIXED


PEOPLE = _people()
BY_ID = {row.id: row for row in PEOPLE}


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with ExitStack() as stack:
        try:
            started = stack.enter_context(postgres())
        except PostgresError as exc:
            pytest.fail(f"PostgreSQL test server: {exc}", pytrace=False)
        yield started


@pytest.fixture(scope="module")
def trigram(server: PostgresServer) -> Iterator[TrigramSearch]:
    server.create_database("bench")
    with TrigramSearch(server.dsn("bench")) as search:
        seconds = search.load(PEOPLE)
        assert 0 < seconds < 10
        yield search


def test_sqlalchemy_reaches_a_created_database(server: PostgresServer) -> None:
    url = server.create_database("itma")
    assert url == f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/itma"
    assert server.dsn("itma") == f"host=127.0.0.1 port={server.port} user=postgres dbname=itma"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert conn.execute(text("SHOW server_encoding")).scalar_one() == "UTF8"
            assert conn.execute(text("SHOW fsync")).scalar_one() == "off"
            assert conn.execute(text("SHOW max_connections")).scalar_one() == "200"
    finally:
        engine.dispose()


def test_the_unix_socket_is_in_the_server_directory(server: PostgresServer) -> None:
    assert server.socket_dir == server.base_dir
    with psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres",
                         dbname="postgres") as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


def test_fold() -> None:
    assert fold("Van den Bossche-Dupré, Zoë") == "van den bossche dupre zoe"
    assert fold("  D'Hondt  ") == "d hondt"


def test_trigram_finds_peeters_in_its_organisation(trigram: TrigramSearch) -> None:
    bosa = trigram.search("peeters", "BOSA")
    assert bosa[0] == PEETERS_BOSA.id
    assert all(BY_ID[i].organisation == "BOSA" for i in bosa)
    assert trigram.search("Peeters", "FIN")[0] == PEETERS_FIN.id
    assert trigram.search("dupre", "JUST")[0] == DUPRE.id  # accents folded on both sides


def test_trigram_respects_the_organisation_scope(trigram: TrigramSearch) -> None:
    # No Peeters in MOB: close names (Peters, Pieters) come back, never another office's Peeters.
    found = trigram.search("peeters", "MOB")
    assert found
    assert all(BY_ID[i].organisation == "MOB" for i in found)
    assert not {PEETERS_BOSA.id, PEETERS_FIN.id} & set(found)
    assert trigram.search("peeters", "NOPE") == []
    assert len(trigram.search("peeters", "BOSA", limit=2)) <= 2


def test_trigram_vandenbossche_depends_on_the_given_names(
        server: PostgresServer, trigram: TrigramSearch) -> None:
    # What pg_trgm actually does: the glued query matches "van den bossche marc" (similarity
    # about 0.42) but the long given names of the other one dilute it under the 0.3 threshold.
    found = trigram.search("vandenbossche", "BOSA")
    assert found[0] == BOSSCHE_SHORT.id
    assert BOSSCHE_LONG.id not in found
    with psycopg.connect(server.dsn("bench")) as conn:
        similarity = dict(conn.execute(
            "SELECT id, similarity(search, 'vandenbossche') FROM people WHERE id = ANY(%s)",
            ([BOSSCHE_SHORT.id, BOSSCHE_LONG.id],)).fetchall())
    assert similarity[BOSSCHE_SHORT.id] > 0.3 > similarity[BOSSCHE_LONG.id]
    # Spelled with its spaces, the surname finds both.
    assert {BOSSCHE_SHORT.id, BOSSCHE_LONG.id} <= set(trigram.search("Van den Bossche", "BOSA"))


def test_trigram_index_size(trigram: TrigramSearch) -> None:
    assert trigram.index_size_bytes() > 8192 * 4


def test_restart_keeps_data(server: PostgresServer, trigram: TrigramSearch) -> None:
    port = server.port
    before = trigram.search("peeters", "BOSA")
    server.restart()
    assert server.port == port
    assert server.is_running()
    engine = create_engine(server.url("bench"))
    try:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM people")).scalar_one()
    finally:
        engine.dispose()
    assert count == len(PEOPLE)
    with TrigramSearch(server.dsn("bench")) as again:  # the old connection died with the server
        assert again.search("peeters", "BOSA") == before
    server.stop()
    server.stop()  # idempotent
    assert not server.is_running()
    server.restart()
    assert server.is_running()


def test_pytest_tmp_path_as_base_dir_is_cleaned_up(tmp_path: Path) -> None:
    # As root, tmp_path (mode 0o700) is not traversable by postgres: a /tmp/itma-pg-* directory
    # is used instead. Either way everything created is gone afterwards.
    try:
        with postgres(tmp_path / "pg") as small:
            with psycopg.connect(small.dsn()) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            server_dir = small.base_dir
            data_dir = small.data_dir
    except PostgresError as exc:
        pytest.fail(f"PostgreSQL test server: {exc}", pytrace=False)
    assert server_dir is not None
    assert not data_dir.exists()
    assert not server_dir.exists() or not any(server_dir.iterdir())
    assert not small.is_running()
