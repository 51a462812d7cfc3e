"""Reply by e-mail end to end: notifications out through the outbox, replies in by three doors.

Real parts: aiosmtpd as the relay sink and as our inbound listener, the Maildir outbox,
the corpus of replies in tests/mail/ written the way real clients quote.
"""

from __future__ import annotations

import random
import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from core import nrn
from core.app import App
from core.models import (
    Collaborator,
    Enrollment,
    EnrollmentState,
    OutboxMessage,
    OutboxState,
    RegistrationRequest,
    RequestState,
)
from core.services import requests
from mail_gateway import delivery, smtp_in
from mail_gateway.inbound import process
from tests.conftest import World
from tests.support.server import free_port
from tests.support.smtp_sink import SmtpSink

CORPUS = Path(__file__).resolve().parents[1] / "mail"
SOPHIE = "sophie@bosa.example"


def submit(world: World, wants_session: bool = True, external_id: str = "web-7") -> int:
    number = nrn.generate(random.Random(42), sex="F")
    wants = ({"kind": "session", "training_code": "BOSA-101", "session_start": "2027-03-12"}
             if wants_session else {"kind": "mailing_list"})
    with world.app.unit_of_work() as uow:
        request, _ = requests.submit(uow, {
            "external_id": external_id, "wants": wants,
            "person": {"surname": "Mertens", "given_names": "Julie", "language": "nl",
                       "email": "julie.mertens@example.be", "organisation": "BOSA",
                       "national_register_number": number}})
        return request.id


def token_of(world: World, email: str, request_id: int) -> str:
    """The token as the officer's notification carries it: only its hash is in reply_tokens."""
    with world.app.unit_of_work(readonly=True) as uow:
        notices = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.to_address == email, OutboxMessage.template == "request_new"))
        return next(m.context["reply_token"] for m in notices
                    if m.context["request_id"] == request_id)


def reply(world: World, token: str, body: str = "OK", sender: str = SOPHIE,
          message_id: str = "<r1@bosa.example>", **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Sophie Lambert <{sender}>"
    mail["To"] = f"reply+{token}@itma.localhost"
    mail["Subject"] = "RE: Nouvelle inscription : Mertens Julie (BOSA)"
    mail["Message-ID"] = message_id
    mail["In-Reply-To"] = f"<{'0' * 16}.{token}@itma.localhost>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body + "\n\n-----Message d'origine-----\nDe : ITMA\n> OK / REFUSER\n")
    return mail.as_bytes()


def outbox(world: World) -> list[OutboxMessage]:
    with world.app.unit_of_work(readonly=True) as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def request_state(world: World, request_id: int) -> RegistrationRequest:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.get_one(RegistrationRequest, request_id)


def maildir_messages(app: App) -> list[EmailMessage]:
    found = sorted((app.settings.maildir / "new").glob("*"))
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in found]  # type: ignore[misc]


def test_officers_are_notified_by_mail_with_a_reply_token(world: World) -> None:
    request_id = submit(world)
    mails = [m for m in outbox(world) if m.template == "request_new"]
    assert sorted(m.to_address for m in mails) == sorted(
        ["sophie@bosa.example", "pieter@bosa.example", "emma@bosa.example"])  # not the expired
    sent, failed = delivery.flush(world.app)
    assert (sent, failed) == (3, 0)
    by_to = {str(m["To"]).split("<")[-1].rstrip(">"): m for m in maildir_messages(world.app)}
    sophie = by_to[SOPHIE]
    token = token_of(world, SOPHIE, request_id)
    assert sophie["Reply-To"] == f"reply+{token}@itma.localhost"
    assert token in sophie["Message-ID"]
    assert sophie["Auto-Submitted"] == "auto-generated"
    assert sophie["X-Auto-Response-Suppress"] == "All"
    assert sophie["Subject"] == "Nouvelle inscription : Mertens Julie (BOSA)"
    text = sophie.get_body(preferencelist=("plain",)).get_content()
    assert "OK" in text and "REFUSER" in text.upper() and "Mertens" in text
    html = sophie.get_body(preferencelist=("html",)).get_content()
    assert "<html" in html.lower()
    assert by_to["pieter@bosa.example"]["Subject"].startswith("Nieuwe inschrijving")
    assert delivery.flush(world.app) == (0, 0)  # nothing twice
    assert all(m.state == OutboxState.SENT for m in outbox(world))


