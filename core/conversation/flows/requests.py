"""demandes / approuver 12 / refuser 12 complet: the "Nouvelle inscription" queue in chat."""

from __future__ import annotations

from core.conversation.context import Turn
from core.conversation.flows.base import Answer
from core.conversation.parser import Parsed
from core.conversation.types import Reply
from core.errors import DomainError
from core.models import EnrollmentState, RegistrationRequest
from core.services import enrollment, requests
from core.services.access import require_active, responsible_for


def describe(turn: Turn, request: RegistrationRequest) -> str:
    person = request.person
    wants = request.wants
    if wants.get("kind") == "session":
        what = turn.t("requests.wants_session", code=wants.get("training_code"),
                      date=turn.day(wants["session_start"]))
    else:
        what = turn.t("requests.wants_mailing_list")
    return turn.t("requests.item", id=request.id, name=f"{person['surname']} "
                  f"{person['given_names']}", email=person.get("email", "-"),
                  organisation=request.organisation.code, what=what)


class RequestsFlow:
    name = "requests"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        require_active(turn.officer)
        items = requests.pending(turn.uow, turn.officer)
        if not items:
            return turn.done(turn.t("requests.none"))
        lines = [turn.t("requests.header", count=len(items))]
        lines += [describe(turn, r) for r in items]
        lines.append(turn.t("requests.how"))
        return turn.done("\n".join(lines))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(None, None))


class DecideFlow:
    """approve / refuse: both name a request number and are confirmed before anything changes."""

    def __init__(self, name: str) -> None:
        self.name = name

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        if parsed.number is None:
            return turn.done(turn.t(f"requests.{self.name}_usage"))
        request = requests.get(turn.uow, parsed.number)
        if not responsible_for(turn.officer, request.organisation_id):
            raise DomainError("unknown_request", id=parsed.number)
        turn.data.update(request_id=request.id, reason=parsed.rest or None)
        return turn.confirm(self.name, "confirm", turn.t(
            f"requests.{self.name}_confirm", request=describe(turn, request),
            reason=parsed.rest or "-"))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        if not answer.confirmed:
            return turn.confirm(self.name, "confirm", turn.t("flow.yes_or_no"))
        request_id = int(turn.data["request_id"])
        if self.name == "refuse":
            requests.refuse(turn.uow, turn.officer, request_id, turn.data.get("reason"))
            return turn.done(turn.t("requests.refused", id=request_id))
        return turn.done(approval_text(turn, *requests.approve(turn.uow, turn.officer,
                                                                request_id)))


def approval_text(turn: Turn, request: RegistrationRequest,
                  outcome: enrollment.Outcome | None) -> str:
    if outcome is None:
        return turn.t("requests.approved_list", id=request.id, email=request.person["email"])
    key = ("requests.approved_waitlisted" if outcome.enrollment.state == EnrollmentState.WAITLISTED
           else "requests.approved_enrolled")
    return turn.t(key, outcome.enrollment.collaborator.sex, id=request.id,
                  name=outcome.enrollment.collaborator.display_name,
                  code=outcome.enrollment.session.training.code,
                  date=turn.day(outcome.enrollment.session.starts_on))
