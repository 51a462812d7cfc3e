"""Shared steps 'which training?' and 'which session?' used by enroll and participants.

A date typed with the request picks the session of that day; a month or a week picks the
sessions starting in it (one: taken; several: the choice is among them only).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from core.conversation.context import Turn
from core.conversation.flows.base import repeat_choices
from core.conversation.parser import Parsed, When
from core.conversation.types import Reply
from core.errors import DomainError
from core.models import Training
from core.services import catalog
from core.services.access import require_training

Then = Callable[[Turn, catalog.SessionView], Reply]


def keep_when(turn: Turn, parsed: Parsed) -> None:
    """Remember the date or period of the request for the session step."""
    when = parsed.when
    turn.data["when"] = ([when.start.isoformat(), when.end.isoformat(), when.kind]
                         if when else None)


def stored_when(turn: Turn) -> When | None:
    value: Any = turn.data.get("when")
    if not value:
        return None
    return When(date.fromisoformat(value[0]), date.fromisoformat(value[1]), value[2])


def within(views: list[catalog.SessionView], when: When) -> list[catalog.SessionView]:
    if when.kind == "day":
        return [v for v in views if v.starts_on <= when.start <= v.ends_on]
    return [v for v in views if when.start <= v.starts_on <= when.end]


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
    when = stored_when(turn)
    if when is not None:
        matching = within(views, when)
        if len(matching) == 1:
            return then(turn, matching[0])
        if not matching:
            turn.data["when"] = None
            text = (turn.t("training.no_session_on", code=training.code, date=when.start)
                    if when.kind == "day" else
                    turn.t("training.no_session_in", code=training.code, start=when.start,
                           end=when.end))
            return turn.choose(flow, "session", text,
                               [(v.id, turn.session_label(v)) for v in views])
        views = matching
    if len(views) == 1:
        return then(turn, views[0])
    return turn.choose(flow, "session", turn.t("training.which_session", code=training.code,
                                               title=title),
                       [(v.id, turn.session_label(v)) for v in views])


def session_answer(turn: Turn, flow: str, step: str, text: str, value: object,
                   then: Then, parsed: Parsed | None = None) -> Reply | None:
    if step == "code":
        code = parsed.code if parsed is not None and parsed.code else text.strip()
        if parsed is not None and parsed.when is not None:
            keep_when(turn, parsed)
        return pick_training(turn, flow, code or None, then)
    if step == "session":
        if value is None:
            training_id = turn.data.get("training_id")
            if parsed is not None and parsed.when is not None and training_id:
                keep_when(turn, parsed)  # "le 2 février" answers "which session?"
                return pick_session(turn, flow, turn.uow.session.get_one(
                    Training, int(training_id)), then)
            return repeat_choices(turn)
        return then(turn, catalog.session_view(turn.uow, int(str(value))))
    return None
