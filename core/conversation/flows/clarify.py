"""When unsure, ask — never shrug. A sentence that fits two intents about as well, or that
names a training or a person without saying what to do, gets its two or three likely readings
as choices (« Voulez-vous : 1. inscrire Beckers à IFA-103 · 2. voir les places de IFA-103 »);
the chosen one starts its flow with everything the sentence said. "Not understood", with
examples, is only for text with no intent, no code and no name anyone in the officer's
organisations bears.
"""

from __future__ import annotations

from collections.abc import Mapping

from core import nrn
from core.conversation.context import Turn
from core.conversation.flows.base import KNOWN_SCORE, Answer, Flow, look_up, repeat_choices
from core.conversation.parser import Parsed
from core.conversation.types import Reply
from core.services.access import require_active

NAME = "clarify"
FROM_SLOTS: dict[tuple[bool, bool], tuple[str, ...]] = {
    (True, True): ("enroll", "seats", "unenroll"),
    (False, True): ("seats", "participants", "enroll"),
    (True, False): ("report", "enroll", "unenroll"),
}
"""(a known person named, a code typed) → what the officer most likely wants, best first."""
DATED = frozenset({"enroll", "seats", "participants", "overview"})


def not_understood(turn: Turn, text: str) -> Reply:
    return Reply(turn.t("flow.not_understood", text=nrn.redact(text.strip())[:60]),
                 turn.language)


class ClarifyFlow:
    name = NAME

    def __init__(self, flows: Mapping[str, Flow]) -> None:
        self.flows = flows

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        if not (parsed.readings or parsed.code or parsed.persons):
            return not_understood(turn, parsed.text)
        require_active(turn.officer)
        readings = [r for r in parsed.readings if r in self.flows]
        if not readings:
            known = any(f.score >= KNOWN_SCORE for p in parsed.persons
                        for f in look_up(turn, p.text, p.sex).candidates)
            readings = list(FROM_SLOTS.get((known, parsed.code is not None), ()))
        if not readings:
            return not_understood(turn, parsed.text)
        options = []
        for intent in readings[:3]:
            reading = Parsed.from_json({**parsed.as_json(), "intent": intent})
            options.append((reading.as_json(), self.label(turn, reading)))
        return turn.choose(NAME, "reading", turn.t("clarify.question"), options)

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        if not isinstance(answer.value, dict):
            return repeat_choices(turn)
        reading = Parsed.from_json(answer.value)
        turn.data = {}
        return self.flows[str(reading.intent)].start(turn, reading)

    @staticmethod
    def label(turn: Turn, reading: Parsed) -> str:
        who = ", ".join(p.text for p in reading.persons)
        variant = ("both" if who and reading.code else "who" if who else
                   "code" if reading.code else "other")
        text = turn.t(f"clarify.{reading.intent}", variant, who=who, code=reading.code or "",
                      number=reading.number or "")
        when = reading.when
        if when is not None and reading.intent in DATED:
            text += (turn.t("clarify.on_day", date=when.start) if when.kind == "day" else
                     turn.t("clarify.in_period", start=when.start, end=when.end))
        return text
