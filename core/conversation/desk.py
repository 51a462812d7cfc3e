"""What chat platforms show outside a dialogue: request cards, decisions by button, home tab."""

from __future__ import annotations

from sqlalchemy import select

from core import clock
from core.app import App, UnitOfWork
from core.conversation.context import Turn
from core.conversation.flows.requests import approval_text, describe
from core.conversation.types import APPROVE, REFUSE, Reply
from core.errors import DomainError
from core.models import (
    Collaborator,
    Enrollment,
    EnrollmentState,
    Officer,
    RegistrationRequest,
    RequestState,
    TrainingSession,
)
from core.services import requests
from core.services.access import require_active, require_organisation

UPCOMING_LIMIT = 20


def _turn(uow: UnitOfWork, officer: Officer | None, language: str) -> Turn:
    """A Turn used only for its texts and formatting, outside any dialogue."""
    return Turn(uow, officer, language, "", "")  # type: ignore[arg-type]


def request_card(app: App, request_id: int, language: str) -> Reply:
    """The "Nouvelle inscription" message: who, what, the data typed, and the two buttons."""
    with app.unit_of_work(readonly=True) as uow:
        request = requests.get(uow, request_id)
        turn = _turn(uow, None, language)
        person = request.person
        lines = [turn.t("card.title", organisation=request.organisation.name(language)),
                 describe(turn, request),
                 turn.t("card.typed", surname=person.get("surname", "-"),
                        given_names=person.get("given_names", "-"),
                        email=person.get("email", "-"),
                        language=turn.t(f"language.{person.get('language', 'fr')}"),
                        nrn=turn.t("card.nrn_given" if request.nrn_encrypted
                                   else "card.nrn_missing"))]
        if request.state != RequestState.PENDING:
            lines.append(decided_line(turn, request))
            return Reply("\n".join(lines), language, ref=f"request:{request.id}")
        return Reply("\n".join(lines), language, actions=[APPROVE, REFUSE],
                     ref=f"request:{request.id}", done=False)


def decided_line(turn: Turn, request: RegistrationRequest) -> str:
    at = request.decided_at or "?"
    by = request.decided_by.display_name if request.decided_by else "?"
    key = "card.approved_by" if request.state == RequestState.APPROVED else "card.refused_by"
    return turn.t(key, by=by, at=at, reason=request.reason or "-")


def decide_request(app: App, officer_id: int, request_id: int, approve: bool,
                   reason: str | None, via: str) -> Reply:
    """A click on a card: only an officer of that organisation may decide, and only once.

    The answer is for the clicker; `replaces` is the card as everybody should now see it.
    """
    language = "fr"
    try:
        with app.unit_of_work() as uow:
            officer = uow.session.get_one(Officer, officer_id)
            language = officer.language.value
            turn = _turn(uow, officer, language)
            if approve:
                text = approval_text(turn, *requests.approve(uow, officer, request_id, via=via))
            else:
                requests.refuse(uow, officer, request_id, reason, via=via)
                text = turn.t("requests.refused", id=request_id)
        return Reply(text, language, replaces=request_card(app, request_id, language))
    except DomainError as exc:
        card = (request_card(app, request_id, language)
                if exc.code.startswith("request_already_") else None)
        return Reply(exc.message(language), language, replaces=card)


def check_decider(uow: UnitOfWork, officer: Officer, request_id: int) -> Reply | None:
    """The polite refusal a clicker gets before any form opens, or None if they may decide."""
    language = officer.language.value
    try:
        request = requests.get(uow, request_id)
        require_organisation(officer, request.organisation)
        if request.state != RequestState.PENDING:
            return Reply(decided_line(_turn(uow, officer, language), request), language)
    except DomainError as exc:
        return Reply(exc.message(language), language)
    return None


def home(uow: UnitOfWork, officer: Officer) -> Reply:
    """The officer's overview: pending requests and upcoming enrollments of their people."""
    language = officer.language.value
    turn = _turn(uow, officer, language)
    title = turn.t("home.title", name=officer.display_name,
                   organisations=", ".join(o.code for o in officer.organisations))
    try:
        require_active(officer)
    except DomainError as exc:
        return Reply(title, language, sections=[(exc.message(language), [])])
    pending = [describe(turn, r) for r in requests.pending(uow, officer)]
    ids = [o.id for o in officer.organisations]
    upcoming = uow.session.scalars(
        select(Enrollment).join(Enrollment.session).join(Enrollment.collaborator)
        .where(Collaborator.organisation_id.in_(ids),
               Enrollment.state.in_((EnrollmentState.ENROLLED, EnrollmentState.OPTION,
                                     EnrollmentState.OFFERED, EnrollmentState.WAITLISTED)),
               TrainingSession.starts_on >= clock.today())
        .order_by(TrainingSession.starts_on, Collaborator.surname).limit(UPCOMING_LIMIT))
    sessions = [turn.t("home.upcoming_line", date=turn.day(e.session.starts_on),
                       code=e.session.training.code, name=e.collaborator.display_name,
                       state=turn.t(f"state.{e.state}")) for e in upcoming]
    return Reply(title, language, sections=[
        (turn.t("home.pending", count=len(pending)), pending or [turn.t("requests.none")]),
        (turn.t("home.upcoming", count=len(sessions)),
         sessions or [turn.t("home.no_upcoming")])])
