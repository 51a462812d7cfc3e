"""What a batch of replies costs the database when nothing in it fails (issue 16): no savepoint
per reply (the batch is decided straight, and again with savepoints only when a reply fails),
the answers in one INSERT, the statements per reply bounded — and the answers still carry the
log id of their own mail.

Real parts: the database (SQLite and PostgreSQL), the decision path of every door
(inbound.read + inbound.decide_all); the statements are counted at the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from core import logs
from core.models import RequestState
from mail_gateway import inbound
from tests.conftest import World
from tests.integration.test_mail import SOPHIE, outbox, reply, request_state, submit, token_of

BATCH = 8
MAX_STATEMENTS_PER_REPLY = 6
"""Mailing-list approvals, BEGIN and COMMIT included: 4.9 on SQLite when this was written
(it was 9.8 with a savepoint, an ORM flush and a re-read request per reply)."""


@contextmanager
def statements(world: World) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = world.app.db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def replies(world: World, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bytes]]:
    """(request id, raw "OK" reply) for BATCH mailing-list requests of Sophie's."""
    monkeypatch.setattr(inbound._caution, "careful", 0)  # no earlier failure in this process
    found = []
    for n in range(BATCH):
        request_id = submit(world, wants_session=False, external_id=f"cost-{n}")
        found.append((request_id, reply(world, token_of(world, SOPHIE, request_id), "OK",
                                        message_id=f"<cost-{n}@bosa.example>")))
    return found


def test_a_batch_where_nothing_fails_takes_no_savepoint(
        world: World, replies: list[tuple[int, bytes]]) -> None:
    readings = [inbound.read(world.app, raw, via="test") for _id, raw in replies]
    with statements(world) as seen:
        outcomes = inbound.decide_all(world.app, readings)
    assert [o.reason for o in outcomes] == ["approved"] * BATCH
    assert {request_state(world, i).state for i, _raw in replies} == {RequestState.APPROVED}
    assert not [s for s in seen if s.upper().startswith(("SAVEPOINT", "RELEASE"))]
    assert len(seen) <= MAX_STATEMENTS_PER_REPLY * BATCH, seen
    inserts = [s for s in seen if s.upper().startswith("INSERT INTO OUTBOX_MESSAGES")]
    assert len(inserts) == BATCH + 1  # each subscription's mail, then every answer at once


def test_the_answers_written_at_the_end_carry_their_own_mails_log_id(
        world: World, replies: list[tuple[int, bytes]]) -> None:
    inbound.decide_all(world.app, [inbound.read(world.app, raw, via="test")
                                   for _id, raw in replies])
    told = {m.context["request_id"]: m.context for m in outbox(world)
            if m.template == "reply_done"}
    assert {request_id: told[request_id].get(logs.OUTBOX_KEY) for request_id, _raw in replies} \
        == {request_id: logs.mail_id(raw) for request_id, raw in replies}


def test_a_failing_reply_sends_the_next_batches_through_savepoints(
        world: World, replies: list[tuple[int, bytes]], monkeypatch: pytest.MonkeyPatch) -> None:
    (_first, broken), *others = replies

    def failing(*_args: Any, **_kwargs: Any) -> inbound.Outcome:
        raise RuntimeError("a bug")

    with monkeypatch.context() as patched, statements(world) as seen:
        patched.setattr(inbound, "_decide", failing)
        [outcome] = inbound.decide_all(world.app, [inbound.read(world.app, broken, via="t")])
    assert outcome.reason == "malformed" and outcome.detail == "RuntimeError"
    assert any(s.upper().startswith("SAVEPOINT") for s in seen)  # decided again, guarded
    assert inbound._caution.careful == inbound._Caution.AFTER_A_FAILURE
    with statements(world) as seen:
        outcomes = inbound.decide_all(world.app, [inbound.read(world.app, raw, via="t")
                                                  for _id, raw in others])
    assert [o.reason for o in outcomes] == ["approved"] * len(others)
    assert any(s.upper().startswith("SAVEPOINT") for s in seen)  # the next batch too
    assert inbound._caution.careful == inbound._Caution.AFTER_A_FAILURE - 1
