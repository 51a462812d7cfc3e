"""Approving a request whose national number is already a collaborator's, under other names.

The number decides who is enrolled, so a typed name that is not that person's stops the
approval until the officer, told whose number it is (when they may know), accepts it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from core.errors import DomainError
from core.models import Collaborator, Enrollment, RegistrationRequest, RequestState
from core.services import requests
from core.services.access import officer_by_email
from tests.conftest import World


def nrn_of(world: World, key: str) -> str:
    with world.app.unit_of_work(readonly=True) as uow:
        person = uow.session.get_one(Collaborator, world.people[key])
        return world.app.vault.decrypt(person.nrn_encrypted)


def submit(world: World, number: str, surname: str, given_names: str,
           external_id: str) -> int:
    with world.app.unit_of_work() as uow:
        request, _created = requests.submit(uow, {
            "external_id": external_id,
            "person": {"surname": surname, "given_names": given_names, "language": "fr",
                       "email": "someone@example.be", "organisation": "BOSA",
                       "national_register_number": number},
            "wants": {"kind": "session", "training_code": "BOSA-101",
                      "session_start": "2027-04-20"}})
        return request.id


def approve(world: World, officer: str, request_id: int, **options: Any) -> str:
    with world.app.unit_of_work() as uow:
        _request, outcome = requests.approve(uow, officer_by_email(uow, officer), request_id,
                                             **options)
        assert outcome is not None
        return outcome.enrollment.collaborator.display_name


def enrollments(world: World) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Enrollment)) or 0


@pytest.mark.parametrize(("surname", "given_names"), [
    ("Dupont", "Marie"), ("DUPONT", "marie"), ("Dupónt", "Marie-Louise"),
    ("dupont", "M"), ("Dupont", "Anne Marie"),
])
def test_the_same_person_under_a_variant_of_the_name_is_approved(
        world: World, surname: str, given_names: str) -> None:
    request_id = submit(world, nrn_of(world, "dupont_marie"), surname, given_names, "web-1")
    assert approve(world, world.officer, request_id) == "Dupont Marie"


def test_another_name_on_a_known_number_stops_the_approval(world: World) -> None:
    request_id = submit(world, nrn_of(world, "dupont_marie"), "Peeters", "Anne", "web-2")
    with pytest.raises(DomainError) as caught:
        approve(world, world.officer, request_id)
    assert caught.value.code == "request_identity_mismatch"
    message = caught.value.message("fr")
    assert "Dupont Marie (BOSA)" in message and "« Peeters Anne »" in message
    assert enrollments(world) == 0
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.get_one(RegistrationRequest, request_id).state == \
            RequestState.PENDING
    assert approve(world, world.officer, request_id, accept_mismatch=True) == "Dupont Marie"
    assert enrollments(world) == 1


def test_the_same_surname_with_another_given_name_is_not_the_same_person(world: World) -> None:
    request_id = submit(world, nrn_of(world, "dupont_marie"), "Dupont", "Jean", "web-3")
    with pytest.raises(DomainError) as caught:
        approve(world, world.officer, request_id)
    assert caught.value.code == "request_identity_mismatch"


def test_a_person_of_another_organisation_is_never_named(world: World) -> None:
    request_id = submit(world, nrn_of(world, "fin_only"), "Dupont", "Anne", "web-4")
    for language in ("fr", "nl", "en", "de"):
        with pytest.raises(DomainError) as caught:
            approve(world, world.officer, request_id)  # Sophie: BOSA only
        message = caught.value.message(language)
        assert caught.value.code == "request_identity_mismatch"
        assert "Dupont Anne" in message and str(request_id) in message
        assert "Vermeulen" not in message and "Katrien" not in message
        assert "FIN" not in message
        assert "Vermeulen" not in repr(caught.value.params)
    with pytest.raises(DomainError) as caught:
        approve(world, world.en_officer, request_id)  # Emma: BOSA and FIN, may know her
    assert "Vermeulen Katrien (FIN)" in caught.value.message("en")


def test_same_person_rules() -> None:
    marie = Collaborator(surname="Van den Bossche", given_names="Marie-Louise Anne")
    for surname, given in (("van den bossche", "marie"), ("Vandenbossche", "Anne"),
                           ("VAN DEN BOSSCHE", "Marie Louise"), ("Van den Bossche", "Mar"),
                           ("Van-den-Bossche", "MARIE-LOUISE ANNE")):
        assert requests.same_person(marie, surname, given), (surname, given)
    for surname, given in (("Van den Bosch", "Marie"), ("Van den Bossche", "Louisa"),
                           ("Bossche", "Marie"), ("Van den Bossche", "Jean")):
        assert not requests.same_person(marie, surname, given), (surname, given)
