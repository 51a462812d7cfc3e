"""What chat platforms show outside a dialogue: request cards, decisions by button, home tab."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core import clock, i18n, phrases
from core.app import App, UnitOfWork
from core.conversation.context import Turn
from core.conversation.types import APPROVE, REFUSE, Reply
from core.errors import DomainError
from core.models import (
    Collaborator,
    Enrollment,
    EnrollmentState,
    Officer,
    RequestState,
    TrainingSession,
)
from core.services import access, requests
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
        person = requests.typed_person(request)
        typed_language = i18n.language_or_default(person["language"] or None)
        lines = [turn.t("card.title", organisation=request.organisation.name(language)),
                 phrases.request_line(language, request),
                 turn.t("card.typed", surname=person["surname"] or "-",
                        given_names=person["given_names"] or "-",
                        email=person["email"] or "-",
                        language=turn.t(f"language.{typed_language}"),
                        nrn=turn.t("card.nrn_given" if request.nrn_encrypted
                                   else "card.nrn_missing"))]
        if request.state != RequestState.PENDING:
            lines.append(phrases.decided_line(language, request))
            return Reply("\n".join(lines), language, ref=f"request:{request.id}")
        return Reply("\n".join(lines), language, actions=[APPROVE, REFUSE],
                     ref=f"request:{request.id}", done=False)


def notification(app: App, template: str, context: dict[str, Any], language: str) -> Reply:
    """What a chat sender posts for an outbox row: the request card, or a one-line notice."""
    if template == "request_new":
        return request_card(app, int(context["request_id"]), language)
    if template == "access_request_new":
        return access_card(app, int(context["access_request_id"]), language)
    return Reply(phrases.notification(language, template, context), language)


def access_card(app: App, request_id: int, language: str) -> Reply:
    """An access or renewal request, for administrators: who, what for, and the two buttons."""
    with app.unit_of_work(readonly=True) as uow:
        request = access.get_request(uow, request_id)
        t = lambda key, **p: i18n.t(language, key, **p)  # noqa: E731
        lines = [t("access.card_title", id=request.id,
                   kind=phrases.access_kind(language, request.kind)),
                 t("access.card_line", name=request.display_name, email=request.email,
                   function=request.function or "-",
                   organisations=", ".join(request.organisation_codes) or "-")]
        if request.officer is not None and request.kind == access.RENEWAL:
            lines.append(t("access.card_until", date=request.officer.valid_until or "-"))
        ref = f"access:{request.id}"
        if request.state != RequestState.PENDING:
            key = "access.approved_by" if request.state == RequestState.APPROVED \
                else "access.refused_by"
            lines.append(t(key, by=request.decided_by.display_name if request.decided_by
                           else "ITMA", at=request.decided_at or "?",
                           reason=request.reason or "-"))
            return Reply("\n".join(lines), language, ref=ref)
        return Reply("\n".join(lines), language, actions=[APPROVE, REFUSE], ref=ref, done=False)


def decide_access(app: App, officer_id: int, request_id: int, approve: bool,
                  reason: str | None, via: str) -> Reply:
    """A click on an access card: administrators only, once."""
    language = "fr"
    try:
        with app.unit_of_work() as uow:
            officer = uow.session.get_one(Officer, officer_id)
            language = officer.language.value
            decision = access.decide(uow, officer, request_id, approve, reason, via=via)
            text = phrases.access_decision_text(language, decision)
    except DomainError as exc:
        return Reply(exc.message(language), language)
    return Reply(text, language, replaces=access_card(app, request_id, language))


def check_access_decider(uow: UnitOfWork, officer: Officer, request_id: int) -> Reply | None:
    """The polite refusal before the reason form opens, or None if this admin may decide."""
    language = officer.language.value
    try:
        access.require_admin(officer)
        request = access.get_request(uow, request_id)
    except DomainError as exc:
        return Reply(exc.message(language), language)
    if request.state != RequestState.PENDING:
        return Reply(phrases.access_decision_text(
            language, access.AccessDecision(request, request.state == RequestState.APPROVED,
                                            False)), language)
    return None


def decide_request(app: App, officer_id: int, request_id: int, approve: bool,
                   reason: str | None, via: str) -> Reply:
    """A click on a card: only an officer of that organisation may decide, and only once.

    The answer is for the clicker; `replaces` is the card as everybody should now see it.
    A known national number under other names is not decided by a click: the answer says
    so and how to approve anyway in the conversation, where it is confirmed.
    """
    language = "fr"
    try:
        with app.unit_of_work() as uow:
            officer = uow.session.get_one(Officer, officer_id)
            language = officer.language.value
            decision = requests.decide(uow, officer, request_id, approve, reason, via=via)
            text = phrases.decision_text(language, decision)
    except DomainError as exc:
        text = exc.message(language)
        if exc.code == "request_identity_mismatch" and exc.params.get("variant") == "known":
            text += "\n" + i18n.t(language, "requests.mismatch_in_chat", id=request_id)
        return Reply(text, language)
    return Reply(text, language, replaces=request_card(app, request_id, language))


def check_decider(uow: UnitOfWork, officer: Officer, request_id: int) -> Reply | None:
    """The polite refusal a clicker gets before any form opens, or None if they may decide."""
    language = officer.language.value
    try:
        request = requests.get(uow, request_id)
        require_organisation(officer, request.organisation)
        if request.state != RequestState.PENDING:
            return Reply(phrases.decided_line(language, request), language)
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
    pending = [phrases.request_line(language, r) for r in requests.pending(uow, officer)]
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
