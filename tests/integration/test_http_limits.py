"""The HTTP boundary of the running serve: body caps, and signature headers that are not ASCII.

An unauthenticated client must not be able to make the process hold a large body in memory:
the cap is applied before the signature is checked, on the declared Content-Length and on the
bytes actually streamed (chunked bodies declare none).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from core import migrate
from core.app import App
from core.config import load_settings
from tests.support import slack_payloads as sp
from tests.support.processes import stop
from tests.support.server import start
from tests.support.slack_mock import SlackMock

INTAKE_SECRET = "intake-secret-for-tests"
SLACK_SECRET = "slack-signing-secret-for-tests"
BIG = 100_000_000  # a hundred times the cap
CHUNK = 64 * 1024
GROWTH_LIMIT_KB = 8 * 1024


@dataclass(frozen=True)
class Server:
    base: str
    pid: int
    log: Path

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One serve for the module (the database plays no part here)."""
    home = tmp_path_factory.mktemp("http-limits")
    env = {"ITMA_HOME": str(home), "ITMA_DATABASE_URL": f"sqlite:///{home / 'itma.db'}",
           "ITMA_SECRET_KEY": "test-secret-key-0123456789", "ITMA_INTAKE_SECRET": INTAKE_SECRET,
           "ITMA_SLACK_BOT_TOKEN": "xoxb-test", "ITMA_SLACK_SIGNING_SECRET": SLACK_SECRET}
    application = App(load_settings(env))
    migrate.upgrade(application.db)
    application.close()
    with SlackMock() as mock:
        process, base = start({**env, "ITMA_SLACK_API_URL": mock.api_url})
        try:
            yield Server(base, process.pid, home / "serve.out")
        finally:
            stop(process)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def raw_post(base: str, path: str, headers: dict[str, str], body: Iterator[bytes]) -> int:
    """POST over a raw socket, sending the body while reading the answer, as curl does.

    Returns the status code of the answer, which may come before the body is all sent.
    """
    url = urlsplit(base)
    sock = socket.create_connection((url.hostname, url.port), timeout=20)
    answered = threading.Event()
    head = f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"

    def pump() -> None:
        try:
            sock.sendall(head.encode("latin-1"))
            for chunk in body:
                if answered.is_set():
                    return
                sock.sendall(chunk)
        except OSError:
            pass

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    received = b""
    try:
        while b"\r\n" not in received:
            part = sock.recv(4096)
            if not part:
                break
            received += part
    finally:
        answered.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        sender.join(timeout=10)
    assert received.startswith(b"HTTP/1.1 "), received
    return int(received.split()[1])


def zeros(total: int) -> Iterator[bytes]:
    block = b"0" * CHUNK
    for _ in range(total // CHUNK):
        yield block


def chunked(total: int) -> Iterator[bytes]:
    for block in zeros(total):
        yield f"{len(block):x}\r\n".encode() + block + b"\r\n"
    yield b"0\r\n\r\n"


ROUTES = {
    "/intake/registrations": {"content-type": "application/json",
                              "x-itma-signature": "sha256=" + "0" * 64},
    "/slack/events": {"content-type": "application/x-www-form-urlencoded",
                      "x-slack-signature": "v0=" + "0" * 64,
                      "x-slack-request-timestamp": str(int(time.time()))},
}


def test_large_bodies_are_refused_before_they_are_read(server: Server) -> None:
    base, pid = server.base, server.pid
    declared = {"content-length": str(BIG)}
    streamed = {"transfer-encoding": "chunked"}
    assert raw_post(base, "/intake/registrations",
                    {**ROUTES["/intake/registrations"], **declared}, zeros(BIG)) == 413
    before = rss_kb(pid)
    started = time.monotonic()
    for path, headers in ROUTES.items():
        assert raw_post(base, path, {**headers, **declared}, zeros(BIG)) == 413, path
        assert raw_post(base, path, {**headers, **streamed}, chunked(BIG)) == 413, path
    assert time.monotonic() - started < 10
    assert rss_kb(pid) - before < GROWTH_LIMIT_KB


def test_a_body_just_over_the_cap_without_length_is_refused(server: Server) -> None:
    base = server.base
    for path, headers in ROUTES.items():
        status = raw_post(base, path, {**headers, "transfer-encoding": "chunked"},
                          chunked(1_000_000 + CHUNK))
        assert status == 413, path
    assert raw_post(base, "/intake/registrations",
                    {**ROUTES["/intake/registrations"], "content-length": "12x"},
                    iter([b"{}"])) == 400


def post(base: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(base + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_non_ascii_signature_headers_are_401_not_500(server: Server) -> None:
    base = server.base
    tracebacks = server.tracebacks()
    body = b'{"person": {}}'
    for signature in ("sha256=é" + "0" * 63, "sha256=\u00ff", "é"):
        assert post(base, "/intake/registrations", body,
                    {"content-type": "application/json",
                     "x-itma-signature": signature}) == 401, signature
    form = sp.slash_command("aide", user_id="U1", response_url="http://127.0.0.1:9/r")
    signed = sp.sign(form, SLACK_SECRET)
    for headers in ({**signed, "x-slack-signature": "v0=é" + "0" * 63},
                    {**signed, "x-slack-signature": "\u00e9\u00e8"},
                    {**signed, "x-slack-request-timestamp": "\u00b2"},
                    {**signed, "x-slack-request-timestamp": "\u00b9\u00b2\u00b3"}):
        assert post(base, "/slack/events", form, {"content-type": sp.FORM, **headers}) == 401
    assert server.tracebacks() == tracebacks


def test_deeply_nested_json_is_refused_cleanly(server: Server) -> None:
    base = server.base
    tracebacks = server.tracebacks()
    body = b"[" * 200_000 + b"]" * 200_000
    signature = "sha256=" + hmac.new(INTAKE_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert post(base, "/intake/registrations", body, {
        "content-type": "application/json", "x-itma-signature": signature}) == 422
    slack = b'{"type": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    assert post(base, "/slack/events", slack, {"content-type": sp.JSON,
                                               **sp.sign(slack, SLACK_SECRET)}) == 400
    assert server.tracebacks() == tracebacks