def test_reply_ok_enrolls_and_the_participant_gets_an_invitation(world: World) -> None:
    request_id = submit(world)
    token = token_of(world, SOPHIE, request_id)
    outcome = process(world.app, reply(world, token, "OK merci"), via="pipe")
    assert outcome.reason == "approved", outcome
    assert request_state(world, request_id).state == RequestState.APPROVED
    with world.app.unit_of_work(readonly=True) as uow:
        person = uow.session.scalars(select(Collaborator).where(
            Collaborator.surname == "Mertens")).one()
        enrolled = uow.session.scalars(select(Enrollment).where(
            Enrollment.collaborator_id == person.id)).one()
    assert enrolled.state == EnrollmentState.ENROLLED
    delivery.flush(world.app)
    by_template = {m.template: m for m in outbox(world)}
    assert by_template["reply_done"].to_address == SOPHIE
    confirmation = next(m for m in maildir_messages(world.app)
                        if "julie.mertens@example.be" in str(m["To"]))
    assert confirmation["Subject"].startswith("Inschrijving bevestigd") or \
        "BOSA-101" in confirmation["Subject"]
    ics = next(part for part in confirmation.iter_attachments()
               if part.get_content_type() == "text/calendar")
    content = ics.get_content()
    assert "METHOD:REQUEST" in content and "UID:enrollment-" in content
    assert process(world.app, reply(world, token, "OK"), via="pipe").reason == "duplicate"
    again = reply(world, token, "OK", message_id="<r2@bosa.example>")
    assert process(world.app, again, via="pipe").reason == "token_used"


def test_refuse_with_reason_and_decided_elsewhere(world: World) -> None:
    request_id = submit(world, wants_session=False)
    sophie = token_of(world, SOPHIE, request_id)
    emma = token_of(world, "emma@bosa.example", request_id)
    outcome = process(world.app, reply(world, sophie, "REFUSER : pas de budget cette année"),
                      via="pipe")
    assert outcome.reason == "refused"
    state = request_state(world, request_id)
    assert state.state == RequestState.REFUSED and state.reason == "pas de budget cette année"
    refused_mail = [m for m in outbox(world) if m.template == "request_refused"]
    assert refused_mail[0].to_address == "julie.mertens@example.be"
    late = reply(world, emma, "yes", sender="emma@bosa.example", message_id="<e1@bosa.example>")
    assert process(world.app, late, via="pipe").reason == "already_decided"
    answer = next(m for m in outbox(world) if m.template == "reply_already_decided")
    assert answer.to_address == "emma@bosa.example"
    assert answer.context["decided_by"] == "Sophie Lambert"


def test_forged_sender_unknown_token_and_help_are_handled_without_change(world: World) -> None:
    request_id = submit(world)
    token = token_of(world, SOPHIE, request_id)
    forged = reply(world, token, "OK", sender="mallory@example.be")
    assert process(world.app, forged, via="pipe").reason == "sender_not_token_owner"
    assert request_state(world, request_id).state == RequestState.PENDING
    unknown = reply(world, "a" * 26, "OK", message_id="<u1@bosa.example>")
    assert process(world.app, unknown, via="pipe").reason == "token_unknown"
    for n in range(3):
        puzzled = reply(world, token, "Qui est cette personne ?", message_id=f"<q{n}@b.example>")
        assert process(world.app, puzzled, via="pipe").reason == "not_understood"
    helps = [m for m in outbox(world) if m.template == "reply_help"]
    assert len(helps) == 1  # rate-limited: one help answer per sender and day
    assert request_state(world, request_id).state == RequestState.PENDING


