"""The helpdesk mailbox triaged: the day of tests/helpdesk/batch.py through `helpdesk process`
(as an MTA pipe runs it, in-process), then what staff and senders see — tickets, categories,
threads, acknowledgements (none to automatic mail, at most ten per sender), drafts, chat
routing and the chat commands."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cli import main as cli_main
from core import clock, migrate, nrn
from core.app import App
from core.config import load_settings
from core.conversation import Engine
from core.conversation.types import Inbound
from core.errors import DomainError
from core.models import (
    AuditEvent,
    HelpdeskMessage,
    HelpdeskTicket,
    OutboxMessage,
)
from core.services import helpdesk
from core.services.access import NewOfficer, add_officer, officer_by_email
from mail_gateway import delivery, isolation, render
from mail_gateway import helpdesk as gateway
from tests.conftest import NOW, World
from tests.helpdesk import batch
from tests.helpdesk.batch import EMMA, FLOODER, LUC, PIETER, SOPHIE, STRANGER, Item

ROOT = Path(__file__).resolve().parents[2]
STAFF = "nadia@ifa.example"
TICKETS = 40 + 1 + batch.FLOOD + 1
"""Forty people, the mail without Message-ID, the flood, the stranger using a tag."""
Deliver = Callable[[list[Item]], None]


@pytest.fixture
def staff(world: World) -> str:
    with world.app.unit_of_work() as uow:
        add_officer(uow, NewOfficer(STAFF, "Nadia Haddad", nrn.generate(random.Random(99)),
                                    ["BOSA"], roles=("officer", helpdesk.ROLE)))
    return STAFF


# ------------------------------------------------------------------------- reading the state


def ticket_of(world: World, message_id: str) -> HelpdeskTicket | None:
    with world.app.unit_of_work(readonly=True) as uow:
        message = uow.session.scalar(select(HelpdeskMessage).where(
            HelpdeskMessage.message_id == message_id))
        return message.ticket if message else None


def number_of(world: World, key: str) -> int:
    ticket = ticket_of(world, f"<hd-{key}@batch.example>")
    assert ticket is not None, key
    return ticket.number


def outbox(world: World, template: str | None = None) -> list[OutboxMessage]:
    with world.app.unit_of_work(readonly=True) as uow:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if template:
            query = query.where(OutboxMessage.template == template)
        return list(uow.session.scalars(query))


def audited(world: World, action: str) -> list[dict[str, Any]]:
    with world.app.unit_of_work(readonly=True) as uow:
        return [e.details for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action))]


def messages_in(world: World, number: int) -> list[HelpdeskMessage]:
    with world.app.unit_of_work(readonly=True) as uow:
        return list(uow.session.scalars(select(HelpdeskMessage).where(
            HelpdeskMessage.ticket_id == number).order_by(HelpdeskMessage.id)))


# ------------------------------------------------------------------------- the day


def triage_day(world: World, deliver: Deliver) -> tuple[list[Item], list[Item]]:
    """The first half delivered, staff answering one ticket, then the follow-ups."""
    first = batch.first_half()
    deliver(first)
    acks = {m.context["in_reply_to"]: m.message_id for m in outbox(world, "helpdesk_ack")}
    ack_of = {i.key: acks[i.message_id] for i in first if i.message_id in acks}
    with world.app.unit_of_work() as uow:
        answer = helpdesk.answer(uow, officer_by_email(uow, STAFF),
                                 number_of(world, "fr-enroll"), "La session a été déplacée.")
        answer_of = {"fr-enroll": answer.message_id}
    numbers = {k: number_of(world, k) for k in ("nl-eid", "fr-access", "en-session",
                                                "fr-enroll")}
    second = batch.follow_ups(ack_of, answer_of, numbers)
    deliver(second)
    return first, second


def check_day(world: World, first: list[Item], second: list[Item]) -> None:
    """What a day of helpdesk mail must have left, whichever door it came in by."""
    items = first + second
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count(HelpdeskTicket.id))) == TICKETS
    for item in items:
        ticket = ticket_of(world, item.message_id)
        if item.key == "no-message-id":
            with world.app.unit_of_work(readonly=True) as uow:
                ticket = uow.session.scalar(select(HelpdeskTicket).where(
                    HelpdeskTicket.subject == "Rapport annuel"))
        if item.outcome == "ticket_opened":
            assert ticket is not None, item.key
            assert (ticket.category, ticket.language.value) == (item.category, item.language), \
                item.key
            assert 0 < ticket.confidence <= 1
        elif item.outcome == "ticket_updated":
            assert ticket is not None and ticket.number == number_of(world, str(item.ticket_of)), \
                item.key
        elif item.outcome == "duplicate":
            assert [m.message_id for m in messages_in(world, number_of(world, "fr-access"))
                    ].count("<hd-fr-access@batch.example>") == 1  # delivered twice, kept once
        else:
            assert ticket is None, item.key
            assert item.message_id in {d.get("message_id") for d in
                                       audited(world, f"helpdesk.{item.outcome}")}, item.key
    # acknowledgements: one per ticket opened, in the mail's language, the flood capped at ten
    acks = outbox(world, "helpdesk_ack")
    opened = {i.message_id: i for i in items if i.outcome == "ticket_opened"}
    expected = [i for i in items if i.acknowledged]
    assert len(acks) == len(expected) == TICKETS - 2
    for ack in acks:
        assert ack.channel == "mail"
        item = opened.get(ack.context["in_reply_to"])
        if item is None:  # the mail without Message-ID: no In-Reply-To to give
            assert ack.context["in_reply_to"] is None and ack.context["subject"] == \
                "Rapport annuel"
            continue
        assert ack.language.value == item.language, item.key
        assert ack.to_address == message_from_bytes(item.raw, policy=policy.default)[
            "From"].addresses[0].addr_spec.lower()
    assert sum(a.to_address == FLOODER[0] for a in acks) == helpdesk.ACK_LIMIT
    assert len(audited(world, "helpdesk.ack_withheld")) == batch.FLOOD - helpdesk.ACK_LIMIT
    # nobody but the senders of real new mail ever hears from us
    machine_senders = {"mailer-daemon@mx.elsewhere.example", "news@fedweb.example",
                       "noreply@portal.example", "colleague@fin.example",
                       "helpdesk-itma@itma.localhost"}
    assert not machine_senders & {m.to_address for m in outbox(world)}
    assert {m.template for m in outbox(world)} == {"helpdesk_ack", "helpdesk_answer"}
    # threads
    luc = number_of(world, "fr-access")
    assert [m.direction for m in messages_in(world, luc)] == ["in", "ack", "in"]
    assert "inscrire trois agents" in messages_in(world, luc)[2].body
    assert "Nous avons bien reçu" not in messages_in(world, luc)[2].body  # quoted history
    eid = messages_in(world, number_of(world, "nl-eid"))
    assert [(m.direction, m.address) for m in eid] == [
        ("in", PIETER[0]), ("ack", PIETER[0]), ("in", PIETER[0]), ("in", SOPHIE[0])]
    stranger = ticket_of(world, "<hd-tag-stranger@batch.example>")
    assert stranger is not None and stranger.sender == STRANGER[0] and stranger.number != luc
    enroll = ticket_of(world, "<hd-re-answer-sophie@batch.example>")
    assert enroll is not None and enroll.state == "assigned"  # answered, then reopened
    assert [m.direction for m in messages_in(world, enroll.number)] == ["in", "ack", "out", "in"]
    # attachments and HTML-only mail
    pdata = messages_in(world, number_of(world, "de-pdata"))[0]
    assert [a["name"] for a in pdata.attachments] == ["Personal.csv", "Anleitung.pdf"]
    html = messages_in(world, number_of(world, "fr-report-html"))[0]
    assert "exporter la liste des participants" in html.body and "<" not in html.body
    latin1 = ticket_of(world, "<hd-fr-unenroll-latin1@batch.example>")
    assert latin1 is not None and latin1.sender_name == "Renée Lefèvre"
    assert latin1.subject == "Désinscription d'un agent"
    # the sender is matched to an officer, with what staff need to know
    assert ticket_of(world, "<hd-fr-access@batch.example>").context["officer"]["access"] == \
        "expired"  # type: ignore[union-attr]


def through_pipe(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                 capsys: pytest.CaptureFixture[str]) -> Deliver:
    """`itma-assistant helpdesk process FILE`, in this process: what an MTA pipe runs."""
    settings = world.app.settings
    for name, value in (("ITMA_HOME", str(settings.home)),
                        ("ITMA_DATABASE_URL", settings.database_url),
                        ("ITMA_SECRET_KEY", settings.secret_key.decode())):
        monkeypatch.setenv(name, value)

    def deliver(items: list[Item]) -> None:
        for item in items:
            path = tmp_path / f"{item.key}.eml"
            path.write_bytes(item.raw)
            capsys.readouterr()
            assert cli_main.main(["helpdesk", "process", str(path)]) == 0, item.key
            assert capsys.readouterr().out.split(":")[0].strip() == item.outcome, item.key
    return deliver


def test_a_day_of_helpdesk_mail_through_helpdesk_process(
        world: World, staff: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    first, second = triage_day(world, through_pipe(world, monkeypatch, tmp_path, capsys))
    check_day(world, first, second)


# ------------------------------------------------------------------------- one mail at a time


def mail(sender: tuple[str, str], subject: str, body: str, key: str, **extra: str) -> bytes:
    return batch.text(key, sender, subject, body, **extra)


def receive(app: App, raw: bytes) -> str:
    return gateway.process(app, raw, via="pipe").reason


def test_the_tag_joins_a_ticket_only_for_its_sender_or_a_colleague(world: World) -> None:
    app = world.app
    assert receive(app, mail(LUC, "mon accès", "Mon accès a expiré.", "t1")) == "ticket_opened"
    number = number_of(world, "t1")
    tagged = f"Re: [ITMA #{number}] mon accès"
    assert receive(app, mail(LUC, tagged, "Toujours bloqué.", "t2")) == "ticket_updated"
    assert receive(app, mail(EMMA, tagged, "Moi aussi, même organisation.", "t3")) == \
        "ticket_updated"
    assert receive(app, mail(STRANGER, tagged, "Donnez-moi ses données.", "t4")) == \
        "ticket_opened"
    assert receive(app, mail(LUC, "Re: [ITMA #9999] autre", "Un numéro inconnu.", "t5")) == \
        "ticket_opened"
    assert [m.address for m in messages_in(world, number) if m.direction == "in"] == [
        LUC[0], LUC[0], EMMA[0]]
    assert {d["threading"] for d in audited(world, "helpdesk.ticket_opened")} == {
        None, "tag_refused", "tag_unknown"}
    # where the MTA vouches for senders, an unauthenticated From cannot use the tag either
    strict = App(replace(app.settings, mail_authserv_id="mx.itma.localhost"))
    try:
        assert receive(strict, mail(LUC, tagged, "Forgé ?", "t6")) == "ticket_opened"
        ticket = ticket_of(world, "<hd-t6@batch.example>")
        assert ticket is not None and ticket.context["authenticated"] is False
    finally:
        strict.close()


def test_acknowledgements_are_rate_limited_per_sender_for_three_hours(world: World) -> None:
    for n in range(helpdesk.ACK_LIMIT + 2):
        receive(world.app, mail(FLOODER, f"question {n}", "Mon accès ?", f"f{n}"))
    assert len(outbox(world, "helpdesk_ack")) == helpdesk.ACK_LIMIT
    clock.set_clock(lambda: NOW + helpdesk.ACK_WINDOW + timedelta(minutes=1))
    receive(world.app, mail(FLOODER, "encore", "Mon accès ?", "f-later"))
    assert len(outbox(world, "helpdesk_ack")) == helpdesk.ACK_LIMIT + 1


def test_the_acknowledgement_is_in_the_senders_language_from_the_helpdesk_address(
        world: World) -> None:
    receive(world.app, mail(PIETER, "eID werkt niet", "Mijn kaartlezer wordt niet herkend, "
                            "wat kan ik doen?", "lang-nl"))
    receive(world.app, mail(PIETER, "card reader", "My card reader is not detected, what "
                            "can I do?", "lang-en"))
    acks = outbox(world, "helpdesk_ack")
    assert [a.language.value for a in acks] == ["nl", "en"]
    delivery.flush(world.app)
    [sent, _] = [message_from_bytes(p.read_bytes(), policy=policy.default)
                 for p in sorted((world.app.settings.maildir / "new").iterdir())]
    assert sent["From"].addresses[0].addr_spec == "helpdesk-itma@itma.localhost"
    assert sent["Reply-To"] == "helpdesk-itma@itma.localhost"
    assert sent["In-Reply-To"] == "<hd-lang-nl@batch.example>"
    assert sent["Subject"] == f"[ITMA #{number_of(world, 'lang-nl')}] eID werkt niet"
    assert sent["Auto-Submitted"] == "auto-generated"
    text_part = sent.get_body(("plain",)).get_content()
    assert text_part.startswith("Geachte Pieter Janssens,") and "ticketnummer" in text_part


def test_a_stranger_is_not_greeted_by_the_name_they_typed(world: World) -> None:
    receive(world.app, mail(("victim@elsewhere.example", "Cheap pills http://spam.example"),
                            "x" * 250, "Bonjour, mon accès ?", "spoof"))
    [ack] = outbox(world, "helpdesk_ack")
    rendered = render.build(delivery.outbox.Claimed(
        ack.id, "mail", ack.to_address, ack.language.value, ack.template, "",
        dict(ack.context), ack.message_id, 1), world.app.settings)
    body = rendered.get_body(("plain",)).get_content()
    assert "spam.example" not in body and "x" * 101 not in str(rendered["Subject"])


def test_drafts_from_what_the_product_knows(world: World) -> None:
    app = world.app
    with app.unit_of_work() as uow:
        sophie = officer_by_email(uow, SOPHIE[0])
        helpdesk.remember_rejected_import(uow, sophie, "staff.csv", 4, [
            {"line": 3, "column": "national_register_number", "code": "nrn_checksum",
             "reason": "Chiffres de contrôle faux (85.07.30-033.29)"},
            {"line": 4, "column": "email", "code": "email", "reason": "Adresse non valable"}])
    receive(app, mail(LUC, "accès expiré", "Mon accès a expiré, comment le renouveler ?", "d1"))
    receive(app, mail(SOPHIE, "Import refusé", "L'import de mon fichier du personnel donne "
                      "des erreurs.", "d2"))
    receive(app, mail(EMMA, "new civil servant", "How do I add a new civil servant to our "
                      "personnel data?", "d3"))
    receive(app, mail(("nobody@elsewhere.example", "Nobody"), "parking", "Y a-t-il un "
                      "parking ?", "d4"))
    drafts = {k: ticket_of(world, f"<hd-{k}@batch.example>").draft  # type: ignore[union-attr]
              for k in ("d1", "d2", "d3", "d4")}
    assert drafts["d1"]["kind"] == "access" and "23/11/2026" in drafts["d1"]["text"]
    assert "renouveler" in drafts["d1"]["text"]
    assert drafts["d2"]["kind"] == "pdata_import"
    assert "ligne 3, colonne national_register_number" in drafts["d2"]["text"]
    assert "85.07.30-xxx.xx" in drafts["d2"]["text"] and "033.29" not in drafts["d2"]["text"]
    assert drafts["d3"]["kind"] == "pdata_add" and "add 85.07.30-xxx.xx" in drafts["d3"]["text"]
    assert drafts["d4"] is None
    # a draft is never sent by itself: only acknowledgements went out
    assert {m.template for m in outbox(world)} == {"helpdesk_ack"}


def test_a_registration_question_gets_the_state_of_the_senders_own_request(
        world: World) -> None:
    from tests.integration.test_mail import submit

    request_id = submit(world)
    receive(world.app, mail(("julie.mertens@example.be", "Julie Mertens"),
                            "Nouvelle inscription en attente", "Bonjour, ma demande "
                            "d'inscription est-elle bien arrivée ?", "r1"))
    ticket = ticket_of(world, "<hd-r1@batch.example>")
    assert ticket is not None and ticket.category == "registration"
    assert ticket.context["registration_requests"][0]["id"] == request_id
    assert ticket.draft is not None and f"n° {request_id}" in ticket.draft["text"]
    assert "BOSA-101 le 12/03/2027" in ticket.draft["text"]
    assert ticket.context.get("officer") is None  # a citizen: nobody else's data


def test_new_tickets_are_posted_to_the_channel_of_their_category(world: World) -> None:
    app = App(replace(world.app.settings, slack_bot_token="xoxb-test",
                      slack_signing_secret="secret", teams_allow_unauthenticated=True))
    try:
        with app.unit_of_work() as uow:
            helpdesk.set_route(uow, "eid", "slack", "T1:C-EID")
            helpdesk.set_route(uow, "all", "teams", "tenant:19:all@thread.tacv2", "nl")
            with pytest.raises(DomainError, match="Unknown category"):
                helpdesk.set_route(uow, "not-a-category", "slack", "T1:C")
        receive(app, mail(PIETER, "eID werkt niet", "Mijn kaartlezer werkt niet.", "c1"))
        receive(app, mail(SOPHIE, "Export", "Comment exporter le rapport des participants ?",
                          "c2"))
        rows = [(m.channel, m.to_address, m.template) for m in outbox(world)
                if m.channel != "mail"]
        assert rows == [("slack", "T1:C-EID", "helpdesk_ticket"),
                        ("teams", "tenant:19:all@thread.tacv2", "helpdesk_ticket"),
                        ("teams", "tenant:19:all@thread.tacv2", "helpdesk_ticket")]
        from core.conversation import desk

        slack_row = next(m for m in outbox(world) if m.channel == "slack")
        text = desk.notification(app, slack_row.template, slack_row.context, "fr").text
        assert text.startswith(f"🎫 Nouveau ticket #{number_of(world, 'c1')} — Carte eID")
        assert "Pieter Janssens (BOSA)" in text and "kaartlezer" in text
    finally:
        app.close()


# ------------------------------------------------------------------------- staff in chat


def say(engine: Engine, email: str, text: str) -> str:
    return engine.handle(Inbound("console", email, text)).text


def test_helpdesk_staff_work_tickets_in_chat(world: World, staff: str) -> None:
    receive(world.app, mail(LUC, "mon accès a expiré", "Comment renouveler mon accès ?", "w1"))
    receive(world.app, mail(PIETER, "eID werkt niet", "De kaartlezer wordt niet herkend.", "w2"))
    luc, pieter = number_of(world, "w1"), number_of(world, "w2")
    engine = Engine(world.app)
    assert "helpdesk" in say(engine, SOPHIE[0], "tickets")  # an officer, not staff
    listing = say(engine, staff, "tickets")
    assert listing.index("— Accès (1)") < listing.index(f"#{luc} [nouveau]")
    assert f"#{pieter} [nouveau] eID werkt niet — Pieter Janssens (BOSA)" in listing
    shown = say(engine, staff, f"ticket {luc}")
    assert "Accès expiré (fin : 23/11/2026)" in shown and "Brouillon de réponse" in shown
    assert "Comment renouveler mon accès ?" in shown
    assert "pris en charge par vous" in say(engine, staff, f"prendre {luc}")
    confirm = say(engine, staff, f"répondre {pieter} Bonjour, inscrire Dupont à BOSA-101 "
                                 "n'a rien à voir : installez le middleware eID.")
    assert confirm.startswith(f"Envoyer à {PIETER[0]}") and "middleware" in confirm
    assert "Réponse envoyée" in say(engine, staff, "oui")
    assert "Pour le renouveler" in say(engine, staff, f"répondre {luc}")  # the draft …
    assert "Réponse envoyée" in say(engine, staff, "oui")  # … sent with one click
    assert f"#{luc}" in say(engine, staff, f"fermer {luc}")
    answers = outbox(world, "helpdesk_answer")
    assert [(a.to_address, a.language.value) for a in answers] == [(PIETER[0], "nl"),
                                                                   (LUC[0], "fr")]
    assert answers[0].context["text"].endswith("installez le middleware eID.")
    assert "renouveler" in answers[1].context["text"]
    assert answers[0].context["in_reply_to"] == "<hd-w2@batch.example>"
    with world.app.unit_of_work(readonly=True) as uow:
        states = {t.number: (t.state, t.assignee.email if t.assignee else None)
                  for t in helpdesk.tickets(uow, None)}
    assert states == {luc: ("closed", staff), pieter: ("answered", staff)}
    english = say(engine, staff, f"take {pieter}")
    assert "taken by you" in english
    assert "No open tickets." not in say(engine, staff, "tickets")


def test_commands_are_read_before_sentences() -> None:
    from core.conversation.flows.helpdesk import read_command

    assert read_command("tickets").intent == "helpdesk_tickets"  # type: ignore[union-attr]
    shown = read_command("Ticket #12")
    assert shown is not None and (shown.intent, shown.number) == ("helpdesk_ticket", 12)
    take = read_command("prendre le ticket 7")
    assert take is not None and (take.intent, take.number) == ("helpdesk_take", 7)
    answer = read_command("répondre 12 : Bonjour,\nvoici.\n\nCordialement")
    assert answer is not None and answer.reason == "Bonjour,\nvoici.\n\nCordialement"
    assert read_command("antworten 3").intent == "helpdesk_reply"  # type: ignore[union-attr]
    assert read_command("take Dupuis off IFA-104") is None
    assert read_command("inscrire Dupont BOSA-101") is None


# ------------------------------------------------------------------------- the command line


def run(base: dict[str, str], *args: str, stdin: bytes = b"",
        **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], input=stdin, capture_output=True, timeout=60,
        cwd=ROOT, env={"PATH": os.environ.get("PATH", "/usr/bin"), **base, **env})


def test_helpdesk_process_as_an_mta_pipe(tmp_path: Path) -> None:
    """Exit codes an MTA understands (one database is enough: the doors above run on both)."""
    env = {"ITMA_HOME": str(tmp_path), "ITMA_SECRET_KEY": "test-secret-key-0123456789"}
    app = App(load_settings(env))
    migrate.upgrade(app.db)
    app.close()
    raw = mail(LUC, "mon accès a expiré", "Bonjour, mon accès a expiré.", "cli-1")
    done = run(env, "helpdesk", "process", stdin=raw)
    assert done.returncode == 0 and done.stdout.decode().startswith("ticket_opened: #1")
    assert run(env, "helpdesk", "process", stdin=raw).stdout.strip() == b"duplicate"
    assert run(env, "helpdesk", "process").returncode == 65
    broken = run(env, "helpdesk", "process", stdin=raw,
                 ITMA_DATABASE_URL=f"sqlite:///{tmp_path}/missing/none.db")
    assert broken.returncode == 75 and b"Traceback" not in broken.stderr


def test_the_command_line(world: World, staff: str, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    settings = world.app.settings
    for name, value in (("ITMA_HOME", str(settings.home)),
                        ("ITMA_DATABASE_URL", settings.database_url),
                        ("ITMA_SECRET_KEY", settings.secret_key.decode()),
                        ("LANG", "en_GB.UTF-8")):
        monkeypatch.setenv(name, value)

    def cli(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli_main.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    receive(world.app, mail(LUC, "mon accès a expiré", "Bonjour, mon accès a expiré.", "cli-1"))
    code, out, _ = cli("helpdesk", "list", "--json")
    rows = json.loads(out)
    assert code == 0 and [set(r) >= {"id", "number", "subject", "from", "language",
                                     "category", "confidence", "state", "messages", "officer",
                                     "organisation", "created_at"} for r in rows] == [True]
    assert (rows[0]["from"], rows[0]["category"], rows[0]["messages"], rows[0]["officer"],
            rows[0]["organisation"]) == (LUC[0], "access", 1, LUC[0], "BOSA")
    number = rows[0]["number"]
    code, out, _ = cli("helpdesk", "show", str(number), "--json")
    shown = json.loads(out)
    assert shown["draft"]["kind"] == "access" and shown["thread"][0]["body"].startswith(
        "Bonjour, mon accès")
    code, out, _ = cli("helpdesk", "show", str(number))
    assert "Access expired (ended: 23/11/2026)" in out
    assert cli("helpdesk", "show", "999")[0] == 1
    assert "Access" in cli("helpdesk", "list")[1]
    assert cli("helpdesk", "route", "eid", "--slack", "T1:C1")[0] == 0
    code, out, _ = cli("helpdesk", "routes", "--json")
    assert json.loads(out) == [{"category": "eid", "platform": "slack", "target": "T1:C1",
                                "language": "fr"}]
    code, out, _ = cli("helpdesk", "reply", str(number), "--as", staff, "--draft")
    assert code == 0 and LUC[0] in out
    code, _, err = cli("helpdesk", "reply", str(number), "--as", SOPHIE[0], "--text", "x")
    assert code == 1 and "helpdesk" in err
    assert cli("helpdesk", "close", str(number), "--as", staff)[0] == 0
    assert json.loads(cli("helpdesk", "list", "--open", "--json")[1]) == []


def test_no_mail_body_or_national_number_reaches_the_log(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    receive(world.app, mail(SOPHIE, "numéro", "Le numéro 85.07.30-033.28 de Dupont est "
                            "refusé à l'import.", "log-1"))
    receive(world.app, next(i.raw for i in batch.first_half() if i.key == "mime-bomb"))
    assert "85.07.30" not in caplog.text and "refusé à l'import" not in caplog.text
    assert "helpdesk <hd-log-1@batch.example> via pipe: ticket_opened" in caplog.text
    body = "Le numéro 85.07.30-033.28 de Dupont"
    try:  # a failure's trace names where and what, never the message (SQL parameters)
        try:
            raise ValueError(f"[parameters: ({body!r},)]")
        except ValueError as inner:
            raise RuntimeError("database error") from inner
    except RuntimeError as exc:
        logged = isolation.trace(exc)
    assert "builtins.ValueError" in logged and "85.07" not in logged and "Dupont" not in logged



def test_the_demo_triages_its_local_mailbox(tmp_path: Path) -> None:
    """`make demo` needs no IMAP server: its mailbox is a Maildir fed to the same handler."""
    env = {"ITMA_HOME": str(tmp_path), "LANG": "en_GB.UTF-8"}
    seeded = run(env, "demo", "--seed-only")
    assert seeded.returncode == 0, seeded.stderr.decode()[-2000:]
    assert b"triaged into 10 tickets" in seeded.stderr
    rows = json.loads(run(env, "helpdesk", "list", "--json").stdout)
    assert {r["category"] for r in rows} == {"access", "eid", "enrollment", "registration",
                                             "pdata", "certification", "report"}
    assert {r["language"] for r in rows} == {"fr", "nl", "en", "de"}
    assert len(list((tmp_path / "mail" / "helpdesk" / "cur").iterdir())) == 12
    assert not list((tmp_path / "mail" / "helpdesk" / "new").iterdir())
    answer = run(env, "say", "--as", "sophie.lambert@bosa.example", "ticket", "2")
    assert "personnel-BOSA.csv" in answer.stdout.decode()  # her refused file, as a draft
