"""Claiming and settling outbox messages: shared by every delivery worker (mail, Slack, Teams).

Claiming moves a message's next attempt into the future (the lease, ITMA_OUTBOX_LEASE_SECONDS)
inside the claiming transaction (FOR UPDATE SKIP LOCKED on PostgreSQL), so two workers never
send the same message at once and a worker that dies mid-send leaves it to be retried after
the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select

from core import clock, logs, metrics
from core.app import App
from core.db import DatabaseError
from core.models import OutboxMessage, OutboxState

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BATCH = 50


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


class TemporaryFailure(Exception):
    """Try again later, with backoff (relay or platform down, 4xx, rate limited)."""


class PermanentFailure(Exception):
    """Will never work (recipient refused, channel gone, template missing): give up now."""


class Sender(Protocol):
    """Delivers the outbox rows of one channel ('mail', 'slack', 'teams').

    A row holds facts (template, recipient, language, context); the sender renders them with
    its own templates and raises TemporaryFailure or PermanentFailure; anything else it raises
    is taken as temporary.
    """

    channel: str

    async def send(self, message: Claimed) -> None: ...


@dataclass
class Tally:
    sent: int = 0
    failed: int = 0

    @property
    def tried(self) -> int:
        return self.sent + self.failed


async def deliver_once(app: App, senders: Mapping[str, Sender], limit: int = BATCH) -> Tally:
    """Claim and deliver what is due on every channel once."""
    tally = Tally()
    for channel, sender in senders.items():
        claimed = await asyncio.to_thread(claim, app, channel, limit)
        for message in claimed:
            with logs.bound(message.context.get(logs.OUTBOX_KEY)):  # the action that queued it
                if await _deliver(app, channel, sender, message):
                    tally.sent += 1
                else:
                    tally.failed += 1
    return tally


async def _deliver(app: App, channel: str, sender: Sender, message: Claimed) -> bool:
    """True when sent; else the failure is recorded (retried later, or given up)."""
    try:
        await sender.send(message)
    except PermanentFailure as exc:
        log.warning("%s #%s failed for good: %s", channel, message.id, exc)
        await asyncio.to_thread(mark_failed, app, message.id, str(exc), True)
        metrics.delivery_failed(channel, permanent=True)
        return False
    except Exception as exc:
        log.info("%s #%s deferred: %s", channel, message.id, exc)
        await asyncio.to_thread(mark_failed, app, message.id, str(exc) or repr(exc))
        metrics.delivery_failed(channel, permanent=False)
        return False
    await asyncio.to_thread(mark_sent, app, message.id)
    log.info("%s #%s delivered (%s, try %s)", channel, message.id, message.template,
             message.attempts)
    metrics.delivered(channel)
    return True


async def flush(app: App, senders: Mapping[str, Sender]) -> Tally:
    """Deliver until nothing is due (the `outbox flush` command)."""
    total = Tally()
    while (tally := await deliver_once(app, senders)).tried:  # a claimed row is leased or
        total.sent += tally.sent                               # settled: the loop ends
        total.failed += tally.failed
    return total


async def deliver_forever(app: App, senders: Mapping[str, Sender], stop: asyncio.Event,
                          interval: float = 1.0) -> None:
    """The one delivery loop of `serve`, for every channel that has a sender."""
    database_down = False
    while not stop.is_set():
        try:
            tried = (await deliver_once(app, senders)).tried
        except DatabaseError as exc:
            if not database_down:
                log.warning("%s: outbox delivery paused until the database answers", exc)
            database_down, tried = True, 0
        except Exception:
            log.exception("outbox worker")
            tried = 0
        else:
            if database_down:
                log.warning("database reachable again: outbox delivery resumed")
            database_down = False
        if not tried:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


def pending_by_channel(app: App) -> list[tuple[str, int, float | None]]:
    """(channel, rows waiting, age in seconds of the oldest) for /metrics: one grouped query
    on the pending rows (the index on state serves it)."""
    with app.unit_of_work(readonly=True) as uow:
        rows = uow.session.execute(
            select(OutboxMessage.channel, func.count(OutboxMessage.id),
                   func.min(OutboxMessage.created_at))
            .where(OutboxMessage.state == OutboxState.PENDING)
            .group_by(OutboxMessage.channel)).all()
    now = clock.now()
    return [(channel, count, _age(now, oldest)) for channel, count, oldest in rows]


def _age(now: datetime, oldest: datetime | str | None) -> float | None:
    """func.min returns the column's raw value on SQLite (naive UTC text), aware on PostgreSQL."""
    if oldest is None:
        return None
    if isinstance(oldest, str):
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (now - oldest).total_seconds())
