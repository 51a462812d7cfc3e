"""tickets / ticket 12 / prendre 12 / fermer 12 / répondre 12 <texte>: the helpdesk in chat.

Only officers with the `helpdesk` role may use these (the engine's gate already asks for a
valid access). They are commands, read before the sentence parser: an answer typed after
`répondre 12` is the sender's business, and its words ("inscription", "places") must not be
read as another request. The verbs live in the catalogues ([intents] helpdesk_*).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

from core import i18n
from core.conversation.context import Turn
from core.conversation.flows.base import Answer
from core.conversation.parser import Parsed
from core.conversation.types import Reply
from core.models import HelpdeskMessage, HelpdeskTicket
from core.services import helpdesk, triage
from core.text import fold

LIST, SHOW, TAKE, CLOSE, REPLY = ("helpdesk_tickets", "helpdesk_ticket", "helpdesk_take",
                                  "helpdesk_close", "helpdesk_reply")
INTENTS = (LIST, SHOW, TAKE, CLOSE, REPLY)
NEEDS_NUMBER = frozenset({SHOW, TAKE, CLOSE, REPLY})
FILLERS = frozenset({"le", "la", "l'", "au", "du", "a", "the", "de", "het", "den", "das", "dem",
                     "zum", "ticket", "tickets", "no", "n°", "nr", "nr.", "nummer", "number",
                     "numero", "#", "op", "on", "to", "auf", "an"})
_NUMBER = re.compile(r"^#?(\d{1,9})[.,:;!?]?$")
_PUNCTUATION = " \t:;,.!?-–—"
EXCERPT = 300
THREAD_SHOWN = 8


@cache
def _verbs() -> dict[str, tuple[str, frozenset[str]]]:
    """Folded command word → (intent, the languages it belongs to)."""
    found: dict[str, tuple[str, set[str]]] = {}
    for language in i18n.LANGUAGES:
        for intent in INTENTS:
            for word in i18n.words(language, f"intents.{intent}"):
                key = fold(word).strip(_PUNCTUATION)
                if key:
                    found.setdefault(key, (intent, set()))[1].add(language)
    return {k: (intent, frozenset(languages)) for k, (intent, languages) in found.items()}


def read_command(text: str) -> Parsed | None:
    """A helpdesk command at the start of the text, or None for everything else.

    `tickets`, `ticket 12`, `prendre 12`, `prendre le ticket #12`, `fermer 12`,
    `répondre 12 : Bonjour, …` (the answer keeps its lines as typed). A verb that needs a
    number and has none, with other words after it ("take Dupuis off IFA-104"), is not ours.
    """
    stripped = text.strip()
    tokens = list(re.finditer(r"\S+", stripped))
    if not tokens:
        return None
    verb = _verbs().get(fold(tokens[0].group()).strip(_PUNCTUATION))
    if verb is None:
        return None
    intent, languages = verb
    index, number = 1, None
    while index < len(tokens) and index <= 4:
        word = fold(tokens[index].group())
        found = _NUMBER.match(word)
        if found:
            number, index = int(found.group(1)), index + 1
            break
        if word.strip(_PUNCTUATION) not in FILLERS and word not in FILLERS:
            break
        index += 1
    rest = stripped[tokens[index].start():].lstrip(_PUNCTUATION + "\n").rstrip() \
        if index < len(tokens) else ""
    if intent == LIST and number is not None:
        intent = SHOW
    if intent == SHOW and number is None:
        intent = LIST
    if intent in NEEDS_NUMBER and number is None and rest:
        return None
    language = next(iter(languages)) if len(languages) == 1 else None
    return Parsed(intent=intent, language=language, number=number, text=stripped,
                  reason=rest if intent == REPLY else "")


def _usage(turn: Turn) -> Reply:
    return turn.done(turn.t("helpdesk.chat.usage"))


def _ticket_line(turn: Turn, ticket: HelpdeskTicket, messages: int) -> str:
    who = ticket.sender_name or ticket.sender
    if ticket.organisation is not None:
        who = f"{who} ({ticket.organisation.code})"
    return turn.t("helpdesk.chat.line", number=ticket.number, subject=ticket.subject,
                  who=who, state=turn.t(f"helpdesk.state.{ticket.state}"),
                  language=ticket.language.value, confidence=round(ticket.confidence * 100),
                  messages=messages,
                  assignee=ticket.assignee.display_name if ticket.assignee else "-")


class TicketsFlow:
    """The open tickets, by category."""

    name = LIST

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        helpdesk.require_staff(turn.officer)
        found = helpdesk.tickets(turn.uow)
        if not found:
            return turn.done(turn.t("helpdesk.chat.none"))
        counts = helpdesk.message_counts(turn.uow, [t.id for t in found])
        lines = [turn.t("helpdesk.chat.header", count=len(found))]
        for category in triage.CATEGORIES:
            mine = [t for t in found if t.category == category]
            if mine:
                lines.append(turn.t("helpdesk.chat.category",
                                    category=turn.t("helpdesk.category", category),
                                    count=len(mine)))
                lines += [_ticket_line(turn, t, counts.get(t.id, 0)) for t in mine]
        lines.append(turn.t("helpdesk.chat.how"))
        return turn.done("\n".join(lines))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(LIST, None))


class TicketFlow:
    """One ticket: the thread, what we know of the sender, and the draft if there is one."""

    name = SHOW

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        helpdesk.require_staff(turn.officer)
        if parsed.number is None:
            return _usage(turn)
        item = helpdesk.thread(turn.uow, parsed.number)
        return turn.done("\n".join(ticket_text(turn, item)))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return _usage(turn)


def ticket_text(turn: Turn, item: helpdesk.Thread) -> list[str]:
    ticket = item.ticket
    lines = [turn.t("helpdesk.chat.title", number=ticket.number, subject=ticket.subject,
                    category=turn.t("helpdesk.category", ticket.category),
                    confidence=round(ticket.confidence * 100), language=ticket.language.value,
                    state=turn.t(f"helpdesk.state.{ticket.state}"),
                    assignee=ticket.assignee.display_name if ticket.assignee else "-"),
             turn.t("helpdesk.chat.from", name=ticket.sender_name or "-", email=ticket.sender)]
    lines += context_lines(turn, ticket.context)
    shown = [m for m in item.messages if m.direction != "ack"][-THREAD_SHOWN:]
    lines.append(turn.t("helpdesk.chat.thread", count=len(shown)))
    lines += [_message_line(turn, m) for m in shown]
    if ticket.draft:
        lines += [turn.t("helpdesk.chat.draft", number=ticket.number), ticket.draft["text"]]
    return lines


def _message_line(turn: Turn, message: HelpdeskMessage) -> str:
    body = " ".join(message.body.split())
    body = body if len(body) <= EXCERPT else body[:EXCERPT] + "…"
    key = "helpdesk.chat.message_in" if message.direction == "in" else \
        "helpdesk.chat.message_out"
    attachments = ", ".join(a.get("name") or "?" for a in message.attachments)
    return turn.t(key, at=message.created_at, address=message.address,
                  by=message.officer.display_name if message.officer else "-",
                  body=body or "-") + (turn.t("helpdesk.chat.attachments", names=attachments)
                                       if attachments else "")


def context_lines(turn: Turn, facts: dict[str, Any]) -> list[str]:
    """What the product knew of the sender, one line per fact (absent facts say nothing)."""
    lines = []
    officer = facts.get("officer")
    if facts.get("authenticated") is False:
        lines.append(turn.t("helpdesk.context.unauthenticated"))
    if officer:
        until = datetime.fromisoformat(officer["valid_until"]).date() \
            if officer.get("valid_until") else "-"
        lines.append(turn.t("helpdesk.context.officer", name=officer["name"],
                            organisations=", ".join(officer["organisations"]) or "-"))
        lines.append(turn.t(f"helpdesk.context.access.{officer['access']}", date=until))
        for request in facts.get("access_requests", []):
            lines.append(turn.t("helpdesk.context.access_request", id=request["id"],
                                kind=turn.t(f"helpdesk.context.kind.{request['kind']}"),
                                state=turn.t(f"helpdesk.context.request_state.{request['state']}"),
                                date=datetime.fromisoformat(request["created_at"]).date()))
        if facts.get("pending_requests"):
            lines.append(turn.t("helpdesk.context.pending", count=facts["pending_requests"]))
        imported = facts.get("pdata")
        if imported:
            lines.append(turn.t(f"helpdesk.context.import_{imported['outcome']}",
                                filename=imported.get("filename") or "-",
                                date=datetime.fromisoformat(imported["at"]).date(),
                                count=imported.get("count", 0)))
        actions = facts.get("chat") or []
        if actions:
            lines.append(turn.t("helpdesk.context.actions",
                                actions=", ".join(a["action"] for a in actions)))
    else:
        lines.append(turn.t("helpdesk.context.unknown"))
    for request in facts.get("registration_requests", []):
        lines.append(turn.t("helpdesk.context.registration", id=request["id"],
                            state=turn.t(f"helpdesk.context.request_state.{request['state']}"),
                            organisation=request["organisation"],
                            date=datetime.fromisoformat(request["created_at"]).date()))
    return lines


class TakeFlow:
    name = TAKE

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        helpdesk.require_staff(turn.officer)
        if parsed.number is None:
            return _usage(turn)
        ticket = helpdesk.take(turn.uow, turn.officer, parsed.number)
        return turn.done(turn.t("helpdesk.chat.taken", number=ticket.number,
                                subject=ticket.subject))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return _usage(turn)


class CloseFlow:
    name = CLOSE

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        helpdesk.require_staff(turn.officer)
        if parsed.number is None:
            return _usage(turn)
        ticket = helpdesk.close(turn.uow, turn.officer, parsed.number)
        return turn.done(turn.t("helpdesk.chat.closed", number=ticket.number,
                                subject=ticket.subject))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return _usage(turn)


class ReplyFlow:
    """The answer typed, or the draft when none is: shown with its recipient, then sent on
    confirmation — one click, never by itself."""

    name = REPLY

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        helpdesk.require_staff(turn.officer)
        if parsed.number is None:
            return _usage(turn)
        ticket = helpdesk.get(turn.uow, parsed.number)
        text = parsed.reason.strip() or (ticket.draft or {}).get("text", "")
        if not text:
            return turn.done(turn.t("helpdesk.chat.no_draft", number=ticket.number))
        turn.data.update(number=ticket.number, text=text, draft=not parsed.reason.strip())
        return turn.confirm(self.name, "confirm", turn.t(
            "helpdesk.chat.reply_confirm", number=ticket.number, email=ticket.sender,
            language=ticket.language.value, text=text))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        helpdesk.require_staff(turn.officer)
        if not answer.confirmed:
            return turn.confirm(self.name, step, turn.t("flow.yes_or_no"))
        number = int(turn.data["number"])
        message = helpdesk.answer(turn.uow, turn.officer, number, str(turn.data["text"]))
        return turn.done(turn.t("helpdesk.chat.sent", number=number, email=message.address))


FLOWS = (TicketsFlow(), TicketFlow(), TakeFlow(), CloseFlow(), ReplyFlow())
