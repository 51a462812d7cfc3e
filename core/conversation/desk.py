"""What chat platforms show outside a dialogue: request cards, decisions by button, home tab."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from core import clock, i18n
from core.app import App, UnitOfWork
from core.conversation.context import Turn
from core.conversation.flows.requests import approval_text, describe
from core.conversation.types import APPROVE, REFUSE, Inbound, Reply
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


OfficerOf = Callable[[UnitOfWork, Inbound], Officer | None]
"""How the engine finds the officer behind a chat user (Engine.officer_for)."""


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
    at = (request.decided_at.astimezone(clock.LOCAL_TZ).strftime("%d/%m/%Y %H:%M")
          if request.decided_at else "?")
    by = request.decided_by.display_name if request.decided_by else "?"
    key = "card.approved_by" if request.state == RequestState.APPROVED else "card.refused_by"
    return turn.t(key, by=by, at=at, reason=request.reason or "-")


@dataclass
class Decision:
    reply: Reply
    changed: bool
    card: Reply | None = None


def decide_request(app: App, officer_of: OfficerOf, inbound: Inbound, request_id: int,
                   approve: bool, reason: str | None) -> Decision:
    """A button press on a card: only an officer of that organisation may decide, once."""
    language = "fr"
    try:
        with app.unit_of_work() as uow:
            officer = officer_of(uow, inbound)
            if officer is None:
                return Decision(Reply(i18n.t(i18n.language_or_default(
                    (inbound.locale or "")[:2]), "link.unlinked")), False)
            language = officer.language.value
            turn = _turn(uow, officer, language)
            if approve:
                text = approval_text(turn, *requests.approve(uow, officer, request_id,
                                                             via=inbound.platform))
            else:
                requests.refuse(uow, officer, request_id, reason, via=inbound.platform)
                text = turn.t("requests.refused", id=request_id)
        return Decision(Reply(text, language), True, request_card(app, request_id, language))
    except DomainError as exc:
        card = None
        if exc.code.startswith("request_already_"):
            card = request_card(app, request_id, language)
        return Decision(Reply(exc.message(language), language), False, card)


def check_decider(app: App, officer_of: OfficerOf, inbound: Inbound,
                  request_id: int) -> Reply | None:
    """The polite refusal a clicker gets before any form opens, or None if they may decide."""
    with app.unit_of_work(readonly=True) as uow:
        officer = officer_of(uow, inbound)
        if officer is None:
            language = i18n.language_or_default((inbound.locale or "")[:2])
            return Reply(i18n.t(language, "link.unlinked"), language)
        language = officer.language.value
        try:
            request = requests.get(uow, request_id)
            require_organisation(officer, request.organisation)
            if request.state != RequestState.PENDING:
                return Reply(decided_line(_turn(uow, officer, language), request),
                             language)
        except DomainError as exc:
            return Reply(exc.message(language), language)
    return None


@dataclass
class Home:
    language: str
    title: str
    sections: list[tuple[str, list[str]]] = field(default_factory=list)


def home(app: App, officer_of: OfficerOf, inbound: Inbound) -> Home:
    with app.unit_of_work(readonly=True) as uow:
        officer = officer_of(uow, inbound)
        if officer is None:
            language = i18n.language_or_default((inbound.locale or "")[:2])
            return Home(language, i18n.t(language, "link.unlinked"))
        language = officer.language.value
        turn = _turn(uow, officer, language)
        title = turn.t("home.title", name=officer.display_name,
                       organisations=", ".join(o.code for o in officer.organisations))
        try:
            require_active(officer)
        except DomainError as exc:
            return Home(language, title, [(exc.message(language), [])])
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
        return Home(language, title, [
            (turn.t("home.pending", count=len(pending)), pending or [turn.t("requests.none")]),
            (turn.t("home.upcoming", count=len(sessions)),
             sessions or [turn.t("home.no_upcoming")])])
