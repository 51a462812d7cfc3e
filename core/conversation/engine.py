"""One turn of conversation: resolve the officer, continue or start a flow, all in one transaction.

The pending flow lives in the database (ConversationState) so a restart, or another instance
behind a load balancer, continues where the officer left off.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from core import clock, i18n, logs, metrics, nrn
from core.app import App, UnitOfWork
from core.conversation import desk
from core.conversation.context import Turn
from core.conversation.flows.access import AccessFlow, RenewFlow, access_reply
from core.conversation.flows.add import AddFlow
from core.conversation.flows.base import Answer, Flow
from core.conversation.flows.clarify import ClarifyFlow
from core.conversation.flows.enroll import EnrollFlow
from core.conversation.flows.helpdesk import FLOWS as HELPDESK_FLOWS
from core.conversation.flows.helpdesk import read_command
from core.conversation.flows.listings import OverviewFlow, ParticipantsFlow, ReportFlow, SeatsFlow
from core.conversation.flows.pdata import PdataFlow
from core.conversation.flows.requests import DecideFlow, RequestsFlow
from core.conversation.flows.simple import HelpFlow, LinkFlow, link_reply
from core.conversation.flows.tracks import FLOWS as TRACK_FLOWS
from core.conversation.flows.tracks import route as track_route
from core.conversation.flows.unenroll import UnenrollFlow
from core.conversation.parser import Parsed, parse, warm_up
from core.conversation.types import (
    ACCESS_PREFIX,
    APPROVE,
    CANCEL,
    CONFIRM,
    HOME,
    REASON,
    REFUSE,
    Choice,
    Inbound,
    Redelivered,
    Reply,
    card_action,
)
from core.errors import DomainError
from core.models import ConversationState, Officer
from core.services.access import officer_by_email, officer_for_identity, require_active

log = logging.getLogger(__name__)
STATE_TTL = timedelta(hours=12)

FLOWS: dict[str, Flow] = {f.name: f for f in (
    EnrollFlow(), UnenrollFlow(), SeatsFlow(), OverviewFlow(), ParticipantsFlow(), ReportFlow(),
    RequestsFlow(), DecideFlow("approve"), DecideFlow("refuse"), AddFlow(), HelpFlow(),
    LinkFlow(), RenewFlow(), AccessFlow())}
FLOWS.update({f.name: f for f in HELPDESK_FLOWS})  # staff only: each checks the helpdesk role
FLOWS.update({f.name: f for f in TRACK_FLOWS})
CLARIFY = "clarify"
FLOWS[CLARIFY] = ClarifyFlow(FLOWS)
PDATA = PdataFlow()
FLOWS[PDATA.name] = PDATA
"""Not an intent either: a file dropped into the conversation (Inbound.files) starts it."""
"""Not an intent: the question asked when a sentence could mean two things, or names a
training or a person without saying what to do (it gates itself, after 'not understood')."""
OPEN_FLOWS = frozenset({"help", "link", "renew", "access"})
"""The only flows an officer whose yearly access has lapsed may use: the rest is the gate's."""
TRUSTED_CHANNELS = ("console",)
"""Channels whose user_ref is the officer's e-mail, vouched for by whoever runs the process."""


