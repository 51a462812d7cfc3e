"""Files in Slack, both ways, and the progress line of a long file.

In: a file an officer drops into the conversation is downloaded from `url_private_download`
with the bot token (files:read), and only from Slack's own file host (or the configured API
host, for tests): the token never goes anywhere else. A file whose declared size is over the
cap is refused before a byte is read; the download stops at the cap when the size was a lie.
Slack answers a download without a valid token with its HTML sign-in page: that is "not
available", never a file.

Out: attachments go through files.getUploadURLExternal, the upload URL and
files.completeUploadExternal (slack_sdk's `files_upload_v2`, files:write) into the officer's
conversation with the bot.

Neither a file's content nor a national number is ever logged: only file ids and statuses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot import downloads
from core.conversation.types import (
    MAX_FILE_BYTES,
    Attachment,
    InboundFile,
    too_large,
    unavailable,
)
from core.markup import slack_mrkdwn

log = logging.getLogger(__name__)
FILE_HOSTS = ("files.slack.com",)
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
HTML = (b"<!doctype html", b"<html")


def name_of(file: dict[str, Any]) -> str:
    name = file.get("name") or file.get("title") or "file"
    return str(name).replace("/", "_").replace("\\", "_")[:200]


def trusted(url: str, api_url: str | None) -> bool:
    """Slack's file host over HTTPS, or the origin of the configured Web API (a local mock)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname in FILE_HOSTS and parts.port in (None, 443):
        return True
    if api_url:
        api = urlsplit(api_url)
        return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
    return False


async def fetch(file: dict[str, Any], token: str, api_url: str | None) -> InboundFile:
    """The file's bytes, at most MAX_FILE_BYTES of them, or why not."""
    name = name_of(file)
    size = file.get("size")
    if isinstance(size, int) and size > MAX_FILE_BYTES:
        return too_large(name, size)
    url = file.get("url_private_download") or file.get("url_private")
    if not isinstance(url, str) or not trusted(url, api_url):
        log.warning("slack file %s: no download URL on Slack's file host", file.get("id"))
        return unavailable(name)
    fetched = await downloads.fetch_capped(url, name, f"slack file {file.get('id')}",
                                           {"Authorization": f"Bearer {token}"})
    if fetched.content and fetched.content.lstrip()[:14].lower().startswith(HTML):
        log.warning("slack file %s: Slack answered a page, not the file", file.get("id"))
        return unavailable(name)
    return fetched


async def conversation_with(client: AsyncWebClient, target: str) -> str:
    """A channel id for `target`: itself, or the DM with that user (files need a channel)."""
    if target[:1] not in ("U", "W"):
        return target
    opened = await client.conversations_open(users=target)
    return str(opened["channel"]["id"])


async def send(client: AsyncWebClient, target: str, attachments: Sequence[Attachment],
               thread_ts: str | None = None) -> None:
    """Attachments into that conversation (a channel or DM id, or a user id: their DM)."""
    try:
        channel = await conversation_with(client, target)
        await client.files_upload_v2(
            channel=channel, thread_ts=thread_ts,
            file_uploads=[{"content": a.content, "filename": a.filename, "title": a.filename}
                          for a in attachments])
    except (SlackApiError, SlackRequestError) as exc:
        error = exc.response.get("error") if isinstance(exc, SlackApiError) else "upload"
        log.warning("slack: files not sent (%s)", error)


class Progress:
    """The engine's progress lines (called from its worker thread) as one message, posted the
    first time and updated in place (chat.update) after; `settle()` waits for the last one."""

    def __init__(self, client: AsyncWebClient, target: str, thread_ts: str | None,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.target = target
        self.thread_ts = thread_ts
        self.loop = loop
        self.channel: str | None = None
        self.ts: str | None = None
        self._lock = asyncio.Lock()
        self._pending: list[Future[None]] = []

    def __call__(self, line: str) -> None:
        self._pending.append(asyncio.run_coroutine_threadsafe(self._show(line), self.loop))

    async def _show(self, line: str) -> None:
        text = slack_mrkdwn(line)
        async with self._lock:
            try:
                if self.ts is None:
                    posted = await self.client.chat_postMessage(
                        channel=self.target, thread_ts=self.thread_ts, text=text)
                    self.channel, self.ts = str(posted["channel"]), str(posted["ts"])
                else:
                    await self.client.chat_update(channel=self.channel, ts=self.ts, text=text)
            except SlackApiError as exc:
                log.warning("slack: progress not shown (%s)", exc.response.get("error"))

    async def settle(self) -> None:
        for pending in self._pending:
            await asyncio.wrap_future(pending)
