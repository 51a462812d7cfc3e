"""Helpdesk triage rules (core/services/triage.py, templates/helpdesk/triage.toml): the
development half of bench/helpdesk as a floor, the pattern kinds, the language, the tag."""

from __future__ import annotations

import pytest

from bench.helpdesk.corpus import load
from core.config import ConfigError
from core.services import helpdesk, triage


def test_the_development_half_stays_read_right() -> None:
    """The half the vocabulary was tuned on (the test half is measured by bench/helpdesk)."""
    mails = load(("dev",))
    wrong = [(m.key, m.category, triage.classify(m.subject, m.body)[0]) for m in mails
             if triage.classify(m.subject, m.body)[0] != m.category]
    assert len(wrong) <= len(mails) * 0.02, wrong
    languages = [(m.key, triage.detect_language(f"{m.subject}\n{m.body}")[0]) for m in mails]
    assert [k for (k, lang), m in zip(languages, mails, strict=True) if lang != m.language] == []


@pytest.mark.parametrize(("subject", "body", "category"), [
    ("mon accès a expiré", "", "access"),
    ("eID werkt niet", "", "eid"),
    ("I can't find the session", "", "enrollment"),
    ("Nouvelle inscription", "Ma demande est-elle arrivée ?", "registration"),
    ("de CSV-import geeft fouten", "", "pdata"),            # the part of a hyphenated word
    ("Kartenleser wird nicht erkannt", "", "eid"),          # inside a compound (*kartenleser*)
    ("PRO Academy", "Quand commence la prochaine cohorte ?", "certification"),
    ("Export", "Comment exporter le rapport des participants ?", "report"),
    ("Repas", "Le repas est-il prévu ? Une participante est végétarienne.", "other"),
    ("Bonjour", "Merci pour tout !", "other"),
    ("", "", "other"),
])
def test_a_category_from_a_few_words(subject: str, body: str, category: str) -> None:
    found, confidence, _points = triage.classify(subject, body)
    assert found == category
    assert 0 < confidence <= 1


def test_a_clear_mail_is_surer_than_a_vague_one() -> None:
    clear = triage.classify("Code PIN bloqué", "Ma carte eID est bloquée, le lecteur refuse.")
    vague = triage.classify("Question", "J'ai une question sur une formation.")
    assert clear[1] > 0.9 > vague[1]


def test_phrases_and_words_are_found_folded() -> None:
    assert "tenez-moi au courant" in triage.explain("TENEZ-MOI AU COURANT", "", "registration")
    assert "kaartlezer" in triage.explain("USB-kaartlezer", "", "eid")  # *kaartlezer*
    assert triage.words("Prüfziffer — l'import") == ["prufziffer", "l'import"]


@pytest.mark.parametrize(("text", "language"), [
    ("Bonjour, mon accès a expiré hier. Pouvez-vous le prolonger ?", "fr"),
    ("Goedemorgen, mijn toegang is verlopen. Kunnen jullie die verlengen?", "nl"),
    ("Hi, my access expired yesterday. Could you renew it?", "en"),
    ("Guten Tag, mein Zugang ist abgelaufen. Können Sie ihn verlängern?", "de"),
    ("eID werkt niet", "nl"),
    ("Zugang abgelaufen", "de"),
    ("Kartenleser wird nicht erkannt", "de"),
])
def test_the_language(text: str, language: str) -> None:
    assert triage.detect_language(text)[0] == language


def test_no_evidence_keeps_the_default_language() -> None:
    assert triage.detect_language("?!", "nl") == ("nl", 0.0)
    assert triage.detect_language("", None) == ("fr", 0.0)


def test_a_broken_vocabulary_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "helpdesk").mkdir()
    (root / "helpdesk" / "triage.toml").write_text("threshold = [", "utf-8")
    monkeypatch.setattr(triage, "TEMPLATES_DIR", root)
    triage.rules.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"triage\.toml"):
            triage.rules()
    finally:
        monkeypatch.undo()
        triage.rules.cache_clear()
    assert triage.rules().threshold > 0


@pytest.mark.parametrize(("subject", "number"), [
    ("Re: [ITMA #12] mon accès", 12), ("[itma # 7] x", 7), ("RE: AW: [ITMA#3]", 3),
    ("#12 sans crochets", None), ("[ITMA #] vide", None)])
def test_the_ticket_tag(subject: str, number: int | None) -> None:
    found = helpdesk.TAG.search(subject)
    assert (int(found.group(1)) if found else None) == number


def test_the_subject_shown_drops_prefixes_and_the_tag() -> None:
    assert helpdesk.display_subject("RE: Fwd: [ITMA #12] mon accès a expiré") == \
        "mon accès a expiré"
    assert helpdesk.display_subject("AW: WG: Antw: Zugang") == "Zugang"
