"""The one ASGI app on ITMA_HTTP_LISTEN: Slack events, (later) Teams and intake, and health.

Requests to /slack/events are checked here before Bolt sees them: a bad or stale signature
is 401, a body that is not what Slack sends is 400, so nothing malformed reaches the core.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.app import App
from core.errors import DomainError
from core.services import requests

MAX_BODY = 1_000_000


def _well_formed(body: bytes, content_type: str) -> bool:
    try:
        if content_type.startswith("application/json"):
            return isinstance(json.loads(body), dict)
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
    except (ValueError, UnicodeDecodeError):
        return False
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][0])
        except ValueError:
            return False
        return isinstance(payload, dict) and isinstance(payload.get("type"), str) and \
            isinstance(payload.get("user"), dict)
    return bool(form.get("command")) and bool(form.get("user_id")) and bool(form.get("team_id"))


REPLAY_WINDOW = 5 * 60


def _signed(key: bytes, body: bytes, timestamp: str, signature: str) -> bool:
    """Slack's v0 signature over the raw bytes, within the 5-minute replay window."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > REPLAY_WINDOW:
        return False
    expected = "v0=" + hmac.new(key, b"v0:" + timestamp.encode() + b":" + body,
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def slack_route(bolt: AsyncApp, signing_secret: str) -> Callable[[Request], Any]:
    handler = AsyncSlackRequestHandler(bolt)
    key = signing_secret.encode()

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "body too large"}, status_code=413)
        if not _signed(key, body, request.headers.get("x-slack-request-timestamp", ""),
                       request.headers.get("x-slack-signature", "")):
            return JSONResponse({"error": "invalid or stale signature"}, status_code=401)
        if not _well_formed(body, request.headers.get("content-type", "")):
            return JSONResponse({"error": "malformed payload"}, status_code=400)
        return await handler.handle(request)

    return endpoint


def intake_route(app: App) -> Callable[[Request], Any]:
    """POST /intake/registrations: the public site's "Nouvelle inscription", HMAC-signed."""
    secret = (app.settings.intake_secret or "").encode()

    async def endpoint(request: Request) -> Response:
        if not secret:
            return JSONResponse({"error": "intake is not configured (ITMA_INTAKE_SECRET)"},
                                status_code=404)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "body too large"}, status_code=413)
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-itma-signature", "")):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            payload = json.loads(body)
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

    return endpoint


def _submit(app: App, payload: dict[str, Any]) -> tuple[int, bool]:
    with app.unit_of_work() as uow:
        request, created = requests.submit(uow, payload)
        return request.id, created


def _unprocessable(errors: list[tuple[str, str]]) -> Response:
    return JSONResponse({"errors": [{"field": f, "reason": r} for f, r in errors]},
                        status_code=422)


def create_app(*, slack: tuple[AsyncApp, str] | None = None, app: App | None = None,
               health: Callable[[], dict[str, Any]] | None = None) -> Starlette:
    async def healthz(_request: Request) -> Response:
        status = health() if health else {"status": "ok"}
        return JSONResponse(status, status_code=200 if status.get("status") == "ok" else 503)

    async def not_configured(_request: Request) -> Response:
        return JSONResponse({"error": "Slack is not configured on this instance"},
                            status_code=404)

    slack_endpoint = slack_route(*slack) if slack else not_configured
    routes = [Route("/healthz", healthz, methods=["GET"]),
              Route("/slack/events", slack_endpoint, methods=["POST"])]
    if app is not None:
        routes.append(Route("/intake/registrations", intake_route(app), methods=["POST"]))
    return Starlette(routes=routes)
