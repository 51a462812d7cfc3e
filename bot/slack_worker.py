"""Posts the Slack messages queued in the outbox (request cards, notices), with retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import is_permanent, post_notification
from core.app import App
from core.conversation import Engine
from core.services import outbox

log = logging.getLogger(__name__)
CHANNEL = "slack"


async def deliver_once(app: App, engine: Engine, client: AsyncWebClient) -> int:
    claimed = await asyncio.to_thread(outbox.claim, app, CHANNEL)
    for message in claimed:
        try:
            await post_notification(engine, client, message.to, message.language,
                                    message.template, message.context, message.subject)
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            log.warning("slack outbox #%s to %s failed: %s", message.id, message.to, error)
            await asyncio.to_thread(outbox.mark_failed, app, message.id, error,
                                    is_permanent(exc))
        except Exception as exc:  # network trouble: retry with backoff
            log.warning("slack outbox #%s failed: %s", message.id, exc)
            await asyncio.to_thread(outbox.mark_failed, app, message.id, repr(exc))
        else:
            await asyncio.to_thread(outbox.mark_sent, app, message.id)
    return len(claimed)


async def run(app: App, engine: Engine, client: AsyncWebClient, stop: asyncio.Event,
              interval: float = 1.0) -> None:
    while not stop.is_set():
        try:
            busy = await deliver_once(app, engine, client)
        except Exception:
            log.exception("slack outbox worker")
            busy = 0
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
