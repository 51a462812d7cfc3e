"""inscrire Dupont BOSA-101 [12/03] — or "inscris Dupont, Peeters et Lambert à BOSA-101 le 12/03":
training → session → each person (homonyms asked one by one) → one confirmation → enrolled.

Several persons are enrolled in one unit of work, each through `enrollment.enroll` so every
rule applies to each; one refused (already enrolled, not of your organisations…) does not
undo the others, and the answer says who was refused and why.
"""

from __future__ import annotations

from core.conversation.context import Turn
from core.conversation.flows.base import Answer, ask_again, look_up
from core.conversation.flows.sessions import keep_when, pick_training, session_answer
from core.conversation.parser import Parsed
from core.conversation.types import Reply
from core.errors import DomainError
from core.models import Collaborator, EnrollmentState
from core.services import catalog, enrollment
from core.services.access import require_collaborator

NAME = "enroll"


class EnrollFlow:
    name = NAME

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        turn.data.update(people=[[p.text, p.sex] for p in parsed.persons], chosen=[])
        keep_when(turn, parsed)
        return pick_training(turn, NAME, parsed.code, _with_session)

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        reply = session_answer(turn, NAME, step, answer.text, answer.value, _with_session,
                               answer.parsed)
        if reply is not None:
            return reply
        if step == "person" and answer.value is not None:
            person = turn.uow.session.get(Collaborator, int(answer.value))
            if person is None:
                raise DomainError("unknown_collaborator")
            _choose(turn, person)
            return _next_person(turn)
        if step in ("surname", "person"):
            return _renamed(turn, answer)
        if step == "confirm" and answer.confirmed:
            return _enroll(turn)
        return turn.confirm(NAME, "confirm", turn.t("flow.yes_or_no"))


def _with_session(turn: Turn, view: catalog.SessionView) -> Reply:
    turn.data["session_id"] = view.id
    return _next_person(turn)


def _renamed(turn: Turn, answer: Answer) -> Reply:
    """The officer typed (again) the name of the person being looked for."""
    people = list(turn.data.get("people") or [])
    index = len(turn.data.get("chosen") or [])
    if answer.parsed is not None and answer.parsed.persons:
        typed = [[p.text, p.sex] for p in answer.parsed.persons]
    else:
        typed = [[answer.text.strip(), None]] if answer.text.strip() else []
    if not typed:
        return turn.ask(NAME, "surname", turn.t("person.ask"))
    turn.data["people"] = people[:index] + typed + people[index + 1:]
    return _next_person(turn)


def _choose(turn: Turn, person: Collaborator) -> None:
    require_collaborator(turn.officer, person)
    chosen: list[int] = turn.data.setdefault("chosen", [])
    if person.id in chosen:
        del turn.data["people"][len(chosen)]  # the same person named twice
    else:
        chosen.append(person.id)


def _next_person(turn: Turn) -> Reply:
    """Resolve the persons named, in order; ask when one is unclear, confirm when all are."""
    people: list[list[str | None]] = turn.data.setdefault("people", [])
    chosen: list[int] = turn.data.setdefault("chosen", [])
    if not people:
        return turn.ask(NAME, "surname", turn.t("person.ask"))
    while len(chosen) < len(people):
        query, sex = str(people[len(chosen)][0]), people[len(chosen)][1]
        lookup = look_up(turn, query, sex)
        turn.data["query"] = query
        if lookup.person is not None:
            _choose(turn, lookup.person)
            continue
        if not lookup.candidates:
            return ask_again(turn, NAME, query, lookup)
        return turn.choose(NAME, "person", turn.t("person.several", query=query,
                                                  count=len(lookup.candidates)),
                           [(f.collaborator.id, turn.person_label(f.collaborator))
                            for f in lookup.candidates])
    return _confirm(turn)


def _confirm(turn: Turn) -> Reply:
    view = catalog.session_view(turn.uow, turn.data["session_id"])
    people = [turn.uow.session.get_one(Collaborator, i) for i in turn.data["chosen"]]
    for person in people:
        require_collaborator(turn.officer, person)
    params = {"code": view.training, "title": turn.title(view.titles, view.training),
              "date": view.starts_on, "place": view.place}
    if len(people) > 1:
        seats = (turn.seats_left(view.free) if view.free >= len(people) else
                 turn.t("enroll.waitlist_some", view.free, free=view.free,
                        waiting=len(people) - view.free))
        lines = "\n".join(f"• {turn.person_label(p)}" for p in people)
        return turn.confirm(NAME, "confirm", turn.t("enroll.confirm_many", count=len(people),
                                                    seats=seats, people=lines, **params))
    enrollment.check_enrollable(turn.uow, turn.officer, people[0].id, view.id)  # say it now
    params["person"] = turn.person_label(people[0])
    if view.free > 0:
        text = turn.t("enroll.confirm", seats=turn.seats_left(view.free), **params)
    else:
        text = turn.t("enroll.confirm_waitlist", waiting=view.waitlisted, **params)
    return turn.confirm(NAME, "confirm", text)


def _outcome_text(turn: Turn, outcome: enrollment.Outcome) -> str:
    person = outcome.enrollment.collaborator
    session = outcome.enrollment.session
    params = {"name": person.display_name, "code": session.training.code,
              "date": session.starts_on, "place": session.place}
    if outcome.enrollment.state == EnrollmentState.WAITLISTED:
        return turn.t("enroll.waitlisted", person.sex, **params)
    return turn.t("enroll.done", person.sex, seats=turn.seats_left(outcome.free), **params)


def _enroll(turn: Turn) -> Reply:
    ids: list[int] = turn.data["chosen"]
    session_id = turn.data["session_id"]
    if len(ids) == 1:
        return turn.done(_outcome_text(turn, enrollment.enroll(
            turn.uow, turn.officer, ids[0], session_id)))
    lines = []
    for person_id in ids:
        try:
            with turn.uow.session.begin_nested():
                outcome = enrollment.enroll(turn.uow, turn.officer, person_id, session_id)
            lines.append(_outcome_text(turn, outcome))
        except DomainError as exc:
            person = turn.uow.session.get_one(Collaborator, person_id)
            lines.append(turn.t("enroll.refused", name=person.display_name,
                                reason=exc.message(turn.language)))
    return turn.done("\n".join(lines))
