"""Tests for the surname-matching evaluation set: bench.matching.dataset and .corrupt."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from rapidfuzz.distance import Levenshtein

from bench.matching import corrupt, dataset
from bench.matching.corrupt import CORRUPTIONS, applies, fold
from bench.matching.dataset import Person, Query, evaluate, population, queries

HARD_NAMES = [
    "Van den Bossche",
    "Vandenbossche",
    "Vanden Bossche",
    "De Smet",
    "Desmet",
    "De Smedt",
    "Müller",
    "Thönnissen",
    "Öztürk",
    "Yıldız",
    "Çelik",
    "Wiśniewski",
    "Lefèvre",
    "François",
    "D'Hondt",
    "D'Ieteren",
    "Dupont-Martin",
    "Van Acker-Peeters",
    "Lambrechts",
    "Peeters",
    "Op de Beeck",
    "Della Valle",
    "El Amrani",
    "Deschamps",
    "Xhonneux",
    "Hendrickx",
    "Put",
    "Nys",
    "Mbuyi Kalonji",
]

N_PEOPLE = 20_000


@pytest.fixture(scope="module")
def people() -> list[Person]:
    return population(N_PEOPLE, seed=1)


@pytest.fixture(scope="module")
def qs(people: list[Person]) -> list[Query]:
    return queries(people, 3_000, seed=2)


# --------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------


def test_population_is_deterministic_and_seeded() -> None:
    assert population(1_500, seed=7) == population(1_500, seed=7)
    assert population(1_500, seed=7) != population(1_500, seed=8)
    assert population(0) == []


def test_population_shape(people: list[Person]) -> None:
    assert [p.id for p in people] == list(range(1, N_PEOPLE + 1))
    codes = {code for code, _ in dataset.ORGANISATIONS}
    assert all(p.organisation in codes for p in people)
    assert all(1960 <= p.birth_year <= 2004 for p in people)
    assert all(p.given_names and p.surname == p.surname.strip() for p in people)
    assert all(len(fold(p.surname)) >= 2 for p in people)


def test_organisations_shares() -> None:
    orgs = dataset.ORGANISATIONS
    assert 10 <= len(orgs) <= 14
    assert sum(share for _, share in orgs) == pytest.approx(1.0)
    assert all(re.fullmatch(r"[A-Z]+", code) for code, _ in orgs)
    assert dict(orgs)["FIN"] == pytest.approx(0.30)
    assert "DEF" not in dict(orgs)


def test_organisations_follow_their_shares(people: list[Person]) -> None:
    counts = Counter(p.organisation for p in people)
    for code, share in dataset.ORGANISATIONS:
        assert counts[code] / N_PEOPLE == pytest.approx(share, abs=0.015)


def test_distinct_surnames_grow_like_a_long_tail(people: list[Person]) -> None:
    counts = Counter(p.surname for p in people)
    # Only ~680 real surnames exist in core.demo.names; the synthetic tail adds the rest.
    assert 8_000 <= len(counts) <= 13_000
    top_share = counts.most_common(1)[0][1] / N_PEOPLE
    assert 0.002 <= top_share <= 0.007
    singletons = sum(1 for c in counts.values() if c == 1)
    assert singletons > len(counts) / 2


def test_surnames_keep_the_hard_cases(people: list[Person]) -> None:
    surnames = [p.surname for p in people]
    share = Counter(
        "hyphen" if "-" in s else "apostrophe" if "'" in s else "space" if " " in s else ""
        for s in surnames
    )
    assert 0.004 <= share["hyphen"] / N_PEOPLE <= 0.02
    assert share["apostrophe"] > 0
    assert share["space"] / N_PEOPLE > 0.1  # Van den Bossche, De Smet, El Amrani...
    assert any(s != corrupt.strip_accents(s) for s in surnames)
    assert any(re.match(r"(Vanden|Vander|Vande|Van)[a-z]", s) for s in surnames)
    assert any(s.startswith(("Van den ", "Van der ", "Van de ")) for s in surnames)
    assert not any(re.search(r"(\w)\1\1", s) for s in surnames)


def test_homonyms_exist(people: list[Person]) -> None:
    pairs = Counter((p.surname, p.given_names.split()[0]) for p in people)
    assert sum(c - 1 for c in pairs.values() if c > 1) >= 0.02 * N_PEOPLE
    same_org = Counter((p.organisation, p.surname, p.given_names.split()[0]) for p in people)
    assert any(c > 1 for c in same_org.values())


def test_synthetic_surnames_per_pool_look_right() -> None:
    rng = random.Random(3)
    samples = {
        pool: [dataset.synthetic_surname(pool, rng) for _ in range(300)]
        for pool in ("nl", "fr", "de", "ma", "tr", "it", "pl", "cd", "ro", "es", "pt")
    }
    assert all(len(fold(name)) >= 3 for names in samples.values() for name in names)
    assert any(n.startswith(("Van", "Ver", "De")) for n in samples["nl"])
    assert any(n.startswith(("Le", "Du", "La", "Des")) for n in samples["fr"])
    assert any(n.endswith(("mann", "er")) for n in samples["de"])
    assert any(n.startswith(("El ", "Ben", "Bou")) for n in samples["ma"])
    assert any(ch in n for n in samples["tr"] for ch in "çşğıöü")
    assert any(n.endswith(("i", "o")) for n in samples["it"])
    assert any(n.endswith(("ski", "cki", "wicz")) for n in samples["pl"])
    assert any(n.startswith(("Ka", "Mu", "Ngo", "Mb")) for n in samples["cd"])


# --------------------------------------------------------------------------------------------
# Corruptions
# --------------------------------------------------------------------------------------------


def test_fold() -> None:
    assert fold("Van den Bossche") == fold("Vandenbossche") == "vandenbossche"
    assert fold("D'Hondt") == "dhondt"
    assert fold("Müller") == "muller"
    assert fold("Yıldız") == "yildiz"
    assert fold("Dupont-Martin") == "dupontmartin"


def test_corruption_kinds() -> None:
    expected = {
        "exact", "lowercase", "no_accents", "umlaut_expanded", "particle_joined",
        "particle_split", "particle_dropped", "hyphen_to_space", "apostrophe_dropped",
        "spelling_variant", "drop_letter", "duplicate_letter", "swap_neighbours",
        "keyboard_slip", "two_edits",
    }  # fmt: skip
    assert expected <= set(CORRUPTIONS)
    assert set(corrupt.KIND_WEIGHTS) == set(CORRUPTIONS)


@pytest.mark.parametrize("name", HARD_NAMES)
def test_every_corruption_gives_a_usable_string(name: str) -> None:
    for kind, corruption in CORRUPTIONS.items():
        for seed in range(5):
            typed = corruption(name, random.Random(seed))
            assert isinstance(typed, str)
            assert typed.strip() == typed and typed
            assert sum(ch.isalpha() for ch in typed) >= 2, (kind, name, typed)
            if kind != "exact":
                assert typed == typed.lower(), (kind, name, typed)
            if applies(kind, name) and kind not in ("exact", "lowercase"):
                assert typed != name.lower(), (kind, name, typed)
        assert corruption(name, random.Random(9)) == corruption(name, random.Random(9))


@pytest.mark.parametrize(
    ("kind", "name", "typed"),
    [
        ("no_accents", "Müller", "muller"),
        ("no_accents", "Lefèvre", "lefevre"),
        ("no_accents", "Öztürk", "ozturk"),
        ("umlaut_expanded", "Müller", "mueller"),
        ("particle_joined", "Van den Bossche", "vandenbossche"),
        ("particle_split", "Vandenbossche", "van den bossche"),
        ("particle_split", "Desmet", "de smet"),
        ("particle_split", "Deschamps", "des champs"),
        ("particle_dropped", "Van den Bossche", "bossche"),
        ("particle_dropped", "De Smet", "smet"),
        ("hyphen_to_space", "Dupont-Martin", "dupont martin"),
        ("lowercase", "D'Hondt", "d'hondt"),
        ("exact", "D'Hondt", "D'Hondt"),
    ],
)
def test_corruption_examples(kind: str, name: str, typed: str) -> None:
    assert CORRUPTIONS[kind](name, random.Random(0)) == typed


def test_apostrophe_dropped() -> None:
    seen = {CORRUPTIONS["apostrophe_dropped"]("D'Hondt", random.Random(s)) for s in range(40)}
    assert seen == {"dhondt", "d hondt"}


def test_spelling_variants_are_the_real_ones() -> None:
    def variants(name: str) -> set[str]:
        return {CORRUPTIONS["spelling_variant"](name, random.Random(s)) for s in range(200)}

    assert "lambrecht" in variants("Lambrechts")
    assert "lambrechts" in variants("Lambrecht")
    assert "peters" in variants("Peeters")
    assert {"de smedt", "de smed"} & variants("De Smet")
    assert "verhaege" in variants("Verhaeghe")
    assert "hendrikx" in variants("Hendrickx")
    assert "kuypers" in variants("Cuypers")
    assert "huismans" in variants("Huysmans")


def test_not_applicable_falls_back() -> None:
    assert not applies("particle_split", "Peeters")
    assert CORRUPTIONS["particle_split"]("Peeters", random.Random(0)) == "peeters"
    assert CORRUPTIONS["particle_split"]("De Smet", random.Random(0)) == "desmet"
    assert not applies("umlaut_expanded", "Lefèvre")
    assert CORRUPTIONS["umlaut_expanded"]("Lefèvre", random.Random(0)) == "lefevre"
    assert not applies("particle_split", "Denis")
    assert not applies("particle_split", "Lewandowski")


def test_typos_are_single_edits() -> None:
    for seed in range(50):
        rng = random.Random(seed)
        for kind in ("drop_letter", "duplicate_letter", "swap_neighbours", "keyboard_slip"):
            typed = CORRUPTIONS[kind]("Vandenbossche", rng)
            distance = 2 if kind == "swap_neighbours" else 1
            assert Levenshtein.distance(typed, "vandenbossche") == distance, (kind, typed)
        typed = CORRUPTIONS["two_edits"]("Vandenbossche", rng)
        assert 1 <= Levenshtein.distance(typed, "vandenbossche") <= 4


def test_keyboard_slip_hits_a_neighbour_key() -> None:
    def positions(rows: tuple[str, str, str]) -> dict[str, tuple[float, int]]:
        offsets = (0.0, 0.25, 0.75)
        return {k: (x + offsets[r], r) for r, row in enumerate(rows) for x, k in enumerate(row)}

    layouts = [
        positions(("azertyuiop", "qsdfghjklm", "wxcvbn")),
        positions(("qwertyuiop", "asdfghjkl", "zxcvbnm")),
    ]

    def near(a: str, b: str) -> bool:
        return any(
            b in pos and abs(pos[a][0] - pos[b][0]) <= 1 and abs(pos[a][1] - pos[b][1]) <= 1
            for pos in layouts
        )

    for seed in range(100):
        typed = CORRUPTIONS["keyboard_slip"]("Peeters", random.Random(seed))
        changed = [k for k in range(7) if typed[k] != "peeters"[k]]
        assert len(typed) == 7 and len(changed) == 1
        assert near("peeters"[changed[0]], typed[changed[0]])


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


def test_queries_are_deterministic(people: list[Person], qs: list[Query]) -> None:
    assert queries(people, 3_000, seed=2) == qs
    assert queries(people, 300, seed=3) != queries(people, 300, seed=4)


def test_query_mix(qs: list[Query]) -> None:
    kinds = Counter(q.kind for q in qs)
    assert kinds["no_match"] == 300
    assert set(kinds) == set(CORRUPTIONS) | {"no_match"}
    assert kinds["exact"] > kinds["umlaut_expanded"] > 0
    targeted = [q for q in qs if q.target is not None]
    initials = sum(1 for q in targeted if re.search(r" \w\.$", q.text))
    assert 0.05 <= initials / len(targeted) <= 0.15


def test_accept_sets(people: list[Person], qs: list[Query]) -> None:
    by_id = {p.id: p for p in people}
    groups: dict[tuple[str, str], set[int]] = {}
    for p in people:
        groups.setdefault((p.organisation, fold(p.surname)), set()).add(p.id)

    def first_given(i: int) -> str:
        return fold(by_id[i].given_names.split()[0])

    narrowed = 0
    for q in qs:
        if q.target is None:
            assert q.kind == "no_match" and q.accept == frozenset()
            continue
        target = by_id[q.target]
        assert q.target in q.accept
        assert q.organisation == target.organisation
        group = groups[(target.organisation, fold(target.surname))]
        # Same first given name ⊆ accept ⊆ same surname in the same organisation.
        assert q.accept <= group
        assert {i for i in group if first_given(i) == first_given(q.target)} <= q.accept
        if q.accept != group:
            narrowed += 1
            initial = re.search(r" \w\.$", q.text) is not None
            for i in q.accept:
                if initial:
                    assert first_given(i)[0] == first_given(q.target)[0]
                else:
                    assert first_given(i) == first_given(q.target)
    assert narrowed > 0
    assert any(len(q.accept) > 1 for q in qs)


def test_no_match_queries_have_no_close_name(people: list[Person], qs: list[Query]) -> None:
    folded_by_org: dict[str, set[str]] = {}
    for p in people:
        folded_by_org.setdefault(p.organisation, set()).add(fold(p.surname))
    no_match = [q for q in qs if q.kind == "no_match"]
    assert no_match
    for q in no_match:
        key = fold(q.text)
        assert len(key) >= 4
        choices = folded_by_org[q.organisation]
        assert all(Levenshtein.distance(key, s, score_cutoff=1) > 1 for s in choices), q


def test_within_one_edit_matches_levenshtein() -> None:
    rng = random.Random(5)
    words = ["".join(rng.choice("abcde") for _ in range(rng.randint(2, 6))) for _ in range(300)]
    known = set(words[:150])
    for word in words[150:]:
        expected = any(Levenshtein.distance(word, k) <= 1 for k in known)
        assert dataset._within_one_edit(word, known) == expected


def test_queries_validation(people: list[Person]) -> None:
    assert queries(people, 0) == []
    assert queries([], 10) == []
    with pytest.raises(ValueError):
        queries(people, 10, no_match_share=1.5)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def test_evaluate_exact_numbers() -> None:
    qs = [
        Query("peeters", "FIN", "exact", 1, frozenset({1, 2})),
        Query("jansens", "FIN", "drop_letter", 3, frozenset({3})),
        Query("maess", "JUS", "drop_letter", 4, frozenset({4})),
        Query("zwartkop", "FIN", "no_match", None, frozenset()),
        Query("blanqui", "IBZ", "no_match", None, frozenset()),
    ]
    ranked = [[2, 9], [9, 8, 7, 6, 3], [9, 8, 7, 6, 5, 4], [], [7]]
    assert evaluate(ranked, qs) == {
        "recall@1": pytest.approx(1 / 3),
        "recall@5": pytest.approx(2 / 3),
        "false_positive_rate": 0.5,
        "queries": 5.0,
        "no_match_queries": 2.0,
        "recall@5:exact": 1.0,
        "recall@5:drop_letter": 0.5,
    }


def test_evaluate_edge_cases() -> None:
    assert evaluate([], []) == {
        "recall@1": 0.0,
        "recall@5": 0.0,
        "false_positive_rate": 0.0,
        "queries": 0.0,
        "no_match_queries": 0.0,
    }
    with pytest.raises(ValueError):
        evaluate([[1]], [])


def test_evaluate_perfect_engine(qs: list[Query]) -> None:
    ranked = [sorted(q.accept) for q in qs]
    result = evaluate(ranked, qs)
    assert result["recall@1"] == result["recall@5"] == 1.0
    assert result["false_positive_rate"] == 0.0
    assert result["queries"] == 3000.0
    assert all(v == 1.0 for k, v in result.items() if k.startswith("recall@5:"))
