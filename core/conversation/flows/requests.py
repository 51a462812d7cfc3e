"""demandes / approuver 12 / refuser 12 complet: the "Nouvelle inscription" queue in chat."""

from __future__ import annotations

from core import phrases
from core.conversation.context import Turn
from core.conversation.flows.base import Answer
from core.conversation.parser import Parsed
from core.conversation.types import Reply
from core.errors import DomainError
from core.services import requests
from core.services.access import require_active, responsible_for


class RequestsFlow:
    name = "requests"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        require_active(turn.officer)
        items = requests.pending(turn.uow, turn.officer)
        if not items:
            return turn.done(turn.t("requests.none"))
        lines = [turn.t("requests.header", count=len(items))]
        lines += [phrases.request_line(turn.language, r) for r in items]
        lines.append(turn.t("requests.how"))
        return turn.done("\n".join(lines))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(None, None))


class DecideFlow:
    """approve / refuse: both name a request number and are confirmed before anything changes.

    A known national number under other names is asked about once more (step "mismatch");
    confirming then approves for that person.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        if parsed.number is None:
            return turn.done(turn.t(f"requests.{self.name}_usage"))
        request = requests.get(turn.uow, parsed.number)
        if not responsible_for(turn.officer, request.organisation_id):
            raise DomainError("unknown_request", id=parsed.number)
        turn.data.update(request_id=request.id, reason=parsed.reason or None)
        return turn.confirm(self.name, "confirm", turn.t(
            f"requests.{self.name}_confirm", request=phrases.request_line(turn.language, request),
            reason=parsed.reason or "-"))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        if not answer.confirmed:
            return turn.confirm(self.name, step, turn.t("flow.yes_or_no"))
        return decide(turn, int(turn.data["request_id"]), self.name == "approve",
                      turn.data.get("reason"), accept_mismatch=step == "mismatch")


def decide(turn: Turn, request_id: int, approved: bool, reason: str | None, *,
           accept_mismatch: bool = False) -> Reply:
    """Decide in this turn; a name mismatch becomes a question instead of a refusal."""
    try:
        with turn.uow.session.begin_nested():
            decision = requests.decide(turn.uow, turn.officer, request_id, approved, reason,
                                       via=turn.channel.split(":", 1)[0] or "chat",
                                       accept_mismatch=accept_mismatch)
    except DomainError as exc:
        if exc.code != "request_identity_mismatch" or exc.params.get("variant") != "known":
            raise
        turn.data.update(request_id=request_id, reason=reason)
        return turn.confirm("approve", "mismatch", exc.message(turn.language))
    return turn.done(phrases.decision_text(turn.language, decision))

