"""A local stand-in for Microsoft's Bot Connector and its key set, for tests that must not
reach the Microsoft cloud.

    with TeamsConnector() as connector:
        activity = teams_activities.message("places BOSA-101", ..., service_url=connector.url)
        ...                                  # POST it to serve's /api/messages
        [call] = connector.wait_for("create")
        assert call.conversation_id == "a:1sophie"

A real HTTP server on 127.0.0.1 (a free port) in a background thread, speaking the connector's
wire format as the Teams SDK uses it:

- ``POST /v3/conversations/{id}/activities`` (kind ``create``): answers ``{"id": "act-N"}``;
- ``PUT /v3/conversations/{id}/activities/{activityId}`` (kind ``update``);
- ``POST /v3/conversations`` (kind ``conversation``): opens a 1:1 chat, answers
  ``{"id": "a:opened-<member>", "serviceUrl": <this server>}``;
- ``GET /v1/.well-known/openidconfiguration`` and ``GET /v1/.well-known/keys``: the OpenID
  metadata and JSON Web Key Set that sign incoming activities (see ``teams_activities``);
- files, standing in for OneDrive: ``add_file(name, content)`` gives the ``file.download.info``
  attachment Teams puts in a message, whose ``downloadUrl`` is served here (kind ``download``,
  with or without a Content-Length); ``upload_info(name)`` is what a ``fileConsent/invoke``
  carries, its ``uploadUrl`` takes the bot's ``PUT`` (kind ``upload``, the bytes in ``data``).

Every request to the connector is recorded as a :class:`Call` before it is answered; ``fail()``
queues error statuses; ``keys_available = False`` makes the key set answer 503.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import quote

HOST = "127.0.0.1"
OPENID_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"
ISSUER = "https://api.botframework.com"
_ACTIVITIES = re.compile(r"^/v3/conversations/(?P<conversation>.+?)/activities"
                         r"(?:/(?P<activity>[^/]+))?$")
_POLL_S = 0.01


@dataclass
class Call:
    """One request the connector received."""

    kind: str  # "create", "update" or "conversation"
    conversation_id: str | None
    activity_id: str | None
    body: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    data: bytes = field(default=b"", repr=False)
    """An upload's bytes (kind ``upload``)."""

    @property
    def card(self) -> dict[str, Any] | None:
        """The Adaptive Card the activity carries, if any."""
        for attachment in self.body.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return dict(attachment["content"])
        return None

    @property
    def text(self) -> str:
        """Every text of the activity: its own and its card's TextBlocks, unescaped."""
        parts = [str(self.body.get("text") or "")]
        card = self.card
        if card:
            parts += card_texts(card)
        return "\n".join(p for p in parts if p)

    def __str__(self) -> str:
        shown = json.dumps(self.body, ensure_ascii=False)
        if len(shown) > 300:
            shown = shown[:297] + "..."
        return f"{self.kind} {self.conversation_id} {self.activity_id or ''} {shown}"


_ESCAPE = re.compile(r"\\(.)")


def unescape(text: str) -> str:
    """A TextBlock's Markdown escapes removed: what the reader sees."""
    return _ESCAPE.sub(r"\1", text)


def card_texts(card: dict[str, Any]) -> list[str]:
    """The TextBlocks of a card, in order, as shown."""
    return [unescape(str(element.get("text", ""))) for element in card.get("body") or []
            if element.get("type") == "TextBlock"]


