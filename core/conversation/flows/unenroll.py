"""désinscrire Dupont [BOSA-101]: person → which enrollment → confirm → cancelled."""

from __future__ import annotations

from core.conversation.context import Turn
from core.conversation.flows.base import Answer, person_answer, pick_person
from core.conversation.flows.sessions import keep_when, stored_when
from core.conversation.parser import Parsed
from core.conversation.types import Reply
from core.models import Collaborator, Enrollment
from core.services import enrollment
from core.services.access import require_collaborator
from core.services.catalog import normalise_code

NAME = "unenroll"


class UnenrollFlow:
    name = NAME

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        turn.data["code"] = normalise_code(parsed.code) if parsed.code else None
        keep_when(turn, parsed)
        person = parsed.persons[0] if parsed.persons else None
        return pick_person(turn, NAME, person.text if person else "", _with_person,
                           person.sex if person else None)

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        reply = person_answer(turn, NAME, step, answer, _with_person)
        if reply is not None:
            return reply
        if step == "enrollment" and answer.value is not None:
            return _confirm(turn, turn.uow.session.get_one(Enrollment, int(answer.value)))
        if step == "confirm" and answer.confirmed:
            return _unenroll(turn)
        return turn.confirm(NAME, step, turn.t("flow.yes_or_no"))


def _label(turn: Turn, item: Enrollment) -> str:
    return turn.t("unenroll.item", code=item.session.training.code,
                  date=turn.day(item.session.starts_on), place=item.session.place,
                  state=turn.t(f"state.{item.state}"))


def _with_person(turn: Turn, person: Collaborator) -> Reply:
    require_collaborator(turn.officer, person)
    items = enrollment.active_enrollments(turn.uow, person.id)
    code = turn.data.get("code")
    if code:
        items = [e for e in items if e.session.training.code == code]
    when = stored_when(turn)
    if when is not None:
        items = [e for e in items if e.session.starts_on <= when.end
                 and e.session.ends_on >= when.start] or items
    if not items:
        return turn.done(turn.t("unenroll.nothing", name=person.display_name,
                                code=code or turn.t("unenroll.any_training")))
    if len(items) == 1:
        return _confirm(turn, items[0])
    return turn.choose(NAME, "enrollment", turn.t("unenroll.which", name=person.display_name),
                       [(e.id, _label(turn, e)) for e in items])


def _confirm(turn: Turn, item: Enrollment) -> Reply:
    turn.data["enrollment_id"] = item.id
    return turn.confirm(NAME, "confirm", turn.t(
        "unenroll.confirm", person=turn.person_label(item.collaborator),
        item=_label(turn, item)))


def _unenroll(turn: Turn) -> Reply:
    outcome = enrollment.unenroll(turn.uow, turn.officer, turn.data["enrollment_id"])
    person = outcome.enrollment.collaborator
    session = outcome.enrollment.session
    text = turn.t("unenroll.done", person.sex, name=person.display_name,
                  code=session.training.code, date=turn.day(session.starts_on),
                  seats=turn.seats_left(outcome.free))
    if outcome.promoted is not None:
        text += "\n" + turn.t("unenroll.promoted", name=outcome.promoted.collaborator.display_name)
    return turn.done(text)
