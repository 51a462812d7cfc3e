"""A local stand-in for Slack's Web API and response URLs, for tests that must not reach Slack.

    with SlackMock() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        ...                                          # or ITMA_SLACK_API_URL=slack.api_url
        [call] = slack.wait_for("chat.postMessage")
        assert call.params["channel"] == "D1"

A real HTTP server on 127.0.0.1 (a free port) runs in a background thread and speaks Slack's wire
format the way ``slack_sdk`` uses it: ``POST /api/<method>`` with either a JSON body
(``chat.postMessage``, ``views.open``, ...) or form fields and/or a query string (``auth.test``,
``conversations.open``, ``users.info`` as GET, ...), the token in ``Authorization: Bearer``. Every
request is recorded as a :class:`Call` before it is answered, failed ones included. Answers are
HTTP 200 JSON like Slack's; ``fail()`` queues ``{"ok": false, "error": ...}`` answers.

``POST /response/<KEY>`` (a JSON body, as Bolt's ``respond()`` sends to a ``response_url``) is
recorded as ``Call(method="response_url", key=KEY)``; build such URLs with ``response_url(KEY)``.

Files, both ways: ``add_file(name, content)`` returns the file object Slack puts in events (with
``url_private`` / ``url_private_download`` on this server, a declared ``size`` that may lie);
``GET`` of those URLs serves the bytes to the bot token only (anything else gets Slack's HTML
sign-in page, as Slack does) and is recorded as ``Call(method="file_download")``.
``files.info`` answers the file. Uploads go as slack_sdk's ``files_upload_v2`` sends them:
``files.getUploadURLExternal`` gives an upload URL here, ``POST /upload/v1/<ID>`` is recorded as
``Call(method="file_upload", data=<bytes>)``, ``files.completeUploadExternal`` shares them;
``shared()`` lists what was shared where, with its bytes.
Nothing happens at import time.
"""

from __future__ import annotations

import email.policy
import itertools
import json
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

HOST = "127.0.0.1"
RESPONSE_URL_METHOD = "response_url"
BOT_ID = "B1"
# Form fields that Slack clients send as JSON strings; decoded in Call.params.
JSON_FIELDS = ("blocks", "view", "attachments")
_POLL_S = 0.01
_MAX_BODY = 50 * 1024 * 1024


@dataclass
class Call:
    """One request the mock received."""

    method: str  # "chat.postMessage", ... or "response_url" for posts to a response URL
    params: dict[str, Any]  # JSON body, or query + form fields (JSON_FIELDS decoded)
    token: str | None  # from the Authorization header, or the token field
    key: str | None = None  # for response_url calls: the KEY of /response/KEY
    at: float = field(default_factory=time.monotonic)
    error: str | None = None  # the error answered ({"ok": false}), None when ok
    data: bytes = field(default=b"", repr=False)  # an upload's bytes

    def __str__(self) -> str:
        shown = json.dumps(self.params, ensure_ascii=False, default=repr)
        if len(shown) > 300:
            shown = shown[:297] + "..."
        where = f"/{self.key}" if self.key is not None else ""
        failed = f" -> {self.error}" if self.error else ""
        return f"{self.method}{where} {shown}{failed}"


@dataclass
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SharedFile:
    """A file the app uploaded and shared (files.completeUploadExternal)."""

    id: str
    filename: str
    title: str
    channel: str | None
    thread_ts: str | None
    content: bytes = field(repr=False)


SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"


