"""The shape of a flow, the answer it receives, and the shared 'who do you mean?' step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.conversation.context import Turn
from core.conversation.parser import Parsed
from core.conversation.types import Reply
from core.errors import DomainError
from core.matching import MIN_SCORE, clear_winner
from core.models import Collaborator
from core.services import collaborators


@dataclass(frozen=True)
class Answer:
    """A reply to a pending step: free text, the value behind a chosen number, or confirm."""

    text: str = ""
    value: Any = None
    confirmed: bool = False


class Flow(Protocol):
    name: str

    def start(self, turn: Turn, parsed: Parsed) -> Reply: ...

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply: ...


SUGGESTION_SCORE = 50.0


def pick_person(turn: Turn, flow: str, query: str,
                then: Callable[[Turn, Collaborator], Reply]) -> Reply:
    """Surname → one clear person (then), a numbered choice among close ones, or suggestions."""
    query = query.strip()
    if not query:
        return turn.ask(flow, "surname", turn.t("person.ask"))
    organisation_ids = [o.id for o in turn.officer.organisations]
    found = collaborators.search(turn.uow, query, organisation_ids, limit=6,
                                 min_score=SUGGESTION_SCORE)
    good = [f for f in found if f.score >= MIN_SCORE]
    turn.data["query"] = query
    if not good:
        if found:
            names = ", ".join(f.collaborator.display_name for f in found[:3])
            return turn.ask(flow, "surname", turn.t("person.none_suggest", query=query,
                                                     suggestions=names))
        return turn.ask(flow, "surname", turn.t("person.none", query=query))
    winner = clear_winner([f.candidate for f in good])
    if winner is not None:
        return then(turn, next(f.collaborator for f in good if f.candidate is winner))
    return turn.choose(flow, "person", turn.t("person.several", query=query, count=len(good)),
                       [(f.collaborator.id, turn.person_label(f.collaborator)) for f in good])


def person_answer(turn: Turn, flow: str, step: str, answer: Answer,
                  then: Callable[[Turn, Collaborator], Reply]) -> Reply | None:
    """Handle the 'surname' and 'person' steps shared by every flow; None if not one of them."""
    if step == "surname":
        return pick_person(turn, flow, answer.text, then)
    if step == "person":
        if answer.value is None:
            return pick_person(turn, flow, answer.text, then)
        person = turn.uow.session.get(Collaborator, int(answer.value))
        if person is None:
            raise DomainError("unknown_collaborator")
        return then(turn, person)
    return None
