"""POST /intake/registrations on the running serve: signed, validated, idempotent."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.models import OutboxMessage, RegistrationRequest
from core.services.access import link_identity, officer_by_email
from tests.conftest import World
from tests.support.server import free_port, serve
from tests.support.slack_mock import SlackMock

SECRET = "intake-secret-for-tests"
BODY = {"external_id": "web-2026-000123",
        "person": {"surname": "Dupont", "given_names": "Anne", "email": "anne.dupont@example.be",
                   "language": "fr", "organisation": "BOSA"},
        "wants": {"kind": "session", "training_code": "BOSA-101", "session_start": "2027-03-12"}}


@pytest.fixture
def base(world: World) -> Iterator[str]:
    settings = world.app.settings
    with serve({"ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
                "ITMA_SECRET_KEY": settings.secret_key.decode(), "ITMA_INTAKE_SECRET": SECRET,
                "ITMA_SMTP_LISTEN": f"127.0.0.1:{free_port()}"}) as url:
        yield url


def post(base: str, payload: Any, secret: str = SECRET) -> tuple[int, dict[str, Any]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(base + "/intake/registrations", data=body, method="POST",
                                     headers={"content-type": "application/json",
                                              "x-itma-signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def count(world: World, model: type) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_signed_request_is_stored_once_and_officers_are_notified(base: str, world: World) -> None:
    status, answer = post(base, BODY)
    assert status == 201 and answer["created"] is True
    status, again = post(base, BODY)
    assert status == 200 and again == {"id": answer["id"], "created": False}
    assert count(world, RegistrationRequest) == 1
    with world.app.unit_of_work(readonly=True) as uow:
        templates = list(uow.session.scalars(select(OutboxMessage.template)))
    assert templates.count("request_new") == 3  # the BOSA officers with valid access


def test_bad_signature_and_invalid_content(base: str, world: World) -> None:
    assert post(base, BODY, secret="wrong")[0] == 401
    status, answer = post(base, {"person": {"surname": ""}, "wants": {"kind": "course"}})
    assert status == 422
    fields = {e["field"] for e in answer["errors"]}
    assert {"person.surname", "person.email", "wants.kind"} <= fields
    status, answer = post(base, b"{not json")
    assert status == 422 and answer["errors"][0]["field"] == "body"
    bad_org = json.loads(json.dumps(BODY))
    bad_org["person"]["organisation"] = "NOPE"
    bad_org["external_id"] = "web-2"
    status, answer = post(base, bad_org)
    assert status == 422 and answer["errors"][0]["field"] == "person.organisation"
    bad_nrn = json.loads(json.dumps(BODY))
    bad_nrn["person"]["national_register_number"] = "12345678901"
    bad_nrn["external_id"] = "web-3"
    status, answer = post(base, bad_nrn)
    assert status == 422 and answer["errors"][0]["field"] == "person.national_register_number"
    assert "12345678901" not in json.dumps(answer)
    assert count(world, RegistrationRequest) == 0


def test_cli_submit_does_the_same_from_a_file(world: World, tmp_path: Path) -> None:
    settings = world.app.settings
    path = tmp_path / "request.json"
    path.write_text(json.dumps(BODY), encoding="utf-8")
    env = {"ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
           "ITMA_SECRET_KEY": settings.secret_key.decode(), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "cli", "requests", "submit", "--json", str(path)]
    first = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60,
                           cwd=Path(__file__).resolve().parents[2])
    second = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    assert json.loads(first.stdout)["created"] is True
    assert json.loads(second.stdout) == {"id": json.loads(first.stdout)["id"], "created": False}
    assert count(world, RegistrationRequest) == 1


def changed(path: str, value: Any) -> dict[str, Any]:
    payload = json.loads(json.dumps(BODY))
    *parents, last = path.split(".")
    node = payload
    for key in parents:
        node = node[key]
    node[last] = value
    return payload


def test_the_strict_schema_is_applied_at_the_boundary(base: str, world: World) -> None:
    for path, value in (("wants.session_start", 20270311), ("wants.session_start", "20270311"),
                        ("wants.title", "Formation officielle"), ("wants.place", "ailleurs"),
                        ("person.surname", "Dupont\r\nBcc: x@evil.example"),
                        ("person.surname", "x" * 101), ("person.email", "a@b"),
                        ("person.language", "es"), ("external_id", 7), ("extra", {})):
        status, answer = post(base, changed(path, value))
        assert status == 422, (path, value)
        assert answer == {"errors": [{"field": path, "reason": answer["errors"][0]["reason"]}]}
    status, answer = post(base, b"[" * 100_000)
    assert status == 422 and answer["errors"][0]["field"] == "body"
    assert count(world, RegistrationRequest) == 0


def test_cli_submit_applies_the_same_schema(world: World, tmp_path: Path) -> None:
    settings = world.app.settings
    path = tmp_path / "request.json"
    path.write_text(json.dumps(changed("wants.session_start", 20270311)), encoding="utf-8")
    env = {"ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
           "ITMA_SECRET_KEY": settings.secret_key.decode(), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "cli", "requests", "submit", "--json",
                          str(path)], capture_output=True, text=True, env=env, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 1 and run.stdout == ""
    assert "wants.session_start: expected a string" in run.stderr
    assert count(world, RegistrationRequest) == 0


HOSTILE = "<!channel> <https://evil.example|Cliquez ici>"


def test_typed_text_reaches_slack_as_text_never_as_markup(world: World) -> None:
    with world.app.unit_of_work() as uow:
        link_identity(uow, officer_by_email(uow, world.officer), "slack", "T1", "USOPHIE",
                      via="test")
    settings = world.app.settings
    with SlackMock() as mock, serve({
            "ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
            "ITMA_SECRET_KEY": settings.secret_key.decode(), "ITMA_INTAKE_SECRET": SECRET,
            "ITMA_SLACK_BOT_TOKEN": "xoxb-test", "ITMA_SLACK_SIGNING_SECRET": "s",
            "ITMA_SLACK_API_URL": mock.api_url}) as url:
        status, _answer = post(url, changed("person.surname", HOSTILE))
        assert status == 201
        [card] = mock.wait_for("chat.postMessage")
    texts = [b["text"]["text"] for b in card.params["blocks"]
             if isinstance(b.get("text"), dict) and b["text"].get("type") == "mrkdwn"]
    assert texts and "&lt;!channel&gt; &lt;https://evil.example|Cliquez ici&gt;" in texts[0]
    assert not any("<" in text or ">" in text for text in texts)
