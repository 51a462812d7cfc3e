"""Inbound.arrival: a front end's bookkeeping for a delivery runs first in the turn's own
transaction (one per message), a delivery recorded before is no turn at all (Redelivered: no
answer, no turn counted or logged), a refused turn keeps its record, a failed one does not."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from core.conversation import Engine, Inbound
from core.conversation.types import Redelivered
from core.models import ProcessedDelivery
from core.services import deliveries
from tests.conftest import World


class Recording:
    """An arrival that records a delivery key (as Teams' does), noting the sessions it saw."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.sessions: list[Any] = []

    def __call__(self, session: Any) -> bool:
        self.sessions.append(session)
        return deliveries.record_once(session, self.key)


def recorded(world: World) -> list[str]:
    with world.app.unit_of_work(readonly=True) as uow:
        return list(uow.session.scalars(select(ProcessedDelivery.key)
                                        .where(ProcessedDelivery.key.like("test:%"))))


def inbound(world: World, text: str, arrival: Recording) -> Inbound:
    return Inbound("console", world.officer, text=text, arrival=arrival)


def test_a_delivery_is_handled_once_in_the_turns_transaction(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine(world.app)
    first = Recording("test:one")
    reply = engine.handle(inbound(world, "inscrire Peeters BOSA-101", first))
    assert "quelle session" in reply.text
    assert recorded(world) == ["test:one"] and len(first.sessions) == 1
    again = Recording("test:one")
    caplog.clear()  # the first turn's line, when an earlier test left the logger at INFO
    with caplog.at_level(logging.INFO), pytest.raises(Redelivered):
        engine.handle(inbound(world, "1", again))
    assert not [r for r in caplog.records if r.getMessage() == "turn"]
    # the redelivered "1" chose nothing: the next "1" is the one that picks the session
    reply = engine.handle(inbound(world, "1", Recording("test:two")))
    assert reply.actions == ["confirm", "cancel"] and "Peeters Jan" in reply.text
    assert sorted(recorded(world)) == ["test:one", "test:two"]


def test_a_refused_turn_keeps_its_record_and_a_failed_one_does_not(world: World) -> None:
    engine = Engine(world.app)
    refused = Recording("test:refused")
    reply = engine.handle(inbound(world, "approuver 987", refused))
    assert reply.text == "Il n'y a pas de demande n° 987."
    assert len(refused.sessions) == 2  # the turn's transaction rolled back, then the refusal's
    assert recorded(world) == ["test:refused"]
    with pytest.raises(Redelivered):
        engine.handle(inbound(world, "approuver 987", Recording("test:refused")))

    class Failing(Recording):
        def __call__(self, session: Any) -> bool:
            super().__call__(session)
            raise RuntimeError("the turn fails after its record")

    with pytest.raises(RuntimeError):
        engine.handle(inbound(world, "formations", Failing("test:failed")))
    assert recorded(world) == ["test:refused"]  # rolled back with the turn: tried again later
    delivered_again = Recording("test:failed")
    assert engine.handle(inbound(world, "formations", delivered_again)).text
    assert len(delivered_again.sessions) == 1
    assert sorted(recorded(world)) == ["test:failed", "test:refused"]
