"""One-turn answers: help and link."""

from __future__ import annotations

from core.conversation.context import Turn
from core.conversation.flows.base import Answer
from core.conversation.parser import Parsed
from core.conversation.types import Reply


class HelpFlow:
    name = "help"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        return turn.done(turn.t("help.text", name=turn.officer.given_names))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(None, None))


class LinkFlow:
    """The eID link page is its own issue; until it exists, say so plainly."""

    name = "link"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        return turn.done(turn.t("link.not_available"))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(None, None))
