"""Shared steps 'which training?' and 'which session?' used by enroll and participants."""

from __future__ import annotations

from collections.abc import Callable

from core.conversation.context import Turn
from core.conversation.types import Reply
from core.errors import DomainError
from core.models import Training
from core.services import catalog
from core.services.access import require_training

Then = Callable[[Turn, catalog.SessionView], Reply]


def pick_training(turn: Turn, flow: str, code: str | None, then: Then) -> Reply:
    if not code:
        return turn.ask(flow, "code", turn.t("training.ask_code"))
    try:
        training = catalog.training_by_code(turn.uow, code, turn.officer)
    except DomainError as exc:
        return turn.ask(flow, "code", exc.message(turn.language))
    require_training(turn.officer, training)
    turn.data["training_id"] = training.id
    return pick_session(turn, flow, training, then)


def pick_session(turn: Turn, flow: str, training: Training, then: Then) -> Reply:
    views = catalog.upcoming_sessions(turn.uow, training, turn.officer)
    title = turn.title(training.titles, training.code)
    if not views:
        return turn.done(turn.t("training.no_session", code=training.code, title=title))
    wanted = turn.data.get("day")
    if wanted:
        same_day = [v for v in views if v.starts_on.isoformat() == wanted]
        if len(same_day) == 1:
            return then(turn, same_day[0])
        if not same_day:
            turn.data["day"] = None
            return turn.choose(flow, "session", turn.t(
                "training.no_session_on", code=training.code, date=turn.day(wanted)),
                [(v.id, turn.session_label(v)) for v in views])
        views = same_day
    if len(views) == 1:
        return then(turn, views[0])
    return turn.choose(flow, "session", turn.t("training.which_session", code=training.code,
                                               title=title),
                       [(v.id, turn.session_label(v)) for v in views])


def session_answer(turn: Turn, flow: str, step: str, text: str, value: object,
                   then: Then) -> Reply | None:
    if step == "code":
        return pick_training(turn, flow, text.strip() or None, then)
    if step == "session":
        if value is None:
            return turn.choose(flow, "session", turn.t("flow.pick_number"), [])
        return then(turn, catalog.session_view(turn.uow, int(str(value))))
    return None
