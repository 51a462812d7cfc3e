"""Slack front end: Bolt listeners that turn Slack's events into Inbound and render Reply.

Every listener acks first and works after (Bolt answers Slack as soon as ack() is called);
the core runs in a worker thread so the event loop keeps acking under load. No business rule
lives here: the conversation engine and the core services decide everything.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import logging
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import slack_blocks as blocks
from bot import slack_files
from bot.slack_http import KeepAlive
from core import i18n
from core.app import App
from core.conversation import Engine, Inbound, Reply, desk
from core.conversation.types import (
    ACCESS_PREFIX,
    CANCEL,
    CONFIRM,
    HOME,
    REASON,
    approve_action,
    card_prefix,
    refuse_action,
    refuse_form_action,
    unavailable,
)
from core.errors import DomainError
from core.services import deliveries
from core.services.outbox import Claimed, PermanentFailure, TemporaryFailure

log = logging.getLogger(__name__)
COMMAND = "/itma"
WORKERS = 4
MENTION = re.compile(r"<@[A-Z0-9]+>\s*")
STEP_ACTIONS = re.compile(rf"^({blocks.ACTION_CHOOSE}_\w+|{blocks.ACTION_SELECT}|"
                          rf"{blocks.ACTION_CONFIRM}|{blocks.ACTION_CANCEL})$")


def channel_of(team_id: str) -> str:
    return f"slack:{team_id}"


def delivery_key(body: dict[str, Any]) -> str | None:
    """What makes a delivery unique, so a retried one (X-Slack-Retry-Num) is handled once."""
    if body.get("event_id"):
        return f"slack:event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"slack:trigger:{body['trigger_id']}"
    actions = body.get("actions") or []
    if actions and actions[0].get("action_ts"):
        return f"slack:action:{body.get('user', {}).get('id')}:{actions[0]['action_ts']}"
    return None


@dataclass
class Place:
    """Where a conversation happens in Slack, and how to update or continue it there."""

    client: AsyncWebClient
    channel: str | None = None
    thread_ts: str | None = None
    message_ts: str | None = None
    respond: Callable[..., Awaitable[Any]] | None = None
    user: str | None = None
    """Who is talking: an ephemeral answer's files and progress go to their DM."""

    @property
    def _files_target(self) -> str | None:
        return self.user if self.respond is not None else self.channel or self.user

    async def post(self, reply: Reply) -> None:
        if self.respond is not None:
            await self.respond(**blocks.message(reply),
                               response_type="ephemeral", replace_original=False)
        else:
            await self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts,
                                               **blocks.message(reply))
        target = self._files_target
        if reply.attachments and target:
            await slack_files.send(self.client, target, reply.attachments,
                                   self.thread_ts if self.respond is None else None)

    def progress(self) -> slack_files.Progress | None:
        """A progress line for long work (a big P-data file), shown where the answer goes."""
        target = self._files_target
        if target is None:
            return None
        return slack_files.Progress(self.client, target,
                                    self.thread_ts if self.respond is None else None,
                                    asyncio.get_running_loop())

    async def resolve(self, original: str, outcome: str) -> None:
        """The clicked message loses its buttons and shows the decision: no second click."""
        rendered = blocks.resolved(original, outcome)
        if self.respond is not None:
            await self.respond(text=original, blocks=rendered, replace_original=True)
        elif self.channel and self.message_ts:
            await self.client.chat_update(channel=self.channel, ts=self.message_ts,
                                          text=original, blocks=rendered)


def _message_text(body: dict[str, Any]) -> str:
    message = body.get("message") or {}
    for block in message.get("blocks") or []:
        if block.get("type") == "section" and block.get("text", {}).get("text"):
            return str(block["text"]["text"])
    return str(message.get("text") or "")


def _clicked_label(action: dict[str, Any]) -> str:
    if action.get("selected_option"):
        return str(action["selected_option"]["text"]["text"])
    return str(action.get("text", {}).get("text") or action.get("value") or "")


