"""The neutral messages exchanged between the engine and every chat adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONFIRM = "confirm"
CANCEL = "cancel"
APPROVE = "approve"
REFUSE = "refuse"


@dataclass(frozen=True)
class Inbound:
    """What an adapter received. `channel` names platform and workspace, e.g. 'slack:T0123'.

    `action` is a button press: 'confirm', 'cancel' or 'choose:KEY'.
    """

    channel: str
    user_ref: str
    text: str | None = None
    action: str | None = None
    locale: str | None = None

    @property
    def platform(self) -> str:
        return self.channel.split(":", 1)[0]

    @property
    def workspace(self) -> str:
        return self.channel.split(":", 1)[1] if ":" in self.channel else ""


@dataclass(frozen=True)
class Choice:
    key: str
    label: str


@dataclass
class Reply:
    """Text, optional choices (pick one), optional confirm/cancel actions; `done` ends a flow."""

    text: str
    language: str = "fr"
    choices: list[Choice] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    done: bool = True
    ref: str | None = None
    """What the actions act on when it is not the pending flow, e.g. 'request:12'."""

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "choices": [{"key": c.key, "label": c.label}
                                               for c in self.choices],
                "actions": list(self.actions), "done": self.done, "language": self.language,
                "ref": self.ref}
