"""Posting activities to the Bot Connector over one keep-alive aiohttp session.

The Teams SDK's client posts through pydantic models and httpx: for each answer an activity
model, its dump, a telemetry middleware and httpx's request machinery, which cost some 0.5 ms of
interpreter time per message at 200 messages a second, more than any other part of a Teams
answer outside the engine's turn (aiohttp sends the same JSON for about a quarter of it). Here
the activity is the JSON the SDK would send (`MessageActivityInput(...).model_dump(by_alias=True,
exclude_none=True)`: the tests compare the two), to the same URLs, with the same User-Agent and
the bearer token the SDK's own token provider gives (`get_app_token` for the bot scope, as the
SDK's API client asks it; kept until five minutes before it expires, as the SDK's
`JsonWebToken.is_expired` reckons, and dropped when the connector answers 401).

Failures are raised as the SDK's client raises them — `httpx.HTTPStatusError` for an error
status, an `httpx.TransportError` when the connector cannot be reached — so every caller keeps
one way to tell them apart (the outbox sender retries the second and some of the first).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx

CARD = "application/vnd.microsoft.card.adaptive"
TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)
"""The SDK's client waits without limit; a lane must not wait for ever on a silent connector."""


TokenSource = Callable[[], Awaitable[Any]]
"""The SDK's token provider for the bot scope: a token (its str() is the bearer) or None when
the app has no credentials (then no Authorization header, as the SDK does)."""


def message(*, text: str | None = None, attachments: list[dict[str, Any]] | None = None,
            summary: str | None = None, bot_id: str | None = None,
            activity_id: str | None = None) -> dict[str, Any]:
    """A message activity as the SDK serializes a `MessageActivityInput`: keys in its order,
    nothing unset."""
    body: dict[str, Any] = {"from": {"id": bot_id}} if bot_id else {}
    body["type"] = "message"
    if activity_id is not None:
        body["id"] = activity_id
    if text is not None:
        body["text"] = text
    if attachments:
        body["attachments"] = attachments
    if summary is not None:
        body["summary"] = summary
    return body


def card_attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD, "content": card}


def attachment(given: dict[str, Any]) -> dict[str, Any]:
    """A Teams attachment (file consent, file info) as the SDK's `Attachment` dumps it."""
    found = {"contentType": given["contentType"], "contentUrl": given.get("contentUrl"),
             "content": given.get("content"), "name": given.get("name")}
    return {key: value for key, value in found.items() if value is not None}


class Poster:
    """POST and PUT of activities in a conversation; one session per event loop."""

    def __init__(self, token: TokenSource, user_agent: str) -> None:
        self._token_source = token
        self._token: Any = None
        self._headers = {"User-Agent": user_agent, "Content-Type": "application/json"}
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _open(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session, self._loop = aiohttp.ClientSession(timeout=TIMEOUT), loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _bearer(self) -> str | None:
        token = self._token
        if token is None or token.is_expired():
            token = await self._token_source()
            # a token without an expiry is asked for again every time, as the SDK does
            self._token = token if getattr(token, "expiration", None) else None
        return str(token) if token is not None else None

    async def create(self, service_url: str, conversation_id: str, body: dict[str, Any]) -> str:
        """A new activity in the conversation; its id (the SDK's placeholder when none)."""
        answer = await self._send("POST", f"{service_url.rstrip('/')}/v3/conversations/"
                                          f"{conversation_id}/activities", body)
        found = answer.get("id") if isinstance(answer, dict) else None
        return str(found) if found else "DO_NOT_USE_PLACEHOLDER_ID"

    async def update(self, service_url: str, conversation_id: str, activity_id: str,
                     body: dict[str, Any]) -> None:
        await self._send("PUT", f"{service_url.rstrip('/')}/v3/conversations/"
                                f"{conversation_id}/activities/{activity_id}", body)

    async def _send(self, method: str, url: str, body: dict[str, Any]) -> Any:
        headers = self._headers
        bearer = await self._bearer()
        if bearer:
            headers = {**headers, "Authorization": f"Bearer {bearer}"}
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        try:
            async with self._open().request(method, url, data=data, headers=headers,
                                            allow_redirects=False) as answer:
                content = await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise httpx.ConnectError(f"{method} {url.split('?')[0]}: {exc!r}") from exc
        if status >= 300:  # httpx follows no redirect and raises for it, as for an error
            if status == 401:
                self._token = None
            request = httpx.Request(method, url)
            raise httpx.HTTPStatusError(
                f"Bot Connector answered {status}", request=request,
                response=httpx.Response(status, content=content, request=request))
        try:
            return json.loads(content) if content else None
        except ValueError:
            return None
