"""Tests for the demo data modules: core.demo.names and core.demo.catalogue."""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from datetime import date

import pytest

from core.demo import catalogue, names

HARD_CASE_SURNAMES = [
    # particles apart / together
    "Van den Bossche",
    "Vandenbossche",
    "Van de Velde",
    "Vandevelde",
    "Van der Linden",
    "Vanderlinden",
    "De Smet",
    "De Smedt",
    "Desmet",
    "D'Hondt",
    "Dhondt",
    "Le Clercq",
    "Leclercq",
    "Du Bois",
    "Dubois",
    "Van Damme",
    "Vandamme",
    "Van Hecke",
    "De Backer",
    "Debacker",
    "Della Valle",
    "Di Stefano",
    # hyphenated
    "Dupont-Martin",
    "Lefèvre-Dumont",
    "Van Acker-Peeters",
    # diacritics
    "Lefèvre",
    "Gérard",
    "Müller",
    "Thönnissen",
    "Öztürk",
    "Çelik",
    "François",
    "Lejeune",
    "Vérité",
    # apostrophes
    "D'Hoore",
    "D'Haese",
    "D'Ieteren",
    # spelling variants
    "Peeters",
    "Peters",
    "Pieters",
    "Lambrecht",
    "Lambrechts",
    "Claes",
    "Claeys",
    "Claessens",
    "Smet",
    "Smedt",
    "Smets",
    "Verhaeghe",
    "Verhaege",
    "Vermeulen",
    "Vermeule",
    "Desmedt",
    "Janssens",
    "Janssen",
    "Jansen",
    "Cuypers",
    "Kuypers",
    "Huysmans",
    "Huismans",
    # German-speaking community and immigrant origin examples
    "Schmitz",
    "Kohnen",
    "Lentz",
    "Heinen",
    "Cremer",
    "Jost",
    "Mertes",
    "Hilgers",
    "El Amrani",
    "Benali",
    "Yilmaz",
    "Rossi",
    "Esposito",
    "Garcia",
    "Nowak",
    "Kabongo",
    "Mbuyi",
]

ACCENTED_GIVEN_NAMES = [
    "Hélène",
    "Jérôme",
    "Thérèse",
    "Anaïs",
    "Zoë",
    "Noël",
    "Gaëlle",
    "François",
    "Jürgen",
    "Ümit",
    "Şeyma",
]


@pytest.fixture(scope="module")
def ten_thousand() -> list[names.Person]:
    return names.people(random.Random(20240917), 10_000)


def _all_surnames() -> set[str]:
    return {name for pairs in names.SURNAMES.values() for name, _ in pairs}


def _all_given_names() -> set[str]:
    return {
        name
        for by_sex in names.GIVEN_NAMES.values()
        for pairs in by_sex.values()
        for name, _ in pairs
    }


# --------------------------------------------------------------------------------------------
# names: static data
# --------------------------------------------------------------------------------------------


def test_surname_lists_have_realistic_sizes() -> None:
    sizes = {community: len(pairs) for community, pairs in names.SURNAMES.items()}
    assert set(sizes) == {"nl", "fr", "de", "other"}
    assert sizes["nl"] >= 230
    assert sizes["fr"] >= 180
    assert sizes["de"] >= 45
    assert sizes["other"] >= 70


def test_surname_lists_are_well_formed() -> None:
    for community, pairs in names.SURNAMES.items():
        surnames = [name for name, _ in pairs]
        assert len(surnames) == len(set(surnames)), community
        for name, weight in pairs:
            assert name == name.strip() and "  " not in name, name
            assert isinstance(weight, int) and weight > 0, name


def test_most_frequent_surnames_lead_their_community() -> None:
    def top(community: str, k: int) -> set[str]:
        ranked = sorted(names.SURNAMES[community], key=lambda pair: -pair[1])
        return {name for name, _ in ranked[:k]}

    assert {"Peeters", "Janssens", "Maes", "Jacobs", "Mertens"} <= top("nl", 8)
    assert {"Dubois", "Lambert", "Martin", "Dupont"} <= top("fr", 6)


@pytest.mark.parametrize("surname", HARD_CASE_SURNAMES)
def test_hard_case_surnames_present(surname: str) -> None:
    assert surname in _all_surnames()


def test_given_names_per_community_and_sex() -> None:
    assert set(names.GIVEN_NAMES) == {"nl", "fr", "de", "other"}
    minimum = {"nl": 55, "fr": 55, "de": 28, "other": 35}
    for community, by_sex in names.GIVEN_NAMES.items():
        assert set(by_sex) == {"M", "F"}
        for sex, pairs in by_sex.items():
            given = [name for name, _ in pairs]
            assert len(given) >= minimum[community], (community, sex)
            assert len(given) == len(set(given)), (community, sex)
            assert all(" " not in name for name in given), (community, sex)
            assert all(weight > 0 for _, weight in pairs)


@pytest.mark.parametrize("given", ACCENTED_GIVEN_NAMES)
def test_accented_given_names_present(given: str) -> None:
    assert given in _all_given_names()


