"""GET /metrics and the log id end to end: a scripted session against the running `serve`.

Real parts: serve as a subprocess (Slack over signed HTTP into a local Web API mock, the SMTP
listener for a mail reply, the eID link page behind a "proxy" header), a relay that refuses
connections so mail deliveries fail and stay pending, the database on both backends.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, update

from core import logs, nrn
from core.models import (
    Collaborator,
    EnrollmentState,
    LinkToken,
    Officer,
    OutboxMessage,
    OutboxState,
)
from core.services import links, requests
from core.services.access import link_identity, officer_by_email
from tests.conftest import World
from tests.helpdesk import batch
from tests.integration.test_slack import SECRET, SOPHIE, Slack, buttons
from tests.support.dovecot import dovecot
from tests.support.processes import free_port
from tests.support.server import serve
from tests.support.slack_mock import SlackMock

CERT_HEADER = "X-Client-Cert"
HELPDESK_USER = "helpdesk-itma"
ROOT = Path(__file__).resolve().parents[2]
ENV = {**{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
       "PYTHONPATH": str(ROOT)}
Sample = tuple[str, tuple[tuple[str, str], ...]]


@dataclasses.dataclass
class Deployment:
    slack: Slack
    base: str
    link_base: str
    smtp_port: int
    home: Path


@pytest.fixture
def deployment(world: World) -> Iterator[Deployment]:
    with world.app.unit_of_work() as uow:
        link_identity(uow, officer_by_email(uow, world.officer), "slack", "T1", SOPHIE,
                      via="test")
    settings = world.app.settings
    smtp_port, link_port = free_port(), free_port()
    with SlackMock() as mock, serve({
            "ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
            "ITMA_SECRET_KEY": settings.secret_key.decode(), "ITMA_SLACK_BOT_TOKEN": "xoxb-test",
            "ITMA_SLACK_SIGNING_SECRET": SECRET, "ITMA_SLACK_API_URL": mock.api_url,
            "ITMA_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
            "ITMA_LINK_LISTEN": f"127.0.0.1:{link_port}",
            "ITMA_EID_CERT_HEADER": CERT_HEADER, "ITMA_TRUSTED_PROXIES": "127.0.0.1/32",
            "ITMA_SMTP_RELAY": f"smtp://127.0.0.1:{free_port()}",  # nobody listens: deferred
            "ITMA_LOG_FORMAT": "json"}) as base:
        world.app.settings = dataclasses.replace(
            settings, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
            slack_api_url=mock.api_url)
        yield Deployment(Slack(base, mock), base, f"http://127.0.0.1:{link_port}", smtp_port,
                         settings.home)


def scrape(base: str) -> tuple[str, dict[Sample, float]]:
    with urllib.request.urlopen(base + "/metrics", timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = answer.read().decode()
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for family in text_string_to_metric_families(text) for s in family.samples}
    return text, values


def moved(before: dict[Sample, float], after: dict[Sample, float], name: str,
          **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def wait_for(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def log_lines(home: Path) -> list[dict[str, Any]]:
    path = home / "logs" / "itma.log"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("{")]


def submit(world: World) -> tuple[int, str]:
    """A "Nouvelle inscription" from the public site; the token Sophie's mail carries."""
    number = nrn.generate(random.Random(99), sex="F")
    with world.app.unit_of_work() as uow:
        request, _ = requests.submit(uow, {
            "external_id": "web-metrics", "wants": {
                "kind": "session", "training_code": "BOSA-101", "session_start": "2027-04-20"},
            "person": {"surname": "Mertens", "given_names": "Julie", "language": "nl",
                       "email": "julie.mertens@example.be", "organisation": "BOSA",
                       "national_register_number": number}})
        request_id = request.id
    with world.app.unit_of_work(readonly=True) as uow:
        notice = next(m for m in uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.to_address == world.officer, OutboxMessage.template == "request_new"))
            if m.context["request_id"] == request_id)
        return request_id, notice.context["reply_token"]


def reply_ok(token: str) -> bytes:
    return (f"From: Sophie Lambert <sophie@bosa.example>\r\n"
            f"To: reply+{token}@itma.localhost\r\n"
            f"Subject: RE: Nouvelle inscription : Mertens Julie (BOSA)\r\n"
            f"Message-ID: <metrics-1@bosa.example>\r\n"
            f"In-Reply-To: <{'0' * 16}.{token}@itma.localhost>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"OK, accord pour Julie, elle en a vraiment besoin cette annee\r\n\r\n"
            f"> Nouvelle inscription\r\n").encode()


