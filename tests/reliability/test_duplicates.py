"""The same delivery arriving twice at the same moment acts once.

(a) One signed Slack click (the confirm button of an enroll flow) posted at the same instant to
    two `serve` instances sharing one PostgreSQL database, as a load balancer retrying on the
    other instance would: one enrollment, one answer; the other instance stays silent.
    Two distinct clicks on the same button (a double click, two devices) race the same way:
    one enrollment, and the second answer says there is nothing (more) to do.
(b) One reply mail (OK) processed by two threads at the same instant (an IMAP poller and the
    SMTP listener, or two gateways): one approval, one `duplicate`, one set of notifications.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core import clock
from core.conversation import Engine, Inbound
from core.conversation.types import CONFIRM
from core.models import AuditEvent, Enrollment, EnrollmentState, OutboxMessage
from core.services.access import link_identity, officer_by_email
from mail_gateway.inbound import process
from tests.conftest import World
from tests.integration.test_mail import SOPHIE, reply, submit, token_of
from tests.support import slack_payloads as sp
from tests.support.server import start
from tests.support.slack_mock import Call, SlackMock

SECRET = "slack-signing-secret-for-tests"
USER = "USOPHIE"
CHANNEL = "slack:T1"
DONE = "Peeters Jan est inscrit à BOSA-101"
QUIET_S = 1.5  # after the expected answers, how long nothing more may arrive

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls on as many threads, released by one barrier; their results, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = calls[n]()
        except BaseException as exc:  # reported by the caller's assertions
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _outbox(world: World) -> Counter[tuple[str, str]]:
    with world.app.unit_of_work(readonly=True) as uow:
        return Counter((template, to) for template, to in uow.session.execute(
            select(OutboxMessage.template, OutboxMessage.to_address)))


# -- (a) Slack: two serve instances, one database ---------------------------------------------


def _post(base: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(base + "/slack/events", data=body, method="POST",
                                     headers={"content-type": sp.FORM, **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def _texts(call: Call) -> str:
    return " ".join(str(b.get("text", {}).get("text", "")) for b in call.params.get("blocks", [])
                    if isinstance(b.get("text"), dict)) or str(call.params.get("text", ""))


def _enrollments(world: World) -> list[EnrollmentState]:
    with world.app.unit_of_work(readonly=True) as uow:
        return list(uow.session.scalars(select(Enrollment.state)))


@pytest.fixture
def two_instances(world: World) -> Iterator[tuple[list[str], list[Path], SlackMock]]:
    """Two `serve` processes on the world's database, each with its own home, one SlackMock."""
    settings = world.app.settings
    with ExitStack() as stack:
        mock = stack.enter_context(SlackMock())
        bases: list[str] = []
        logs: list[Path] = []
        processes: list[subprocess.Popen[bytes]] = []

        def stop_all() -> None:
            for process in processes:
                process.send_signal(2)
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

        stack.callback(stop_all)
        for n in range(2):
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix=f"itma-dup-{n}-", dir=settings.home)))
            process, base = start({
                "ITMA_HOME": str(home), "ITMA_DATABASE_URL": settings.database_url,
                "ITMA_SECRET_KEY": settings.secret_key.decode(),
                "ITMA_SLACK_BOT_TOKEN": "xoxb-test", "ITMA_SLACK_SIGNING_SECRET": SECRET,
                "ITMA_SLACK_API_URL": mock.api_url})
            processes.append(process)
            bases.append(base)
            logs.append(home / "logs" / "itma.log")
        yield bases, logs, mock


def _pending_confirmation(world: World) -> None:
    """Sophie, linked to USOPHIE, has an enroll flow waiting for its confirm button.

    Prepared on the real clock, as serve runs on it: on the tests' fixed clock the pending
    state could look older than the engine's 12 h time-to-live to serve, hence abandoned.
    """
    clock.set_clock(None)  # the autouse fixed_clock fixture puts its own back afterwards
    with world.app.unit_of_work() as uow:
        link_identity(uow, officer_by_email(uow, world.officer), "slack", "T1", USER, via="test")
    prepared = Engine(world.app).handle(Inbound(CHANNEL, USER,
                                                text="inscrire Peeters BOSA-101 12/03"))
    assert CONFIRM in prepared.actions and "Peeters Jan" in prepared.text, prepared


def _click(mock: SlackMock) -> bytes:
    return sp.block_action("itma_confirm", "confirm", user_id=USER,
                           response_url=mock.response_url("c"), is_ephemeral=True)


