"""SIGKILL the gateway at random moments while it works through a batch of replies and
notifications, 20 times, then let it finish: every reply is acted on exactly once, every
notification reaches the relay under one Message-ID."""

from __future__ import annotations

import os
import random
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

REPLIES = 600
KILLS = 20


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
            rng = random.Random(7)
            kills = 0
            while kills < KILLS and approved(world) < REPLIES * 3 // 4:
                process, _base = start(env)
                time.sleep(rng.uniform(0.05, 0.35))  # a random moment in the middle of the work
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
                kills += 1
            assert kills >= KILLS // 2, f"only {kills} kills before the work was nearly done"
            assert approved(world) < REPLIES, "the batch finished before the kills: raise REPLIES"
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
    assert duplicates <= KILLS * 20, duplicates  # only what was in flight at a kill is resent
