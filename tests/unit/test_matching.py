"""Belgian-name cases the matcher must get right, and the index staying current."""

from __future__ import annotations

import pytest

from core.matching import NameIndex, clear_winner
from core.matching.normalise import compact, cores, phonetic, surname_keys, words

PEOPLE = [
    (1, "Van den Bossche", "Els"), (2, "Vandenbossche", "Koen"), (3, "Bossé", "Luc"),
    (4, "De Smet", "An"), (5, "Desmet", "Pieter"), (6, "Smets", "Joris"), (7, "Müller", "Jürgen"),
    (8, "Mulier", "Hans"), (9, "Dupont-Martin", "Claire"), (10, "Dupont", "Marie"),
    (11, "Dupont", "Jean"), (12, "Martin", "Paul"), (13, "Peeters", "Jan"), (14, "Pieters", "Eva"),
    (15, "Lambrechts", "Sofie"), (16, "Lambert", "Michel"), (17, "D'Hondt", "Bart"),
    (18, "Verhaeghe", "Lieve"), (19, "Claes", "Hilde"), (20, "Claessens", "Wim"),
    (21, "Janssens", "Tom"), (22, "Van der Linden", "Ruben"), (23, "Lefèvre", "Hélène"),
    (24, "Öztürk", "Ayşe"), (25, "El Amrani", "Yassine"), (26, "Cuypers", "Dirk"),
    (27, "Van Damme", "Jef"), (28, "Vandamme", "Lotte"), (29, "Huysmans", "Bert"),
    (30, "Leclercq", "Sophie"), (31, "Le Clercq", "Anne"), (32, "Thys", "Ward"),
]
BOSA, FIN = 1, 2


@pytest.fixture(scope="module")
def index() -> NameIndex:
    built = NameIndex()
    for person_id, surname, given in PEOPLE:
        built.upsert(person_id, surname, given, BOSA)
    built.upsert(99, "Peeters", "Jan", FIN)
    return built


def top(index: NameIndex, query: str, k: int = 5) -> list[int]:
    return [c.id for c in index.search(query, [BOSA], limit=k, min_score=70)]


@pytest.mark.parametrize(("query", "expected"), [
    ("vandenbossche", {1, 2}), ("van den bosch", {1, 2}), ("Van Den Bossche", {1, 2}),
    ("bossche", {1, 2}), ("de smedt", {4, 5}), ("desmet", {4, 5}), ("smet", {4, 5, 6}),
    ("muller", {7}), ("mueller", {7}), ("MÜLLER", {7}), ("dupont martin", {9}),
    ("dupont-martin", {9}), ("peters", {13}), ("pieters", {14}), ("lambrecht", {15}),
    ("dhondt", {17}), ("d hondt", {17}), ("hondt", {17}), ("verhaege", {18}),
    ("claas", {19}), ("janssen", {21}), ("jansen", {21}), ("vanderlinden", {22}),
    ("linden", {22}), ("lefevre", {23}), ("lefebvre", {23}), ("ozturk", {24}),
    ("elamrani", {25}), ("amrani", {25}), ("kuypers", {26}), ("huismans", {29}),
    ("le clercq", {30, 31}), ("leclerc", {30, 31}), ("tijs", {32}),
])
def test_belgian_spellings_find_the_person_first(index: NameIndex, query: str,
                                                 expected: set[int]) -> None:
    found = top(index, query, k=len(expected))
    assert set(found) == expected, (query, found)


@pytest.mark.parametrize(("query", "expected"), [
    ("peetres", 13), ("lambrehcts", 15), ("vandenbosshe", 1), ("duponr marie", 10),
    ("verhaghe", 18), ("jansssens", 21), ("cuypres", 26), ("muler", 7), ("lefevr", 23),
])
def test_typos_keep_the_person_in_the_first_choices(index: NameIndex, query: str,
                                                    expected: int) -> None:
    assert expected in top(index, query, k=5), query


@pytest.mark.parametrize("query", ["Dupont Marie", "Marie Dupont", "dupont m.", "M Dupont"])
def test_given_name_before_or_after_or_initial_makes_a_clear_winner(index: NameIndex,
                                                                     query: str) -> None:
    found = index.search(query, [BOSA], limit=5, min_score=70)
    assert found[0].id == 10, found
    assert clear_winner(found) is not None


def test_homonyms_are_close_so_no_clear_winner(index: NameIndex) -> None:
    found = index.search("dupont", [BOSA], limit=5, min_score=70)
    assert {c.id for c in found[:2]} == {10, 11}
    assert clear_winner(found) is None


def test_scope_is_the_organisation(index: NameIndex) -> None:
    assert 99 not in top(index, "peeters")
    assert [c.id for c in index.search("peeters", [FIN], limit=5)] == [99]
    assert {c.id for c in index.search("peeters", [BOSA, FIN], limit=5, min_score=95)} == {13, 99}


def test_nothing_good_returns_nothing_above_threshold(index: NameIndex) -> None:
    assert top(index, "Xyzzywx") == []
    assert top(index, "Nakamura") == []


def test_upsert_and_remove_keep_the_index_current() -> None:
    index = NameIndex()
    index.upsert(1, "Peeters", "Jan", BOSA)
    index.upsert(1, "Peeters-Maes", "Jan", BOSA)  # name changed
    assert [c.surname for c in index.search("peeters maes", [BOSA])] == ["Peeters-Maes"]
    index.upsert(1, "Peeters-Maes", "Jan", FIN)  # moved to another organisation
    assert index.search("peeters maes", [BOSA], min_score=70) == []
    index.upsert(1, "Peeters-Maes", "Jan", FIN, active=False)  # left
    assert index.search("peeters maes", [FIN], min_score=70) == []
    assert len(index) == 0


def test_normalisation_pieces() -> None:
    assert words("D'Hondt-Van Acker") == ["d", "hondt", "van", "acker"]
    assert compact("Van den Bossche") == "vandenbossche"
    assert "bossche" in cores(["van", "den", "bossche"])
    assert "smet" in cores(["desmet"])
    assert phonetic("verhaeghe") == phonetic("verhaege")
    assert phonetic("desmedt") == phonetic("desmet")
    assert surname_keys("Peeters")[0] == surname_keys("Peters")[0]
    assert surname_keys("Lambrechts")[0] == surname_keys("Lambrecht")[0]