class Engine:
    def __init__(self, app: App) -> None:
        self.app = app

    @staticmethod
    def warm_up() -> None:
        """For long-running front ends (serve, the console chat): read the vocabulary and load
        dateparser now rather than on the first message. A one-shot `say` skips it and loads
        only the language a month name needs, if any."""
        warm_up()

    def handle(self, inbound: Inbound) -> Reply:
        """The one way in, for every front end: text, a choice, confirm/cancel, card actions.
        One action in the logs (the front end's request id, else a new one), one turn counted."""
        with logs.bound(), metrics.turn(inbound.platform, inbound.action):
            return self._handle(inbound)

    def _handle(self, inbound: Inbound) -> Reply:
        card = card_action(inbound.action) if inbound.action else None
        if card is not None or inbound.action == HOME:
            if inbound.arrival is not None:
                with self.app.unit_of_work() as uow:
                    self._arrived(uow, inbound)
            return private(self._outside_dialogue(inbound, card))
        try:
            with self.app.unit_of_work() as uow:
                self._arrived(uow, inbound)
                officer = self.officer_for(uow, inbound)
                if officer is None:
                    return private(self._unlinked(uow, inbound))
                state = uow.session.scalar(select(ConversationState).where(
                    ConversationState.channel == inbound.channel,
                    ConversationState.user_ref == inbound.user_ref))
                if state is not None and clock.now() - state.updated_at > STATE_TTL:
                    uow.session.delete(state)
                    state = None
                turn = Turn(uow, officer, officer.language.value, inbound.channel,
                            inbound.user_ref, state, dict(state.data) if state else {},
                            progress=inbound.progress)
                return private(self._turn(turn, inbound))
        except DomainError as exc:
            return private(self._refusal(inbound, exc))

    @staticmethod
    def _arrived(uow: UnitOfWork, inbound: Inbound) -> None:
        """The front end's bookkeeping (Inbound.arrival), first in the turn's transaction."""
        if inbound.arrival is not None and not inbound.arrival(uow.session):
            raise Redelivered

    def _refusal(self, inbound: Inbound, exc: DomainError) -> Reply:
        """A refused action ends its flow, in a fresh transaction, and says why (the turn's
        bookkeeping rolled back with it: recorded again here)."""
        with self.app.unit_of_work() as uow:
            self._arrived(uow, inbound)
            officer = self.officer_for(uow, inbound)
            language = self._language(officer, inbound, None)
            state = uow.session.scalar(select(ConversationState).where(
                ConversationState.channel == inbound.channel,
                ConversationState.user_ref == inbound.user_ref))
            if state is not None:
                language = state.language.value
                uow.session.delete(state)
        return Reply(exc.message(language), language)

    def _outside_dialogue(self, inbound: Inbound, card: tuple[str, int] | None) -> Reply:
        """Request cards and the home overview: they act on what `ref` names, not on a flow."""
        with self.app.unit_of_work(readonly=True) as uow:
            officer = self.officer_for(uow, inbound)
            if officer is None:
                language = self._language(None, inbound, None)
                return Reply(i18n.t(language, "link.unlinked"), language)
            if card is None:
                return desk.home(uow, officer)
            verb, request_id = card
            if verb == f"{ACCESS_PREFIX}{REFUSE}-form":
                return self._access_reason_form(uow, officer, request_id)
            if verb == f"{REFUSE}-form":
                refusal = desk.check_decider(uow, officer, request_id)
                language = officer.language.value
                return refusal or Reply(i18n.t(language, "buttons.refuse_label"), language,
                                        ref=f"request:{request_id}", input=REASON, done=False)
            officer_id = officer.id
        reason = (inbound.text or "").strip() or None
        if verb.startswith(ACCESS_PREFIX):
            return desk.decide_access(self.app, officer_id, request_id,
                                      verb == f"{ACCESS_PREFIX}{APPROVE}", reason,
                                      via=inbound.platform)
        return desk.decide_request(self.app, officer_id, request_id, verb == APPROVE, reason,
                                   via=inbound.platform)

    @staticmethod
    def _access_reason_form(uow: UnitOfWork, officer: Officer, request_id: int) -> Reply:
        """An administrator's Refuse on an access card: may they? then the reason form."""
        language = officer.language.value
        return desk.check_access_decider(uow, officer, request_id) or Reply(
            i18n.t(language, "buttons.refuse_label"), language, ref=f"access:{request_id}",
            input=REASON, done=False)

    def officer_for(self, uow: UnitOfWork, inbound: Inbound) -> Officer | None:
        """The officer behind a chat user: linked identity, or e-mail on trusted channels."""
        if inbound.platform in TRUSTED_CHANNELS:
            try:
                return officer_by_email(uow, inbound.user_ref)
            except DomainError:
                return None
        return officer_for_identity(uow, inbound.platform, inbound.workspace, inbound.user_ref)

    @staticmethod
    def _language(officer: Officer | None, inbound: Inbound, parsed: Parsed | None) -> str:
        if parsed is not None and parsed.language:
            return parsed.language
        if officer is not None:
            return officer.language.value
        return i18n.language_or_default((inbound.locale or "")[:2])

    def _unlinked(self, uow: UnitOfWork, inbound: Inbound) -> Reply:
        """A chat account with no officer yet may only ask for its eID link."""
        parsed = parse(inbound.text or "")
        language = self._language(None, inbound, parsed)
        if inbound.platform in TRUSTED_CHANNELS:
            return Reply(i18n.t(language, "error.unknown_officer", email=inbound.user_ref),
                         language)
        if parsed.intent == "link":
            return link_reply(uow, inbound, language)
        if parsed.intent == "access":
            return access_reply(uow, inbound, language)
        return Reply(i18n.t(language, "link.unlinked"), language)

    def _turn(self, turn: Turn, inbound: Inbound) -> Reply:
        parsed = read_command(inbound.text or "") or parse(inbound.text or "")
        metrics.intent("file" if inbound.files else parsed.intent, inbound.action)
        if inbound.files:
            turn.language = self._language(turn.officer, inbound, parsed)
            _abandon(turn)
            turn.uow.session.flush()
            return PDATA.receive(turn, inbound.files)
        answer = self._answer(turn, inbound, parsed)
        state = turn.state
        if inbound.action is None and _starts_new(parsed, state):
            turn.language = self._language(turn.officer, inbound, parsed)
            _abandon(turn)
            turn.uow.session.flush()  # the old row goes before the new flow saves its own
            name = track_route(str(parsed.intent), parsed.code)
            name = name if name in FLOWS else CLARIFY
            if name not in OPEN_FLOWS and name != CLARIFY:
                require_active(turn.officer)
            return FLOWS[name].start(turn, parsed)
        if state is None:
            if answer is not None:
                return Reply(turn.t("flow.nothing_pending"), turn.language)
            turn.language = self._language(turn.officer, inbound, parsed)
            return FLOWS[CLARIFY].start(turn, parsed)
        turn.language = state.language.value
        if answer is CANCEL:
            _abandon(turn)
            return Reply(turn.t("flow.cancelled"), turn.language)
        if state.flow not in OPEN_FLOWS:
            require_active(turn.officer)
        if isinstance(answer, Reply):
            return answer
        return FLOWS[state.flow].resume(turn, state.step,
                                        answer or Answer(text=parsed.text, parsed=parsed))

    @staticmethod
    def _answer(turn: Turn, inbound: Inbound, parsed: Parsed) -> Answer | Reply | str | None:
        """Buttons, numbers and yes/no, mapped onto the pending step; None for plain text."""
        action = inbound.action or ""
        if action == CANCEL or parsed.intent == "cancel":
            return CANCEL
        if action == CONFIRM or parsed.intent == "confirm":
            return Answer(confirmed=True)
        key = action.removeprefix("choose:") if action.startswith("choose:") else (
            str(parsed.number) if parsed.intent == "number" else None)
        if key is None:
            return None
        choices = turn.data.get("choices") or {}
        if key not in choices:
            if turn.state is None:
                return Answer()
            language = turn.state.language.value
            labels = turn.data.get("labels") or {}
            return Reply(i18n.t(language, "flow.bad_choice", key=key, count=len(choices)),
                         language, choices=[Choice(k, v) for k, v in labels.items()],
                         actions=[CANCEL], done=False)
        return Answer(text=key, value=choices[key])


