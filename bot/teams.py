"""Teams front end on Microsoft's Teams SDK: activities in, Adaptive Cards out.

The SDK authenticates every activity (the Bot Framework JWT against the connector's key set,
refused when the key set cannot be fetched) and routes it to the handlers here; messages and
card updates go to the Bot Connector through `bot.teams_post` (the SDK's JSON and bot token over
one aiohttp session), opening a conversation and mentions through the SDK's API client. It is
mounted in the one ASGI app through `StarletteAdapter`, the
SDK's HTTP-server-adapter protocol, and starts no server of its own.

A message is answered 200 at once and worked on after, as Slack commands are acked first (once
the SDK has authenticated it, it goes straight to its sender's lane: the SDK's per-activity
context — an API client, a stream, a trace span, a debug line rendering the whole activity —
cost more CPU than the engine's turn and served no message); a card click is an
`adaptiveCard/action` invoke whose answer is the card to show in place of the clicked one, so
it goes through the SDK's pipeline and is worked on before answering. The core runs on worker
threads. No business rule lives here: the engine and the core services decide everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import html
import json
import logging
import re
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import teams_cards as cards
from bot import teams_files as files
from bot import teams_post as wire
from bot import teams_store as store
from bot.teams_sdk import (
    PUBLIC,
    USER_AGENT,
    Account,
    ActivityContext,
    ActivityEvent,
    ActivityTypeAdapter,
    AdaptiveCard,
    AdaptiveCardActionCardResponse,
    AdaptiveCardActionMessageResponse,
    AdaptiveCardInvokeActivity,
    ApiClient,
    ApiClientSettings,
    ConversationUpdateActivity,
    CreateConversationParams,
    FileConsentInvokeActivity,
    HttpRequest,
    HttpRouteHandler,
    InstalledActivity,
    InvokeResponse,
    MessageActivity,
    MessageActivityInput,
    SdkApp,
    clean_environment,
    quiet_setup,
    with_overrides,
)
from bot.teams_store import Reference, Where
from bot.web import Endpoint, bounded
from core import i18n
from core.app import App
from core.conversation import Engine, Inbound, Reply, desk
from core.conversation.types import (
    ACCESS_PREFIX,
    CANCEL,
    CONFIRM,
    InboundFile,
    Progress,
    Redelivered,
    card_action,
    unavailable,
)
from core.errors import DomainError
from core.services.outbox import Claimed, PermanentFailure, TemporaryFailure

log = logging.getLogger(__name__)
ENDPOINT = "/api/messages"
DEFAULT_SERVICE_URL = "https://smba.trafficmanager.net/teams"
"""Where a conversation is opened for someone the bot has never heard from (any region)."""
WORKERS = 1
"""Threads for the core: few, so the event loop keeps its share of the interpreter and answers
Teams promptly under load (the turns are CPU-bound Python: more threads would not add work)."""
LANES = 2
"""Messages are worked on in lanes, by conversation and sender: a person's are answered in
order, while one person's answer is being posted another's turn runs. In a lane, the next turn
runs while the previous answer is being posted (its poster posts them in order)."""
AT_TAG = re.compile(r"</?at>")
MESSAGE = "message"
CardResponse = AdaptiveCardActionCardResponse | AdaptiveCardActionMessageResponse


def channel_of(tenant_id: str) -> str:
    return f"teams:{tenant_id}"


class StarletteAdapter:
    """The SDK's HttpServerAdapter for our Starlette app: the SDK registers its messaging route
    (JWT check, then its activity pipeline); `endpoint()` hands it to the ASGI app, behind the
    same body-size cap as every POST route."""

    def __init__(self) -> None:
        self.routes: dict[str, HttpRouteHandler] = {}

    def register_route(self, method: str, path: str, handler: HttpRouteHandler) -> None:
        if method != "POST":
            raise ValueError(f"unsupported method {method}")
        self.routes[path] = handler

    def serve_static(self, path: str, directory: str) -> None:
        raise NotImplementedError("no static pages")

    async def start(self, port: int) -> None:
        raise NotImplementedError("served by itma-assistant serve")

    async def stop(self) -> None:
        return None

    def endpoint(self, path: str = ENDPOINT) -> Endpoint:
        handler = self.routes[path]

        async def endpoint(request: Request, body: bytes) -> Response:
            try:
                activity = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError, RecursionError):
                return JSONResponse({"error": "not JSON"}, status_code=400)
            if not isinstance(activity, dict) or not isinstance(activity.get("type"), str):
                return JSONResponse({"error": "not an activity"}, status_code=400)
            answer = await handler(HttpRequest(body=activity, headers=dict(request.headers)))
            if answer.get("body") is None:
                return Response(status_code=answer["status"])
            return JSONResponse(answer["body"], status_code=answer["status"])

        return bounded(endpoint)


@dataclass(frozen=True)
class Person:
    """Who sent an activity, and from where."""

    tenant_id: str
    user_ref: str
    """Entra object id: with the tenant, the identity an officer is linked by."""
    account: Account
    here: Where
    personal: bool
    locale: str | None

    def inbound(self, text: str | None = None, action: str | None = None,
                files: tuple[InboundFile, ...] = (), progress: Progress | None = None
                ) -> Inbound:
        return Inbound(channel_of(self.tenant_id), self.user_ref, text=text, action=action,
                       locale=self.locale, files=files, progress=progress)

    @property
    def language(self) -> str:
        return i18n.language_or_default((self.locale or "")[:2])


def _tenant(activity: Any) -> str | None:
    tenant = activity.conversation.tenant_id
    if not tenant and activity.channel_data and activity.channel_data.tenant:
        tenant = activity.channel_data.tenant.id
    return tenant or None


def _person(activity: Any) -> Person | None:
    tenant, sender = _tenant(activity), activity.from_
    if not tenant or sender is None or not sender.aad_object_id:
        return None
    return Person(tenant, sender.aad_object_id, Account(id=sender.id, name=sender.name),
                  Where(activity.conversation.id, activity.service_url),
                  activity.conversation.conversation_type in (None, "personal"),
                  activity.locale)


def _reference(activity: Any) -> Reference | None:
    """The conversation an activity came from, if the bot may write there unasked later."""
    tenant, conversation = _tenant(activity), activity.conversation
    if not tenant or not activity.service_url:
        return None
    if conversation.conversation_type in (None, "personal"):
        sender = activity.from_
        if sender is None or not sender.aad_object_id:
            return None
        return Reference(tenant, conversation.id, activity.service_url, store.PERSONAL,
                         user_ref=sender.aad_object_id)
    if conversation.conversation_type == "channel":
        data = activity.channel_data
        names = [data.team.name if data and data.team else None,
                 data.channel.name if data and data.channel else None]
        return Reference(tenant, conversation.id.split(";")[0], activity.service_url,
                         store.CHANNEL, name=" / ".join(n for n in names if n) or None)
    return None


def _text(activity: MessageActivity) -> str:
    """What the person typed: the bot's @mention removed, other mentions as plain names."""
    text = activity.text or ""
    mention = activity.get_account_mention(activity.recipient.id) if activity.recipient else None
    if mention and mention.text:
        text = text.replace(mention.text, " ")
    return AT_TAG.sub("", text).strip()


