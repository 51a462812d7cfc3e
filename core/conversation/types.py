"""The neutral messages exchanged between the engine and every chat adapter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.metrics import NotATurn

CONFIRM = "confirm"
CANCEL = "cancel"
APPROVE = "approve"
REFUSE = "refuse"
HOME = "home"
REASON = "reason"
"""Reply.input: the adapter collects this free text (a modal, a card input) and sends it back
as Inbound.text with the action the Reply names in `ref`."""


def approve_action(request_id: int) -> str:
    """A card's Approve button: decide request N (the reason, if any, in Inbound.text)."""
    return f"{APPROVE}:{request_id}"


def refuse_action(request_id: int) -> str:
    """Refuse request N with Inbound.text as the reason (the reason form's submit)."""
    return f"{REFUSE}:{request_id}"


def refuse_form_action(request_id: int) -> str:
    """A card's Refuse button: may this user decide N? If so the answer asks for a reason."""
    return f"{REFUSE}-form:{request_id}"


ACCESS_PREFIX = "access-"
"""Card actions on an access request: 'access-approve:N', 'access-refuse:N',
'access-refuse-form:N' (decided by administrators)."""


def card_action(action: str) -> tuple[str, int] | None:
    """('approve' | 'refuse' | 'refuse-form', request id) for a card action, else None;
    the verb keeps its 'access-' prefix for an access request."""
    verb, _, number = action.partition(":")
    if verb.removeprefix(ACCESS_PREFIX) in (APPROVE, REFUSE, f"{REFUSE}-form") \
            and number.isdigit():
        return verb, int(number)
    return None


def card_prefix(ref: str | None) -> tuple[str, int] | None:
    """The action prefix ('' or 'access-') and the number of the request a card is about."""
    kind, _, number = (ref or "").partition(":")
    if kind in ("request", "access") and number.isdigit():
        return ("" if kind == "request" else ACCESS_PREFIX), int(number)
    return None


MAX_FILE_BYTES = 25 * 1024 * 1024
"""The largest file an adapter hands to the engine: it refuses a larger one from its declared
size, before downloading, and stops reading at this many bytes when the size was a lie."""
TOO_LARGE = "too_large"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class InboundFile:
    """A file the officer dropped into the conversation, already downloaded by the adapter.

    `content` is None when the adapter could not take it: `problem` says why (TOO_LARGE, with
    the declared or counted `size`; UNAVAILABLE: no download possible). The name is only a
    name: the content is sniffed, never trusted from it or from a declared type.
    """

    name: str
    content: bytes | None = field(default=None, repr=False)
    size: int | None = None
    problem: str | None = None


def too_large(name: str, size: int | None) -> InboundFile:
    return InboundFile(name, None, size, TOO_LARGE)


def unavailable(name: str) -> InboundFile:
    return InboundFile(name, None, None, UNAVAILABLE)


Arrival = Callable[[Any], bool]
"""A front end's bookkeeping for one delivery, called by the engine with the turn's own
SQLAlchemy session before anything else (one transaction per message, not one for the
bookkeeping and one for the turn): a redelivery check, where the sender can be reached. False:
the delivery was handled before; the engine raises `Redelivered` and does nothing."""


class Redelivered(NotATurn):
    """The delivery was handled before (its `Inbound.arrival` said so): no turn, no answer."""


Progress = Callable[[str], None]
"""Called by the engine, from its worker thread, with a line to show in place of the previous
one (a long file being checked); the adapter posts it once and then updates it."""


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a reply: an export, the list of a file's errors."""

    filename: str
    content: bytes = field(repr=False)
    mime: str = "application/octet-stream"

    @classmethod
    def of(cls, filename: str, content: bytes) -> Attachment:
        """An export we wrote ourselves: its type follows its extension."""
        extension = filename.rsplit(".", 1)[-1].lower()
        return cls(filename, content, MIMES.get(extension, "application/octet-stream"))


MIMES = {"csv": "text/csv",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass(frozen=True)
class Inbound:
    """What an adapter received. `channel` names platform and workspace, e.g. 'slack:T0123'.

    `action` is a button press: 'confirm', 'cancel' or 'choose:KEY' for the pending flow;
    'approve:N', 'refuse:N' (reason in `text`), 'refuse-form:N' on a request card; 'home' for
    the officer's overview. `files` are files dropped into the conversation (a P-data update).
    Every front end enters the engine here, and only here.
    """

    channel: str
    user_ref: str
    text: str | None = None
    action: str | None = None
    locale: str | None = None
    files: tuple[InboundFile, ...] = ()
    progress: Progress | None = field(default=None, compare=False, repr=False)
    arrival: Arrival | None = field(default=None, compare=False, repr=False)

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
    replaces: Reply | None = None
    """The card to show in place of the one clicked (decided: no buttons left), if any."""
    input: str | None = None
    """A text to collect before acting (REASON), for the action in `ref`."""
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    """Titled lists (the home overview): rendered as headings with bullet lines."""
    attachments: list[Attachment] = field(default_factory=list)
    """Files for the officer (an export, a file's errors): each adapter delivers them its way."""

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "choices": [{"key": c.key, "label": c.label}
                                               for c in self.choices],
                "actions": list(self.actions), "done": self.done, "language": self.language,
                "ref": self.ref, "attachments": [
                    {"filename": a.filename, "mime": a.mime, "size": len(a.content)}
                    for a in self.attachments]}

    @property
    def request_id(self) -> int | None:
        """The request a card or a reason form is about ('request:12')."""
        kind, _, number = (self.ref or "").partition(":")
        return int(number) if kind == "request" and number.isdigit() else None
