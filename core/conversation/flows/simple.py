"""One-turn answers: help and link."""

from __future__ import annotations

from core import i18n
from core.app import UnitOfWork
from core.conversation.context import Turn
from core.conversation.flows.base import Answer
from core.conversation.parser import Parsed
from core.conversation.types import Inbound, Reply
from core.services import links


class HelpFlow:
    name = "help"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        return turn.done(turn.t("help.text", name=turn.officer.given_names))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(None, None))


class LinkFlow:
    """`lier` / `koppelen` / `link`: the one-time eID page URL for this chat account."""

    name = "link"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        return link_reply(turn.uow, Inbound(turn.channel, turn.user_ref), turn.language)

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(None, None))


def link_reply(uow: UnitOfWork, inbound: Inbound, language: str) -> Reply:
    if inbound.platform not in links.PLATFORMS:
        return Reply(i18n.t(language, "link.console"), language)
    url = links.issue(uow, inbound.platform, inbound.workspace, inbound.user_ref)
    return Reply(i18n.t(language, "link.url", url=url), language)
