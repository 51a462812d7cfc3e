"""User text stays literal in each platform's markup: no mention, link or emphasis from a name."""

from __future__ import annotations

import json
import re

import pytest

from bot import slack_blocks
from core.conversation.types import Choice, Reply
from core.markup import adaptive_card_text, slack_mrkdwn

HOSTILE = "<!channel> <https://evil.example|Cliquez ici> & co"


def test_slack_mrkdwn_escapes_its_three_control_characters() -> None:
    assert slack_mrkdwn(HOSTILE) == \
        "&lt;!channel&gt; &lt;https://evil.example|Cliquez ici&gt; &amp; co"
    assert slack_mrkdwn("&lt;") == "&amp;lt;"  # typed as such, shown as such
    assert slack_mrkdwn("Dupont Marie") == "Dupont Marie"


def _unescape_card(text: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


@pytest.mark.parametrize("typed", [
    "[Cliquez ici](https://evil.example)", "![x](https://evil.example/p.png)",
    "**gras** _italique_ ~barré~ `code`", "# Titre", "> citation", "- puce", "+ puce",
    "1. premier", "  12. indenté", "===", "<b>html</b> &amp;", "\\*encore\\*",
    "Dupont\n- Marie", "${name} {{x}}", "a|b", "O'Brien-Dupont (BOSA)",
])
def test_adaptive_card_text_leaves_nothing_for_markdown(typed: str) -> None:
    escaped = adaptive_card_text(typed)
    assert _unescape_card(escaped) == typed  # a CommonMark reader shows exactly what was typed
    unescaped = re.sub(r"\\.", "", escaped)  # what is left once every escape pair is removed
    assert not re.search(r"[\\`*_~\[\]()<>!|{}&]", unescaped), escaped
    for line in escaped.splitlines():  # no heading, quote, list or underline is started
        assert not re.match(r"[ \t]*([#>+\-=*]|\d+[.)])", line), escaped


def test_adaptive_card_text_examples() -> None:
    assert adaptive_card_text("[x](http://e)") == "\\[x\\]\\(http://e\\)"
    assert adaptive_card_text("- a\n1. b") == "\\- a\n1\\. b"
    assert adaptive_card_text("Jean-Marie Dupont") == "Jean-Marie Dupont"
    assert adaptive_card_text("a\\b") == "a\\\\b"


def _mrkdwn_texts(blocks: list[dict]) -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def test_every_mrkdwn_field_of_a_reply_is_escaped() -> None:
    long_label = HOSTILE + " " + "x" * 80
    reply = Reply(f"Nouvelle inscription : {HOSTILE} <marie@example.be>", "fr",
                  choices=[Choice("1", long_label), Choice("2", "Dupont")])
    texts = _mrkdwn_texts(slack_blocks.render(reply))
    assert len(texts) == 2
    for text in texts:
        assert "<" not in text and ">" not in text and "&lt;!channel&gt;" in text
    assert texts[1].startswith("*1.* &lt;!channel&gt;")
    assert slack_blocks.fallback_text(reply).startswith("Nouvelle inscription : &lt;!channel")


def test_home_and_resolved_messages_are_escaped() -> None:
    home = Reply("ITMA", "fr", sections=[(HOSTILE, [HOSTILE, "Dupont"])])
    texts = _mrkdwn_texts(slack_blocks.home_view(home)["blocks"])
    assert texts[0] == "*" + slack_mrkdwn(HOSTILE) + "*"
    assert texts[1] == "• " + slack_mrkdwn(HOSTILE) + "\n• Dupont"
    original = "Demande #3 : &lt;!channel&gt;"  # our own escaped text, as Slack gives it back
    section, context = slack_blocks.resolved(original, f"Votre choix : {HOSTILE}")
    assert section["text"]["text"] == original
    assert json.dumps(context).count("<") == 0


def test_a_cut_text_never_ends_inside_an_escape() -> None:
    for pad in range(slack_blocks.TEXT_LIMIT - 6, slack_blocks.TEXT_LIMIT + 1):
        text = slack_blocks.render(Reply("x" * pad + "<<<<<<", "fr"))[0]["text"]["text"]
        assert len(text) <= slack_blocks.TEXT_LIMIT
        assert re.fullmatch(r"x*(&lt;)*", text), text[-8:]
