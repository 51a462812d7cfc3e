"""Group commit of replies (mail_gateway.group_commit): replies arriving together share one
transaction, each in its own savepoint, and no `250` is said before that commit is done.

Real parts: aiosmtpd as our listener, smtplib clients on threads, the database (SQLite and
PostgreSQL); the faults are a real trigger in the database (a constraint that refuses one
request's update), and at the commit: held back, or failing (on PostgreSQL the connection's
server process is terminated under it; SQLite has no such thing, so the commit is refused by an
OperationalError raised where the engine is about to commit).
"""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from core.models import AuditEvent, Officer, ReplyToken, RequestState
from mail_gateway import inbound, smtp_in
from mail_gateway.group_commit import GroupCommit
from mail_gateway.isolation import MALFORMED
from tests.conftest import World
from tests.integration.test_mail import SOPHIE, outbox, reply, request_state, submit, token_of
from tests.support.server import free_port

HOST = "127.0.0.1"


def requests_for(world: World, count: int, prefix: str) -> list[int]:
    return [submit(world, wants_session=False, external_id=f"{prefix}-{n}")
            for n in range(count)]


def replies_for(world: World, ids: list[int], prefix: str) -> list[tuple[str, bytes]]:
    """(token, raw) of an "OK" from Sophie for each request, each with its own Message-ID."""
    found = []
    for n, request_id in enumerate(ids):
        token = token_of(world, SOPHIE, request_id)
        found.append((token, reply(world, token, "OK", message_id=f"<{prefix}-{n}@bosa.example>")))
    return found


@contextmanager
def on_commit(world: World, hook: Callable[[Any], None]) -> Iterator[None]:
    """`hook(connection)` runs in the committing thread just before each COMMIT is sent."""
    engine = world.app.db.engine
    event.listen(engine, "commit", hook)
    try:
        yield
    finally:
        event.remove(engine, "commit", hook)


def poison(world: World, request_id: int) -> None:
    """A real constraint in the database that refuses any update of this one request."""
    with world.app.db.engine.begin() as connection:
        if world.app.db.is_sqlite:
            connection.exec_driver_sql(
                f"CREATE TRIGGER poison BEFORE UPDATE ON registration_requests "
                f"WHEN NEW.id = {request_id} BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'poisoned' USING ERRCODE = 'check_violation'; END $$")
            connection.exec_driver_sql(
                f"CREATE TRIGGER poison BEFORE UPDATE ON registration_requests FOR EACH ROW "
                f"WHEN (NEW.id = {request_id}) EXECUTE FUNCTION poison()")


def send(port: int, token: str, raw: bytes, timeout: float = 60) -> tuple[int, str]:
    with smtplib.SMTP(HOST, port, timeout=timeout) as client:
        client.ehlo("mail.bosa.example")
        assert client.mail(SOPHIE)[0] == 250
        assert client.rcpt(f"reply+{token}@itma.localhost")[0] == 250
        code, answer = client.data(raw)
        return code, answer.decode()


def together(port: int, messages: list[list[tuple[str, bytes]]]) -> list[list[tuple[int, str]]]:
    """One SMTP session per list, all started at once, each sending its messages in turn."""
    barrier = threading.Barrier(len(messages))
    answers: list[list[tuple[int, str]]] = [[] for _ in messages]

    def session(k: int) -> None:
        with smtplib.SMTP(HOST, port, timeout=60) as client:
            client.ehlo("mail.bosa.example")
            barrier.wait()
            for token, raw in messages[k]:
                assert client.mail(SOPHIE)[0] == 250
                assert client.rcpt(f"reply+{token}@itma.localhost")[0] == 250
                code, answer = client.data(raw)
                answers[k].append((code, answer.decode()))

    threads = [threading.Thread(target=session, args=(k,)) for k in range(len(messages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)
    return answers


def tokens_used(world: World) -> list[tuple[int | None, datetime | None]]:
    """(request, used_at) of Sophie's tokens."""
    with world.app.unit_of_work(readonly=True) as uow:
        return [(t.request_id, t.used_at) for t in uow.session.scalars(
            select(ReplyToken).join(ReplyToken.officer).where(Officer.email == SOPHIE))]


def states(world: World, ids: list[int]) -> list[RequestState]:
    return [request_state(world, i).state for i in ids]


def test_one_transaction_and_a_failing_reply_spoils_no_other(world: World) -> None:
    ids = requests_for(world, 3, "batch")
    session_request = submit(world, wants_session=True, external_id="batch-session")
    again = submit(world, wants_session=True, external_id="batch-session-again")  # same person
    poisoned = ids[1]
    poison(world, poisoned)
    good = replies_for(world, [ids[0], ids[1], ids[2], session_request, again], "batch")
    raws = [raw for _token, raw in good]
    too_deep = (b"From: Sophie Lambert <sophie@bosa.example>\r\nTo: reply+x@itma.localhost\r\n"
                b"Message-ID: <deep@bosa.example>\r\n"
                + b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (n, n)
                           for n in range(60)))
    # delivered twice: the first approved reply (a duplicate), the poisoned one (tried again:
    # a reply that failed leaves no record that would make its next delivery a duplicate)
    # and a rule's refusal (the same person in the same session again): undone, answered
    batch = [raws[0], raws[1], too_deep, raws[2], raws[3], raws[0], raws[1], raws[4]]
    commits: list[int] = []
    with on_commit(world, lambda _connection: commits.append(1)):
        outcomes = inbound.decide_all(world.app, [inbound.read(world.app, raw, via="test")
                                                  for raw in batch])
    assert len(commits) == 1
    assert [o.reason for o in outcomes] == [
        "approved", MALFORMED, MALFORMED, "approved", "approved", "duplicate", MALFORMED,
        "refused_by_rules"]
    assert outcomes[1].detail == "IntegrityError" and outcomes[2].detail == "mime_too_deep"
    assert states(world, [ids[0], poisoned, ids[2], session_request, again]) == [
        RequestState.APPROVED, RequestState.PENDING, RequestState.APPROVED,
        RequestState.APPROVED, RequestState.PENDING]
    used = {request_id: used_at for request_id, used_at in tokens_used(world)}
    assert [used[i] is not None for i in (ids[0], poisoned, ids[2], session_request, again)] \
        == [True, False, True, True, False]
    told = [m.context for m in outbox(world) if m.template == "reply_done"]
    assert [("decision" in c, c["request_id"]) for c in told] == [
        (True, ids[0]), (True, ids[2]), (True, session_request), (False, again)]
    with world.app.unit_of_work(readonly=True) as uow:
        actions = list(uow.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(["mail.malformed", "request.approved"]))))
    assert sorted(actions) == ["mail.malformed"] * 2 + ["request.approved"] * 3


