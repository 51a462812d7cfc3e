"""Log lines an operator can follow and hand on: one line per event, tagged with the id of the
action it belongs to, and nothing in it that identifies a person or opens a door.

Why an id: one officer's action crosses a front end (a Slack request, a Teams activity, a mail,
an intake POST, a CLI `say`), a conversation turn, a transaction and, later and maybe in
another process, the outbox delivery of what it queued. The id is bound in a context variable
where the action enters; the outbox row stores it (`OUTBOX_KEY` in its facts) and the delivery
binds it again, so `grep ID itma.log` shows the whole path.

Why a filter on the handler rather than care at each call: a log line leaves the process (log
shippers, tickets, screenshots). Whatever a call site, a library or a traceback puts in a
line, national register numbers, tokens and secrets are masked, and the raw text of the mail
being handled never gets through (`RedactFilter`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import quopri
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache, wraps
from typing import Any, TypeVar

OUTBOX_KEY = "log_request_id"
"""The key of an outbox row's facts that holds the id of the action that queued it."""
FORMATS = ("text", "json")
MAX_MESSAGE = 4000

_request_id: ContextVar[str | None] = ContextVar("itma_request_id", default=None)
_mail: ContextVar[bytes | None] = ContextVar("itma_log_mail", default=None)


def current() -> str | None:
    """The id of the action this code runs for, if a front end bound one."""
    return _request_id.get()


def new_id() -> str:
    return secrets.token_hex(8)


def mail_id(raw: bytes) -> str:
    """A mail's id is derived from its bytes: every door, batch and retry of the same message
    binds the same id without carrying it around."""
    return hashlib.sha256(raw).hexdigest()[:16]


@contextmanager
def bound(request_id: str | None = None, *, mail: bytes | None = None) -> Iterator[str]:
    """Run the block as (part of) one action. Without an id, the one already bound is kept
    (a turn inside a Slack request is the same action), else a new one is made. `mail`: the
    raw message being handled, whose text the filter keeps out of every line."""
    rid = request_id or _request_id.get() or new_id()
    token = _request_id.set(rid)
    mail_token = _mail.set(mail) if mail is not None else None
    try:
        yield rid
    finally:
        if mail_token is not None:
            _mail.reset(mail_token)
        _request_id.reset(token)


F = TypeVar("F", bound=Callable[..., Any])


def for_mail(fn: F) -> F:
    """For `process(app, raw, …)` of a mail door: the mail's id and text bound for the call."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw = kwargs["raw"] if "raw" in kwargs else args[1]
        with bound(mail_id(raw), mail=raw):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- Redaction ------------------------------------------------------------------------------

_CODE = re.compile(r"[\w.:#/-]{1,120}")


def code(detail: str | None) -> str:
    """A detail fit for a log line only when it is a code (a reason, a state, an id): prose, a
    decision's wording or an address may name someone, and is left to the audit."""
    if not detail:
        return ""
    return detail if _CODE.fullmatch(detail) else "[text]"


_NRN = re.compile(r"(?<![\d])\d{2}[ ./-]?\d{2}[ ./-]?\d{2}[ ./-]{0,2}\d{3}[ ./-]?\d{2}(?![\d])")
"""Eleven digits, with the separators people type (85.07.30-033.28, 850730 033 28, 85/07/30…),
checksum or not: a mistyped number is as personal as a valid one."""
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(x(?:ox[a-z]|app)-)[A-Za-z0-9-]+"), r"\1[secret]"),  # Slack tokens
    (re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"), "[jwt]"),
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[\w.~+/=-]{6,}"), r"\1\2[secret]"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@"), r"\1:[secret]@"),
    (re.compile(r"(?i)\b([\w.-]*(?:password|passwd|secret|token|api_key)(?:_key)?[\"']?"
                r"\s*[:=]\s*[\"']?)[^\s\"',;&]+"), r"\1[secret]"),
    (re.compile(r"(/link/)[\w-]{6,}"), r"\1[token]"),  # one-time eID link URLs
    (re.compile(r"(?i)(?<![a-z0-9])[a-z2-7]{26}(?![a-z0-9])"), "[token]"),  # reply tokens
    (re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{40,}(?![\w-])"), "[secret]"),
)
"""Tokens and secrets: Slack (xoxb-, xapp-), bearer and basic credentials, JWTs (Teams),
passwords in URLs and key=value pairs, eID link tokens, reply tokens (26 base32 letters) and
any long opaque string of letters and digits (link tokens, keys, signatures)."""


