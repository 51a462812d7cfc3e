"""The shape of a flow, the answer it receives, and the shared 'who do you mean?' step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.conversation.context import Turn
from core.conversation.parser import Parsed
from core.conversation.types import CANCEL, Choice, Reply
from core.errors import DomainError
from core.matching import MIN_SCORE, clear_winner
from core.matching.normalise import compact, words
from core.models import Collaborator
from core.services import collaborators


@dataclass(frozen=True)
class Answer:
    """A reply to a pending step: free text (and how it reads), the value behind a chosen
    number, or confirm."""

    text: str = ""
    value: Any = None
    confirmed: bool = False
    parsed: Parsed | None = None

    @property
    def query(self) -> str:
        """The person named in the answer ('Mme Kris Beckers stp' → 'Kris Beckers')."""
        if self.parsed is not None and self.parsed.persons:
            return self.parsed.query
        return self.text

    @property
    def sex(self) -> str | None:
        if self.parsed is not None and self.parsed.persons:
            return self.parsed.persons[0].sex
        return None


class Flow(Protocol):
    name: str

    def start(self, turn: Turn, parsed: Parsed) -> Reply: ...

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply: ...


SUGGESTION_SCORE = 50.0
KNOWN_SCORE = 85.0
"""A name this close to someone's is a name, not a stray word (see clarify)."""


def repeat_choices(turn: Turn) -> Reply:
    """Free text where a number was expected: the same choices again, nothing forgotten."""
    labels = turn.data.get("labels") or {}
    return Reply(turn.t("flow.pick_number"), turn.language,
                 choices=[Choice(k, v) for k, v in labels.items()], actions=[CANCEL],
                 done=False)


@dataclass(frozen=True)
class Lookup:
    """One clear person, or several close ones to choose from, or only near misses."""

    person: Collaborator | None
    candidates: list[collaborators.Found]
    suggestions: list[collaborators.Found]


def look_up(turn: Turn, query: str, sex: str | None = None) -> Lookup:
    """Surname (given names, initial) among the officer's organisations; a title's sex
    (Mme, Dhr., Mr, Frau) narrows homonyms."""
    organisation_ids = [o.id for o in turn.officer.organisations]
    found = collaborators.search(turn.uow, query, organisation_ids, limit=6,
                                 min_score=SUGGESTION_SCORE)
    good = [f for f in found if f.score >= MIN_SCORE]
    if sex is not None:
        good = [f for f in good if f.collaborator.sex == sex] or good
    winner = clear_winner([f.candidate for f in good])
    if winner is not None:
        return Lookup(next(f.collaborator for f in good if f.candidate is winner), good, [])
    exact = [f for f in good if written_as(query, f.collaborator)]
    if len(exact) == 1:
        return Lookup(exact[0].collaborator, good, [])
    return Lookup(None, good, [] if good else found)


def written_as(query: str, person: Collaborator) -> bool:
    """The query spells this person's surname exactly (case, accents and spaces aside) and
    each other word typed is one of their given names or its initial.

    Among close candidates (Verstraeten / Verstraete, Nele De Smet / Ellen De Smet), the one
    the officer spelled exactly goes to the confirmation, which shows who it is: nothing
    happens before the officer confirms."""
    typed = words(query)
    surname = compact(person.surname)
    given = words(person.given_names)
    for start in range(len(typed)):
        for end in range(start + 1, len(typed) + 1):
            if "".join(typed[start:end]) == surname and all(
                    word in given or (len(word) == 1 and any(g.startswith(word) for g in given))
                    for word in typed[:start] + typed[end:]):
                return True
    return False


def ask_again(turn: Turn, flow: str, query: str, lookup: Lookup) -> Reply:
    """Nobody fits the name: say so, with the closest names, and wait for another one."""
    if lookup.suggestions:
        names = ", ".join(f.collaborator.display_name for f in lookup.suggestions[:3])
        return turn.ask(flow, "surname", turn.t("person.none_suggest", query=query,
                                                 suggestions=names))
    return turn.ask(flow, "surname", turn.t("person.none", query=query))


def pick_person(turn: Turn, flow: str, query: str,
                then: Callable[[Turn, Collaborator], Reply], sex: str | None = None) -> Reply:
    """Surname → one clear person (then), a numbered choice among close ones, or suggestions."""
    query = query.strip()
    if not query:
        return turn.ask(flow, "surname", turn.t("person.ask"))
    lookup = look_up(turn, query, sex)
    turn.data["query"] = query
    if lookup.person is not None:
        return then(turn, lookup.person)
    if not lookup.candidates:
        return ask_again(turn, flow, query, lookup)
    return turn.choose(flow, "person", turn.t("person.several", query=query,
                                              count=len(lookup.candidates)),
                       [(f.collaborator.id, turn.person_label(f.collaborator))
                        for f in lookup.candidates])


def person_answer(turn: Turn, flow: str, step: str, answer: Answer,
                  then: Callable[[Turn, Collaborator], Reply]) -> Reply | None:
    """Handle the 'surname' and 'person' steps shared by every flow; None if not one of them."""
    if step == "surname":
        return pick_person(turn, flow, answer.query, then, answer.sex)
    if step == "person":
        if answer.value is None:
            return pick_person(turn, flow, answer.query, then, answer.sex)
        person = turn.uow.session.get(Collaborator, int(answer.value))
        if person is None:
            raise DomainError("unknown_collaborator")
        return then(turn, person)
    return None
