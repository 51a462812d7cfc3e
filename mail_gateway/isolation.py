"""One bad message never blocks the others: what cannot be read is recorded once and consumed.

The replies path (inbound) and the helpdesk path share it; only a database that cannot be
reached (DatabaseError) is left to the caller, as the one failure that may heal by retrying.
"""

from __future__ import annotations

import hashlib
import logging
import re
import traceback

from sqlalchemy.exc import OperationalError

from core.app import App, UnitOfWork
from core.db import DatabaseError
from core.services import deliveries, reply_tokens
from mail_gateway.headers import clean
from mail_gateway.parsing import Malformed

log = logging.getLogger(__name__)
MALFORMED = "malformed"


def message_id_of(raw: bytes) -> str:
    """The Message-ID of a message the parser could not take, read from the bytes."""
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0][:65536]
    found = re.search(rb"(?im)^message-id:[ \t]*([^\r\n]*)", head)
    return clean(found.group(1).decode("ascii", "surrogateescape")).strip()[:200] if found \
        else "?"


def trace(exc: BaseException) -> str:
    """Where it failed — frames and exception types — without any exception's message: a
    database error's message quotes the statement's parameters, which hold the mail's text."""
    lines = []
    seen: BaseException | None = exc
    while seen is not None and len(lines) < 4:
        lines.append("".join(traceback.format_tb(seen.__traceback__))[-3000:]
                     + f"{type(seen).__module__}.{type(seen).__qualname__}")
        seen = seen.__cause__ or seen.__context__
    return "\n(which led to)\n".join(reversed(lines))


def record_malformed(app: App, raw: bytes, message_id: str, exc: Exception,
                     scope: str) -> str:
    """Audit `{scope}.malformed` once per content in a transaction of its own; returns the
    detail (why it was unreadable)."""
    try:
        with app.unit_of_work() as uow:
            return record_malformed_in(uow, raw, message_id, exc, scope)
    except DatabaseError:
        raise
    except Exception:  # the commit of the record: logged, the message is still consumed
        log.exception("%s mail %s: even the record of a malformed message failed", scope,
                      reply_tokens.redact(message_id))
        return exc.reason if isinstance(exc, Malformed) else type(exc).__name__


def record_malformed_in(uow: UnitOfWork, raw: bytes, message_id: str, exc: Exception,
                        scope: str) -> str:
    """The same record inside the caller's transaction, in a savepoint: if even the record
    fails, only it is rolled back (and logged), never the caller's other work."""
    detail = exc.reason if isinstance(exc, Malformed) else type(exc).__name__
    shown = reply_tokens.redact(message_id)
    if not isinstance(exc, Malformed):
        log.warning("%s mail %s could not be read:\n%s", scope, shown, trace(exc))
    digest = hashlib.sha256(raw).hexdigest()
    try:
        with uow.session.begin_nested():
            if deliveries.record_once(uow.session, f"{scope}-malformed:{digest}"):
                uow.audit(f"{scope}.{MALFORMED}", "mail", None, actor="?", detail=detail,
                          message_id=shown, sha256=digest, size=len(raw))
    except (DatabaseError, OperationalError):
        raise
    except Exception:
        log.exception("%s mail %s: even the record of a malformed message failed", scope,
                      shown)
    return detail