def get(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                    timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def personal_values(world: World) -> tuple[list[str], list[str]]:
    """What a label must never carry: (names, addresses and national numbers)."""
    with world.app.unit_of_work(readonly=True) as uow:
        people = list(uow.session.scalars(select(Collaborator)))
        officers = list(uow.session.scalars(select(Officer)))
        names = [p.surname for p in people] + [p.given_names for p in people]
        names += [o.display_name for o in officers]
        exact = [p.email for p in people if p.email] + [o.email for o in officers]
        exact += ["".join(c for c in world.app.vault.decrypt(p.nrn_encrypted) if c.isdigit())
                  for p in people]
    return names, exact


def test_a_scripted_session_moves_the_counters_and_no_label_is_personal(
        deployment: Deployment, world: World) -> None:
    _, before = scrape(deployment.base)
    slack = deployment.slack
    # 1. chat: seats, then an enrollment through buttons (enroll, number, confirm)
    assert slack.command("places BOSA-101")
    [first] = slack.command("inscrire Peeters BOSA-101")
    slack.click("itma_choose_1", "1", message_blocks=first.params["blocks"])
    _resolved, done = slack.click("itma_confirm", "confirm")
    assert not buttons(done)
    # 2. a rejected request: bad signature
    assert slack.post(b"command=/itma&text=x&user_id=U&team_id=T", "application/x-www-form-"
                      "urlencoded", secret="wrong") == 401
    # 3. a mail reply approving a request (SMTP listener)
    request_id, token = submit(world)
    with smtplib.SMTP("127.0.0.1", deployment.smtp_port, timeout=10) as smtp:
        smtp.sendmail("sophie@bosa.example", [f"reply+{token}@itma.localhost"], reply_ok(token))
    # 4. a mail to the helpdesk: a ticket
    with smtplib.SMTP("127.0.0.1", deployment.smtp_port, timeout=10) as smtp:
        smtp.sendmail("sophie@bosa.example", ["helpdesk-itma@itma.localhost"], (
            b"From: Sophie Lambert <sophie@bosa.example>\r\n"
            b"To: helpdesk-itma@itma.localhost\r\nSubject: lecteur de carte eID\r\n"
            b"Message-ID: <metrics-hd@bosa.example>\r\n\r\n"
            b"Bonjour, mon lecteur de carte eID ne lit plus ma carte d'identite pour lier "
            b"mon compte Slack. Que faire ?\r\n"))
    # 5. the link page: an unknown link, a link with a certificate that is no certificate
    assert get(f"{deployment.link_base}/link/{'x' * 43}") == 404
    with world.app.unit_of_work() as uow:
        url = links.issue(uow, "slack", "T1", "UNEWCOMER")
        # this process's clock is the tests' fixed day; serve's is the real one
        uow.session.execute(update(LinkToken).values(
            expires_at=datetime.now(UTC) + timedelta(minutes=10)))
    path = url.split("/link/", 1)[1]
    assert get(f"{deployment.link_base}/link/{path}", {CERT_HEADER: "not-a-certificate"}) == 403

    def settled() -> tuple[str, dict[Sample, float]] | None:
        text, after = scrape(deployment.base)
        failures = moved(before, after, "itma_outbox_delivery_failures_total", channel="mail",
                         kind="deferred")
        slack_sent = moved(before, after, "itma_outbox_deliveries_total", channel="slack")
        return (text, after) if failures >= 1 and slack_sent >= 1 else None

    text, after = wait_for(settled)

    def delta(name: str, **labels: str) -> float:
        return moved(before, after, name, **labels)

    assert delta("itma_http_requests_total", front="slack", outcome="ok") == 4
    assert delta("itma_http_requests_total", front="slack", outcome="unauthorized") == 1
    assert delta("itma_conversation_turns_total", platform="slack", intent="seats") == 1
    assert delta("itma_conversation_turns_total", platform="slack", intent="enroll") == 1
    assert delta("itma_conversation_turns_total", platform="slack", intent="number") == 1
    assert delta("itma_conversation_turns_total", platform="slack", intent="confirm") == 1
    # Peeters by chat, Mertens by the mail reply's approval
    assert delta("itma_enrollments_total", state="enrolled") == 2
    assert delta("itma_unenrollments_total") == 0
    assert delta("itma_decisions_total", kind="request", decision="approved", via="mail") == 1
    assert delta("itma_inbound_mails_total", mailbox="replies", outcome="approved") == 1
    assert delta("itma_inbound_mails_total", mailbox="helpdesk", outcome="ticket_opened") == 1
    assert delta("itma_helpdesk_tickets_total", category="eid") == 1
    assert delta("itma_link_attempts_total", outcome="link_unknown") == 1
    assert delta("itma_link_attempts_total", outcome="malformed") == 1
    assert delta("itma_database_errors_total", backend="sqlite") == 0
    # the decision told Sophie in Slack (delivered); every mail is stuck at the dead relay
    assert delta("itma_outbox_deliveries_total", channel="slack") >= 1
    with world.app.unit_of_work(readonly=True) as uow:
        pending = uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "mail", OutboxMessage.state == OutboxState.PENDING))
    assert pending and after[("itma_outbox_pending", (("channel", "mail"),))] == pending
    assert after[("itma_outbox_oldest_pending_age_seconds", (("channel", "mail"),))] >= 0
    assert ("itma_outbox_pending", (("channel", "slack"),)) in after
    assert request_id
    # no personal data in any label
    for (_name, labels) in after:
        for _key, value in labels:
            assert re.fullmatch(r"[a-z_]+", value), value
    names, exact = personal_values(world)
    label_values = [v for (_n, labels) in after for _k, v in labels]
    for name in names:
        assert not any(name.lower() in v for v in label_values if len(name) >= 4), name
        assert name.lower() not in label_values
    for value in exact:
        assert value not in text, value
    assert not re.search(r"\d", "".join(label_values))


