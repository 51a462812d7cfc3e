"""Claiming and settling outbox messages: shared by every delivery worker (mail, Slack, Teams).

Claiming moves a message's next attempt into the future (the lease, ITMA_OUTBOX_LEASE_SECONDS)
inside the claiming transaction (FOR UPDATE SKIP LOCKED on PostgreSQL), so two workers never
send the same message at once and a worker that dies mid-send leaves it to be retried after
the lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from core import clock
from core.app import App
from core.models import OutboxMessage, OutboxState

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    to: str
    language: str
    template: str
    subject: str
    context: dict[str, Any]
    message_id: str
    attempts: int


def claim(app: App, channel: str, limit: int = 20) -> list[Claimed]:
    with app.unit_of_work() as uow:
        rows = uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.state == OutboxState.PENDING,
                   OutboxMessage.next_attempt_at <= clock.now())
            .order_by(OutboxMessage.id).limit(limit)
            .with_for_update(skip_locked=True)).all()
        for row in rows:
            row.next_attempt_at = clock.now() + timedelta(
                seconds=app.settings.outbox_lease_seconds)
            row.attempts += 1
        return [Claimed(r.id, r.channel, r.to_address, r.language.value, r.template, r.subject,
                        dict(r.context), r.message_id, r.attempts) for r in rows]


def mark_sent(app: App, message_id: int) -> None:
    with app.unit_of_work() as uow:
        row = uow.session.get_one(OutboxMessage, message_id)
        row.state = OutboxState.SENT
        row.sent_at = clock.now()
        row.last_error = None


def mark_failed(app: App, message_id: int, error: str, permanent: bool = False) -> None:
    """Retry later with exponential backoff, or give up after MAX_ATTEMPTS."""
    with app.unit_of_work() as uow:
        row = uow.session.get_one(OutboxMessage, message_id)
        row.last_error = error[:2000]
        if permanent or row.attempts >= MAX_ATTEMPTS:
            row.state = OutboxState.FAILED
        else:
            row.next_attempt_at = clock.now() + timedelta(seconds=min(30 * 2 ** row.attempts,
                                                                      3600))