class SlackMock:
    """Slack's Web API on a local port; see the module docstring."""

    def __init__(self, team_id: str = "T1", bot_user_id: str = "UBOT",
                 bot_token: str = "xoxb-test") -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_token = bot_token
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self._uploads: dict[str, dict[str, Any]] = {}
        self._shared: list[SharedFile] = []
        self.ws_url: str | None = None  # what apps.connections.open returns when set
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._failures: dict[str, list[tuple[str, int]]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._counter = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SlackMock:
        if self._server is not None:
            return self
        mock = self

        class Handler(_Handler):
            slack = mock

        server = ThreadingHTTPServer((HOST, 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"slack-mock-{server.server_address[1]}", daemon=True,
        )
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

    def __enter__(self) -> SlackMock:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/``; the mock must be started."""
        if self._server is None:
            raise RuntimeError("SlackMock is not started")
        return f"http://{HOST}:{self._server.server_address[1]}/"

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``: what ``AsyncWebClient(base_url=...)`` takes."""
        return self.base_url + "api/"

    def response_url(self, key: str) -> str:
        """``http://127.0.0.1:PORT/response/KEY``; posts there are recorded with ``key=KEY``."""
        return f"{self.base_url}response/{key}"

    # -- recorded calls ------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Every call of ``method`` (matching ``where``) once there are at least ``count``.

        Raises AssertionError listing every call seen so far when ``timeout`` runs out.
        """
        deadline = time.monotonic() + timeout
        while True:
            seen = self.calls
            found = [c for c in seen if c.method == method and (where is None or where(c))]
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                listing = "\n".join(f"  {call}" for call in seen) or "  (none)"
                condition = " matching `where`" if where is not None else ""
                raise AssertionError(
                    f"expected {count} call(s) of {method}{condition} within {timeout:g}s, "
                    f"got {len(found)}; calls seen:\n{listing}"
                )
            time.sleep(_POLL_S)

    def clear(self) -> None:
        """Forget the recorded calls (queued failures and users stay)."""
        with self._lock:
            self._calls.clear()

    # -- behaviour -----------------------------------------------------------------------------

    def fail(
        self, method: str, error: str = "ratelimited", status: int = 200, times: int = 1
    ) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``.

        ``error == "ratelimited"`` answers HTTP 429 with ``Retry-After: 1`` (unless another
        status than 200 is given). ``method`` may be ``"response_url"``.
        """
        if error == "ratelimited" and status == HTTPStatus.OK:
            status = HTTPStatus.TOO_MANY_REQUESTS
        with self._lock:
            self._failures.setdefault(method, []).extend([(error, int(status))] * times)

    def add_file(self, name: str, content: bytes, *, size: int | None = None,
                 user: str = "U1", channel: str = "D1", mimetype: str = "text/csv",
                 url: str | None = None) -> dict[str, Any]:
        """A file someone uploaded: the object Slack puts in `files` of a message event.

        `size` is what Slack declares (the real length unless given); `url` replaces both
        download URLs (a file somewhere else)."""
        file_id = f"F{self._next():08d}"
        base = f"{self.base_url}files-pri/{self.team_id}-{file_id}/"
        ims = [channel] if channel.startswith("D") else []
        file = {
            "id": file_id, "created": int(time.time()), "timestamp": int(time.time()),
            "name": name, "title": name, "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1].lower(), "pretty_type": "CSV", "user": user,
            "user_team": self.team_id, "editable": False,
            "size": len(content) if size is None else size, "mode": "hosted",
            "is_external": False, "external_type": "", "is_public": not ims,
            "public_url_shared": False, "display_as_bot": False, "username": "",
            "url_private": url or base + quote(name),
            "url_private_download": url or base + "download/" + quote(name),
            "permalink": f"https://test.slack.com/files/{user}/{file_id}/{quote(name)}",
            "channels": [] if ims else [channel], "groups": [], "ims": ims,
            "has_rich_preview": False, "file_access": "visible",
        }
        with self._lock:
            self._files[file_id] = (file, content)
        return dict(file)

    def shared(self, channel: str | None = None) -> list[SharedFile]:
        """Files the app uploaded and shared (in `channel` only, when given)."""
        with self._lock:
            return [f for f in self._shared if channel is None or f.channel == channel]

    def set_user(self, user_id: str, **fields: Any) -> None:
        """Override what ``users.info`` answers for ``user_id`` (``profile`` is merged)."""
        with self._lock:
            current = self._users.setdefault(user_id, {})
            profile = {**current.get("profile", {}), **fields.pop("profile", {})}
            current.update(fields)
            if profile:
                current["profile"] = profile

    # -- request handling (server threads) -----------------------------------------------------

    def _next(self) -> int:
        with self._lock:
            return next(self._counter)

    def _ts(self) -> str:
        n = self._next()
        return f"{1700000000 + n // 10000}.{(n % 10000) * 100:06d}"

    def _handle(self, call: Call, authed: bool) -> _Answer:
        with self._lock:
            queued = self._failures.get(call.method)
            failure = queued.pop(0) if queued else None
        if failure is not None:
            error, status = failure
            headers = {"Retry-After": "1"} if status == HTTPStatus.TOO_MANY_REQUESTS else {}
            answer = _Answer(status, {"ok": False, "error": error}, headers)
        elif call.method != RESPONSE_URL_METHOD and not authed:
            answer = _Answer(HTTPStatus.OK, {"ok": False, "error": "not_authed"})
        else:
            answer = _Answer(HTTPStatus.OK, self._answer(call.method, call.params))
        if not answer.body.get("ok"):
            call.error = str(answer.body.get("error"))
        with self._lock:
            self._calls.append(call)
        return answer

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": True}
        answer: dict[str, Any] = handler(params)
        return answer

    def _api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "itma",
            "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = self._ts()
        message: dict[str, Any] = {
            "type": "message", "user": self.bot_user_id, "bot_id": BOT_ID,
            "text": params.get("text", ""), "blocks": params.get("blocks", []), "ts": ts,
        }
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}

    def _api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text", "")
        return {
            "ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": text,
            "message": {"text": text, "blocks": params.get("blocks", [])},
        }

    def _api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._ts()}

    def _api_chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}

    def _api_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            return {"ok": True, "channel": {"id": params["channel"]}}
        users = str(params.get("users") or "")
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users.replace(",", "")}}

    def _view(self, params: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        n = self._next()
        return {
            "ok": True,
            "view": {**view, "id": view_id or f"V{n:08d}", "hash": f"{n}.mockhash",
                     "team_id": self.team_id},
        }

    def _api_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._view(params)

    def _api_views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._view(params)

    def _api_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._view(params)

    def _api_views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._view(params, view_id=params.get("view_id"))

    def _api_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user") or "")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        user: dict[str, Any] = {
            "id": user_id, "team_id": self.team_id, "name": user_id.lower(),
            "real_name": user_id, "deleted": False, "is_bot": False,
            "locale": "fr-BE", "tz": "Europe/Brussels", "tz_offset": 3600,
            "profile": {"email": f"{user_id.lower()}@example.be", "real_name": user_id},
        }
        with self._lock:
            override = json.loads(json.dumps(self._users.get(user_id, {})))
        user["profile"].update(override.pop("profile", {}))
        user.update(override)
        return {"ok": True, "user": user}

    def _api_files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            found = self._files.get(str(params.get("file") or ""))
        if found is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": dict(found[0]), "comments": [], "response_metadata": {}}

    def _api_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        filename, length = params.get("filename"), str(params.get("length") or "")
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{self._next():08d}"
        with self._lock:
            self._uploads[file_id] = {"filename": str(filename), "length": int(length),
                                      "data": None}
        return {"ok": True, "upload_url": f"{self.base_url}upload/v1/{file_id}",
                "file_id": file_id}

    def _api_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            files = json.loads(str(params.get("files") or "[]"))
        except json.JSONDecodeError:
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        with self._lock:
            for item in files:
                upload = self._uploads.pop(str(item.get("id")), None)
                if upload is None or upload["data"] is None:
                    return {"ok": False, "error": "file_not_found"}
                title = str(item.get("title") or upload["filename"])
                self._shared.append(SharedFile(
                    str(item["id"]), upload["filename"], title, params.get("channel_id"),
                    params.get("thread_ts"), upload["data"]))
                done.append({"id": item["id"], "title": title, "name": upload["filename"]})
        return {"ok": True, "files": done}

    def _uploaded(self, file_id: str, data: bytes) -> bool:
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                return False
            upload["data"] = data
            return True

    def _download(self, path: str, token: str | None) -> tuple[int, bytes, str]:
        """(status, body, content type) for GET /files-pri/<TEAM>-<ID>/…"""
        file_id = path.split("/")[2].split("-", 1)[-1]
        with self._lock:
            found = self._files.get(file_id)
        call = Call(method="file_download", params={"file": file_id}, token=token)
        if found is None:
            call.error, answer = "file_not_found", (404, b"Not found", "text/plain")
        elif token != self.bot_token:
            call.error, answer = "not_authed", (200, SIGN_IN_PAGE, "text/html; charset=utf-8")
        else:
            answer = (200, found[1], str(found[0].get("mimetype") or "application/octet-stream"))
        with self._lock:
            self._calls.append(call)
        return answer

    def _api_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.ws_url is None:
            return {"ok": False, "error": "not_configured"}
        return {"ok": True, "url": self.ws_url}