class TeamsConnector:
    """The Bot Connector and the Bot Framework key set on a local port."""

    def __init__(self, jwks: dict[str, Any] | None = None) -> None:
        self.jwks = jwks or {"keys": []}
        self.keys_available = True
        self.key_fetches = 0
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._failures: dict[str, list[int]] = {}
        self._counter = itertools.count(1)
        self._files: dict[str, tuple[bytes, bool]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> TeamsConnector:
        if self._server is not None:
            return self
        connector = self

        class Handler(_Handler):
            owner = connector

        server = _Server((HOST, 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name=f"teams-connector-{server.server_address[1]}",
                                  daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> TeamsConnector:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the activities' serviceUrl and the OpenID issuer host."""
        if self._server is None:
            raise RuntimeError("TeamsConnector is not started")
        return f"http://{HOST}:{self._server.server_address[1]}"

    @property
    def openid_url(self) -> str:
        """What ITMA_TEAMS_OPENID_URL takes."""
        return self.url + OPENID_PATH

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def of(self, kind: str, where: Callable[[Call], bool] | None = None) -> list[Call]:
        return [c for c in self.calls if c.kind == kind and (where is None or where(c))]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 10.0,
                 where: Callable[[Call], bool] | None = None) -> list[Call]:
        """Every call of ``kind`` (matching ``where``) once there are at least ``count``."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.of(kind, where)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                listing = "\n".join(f"  {call}" for call in self.calls) or "  (none)"
                raise AssertionError(f"expected {count} {kind} call(s) within {timeout:g}s, "
                                     f"got {len(found)}; calls seen:\n{listing}")
            time.sleep(_POLL_S)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def add_file(self, name: str, content: bytes, *, declare_length: bool = True
                 ) -> dict[str, Any]:
        """A file someone sent the bot in a personal chat: the attachment Teams puts in the
        message. Without `declare_length` it is served chunked, its size unannounced."""
        file_id = uuid.uuid4().hex
        with self._lock:
            self._files[file_id] = (content, declare_length)
        return {"contentType": "application/vnd.microsoft.teams.file.download.info",
                "contentUrl": f"https://contoso-my.sharepoint.com/personal/x/{quote(name)}",
                "name": name,
                "content": {"downloadUrl": f"{self.url}/files/{file_id}/{quote(name)}",
                            "uniqueId": file_id, "fileType": name.rsplit(".", 1)[-1]}}

    def upload_info(self, name: str) -> dict[str, Any]:
        """The uploadInfo of a fileConsent/invoke: where the bot PUTs the bytes."""
        file_id = uuid.uuid4().hex
        return {"name": name, "uploadUrl": f"{self.url}/upload/{file_id}",
                "contentUrl": f"https://contoso-my.sharepoint.com/personal/x/{quote(name)}",
                "uniqueId": file_id, "fileType": name.rsplit(".", 1)[-1]}

    def _file(self, file_id: str) -> tuple[bytes, bool] | None:
        with self._lock:
            found = self._files.get(file_id)
            self._calls.append(Call("download", None, file_id, {}, None,
                                    status=200 if found else 404))
        return found

    def _uploaded(self, file_id: str, headers: dict[str, str], data: bytes) -> None:
        with self._lock:
            self._calls.append(Call("upload", None, file_id, {"headers": headers}, None,
                                    status=201, data=data))

    def fail(self, kind: str, status: int, times: int = 1) -> None:
        """The next ``times`` calls of ``kind`` answer ``status`` (an error body)."""
        with self._lock:
            self._failures.setdefault(kind, []).extend([status] * times)

    def _handle(self, call: Call) -> tuple[int, dict[str, Any]]:
        with self._lock:
            queued = self._failures.get(call.kind)
            status = queued.pop(0) if queued else HTTPStatus.OK
            n = next(self._counter)
        if status != HTTPStatus.OK:
            answer: dict[str, Any] = {"error": {"code": "Failure", "message": str(status)}}
        elif call.kind == "create":
            answer = {"id": f"act-{n}"}
        elif call.kind == "update":
            answer = {"id": call.activity_id}
        else:
            members = call.body.get("members") or [{}]
            answer = {"id": f"a:opened-{members[0].get('id')}", "serviceUrl": self.url}
        call.status = int(status)
        with self._lock:
            self._calls.append(call)
        return int(status), answer


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the SDK's clients connect in bursts


class _Handler(BaseHTTPRequestHandler):
    owner: TeamsConnector
    protocol_version = "HTTP/1.1"  # keep-alive, as the real connector
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.owner
        if self.path == OPENID_PATH:
            self._send(200, {"issuer": ISSUER, "jwks_uri": owner.url + KEYS_PATH,
                             "id_token_signing_alg_values_supported": ["RS256"]})
        elif self.path.startswith("/files/"):
            self._download(self.path.split("/")[2])
        elif self.path == KEYS_PATH:
            owner.key_fetches += 1
            if owner.keys_available:
                self._send(200, owner.jwks)
            else:
                self._send(503, {"error": "unavailable"})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        self._connector()

    def do_PUT(self) -> None:
        if self.path.startswith("/upload/"):
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else b""
            self.owner._uploaded(self.path.split("/")[2], {
                "content-range": self.headers.get("Content-Range") or "",
                "authorization": self.headers.get("Authorization") or ""}, data)
            self._send(201, {"id": self.path.split("/")[2], "size": len(data)})
            return
        self._connector()

    def _download(self, file_id: str) -> None:
        found = self.owner._file(file_id)
        if found is None:
            self._send(404, {"error": "not found"})
            return
        content, declared = found
        with suppress(OSError):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if declared:
                self.send_header("Content-Length", str(len(content)))
            else:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(content), 65536):
                chunk = content[start:start + 65536]
                self.wfile.write(chunk if declared else
                                 f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            if not declared:
                self.wfile.write(b"0\r\n\r\n")

    def _connector(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._send(400, {"error": "invalid json"})
            return
        authorization = self.headers.get("Authorization") or ""
        token = authorization[7:] if authorization.startswith("Bearer ") else None
        path = self.path
        match = _ACTIVITIES.match(path)
        if path == "/v3/conversations" and self.command == "POST":
            call = Call("conversation", None, None, body, token)
        elif match and self.command == "POST" and not match["activity"]:
            call = Call("create", match["conversation"], None, body, token)
        elif match and self.command == "PUT" and match["activity"]:
            call = Call("update", match["conversation"], match["activity"], body, token)
        else:
            self._send(404, {"error": "unknown"})
            return
        status, answer = self.owner._handle(call)
        self._send(status, answer)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        with suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)


def main() -> int:
    """python -m tests.support.teams_connector [--port 3979]: a connector that prints the
    messages the bot posts (their card texts and buttons), to try Teams without Microsoft."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.support.teams_connector")
    parser.add_argument("--port", type=int, default=3979)
    args = parser.parse_args()
    connector = TeamsConnector()

    class Printing(_Handler):
        owner = connector

        def _connector(self) -> None:
            super()._connector()
            call = connector.calls[-1] if connector.calls else None
            if call is not None:
                card = call.card or {}
                choices = [f"  ( ) {c.get('title')}" for e in card.get("body") or []
                           if e.get("type") == "Input.ChoiceSet" for c in e.get("choices") or []]
                buttons = [str(a.get("title")) for a in card.get("actions") or []]
                print("\n".join([f"── {call.kind} {call.conversation_id or ''}", call.text,
                                 *choices, *([f"[{' | '.join(buttons)}]"] if buttons else [])]),
                      flush=True)
                connector.clear()

    server = _Server((HOST, args.port), Printing)
    connector._server = server
    print(f"Bot Connector stand-in on {connector.url}: answers are printed here", flush=True)
    with suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
