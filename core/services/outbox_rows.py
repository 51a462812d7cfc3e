"""Outbox rows as plain rows, for paths that write them with one Core INSERT.

`UnitOfWork.enqueue_mail` / `enqueue_chat` add ORM objects, and an ORM object added in a
savepoint makes its release flush the unit of work (about half a millisecond of Python a
reply in the SMTP door's batches, more than the INSERT itself). These build the same rows —
facts only, the Message-ID fixed now, the log id of the action bound now — so a caller can
insert them (`INSERT`), one row or a whole batch's in one statement.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from core import clock, i18n, logs
from core.app import App
from core.models import OutboxMessage

INSERT = insert(OutboxMessage.__table__).inline()
"""Nothing read back (no RETURNING of the new id), so it may go in a pipeline (core.db)."""


def _facts(context: dict[str, Any]) -> dict[str, Any]:
    """The context with the bound log id, as the engine hook adds it at INSERT time (a row
    inserted later, with a batch's, would otherwise get the batch's id or none)."""
    request_id = logs.current()
    if request_id and logs.OUTBOX_KEY not in context:
        return {**context, logs.OUTBOX_KEY: request_id}
    return context


def _row(app: App, channel: str, to: str, language: str, template: str,
         context: dict[str, Any], local: str, now: datetime | None) -> dict[str, Any]:
    now = now or clock.now()
    return {"channel": channel, "to_address": to,
            "language": i18n.language_or_default(language), "template": template,
            "subject": "", "context": _facts(context),
            "message_id": f"<{local}@{app.settings.mail_domain}>", "state": "pending",
            "attempts": 0, "next_attempt_at": now, "created_at": now}


def mail_row(app: App, to: str, language: str, template: str, context: dict[str, Any],
             now: datetime | None = None, token: str | None = None) -> dict[str, Any]:
    """The row `UnitOfWork.enqueue_mail` writes; a reply token goes, as there, into the
    Message-ID and the facts (the Reply-To address is made from them at delivery)."""
    if token is None:
        return _row(app, "mail", to, language, template, context, uuid.uuid4().hex, now)
    return _row(app, "mail", to, language, template, {**context, "reply_token": token},
                f"{uuid.uuid4().hex[:16]}.{token}", now)


def chat_row(app: App, platform: str, to: str, language: str, template: str,
             context: dict[str, Any], now: datetime | None = None) -> dict[str, Any] | None:
    """The row `UnitOfWork.enqueue_chat` writes, or None when this deployment has no such
    platform (no sender would ever take it)."""
    if platform not in app.channels:
        return None
    return _row(app, platform, to, language, template, context, uuid.uuid4().hex, now)
