"""The answers a batch of replies queues (the officer's mail, their chat notices), written by
ONE multi-row INSERT just before the batch commits.

Queued as ORM objects, each reply's answers made its savepoint's release flush the unit of
work: about half a millisecond of Python a reply, for two rows. Here they are plain rows
(core.services.outbox_rows: the same facts, Message-ID and log id as enqueue_mail) kept in
the session's info until `write`. A reply rolled back in its savepoint takes its rows back
with `forget_since`: nothing it queued is written.
"""

from __future__ import annotations

from typing import Any

from core.app import UnitOfWork
from core.services import outbox_rows

_ROWS = "itma.mail.answer_rows"


def _rows(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = uow.session.info.setdefault(_ROWS, [])
    return rows


def mail(uow: UnitOfWork, to: str, language: str, template: str,
         context: dict[str, Any]) -> None:
    """As `uow.enqueue_mail`, written at the end of the batch."""
    _rows(uow).append(outbox_rows.mail_row(uow.app, to, language, template, context))


def chat(uow: UnitOfWork, platform: str, to: str, language: str, template: str,
         context: dict[str, Any]) -> None:
    """As `uow.enqueue_chat`, written at the end of the batch."""
    row = outbox_rows.chat_row(uow.app, platform, to, language, template, context)
    if row is not None:
        _rows(uow).append(row)


def mark(uow: UnitOfWork) -> int:
    """Where a reply's rows begin (for `forget_since`)."""
    return len(_rows(uow))


def forget_since(uow: UnitOfWork, mark: int) -> None:
    """The rows queued since `mark` are dropped: their reply was rolled back."""
    del _rows(uow)[mark:]


def write(uow: UnitOfWork) -> None:
    """Every queued row, one statement, in the batch's transaction."""
    rows = uow.session.info.pop(_ROWS, None)
    if rows:
        uow.session.connection().execute(outbox_rows.INSERT, rows)