def _settle(mock: SlackMock, count: int) -> list[Call]:
    """The response_url calls once `count` arrived and nothing more came for QUIET_S."""
    mock.wait_for("response_url", count=count, timeout=20)
    seen = len(mock.of("response_url"))
    while True:
        time.sleep(QUIET_S)
        now = mock.of("response_url")
        if len(now) == seen:
            return now
        seen = len(now)


@postgresql_only
def test_same_slack_click_on_two_instances_acts_once(
        world: World, two_instances: tuple[list[str], list[Path], SlackMock]) -> None:
    bases, logs, mock = two_instances
    _pending_confirmation(world)
    body = _click(mock)
    headers = sp.sign(body, SECRET)  # the very same signed delivery, byte for byte
    statuses = _together(*(lambda b=base: _post(b, body, headers) for base in bases))
    assert statuses == [200, 200]
    answers = _settle(mock, 2)
    texts = [_texts(call) for call in answers]
    assert _enrollments(world) == [EnrollmentState.ENROLLED], texts
    assert len(answers) == 2, texts  # resolved + done, from one instance only: nothing twice
    assert [call.params.get("replace_original") for call in answers] == [True, False], texts
    assert sum(DONE in text for text in texts) == 1, texts
    ignored = [log for log in logs
               if log.exists() and "already handled; ignored" in log.read_text()]
    assert len(ignored) == 1, "one instance should log the repeat it ignored"


@postgresql_only
def test_double_click_on_two_instances_enrolls_once(
        world: World, two_instances: tuple[list[str], list[Path], SlackMock]) -> None:
    bases, _logs, mock = two_instances
    _pending_confirmation(world)
    bodies = [_click(mock) for _ in bases]  # two clicks: their own trigger ids and action_ts
    assert bodies[0] != bodies[1]
    statuses = _together(*(lambda b=base, d=body: _post(b, d, sp.sign(d, SECRET))
                           for base, body in zip(bases, bodies, strict=True)))
    assert statuses == [200, 200]
    answers = _settle(mock, 4)
    assert _enrollments(world) == [EnrollmentState.ENROLLED], [_texts(c) for c in answers]
    finals = [_texts(call) for call in answers if call.params.get("replace_original") is False]
    assert len(finals) == 2, [_texts(call) for call in answers]
    assert sum(DONE in text for text in finals) == 1, finals
    other = next(text for text in finals if DONE not in text)
    assert "déjà inscrit" in other or "rien en cours" in other, other
    assert _outbox(world) == {("enrollment_confirmed", "jan.peeters@example.be"): 1}


# -- (b) the same reply mail, twice at once ----------------------------------------------------

RACES = 8
JULIE = "julie.mertens@example.be"  # the participant of tests.integration.test_mail.submit


def _audited(world: World, action: str) -> Counter[int | None]:
    with world.app.unit_of_work(readonly=True) as uow:
        return Counter(uow.session.scalars(select(AuditEvent.subject_id).where(
            AuditEvent.action == action)))


def test_same_reply_mail_processed_twice_at_once(world: World) -> None:
    ids = [submit(world, wants_session=n == 0, external_id=f"dup-{n}") for n in range(RACES)]
    before = _outbox(world)
    for n, request_id in enumerate(ids):
        raw = reply(world, token_of(world, SOPHIE, request_id), "OK merci",
                    message_id=f"<dup-{n}@bosa.example>")
        outcomes = _together(lambda r=raw: process(world.app, r, via="smtp"),
                             lambda r=raw: process(world.app, r, via="imap"))
        reasons = sorted(getattr(o, "reason", repr(o)) for o in outcomes)
        assert reasons == ["approved", "duplicate"], (request_id, outcomes)
    approvals = _audited(world, "request.approved")
    assert sorted(approvals) == sorted(ids) and set(approvals.values()) == {1}, approvals
    with world.app.unit_of_work(readonly=True) as uow:
        enrolled = uow.session.scalar(select(func.count()).select_from(Enrollment)) or 0
    assert enrolled == 1  # the first request asked for a session, the others for the list
    sent = _outbox(world) - before  # one set of notifications per reply, none doubled
    assert sent == {("reply_done", SOPHIE): RACES,
                    ("enrollment_confirmed", JULIE): 1,
                    ("mailing_list_subscribed", JULIE): RACES - 1}, sent
