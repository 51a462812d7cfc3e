"""SIGKILL the gateway while it works through a batch of replies and notifications, restart it:
every reply is acted on exactly once, every notification reaches the relay under one id."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

from sqlalchemy import func, select

from core.models import AuditEvent, OutboxMessage, OutboxState, RegistrationRequest, RequestState
from tests.conftest import World
from tests.integration.test_mail import SOPHIE, reply, submit, token_of
from tests.support.dovecot import dovecot
from tests.support.server import start
from tests.support.smtp_sink import SmtpSink

REPLIES = 120


def approved(world: World) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(RegistrationRequest).where(
            RegistrationRequest.state == RequestState.APPROVED)) or 0


def pending_mail(world: World) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "mail", OutboxMessage.state != OutboxState.SENT)) or 0


def test_sigkill_mid_batch_then_restart(world: World) -> None:
    ids = [submit(world, wants_session=False, external_id=f"crash-{n}") for n in range(REPLIES)]
    settings = world.app.settings
    sink = SmtpSink().start()
    try:
        with dovecot() as server:
            for n, request_id in enumerate(ids):
                server.append("replies", reply(world, token_of(world, SOPHIE, request_id), "OK",
                                               message_id=f"<crash-{n}@bosa.example>"))
            env = {"ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
                   "ITMA_SECRET_KEY": settings.secret_key.decode(),
                   "ITMA_IMAP_URL": server.url("replies"), "ITMA_SMTP_RELAY": sink.url,
                   "ITMA_OUTBOX_LEASE_SECONDS": "2"}
            process, _base = start(env)
            deadline = time.monotonic() + 60
            while approved(world) < REPLIES // 4:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.01)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            killed_at = approved(world)
            assert killed_at < REPLIES, "the batch finished before the kill: raise REPLIES"
            process, _base = start(env)
            try:
                deadline = time.monotonic() + 90
                while approved(world) < REPLIES or pending_mail(world):
                    assert time.monotonic() < deadline, (approved(world), pending_mail(world))
                    time.sleep(0.2)
            finally:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=20)
    finally:
        sink.stop()
    with world.app.unit_of_work(readonly=True) as uow:
        decisions = Counter(uow.session.scalars(select(AuditEvent.subject_id).where(
            AuditEvent.action == "request.approved")))
        mails = list(uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == "mail")))
    assert sorted(decisions) == sorted(ids) and set(decisions.values()) == {1}
    templates = Counter(m.template for m in mails)
    assert templates["reply_done"] == REPLIES and templates["mailing_list_subscribed"] == REPLIES
    received = Counter(sink.message_ids())
    assert set(received) == {m.message_id for m in mails}  # every notification, known ids only
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= 20, duplicates  # only a batch in flight at the kill may be resent