def test_one_id_follows_a_mail_reply_and_a_slack_action_to_their_deliveries(
        deployment: Deployment, world: World) -> None:
    request_id, token = submit(world)
    raw = reply_ok(token)
    with smtplib.SMTP("127.0.0.1", deployment.smtp_port, timeout=10) as smtp:
        smtp.sendmail("sophie@bosa.example", [f"reply+{token}@itma.localhost"], raw)
    # the mail's id is its bytes' digest: as the listener received them (the end of line
    # sent as CRLF, as here, comes back as CRLF)
    mail_id = logs.mail_id(raw)

    def mail_lines() -> list[dict[str, Any]] | None:
        lines = [line for line in log_lines(deployment.home) if line["request_id"] == mail_id]
        tried = {line["message"].split(" ", 1)[0] for line in lines
                 if line["logger"] == "core.services.outbox"}
        return lines if tried >= {"slack", "mail"} else None  # both channels tried

    lines = wait_for(mail_lines)
    messages = [line["message"] for line in lines]
    assert any(m.startswith("mail <metrics-1@bosa.example> via smtp: approved") for m in messages)
    assert any(re.match(r"slack #\d+ delivered \(request_decided", m) for m in messages)
    assert any(re.match(r"mail #\d+ deferred", m) for m in messages)  # reply_done, stuck
    with world.app.unit_of_work(readonly=True) as uow:
        rows = list(uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.id > 0).order_by(OutboxMessage.id)))
    queued = [r for r in rows if r.context.get(logs.OUTBOX_KEY) == mail_id]
    assert {r.template for r in queued} >= {"reply_done", "request_decided"}
    # a Slack command: the request, its turn and the delivery of what it queued share an id
    slack = deployment.slack
    [first] = slack.command("inscrire Dupont Marie BOSA-101")
    slack.click("itma_choose_1", "1", message_blocks=first.params["blocks"])
    slack.click("itma_confirm", "confirm")

    def confirm_turn() -> dict[str, Any] | None:
        turns = [line for line in log_lines(deployment.home) if line["message"] == "turn"
                 and line.get("intent") == "confirm"]
        return turns[-1] if turns else None

    turn = wait_for(confirm_turn)
    assert turn["platform"] == "slack" and turn["request_id"]
    with world.app.unit_of_work(readonly=True) as uow:
        confirmation = [r for r in uow.session.scalars(select(OutboxMessage))
                        if r.context.get(logs.OUTBOX_KEY) == turn["request_id"]]
    assert confirmation and all(r.channel == "mail" for r in confirmation)

    def delivery() -> list[dict[str, Any]] | None:
        found = [line for line in log_lines(deployment.home)
                 if line["request_id"] == turn["request_id"]
                 and line["logger"] == "core.services.outbox"]
        return found or None

    assert re.match(r"mail #\d+ deferred", wait_for(delivery)[0]["message"])
    # and not a national number, a token or the reply's words in the whole log
    text = (deployment.home / "logs" / "itma.log").read_text(encoding="utf-8")
    assert token not in text and "vraiment besoin" not in text
    for name in ("Mertens", "Julie", "Dupont", "Marie", "Sophie Lambert"):
        assert name not in text, name
    assert request_id


