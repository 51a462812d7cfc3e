"""The IMAP door against a real Dovecot: checkpoint, flags after commit, IDLE and polling."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from core.models import MailboxCheckpoint, RequestState
from mail_gateway import imap_poller
from tests.conftest import World
from tests.integration.test_mail import SOPHIE, reply, request_state, submit, token_of
from tests.support.dovecot import dovecot


def test_drain_acts_once_flags_after_commit_and_keeps_a_checkpoint(world: World) -> None:
    first, second = submit(world, external_id="w1"), submit(world, external_id="w2")
    with dovecot() as server:
        server.append("replies", reply(world, token_of(world, SOPHIE, first), "OK",
                                       message_id="<i1@bosa.example>"))
        server.append("replies", reply(world, token_of(world, SOPHIE, second), "Non complet",
                                       message_id="<i2@bosa.example>"))
        mailbox = imap_poller.Mailbox.parse(server.url("replies"))
        client = imap_poller.connect(mailbox)
        with client:
            assert imap_poller.drain(world.app, client, mailbox) == 2
            assert imap_poller.drain(world.app, client, mailbox) == 0
        flags = [f for f, _raw in server.messages("replies").values()]
        assert all(b"\\Seen" in f for f in flags)
        with world.app.unit_of_work(readonly=True) as uow:
            checkpoint = uow.session.scalars(select(MailboxCheckpoint)).one()
        assert checkpoint.last_uid == 2
    assert request_state(world, first).state == RequestState.APPROVED
    assert request_state(world, second).state == RequestState.REFUSED


@pytest.mark.parametrize("idle", [True, False])
def test_poller_picks_up_new_mail_with_idle_or_polling(world: World, idle: bool) -> None:
    request_id = submit(world)
    with dovecot(idle=idle) as server:
        stop = threading.Event()
        thread = threading.Thread(target=imap_poller.run, args=(
            world.app, server.url("replies"), stop), kwargs={"poll": 0.2}, daemon=True)
        thread.start()
        try:
            time.sleep(0.5)
            server.append("replies", reply(world, token_of(world, SOPHIE, request_id), "Oui"))
            deadline = time.monotonic() + 15
            while request_state(world, request_id).state == RequestState.PENDING:
                assert time.monotonic() < deadline, "the poller did not act on the reply"
                time.sleep(0.1)
        finally:
            stop.set()
            thread.join(timeout=10)
    assert request_state(world, request_id).state == RequestState.APPROVED
