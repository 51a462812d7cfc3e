"""Officer access lifecycle: requests, one decision use case (cards, mail replies, CLI), yearly
renewal in one message, reminders 30/7/1 days before the end, sent once, and the gate."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core import clock, nrn
from core.conversation import Engine, Inbound, Reply
from core.models import AccessReminder, AccessRequest, Officer, OutboxMessage, RequestState
from core.services import access, jobs
from mail_gateway import render
from mail_gateway.inbound import process
from tests.conftest import TODAY, World
from tests.integration.test_mail import reply as reply_mail

ADMIN = "admin@ifa.example"


@pytest.fixture
def admin(world: World) -> str:
    with world.app.unit_of_work() as uow:
        access.add_officer(uow, access.NewOfficer(ADMIN, "Ada Admin", nrn.generate(
            random.Random(99)), [], language="fr", roles=("admin",)))
    return ADMIN


def say(world: World, email: str, text: str | None = None, action: str | None = None) -> Reply:
    return Engine(world.app).handle(Inbound("console", email, text=text, action=action))


def ask_access(world: World, language: str = "nl", chat: str | None = None) -> int:
    with world.app.unit_of_work() as uow:
        request, created = access.request_access(uow, access.NewAccessRequest(
            nrn=nrn.generate(random.Random(5), sex="F"), given_names="Ines", surname="Claes",
            email="Ines.Claes@fin.example", function="HR-adviseur", language=language,
            organisations=["FIN"], chat_account=chat))
        assert created
        return request.id


def mails(world: World, template: str) -> list[OutboxMessage]:
    with world.app.unit_of_work(readonly=True) as uow:
        return list(uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.template == template).order_by(OutboxMessage.id)))


def officer(world: World, email: str) -> Officer:
    with world.app.unit_of_work(readonly=True) as uow:
        return access.officer_by_email(uow, email)


def test_a_request_reaches_administrators_and_an_approval_creates_the_officer(
        world: World, admin: str) -> None:
    request_id = ask_access(world)
    to_admin = mails(world, "access_request_new")
    assert [m.to_address for m in to_admin] == [ADMIN] and to_admin[0].context["reply_token"]
    card = say(world, admin, action=f"access-approve:{request_id}")
    assert card.text == (f"Demande d'accès n° {request_id} approuvée : Ines Claes, accès "
                         f"jusqu'au {(TODAY + timedelta(days=365)):%d/%m/%Y}.")
    assert card.replaces is not None and "Approuvée par Ada Admin" in card.replaces.text
    created = officer(world, "ines.claes@fin.example")
    assert [o.code for o in created.organisations] == ["FIN"] and created.language.value == "nl"
    told = mails(world, "access_decided")
    assert told[-1].to_address == "ines.claes@fin.example" and told[-1].context["approved"]
    again = say(world, admin, action=f"access-approve:{request_id}")
    assert "a déjà été approuvée par Ada Admin" in again.text


def test_only_administrators_decide_and_a_refusal_tells_the_reason(world: World,
                                                                   admin: str) -> None:
    request_id = ask_access(world, language="en")
    refused = say(world, world.officer, action=f"access-approve:{request_id}")
    assert "Seuls les administrateurs" in refused.text
    form = say(world, world.officer, action=f"access-refuse-form:{request_id}")
    assert "Seuls les administrateurs" in form.text and form.input is None
    form = say(world, admin, action=f"access-refuse-form:{request_id}")
    assert form.input == "reason" and form.ref == f"access:{request_id}"
    done = say(world, admin, text="pas de mandat", action=f"access-refuse:{request_id}")
    assert done.text == f"Demande d'accès n° {request_id} refusée."
    mail = mails(world, "access_decided")[-1]
    rendered = render.build(_claimed(mail), world.app.settings)
    assert "not accepted (reason: pas de mandat)" in rendered.get_body(("plain",)).get_content()


def _claimed(message: OutboxMessage):  # type: ignore[no-untyped-def]
    from core.services.outbox import Claimed
    return Claimed(id=message.id, channel=message.channel, to=message.to_address,
                   language=message.language.value, template=message.template,
                   subject="", context=message.context, message_id=message.message_id,
                   attempts=0)


def test_a_pending_request_is_not_asked_twice_and_an_officer_cannot_ask(world: World,
                                                                        admin: str) -> None:
    first = ask_access(world)
    with world.app.unit_of_work() as uow:
        again, created = access.request_access(uow, access.NewAccessRequest(
            nrn=nrn.generate(random.Random(5), sex="F"), given_names="Ines", surname="Claes",
            email="other@fin.example", function="x", language="fr", organisations=["FIN"]))
    assert again.id == first and not created
    assert len(mails(world, "access_request_new")) == 1


@pytest.mark.parametrize(("email", "text", "expected"), [
    ("sophie@bosa.example", "renouveler", "Votre demande de renouvellement n° 1 est envoyée"),
    ("pieter@bosa.example", "kan je mijn toegang verlengen?", "Uw verlengingsaanvraag nr. 1"),
    ("emma@bosa.example", "renew", "Your renewal request #1 was sent"),
])
def test_renewal_in_one_message_approved_in_one_click_extends_from_the_end(
        world: World, admin: str, email: str, text: str, expected: str) -> None:
    before = officer(world, email).valid_until
    assert before is not None
    assert expected in say(world, email, text).text
    assert "n° 1" in say(world, email, "renouveler").text  # pending: not a second one
    say(world, admin, action="access-approve:1")
    assert officer(world, email).valid_until == before + timedelta(days=365)


def test_lapsed_access_blocks_everything_but_the_renewal_path(world: World, admin: str) -> None:
    blocked = say(world, world.expired_officer, "places BOSA-101")
    assert "n'est plus valable" in blocked.text and "renouveler" in blocked.text
    assert "renouvellement n° 1" in say(world, world.expired_officer, "renouveler").text
    say(world, admin, action="access-approve:1")
    assert officer(world, world.expired_officer).valid_until == TODAY + timedelta(days=365)
    assert "n'est plus valable" not in say(world, world.expired_officer, "places BOSA-101").text


def test_an_organisation_with_automatic_renewal_renews_at_once(world: World) -> None:
    with world.app.unit_of_work() as uow:
        access.organisation_by_code(uow, "BOSA").auto_renew = True
    before = officer(world, world.officer).valid_until
    assert before is not None
    reply = say(world, world.officer, "renouveler")
    until = before + timedelta(days=365)
    assert reply.text == f"Votre accès est renouvelé jusqu'au {until:%d/%m/%Y}."
    assert not mails(world, "access_request_new")


def test_an_administrator_decides_by_replying_to_the_mail(world: World, admin: str) -> None:
    request_id = ask_access(world)
    token = mails(world, "access_request_new")[0].context["reply_token"]
    raw = reply_mail(world, token, "OK", sender=ADMIN)
    raw = raw.replace(b"Sophie Lambert", b"Ada Admin")
    outcome = process(world.app, raw, via="test")
    assert outcome.reason == "approved", outcome
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.get_one(AccessRequest, request_id).state == RequestState.APPROVED
    answer = mails(world, "reply_done")[-1]
    assert answer.to_address == ADMIN and "approuvée" in answer.context["outcome_text"]
    again = process(world.app, reply_mail(world, token, "OK", sender=ADMIN,
                                          message_id="<r2@ifa.example>"), via="test")
    assert again.reason == "token_used"


def _at(day: date) -> None:
    moment = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    clock.set_clock(lambda: moment)


def test_daily_jobs_across_an_expiry_remind_once_each_then_block(world: World,
                                                                 admin: str) -> None:
    end = TODAY + timedelta(days=40)
    with world.app.unit_of_work() as uow:
        for o in uow.session.scalars(select(Officer)):
            o.valid_until = end if o.email == world.officer else date(2030, 1, 1)
    sent: list[int] = []
    for offset in range(0, 45):
        day = TODAY + timedelta(days=offset)
        _at(day)
        report = jobs.run(world.app, day)
        jobs.run(world.app, day)  # a second run the same day sends nothing
        sent += [r["days"] for r in report.done["access reminders"]]
        sent += [0 for _ in report.done["access expiry"]]
    assert sent == [30, 7, 1, 0]
    with world.app.unit_of_work(readonly=True) as uow:
        assert len(uow.session.scalars(select(AccessReminder)).all()) == 4
    reminders = [m for m in mails(world, "access_reminder") if m.to_address == world.officer]
    assert [m.context["days"] for m in reminders] == [30, 7, 1, 0]
    assert "n'est plus valable" in say(world, world.officer, "places BOSA-101").text
    say(world, world.officer, "renouveler")
    say(world, admin, action="access-approve:1")
    assert officer(world, world.officer).valid_until == clock.today() + timedelta(days=365)


def test_renewal_before_the_end_extends_from_the_current_end(world: World, admin: str) -> None:
    end = TODAY + timedelta(days=6)
    with world.app.unit_of_work() as uow:
        access.officer_by_email(uow, world.officer).valid_until = end
    report = jobs.run(world.app)
    assert {"officer": world.officer, "days": 7} in report.done["access reminders"]
    say(world, world.officer, "renouveler")
    say(world, admin, action="access-approve:1")
    assert officer(world, world.officer).valid_until == end + timedelta(days=365)
    assert jobs.run(world.app).done["access reminders"] == []