def _summary(summary: str) -> str | None:
    return summary.splitlines()[0][:200] if summary else None


@dataclass
class Clicked:
    """What a card click comes to: the card to show instead of the clicked one, the answer for
    the clicker alone, or a short message the client shows the clicker (invokes only)."""

    card: AdaptiveCard | None = None
    reply: Reply | None = None
    notice: str | None = None


class TeamsBot:
    """The SDK app with our handlers, the posting side, and the outbox sender's rendering."""

    def __init__(self, app: App, engine: Engine) -> None:
        settings = app.settings
        self.app = app
        self.engine = engine
        self.tenant_id = settings.teams_tenant_id
        self.bot_id = f"28:{settings.teams_app_id}" if settings.teams_app_id else None
        self.service_url = (settings.teams_service_url or DEFAULT_SERVICE_URL).rstrip("/")
        self.adapter = StarletteAdapter()
        cloud = with_overrides(PUBLIC, openid_metadata_url=settings.teams_openid_url)
        with clean_environment(), quiet_setup():
            self.sdk = SdkApp(
                client_id=settings.teams_app_id, client_secret=settings.teams_app_password,
                tenant_id=settings.teams_tenant_id, cloud=cloud, service_url=self.service_url,
                dangerously_allow_unauthenticated_requests=settings.teams_allow_unauthenticated,
                http_server_adapter=self.adapter, state=False, fetch_user_token=False,
                api_client_settings=ApiClientSettings(oauth_url=cloud.token_service_url),
                telemetry={"agent365": False})
        self.sdk.on_message(self._on_message)
        self.sdk.on_card_action(self._on_card_action)
        self.sdk.on_conversation_update(self._on_conversation_update)
        self.sdk.on_install_add(self._on_install)
        self.sdk.on_file_consent(self._on_file_consent)
        self._work = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="teams-work")
        self._apis: dict[str, ApiClient] = {}
        self._wire = wire.Poster(lambda: self.sdk.token_provider.get_app_token(
            cloud.bot_scope, None), USER_AGENT)
        self._remembered = store.Remembered()
        self._tasks: set[asyncio.Task[None]] = set()
        self._lanes: list[asyncio.Queue[MessageActivity]] = [asyncio.Queue()
                                                             for _ in range(LANES)]
        self._posts: list[asyncio.Queue[Coroutine[Any, Any, None]]] = [
            asyncio.Queue() for _ in range(LANES)]
        self._lane_tasks: list[asyncio.Task[None]] = []
        self._pipeline: Callable[[ActivityEvent], Coroutine[Any, Any, Any]] | None = None

    async def initialize(self) -> Endpoint:
        """Let the SDK register its messaging route; returns the endpoint for the ASGI app."""
        with quiet_setup():
            await self.sdk.initialize()
        # Importing the SDK leaves some 180,000 long-lived objects (its pydantic models): out of
        # the cyclic collector's sight, its full collections no longer stall every answer.
        gc.collect()
        gc.freeze()
        loop = asyncio.get_running_loop()
        self._lane_tasks = [loop.create_task(self._lane(lane, posts))
                            for lane, posts in zip(self._lanes, self._posts, strict=True)]
        self._lane_tasks += [loop.create_task(self._poster(posts)) for posts in self._posts]
        self._pipeline = self.sdk.server.on_request
        self.sdk.server.on_request = self._on_request
        return self.adapter.endpoint(ENDPOINT)

    async def _on_request(self, event: ActivityEvent) -> Any:
        """Every activity the SDK authenticated: a message into its sender's lane, answered 200
        as the SDK would; anything else (card clicks, installs…) through the SDK's pipeline."""
        if event.body.type == MESSAGE and self._pipeline is not None:
            activity = ActivityTypeAdapter.validate_python(
                event.body.model_dump(by_alias=True, exclude_none=True))
            self._enqueue(activity)
            return InvokeResponse[Any](status=200)
        assert self._pipeline is not None
        return await self._pipeline(event)

    async def close(self, timeout: float = 5.0) -> None:
        """Finish the answers being worked on, then stop the worker threads."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained(), timeout)
        for task in self._lane_tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        self._work.shutdown(wait=False, cancel_futures=True)
        await self._wire.close()

    # -- plumbing ---------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Core work off the event loop, on this adapter's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._work, fn, *args)

    async def _converse(self, inbound: Inbound, person: Person | None = None) -> Reply:
        """The engine's turn; for a person in their personal chat, with a progress line."""
        progress = self._progress(person)
        if progress is not None:
            inbound = dataclasses.replace(inbound, progress=progress)
        reply: Reply = await self._run(self.engine.handle, inbound)
        if progress is not None:
            await progress.settle()
        return reply

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Work after the HTTP answer; kept referenced until done, failures logged."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._settled)

    async def _drained(self) -> None:
        await asyncio.gather(*(lane.join() for lane in self._lanes))
        await asyncio.gather(*(posts.join() for posts in self._posts))

    async def _lane(self, lane: asyncio.Queue[MessageActivity],
                    posts: asyncio.Queue[Coroutine[Any, Any, None]]) -> None:
        """The turns of a lane, one after the other; their answers go to the lane's poster."""
        while True:
            activity = await lane.get()
            try:
                answer = await self._message(activity, posts)
                if answer is not None:
                    posts.put_nowait(answer)
            except Exception as exc:
                log.error("teams: answer failed: %r", exc)
            finally:
                lane.task_done()

    @staticmethod
    async def _poster(posts: asyncio.Queue[Coroutine[Any, Any, None]]) -> None:
        """A lane's answers posted in the order of its turns."""
        while True:
            answer = await posts.get()
            try:
                await answer
            except Exception as exc:
                log.error("teams: answer failed: %r", exc)
            finally:
                posts.task_done()

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("teams: answer failed: %r", task.exception())

    def _api(self, service_url: str) -> ApiClient:
        api = self._apis.get(service_url)
        if api is None:
            if len(self._apis) > 50:
                self._apis.clear()
            api = self._apis[service_url] = self.sdk.api.from_service_url(service_url)
        return api

    def _allowed(self, person: Person | None) -> bool:
        if person is None:
            return False
        if self.tenant_id and person.tenant_id != self.tenant_id:
            log.warning("teams: activity from another tenant ignored")
            return False
        return True

    def _arrival(self, activity: Any) -> store.Arrival:
        """The activity's bookkeeping: its delivery recorded, where its sender can be reached."""
        if self.bot_id is None and activity.recipient is not None:
            self.bot_id = activity.recipient.id  # without credentials: learnt from Teams
        key = store.delivery_key(activity.conversation.id, activity.id) if activity.id else None
        return store.Arrival(key, _reference(activity), self._remembered)

    def _first_time(self, activity: Any) -> bool:
        """False for a redelivered activity; remembers where its sender can be reached."""
        arrival = self._arrival(activity)
        with self.app.unit_of_work() as uow:
            fresh = arrival(uow.session)
        if not fresh:
            log.info("teams: activity delivered again; handled once")
        else:
            arrival.committed()
        return fresh

    async def _arrive(self, activity: Any) -> bool:
        fresh: bool = await self._run(self._first_time, activity)
        return fresh

    def _turn(self, activity: MessageActivity, inbound: Inbound) -> Reply | None:
        """The engine's turn, the activity's bookkeeping first in the turn's own transaction
        (one transaction per message: a second one cost some 0.1 ms of CPU per message)."""
        arrival = self._arrival(activity)
        try:
            reply = self.engine.handle(dataclasses.replace(inbound, arrival=arrival))
        except Redelivered:
            log.info("teams: activity delivered again; handled once")
            return None
        arrival.committed()
        return reply

    # -- posting ----------------------------------------------------------------------------

    async def post(self, where: Where, reply: Reply) -> str:
        """A Reply as an Adaptive Card message in that conversation; returns the activity id."""
        card = cards.render(reply, self.app.settings.public_url)
        return await self.post_card(where, card, reply.text)

    async def post_card(self, where: Where, card: AdaptiveCard, summary: str) -> str:
        return await self._wire.create(where.service_url, where.conversation_id, wire.message(
            attachments=[wire.card_attachment(cards.as_json(card))], summary=_summary(summary),
            bot_id=self.bot_id))

    async def post_text(self, where: Where, text: str) -> str:
        """A plain message (a progress line); returns its activity id."""
        return await self._wire.create(where.service_url, where.conversation_id,
                                       wire.message(text=text, bot_id=self.bot_id))

    async def update_text(self, where: Where, activity_id: str, text: str) -> None:
        await self._wire.update(where.service_url, where.conversation_id, activity_id,
                                wire.message(text=text, activity_id=activity_id))

    async def post_attachment(self, where: Where, attachment: dict[str, Any]) -> str:
        """A message carrying one Teams attachment (a file-consent or a file-info card)."""
        return await self._wire.create(where.service_url, where.conversation_id, wire.message(
            attachments=[wire.attachment(attachment)], bot_id=self.bot_id))

    async def update(self, where: Where, activity_id: str, card: AdaptiveCard,
                     summary: str) -> None:
        await self._wire.update(where.service_url, where.conversation_id, activity_id,
                                wire.message(attachments=[wire.card_attachment(
                                    cards.as_json(card))], summary=_summary(summary),
                                    activity_id=activity_id))

    async def personal(self, tenant_id: str, user_ref: str, member_id: str | None = None,
                       service_url: str | None = None) -> Where:
        """The person's 1:1 chat with the bot: remembered, or opened now (POST /v3/conversations)
        and remembered. `member_id` is their Teams id when known, else the Entra object id."""
        where: Where | None = await self._run(store.personal, self.app, tenant_id, user_ref)
        if where is not None:
            return where
        service_url = (service_url or await self._run(store.service_url, self.app, tenant_id)
                       or self.service_url)
        params = CreateConversationParams(
            members=[Account(id=member_id or user_ref)], tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}}, isGroup=False,
            **({"bot": {"id": self.bot_id}} if self.bot_id else {}))
        created = await self._api(service_url).conversations.create(params)
        where = Where(created.id, (created.service_url or service_url).rstrip("/"))
        await self._run(store.arrive, self.app, None, Reference(
            tenant_id, where.conversation_id, where.service_url, store.PERSONAL,
            user_ref=user_ref), self._remembered)
        return where

    async def tell(self, person: Person, reply: Reply) -> None:
        """An answer for that person alone: where they are if it is their 1:1 chat, else in it."""
        where = person.here if person.personal else await self.personal(
            person.tenant_id, person.user_ref, person.account.id, person.here.service_url)
        await self.post(where, reply)
        for attachment in reply.attachments:
            await self._offer(person, where, attachment, reply.language)

    async def _offer(self, person: Person, where: Where, attachment: Any, language: str) -> None:
        """A file for the officer: held in the database, offered with a file-consent card."""
        token: str = await self._run(files.hold, self.app, channel_of(person.tenant_id),
                                     person.user_ref, attachment)
        await self.post_attachment(where, files.consent_card(attachment, token, i18n.t(
            language, "teams.file_description", filename=attachment.filename)))

    async def _answered_privately(self, person: Person, language: str) -> None:
        """One line in the channel thread, mentioning the officer; the data went to them."""
        name = html.escape(person.account.name or "")
        activity = MessageActivityInput(text=i18n.t(language, "teams.answered_privately",
                                                    name=f"<at>{name}</at>"))
        activity.add_mention(person.account, text=name, add_text=False)
        await self._api(person.here.service_url).conversations.create_activity(
            person.here.conversation_id, activity)

    # -- messages ---------------------------------------------------------------------------

    async def _on_message(self, ctx: ActivityContext[MessageActivity]) -> None:
        """A message the SDK's pipeline routed (the endpoint's go by `_on_request`)."""
        self._enqueue(ctx.activity)

    def _enqueue(self, activity: MessageActivity) -> None:
        """Answered 200 now; worked on in the sender's lane."""
        sender = activity.from_.id if activity.from_ else ""
        self._lanes[hash((activity.conversation.id, sender)) % LANES].put_nowait(activity)

    async def _message(self, activity: MessageActivity,
                       posts: asyncio.Queue[Coroutine[Any, Any, None]]
                       ) -> Coroutine[Any, Any, None] | None:
        """A message's turn; the posting of its answer, for the lane's poster (a click or a
        file is answered here, once the lane's earlier answers are posted)."""
        person = _person(activity)
        if not self._allowed(person):
            return None
        assert person is not None
        value = activity.value if isinstance(activity.value, dict) else None
        if value and isinstance(value.get(cards.ACTION), str):
            await posts.join()
            if await self._arrive(activity):
                await self._submitted(activity, person, value)
            return None
        dropped = files.files_of(activity)
        if dropped:
            await posts.join()
            reply = await self._receive(activity, person, dropped)
            if reply is not None:
                await self._answer(person, reply)
            return None
        reply = await self._run(self._turn, activity, person.inbound(text=_text(activity) or "?"))
        return self._answer(person, reply) if reply is not None else None

    async def _answer(self, person: Person, reply: Reply) -> None:
        await self.tell(person, reply)
        if not person.personal:
            await self._answered_privately(person, reply.language)

    async def _receive(self, activity: MessageActivity, person: Person,
                       dropped: list[Any]) -> Reply | None:
        """Files sent to the bot: the first one downloaded (personal chat only), then the
        engine's turn, with a progress line for a long file."""
        if not await self._arrive(activity):
            return None
        if person.personal:
            first = await files.fetch(dropped[0], activity.service_url)
        else:
            first = unavailable(files.name_of(dropped[0]))
        got = (first, *(unavailable(files.name_of(a)) for a in dropped[1:]))
        return await self._converse(person.inbound(text=_text(activity) or None, files=got),
                                    person)

    def _progress(self, person: Person | None) -> files.Progress | None:
        if person is None or not person.personal:
            return None
        return files.Progress(self, person.here, asyncio.get_running_loop())

    async def _submitted(self, activity: MessageActivity, person: Person,
                         data: dict[str, Any]) -> None:
        """Action.Submit from a client without Action.Execute: the same click, as a message."""
        clicked = await self._click(person, data)
        if clicked.card is not None and activity.reply_to_id:
            await self.update(person.here, activity.reply_to_id, clicked.card, "")
        if clicked.notice is not None:
            clicked.reply = Reply(clicked.notice, person.locale or "fr")
        if clicked.reply is not None:
            await self.tell(person, clicked.reply)

    # -- card clicks ------------------------------------------------------------------------

    async def _on_card_action(self, ctx: ActivityContext[AdaptiveCardInvokeActivity]
                              ) -> CardResponse | None:
        activity = ctx.activity
        person = _person(activity)
        if not self._allowed(person):
            return None
        assert person is not None
        data = activity.value.action.data
        if not await self._arrive(activity):
            clicked = await self._again(person, data)
        else:
            clicked = await self._click(person, data)
            if clicked.reply is not None:
                self._later(self.tell(person, clicked.reply))
        if clicked.card is not None:
            return AdaptiveCardActionCardResponse(value=clicked.card)
        if clicked.notice is not None:
            return AdaptiveCardActionMessageResponse(value=clicked.notice)
        return None

    async def _click(self, person: Person, data: dict[str, Any]) -> Clicked:
        """One click on one of our cards, whatever carried it (invoke or submit message)."""
        action = str(data.get(cards.ACTION) or "")
        if card_action(action) is not None:
            reason = str(data.get(cards.REASON) or "").strip()[:cards.REASON_LIMIT] or None
            reply = await self._converse(person.inbound(text=reason, action=action))
            if reply.replaces is None:
                return Clicked(notice=reply.text)
            return Clicked(card=cards.render(reply.replaces), reply=reply)
        step, outcome = self._step(data)
        if step is None:
            return Clicked(notice=i18n.t(person.locale or "fr", "flow.lost"))
        reply = await self._converse(person.inbound(action=step), person)
        original = str(data.get(cards.CARD) or "")
        return Clicked(card=cards.resolved(original, outcome(reply.language)), reply=reply)

    @staticmethod
    def _step(data: dict[str, Any]) -> tuple[str | None, Callable[[str], str]]:
        """The engine action of a dialogue button, and the line that replaces the buttons."""
        action = data.get(cards.ACTION)
        if action == CONFIRM:
            return CONFIRM, lambda language: i18n.t(language, "buttons.confirmed")
        if action == CANCEL:
            return CANCEL, lambda language: i18n.t(language, "buttons.cancelled")
        choice = data.get(cards.CHOICE)
        if action == cards.CHOOSE and isinstance(choice, str) and choice:
            labels = data.get(cards.LABELS) if isinstance(data.get(cards.LABELS), dict) else {}
            label = f"{choice}. {labels.get(choice)}" if labels.get(choice) else choice
            return f"choose:{choice}", lambda language: i18n.t(language, "buttons.chosen",
                                                               label=label)
        return None, lambda language: ""

    async def _again(self, person: Person, data: dict[str, Any]) -> Clicked:
        """A click delivered a second time: the same card again, nothing done twice."""
        card = card_action(str(data.get(cards.ACTION) or ""))
        language = i18n.language_or_default((person.locale or "")[:2])
        if card is not None:
            again = desk.access_card if card[0].startswith(ACCESS_PREFIX) else desk.request_card
            try:
                reply = await self._run(again, self.app, card[1], language)
            except DomainError:
                return Clicked()
            return Clicked(card=cards.render(reply))
        step, outcome = self._step(data)
        if step is None:
            return Clicked()
        return Clicked(card=cards.resolved(str(data.get(cards.CARD) or ""), outcome(language)))

    # -- files out: the consent card's answer ------------------------------------------------

    async def _on_file_consent(self, ctx: ActivityContext[FileConsentInvokeActivity]) -> None:
        """Allow or Decline on a file-consent card: answered at once, the upload after."""
        activity = ctx.activity
        person = _person(activity)
        if not self._allowed(person) or not await self._arrive(activity):
            return
        assert person is not None
        value = activity.value
        token = files.token_of(value.context)
        if value.action == "accept" and value.upload_info is not None:
            self._later(self._upload(person, token, value.upload_info, activity.service_url))
        else:
            self._later(self._declined(person, token))

    async def _upload(self, person: Person, token: str, upload_info: Any,
                      service_url: str) -> None:
        held = await self._run(files.take, self.app, channel_of(person.tenant_id),
                               person.user_ref, token)
        language = person.language
        if held is None:
            await self.post(person.here, Reply(i18n.t(language, "teams.file_gone"), language))
            return
        if not await files.upload(str(upload_info.upload_url or ""), held.content, service_url):
            await self.post(person.here, Reply(i18n.t(language, "teams.file_failed",
                                                      filename=held.filename), language))
            return
        await self.post_attachment(person.here, files.file_info_card(upload_info))

    async def _declined(self, person: Person, token: str) -> None:
        held = await self._run(files.take, self.app, channel_of(person.tenant_id),
                               person.user_ref, token)
        language = person.language
        text = (i18n.t(language, "teams.file_declined", filename=held.filename) if held
                else i18n.t(language, "teams.file_gone"))
        await self.post(person.here, Reply(text, language))

    # -- installs ---------------------------------------------------------------------------

    async def _on_conversation_update(self, ctx: ActivityContext[ConversationUpdateActivity]
                                      ) -> None:
        await self._installed(ctx.activity)

    async def _on_install(self, ctx: ActivityContext[InstalledActivity]) -> None:
        await self._installed(ctx.activity)

    async def _installed(self, activity: Any) -> None:
        """Remember the conversation the app was added to (a person's chat, a team)."""
        if self.tenant_id and _tenant(activity) != self.tenant_id:
            return
        reference = _reference(activity)
        if reference is not None:
            await self._run(store.arrive, self.app, None, reference, self._remembered)

    async def forget(self, conversation_id: str) -> None:
        """A conversation the connector no longer knows, dropped here and in the database."""
        self._remembered.forgotten(conversation_id)
        await self._run(store.forget, self.app, conversation_id)

    # -- notifications ----------------------------------------------------------------------

    async def notification(self, message: Claimed) -> Reply:
        """An outbox row as the Reply to post: a card or a notice, worded by core (the same
        function the Slack sender uses)."""
        reply: Reply = await self._run(desk.notification, self.app, message.template,
                                       dict(message.context), message.language)
        return reply


