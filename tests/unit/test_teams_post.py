"""bot.teams_post: the answers go to the Bot Connector byte for byte as the Teams SDK's client
sends them (same method, URL, body, bearer token, User-Agent), the bot token is asked of the
SDK's token provider once until it nears expiry or is refused, and failures come out as the SDK's
client raises them. Both clients post to one real local HTTP server that records every request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from microsoft_teams.api import JsonWebToken
from microsoft_teams.common.http import Client, ClientOptions

from bot import teams_cards as cards
from bot import teams_post as wire
from bot.teams_sdk import (
    PUBLIC,
    USER_AGENT,
    Account,
    ApiClient,
    Attachment,
    MessageActivityInput,
)
from core.conversation import Reply
from core.conversation.types import CANCEL, CONFIRM, Choice
from tests.support.processes import free_port

CONVERSATION = "19:abc@thread.tacv2;messageid=1700000000000"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Recorder(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[Seen] = []
        self.statuses: list[int] = []


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(Seen(self.command, self.path,
                                     {k.lower(): v for k, v in self.headers.items()}, body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        answer = json.dumps({"id": "act-1"} if status == 200 else {"error": "no"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_POST = do_PUT = _record


@pytest.fixture
def connector() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def jwt(expires_in: float) -> str:
    """An unsigned JWT with that expiry (the SDK reads, never checks, its own bot token)."""
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return ".".join([part({"alg": "RS256", "typ": "JWT"}),
                     part({"exp": int(time.time() + expires_in), "aud": "bot"}), "c2ln"])


class Provider:
    """The SDK's token-provider protocol, counting what it is asked."""

    def __init__(self, expires_in: float | None = 3600) -> None:
        self.expires_in = expires_in
        self.asked: list[tuple[str | None, str | None]] = []

    async def get_app_token(self, scope: str | None = None,
                            tenant_id: str | None = None) -> JsonWebToken | None:
        self.asked.append((scope, tenant_id))
        return None if self.expires_in is None else JsonWebToken(jwt(self.expires_in))


def sdk_client(url: str, provider: Provider) -> ApiClient:
    """The API client as the SDK's App builds it (User-Agent header, the app's provider)."""
    return ApiClient(url, Client(ClientOptions(headers={"User-Agent": USER_AGENT})), cloud=PUBLIC,
                     token_provider=provider)


def poster(provider: Provider) -> wire.Poster:
    return wire.Poster(lambda: provider.get_app_token(PUBLIC.bot_scope, None), USER_AGENT)


def a_card() -> Any:
    reply = Reply("Inscrire Émile « Dupont » ?\nSession du 12/03", "fr",
                  choices=[Choice("1", "12/03 Bruxelles"), Choice("2", "19/03 Liège")],
                  actions=[CONFIRM, CANCEL])
    return cards.render(reply)


def sdk_card_activity(card: Any, summary: str | None, bot_id: str | None) -> Any:
    activity = MessageActivityInput().add_card(card)
    activity.summary = summary
    if bot_id:
        activity.from_ = Account(id=bot_id)
    return activity


def test_answers_go_on_the_wire_as_the_sdk_sends_them(connector: Recorder) -> None:
    url = f"http://127.0.0.1:{connector.server_address[1]}/teams/"
    card = a_card()
    file_consent = {"contentType": "application/vnd.microsoft.teams.card.file.consent",
                    "name": "export.xlsx", "content": {"acceptContext": {"t": 1}}}

    async def both() -> list[str]:
        provider = Provider()
        sdk, ours = sdk_client(url, provider).conversations, poster(provider)
        ids = [(await sdk.create_activity(CONVERSATION, sdk_card_activity(
                    card, "Inscrire Émile", "28:bot"))).id,
               await ours.create(url, CONVERSATION, wire.message(
                   attachments=[wire.card_attachment(cards.as_json(card))],
                   summary="Inscrire Émile", bot_id="28:bot")),
               (await sdk.create_activity(CONVERSATION, MessageActivityInput(text="…"))).id,
               await ours.create(url, CONVERSATION, wire.message(text="…"))]
        update = MessageActivityInput(text="50 %")
        update.id = "act-9"
        await sdk.update_activity(CONVERSATION, "act-9", update)
        await ours.update(url, CONVERSATION, "act-9", wire.message(text="50 %",
                                                                   activity_id="act-9"))
        await sdk.create_activity(CONVERSATION, MessageActivityInput().add_attachments(Attachment(
            content_type=file_consent["contentType"], name=file_consent["name"],
            content=file_consent["content"])))
        await ours.create(url, CONVERSATION, wire.message(
            attachments=[wire.attachment(file_consent)]))
        await ours.close()
        return ids

    ids = asyncio.run(both())
    assert ids == ["act-1"] * 4
    assert len(connector.seen) == 8
    for sdk_sent, ours_sent in zip(connector.seen[::2], connector.seen[1::2], strict=True):
        assert (ours_sent.method, ours_sent.path, ours_sent.body) == (
            sdk_sent.method, sdk_sent.path, sdk_sent.body)
        for header in ("authorization", "user-agent", "content-type"):
            assert ours_sent.headers.get(header) == sdk_sent.headers.get(header), header
    assert connector.seen[0].path == f"/teams/v3/conversations/{CONVERSATION}/activities"
    assert connector.seen[0].headers["authorization"].startswith("Bearer ey")
    assert json.loads(connector.seen[1].body)["attachments"][0]["content"]["type"] == \
        "AdaptiveCard"


def test_the_bot_token_is_kept_until_it_nears_expiry_or_is_refused(connector: Recorder) -> None:
    url = f"http://127.0.0.1:{connector.server_address[1]}"
    lasting, expiring, none = Provider(3600), Provider(120), Provider(None)

    async def posts() -> None:
        for provider, count in ((lasting, 3), (expiring, 2), (none, 2)):
            ours = poster(provider)
            for _ in range(count):
                await ours.create(url, "a:1", wire.message(text="x"))
            await ours.close()
        ours = poster(lasting)
        connector.statuses.append(401)
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await ours.create(url, "a:1", wire.message(text="x"))
        assert refused.value.response.status_code == 401
        await ours.create(url, "a:1", wire.message(text="x"))
        await ours.close()

    asyncio.run(posts())
    assert lasting.asked == [(PUBLIC.bot_scope, None)] * 3  # once, then once per poster and 401
    assert len(expiring.asked) == 2  # within five minutes of expiry: asked again each time
    assert len(none.asked) == 2
    assert [s.headers.get("authorization") is None for s in connector.seen[5:7]] == [True, True]


def test_failures_come_out_as_the_sdk_client_raises_them(connector: Recorder) -> None:
    url = f"http://127.0.0.1:{connector.server_address[1]}"
    closed = f"http://127.0.0.1:{free_port()}"

    async def failures() -> tuple[list[int], type[BaseException]]:
        ours = poster(Provider())
        connector.statuses += [404, 302]
        refused = []
        try:
            for _ in range(2):
                with pytest.raises(httpx.HTTPStatusError) as error:
                    await ours.create(url, "a:gone", wire.message(text="x"))
                refused.append(error.value.response.status_code)
            with pytest.raises(httpx.TransportError) as unreachable:
                await ours.create(closed, "a:1", wire.message(text="x"))
            return refused, unreachable.type
        finally:
            await ours.close()

    statuses, kind = asyncio.run(failures())
    assert statuses == [404, 302] and issubclass(kind, httpx.HTTPError)
    assert len(connector.seen) == 2  # the redirect not followed
