"""Fetching a file an officer dropped in a chat: capped before and while reading, never trusted.

Slack and Teams differ in where a file lives and who may fetch it (each adapter checks the
host and supplies its credentials); the download itself is the same and lives here.
"""

from __future__ import annotations

import logging

import httpx

from core.conversation.types import MAX_FILE_BYTES, InboundFile, too_large, unavailable

log = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(60.0, connect=10.0)


async def fetch_capped(url: str, name: str, what: str,
                       headers: dict[str, str] | None = None) -> InboundFile:
    """GET the file without following redirects; refused from its declared size, and cut
    off at MAX_FILE_BYTES when the size lied. `what` names it in the log (no content)."""
    chunks: list[bytes] = []
    count = 0
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http, \
                http.stream("GET", url, headers=headers or {}) as answer:
            if answer.status_code != 200:
                log.warning("%s: download answered %s", what, answer.status_code)
                return unavailable(name)
            declared = answer.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_FILE_BYTES:
                return too_large(name, int(declared))
            async for chunk in answer.aiter_bytes():
                count += len(chunk)
                if count > MAX_FILE_BYTES:
                    return too_large(name, None)
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        log.warning("%s: download failed: %s", what, type(exc).__name__)
        return unavailable(name)
    return InboundFile(name, b"".join(chunks), count)