RECORD = """
import sys, time
from pathlib import Path
from core import metrics
metrics.enable(Path(sys.argv[1]), short_lived=sys.argv[2] == "short")
for _ in range(int(sys.argv[3])):
    metrics.link_attempt("linked")
if sys.argv[4] == "scrape":
    print(metrics.exposition().decode())
sys.stdout.flush()
if sys.argv[4] == "stay":
    print("ready", flush=True)
    time.sleep(60)
"""


def record(home: Path, times: int, mode: str = "exit", lifetime: str = "long") -> str:
    done = subprocess.run([sys.executable, "-c", RECORD, str(home), lifetime, str(times), mode],
                          capture_output=True, text=True, timeout=60, check=True,
                          env=ENV)
    return done.stdout


def linked(exposition: str) -> float:
    return {(s.name, tuple(s.labels.items())): s.value
            for f in text_string_to_metric_families(exposition) for s in f.samples}[
        ("itma_link_attempts_total", (("outcome", "linked"),))]


def test_processes_of_one_host_add_up_and_counters_never_go_back(tmp_path: Path) -> None:
    home, files = tmp_path, tmp_path / "metrics"
    alive = subprocess.Popen([sys.executable, "-c", RECORD, str(home), "long", "2", "stay"],
                             stdout=subprocess.PIPE, text=True,
                             env=ENV)
    try:
        assert alive.stdout is not None and alive.stdout.readline().strip() == "ready"
        record(home, 3)  # exits without folding: its file stays, as after a crash
        assert linked(record(home, 0, "scrape")) == 5  # the dead one folded, the live one read
        assert (files / f"counter_{alive.pid}.db").exists()
    finally:
        alive.kill()
        alive.wait()
    record(home, 1, lifetime="short")  # an MTA pipe: folds its own file when it exits
    assert linked(record(home, 0, "scrape")) == 6
    left = sorted(p.name for p in files.glob("counter_*.db"))
    # the archive, and the last scraper's own file (it exited without folding, like a crash):
    # the live process's and the MTA pipe's were folded
    assert len(left) == 2 and "counter_archive.db" in left, left
    assert f"counter_{alive.pid}.db" not in left


def test_every_refusal_of_the_eid_check_has_its_own_label() -> None:
    from core import eid, metrics

    assert set(eid.REASONS) <= set(metrics.LINK_OUTCOMES)
    assert set(metrics.ENROLLMENT_STATES) == {str(s) for s in EnrollmentState}


def test_the_imap_mailbox_read_shows_its_lag_and_what_it_found(world: World) -> None:
    settings = world.app.settings
    with dovecot() as server:
        server.append(HELPDESK_USER, batch.text("imap-m1", batch.PIETER, "eID werkt niet",
                                                "Mijn kaartlezer wordt niet herkend."))
        with serve({"ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
                    "ITMA_SECRET_KEY": settings.secret_key.decode(),
                    "ITMA_HELPDESK_IMAP_URL": server.url(HELPDESK_USER)}) as base:

            def read() -> dict[Sample, float] | None:
                _text, values = scrape(base)
                key = ("itma_inbound_mails_total", (("mailbox", "helpdesk"),
                                                    ("outcome", "ticket_opened")))
                return values if values.get(key) == 1 else None

            values = wait_for(read, timeout=30)
    helpdesk = (("mailbox", "helpdesk"),)
    polled = values[("itma_imap_last_poll_timestamp_seconds", helpdesk)]
    assert abs(time.time() - polled) < 60
    assert 0 <= values[("itma_imap_lag_seconds", helpdesk)] < 60
    assert values[("itma_imap_messages_waiting", helpdesk)] in (0, 1)
    assert values[("itma_helpdesk_tickets_total", (("category", "eid"),))] == 1
    assert ("itma_imap_lag_seconds", (("mailbox", "replies"),)) not in values  # not configured
