"""A "Nouvelle inscription" whose national number is a known collaborator's under other names
is not approved blindly: chat asks once more, a card click sends the officer to the chat."""

from __future__ import annotations

from sqlalchemy import select

from core.conversation import Engine, Inbound
from core.models import Collaborator, Enrollment, RegistrationRequest, RequestState
from core.services import requests
from tests.conftest import World


def _request_with_peeters_number(world: World) -> int:
    with world.app.unit_of_work() as uow:
        peeters = uow.session.get_one(Collaborator, world.people["peeters"])
        number = world.app.vault.decrypt(peeters.nrn_encrypted)
        request, _ = requests.submit(uow, {
            "external_id": "web-mismatch", "wants": {"kind": "session",
                                                     "training_code": "BOSA-101",
                                                     "session_start": "2027-03-12"},
            "person": {"surname": "Jansen", "given_names": "Piet", "language": "nl",
                       "email": "piet.jansen@example.be", "organisation": "BOSA",
                       "national_register_number": number}})
        return request.id


def _state(world: World, request_id: int) -> RequestState:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.get_one(RegistrationRequest, request_id).state


def test_chat_asks_once_more_then_enrolls_the_known_person(world: World) -> None:
    request_id = _request_with_peeters_number(world)
    engine = Engine(world.app)

    def say(text: str) -> str:
        return engine.handle(Inbound("console", world.officer, text=text)).text

    assert "Jansen Piet" in say(f"approuver {request_id}")
    question = say("oui")
    assert "Peeters Jan (BOSA)" in question and "« Jansen Piet »" in question
    assert _state(world, request_id) == RequestState.PENDING
    done = say("oui")
    assert done.startswith(f"Demande #{request_id} approuvée : Peeters Jan est inscrit")
    assert _state(world, request_id) == RequestState.APPROVED
    with world.app.unit_of_work(readonly=True) as uow:
        enrolled = uow.session.scalars(select(Enrollment.collaborator_id)).all()
    assert enrolled == [world.people["peeters"]]


def test_saying_no_to_the_mismatch_changes_nothing(world: World) -> None:
    request_id = _request_with_peeters_number(world)
    engine = Engine(world.app)
    for text in (f"approuver {request_id}", "oui", "non"):
        engine.handle(Inbound("console", world.officer, text=text))
    assert _state(world, request_id) == RequestState.PENDING


def test_a_card_click_does_not_decide_a_mismatch(world: World) -> None:
    request_id = _request_with_peeters_number(world)
    reply = Engine(world.app).handle(Inbound("console", world.officer,
                                             action=f"approve:{request_id}"))
    assert "Peeters Jan (BOSA)" in reply.text
    assert f"tapez « approuver {request_id} »" in reply.text and reply.replaces is None
    assert _state(world, request_id) == RequestState.PENDING
