"""What a flow step sees: the unit of work, the officer, the language, and its stored state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core import clock, i18n, nrn, phrases
from core.app import UnitOfWork
from core.conversation.types import CANCEL, CONFIRM, Choice, Progress, Reply
from core.models import Collaborator, ConversationState, Language, Officer
from core.services.catalog import SessionView


@dataclass
class Turn:
    uow: UnitOfWork
    officer: Officer
    language: str
    channel: str
    user_ref: str
    state: ConversationState | None = None
    data: dict[str, Any] = field(default_factory=dict)
    progress: Progress | None = None
    """Where a long piece of work (a big file) reports how far it is, if the adapter can."""

    def t(self, key: str, variant: str | int | None = None, /, **params: Any) -> str:
        return i18n.t(self.language, key, variant, **params)

    # Replies -------------------------------------------------------------------------------
    def done(self, text: str) -> Reply:
        self.clear()
        return Reply(text, self.language)

    def ask(self, flow: str, step: str, text: str) -> Reply:
        """A free-text question (e.g. a surname); the answer comes back to `step`."""
        self.save(flow, step, choices={}, labels={})
        return Reply(text, self.language, actions=[CANCEL], done=False)

    def choose(self, flow: str, step: str, text: str, options: list[tuple[Any, str]]) -> Reply:
        """A numbered choice; the value behind each number is kept in the state."""
        choices = {str(i): value for i, (value, _label) in enumerate(options, 1)}
        labels = {str(i): label for i, (_value, label) in enumerate(options, 1)}
        self.save(flow, step, choices=choices, labels=labels)
        return Reply(text, self.language,
                     choices=[Choice(str(i), label) for i, (_v, label) in enumerate(options, 1)],
                     actions=[CANCEL], done=False)

    def confirm(self, flow: str, step: str, text: str) -> Reply:
        self.save(flow, step, choices={}, labels={})
        return Reply(text, self.language, actions=[CONFIRM, CANCEL], done=False)

    # State ---------------------------------------------------------------------------------
    def save(self, flow: str, step: str, **data: Any) -> None:
        self.data.update(data)
        if self.state is None:
            self.state = ConversationState(channel=self.channel, user_ref=self.user_ref,
                                           flow=flow, step=step, language=Language(self.language),
                                           data={})
            self.uow.session.add(self.state)
        self.state.flow, self.state.step = flow, step
        self.state.language = Language(self.language)
        self.state.data = _redacted(self.data)
        self.state.updated_at = clock.now()

    def clear(self) -> None:
        if self.state is not None:
            self.uow.session.delete(self.state)
            self.state = None
        self.data = {}

    # Formatting ----------------------------------------------------------------------------
    def day(self, value: date | str) -> str:
        return i18n.day(self.language, date.fromisoformat(value) if isinstance(value, str)
                        else value)

    def seats_left(self, free: int) -> str:
        return phrases.seats_left(self.language, free)

    def session_label(self, view: SessionView) -> str:
        return phrases.session_label(self.language, view)

    def person_label(self, person: Collaborator) -> str:
        return phrases.person_label(self.language, person)

    def title(self, titles: dict[str, str], code: str) -> str:
        return titles.get(self.language) or titles.get("fr") or code


SEALED_KEYS = frozenset({"nrn"})
"""State keys that hold an encrypted value (the vault's hex), never free text."""


def _redacted(data: dict[str, Any]) -> dict[str, Any]:
    """What a flow keeps between turns, with any typed national register number masked:
    conversation state is a plain JSON column, not the encrypted one."""
    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return nrn.redact(value)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    return {k: (v if k in SEALED_KEYS else clean(v)) for k, v in data.items()}
