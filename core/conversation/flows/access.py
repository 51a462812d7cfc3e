"""renouveler / verlengen / renew, and demander un accès: the officer's own access, in one message.

Both pass the engine's gate (OPEN_FLOWS): an officer whose access ended must be able to renew.
"""

from __future__ import annotations

from core import i18n
from core.app import UnitOfWork
from core.conversation.context import Turn
from core.conversation.flows.base import Answer
from core.conversation.parser import Parsed
from core.conversation.types import Inbound, Reply
from core.models import RequestState
from core.services import access, links


class RenewFlow:
    name = "renew"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        request, created = access.request_renewal(turn.uow, turn.officer,
                                                  via=turn.channel.split(":", 1)[0] or "chat")
        if request.state == RequestState.APPROVED:
            return turn.done(turn.t("access.renewed", date=turn.officer.valid_until))
        key = "access.renewal_sent" if created else "access.renewal_pending"
        return turn.done(turn.t(key, id=request.id))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(None, None))


class AccessFlow:
    """An officer asking for access already has it: say until when, and how to renew."""

    name = "access"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        return turn.done(turn.t("access.already", date=turn.officer.valid_until or "-"))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(None, None))


def access_reply(uow: UnitOfWork, inbound: Inbound, language: str) -> Reply:
    """A chat account with no officer: the eID page, where a certificate holder who is not an
    officer yet gets the short access request form."""
    if inbound.platform not in links.PLATFORMS:
        return Reply(i18n.t(language, "access.console"), language)
    url = links.issue(uow, inbound.platform, inbound.workspace, inbound.user_ref)
    return Reply(i18n.t(language, "access.link", url=url), language)
