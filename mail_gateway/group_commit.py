"""Group commit for replies: the replies that arrive together are decided in ONE transaction.

A reply's own work is a few milliseconds of Python and a handful of statements; a transaction
of its own adds BEGIN, COMMIT, the SQLite writer lock or a PostgreSQL round trip and fsync,
and a hop to a worker thread. So the SMTP handlers do not decide: they queue the message here
and wait. The first arrival opens a batch, which waits at most `max_wait` seconds for as many
replies as the largest of the last batches held (the senders lately active), or `max_batch`; one
thread then reads them all (outside any transaction) and decides them with
`inbound.decide_all`: one transaction, each reply as if in its own savepoint, one commit (the
batch is decided straight; only when a reply fails is that transaction rolled back and the
batch decided again with a savepoint per reply). Only once that commit has returned is each
handler given its own outcome, so no `250` is ever said for what is not committed.

When the database fails the batch (DatabaseError), every reply of it gets that error: its
sender answers 451 and the MTA retries; nothing of the batch was committed. When the commit
fails for any other reason, the batch is decided again one reply at a time
(`inbound.process`, which records what it cannot commit as malformed), so one poisoned reply
still spoils no other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from core.app import App
from core.db import DatabaseError
from mail_gateway import inbound
from mail_gateway.inbound import Outcome

log = logging.getLogger(__name__)
MAX_WAIT = 0.004
"""Seconds a batch waits for companions: about the time the other SMTP sessions take to send
their next message (MAIL, RCPT, DATA) once the previous batch has been answered."""
MAX_BATCH = 64
RECENT = 16
"""Batches remembered to tell how many replies to wait for."""


@dataclass
class _Pending:
    raw: bytes
    recipients: list[str]
    future: asyncio.Future[Outcome]


@dataclass
class Stats:
    """Batches and replies so far (read by tests and the bench)."""

    batches: int = 0
    replies: int = 0
    sizes: dict[int, int] = field(default_factory=dict)


class GroupCommit:
    """Batches replies from the SMTP handlers of one event loop (aiosmtpd's)."""

    def __init__(self, app: App, *, max_wait: float = MAX_WAIT,
                 max_batch: int = MAX_BATCH, via: str = "smtp") -> None:
        self.app, self.max_wait, self.max_batch, self.via = app, max_wait, max_batch, via
        self.stats = Stats()
        self._pending: list[_Pending] = []
        self._runner: asyncio.Task[None] | None = None
        self._grown: asyncio.Event | None = None
        self._recent: deque[int] = deque(maxlen=RECENT)
        self._deciding = 0
        self._peak = 0

    async def decide(self, raw: bytes, recipients: list[str]) -> Outcome:
        """This reply's outcome once its batch is committed; raises DatabaseError when it is
        not (nothing of the batch is)."""
        loop = asyncio.get_running_loop()
        item = _Pending(raw, recipients, loop.create_future())
        self._pending.append(item)
        self._peak = max(self._peak, len(self._pending) + self._deciding)
        if self._grown is not None and len(self._pending) >= self._wanted():
            self._grown.set()
        if self._runner is None or self._runner.done():
            self._runner = loop.create_task(self._run(), name="mail-group-commit")
        return await item.future

    def _wanted(self) -> int:
        """The most replies lately in flight at once (queued or being decided): the senders
        lately active. (The size of the last batches alone would split 8 senders into two
        batches of 4 for good, once one batch left early: each half arrives while the other is
        decided, and a batch of 4 is always ready. Seen on PostgreSQL, 400 batches of 4.)"""
        return min(max(self._recent, default=self.max_batch), self.max_batch)

    async def _gather(self) -> None:
        """Wait until as many replies as last time are queued, at most max_wait."""
        if len(self._pending) >= self._wanted():
            return
        self._grown = asyncio.Event()
        try:
            await asyncio.wait_for(self._grown.wait(), self.max_wait)
        except TimeoutError:
            pass
        finally:
            self._grown = None

    async def _run(self) -> None:
        while self._pending:
            await self._gather()
            batch = self._pending[:self.max_batch]
            del self._pending[:len(batch)]
            self._recent.append(max(len(batch), self._peak))
            self._peak, self._deciding = len(self._pending), len(batch)
            try:
                outcomes = await asyncio.to_thread(self._decide, batch)
            except BaseException as exc:
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            finally:
                self._deciding = 0
            for item, outcome in zip(batch, outcomes, strict=True):
                if not item.future.done():
                    item.future.set_result(outcome)

    def _decide(self, batch: list[_Pending]) -> list[Outcome]:
        """In the worker thread: read, then one transaction for the whole batch."""
        started = time.perf_counter()
        readings = [inbound.read(self.app, item.raw, via=self.via, recipients=item.recipients)
                    for item in batch]
        try:
            outcomes = inbound.decide_all(self.app, readings)
        except DatabaseError:
            raise
        except Exception as exc:  # not the database: decide them one by one, each alone
            log.warning("a batch of %s replies could not be committed (%s); deciding each "
                        "alone", len(batch), type(exc).__name__)
            outcomes = [inbound.process(self.app, item.raw, via=self.via,
                                        recipients=item.recipients) for item in batch]
        self.stats.batches += 1
        self.stats.replies += len(batch)
        self.stats.sizes[len(batch)] = self.stats.sizes.get(len(batch), 0) + 1
        log.debug("batch of %s replies committed in %.1f ms", len(batch),
                  (time.perf_counter() - started) * 1000)
        return outcomes