@pytest.mark.parametrize(("headers", "reason"), [
    ({"Auto_Submitted": "auto-replied"}, "automatic"),
    ({"X_Autoreply": "yes"}, "automatic"),
    ({"Precedence": "bulk"}, "automatic"),
    ({"List_Id": "<staff.example.be>"}, "automatic"),
    ({"Subject": "Réponse automatique : Absent du bureau"}, "automatic"),
])
def test_automatic_mail_is_never_acted_upon_nor_answered(world: World, headers: dict[str, str],
                                                        reason: str) -> None:
    request_id = submit(world)
    token = token_of(world, SOPHIE, request_id)
    raw = reply(world, token, "OK")
    message = message_from_bytes(raw, policy=policy.default)
    for name, value in headers.items():
        del message[name.replace("_", "-")]
        message[name.replace("_", "-")] = value
    before = len(outbox(world))
    assert process(world.app, message.as_bytes(), via="pipe").reason == reason
    assert len(outbox(world)) == before
    assert request_state(world, request_id).state == RequestState.PENDING


def test_our_own_mail_looping_back_is_ignored(world: World) -> None:
    request_id = submit(world)
    delivery.flush(world.app)
    own = next(p for p in (world.app.settings.maildir / "new").glob("*"))
    message = message_from_bytes(own.read_bytes(), policy=policy.default)
    del message["Auto-Submitted"]
    del message["To"]
    message["To"] = message["Reply-To"]  # a forwarding rule sends our own mail back to us
    del message["From"]
    message["From"] = "ITMA <formation@itma.localhost>"  # a sender configured without noreply
    assert process(world.app, message.as_bytes(), via="pipe").reason == "own_mail_loop"
    assert request_state(world, request_id).state == RequestState.PENDING


def test_smtp_door_rejects_unknown_recipients_and_acts_on_replies(world: World) -> None:
    request_id = submit(world)
    token = token_of(world, SOPHIE, request_id)
    port = free_port()
    controller = smtp_in.controller(world.app, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("bosa.example")
            code, _ = client.docmd("MAIL FROM:<sophie@bosa.example>")
            assert code == 250
            code, _ = client.docmd("RCPT TO:<someone@itma.localhost>")
            assert code == 550
            client.rset()
            refused = client.sendmail(SOPHIE, [f"reply+{token}@itma.localhost"],
                                      reply(world, token, "Ja"))
            assert refused == {}
    finally:
        controller.stop()
    assert request_state(world, request_id).state == RequestState.APPROVED


def test_relay_delivery_headers_bounce_address_and_retry(world: World) -> None:
    sink = SmtpSink().start()
    try:
        submit(world, wants_session=False)
        settings = world.app.settings
        relay_app = App(type(settings)(**{**settings.__dict__, "smtp_relay": sink.url}))
        try:
            sink.refuse_next = 1
            deliverer = delivery.Deliverer(relay_app.settings)
            sent, failed = delivery.flush(relay_app, deliverer)
            assert failed == 1 and sent == 2
            with relay_app.unit_of_work() as uow:  # the deferred one is due again
                for m in uow.session.scalars(select(OutboxMessage)):
                    m.next_attempt_at = m.created_at
            assert delivery.flush(relay_app, deliverer) == (1, 0)
        finally:
            relay_app.close()
    finally:
        sink.stop()
    ids = sink.message_ids()
    assert sorted(ids) == sorted(m.message_id for m in outbox(world))
    assert {r.sender for r in sink.received} == {"bounces@itma.localhost"}


def test_unenroll_sends_a_calendar_cancellation_with_the_same_uid(world: World) -> None:
    from core.services import enrollment
    from core.services.access import officer_by_email

    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, SOPHIE)
        outcome = enrollment.enroll(uow, officer, world.people["peeters"],
                                    world.sessions["BOSA-101/a"])
        enrollment.unenroll(uow, officer, outcome.enrollment.id)
    delivery.flush(world.app)
    calendars = {}
    for message in maildir_messages(world.app):
        for part in message.iter_attachments():
            if part.get_content_type() == "text/calendar":
                text = part.get_content()
                method = "CANCEL" if "METHOD:CANCEL" in text else "REQUEST"
                uid = next(line for line in text.splitlines() if line.startswith("UID:"))
                calendars[method] = uid
    assert calendars["REQUEST"] == calendars["CANCEL"]
