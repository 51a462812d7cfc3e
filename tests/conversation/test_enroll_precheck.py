"""Refusals the rules would give come before the question, not after the click."""

from __future__ import annotations

from core.conversation import Engine, Inbound
from tests.conftest import World


def test_someone_already_enrolled_is_said_before_any_confirmation(world: World) -> None:
    engine = Engine(world.app)

    def say(text: str) -> object:
        return engine.handle(Inbound("console", world.officer, text=text))

    say("inscrire Peeters BOSA-101 12/03")
    assert "est inscrit" in say("oui").text  # type: ignore[attr-defined]
    again = say("inscrire Peeters BOSA-101 12/03")
    assert "déjà inscrit" in again.text and again.actions == []  # type: ignore[attr-defined]
    other = say("inscrire Peeters BOSA-101 20/04")  # another session of the same training
    assert "12/03/2027" in other.text and other.actions == []  # type: ignore[attr-defined]
