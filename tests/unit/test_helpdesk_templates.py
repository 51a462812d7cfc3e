"""The helpdesk's mails (templates/mail/helpdesk_*): acknowledgement and answer, four
languages, text and HTML, what people typed escaped, the tag in the subject."""

from __future__ import annotations

import pytest
from jinja2 import Environment

from mail_gateway import render
from tests.unit.test_mail_templates import check_html, text_of

LANGUAGES = ("fr", "nl", "en", "de")
MAILS = ("helpdesk_ack", "helpdesk_answer")


@pytest.fixture(scope="module")
def env() -> Environment:
    return render.environment()


def context(language: str, **overrides: object) -> dict[str, object]:
    return {"language": language, "app_name": "ITMA Assistant", "name": "Luc Dubois",
            "ticket": 12, "subject": "mon accès a expiré", "category": "access",
            "text": "Bonjour,\nvotre accès est prolongé.\n\nCordialement", "staff": "Nadia Haddad",
            "in_reply_to": "<a@b>", "references": "<a@b>", **overrides}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", MAILS)
def test_both_formats_in_every_language(env: Environment, name: str, language: str) -> None:
    values = context(language)
    text = env.get_template(f"{name}.{language}.txt").render(values)
    page = env.get_template(f"{name}.{language}.html").render(values)
    for output in (text, page):
        assert "12" in output and "{{" not in output and "None" not in output
    assert "Luc Dubois" in text.splitlines()[0]
    assert "[ITMA #12]" in text and "[ITMA #12]" in text_of(page)
    check_html(page)
    if name == "helpdesk_answer":
        assert "votre accès est prolongé." in text and "Nadia Haddad" in text
        assert "Bonjour,<br>votre accès est prolongé." in page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", MAILS)
def test_what_people_typed_is_escaped(env: Environment, name: str, language: str) -> None:
    page = env.get_template(f"{name}.{language}.html").render(context(
        language, name="<b>Eve</b>", subject="<script>x</script>", text="<img src=x> & co"))
    assert "<script>" not in page and "<b>Eve" not in page and "<img" not in page
    check_html(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_name_gives_the_polite_greeting(env: Environment, language: str) -> None:
    text = env.get_template(f"helpdesk_ack.{language}.txt").render(context(language, name=""))
    assert text.splitlines()[0] in ("Madame, Monsieur,", "Geachte mevrouw, geachte heer,",
                                    "Dear Sir or Madam,", "Sehr geehrte Damen und Herren,")


@pytest.mark.parametrize("language", LANGUAGES)
def test_subjects_carry_the_tag(language: str) -> None:
    values = {"ticket": 12, "subject": "mon accès a expiré"}
    assert render.subject("helpdesk_ack", language, values) == "[ITMA #12] mon accès a expiré"
    assert render.subject("helpdesk_answer", language, values) == \
        "Re: [ITMA #12] mon accès a expiré"
