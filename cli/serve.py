"""`serve`: every configured front end and worker in one process; Ctrl-C stops cleanly."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import socket
import sys

import uvicorn
from slack_sdk.web.async_client import AsyncWebClient

from bot import slack, web
from bot.link_page import LinkPage
from cli.runtime import CommandError, log_to_console, make_app
from core import eid, metrics
from core.app import App
from core.conversation import Engine
from core.scheduler import Scheduler
from core.services import outbox
from mail_gateway import delivery
from mail_gateway.worker import MailGateway

log = logging.getLogger("itma.serve")


def _listen(name: str, address: tuple[str, int]) -> socket.socket:
    host, port = address
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        raise CommandError(f"{name}: cannot listen on {host}:{port}: {exc.strerror}",
                           code=2) from exc
    return sock


async def _serve(app: App) -> None:
    settings = app.settings
    engine = Engine(app)
    engine.warm_up()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    slack_endpoint = None
    socket_mode = None
    fronts = []
    senders: dict[str, outbox.Sender] = {"mail": delivery.MailSender(settings)}
    if settings.slack_enabled:
        slack_settings = settings.slack
        client = AsyncWebClient(token=slack_settings.bot_token,
                                **({"base_url": slack_settings.api_url}
                                   if slack_settings.api_url else {}))
        bolt = slack.build(app, engine, client, slack_settings.signing_secret)
        if slack_settings.signing_secret:
            slack_endpoint = (bolt, slack_settings.signing_secret)
            fronts.append("Slack events on /slack/events")
        if slack_settings.app_token:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            socket_mode = AsyncSocketModeHandler(bolt, slack_settings.app_token,
                                                 web_client=client)
            await socket_mode.connect_async()
            fronts.append("Slack Socket Mode")
        senders["slack"] = slack.SlackSender(app, client)
    teams_bot, teams_endpoint = None, None
    if settings.teams_enabled:
        from bot import teams  # the SDK takes a second to import: only when Teams is configured

        teams_bot = teams.TeamsBot(app, engine)
        teams_endpoint = await teams_bot.initialize()
        senders["teams"] = teams.TeamsSender(teams_bot)
        fronts.append("Teams on /api/messages")
        if settings.teams.allow_unauthenticated:
            print("warning: ITMA_TEAMS_ALLOW_UNAUTHENTICATED=1: Teams activities are accepted "
                  "without authentication (development and tests only)", file=sys.stderr,
                  flush=True)
    sock = _listen("ITMA_HTTP_LISTEN", settings.http_listen)
    _listen("ITMA_SMTP_LISTEN", settings.smtp_listen).close()
    gateway = MailGateway(app)
    fronts += gateway.start()
    proxied = bool(settings.eid.cert_header)
    verifier = eid.Verifier.from_settings(settings)  # one for the page, the header, the card API
    link_page = LinkPage(app, serve_plain=proxied, verifier=verifier).start()
    link_host, link_port = link_page.address
    fronts.append(f"eID link page on {'http' if proxied else 'https'}://{link_host}:{link_port}"
                  + (" (behind a proxy)" if proxied else "") + f", OCSP {verifier.mode}")
    tasks.append(asyncio.create_task(outbox.deliver_forever(app, senders, stop)))
    fronts.append("outbox → " + ", ".join(senders))
    tasks.append(asyncio.create_task(_schedule(app, stop)))
    fronts.append("scheduler (one instance at a time)")
    if settings.intake_secret:
        fronts.append("intake on /intake/registrations")
    server = uvicorn.Server(uvicorn.Config(
        web.create_app(slack=slack_endpoint, app=app, teams=teams_endpoint),
        log_level="warning", lifespan="off",
        access_log=False, timeout_graceful_shutdown=5))
    host, port = settings.http_listen
    print(f"serving on http://{host}:{port} — " + (", ".join(fronts) or
          "no chat platform configured (set ITMA_SLACK_BOT_TOKEN …)") + "; Ctrl-C stops",
          file=sys.stderr, flush=True)
    # What start-up built (SDKs, templates, catalogues) lives as long as the process: keep it
    # out of the cyclic collector, whose full passes over it were the worst answer latencies.
    gc.freeze()
    try:
        await server.serve(sockets=[sock])
    finally:
        stop.set()
        # uvicorn re-raises the SIGINT it caught and asyncio.run then cancels this task:
        # shield the cleanup so connections close and workers finish their current message.
        link_page.stop()
        cleanup = asyncio.ensure_future(_close(socket_mode, tasks, gateway, teams_bot))
        while not cleanup.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(cleanup)
        cleanup.result()
        print("stopped", file=sys.stderr)


SCHEDULE_EVERY = 60.0


async def _schedule(app: App, stop: asyncio.Event) -> None:
    scheduler = Scheduler(app)
    try:
        while not stop.is_set():
            try:
                await asyncio.to_thread(scheduler.tick)
            except Exception:
                log.exception("scheduler")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SCHEDULE_EVERY)
    finally:
        scheduler.close()


async def _close(socket_mode: object | None, tasks: list[asyncio.Task[None]],
                 gateway: MailGateway, teams_bot: object | None = None) -> None:
    await asyncio.to_thread(gateway.stop)
    if teams_bot is not None:
        await teams_bot.close()  # type: ignore[attr-defined]
    if socket_mode is not None:
        await socket_mode.close_async()  # type: ignore[attr-defined]
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the interpreter: short, so the event loop acks promptly while
conversation turns run on worker threads (Python's default is 5 ms)."""


def serve(_args: argparse.Namespace) -> int:
    app = make_app()
    log_to_console()
    metrics.enable(app.settings.home)  # before any thread starts counting
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        asyncio.run(_serve(app))
    finally:
        app.close()
    return 0
