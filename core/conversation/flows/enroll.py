"""inscrire Dupont BOSA-101 [12/03]: training → session → person → confirm → enrolled."""

from __future__ import annotations

from core.conversation.context import Turn
from core.conversation.flows.base import Answer, person_answer, pick_person
from core.conversation.flows.sessions import pick_training, session_answer
from core.conversation.parser import Parsed
from core.conversation.types import Reply
from core.models import Collaborator, EnrollmentState
from core.services import catalog, enrollment
from core.services.access import require_collaborator

NAME = "enroll"


class EnrollFlow:
    name = NAME

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        turn.data.update(query=parsed.rest, day=parsed.day.isoformat() if parsed.day else None)
        return pick_training(turn, NAME, parsed.code, _with_session)

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        reply = session_answer(turn, NAME, step, answer.text, answer.value, _with_session)
        reply = reply or person_answer(turn, NAME, step, answer, _with_person)
        if reply is not None:
            return reply
        if step == "confirm" and answer.confirmed:
            return _enroll(turn)
        return turn.confirm(NAME, "confirm", turn.t("flow.yes_or_no"))


def _with_session(turn: Turn, view: catalog.SessionView) -> Reply:
    turn.data["session_id"] = view.id
    return pick_person(turn, NAME, turn.data.get("query") or "", _with_person)


def _with_person(turn: Turn, person: Collaborator) -> Reply:
    require_collaborator(turn.officer, person)
    turn.data["collaborator_id"] = person.id
    view = catalog.session_view(turn.uow, turn.data["session_id"])
    params = {"person": turn.person_label(person), "code": view.training,
              "title": turn.title(view.titles, view.training), "date": turn.day(view.starts_on),
              "place": view.place}
    if view.free > 0:
        text = turn.t("enroll.confirm", seats=turn.seats_left(view.free), **params)
    else:
        text = turn.t("enroll.confirm_waitlist", waiting=view.waitlisted, **params)
    return turn.confirm(NAME, "confirm", text)


def _enroll(turn: Turn) -> Reply:
    outcome = enrollment.enroll(turn.uow, turn.officer, turn.data["collaborator_id"],
                                turn.data["session_id"])
    person = outcome.enrollment.collaborator
    session = outcome.enrollment.session
    params = {"name": person.display_name, "code": session.training.code,
              "date": turn.day(session.starts_on), "place": session.place}
    if outcome.enrollment.state == EnrollmentState.WAITLISTED:
        return turn.done(turn.t("enroll.waitlisted", person.sex, **params))
    return turn.done(turn.t("enroll.done", person.sex, seats=turn.seats_left(outcome.free),
                            **params))