_SUSPECT = re.compile(r"[\d:=/]|[a-z2-7]{26}|bearer|basic|xox|xapp|eyJ", re.IGNORECASE)
"""Nothing any pattern could match (a word, a state): the line goes as it is."""


def redact(text: str) -> str:
    """The text with every NRN-shaped number, token and secret masked."""
    if not _SUSPECT.search(text):
        return text
    if any(ch.isdigit() for ch in text):
        text = _NRN.sub("[nrn]", text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=16)
def _mail_fragments(raw: bytes) -> tuple[str, ...]:
    """The lines of a mail's body as it may be quoted: as sent, and decoded from
    quoted-printable and base64, longest first (read once per mail, however many lines)."""
    _head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        _head, sep, body = raw.partition(b"\n\n")
    body = body[:262_144]
    texts = [body]
    lowered = raw[:65_536].lower()
    if b"quoted-printable" in lowered:
        texts.append(quopri.decodestring(body))
    if b"base64" in lowered:
        for block in re.findall(rb"(?:^[A-Za-z0-9+/=]{16,}\r?\n)+", body, re.MULTILINE):
            try:
                texts.append(base64.b64decode(block, validate=False))
            except (binascii.Error, ValueError):
                continue
    fragments = {line.strip() for text in texts
                 for line in re.split(r"[\r\n]+|<[^>]{0,200}>", text.decode("utf-8", "replace"))}
    return tuple(sorted((f for f in fragments if len(f) >= 12), key=len, reverse=True))


def _without_mail(text: str, raw: bytes) -> str:
    for fragment in _mail_fragments(raw):
        if fragment in text:
            text = text.replace(fragment, "[mail text]")
            continue
        at = text.find(fragment[:12])
        while at >= 0:  # a line quoted only in part (a first line cut at 80 characters)
            end = at
            while end < len(text) and end - at < len(fragment) and \
                    text[end] == fragment[end - at]:
                end += 1
            text = text[:at] + "[mail text]" + text[end:]
            at = text.find(fragment[:12], at + 11)
    return text


_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "request_id", "taskName"}


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """What a call site passed with `extra=`: the structured part of the line."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k[0] != "_"}


class RedactFilter(logging.Filter):
    """On every handler: the record's message, fields and traceback, rendered and cleaned once.

    The record is rewritten in place (message formatted, args dropped), so the handlers after
    this one (the console) print the cleaned text as well.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_itma_clean", False):
            return True
        raw = _mail.get()

        def clean(text: str) -> str:
            text = redact(text)
            return _without_mail(text, raw) if raw else text

        record.msg = clean(record.getMessage())[:MAX_MESSAGE]
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = clean(record.exc_text)
        if record.stack_info:
            record.stack_info = clean(record.stack_info)
        for key, value in fields(record).items():
            if isinstance(value, str):
                setattr(record, key, clean(value))
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        record._itma_clean = True
        return True


# --- Formats --------------------------------------------------------------------------------

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class TextFormatter(logging.Formatter):
    """The readable line as before, then `request_id=…` and the fields as key=value."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extra = {"request_id": getattr(record, "request_id", None) or _request_id.get(),
                 **fields(record)}
        tail = " ".join(f"{k}={_text(v)}" for k, v in extra.items() if v is not None)
        return f"{line} {tail}" if tail else line


def _text(value: Any) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, default=str,
                                                            ensure_ascii=False)
    return json.dumps(shown, ensure_ascii=False) if not shown or any(
        c.isspace() or c in "\"=" for c in shown) else shown


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        done = getattr(record, "_itma_json", None)
        if done is not None:  # the rotating handler formats once to measure, once to write
            return str(done)
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
        }
        for key, value in fields(record).items():
            line.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        record._itma_json = json.dumps(line, ensure_ascii=False, default=str)
        return record._itma_json


def formatter(kind: str) -> logging.Formatter:
    """`ITMA_LOG_FORMAT`: json for log shippers, text (the default) for people."""
    return JsonFormatter() if kind == "json" else TextFormatter()


def install(handler: logging.Handler, kind: str = "text") -> logging.Handler:
    """Give a handler the format and the redaction filter every ITMA log line goes through."""
    handler.setFormatter(formatter(kind))
    if not any(isinstance(f, RedactFilter) for f in handler.filters):
        handler.addFilter(RedactFilter())
    return handler
