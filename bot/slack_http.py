"""One keep-alive HTTP session for everything the Slack front end posts: answers and Web API calls.

Left to themselves, Bolt's `respond()` and slack_sdk's `AsyncWebClient` open a new aiohttp
session — a new connector and a new TCP (and TLS) connection — for every single post, which
cost more interpreter time per slash command than acking it did. Here one session per event loop
is opened on first use and closed when that loop shuts down (`asyncio.run` cancels the keeper
task), with the same 30 s total timeout the SDK gives its own sessions. The bodies posted are
the SDK's own (`_build_message`, `AsyncWebhookClient.send_dict`): only the connection changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from ssl import SSLContext
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient, WebhookResponse

TIMEOUT_S = 30
"""slack_sdk's default for both clients (`timeout=30`)."""


class KeepAlive:
    """The shared aiohttp session of the running event loop, opened on first use."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._keeper: asyncio.Task[None] | None = None

    def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._keeper is None \
                or self._keeper.get_loop() is not loop:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
            self._keeper = loop.create_task(_close_at_shutdown(self._session))
        return self._session

    def attach(self, client: AsyncWebClient) -> None:
        """The Web API client posts over the shared session too (chat.postMessage, views…)."""
        if client.session is None or client.session.closed:
            client.session = self.session()

    def respond(self, original: AsyncRespond) -> SharedRespond:
        """Bolt's respond() for this request, over the shared session."""
        return SharedRespond(original.response_url, self.session(), original.proxy, original.ssl)


async def _close_at_shutdown(session: aiohttp.ClientSession) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await session.close()


class SharedRespond:
    """Bolt's AsyncRespond (same arguments, same message, same WebhookResponse), one session."""

    def __init__(self, response_url: str | None, session: aiohttp.ClientSession,
                 proxy: str | None = None, ssl: SSLContext | None = None) -> None:
        self.response_url = response_url
        self.session = session
        self.proxy = proxy
        self.ssl = ssl

    async def __call__(self, text: str | dict[str, Any] = "",
                       blocks: Sequence[Any] | None = None,
                       attachments: Sequence[Any] | None = None, **options: Any
                       ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        message = (_build_message(**text) if isinstance(text, dict) else
                   _build_message(text=text, blocks=blocks, attachments=attachments, **options))
        client = AsyncWebhookClient(url=self.response_url, timeout=TIMEOUT_S, proxy=self.proxy,
                                    ssl=self.ssl, session=self.session)
        return await client.send_dict(message)