# --------------------------------------------------------------------------------------------
# names: generation
# --------------------------------------------------------------------------------------------


def test_people_is_deterministic() -> None:
    first = names.people(random.Random(42), 2_000)
    second = names.people(random.Random(42), 2_000)
    other = names.people(random.Random(43), 2_000)
    assert first == second
    assert first != other


def test_people_sizes() -> None:
    rng = random.Random(7)
    assert names.people(rng, 0) == []
    assert len(names.people(rng, 1)) == 1
    assert len(names.people(rng, 1_234)) == 1_234


def test_people_fields_are_valid(ten_thousand: list[names.Person]) -> None:
    known_surnames = _all_surnames()
    for person in ten_thousand:
        assert person.sex in {"M", "F"}
        assert person.community in {"nl", "fr", "de", "other"}
        assert person.language in {"nl", "fr", "de", "en"}
        assert date(1960, 1, 1) <= person.birth_date <= date(2004, 12, 31)
        parts = person.given_names.split(" ")
        assert 1 <= len(parts) <= 2 and all(parts)
        if person.community != "other":
            assert person.surname in known_surnames
            if person.language != "en":
                assert person.language == person.community


def test_every_community_present(ten_thousand: list[names.Person]) -> None:
    communities = Counter(person.community for person in ten_thousand)
    assert set(communities) == {"nl", "fr", "de", "other"}
    share = {c: count / len(ten_thousand) for c, count in communities.items()}
    assert 0.50 < share["nl"] < 0.60
    assert 0.28 < share["fr"] < 0.38
    assert 0.01 < share["de"] < 0.035
    assert 0.07 < share["other"] < 0.13


def test_languages_and_sexes(ten_thousand: list[names.Person]) -> None:
    languages = Counter(person.language for person in ten_thousand)
    assert set(languages) == {"nl", "fr", "de", "en"}
    assert 0.01 < languages["en"] / len(ten_thousand) < 0.035
    other_languages = {p.language for p in ten_thousand if p.community == "other"}
    assert {"fr", "nl"} <= other_languages
    sexes = Counter(person.sex for person in ten_thousand)
    assert 0.45 < sexes["F"] / len(ten_thousand) < 0.55


def test_frequency_shape(ten_thousand: list[names.Person]) -> None:
    counts = Counter(person.surname for person in ten_thousand)
    top = [name for name, _ in counts.most_common(5)]
    assert "Peeters" in top
    assert counts["Peeters"] > 10 * max(counts["D'Ieteren"], 1)


def test_some_born_2000_or_later(ten_thousand: list[names.Person]) -> None:
    recent = sum(person.birth_date.year >= 2000 for person in ten_thousand)
    assert 0.01 < recent / len(ten_thousand) < 0.15
    assert any(person.birth_date.year < 1965 for person in ten_thousand)


def test_two_given_names_occur(ten_thousand: list[names.Person]) -> None:
    doubles = sum(" " in person.given_names for person in ten_thousand)
    assert 0.15 < doubles / len(ten_thousand) < 0.45


def test_homonym_rate(ten_thousand: list[names.Person]) -> None:
    seen: dict[tuple[str, str], list[date]] = {}
    homonyms = 0
    for person in ten_thousand:
        key = (person.surname, person.given_names.split(" ")[0])
        if key in seen:
            homonyms += 1
        seen.setdefault(key, []).append(person.birth_date)
    assert homonyms / len(ten_thousand) >= 0.01
    # homonyms must be told apart by birth date in the vast majority of cases
    clashes = sum(len(dates) - len(set(dates)) for dates in seen.values())
    assert clashes <= homonyms * 0.05


def test_homonym_rate_parameter_increases_homonyms() -> None:
    def count(rate: float) -> int:
        crowd = names.people(random.Random(5), 5_000, homonym_rate=rate)
        keys = Counter((p.surname, p.given_names.split(" ")[0]) for p in crowd)
        return sum(n - 1 for n in keys.values())

    assert count(0.10) > count(0.0) + 300


def test_generation_is_fast() -> None:
    """CPU time, not wall time: the suite runs tests in parallel on two cores."""
    start = time.process_time()
    crowd = names.people(random.Random(1), 200_000)
    elapsed = time.process_time() - start
    assert len(crowd) == 200_000
    assert elapsed < 3.0, f"200,000 people took {elapsed:.2f}s"


# --------------------------------------------------------------------------------------------
# names: e-mail addresses
# --------------------------------------------------------------------------------------------

EMAIL = re.compile(r"^[a-z0-9-]+\.[a-z0-9-]+[0-9]*@[a-z0-9.-]+$")


def _person(surname: str, given: str, sex: str = "F") -> names.Person:
    return names.Person(surname, given, sex, "fr", date(1980, 5, 17), "fr")


