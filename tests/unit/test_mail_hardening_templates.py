"""The help answer says why when a reply was not in the notification's thread, in every
language, and says nothing more otherwise."""

from __future__ import annotations

import pytest

from mail_gateway.render import environment

SAYS_USE_REPLY = {"fr": "« Répondre »", "nl": "“Beantwoorden”", "en": "“Reply”",
                  "de": "„Antworten“"}


@pytest.mark.parametrize("language", sorted(SAYS_USE_REPLY))
@pytest.mark.parametrize("kind", ["txt", "html"])
def test_help_answer_explains_a_reply_outside_the_thread(language: str, kind: str) -> None:
    template = environment().get_template(f"reply_help.{language}.{kind}")
    context = {"app_name": "ITMA Assistant", "language": language, "name": "Sophie Lambert",
               "request_id": 12, "reply_address": "reply+x@itma.localhost"}
    outside = template.render(**context, reason="not_in_thread")
    puzzled = template.render(**context, reason="not_understood")
    plain = template.render(**context)
    marker = SAYS_USE_REPLY[language]
    assert marker in outside
    assert marker not in puzzled and puzzled == plain
