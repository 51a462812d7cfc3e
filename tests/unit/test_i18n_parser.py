"""Catalogues agree with each other; the parser reads commands in every language."""

from __future__ import annotations

import string
from datetime import date

import pytest

from core import i18n
from core.conversation.parser import parse


def _placeholders(value: object) -> set[str]:
    values = value.values() if isinstance(value, dict) else [value]
    return {name for text in values if isinstance(text, str)
            for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", ["nl", "en", "de"])
def test_catalogues_have_the_same_keys_and_placeholders(language: str) -> None:
    reference = i18n.catalogue("fr")
    other = i18n.catalogue(language)
    assert set(other) == set(reference)
    for key, value in reference.items():
        if not key.startswith("intents."):
            assert _placeholders(other[key]) == _placeholders(value), key


def test_no_phrase_means_two_intents() -> None:
    """Across the four catalogues, a phrase that decides an intent decides only that one."""
    from collections import defaultdict

    from core.conversation.understanding.vocabulary import vocabulary

    meanings: dict[tuple[object, ...], set[str]] = defaultdict(set)
    for phrases in vocabulary().phrases.values():
        for phrase in phrases:
            if phrase.strong:
                meanings[(*phrase.words, phrase.gap)].add(phrase.intent)
    assert meanings[("inscrire", None)] == {"enroll"}
    assert vocabulary().flow_words["ok"] == "confirm"
    assert {k: v for k, v in meanings.items() if len(v) > 1} == {}


@pytest.mark.parametrize(("text", "intent", "language"), [
    ("inscrire Dupont BOSA-101", "enroll", "fr"),
    ("Inscris dupont bosa-101", "enroll", "fr"),
    ("inschrijven Peeters BOSA-101 12/03", "enroll", "nl"),
    ("enroll Dupont BOSA-101", "enroll", "en"),
    ("anmelden Müller BOSA-101", "enroll", "de"),
    ("DÉSINSCRIRE Dupont BOSA-101", "unenroll", "fr"),
    ("desinscrire Dupont", "unenroll", "fr"),
    ("uitschrijven Peeters", "unenroll", "nl"),
    ("unenroll Dupont", "unenroll", "en"),
    ("places BOSA-101", "seats", "fr"),
    ("plaatsen BOSA-101", "seats", "nl"),
    ("seats BOSA-101", "seats", "en"),
    ("formations", "overview", "fr"),
    ("opleidingen", "overview", "nl"),
    ("trainings", "overview", "en"),
    ("inscrits BOSA-101", "participants", "fr"),
    ("rapport Dupont", "report", None),
    ("report Dupont", "report", "en"),
    ("demandes", "requests", "fr"),
    ("aanvragen", "requests", "nl"),
    ("requests", "requests", "en"),
    ("approuver 12", "approve", "fr"),
    ("refuser 12 complet", "refuse", "fr"),
    ("ajouter 85.07.30-033.28", "add", "fr"),
    ("nouveau fonctionnaire", "add", "fr"),
    ("lier", "link", "fr"),
    ("koppelen", "link", "nl"),
    ("aide", "help", "fr"),
    ("hulp", "help", "nl"),
    ("?", "help", "fr"),
    ("oui", "confirm", "fr"),
    ("JA", "confirm", None),
    ("annuler", "cancel", "fr"),
    ("nee", "cancel", "nl"),
    ("3", "number", None),
])
def test_intents(text: str, intent: str, language: str | None) -> None:
    parsed = parse(text)
    assert parsed.intent == intent
    if language is not None:
        assert parsed.language in (language, None)


def test_arguments_are_separated() -> None:
    parsed = parse("inscrire Van den Bossche Els BOSA-101 12/03/2027")
    assert parsed.code == "BOSA-101"
    assert parsed.day == date(2027, 3, 12)
    assert parsed.rest == "Van den Bossche Els"
    parsed = parse("refuser 12 session complète")
    assert parsed.number == 12 and parsed.reason == "session complète"
    assert parse("inschrijven Peeters BOSA-101 12/03").day == date(2027, 3, 12)
    assert parse("inscrire Peeters bosa-1O1").code == "bosa-1O1"


def test_variants_and_fallback() -> None:
    assert i18n.t("fr", "seats.remaining", 1, free=1) == "1 place restante"
    assert i18n.t("fr", "seats.remaining", 4, free=4) == "4 places restantes"
    assert "inscrite" in i18n.t("fr", "enroll.done", "F", name="A", code="B", date="C",
                                place="D", seats="E")
    assert "inscrit(e)" in i18n.t("fr", "enroll.done", None, name="A", code="B", date="C",
                                  place="D", seats="E")
    with pytest.raises(KeyError):
        i18n.t("fr", "no.such.key")


@pytest.mark.parametrize(("text", "intent", "language", "code", "persons"), [
    ("Peux-tu inscrire Kris Beckers à IFA-103 ?", "enroll", "fr", "IFA-103", ["Kris Beckers"]),
    ("inscris Kris Beckers à la formation IFA-103 stp", "enroll", "fr", "IFA-103",
     ["Kris Beckers"]),
    ("kun je Beckers inschrijven voor IFA-103 aub", "enroll", "nl", "IFA-103", ["Beckers"]),
    ("schrijf Peeters in voor ifa-103", "enroll", "nl", "IFA-103", ["Peeters"]),
    ("could you book Kris Beckers on IFA-103 please", "enroll", "en", "IFA-103",
     ["Kris Beckers"]),
    ("I'd like to enroll Ms Dupont for IFA-103", "enroll", "en", "IFA-103", ["Dupont"]),
    ("bitte Frau Müller für IFA-103 anmelden", "enroll", "de", "IFA-103", ["Müller"]),
    ("melde Herrn Müller für IFA 103 an", "enroll", "de", "IFA-103", ["Müller"]),
    ("combien de places pour IFA-107 ?", "seats", "fr", "IFA-107", []),
    ("Y a-t-il encore de la place en IFA-107 ?", "seats", "fr", "IFA-107", []),
    ("is er nog plaats in IFA-107?", "seats", "nl", "IFA-107", []),
    ("is there room on IFA-107?", "seats", "en", "IFA-107", []),
    ("wie viele Plätze hat IFA-107 noch", "seats", "de", "IFA-107", []),
    ("qui est inscrit à IFA-103 ?", "participants", "fr", "IFA-103", []),
    ("wie is ingeschreven voor IFA-103?", "participants", "nl", "IFA-103", []),
    ("who is registered for IFA-103?", "participants", "en", "IFA-103", []),
    ("wer ist für IFA-103 angemeldet?", "participants", "de", "IFA-103", []),
    ("qu'a suivi Dupont ?", "report", "fr", None, ["Dupont"]),
    ("wat heeft Peeters gevolgd?", "report", "nl", None, ["Peeters"]),
    ("show me Dupont's report", "report", "en", None, ["Dupont"]),
    ("y a-t-il des demandes ?", "requests", "fr", None, []),
    ("zijn er aanvragen?", "requests", "nl", None, []),
    ("any pending requests?", "requests", "en", None, []),
    ("inscirre Dupont IFA-103", "enroll", "fr", "IFA-103", ["Dupont"]),
    ("inschrijfen Peeters voor IFA-103", "enroll", "nl", "IFA-103", ["Peeters"]),
    ("retire Dupont d'IFA-107 stp", "unenroll", "fr", "IFA-107", ["Dupont"]),
])
def test_sentences(text: str, intent: str, language: str, code: str | None,
                   persons: list[str]) -> None:
    parsed = parse(text)
    assert (parsed.intent, parsed.language, parsed.code) == (intent, language, code)
    assert [p.text for p in parsed.persons] == persons


@pytest.mark.parametrize(("text", "when"), [
    ("inscrire Dupont IFA-103 15/03", "2027-03-15"),
    ("inscrire Dupont IFA-103 15-03-2027", "2027-03-15"),
    ("inscrire Dupont IFA-103 le 15 mars", "2027-03-15"),
    ("inschrijven Peeters IFA-103 op 15 maart", "2027-03-15"),
    ("enroll Dupont in IFA-103 on March 15th", "2027-03-15"),
    ("Müller für IFA-103 am 15. März anmelden", "2027-03-15"),
    ("inscrire Dupont IFA-103 le 1er décembre", "2026-12-01"),
    ("inscrire Dupont IFA-103 vendredi prochain", "2026-11-27"),
    ("inschrijven Peeters IFA-103 volgende week vrijdag", "2026-12-04"),
    ("enroll Dupont in IFA-103 Wednesday the 9th", "2026-12-09"),
    ("inscrire Dupont IFA-103 demain", "2026-11-27"),
    ("inscrire Dupont IFA-103 le 3", "2026-12-03"),
    ("inscrire Dupont IFA-103 en avril", "2027-04"),
    ("enroll Dupont in IFA-103 next month", "2026-12"),
    ("places IFA-103 la semaine prochaine", "2026-11-30..2026-12-06"),
    ("may I enroll Dupont in IFA-103?", None),
])
def test_dates(text: str, when: str | None) -> None:
    parsed = parse(text)
    assert (parsed.when.label() if parsed.when else None) == when


@pytest.mark.parametrize(("text", "persons"), [
    ("inscris Dupont, Peeters et Lambert à BOSA-101 le 12/03", ["Dupont", "Peeters", "Lambert"]),
    ("inschrijven Jan Van Damme en De Smet voor BOSA-101", ["Jan Van Damme", "De Smet"]),
    ("enroll Marie Dupont and Jan Peeters in BOSA-101", ["Marie Dupont", "Jan Peeters"]),
    ("inscrire vander meulen à BOSA-101", ["vander meulen"]),
    ("historique de van wesemael", ["van wesemael"]),
    ("rapport de De Smet", ["De Smet"]),
    ("rapport de Jan Peeters", ["Jan Peeters"]),
    ("inscrire Dupont M. à BOSA-101", ["Dupont M."]),
    ("enroll April Smith in BOSA-101", ["April Smith"]),
])
def test_persons(text: str, persons: list[str]) -> None:
    assert [p.text for p in parse(text).persons] == persons


def test_titles_tell_the_sex_and_unsure_sentences_have_readings() -> None:
    assert [p.sex for p in parse("inscrire Mme Dupont et M. Peeters à BOSA-101").persons] == [
        "F", "M"]
    assert [p.sex for p in parse("schrijf mevr. Claes en dhr. Maes in").persons] == ["F", "M"]
    parsed = parse("Quelles sessions pour les inscrits ?")
    assert parsed.intent is None or parsed.readings == []
    parsed = parse("Beckers IFA-103")
    assert (parsed.intent, parsed.code, parsed.query) == (None, "IFA-103", "Beckers")