def test_concurrent_sessions_are_decided_in_fewer_transactions(world: World) -> None:
    ids = requests_for(world, 24, "together")
    replies = replies_for(world, ids, "together")
    commits = GroupCommit(world.app, max_wait=1.0, max_batch=8)
    controller = smtp_in.controller(world.app, commits, hostname=HOST, port=free_port())
    counted: list[int] = []
    controller.start()
    try:
        with on_commit(world, lambda _connection: counted.append(1)):
            answers = together(controller.port, [replies[k::8] for k in range(8)])
    finally:
        controller.stop()
    assert [a for session in answers for a in session] == [(250, "OK approved")] * 24
    assert commits.stats.replies == 24 and commits.stats.batches == len(counted)
    assert len(counted) <= 6, commits.stats  # 3 rounds of 8 sessions: 3 when nothing lags
    assert set(states(world, ids)) == {RequestState.APPROVED}


def test_no_250_before_the_commit_returns(world: World) -> None:
    [request_id] = requests_for(world, 1, "held")
    [(token, raw)] = replies_for(world, [request_id], "held")
    reached, release = threading.Event(), threading.Event()

    def hold(_connection: Any) -> None:
        reached.set()
        assert release.wait(30)

    controller = smtp_in.controller(world.app, hostname=HOST, port=free_port())
    controller.start()
    answer: list[tuple[int, str]] = []
    try:
        with on_commit(world, hold):
            client = threading.Thread(target=lambda: answer.append(send(controller.port, token,
                                                                        raw)))
            client.start()
            assert reached.wait(30), "the reply never reached its commit"
            client.join(1.5)
            assert client.is_alive() and answer == []  # the commit is held: no answer yet
            release.set()
            client.join(30)
    finally:
        release.set()
        controller.stop()
    assert answer == [(250, "OK approved")]
    assert request_state(world, request_id).state == RequestState.APPROVED


def fail_commit(world: World) -> Callable[[Any], None]:
    """A commit that fails: on PostgreSQL its server process is terminated just before."""
    url = make_url(world.app.settings.database_url)

    def fail(connection: Any) -> None:
        if world.app.db.is_sqlite:
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        pid = connection.connection.dbapi_connection.info.backend_pid
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

    return fail


def test_a_failed_commit_answers_451_to_every_reply_of_the_batch(world: World) -> None:
    ids = requests_for(world, 3, "failed")
    replies = replies_for(world, ids, "failed")
    commits = GroupCommit(world.app, max_wait=1.0, max_batch=3)
    controller = smtp_in.controller(world.app, commits, hostname=HOST, port=free_port())
    attempts: list[int] = []
    failing = fail_commit(world)
    controller.start()
    try:
        with on_commit(world, lambda c: (attempts.append(1), failing(c))):
            answers = together(controller.port, [[r] for r in replies])
        assert [a[0][0] for a in answers] == [451] * 3
        assert len(attempts) == 1  # one batch, one commit, refused as a whole
        assert set(states(world, ids)) == {RequestState.PENDING}
        with world.app.unit_of_work(readonly=True) as uow:
            assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action.like("mail.%") | AuditEvent.action.like("request.a%"))) == 0
        retried = together(controller.port, [[r] for r in replies])  # the MTAs try again
    finally:
        controller.stop()
    assert [a[0] for a in retried] == [(250, "OK approved")] * 3
    assert set(states(world, ids)) == {RequestState.APPROVED}


def test_the_pipe_door_still_decides_one_mail_in_one_transaction(world: World) -> None:
    [request_id] = requests_for(world, 1, "pipe")
    [(_token, raw)] = replies_for(world, [request_id], "pipe")
    commits: list[int] = []
    with on_commit(world, lambda _connection: commits.append(1)):
        outcome = inbound.process(world.app, raw, via="pipe")
    assert outcome.reason == "approved" and len(commits) == 1
    assert request_state(world, request_id).state == RequestState.APPROVED