class TeamsSender:
    """Delivers the outbox's Teams rows: to an officer ('TENANT:OBJECTID', their 1:1 chat,
    opened when there is none yet) or to a channel ('TENANT:19:…@thread…')."""

    channel = "teams"

    def __init__(self, bot: TeamsBot) -> None:
        self.bot = bot

    async def send(self, message: Claimed) -> None:
        tenant_id, _, target = message.to.partition(":")
        if not tenant_id or not target:
            raise PermanentFailure(f"not a Teams address: {message.to!r}")
        try:
            reply = await self.bot.notification(message)
        except (DomainError, KeyError, ValueError) as exc:
            raise PermanentFailure(f"cannot render {message.template}: {exc!r}") from exc
        where: Where | None = None
        try:
            if target.startswith("19:"):
                where = await self.bot._run(store.channel, self.bot.app, target) or Where(
                    target, await self.bot._run(store.service_url, self.bot.app, tenant_id)
                    or self.bot.service_url)
            else:
                where = await self.bot.personal(tenant_id, target)
            await self.bot.post(where, reply)
        except httpx.HTTPStatusError as exc:
            await self._failed(exc.response.status_code, where, target)
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"Bot Connector unreachable: {exc!r}") from exc

    async def _failed(self, status: int, where: Where | None, target: str) -> None:
        if status == 404 and where is not None and not target.startswith("19:"):
            await self.bot.forget(where.conversation_id)
            raise TemporaryFailure("conversation unknown to the connector: reopened next time")
        if status in (401, 408, 429) or status >= 500:
            raise TemporaryFailure(f"Bot Connector answered {status}")
        raise PermanentFailure(f"Bot Connector refused the message ({status})")