CLOSED_STEPS = frozenset({"session", "enrollment", "confirm", "reading"})
"""Steps answered by a number or yes/no (or a date, for 'which session?'): a training code or
a name typed there is a new request, not an answer."""


def _abandon(turn: Turn) -> None:
    """The pending flow ends (cancelled, or another request came): what it kept goes too."""
    if turn.state is not None:
        abandon = getattr(FLOWS.get(turn.state.flow), "abandon", None)
        if abandon is not None:
            abandon(turn)
    turn.clear()


def _starts_new(parsed: Parsed, state: ConversationState | None) -> bool:
    """A sentence with an intent starts its flow, interrupting a pending one, unless the intent
    was only guessed from a mistyped word while a question waits for an answer; a sentence
    that fits two intents starts the question which; so does a code or a name typed where
    a number or yes/no was expected."""
    if parsed.intent in FLOWS:
        return state is None or not parsed.fuzzy
    if parsed.readings:
        return True
    return (state is not None and state.step in CLOSED_STEPS and parsed.intent is None
            and bool(parsed.code or parsed.persons))


def private(reply: Reply) -> Reply:
    """The last word on what leaves the engine: no national register number typed by anyone
    is ever echoed back, whatever flow or error message quoted the text."""
    reply.text = nrn.redact(reply.text)
    reply.choices = [Choice(c.key, nrn.redact(c.label)) for c in reply.choices]
    return reply
