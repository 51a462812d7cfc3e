"""Slack Socket Mode end to end: `serve` dials a local stand-in for Slack's WebSocket endpoint.

The real `serve` subprocess asks the Slack mock for `apps.connections.open` (with the xapp-
token), connects to the WebSocket URL it answers, receives `hello`, then envelopes pushed here
exactly as Slack pushes them, and must acknowledge each with `{"envelope_id": ...}`. The work
the envelopes trigger (response_url posts, views.publish) lands in the Slack mock.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import WSMsgType, web

from core.services.access import link_identity, officer_by_email
from tests.conftest import World
from tests.support import slack_payloads as sp
from tests.support.server import serve
from tests.support.slack_mock import Call, SlackMock

SOPHIE = "USOPHIE"
APP_TOKEN = "xapp-test"
ACK_TIMEOUT = 3.0


@dataclass
class Received:
    """A text frame the client sent on the socket."""

    message: dict[str, Any]
    at: float


class SocketModeServer:
    """Slack's Socket Mode WebSocket endpoint on 127.0.0.1, served from a background thread.

    On connect it sends ``hello`` as Slack does; ``push()`` sends an envelope to every open
    socket; every JSON text frame the client sends back is recorded (``wait_for_ack``).
    """

    def __init__(self, app_id: str = sp.API_APP_ID) -> None:
        self.app_id = app_id
        self.connections = 0
        self._cond = threading.Condition()
        self._received: list[Received] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name="socket-mode-server", daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> SocketModeServer:
        self._thread.start()
        self._run(self._start())
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self._run(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    def _run(self, coroutine: Any, timeout: float = 5.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"ws://{host}:{port}/link/?ticket={uuid.uuid4()}&app_id={self.app_id}"

    async def _stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the endpoint --------------------------------------------------------------------------

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)  # answers the client's pings with pongs
        await ws.prepare(request)
        with self._cond:
            self.connections += 1
            self._sockets.append(ws)
            self._cond.notify_all()
        await ws.send_str(json.dumps({
            "type": "hello", "num_connections": 1,
            "debug_info": {"host": "applink-test", "build_number": 1,
                           "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }))
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                with self._cond:
                    self._received.append(Received(json.loads(frame.data), time.monotonic()))
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._sockets.remove(ws)
        return ws

    # -- test side -----------------------------------------------------------------------------

    def push(self, kind: str, payload: dict[str, Any], accepts_response_payload: bool,
             **extra: Any) -> str:
        """Send one envelope to the connected client; answers its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "payload": payload, "type": kind,
                    "accepts_response_payload": accepts_response_payload, **extra}

        async def send() -> int:
            for ws in self._sockets:
                await ws.send_str(json.dumps(envelope))
            return len(self._sockets)

        assert self._run(send()) == 1, "expected exactly one Socket Mode connection"
        return envelope_id

    def wait(self, predicate: Callable[[dict[str, Any]], bool],
             timeout: float) -> Received:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for received in self._received:
                    if predicate(received.message):
                        return received
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [r.message for r in self._received]
                    raise AssertionError(f"no matching message within {timeout:g}s; "
                                         f"client sent: {seen}")
                self._cond.wait(left)

    def wait_for_ack(self, envelope_id: str, timeout: float = ACK_TIMEOUT) -> dict[str, Any]:
        return self.wait(lambda m: m.get("envelope_id") == envelope_id, timeout).message


@dataclass
class SocketSlack:
    mock: SlackMock
    socket: SocketModeServer
    base: str


@pytest.fixture
def socket_slack(world: World) -> Iterator[SocketSlack]:
    with world.app.unit_of_work() as uow:
        link_identity(uow, officer_by_email(uow, world.officer), "slack", "T1", SOPHIE,
                      via="test")
    settings = world.app.settings
    with SlackMock() as mock, SocketModeServer() as socket:
        mock.ws_url = socket.url
        with serve({"ITMA_HOME": str(settings.home),
                    "ITMA_DATABASE_URL": settings.database_url,
                    "ITMA_SECRET_KEY": settings.secret_key.decode(),
                    "ITMA_SLACK_BOT_TOKEN": "xoxb-test", "ITMA_SLACK_APP_TOKEN": APP_TOKEN,
                    "ITMA_SLACK_API_URL": mock.api_url}, timeout=15) as base:
            yield SocketSlack(mock, socket, base)


def texts(call: Call) -> str:
    return json.dumps(call.params.get("blocks", []), ensure_ascii=False)


def test_slash_command_and_app_home_over_socket_mode(socket_slack: SocketSlack) -> None:
    mock, socket = socket_slack.mock, socket_slack.socket
    [opened] = mock.wait_for("apps.connections.open", timeout=1)
    assert opened.token == APP_TOKEN and opened.error is None
    assert socket.connections == 1

    command = dict(parse_qsl(sp.slash_command(
        "places BOSA-101", user_id=SOPHIE, response_url=mock.response_url("sm")).decode()))
    envelope_id = socket.push("slash_commands", command, accepts_response_payload=True)
    assert socket.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}
    [answer] = mock.wait_for("response_url", where=lambda c: c.key == "sm")
    assert "BOSA-101" in texts(answer)
    assert "Bruxelles — 3 places libres" in texts(answer)

    event = json.loads(sp.event_callback(sp.app_home_opened(SOPHIE)))
    envelope_id = socket.push("events_api", event, accepts_response_payload=False,
                              retry_attempt=0, retry_reason="")
    assert socket.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}
    [home] = mock.wait_for("views.publish")
    assert home.params["user_id"] == SOPHIE
    assert home.params["view"]["type"] == "home"
    assert socket.connections == 1  # no reconnection along the way
