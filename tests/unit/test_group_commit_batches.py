"""GroupCommit's batch size follows the senders in flight: 8 senders split once into two halves
of 4 (each half arriving while the other is decided) come back together into batches of 8.
Sized by the last batches alone, they stayed split for good (seen on PostgreSQL in bench.mail:
400 batches of 4, 6 % more CPU and 10 % fewer replies per second).

No database here: the decision is replaced by a pause that stands for a transaction; the
batching is the event loop's own work.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mail_gateway.group_commit import GroupCommit
from mail_gateway.inbound import Outcome

SENDERS = 8
ROUNDS = 30
DECIDING = 0.01
"""Seconds a batch's transaction takes, standing in for the database."""


class Timed(GroupCommit):
    def _decide(self, batch: list[Any]) -> list[Outcome]:
        time.sleep(DECIDING)
        self.stats.sizes[len(batch)] = self.stats.sizes.get(len(batch), 0) + 1
        self.sizes.append(len(batch))
        return [Outcome("approved") for _ in batch]


async def senders(commits: Timed) -> None:
    async def sender(k: int) -> None:
        if k >= SENDERS // 2:  # the second half starts while the first is being decided
            await asyncio.sleep(DECIDING / 2)
        for _ in range(ROUNDS):
            assert (await commits.decide(b"raw", ["reply@x"])).reason == "approved"
            await asyncio.sleep(0.0005)  # the SMTP exchange before the next DATA

    await asyncio.gather(*(sender(k) for k in range(SENDERS)))


def test_senders_split_in_halves_come_back_together() -> None:
    commits = Timed(app=None, max_wait=0.05, max_batch=64)  # type: ignore[arg-type]
    commits.sizes = []  # type: ignore[attr-defined]
    commits._recent.extend([SENDERS // 2] * 16)  # as if split for the last 16 batches
    asyncio.run(senders(commits))
    sizes: list[int] = commits.sizes  # type: ignore[attr-defined]
    assert sizes[0] == SENDERS // 2  # the split happened
    assert sum(sizes) == SENDERS * ROUNDS
    assert sizes[-10:].count(SENDERS) >= 8, sizes  # a slow machine may close one early
