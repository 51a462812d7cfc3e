"""Hostile and broken replies (tests/mail/hardening/) through the three doors alike: the SMTP
listener (aiosmtpd), the IMAP poller (a real Dovecot) and `mail process` (the CLI, as an MTA
runs it). Nothing acts on a spoofed or unauthenticated sender, nothing answers a stranger, and
no message can block a door."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from core.app import App
from core.db import DatabaseError
from core.models import AuditEvent, MailboxCheckpoint, OutboxMessage, ReplyToken, RequestState
from core.services import reply_tokens
from mail_gateway import imap_poller, smtp_in
from mail_gateway.inbound import process
from tests.conftest import World
from tests.integration.test_mail import (
    SOPHIE,
    outbox,
    reply,
    request_state,
    submit,
    token_of,
)
from tests.support.dovecot import DovecotServer, dovecot
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "mail" / "hardening"
AUTHSERV = "mx.itma.localhost"
SILENT = ("sender_ambiguous", "token_unknown", "sender_not_token_owner",
          "sender_not_authenticated", "malformed", "automatic")
"""Outcomes that must never send anything to anyone."""

EXPECTED: dict[str, tuple[str, str | None]] = {
    "from_comment_spoof": ("sender_ambiguous", None),
    "from_two_headers": ("sender_ambiguous", None),
    "from_two_mailboxes": ("sender_ambiguous", None),
    "from_encoded_address_name": ("sender_ambiguous", None),
    "from_group": ("sender_ambiguous", None),
    "eight_bit_from_address": ("sender_ambiguous", None),
    "eight_bit_headers": ("approved", None),
    "deep_mime": ("malformed", None),
    "not_in_thread": ("not_in_thread", None),
    "random_token_forged_from": ("token_unknown", None),
    "auto_generated_subject": ("automatic", None),
    "dutch_partless_alternative": ("approved", None),
    "authentication_results_dmarc_pass": ("approved", AUTHSERV),
    "authentication_results_foreign": ("sender_not_authenticated", AUTHSERV),
    "authentication_results_forged_below": ("sender_not_authenticated", AUTHSERV),
}
"""Each hardening mail: the outcome, and the ITMA_MAIL_AUTHSERV_ID it is read with."""


def load(world: World, name: str, request_id: int) -> bytes:
    raw = (CORPUS / f"{name}.eml").read_bytes()
    raw = raw.replace(b"sophie.lambert@bosa.example", SOPHIE.encode())
    return raw.replace(b"tok3n", token_of(world, SOPHIE, request_id).encode())


@contextmanager
def reading_with(app: App, authserv_id: str | None) -> Iterator[App]:
    """The app as configured with ITMA_MAIL_AUTHSERV_ID (the same one when it is unset)."""
    if authserv_id is None:
        yield app
        return
    configured = App(replace(app.settings, mail_authserv_id=authserv_id))
    try:
        yield configured
    finally:
        configured.close()


def outcome_in_audit(world: World) -> str:
    """The last mail outcome the audit trail shows (how the IMAP door is observed)."""
    with world.app.unit_of_work(readonly=True) as uow:
        action = uow.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("mail.%") | AuditEvent.action.like("request.%"))
            .order_by(AuditEvent.id.desc())).first()
    return {"request.approved": "approved", "request.refused": "refused"}.get(
        action or "", (action or "").removeprefix("mail."))


def cli(world: World, *args: str, stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess:
    settings = world.app.settings
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], input=stdin, capture_output=True, timeout=60,
        cwd=ROOT, env={"PATH": os.environ.get("PATH", "/usr/bin"), "ITMA_HOME": str(settings.home),
                       "ITMA_DATABASE_URL": settings.database_url,
                       "ITMA_SECRET_KEY": settings.secret_key.decode(), **env})


def through_pipe(world: World, raw: bytes, authserv_id: str | None) -> str:
    env = {"ITMA_MAIL_AUTHSERV_ID": authserv_id} if authserv_id else {}
    done = cli(world, "mail", "process", stdin=raw, **env)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return done.stdout.decode().strip().split(":", 1)[0]


def through_smtp(world: World, raw: bytes, authserv_id: str | None, recipient: str) -> str:
    port = free_port()
    with reading_with(world.app, authserv_id) as app:
        controller = smtp_in.controller(app, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.ehlo("mail.bosa.example")
                assert client.mail("sophie@bosa.example")[0] == 250
                assert client.rcpt(recipient)[0] == 250
                code, answer = client.data(raw)
        finally:
            controller.stop()
    assert code == 250, answer
    return answer.decode().split()[-1]


_users = iter(range(1, 100_000))


def fresh_user(prefix: str) -> str:
    """A mailbox of its own on the shared server (one per test and database)."""
    return f"{prefix}{next(_users)}"


def through_imap(world: World, server: DovecotServer, raw: bytes,
                 authserv_id: str | None) -> str:
    user = fresh_user("hardening")
    server.append(user, raw)
    mailbox = imap_poller.Mailbox.parse(server.url(user))
    with reading_with(world.app, authserv_id) as app, imap_poller.connect(mailbox) as client:
        assert imap_poller.drain(app, client, mailbox) == 1
    [(flags, _raw)] = server.messages(user).values()
    assert b"\\Seen" in flags
    return outcome_in_audit(world)


@pytest.fixture(scope="module")
def imap_server() -> Iterator[DovecotServer]:
    with dovecot() as server:
        yield server


@pytest.mark.parametrize("door", ["pipe", "smtp", "imap"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hardening_corpus_through_every_door(world: World, imap_server: DovecotServer,
                                             name: str, door: str) -> None:
    request_id = submit(world, wants_session=False)
    raw = load(world, name, request_id)
    expected, authserv_id = EXPECTED[name]
    before = len(outbox(world))
    recipient = next(f"reply+{t}@itma.localhost" for t in (
        token_of(world, SOPHIE, request_id), "a" * 26) if t.encode() in raw)
    if door == "pipe":
        reason = through_pipe(world, raw, authserv_id)
    elif door == "smtp":
        reason = through_smtp(world, raw, authserv_id, recipient)
    else:
        reason = through_imap(world, imap_server, raw, authserv_id)
    assert reason == expected
    assert outcome_in_audit(world) == expected
    state = request_state(world, request_id).state
    assert state == (RequestState.APPROVED if expected == "approved" else RequestState.PENDING)
    added = outbox(world)[before:]
    if expected in SILENT:
        assert added == []
    if expected == "not_in_thread":
        assert [(m.template, m.to_address) for m in added] == [("reply_help", SOPHIE)]


def test_a_poison_message_does_not_hold_up_the_reply_behind_it(world: World,
                                                                imap_server: DovecotServer) -> None:
    poisoned, genuine = submit(world, external_id="p1"), submit(world, external_id="p2")
    user = fresh_user("poison-then-genuine")
    imap_server.append(user, load(world, "deep_mime", poisoned))
    imap_server.append(user, reply(world, token_of(world, SOPHIE, genuine), "OK",
                                   message_id="<genuine@bosa.example>"))
    mailbox = imap_poller.Mailbox.parse(imap_server.url(user))
    with imap_poller.connect(mailbox) as client:
        assert imap_poller.drain(world.app, client, mailbox) == 2
    assert request_state(world, genuine).state == RequestState.APPROVED
    assert request_state(world, poisoned).state == RequestState.PENDING
    assert all(b"\\Seen" in flags for flags, _raw in imap_server.messages(user).values())
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.get_one(MailboxCheckpoint, mailbox.key).last_uid == 2
        malformed = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "mail.malformed")).one()
    assert malformed.details["detail"] == "mime_too_deep"


def refuse_writes_of(app: App, marker: str) -> None:
    """Make the database itself refuse to record deliveries whose key holds the marker.

    An OperationalError, as a database under stress gives: the kind of failure that is
    retried, so only the count of tries can move the mailbox past it.
    """
    if app.db.is_sqlite:
        def poison(key: str) -> int:
            if marker in key:
                raise RuntimeError("refused")
            return 0

        app.db.engine.dispose()
        event.listen(app.db.engine, "connect",
                     lambda connection, _record: connection.create_function(
                         "itma_refuse", 1, poison))
        trigger = ("CREATE TRIGGER itma_refuse BEFORE INSERT ON processed_deliveries "
                   "WHEN itma_refuse(NEW.key) BEGIN SELECT 1; END")
        statements = [trigger]
    else:
        statements = [
            "CREATE FUNCTION itma_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.key LIKE '%{marker}%' THEN "
            "RAISE EXCEPTION 'refused' USING ERRCODE = '53000'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER itma_refuse BEFORE INSERT ON processed_deliveries "
            "FOR EACH ROW EXECUTE FUNCTION itma_refuse()"]
    with app.db.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_a_message_that_keeps_failing_is_passed_over_after_three_tries(
        world: World, imap_server: DovecotServer) -> None:
    stuck, genuine = submit(world, external_id="s1"), submit(world, external_id="s2")
    refuse_writes_of(world.app, "stuck-")
    user = fresh_user("keeps-failing")
    imap_server.append(user, reply(world, token_of(world, SOPHIE, stuck), "OK",
                                   message_id="<stuck-1@bosa.example>"))
    imap_server.append(user, reply(world, token_of(world, SOPHIE, genuine), "OK",
                                   message_id="<fine-1@bosa.example>"))
    mailbox = imap_poller.Mailbox.parse(imap_server.url(user))
    for attempt in (1, 2):  # a new connection each time, as after the poller's reconnect
        with imap_poller.connect(mailbox) as client, pytest.raises(DatabaseError):
            imap_poller.drain(world.app, client, mailbox)
        with world.app.unit_of_work(readonly=True) as uow:
            checkpoint = uow.session.get_one(MailboxCheckpoint, mailbox.key)
            assert (checkpoint.last_uid, checkpoint.failing_uid, checkpoint.failures) == (
                0, 1, attempt)
        assert request_state(world, genuine).state == RequestState.PENDING
    with imap_poller.connect(mailbox) as client:
        assert imap_poller.drain(world.app, client, mailbox) == 2
    assert request_state(world, genuine).state == RequestState.APPROVED
    assert request_state(world, stuck).state == RequestState.PENDING
    with world.app.unit_of_work(readonly=True) as uow:
        checkpoint = uow.session.get_one(MailboxCheckpoint, mailbox.key)
        assert (checkpoint.last_uid, checkpoint.failing_uid, checkpoint.failures) == (2, None, 0)
        passed = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "mail.imap_passed_over")).one()
    assert passed.details["uid"] == 1 and passed.details["failures"] == 3


def test_a_database_that_is_down_is_the_only_retry(world: World, tmp_path: Path) -> None:
    raw = (CORPUS / "deep_mime.eml").read_bytes()
    done = cli(world, "mail", "process", stdin=raw)
    assert (done.returncode, done.stdout.strip()) == (0, b"malformed: mime_too_deep")
    down = cli(world, "mail", "process", stdin=raw,
               ITMA_DATABASE_URL=f"sqlite:///{tmp_path}/absent/none.db")
    assert down.returncode == 75


def test_undecodable_and_nul_header_bytes_reach_neither_database_nor_log(world: World) -> None:
    request_id = submit(world)
    token = token_of(world, SOPHIE, request_id)
    raw = reply(world, token, "Qui est-ce ?")
    raw = raw.replace(b"Message-ID: <r1@bosa.example>", b"Message-ID: <r1.\xff\x00@bosa.example>")
    raw = raw.replace(b"Subject: RE:", b"Subject: \xe9t\xe9\x00 RE:")
    assert process(world.app, raw, via="pipe").reason == "not_understood"
    with world.app.unit_of_work(readonly=True) as uow:
        audit = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "mail.not_understood")).one()
        help_mail = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.template == "reply_help")).one()
    assert audit.officer_id is not None
    assert help_mail.context["in_reply_to"] == "<r1.ÿ\ufffd@bosa.example>"
    assert help_mail.context["original_subject"].startswith("été\ufffd")


def test_the_token_is_stored_hashed_and_listed_redacted(world: World) -> None:
    request_id = submit(world)
    token = token_of(world, SOPHIE, request_id)
    with world.app.unit_of_work(readonly=True) as uow:
        stored = uow.session.scalars(select(ReplyToken.token_hash).where(
            ReplyToken.request_id == request_id)).all()
    assert reply_tokens.token_hash(token) in stored and token not in stored
    listed = cli(world, "outbox", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert token.encode() not in listed.stdout
    ids = [m["message_id"] for m in json.loads(listed.stdout) if m["template"] == "request_new"]
    assert ids and all(".[token]@itma.localhost>" in i for i in ids)
    as_text = cli(world, "outbox", "list")
    assert as_text.returncode == 0 and token.encode() not in as_text.stdout


def thread_reply(world: World, token: str, **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Sophie Lambert <{SOPHIE}>"
    mail["To"] = f"reply+{token}@itma.localhost"
    mail["Message-ID"] = headers.pop("message_id")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("OK\n")
    return mail.as_bytes()


def test_a_reply_must_be_in_the_thread_of_the_token_it_uses(world: World) -> None:
    first = submit(world, wants_session=False, external_id="t1")
    second = submit(world, wants_session=False, external_id="t2")
    token, other = token_of(world, SOPHIE, first), token_of(world, SOPHIE, second)
    elsewhere = thread_reply(world, token, message_id="<x1@bosa.example>",
                             Subject="RE: something else",
                             In_Reply_To=f"<{'1' * 16}.{other}@itma.localhost>")
    assert process(world.app, elsewhere, via="pipe").reason == "not_in_thread"
    foreign = thread_reply(world, token, message_id="<x2@bosa.example>", Subject="RE: lunch",
                           In_Reply_To="<lunch-42@bosa.example>")
    assert process(world.app, foreign, via="pipe").reason == "not_in_thread"
    assert [m.template for m in outbox(world)].count("reply_help") == 1  # once, not per mail
    assert request_state(world, first).state == RequestState.PENDING
    numbered = thread_reply(world, token, message_id="<x3@bosa.example>",
                            Subject=f"Demande #{first} : OK")
    assert process(world.app, numbered, via="pipe").reason == "approved"
    threaded = thread_reply(world, other, message_id="<x4@bosa.example>", Subject="RE: x",
                            References=f"<lunch-42@bosa.example> <{'2' * 16}.{other}"
                                       "@itma.localhost>")
    assert process(world.app, threaded, via="pipe").reason == "approved"


def test_only_the_proven_officer_hears_about_a_used_token(world: World) -> None:
    request_id = submit(world)
    token = token_of(world, SOPHIE, request_id)
    assert process(world.app, reply(world, token, "OK"), via="pipe").reason == "approved"
    before = len(outbox(world))
    for n, sender in enumerate(("mallory@example.be", "victim@example.be")):
        forged = reply(world, token, "OK", sender=sender, message_id=f"<f{n}@example.be>")
        assert process(world.app, forged, via="pipe").reason == "sender_not_token_owner"
    for n in range(3):
        guessed = reply(world, reply_tokens.new_token(), "OK", sender="victim@example.be",
                        message_id=f"<g{n}@example.be>")
        assert process(world.app, guessed, via="pipe").reason == "token_unknown"
    assert outbox(world)[before:] == []  # no backscatter
    again = reply(world, token, "OK", message_id="<again@bosa.example>")
    assert process(world.app, again, via="pipe").reason == "token_used"
    [answer] = outbox(world)[before:]
    assert (answer.template, answer.to_address) == ("reply_token_invalid", SOPHIE)


def test_authentication_is_required_only_when_an_authserv_id_is_set(world: World) -> None:
    request_id = submit(world)
    raw = reply(world, token_of(world, SOPHIE, request_id), "OK")
    with reading_with(world.app, AUTHSERV) as strict:
        outcome = process(strict, raw, via="pipe")
        assert (outcome.reason, outcome.detail) == (
            "sender_not_authenticated", f"no Authentication-Results from {AUTHSERV}")
        assert request_state(world, request_id).state == RequestState.PENDING
        signed = (f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=bosa.example\r\n"
                  .encode() + raw.replace(b"<r1@bosa.example>", b"<r2@bosa.example>"))
        assert process(strict, signed, via="pipe").reason == "approved"


@pytest.mark.parametrize(("subtype", "body"), [
    ("html", "<a" * 200_000),
    ("plain", "\n".join(["op 1 " + "heeft " * 65] * 25_000)),
])
def test_the_verdict_is_read_in_bounded_time(world: World, subtype: str, body: str) -> None:
    request_id = submit(world)
    token = token_of(world, SOPHIE, request_id)
    mail = EmailMessage()
    mail["From"] = f"Sophie Lambert <{SOPHIE}>"
    mail["To"] = f"reply+{token}@itma.localhost"
    mail["Subject"] = "RE: Nouvelle inscription"
    mail["Message-ID"] = "<slow@bosa.example>"
    mail["In-Reply-To"] = f"<{'0' * 16}.{token}@itma.localhost>"
    mail.set_content(body, subtype=subtype)
    started = time.monotonic()
    assert process(world.app, mail.as_bytes(), via="pipe").reason == "not_understood"
    assert time.monotonic() - started < 5
