"""The one ASGI app on ITMA_HTTP_LISTEN: Slack events, Teams, intake, health and metrics.

Every body is size-capped before it is read (`bounded`, for each POST route). Requests to
/slack/events are checked here before Bolt sees them: a bad or stale signature is 401, a body
that is not what Slack sends is 400, so nothing malformed reaches the core.

Each front end's request is one action for the logs (a request id is bound before anything
else runs) and one count for /metrics, by outcome (`observed`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core import logs, metrics
from core.app import App
from core.db import DatabaseError
from core.errors import DomainError
from core.services import outbox, requests

MAX_BODY = 1_000_000
REPLAY_WINDOW = 5 * 60

Endpoint = Callable[[Request], Awaitable[Response]]
BodyEndpoint = Callable[[Request, bytes], Awaitable[Response]]


def bounded(handler: BodyEndpoint, limit: int = MAX_BODY) -> Endpoint:
    """Every POST route reads its body through this, before any signature is checked.

    A declared Content-Length over the cap is refused before a byte is read; a body without
    one (chunked) is counted as it streams in and refused at the cap. Either way the
    connection is closed, so the rest of an oversized body is never waited for.
    """

    async def endpoint(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                return JSONResponse({"error": "invalid Content-Length"}, status_code=400,
                                    headers={"connection": "close"})
            if int(declared) > limit:
                return _too_large()
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return _too_large()
                chunks.append(chunk)
        except ClientDisconnect:
            return Response(status_code=400)
        return await handler(request, b"".join(chunks))

    return endpoint


def _too_large() -> Response:
    return JSONResponse({"error": "body too large"}, status_code=413,
                        headers={"connection": "close"})


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison that cannot raise: a non-ASCII header is only a mismatch."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def _json(body: bytes) -> Any:
    """The parsed body; ValueError for anything that is not UTF-8 JSON of sane depth."""
    try:
        return json.loads(body.decode("utf-8"))
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


def _well_formed(body: bytes, content_type: str) -> bool:
    try:
        if content_type.startswith("application/json"):
            return isinstance(_json(body), dict)
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
    except (ValueError, UnicodeDecodeError):
        return False
    if "payload" in form:
        try:
            payload = _json(form["payload"][0].encode())
        except ValueError:
            return False
        return isinstance(payload, dict) and isinstance(payload.get("type"), str) and \
            isinstance(payload.get("user"), dict)
    return bool(form.get("command")) and bool(form.get("user_id")) and bool(form.get("team_id"))


def _signed(key: bytes, body: bytes, timestamp: str, signature: str) -> bool:
    """Slack's v0 signature over the raw bytes, within the 5-minute replay window."""
    if not (timestamp.isascii() and timestamp.isdigit()) or \
            abs(time.time() - int(timestamp)) > REPLAY_WINDOW:
        return False
    expected = "v0=" + hmac.new(key, b"v0:" + timestamp.encode() + b":" + body,
                                hashlib.sha256).hexdigest()
    return _same(expected, signature)


def slack_route(bolt: AsyncApp, signing_secret: str) -> Endpoint:
    key = signing_secret.encode()

    async def endpoint(request: Request, body: bytes) -> Response:
        if not _signed(key, body, request.headers.get("x-slack-request-timestamp", ""),
                       request.headers.get("x-slack-signature", "")):
            return JSONResponse({"error": "invalid or stale signature"}, status_code=401)
        if not _well_formed(body, request.headers.get("content-type", "")):
            return JSONResponse({"error": "malformed payload"}, status_code=400)
        answer = await bolt.async_dispatch(to_async_bolt_request(request, body))
        return to_starlette_response(answer)

    return bounded(endpoint)


def intake_route(app: App) -> Endpoint:
    """POST /intake/registrations: the public site's "Nouvelle inscription", HMAC-signed."""
    secret = (app.settings.intake_secret or "").encode()

    async def not_configured(_request: Request) -> Response:
        return JSONResponse({"error": "intake is not configured (ITMA_INTAKE_SECRET)"},
                            status_code=404)

    async def endpoint(request: Request, body: bytes) -> Response:
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not _same(expected, request.headers.get("x-itma-signature", "")):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            payload = _json(body)
        except ValueError:
            return _unprocessable([("body", "not valid JSON")])
        if not isinstance(payload, dict):
            return _unprocessable([("body", "expected a JSON object")])
        try:
            request_id, created = await asyncio.to_thread(_submit, app, payload)
        except requests.InvalidRequest as exc:
            return _unprocessable([(e.field, e.reason) for e in exc.errors])
        except DomainError as exc:
            field = "person.organisation" if exc.code == "unknown_organisation" else "body"
            return _unprocessable([(field, exc.message("en"))])
        return JSONResponse({"id": request_id, "created": created},
                            status_code=201 if created else 200)

    return bounded(endpoint) if secret else not_configured


def _submit(app: App, payload: dict[str, Any]) -> tuple[int, bool]:
    with app.unit_of_work() as uow:
        request, created = requests.submit(uow, payload)
        return request.id, created


def observed(front: str, endpoint: Endpoint) -> Endpoint:
    """The request as one action: its own log id (carried to the turn and the outbox rows it
    queues) and one count by outcome."""

    async def wrapped(request: Request) -> Response:
        with logs.bound():
            try:
                response = await endpoint(request)
            except Exception:
                metrics.http_error(front)
                raise
        metrics.http_request(front, response.status_code)
        return response

    return wrapped


METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_route(app: App | None) -> Endpoint:
    """GET /metrics: what every process of this host counted, and the outbox read now."""

    def pending() -> list[tuple[str, int, float | None]] | None:
        try:
            return outbox.pending_by_channel(app) if app is not None else None
        except DatabaseError:
            return None  # the database-error counter says why; the rest is still served

    channels = sorted(app.channels) if app is not None else []

    async def endpoint(_request: Request) -> Response:
        body = await asyncio.to_thread(metrics.exposition, pending, channels)
        if body is None:
            return JSONResponse({"error": "metrics are not recorded by this process"},
                                status_code=404)
        return Response(body, media_type=METRICS_TYPE)

    return endpoint


def _unprocessable(errors: list[tuple[str, str]]) -> Response:
    return JSONResponse({"errors": [{"field": f, "reason": r} for f, r in errors]},
                        status_code=422)


def create_app(*, slack: tuple[AsyncApp, str] | None = None, app: App | None = None,
               health: Callable[[], dict[str, Any]] | None = None,
               teams: Endpoint | None = None) -> Starlette:
    async def healthz(_request: Request) -> Response:
        status = health() if health else {"status": "ok"}
        return JSONResponse(status, status_code=200 if status.get("status") == "ok" else 503)

    async def not_configured(_request: Request) -> Response:
        return JSONResponse({"error": "Slack is not configured on this instance"},
                            status_code=404)

    async def teams_not_configured(_request: Request) -> Response:
        """Neither credentials nor ITMA_TEAMS_ALLOW_UNAUTHENTICATED: nothing is accepted."""
        return JSONResponse({"error": "Teams is not configured on this instance"},
                            status_code=401)

    slack_endpoint = slack_route(*slack) if slack else not_configured
    routes = [Route("/healthz", healthz, methods=["GET"]),
              Route("/metrics", metrics_route(app), methods=["GET"]),
              Route("/slack/events", observed("slack", slack_endpoint), methods=["POST"]),
              Route("/api/messages", observed("teams", teams or teams_not_configured),
                    methods=["POST"])]
    if app is not None:
        routes.append(Route("/intake/registrations", observed("intake", intake_route(app)),
                            methods=["POST"]))
    return Starlette(routes=routes)
