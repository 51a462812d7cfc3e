"""The helpdesk mailbox on a real IMAP server (Dovecot): the day of tests/helpdesk/batch.py
read by the poller — a checkpoint that survives a restart of the poller and of the server, a
MIME bomb passed over — and `serve`'s gateway taking helpdesk mail by SMTP and IMAP at once."""

from __future__ import annotations

import smtplib
import time
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from core.app import App
from core.db import DatabaseError
from core.models import HelpdeskTicket, MailboxCheckpoint
from mail_gateway import helpdesk as gateway
from mail_gateway import imap_poller
from mail_gateway.worker import MailGateway
from tests.conftest import World
from tests.helpdesk import batch
from tests.helpdesk.batch import Item
from tests.integration.test_helpdesk import check_day, staff, triage_day
from tests.support.dovecot import DovecotServer, dovecot
from tests.support.server import free_port

USER = "helpdesk-itma"
__all__ = ["staff"]  # the fixture, shared with test_helpdesk.py


def append_all(server: DovecotServer, items: list[Item]) -> None:
    with server.session(USER) as imap:
        for item in items:
            imap.append("INBOX", item.raw)


def drain(app: App, server: DovecotServer) -> int:
    mailbox = imap_poller.Mailbox.parse(server.url(USER), "ITMA_HELPDESK_IMAP_URL")
    with imap_poller.connect(mailbox) as client:
        return imap_poller.drain(app, client, mailbox, gateway.process)


def checkpoint(app: App, server: DovecotServer) -> int:
    mailbox = imap_poller.Mailbox.parse(server.url(USER))
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.get_one(MailboxCheckpoint, mailbox.key).last_uid


def test_a_day_through_dovecot_across_a_restart(world: World, staff: str) -> None:
    with dovecot() as server:
        apps = [world.app]

        def deliver(items: list[Item]) -> None:
            if len(apps) > 1:  # the follow-ups, after the restart
                append_all(server, items)
                assert drain(apps[-1], server) == len(items)
                return
            half = 30
            append_all(server, items[:half])
            assert drain(world.app, server) == half
            assert checkpoint(world.app, server) == half
            server.restart()  # and the poller's process: a new App, nothing kept in memory
            apps.append(App(world.app.settings))
            append_all(server, items[half:])
            assert drain(apps[-1], server) == len(items) - half  # not one read twice
            assert drain(apps[-1], server) == 0
            assert checkpoint(apps[-1], server) == len(items)

        try:
            first, second = triage_day(world, deliver)
        finally:
            for app in apps[1:]:
                app.close()
        flags = [f for f, _raw in server.messages(USER).values()]
        assert len(flags) == len(first) + len(second)
        assert all(b"\\Seen" in f for f in flags)  # the MIME bomb too: passed, not stuck
    check_day(world, first, second)


def test_serve_takes_helpdesk_mail_by_smtp_and_imap(world: World) -> None:
    with dovecot() as server:
        port = free_port()
        app = App(replace(world.app.settings, smtp_listen=("127.0.0.1", port),
                          helpdesk_imap_url=server.url(USER)))
        gateway_ = MailGateway(app)
        try:
            running = gateway_.start()
            assert any("IMAP helpdesk poller" in line for line in running)
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.ehlo("mail.bosa.example")
                assert client.mail("sophie@bosa.example")[0] == 250
                assert client.rcpt("nobody@itma.localhost")[0] == 550
                assert client.rcpt("Helpdesk-ITMA@itma.localhost")[0] == 250
                code, answer = client.data(batch.text(
                    "smtp-1", batch.SOPHIE, "Export des participants",
                    "Comment exporter la liste des participants en Excel ?"))
            assert (code, answer.split()[-1]) == (250, b"ticket_opened")
            server.append(USER, batch.text("imap-1", batch.PIETER, "eID werkt niet",
                                           "Mijn kaartlezer wordt niet herkend."))
            deadline = time.monotonic() + 20
            while count(app) < 2:
                assert time.monotonic() < deadline, "the helpdesk poller did not read the mail"
                time.sleep(0.2)
        finally:
            gateway_.stop()
            app.close()
        with world.app.unit_of_work(readonly=True) as uow:
            categories = sorted(t.category for t in uow.session.scalars(select(HelpdeskTicket)))
        assert categories == ["eid", "report"]


def count(app: App) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count(HelpdeskTicket.id))) or 0


def test_a_mail_that_keeps_failing_is_passed_over_after_three_tries(world: World) -> None:
    from tests.integration.test_mail_hardening import refuse_writes_of

    refuse_writes_of(world.app, "stuck-")  # the database itself refuses to record this one
    with dovecot() as server:
        stuck = batch.text("stuck-1", batch.LUC, "mon accès", "Bloqué.")
        fine = batch.text("fine-1", batch.PIETER, "eID werkt niet", "Mijn kaartlezer werkt niet.")
        append_all(server, [Item("stuck-1", stuck, "ticket_opened"),
                            Item("fine-1", fine, "ticket_opened")])
        for _attempt in (1, 2):
            with pytest.raises(DatabaseError):
                drain(world.app, server)
            assert count(world.app) == 0  # the mail behind it waits: order is kept
        assert drain(world.app, server) == 2
        assert all(b"\\Seen" in f for f, _raw in server.messages(USER).values())
    with world.app.unit_of_work(readonly=True) as uow:
        tickets = list(uow.session.scalars(select(HelpdeskTicket)))
    assert [t.sender for t in tickets] == [batch.PIETER[0]]