class _Handler(BaseHTTPRequestHandler):
    slack: SlackMock  # set on the per-server subclass
    server_version = "SlackMock/1.0"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def _serve(self) -> None:
        try:
            self._serve_one()
        except Exception:
            # A bug in the mock: answer 500 rather than drop the connection, then let
            # socketserver print the traceback.
            with suppress(OSError):
                self._send(_Answer(HTTPStatus.INTERNAL_SERVER_ERROR,
                                   {"ok": False, "error": "mock_internal_error"}))
            raise

    def _serve_one(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        length = min(int(self.headers.get("Content-Length") or 0), _MAX_BODY)
        body = self.rfile.read(length) if length > 0 else b""
        if path.startswith("/files-pri/") and self.command == "GET":
            self._send_bytes(*self.slack._download(path, _bearer(
                self.headers.get("Authorization"))))
            return
        if path.startswith("/upload/v1/") and self.command == "POST":
            file_id = path.rsplit("/", 1)[-1]
            known = self.slack._uploaded(file_id, body)
            with self.slack._lock:
                self.slack._calls.append(Call(method="file_upload", params={"file_id": file_id},
                                              token=None, data=body,
                                              error=None if known else "unknown_upload"))
            self._send_bytes(200 if known else 404, f"OK - {len(body)}".encode(), "text/plain")
            return
        content_type = self.headers.get("Content-Type") or ""
        try:
            params = _parse_params(url.query, body, content_type)
        except ValueError as error:
            self._send(_Answer(HTTPStatus.BAD_REQUEST, {"ok": False, "error": str(error)}))
            return
        token = _bearer(self.headers.get("Authorization"))
        if token is None and isinstance(params.get("token"), str):
            token = params["token"]
        if path.startswith("/api/") and len(path) > len("/api/"):
            call = Call(method=path[len("/api/"):], params=params, token=token)
        elif path.startswith("/response/") and self.command == "POST":
            call = Call(method=RESPONSE_URL_METHOD, params=params, token=token,
                        key=path[len("/response/"):])
        else:
            self._send(_Answer(HTTPStatus.NOT_FOUND, {"ok": False, "error": "unknown_method"}))
            return
        self._send(self.slack._handle(call, authed=bool(token)))

    def _send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        """Raw bytes in chunks; a reader that stops early (a size cap) is no error here."""
        with suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for start in range(0, len(body), 65536):
                self.wfile.write(body[start:start + 65536])

    def _send(self, answer: _Answer) -> None:
        payload = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _parse_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query string, then the body (JSON, form or multipart) on top."""
    params: dict[str, Any] = _fields(parse_qsl(query, keep_blank_values=True))
    mime = content_type.split(";")[0].strip().lower()
    if not body:
        return params
    if mime == "application/json" or (not mime and body.lstrip()[:1] == b"{"):
        try:
            decoded = json.loads(body)
        except json.JSONDecodeError as error:
            raise ValueError("invalid_json") from error
        if not isinstance(decoded, dict):
            raise ValueError("invalid_json")
        params.update(decoded)
        return _decode_json_fields(params)
    if mime == "multipart/form-data":
        params.update(_multipart(body, content_type))
    else:
        text = body.decode("utf-8", errors="replace")
        params.update(_fields(parse_qsl(text, keep_blank_values=True)))
    return _decode_json_fields(params)


def _fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name not in fields:
            fields[name] = value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return _decode_json_fields(fields)


def _decode_json_fields(fields: dict[str, Any]) -> dict[str, Any]:
    for name in JSON_FIELDS:
        value = fields.get(name)
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            with suppress(json.JSONDecodeError):
                fields[name] = json.loads(value)
    return fields


def _multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Form fields as str, file parts as bytes."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    fields: dict[str, Any] = {}
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        raw = data if isinstance(data, bytes) else b""
        is_file = part.get_filename() is not None
        fields[name] = raw if is_file else raw.decode(part.get_content_charset() or "utf-8")
    return fields