def _place_of_click(body: dict[str, Any], client: AsyncWebClient, respond: Any) -> Place:
    container = body.get("container") or {}
    user = (body.get("user") or {}).get("id")
    if container.get("is_ephemeral") or not body.get("message"):
        return Place(client, respond=respond, user=user)
    message = body["message"]
    return Place(client, channel=container.get("channel_id") or body["channel"]["id"],
                 thread_ts=message.get("thread_ts"), message_ts=container.get("message_ts"),
                 user=user)


def _in_bot_thread(event: dict[str, Any], context: Any) -> bool:
    """A reply in a thread the bot's own message started."""
    bot = context.get("bot_user_id") if context else None
    return bool(event.get("thread_ts") and bot and event.get("parent_user_id") == bot)


def _request_id(value: str | None) -> tuple[str, int] | None:
    """The card a button is on: ('', N) for registration request N ('request:N'), or
    ('access-', N) for access request N ('access:N'): the prefix of the engine action."""
    return card_prefix(value)


def build(app: App, engine: Engine, client: AsyncWebClient, signing_secret: str | None,
          **bolt_options: Any) -> AsyncApp:
    bolt = AsyncApp(client=client, signing_secret=signing_secret or "socket-mode",
                    request_verification_enabled=signing_secret is not None,
                    process_before_response=False, raise_error_for_unhandled_request=False,
                    **bolt_options)

    work = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="slack-work")
    http = KeepAlive()

    @bolt.middleware
    async def keep_alive(next: Callable[[], Awaitable[Any]]) -> None:
        """Every post of this request (answer, Web API call) over the loop's one session."""
        http.attach(bolt.client)
        await next()

    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        """Core work off the event loop, on its own threads, so acks never queue behind it."""
        return await asyncio.get_running_loop().run_in_executor(  # with the request's log id
            work, contextvars.copy_context().run, fn, *args)

    def once_then_handle(key: str | None, inbound: Inbound) -> Reply | None:
        """The redelivery check and the engine's turn in one trip to a worker thread; None for
        a delivery Slack sent again (X-Slack-Retry-Num), which is handled once."""
        if key and not deliveries.first_time(app, key):
            log.info("slack delivery %s already handled; ignored", key)
            return None
        return engine.handle(inbound)

    async def converse(inbound: Inbound, place: Place | None = None) -> Reply:
        reply = await converse_once(None, inbound, place)
        assert reply is not None
        return reply

    async def converse_once(body: dict[str, Any] | None, inbound: Inbound,
                            place: Place | None = None) -> Reply | None:
        """The engine's turn (with a progress line where the answer goes), after the redelivery
        check of `body` when given."""
        key = delivery_key(body) if body is not None else None
        progress = place.progress() if place is not None else None
        if progress is not None:
            inbound = dataclasses.replace(inbound, progress=progress)
        reply: Reply | None = await run(once_then_handle, key, inbound)
        if progress is not None:
            await progress.settle()
        return reply

    async def receive(team: str, user: str, files: list[dict[str, Any]], text: str | None,
                      place: Place) -> Reply | None:
        """Files dropped into the conversation: each Slack file is handled once, whichever
        event announces it first (the message, file_shared); the first one is downloaded."""
        new = [f for f in files if isinstance(f.get("id"), str)
               and await run(deliveries.first_time, app, f"slack:file:{f['id']}")]
        if not new:
            return None
        first = await slack_files.fetch(new[0], bolt.client.token or "",
                                        app.settings.slack_api_url)
        got = (first, *(unavailable(slack_files.name_of(f)) for f in new[1:]))
        reply = await converse(Inbound(channel_of(team), user, text=text, files=got), place)
        await place.post(reply)
        return reply

    async def fresh(body: dict[str, Any]) -> bool:
        """After the ack: a delivery Slack sent again (X-Slack-Retry-Num) is handled once."""
        key = delivery_key(body)
        if key and not await run(deliveries.first_time, app, key):
            log.info("slack delivery %s already handled; ignored", key)
            return False
        return True

    @bolt.command(COMMAND)
    async def on_command(ack: Any, body: dict[str, Any], command: dict[str, Any],
                         respond: Any) -> None:
        await ack()
        text = (command.get("text") or "").strip() or "?"
        place = Place(bolt.client, respond=http.respond(respond), user=command["user_id"])
        reply = await converse_once(body, Inbound(channel_of(command["team_id"]),
                                                  command["user_id"], text=text), place)
        if reply is not None:
            await place.post(reply)

    @bolt.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        if event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
            return
        files = [f for f in event.get("files") or [] if isinstance(f, dict)]
        if event.get("subtype") and not files:
            return
        direct = event.get("channel_type") == "im"
        if not direct and not (files and _in_bot_thread(event, context)):
            return  # a file in a channel counts in a thread the bot started (or @mentioning it)
        if not await fresh(body):
            return
        if files:
            place = Place(bolt.client, channel=event["channel"] if direct else event["user"],
                          user=event["user"])
            text = MENTION.sub("", event.get("text") or "").strip() or None
            reply = await receive(body["team_id"], event["user"], files, text, place)
            if reply is not None and not direct:
                await _answered_privately(event, reply.language)
            return
        place = Place(bolt.client, channel=event["channel"], user=event["user"])
        reply = await converse(Inbound(channel_of(body["team_id"]), event["user"],
                                       text=event.get("text", "")), place)
        await place.post(reply)

    @bolt.event("file_shared")
    async def on_file_shared(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        """A file shared in the bot's DM (the message event may bring it too: handled once)."""
        file_id = event.get("file_id") or (event.get("file") or {}).get("id")
        channel, user = event.get("channel_id"), event.get("user_id")
        if (not isinstance(file_id, str) or not isinstance(channel, str) or not user
                or user == context.get("bot_user_id") or not await fresh(body)):
            return
        try:
            found = await bolt.client.files_info(file=file_id)
        except SlackApiError as exc:
            log.warning("slack file %s: files.info failed (%s)", file_id,
                        exc.response.get("error"))
            return
        file = found.get("file") or {}
        if channel not in (file.get("ims") or []):
            return  # shared in a channel: only a thread the bot started counts (message event)
        await receive(body["team_id"], str(user), [file], None,
                      Place(bolt.client, channel=channel, user=str(user)))

    async def _answered_privately(event: dict[str, Any], language: str) -> None:
        await bolt.client.chat_postMessage(
            channel=event["channel"], thread_ts=event.get("thread_ts") or event["ts"],
            text=i18n.t(language, "buttons.answered_privately", user=event["user"]))

    @bolt.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        if not await fresh(body):
            return
        text = MENTION.sub("", event.get("text", "")).strip() or "?"
        # A channel is public: the answer (people, seats, requests) goes to the officer alone,
        # in the direct conversation where the flow continues; the thread gets one line.
        place = Place(bolt.client, channel=event["user"], user=event["user"])
        files = [f for f in event.get("files") or [] if isinstance(f, dict)]
        if files:
            reply = await receive(body["team_id"], event["user"], files, text, place)
            if reply is not None:
                await _answered_privately(event, reply.language)
            return
        reply = await converse(Inbound(channel_of(body["team_id"]), event["user"], text=text),
                               place)
        await place.post(reply)
        await _answered_privately(event, reply.language)

    @bolt.action(STEP_ACTIONS)
    async def on_step(ack: Any, body: dict[str, Any], action: dict[str, Any],
                      respond: Any) -> None:
        await ack()
        if not await fresh(body):
            return
        action_id = action["action_id"]
        if action_id == blocks.ACTION_CONFIRM:
            step = CONFIRM
        elif action_id == blocks.ACTION_CANCEL:
            step = CANCEL
        elif action_id == blocks.ACTION_SELECT:
            step = "choose:" + action["selected_option"]["value"]
        else:
            step = "choose:" + str(action.get("value"))
        team = body.get("team", {}).get("id") or body["user"]["team_id"]
        place = _place_of_click(body, bolt.client, http.respond(respond))
        reply = await converse(Inbound(channel_of(team), body["user"]["id"], action=step), place)
        await place.resolve(_message_text(body), i18n.t(reply.language, "buttons.chosen",
                                                        label=_clicked_label(action)))
        await place.post(reply)

    @bolt.action(blocks.ACTION_APPROVE)
    async def on_approve(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        card = _request_id(action.get("value"))
        if card is None or not await fresh(body):
            return
        container = body.get("container", {})
        await _decide(body, card[0] + approve_action(card[1]), None,
                      container.get("channel_id"), container.get("message_ts"))

    @bolt.action(blocks.ACTION_REFUSE)
    async def on_refuse(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if not await fresh(body):
            return
        card = _request_id(action.get("value"))
        if card is None:
            await _tell(body, Reply(i18n.t("fr", "flow.lost")))
            return
        prefix, request_id = card
        reply = await converse(_inbound_of(body, action=prefix + refuse_form_action(request_id)))
        if reply.input != REASON:
            await _tell(body, reply)
            return
        container = body.get("container", {})
        await bolt.client.views_open(trigger_id=body["trigger_id"], view=blocks.refuse_modal(
            reply.language, {"request": request_id, "channel": container.get("channel_id"),
                             "ts": container.get("message_ts"), "prefix": prefix}))

    @bolt.view(blocks.REFUSE_MODAL)
    async def on_refuse_submit(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        if not await fresh(body):
            return
        metadata = json.loads(view.get("private_metadata") or "{}")
        reason = (view["state"]["values"].get("reason", {}).get("reason", {})
                  .get("value") or "").strip() or None
        request_id = metadata.get("request")
        prefix = ACCESS_PREFIX if metadata.get("prefix") == ACCESS_PREFIX else ""
        if isinstance(request_id, int):
            await _decide(body, prefix + refuse_action(request_id), reason,
                          metadata.get("channel"), metadata.get("ts"))

    def _inbound_of(body: dict[str, Any], action: str | None = None,
                    text: str | None = None) -> Inbound:
        team = body.get("team", {}).get("id") or body["user"].get("team_id", "")
        return Inbound(channel_of(team), body["user"]["id"], text=text, action=action)

    async def _tell(body: dict[str, Any], reply: Reply, channel: str | None = None) -> None:
        """Only the clicker sees it: an ephemeral message where they clicked, else a DM."""
        user = body["user"]["id"]
        channel = channel or body.get("container", {}).get("channel_id")
        if channel:
            await bolt.client.chat_postEphemeral(channel=channel, user=user,
                                                 **blocks.message(reply))
        else:
            await bolt.client.chat_postMessage(channel=user, **blocks.message(reply))

    async def _decide(body: dict[str, Any], action: str, reason: str | None,
                      channel: str | None, ts: str | None) -> None:
        reply = await converse(_inbound_of(body, action=action, text=reason))
        if reply.replaces is not None and channel and ts:
            await bolt.client.chat_update(channel=channel, ts=ts, **blocks.message(reply.replaces))
        await _tell(body, reply, channel)

    @bolt.event("app_home_opened")
    async def on_home(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home" or not await fresh(body):
            return
        home = await converse(Inbound(channel_of(body["team_id"]), event["user"], action=HOME))
        await bolt.client.views_publish(user_id=event["user"], view=blocks.home_view(home))

    return bolt


PERMANENT_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived",
                              "user_not_found", "account_inactive", "invalid_auth",
                              "not_authed", "missing_scope"})


def is_permanent(error: SlackApiError) -> bool:
    return str(error.response.get("error")) in PERMANENT_ERRORS


class SlackSender:
    """The outbox's Slack channel: a request card with its buttons, or a one-line notice."""

    channel = "slack"

    def __init__(self, app: App, client: AsyncWebClient) -> None:
        self.app = app
        self.client = client

    async def send(self, message: Claimed) -> None:
        _workspace, _, target = message.to.partition(":")
        try:
            reply = await asyncio.to_thread(desk.notification, self.app, message.template,
                                            message.context, message.language)
        except (DomainError, KeyError, ValueError) as exc:
            raise PermanentFailure(f"cannot render {message.template}: {exc!r}") from exc
        try:
            await self.client.chat_postMessage(channel=target, **blocks.message(reply))
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if is_permanent(exc):
                raise PermanentFailure(error) from exc
            raise TemporaryFailure(error) from exc
