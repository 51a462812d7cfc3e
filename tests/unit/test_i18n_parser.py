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