def test_email_strips_accents_spaces_and_apostrophes() -> None:
    taken: set[str] = set()
    assert names.email_for(_person("Lefèvre", "Hélène Zoë"), "fin.fgov.be", taken) == (
        "helene.lefevre@fin.fgov.be"
    )
    assert names.email_for(_person("Van den Bossche", "Jürgen", "M"), "bosa.be", taken) == (
        "jurgen.vandenbossche@bosa.be"
    )
    assert names.email_for(_person("D'Hondt", "Noël", "M"), "just.fgov.be", taken) == (
        "noel.dhondt@just.fgov.be"
    )
    assert names.email_for(_person("Öztürk", "Şeyma"), "ibz.be", taken) == ("seyma.ozturk@ibz.be")
    assert names.email_for(_person("Çelik", "Ümit", "M"), "ibz.be", taken) == "umit.celik@ibz.be"
    assert names.email_for(_person("Yıldız", "Łukasz", "M"), "ibz.be", taken) == (
        "lukasz.yildiz@ibz.be"
    )
    assert names.email_for(_person("Dupont-Martin", "Jean-Pierre", "M"), "x.be", taken) == (
        "jean-pierre.dupont-martin@x.be"
    )


def test_email_numbering_when_taken() -> None:
    taken: set[str] = set()
    person = _person("Peeters", "An")
    assert names.email_for(person, "bosa.be", taken) == "an.peeters@bosa.be"
    assert names.email_for(person, "bosa.be", taken) == "an.peeters2@bosa.be"
    assert names.email_for(person, "bosa.be", taken) == "an.peeters3@bosa.be"
    assert taken == {"an.peeters@bosa.be", "an.peeters2@bosa.be", "an.peeters3@bosa.be"}


def test_emails_unique_and_ascii(ten_thousand: list[names.Person]) -> None:
    taken: set[str] = set()
    emails = [names.email_for(person, "fin.fgov.be", taken) for person in ten_thousand]
    assert len(set(emails)) == len(emails) == len(taken)
    for email in emails:
        assert email.isascii(), email
        assert EMAIL.match(email), email


# --------------------------------------------------------------------------------------------
# catalogue
# --------------------------------------------------------------------------------------------

CODE = re.compile(r"^[A-Z]{2,5}-\d{3}$")


def test_training_codes_unique_and_well_formed() -> None:
    codes = [training.code for training in catalogue.TRAININGS]
    assert len(codes) >= 34
    assert len(codes) == len(set(codes))
    prefixes = {"BOSA", "IFA", "FIN", "JUS", "DIG", "LEAD", "LANG", "PRO"}
    for code in codes:
        assert CODE.match(code), code
        assert code.split("-")[0] in prefixes, code


def test_training_titles_in_four_languages() -> None:
    for training in catalogue.TRAININGS:
        assert set(training.titles) == {"fr", "nl", "en", "de"}, training.code
        assert all(title.strip() for title in training.titles.values()), training.code


def test_training_kinds_and_owners() -> None:
    org_codes = {code for code, _, _ in catalogue.ORGANISATIONS}
    kinds = Counter(training.kind for training in catalogue.TRAININGS)
    assert set(kinds) == {"catalogue", "on_demand", "certification"}
    assert kinds["catalogue"] >= 26
    assert kinds["on_demand"] >= 5
    assert kinds["certification"] >= 3
    for training in catalogue.TRAININGS:
        assert 8 <= training.capacity <= 24, training.code
        assert 1 <= training.days <= 3, training.code
        if training.kind == "on_demand":
            assert training.owner in org_codes, training.code
            assert training.owner in {"BOSA", "FIN", "JUS"}
        else:
            assert training.owner is None, training.code
        if training.kind == "certification":
            assert training.code.startswith("PRO-")


def test_organisations() -> None:
    codes = [code for code, _, _ in catalogue.ORGANISATIONS]
    assert {"BOSA", "FIN", "JUS", "ECO", "IBZ"} <= set(codes)
    assert len(codes) == len(set(codes))
    for code, labels, languages in catalogue.ORGANISATIONS:
        assert re.fullmatch(r"[A-Z]+", code)
        assert set(labels) == {"fr", "nl", "en", "de"}
        assert {"fr", "nl"} <= set(languages) <= {"fr", "nl", "de"}
    assert any("de" in languages for _, _, languages in catalogue.ORGANISATIONS)
    bosa = {code: labels for code, labels, _ in catalogue.ORGANISATIONS}["BOSA"]
    assert bosa["fr"] == "SPF Stratégie et Appui"
    assert bosa["nl"] == "FOD Beleid en Ondersteuning"


def test_departments_and_places() -> None:
    org_codes = {code for code, _, _ in catalogue.ORGANISATIONS}
    assert set(catalogue.DEPARTMENTS) == org_codes
    for code, departments in catalogue.DEPARTMENTS.items():
        assert 6 <= len(departments) <= 12, code
        assert len(departments) == len(set(departments)), code
    assert 8 <= len(catalogue.PLACES) <= 14
    assert len(catalogue.PLACES) == len(set(catalogue.PLACES))
    assert "En ligne / Online" in catalogue.PLACES
    assert "Eupen" in catalogue.PLACES
