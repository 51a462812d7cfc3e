"""Mail templates (templates/mail/NAME.LANG.{txt,html}): every mail renders in every language."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mail_gateway import render as mail_render

MAIL_DIR = Path(__file__).resolve().parents[2] / "templates" / "mail"
LANGUAGES = ("fr", "nl", "en", "de")
PARTICIPANT_MAILS = ("enrollment_confirmed", "option_taken", "waitlisted", "seat_offered",
                     "unenrolled", "request_refused", "mailing_list_subscribed")
OFFICER_MAILS = ("request_new", "reply_done", "reply_already_decided", "reply_token_invalid",
                 "reply_help")
MAILS = PARTICIPANT_MAILS + OFFICER_MAILS

APPROVE_WORD = "OK"
REFUSE_WORD = {"fr": "REFUSER", "nl": "WEIGEREN", "en": "REFUSE", "de": "ABLEHNEN"}
TRAINING_OFFICER = {"fr": "responsable de formation", "nl": "opleidingsverantwoordelijke",
                    "en": "training officer", "de": "Ausbildungsverantwortlichen"}
REPLY_ADDRESS = "reply+Tok3n_abc@itma.localhost"
# _*.html are not mails: the layout every mail extends and its per-language texts
HTML_MAILS = sorted(p for p in MAIL_DIR.glob("*.html") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def env() -> Environment:
    """The product's own environment: its filters write dates the language's way."""
    return mail_render.environment()


def sample(mail: str, language: str, /, **overrides: object) -> dict:
    session = {"code": "BOSA-101", "title": "Excel – les bases", "start": "2027-03-12",
               "end": "2027-03-13", "place": "Bruxelles – WTC III"}
    wants_session = {"kind": "session", "training_code": "BOSA-101",
                     "session_start": "2027-03-12", "title": "Excel – les bases",
                     "place": "Bruxelles – WTC III"}
    by_name: dict[str, dict] = {
        "enrollment_confirmed": session,
        "option_taken": {**session, "hold_expires_at": "2027-03-05T17:00:00+01:00"},
        "waitlisted": {k: session[k] for k in ("code", "title", "start", "place")},
        "seat_offered": {**{k: session[k] for k in ("code", "title", "start", "place")},
                         "hold_expires_at": "2027-03-05T17:00:00+01:00"},
        "unenrolled": {k: session[k] for k in ("code", "title", "start", "place")},
        "request_refused": {"reason": "Session complète.",
                            "wants": {"kind": "session", "training_code": "BOSA-101",
                                      "session_start": "2027-03-12"}},
        "mailing_list_subscribed": {},
        "request_new": {
            "request_id": 12, "organisation": "BOSA",
            "organisation_name": "SPF Stratégie et Appui",
            "person": {"surname": "Dupont", "given_names": "Marie",
                       "email": "marie.dupont@bosa.example", "language": "fr",
                       "nrn_given": True},
            "wants": wants_session, "reply_address": REPLY_ADDRESS},
        "reply_done": {"request_id": 12, "outcome_text": "Demande #12 approuvée : Dupont Marie "
                                                         "est inscrite à BOSA-101 (12/03/2027)."},
        "reply_already_decided": {"request_id": 12, "decided_by": "Sophie Lambert",
                                  "decided_at": "2027-03-12T13:05:00+00:00", "state": "approved"},
        "reply_token_invalid": {"reason": "expired"},
        "reply_help": {"request_id": 12, "reply_address": REPLY_ADDRESS},
    }
    context = {"language": language, "name": "Marie Dupont", "app_name": "ITMA Assistant",
               **by_name[mail]}
    context.update(overrides)
    return context


def render(env: Environment, name: str, language: str, ext: str, context: dict) -> str:
    return env.get_template(f"{name}.{language}.{ext}").render(**context)


class _Structure(HTMLParser):
    """Checks that every opened element is closed in order (void elements excepted)."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                      "meta", "source", "track", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.seen: list[str] = []
        self.errors: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(tag)
        self.attributes.extend((tag, key, value) for key, value in attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()


def check_html(page: str) -> _Structure:
    parser = _Structure()
    parser.feed(page)
    parser.close()
    assert not parser.errors, parser.errors
    assert not parser.stack, f"unclosed: {parser.stack}"
    assert parser.seen.count("html") == 1 and parser.seen.count("body") == 1
    return parser


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


# ------------------------------------------------------------------ the files


def test_every_mail_exists_in_every_language_and_format() -> None:
    expected = {f"{n}.{lang}.{ext}" for n in MAILS for lang in LANGUAGES for ext in ("txt", "html")}
    present = {p.name for p in MAIL_DIR.iterdir() if p.is_file()}
    assert expected <= present, sorted(expected - present)


@pytest.mark.parametrize("path", sorted(MAIL_DIR.glob("*.txt")), ids=lambda p: p.name)
def test_text_templates_are_short(path: Path) -> None:
    assert len(path.read_text("utf-8").splitlines()) <= 60


@pytest.mark.parametrize("path", HTML_MAILS, ids=lambda p: p.name)
def test_html_templates_use_inline_styles_only(path: Path) -> None:
    source = path.read_text("utf-8")
    layout = (MAIL_DIR / "_layout.html").read_text("utf-8")
    texts = (MAIL_DIR / f"_frame.{path.name.split('.')[1]}.html").read_text("utf-8")
    for part in (source, layout, texts):
        assert "<style" not in part and "class=" not in part
        assert "<img" not in part and "<link" not in part and "<script" not in part
        assert "|safe" not in part.replace(" ", "")
    assert "max-width:600px" in layout
    assert layout.startswith("{% autoescape true %}")
    assert source.startswith('{% extends "_layout.html" %}')
    # A block or macro escapes by itself only: the layout's {% autoescape true %} does not reach it.
    bodies = (re.findall(r"{% block \w+ %}(.*?){% endblock %}", source, re.S)
              + re.findall(r"{% macro .*? %}(.*?){% endmacro %}", texts, re.S))
    for body in bodies:
        assert "{{" not in body or body.startswith("{% autoescape true %}"), body[:80]


# ------------------------------------------------------------------ rendering


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", MAILS)
def test_renders_in_both_formats(env: Environment, name: str, language: str) -> None:
    context = sample(name, language)
    text = render(env, name, language, "txt", context)
    page = render(env, name, language, "html", context)

    for output in (text, page):
        assert output.strip()
        assert "None" not in output
        assert "{{" not in output and "{%" not in output
    assert "\n\n\n" not in text
    assert len(text.splitlines()) <= 60
    assert text.startswith(("Bonjour Marie Dupont,", "Geachte Marie Dupont,",
                            "Dear Marie Dupont,", "Guten Tag Marie Dupont,"))

    parsed = check_html(page)
    assert ("html", "lang", language) in parsed.attributes
    links = [value for tag, key, value in parsed.attributes if key in ("href", "src")]
    assert all(link == f"mailto:{REPLY_ADDRESS}" for link in links), links

    footer = text.rstrip().splitlines()[-1]
    assert "ITMA Assistant" in footer
    assert text.rstrip().splitlines()[-2] == "-- "
    if name in PARTICIPANT_MAILS:
        assert TRAINING_OFFICER[language] in footer
        assert TRAINING_OFFICER[language] in text_of(page)
    for key in ("code", "title"):
        if key in context:
            assert context[key] in text and context[key] in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_session_mails_show_dates_and_attachments(env: Environment, language: str) -> None:
    confirmed = render(env, "enrollment_confirmed", language, "txt",
                       sample("enrollment_confirmed", language))
    assert "12/03/2027 – 13/03/2027" in confirmed and ".ics" in confirmed
    one_day = render(env, "enrollment_confirmed", language, "txt",
                     sample("enrollment_confirmed", language, end="2027-03-12"))
    assert "12/03/2027" in one_day and "13/03/2027" not in one_day and " – 12/03" not in one_day
    cancelled = render(env, "unenrolled", language, "html", sample("unenrolled", language))
    assert ".ics" in cancelled
    for name in ("option_taken", "seat_offered"):
        held = render(env, name, language, "txt", sample(name, language))
        assert "05/03/2027" in held


@pytest.mark.parametrize("language", LANGUAGES)
def test_request_new_explains_how_to_reply(env: Environment, language: str) -> None:
    context = sample("request_new", language)
    for ext in ("txt", "html"):
        output = render(env, "request_new", language, ext, context)
        words = output if ext == "txt" else text_of(output)
        assert APPROVE_WORD in words
        assert REFUSE_WORD[language] in words
        assert REPLY_ADDRESS in words
        assert "30" in words
        assert "Dupont" in words and "marie.dupont@bosa.example" in words and "BOSA" in words
        assert "12/03/2027" in words and "Excel – les bases" in words
    page = render(env, "request_new", language, "html", context)
    assert "<table" in page and "<th" in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_reply_help_repeats_both_answers(env: Environment, language: str) -> None:
    for request_id in (12, None):
        context = sample("reply_help", language, request_id=request_id)
        for ext in ("txt", "html"):
            output = render(env, "reply_help", language, ext, context)
            assert APPROVE_WORD in output and REFUSE_WORD[language] in output
            assert REPLY_ADDRESS in output
            words = output if ext == "txt" else text_of(output)
            assert bool(re.search(r"\b12\b", words)) == (request_id is not None)


# ------------------------------------------------------------------ escaping


@pytest.mark.parametrize("language", LANGUAGES)
def test_html_escapes_what_people_typed(env: Environment, language: str) -> None:
    person = {"surname": "<script>alert(1)</script>", "given_names": "Marie & <b>Jo</b>",
              "email": "x@example.org", "language": "nl", "nrn_given": False}
    page = render(env, "request_new", language, "html",
                  sample("request_new", language, person=person))
    assert "<script>" not in page and "<b>Jo" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Marie &amp; &lt;b&gt;Jo&lt;/b&gt;" in page
    check_html(page)

    text = render(env, "request_new", language, "txt",
                  sample("request_new", language, person=person))
    assert "<script>alert(1)</script>" in text  # plain text is never HTML-escaped


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", MAILS)
def test_recipient_name_is_escaped_in_every_html_mail(env: Environment, name: str,
                                                      language: str) -> None:
    page = render(env, name, language, "html", sample(name, language, name="<i>Eve</i> & Co"))
    assert "<i>" not in page and "&lt;i&gt;Eve&lt;/i&gt; &amp; Co" in page
    check_html(page)


def test_html_stays_escaped_without_environment_autoescape() -> None:
    plain = Environment(loader=FileSystemLoader(str(MAIL_DIR)), undefined=StrictUndefined)
    plain.filters.update(mail_render.environment().filters)
    page = render(plain, "reply_done", "fr", "html",
                  sample("reply_done", "fr", outcome_text="<script>x</script>"))
    assert "<script>" not in page and "&lt;script&gt;" in page


# ------------------------------------------------------------------ optional values


@pytest.mark.parametrize("language", LANGUAGES)
def test_optional_values_do_not_break(env: Environment, language: str) -> None:
    variants: list[tuple[str, dict]] = [
        ("request_refused", {"reason": ""}),
        ("request_refused", {"reason": None}),
        ("request_refused", {"reason": "Ligne 1\nLigne 2"}),
        ("request_refused", {"wants": {"kind": "mailing_list"}}),
        ("option_taken", {"hold_expires_at": None}),
        ("seat_offered", {"hold_expires_at": None}),
        ("waitlisted", {"place": None}),
        ("request_new", {"wants": {"kind": "session", "training_code": "BOSA-101",
                                   "session_start": "2027-03-12"}}),
        ("request_new", {"wants": {"kind": "session", "training_code": "BOSA-101",
                                   "session_start": "2027-03-12", "title": None,
                                   "place": ""}}),
        ("request_new", {"wants": {"kind": "mailing_list"}}),
        ("request_new", {"organisation_name": "",
                         "person": {"surname": "Dupont", "given_names": "", "email": None,
                                    "language": None, "nrn_given": False}}),
        ("reply_already_decided", {"state": "refused"}),
        ("reply_token_invalid", {"reason": "unknown"}),
        ("reply_token_invalid", {"reason": "used"}),
        ("reply_help", {"request_id": None}),
        ("enrollment_confirmed", {"name": ""}),
    ]
    for name, overrides in variants:
        context = sample(name, language, **overrides)
        text = render(env, name, language, "txt", context)
        page = render(env, name, language, "html", context)
        assert text.strip() and "None" not in text and "None" not in page, (name, overrides)
        assert "\n\n\n" not in text, (name, overrides)
        check_html(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_optional_values_change_the_wording(env: Environment, language: str) -> None:
    with_reason = render(env, "request_refused", language, "txt",
                         sample("request_refused", language))
    without = render(env, "request_refused", language, "txt",
                     sample("request_refused", language, reason=""))
    assert "Session complète." in with_reason and "Session complète." not in without
    assert len(without.splitlines()) < len(with_reason.splitlines())

    states = {state: render(env, "reply_already_decided", language, "txt",
                            sample("reply_already_decided", language, state=state))
              for state in ("approved", "refused")}
    assert states["approved"] != states["refused"]
    assert "Sophie Lambert" in states["approved"] and "12/03/2027 14:05" in states["approved"]

    reasons = {reason: render(env, "reply_token_invalid", language, "txt",
                              sample("reply_token_invalid", language, reason=reason))
               for reason in ("unknown", "expired", "used")}
    assert len(set(reasons.values())) == 3

    untitled = render(env, "request_new", language, "txt", sample(
        "request_new", language,
        wants={"kind": "session", "training_code": "BOSA-101", "session_start": "2027-03-12"}))
    assert "BOSA-101" in untitled and "Excel" not in untitled and "WTC" not in untitled
