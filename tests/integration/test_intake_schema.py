"""The intake schema: only the documented shape is stored, and stored rows of any shape are
read defensively (listings, cards, mails and decisions never fail on one)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select

from core.errors import DomainError
from core.models import OutboxMessage, RegistrationRequest, RequestState
from core.services import intake, requests
from core.services.access import officer_by_email
from mail_gateway import render
from tests.conftest import World

NRN = "85073003328"
VALID: dict[str, Any] = {
    "external_id": "web-2026-000123",
    "person": {"surname": "Dupont", "given_names": "Marie", "email": "marie.dupont@example.be",
               "national_register_number": NRN, "language": "fr", "organisation": "BOSA"},
    "wants": {"kind": "session", "training_code": "BOSA-101", "session_start": "2027-03-12"}}


def changed(path: str, value: Any) -> dict[str, Any]:
    """VALID with one value replaced (or removed, for value=...)."""
    payload = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = payload
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return payload


def errors_of(payload: Any) -> dict[str, str]:
    with pytest.raises(intake.InvalidRequest) as caught:
        intake.parse(payload)
    return {e.field: e.reason for e in caught.value.errors}


BAD: list[tuple[str, Any, str]] = [
    ("wants.session_start", 20270311, "wants.session_start"),
    ("wants.session_start", "20270311", "wants.session_start"),
    ("wants.session_start", "2027-02-30", "wants.session_start"),
    ("wants.session_start", "2027-03-12T00:00", "wants.session_start"),
    ("wants.session_start", None, "wants.session_start"),
    ("wants.session_start", ..., "wants.session_start"),
    ("wants.training_code", "BOSA 101; DROP", "wants.training_code"),
    ("wants.training_code", ["BOSA-101"], "wants.training_code"),
    ("wants.title", "Formation officielle", "wants.title"),
    ("wants.place", "https://evil.example", "wants.place"),
    ("wants.kind", "course", "wants.kind"),
    ("wants.kind", ..., "wants.kind"),
    ("wants", "session", "wants"),
    ("person.surname", "Dupont\r\nBcc: x@evil.example", "person.surname"),
    ("person.surname", "Dupont\n", "person.surname"),
    ("person.surname", "Du\x00pont", "person.surname"),
    ("person.surname", "Du\x85pont", "person.surname"),
    ("person.surname", "Dupont\u202etxt.exe", "person.surname"),
    ("person.surname", "Dupont\u2028", "person.surname"),
    ("person.surname", "x" * 101, "person.surname"),
    ("person.surname", "   ", "person.surname"),
    ("person.surname", 42, "person.surname"),
    ("person.given_names", {"first": "Marie"}, "person.given_names"),
    ("person.given_names", ..., "person.given_names"),
    ("person.email", "marie.dupont", "person.email"),
    ("person.email", "marie@dupont", "person.email"),
    ("person.email", "marie dupont@example.be", "person.email"),
    ("person.email", "<marie@example.be>", "person.email"),
    ("person.email", "marie@example.be\r\nBcc: x@evil.example", "person.email"),
    ("person.email", "m" * 65 + "@example.be", "person.email"),
    ("person.email", "m@" + "e" * 250 + ".be", "person.email"),
    ("person.language", "es", "person.language"),
    ("person.language", "FR", "person.language"),
    ("person.national_register_number", "12345678901", "person.national_register_number"),
    ("person.national_register_number", 85073003328, "person.national_register_number"),
    ("person.organisation", "BOSA\n", "person.organisation"),
    ("person.organisation", "B" * 21, "person.organisation"),
    ("person.nickname", "Mimi", "person.nickname"),
    ("external_id", 123, "external_id"),
    ("external_id", "x" * 101, "external_id"),
    ("external_id", "web-1\n", "external_id"),
    ("admin", True, "admin"),
]


@pytest.mark.parametrize(("path", "value", "field"), BAD,
                         ids=[f"{p}={v!r}"[:60] for p, v, _f in BAD])
def test_each_departure_from_the_schema_is_a_field_error(path: str, value: Any,
                                                         field: str) -> None:
    found = errors_of(changed(path, value))
    assert list(found) == [field], found
    assert NRN not in json.dumps(found) and "12345678901" not in json.dumps(found)


def test_every_error_is_listed_at_once_and_non_objects_are_refused() -> None:
    found = errors_of({"person": {"surname": ""}, "wants": {"kind": "course"}, "x": 1})
    assert {"person.surname", "person.given_names", "person.email", "person.language",
            "person.organisation", "wants.kind", "x"} == set(found)
    assert errors_of([VALID]) == {"body": "expected a JSON object"}
    assert errors_of({"person": "Dupont", "wants": []}) == {
        "person": "expected an object", "wants": "expected an object"}
    assert set(errors_of(changed("wants", {"kind": "mailing_list",
                                           "training_code": "BOSA-101"}))) == {
        "wants.training_code"}


def test_valid_requests_are_kept_as_documented_and_nothing_more() -> None:
    registration = intake.parse(changed("wants.training_code", "bosa-101"))
    assert registration.wants_record() == {"kind": "session", "training_code": "BOSA-101",
                                           "session_start": "2027-03-12"}
    assert registration.person_record() == {
        "surname": "Dupont", "given_names": "Marie", "email": "marie.dupont@example.be",
        "language": "fr", "organisation": "BOSA"}
    for blank in (None, "", "  "):
        assert intake.parse(changed("person.national_register_number", blank)) \
            .person.national_register_number is None
    assert intake.parse(changed("person.national_register_number", ...)) \
        .person.national_register_number is None
    assert intake.parse(changed("person.national_register_number", "85.07.30-033.28")) \
        .person.national_register_number == NRN
    listing = changed("wants", {"kind": "mailing_list"})
    assert intake.parse(listing).wants_record() == {"kind": "mailing_list"}
    unusual = changed("person.surname", "<!channel> <https://evil.example|Cliquez ici>")
    assert intake.parse(unusual).person.surname.startswith("<!channel>")  # escaped on display
    assert intake.parse(changed("person.given_names", "Zoë-Anaïs  ")).person.given_names == \
        "Zoë-Anaïs"
    assert intake.parse(changed("person.email", "o'brien+itma@sub.example.co.uk"))


def submit(world: World, payload: dict[str, Any]) -> int:
    with world.app.unit_of_work() as uow:
        request, _created = requests.submit(uow, payload)
        return request.id


def test_submit_refuses_what_the_schema_refuses_and_stores_nothing(world: World) -> None:
    with world.app.unit_of_work() as uow, pytest.raises(intake.InvalidRequest) as caught:
        requests.submit(uow, changed("wants.session_start", 20270311))
    assert [e.field for e in caught.value.errors] == ["wants.session_start"]
    assert isinstance(caught.value, requests.InvalidRequest)
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalars(select(RegistrationRequest)).first() is None


def test_officers_read_titles_and_places_from_the_catalogue(world: World) -> None:
    request_id = submit(world, VALID)
    with world.app.unit_of_work(readonly=True) as uow:
        stored = uow.session.get_one(RegistrationRequest, request_id)
        assert stored.wants == VALID["wants"]
        assert "national_register_number" not in stored.person
        mails = {m.language: m.context for m in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "request_new",
                                        OutboxMessage.channel == "mail"))}
    assert mails["fr"]["wants"]["title"] == "Gestion du temps"
    assert mails["nl"]["wants"]["title"] == "Timemanagement"
    assert mails["fr"]["wants"]["place"] == "Bruxelles"


def malformed_row(world: World) -> int:
    """A row as an older version (no schema) could have stored it."""
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        row = RegistrationRequest(
            external_id="stored-before-the-schema",
            organisation=officer.organisations[0],
            person={"surname": "Dupont\r\nBcc: x@evil.example", "given_names": 7,
                    "email": "marie.dupont@example.be", "language": "fr"},
            wants={"kind": "session", "training_code": "BOSA-101",
                   "session_start": 20270311, "title": "Formation officielle",
                   "place": "https://evil.example"})
        uow.session.add(row)
        uow.session.flush()
        return row.id


def test_malformed_stored_rows_are_read_defensively(world: World) -> None:
    request_id = malformed_row(world)
    with world.app.unit_of_work() as uow:
        row = uow.session.get_one(RegistrationRequest, request_id)
        assert requests.wanted(row) == requests.Wanted("session", "BOSA-101", None)
        assert requests.wanted_session_start(row) is None
        assert not requests.wanted(row).complete
        assert requests.typed_person(row)["surname"] == "Dupont Bcc: x@evil.example"
        assert requests.typed_person(row)["given_names"] == ""
        context = requests.card_context(uow, row, "fr")
        assert context["wants"] == {"kind": "session", "training_code": "BOSA-101",
                                    "session_start": None, "title": "Gestion du temps",
                                    "place": None}
        assert requests.notify_officers(uow, row) >= 1
        subjects = [render.subject(m.template, m.language.value, m.context)
                    for m in uow.session.scalars(select(OutboxMessage))
                    if m.channel == "mail"]
        assert subjects and all("\n" not in s and "\r" not in s for s in subjects)
        requests.as_json(row)
    for wants in ({"kind": 3}, {}, {"kind": "session", "training_code": None},
                  {"kind": "session", "training_code": "BOSA-101", "session_start": "x"}):
        row = RegistrationRequest(wants=wants, person={})
        assert not requests.wanted(row).complete
        assert requests.wanted(row).session_start is None


def test_a_malformed_request_can_be_refused_but_not_approved(world: World) -> None:
    request_id = malformed_row(world)
    with world.app.unit_of_work() as uow, pytest.raises(DomainError) as caught:
        requests.approve(uow, officer_by_email(uow, world.officer), request_id)
    assert caught.value.code == "request_malformed"
    assert f"{request_id}" in caught.value.message("fr")
    with world.app.unit_of_work() as uow:
        requests.refuse(uow, officer_by_email(uow, world.officer), request_id, "incomplet")
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.get_one(RegistrationRequest, request_id).state == \
            RequestState.REFUSED
        [mail] = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.template == "request_refused"))
        assert mail.context["wants"]["title"] == "Gestion du temps"
        assert "Formation officielle" not in json.dumps(mail.context)
        assert mail.context["wants"]["session_start"] is None
