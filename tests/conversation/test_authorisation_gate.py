"""One gate in the engine: lapsed access blocks every flow but help and link, and no answer
names a person or a request of an organisation the officer is not responsible for."""

from __future__ import annotations

import json

from sqlalchemy import select

from core import nrn
from core.conversation import Engine, Inbound, Reply
from core.models import AuditEvent, Collaborator, ConversationState
from core.services import requests
from core.services.access import revoke
from tests.conftest import World


def say(world: World, email: str, text: str) -> Reply:
    return Engine(world.app).handle(Inbound("console", email, text=text))


def _fin_request(world: World) -> int:
    with world.app.unit_of_work() as uow:
        request, _ = requests.submit(uow, {
            "external_id": "web-fin-1", "wants": {"kind": "mailing_list"},
            "person": {"surname": "Verhaegen", "given_names": "Lotte", "language": "nl",
                       "email": "lotte.verhaegen@example.be", "organisation": "FIN"}})
        return request.id


def _nrn_of(world: World, key: str) -> str:
    with world.app.unit_of_work(readonly=True) as uow:
        person = uow.session.get_one(Collaborator, world.people[key])
        return world.app.vault.decrypt(person.nrn_encrypted)


def test_deciding_another_organisations_request_shows_nothing_of_it(world: World) -> None:
    request_id = _fin_request(world)
    for text in (f"approuver {request_id}", f"refuser {request_id} complet"):
        reply = say(world, world.officer, text)  # Sophie: BOSA only
        assert reply.text == f"Il n'y a pas de demande n° {request_id}."
        assert "Verhaegen" not in reply.text and "FIN" not in reply.text
    reply = say(world, world.en_officer, f"approve {request_id}")  # Emma: BOSA and FIN
    assert "Verhaegen Lotte" in reply.text and reply.actions == ["confirm", "cancel"]


def test_adding_a_number_known_in_another_organisation_names_no_one(world: World) -> None:
    number = _nrn_of(world, "fin_only")
    reply = say(world, world.officer, f"ajouter {number}")
    assert "Vermeulen" not in reply.text and "FIN" not in reply.text
    assert "ne relève pas de vos organisations" in reply.text
    with world.app.unit_of_work(readonly=True) as uow:
        audited = uow.session.scalars(select(AuditEvent.action)).all()
    assert "collaborator.add_known_elsewhere" in audited
    own = say(world, world.officer, f"ajouter {_nrn_of(world, 'peeters')}")
    assert "Peeters Jan (BOSA)" in own.text


def test_expired_access_blocks_every_flow_but_help_and_link(world: World) -> None:
    for text in ("désinscrire Dupont", "inscrire Peeters BOSA-101", "places BOSA-101",
                 "inscrits BOSA-101", "rapport Dupont", "demandes", "approuver 1",
                 "ajouter 85073003328", "formations"):
        reply = say(world, world.expired_officer, text)
        assert "n'est plus valable" in reply.text, (text, reply.text)
        assert not reply.choices and "Dupont" not in reply.text and "Peeters" not in reply.text
    assert "n'est plus valable" not in say(world, world.expired_officer, "aide").text
    assert "n'est plus valable" not in say(world, world.expired_officer, "lier").text


def test_a_flow_started_before_expiry_cannot_be_finished_after_it(world: World) -> None:
    chat = Engine(world.app)
    reply = chat.handle(Inbound("console", world.officer, text="désinscrire Dupont"))
    assert len(reply.choices) == 2
    with world.app.unit_of_work() as uow:
        revoke(uow, world.officer)
    reply = chat.handle(Inbound("console", world.officer, text="1"))
    assert "n'est plus valable" in reply.text and not reply.choices


def test_a_typed_national_number_is_never_echoed_nor_stored(world: World) -> None:
    number = "85073003328"
    assert nrn.is_valid(number)
    reply = say(world, world.officer, f"zut {number}")
    assert reply.text.startswith("Je n'ai pas compris « zut 85.07.30-xxx.xx »")
    reply = say(world, world.officer, f"désinscrire {number}")
    assert number not in json.dumps(reply.as_json())
    with world.app.unit_of_work(readonly=True) as uow:
        stored = [json.dumps(s.data) for s in uow.session.scalars(select(ConversationState))]
    assert stored and not any(number in s or "85.07.30-033.28" in s for s in stored)
    formatted = say(world, world.officer, "quoi 85.07.30-033.28 ?")
    assert "033.28" not in formatted.text
