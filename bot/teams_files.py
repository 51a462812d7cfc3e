"""Files in Teams, both ways, and the progress line of a long file.

In: in a personal chat Teams hands the bot a file as a `file.download.info` attachment whose
`downloadUrl` is short-lived and pre-authorised (no token is sent). It is read from OneDrive /
SharePoint only (or, for tests, from the connector's own origin), at most MAX_FILE_BYTES of it:
refused at once when the answer declares more, and while streaming when it does not. Files
shared in a channel live in SharePoint behind Graph permissions the bot does not have: the
officer is asked to send them in the personal chat.

Out: the file-consent flow of personal chats. The bytes are held in the database (encrypted,
an hour, bound to the chat user: any instance can answer the click), a FileConsentCard asks
the officer; on "Allow" Teams sends `fileConsent/invoke` with an upload URL in their OneDrive,
the bytes are PUT there and a file-info card shows the file in the chat.

Neither a file's content nor a national number is ever logged.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from bot import downloads
from core.app import App
from core.conversation.types import (
    Attachment,
    InboundFile,
    unavailable,
)
from core.services import held_files

if TYPE_CHECKING:
    from bot.teams_store import Where

log = logging.getLogger(__name__)
DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
NOT_FILES = ("text/html", "application/vnd.microsoft.card.", "image/")
"""Attachments every message may carry (its HTML, cards, pasted pictures): not files."""
FILE_HOSTS = (".sharepoint.com", ".sharepoint.us", ".sharepoint-mil.us", ".sharepoint.cn",
              ".sharepoint.de")
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
CONTEXT_KEY = "itma_file"


def _field(value: Any, *names: str) -> Any:
    for name in names:
        found = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
        if found is not None:
            return found
    return None


def trusted(url: str, service_url: str | None) -> bool:
    """OneDrive / SharePoint over HTTPS, or the origin the activity came from (a stand-in)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host.endswith(FILE_HOSTS) and parts.port in (None, 443):
        return True
    if service_url:
        origin = urlsplit(service_url)
        return (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc)
    return False


def files_of(activity: Any) -> list[Any]:
    """The attachments of a message that are files someone sent."""
    found = []
    for attachment in activity.attachments or []:
        kind = str(_field(attachment, "content_type", "contentType") or "")
        if kind == DOWNLOAD_INFO or (
                _field(attachment, "name") and _field(attachment, "content_url", "contentUrl")
                and not kind.startswith(NOT_FILES)):
            found.append(attachment)
    return found


def name_of(attachment: Any) -> str:
    name = str(_field(attachment, "name") or "file")
    return name.replace("/", "_").replace("\\", "_")[:200]


async def fetch(attachment: Any, service_url: str | None) -> InboundFile:
    """A file.download.info attachment's bytes, capped; any other file cannot be read."""
    name = name_of(attachment)
    if str(_field(attachment, "content_type", "contentType") or "") != DOWNLOAD_INFO:
        return unavailable(name)
    url = _field(_field(attachment, "content") or {}, "download_url", "downloadUrl")
    if not isinstance(url, str) or not trusted(url, service_url):
        log.warning("teams file: download URL not on OneDrive / SharePoint")
        return unavailable(name)
    return await downloads.fetch_capped(url, name, "teams file")


# -- out: the file-consent flow ------------------------------------------------------------


def hold(app: App, channel: str, user_ref: str, attachment: Attachment) -> str:
    with app.unit_of_work() as uow:
        return held_files.hold(uow, channel, user_ref, attachment.filename, attachment.mime,
                               attachment.content)


def take(app: App, channel: str, user_ref: str, token: str) -> held_files.Held | None:
    with app.unit_of_work() as uow:
        return held_files.take(uow, channel, user_ref, token)


def drop(app: App, channel: str, user_ref: str, token: str) -> None:
    with app.unit_of_work() as uow:
        held_files.drop(uow, channel, user_ref, token)


def consent_card(attachment: Attachment, token: str, description: str) -> dict[str, Any]:
    """The FileConsentCard attachment: Teams asks the officer where the file may go."""
    context = {CONTEXT_KEY: token}
    return {"contentType": CONSENT, "name": attachment.filename,
            "content": {"description": description, "sizeInBytes": len(attachment.content),
                        "acceptContext": context, "declineContext": context}}


def token_of(context: Any) -> str:
    token = context.get(CONTEXT_KEY) if isinstance(context, dict) else None
    return token if isinstance(token, str) else ""


async def upload(upload_url: str, content: bytes, service_url: str | None) -> bool:
    """PUT the whole file into the upload session Teams opened in the officer's OneDrive."""
    if not trusted(upload_url, service_url):
        log.warning("teams file: upload URL not on OneDrive / SharePoint")
        return False
    size = len(content)
    headers = {"Content-Length": str(size), "Content-Range": f"bytes 0-{size - 1}/{size}"}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http:
            answer = await http.put(upload_url, content=content, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("teams file: upload failed: %s", type(exc).__name__)
        return False
    if answer.status_code not in (200, 201):
        log.warning("teams file: upload answered %s", answer.status_code)
        return False
    return True


def file_info_card(upload_info: Any) -> dict[str, Any]:
    """The card that shows the uploaded file in the chat, opened from OneDrive."""
    return {"contentType": FILE_INFO, "name": _field(upload_info, "name"),
            "contentUrl": _field(upload_info, "content_url", "contentUrl"),
            "content": {"uniqueId": _field(upload_info, "unique_id", "uniqueId"),
                        "fileType": _field(upload_info, "file_type", "fileType")}}


# -- progress -------------------------------------------------------------------------------


class Progress:
    """The engine's progress lines (from its worker thread) as one message, created the first
    time and updated in place (PUT …/activities/{id}) after; `settle()` waits for the last."""

    def __init__(self, bot: Any, where: Where, loop: asyncio.AbstractEventLoop) -> None:
        self.bot = bot
        self.where = where
        self.loop = loop
        self.activity_id: str | None = None
        self._lock = asyncio.Lock()
        self._pending: list[Future[None]] = []

    def __call__(self, line: str) -> None:
        self._pending.append(asyncio.run_coroutine_threadsafe(self._show(line), self.loop))

    async def _show(self, line: str) -> None:
        async with self._lock:
            try:
                if self.activity_id is None:
                    self.activity_id = await self.bot.post_text(self.where, line)
                else:
                    await self.bot.update_text(self.where, self.activity_id, line)
            except httpx.HTTPError as exc:
                log.warning("teams: progress not shown (%s)", type(exc).__name__)

    async def settle(self) -> None:
        for pending in self._pending:
            await asyncio.wrap_future(pending)
