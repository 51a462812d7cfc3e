"""The baseline: the same Bolt/Starlette/uvicorn stack as `serve`, whose /itma listener only acks.

    python -m bench.slack.baseline_app --port N --api-url URL --secret S

Serves POST /slack/events (Bolt's AsyncSlackRequestHandler) and GET /healthz on 127.0.0.1 until
SIGINT/SIGTERM. Same options as bot/slack.build: a client whose base_url is the Slack mock, the
signing secret checked by Bolt, process_before_response=False.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HOST = "127.0.0.1"


def create_app(api_url: str, secret: str) -> Starlette:
    bolt = AsyncApp(client=AsyncWebClient(token="xoxb-bench", base_url=api_url),
                    signing_secret=secret, process_before_response=False,
                    raise_error_for_unhandled_request=False)

    @bolt.command("/itma")
    async def on_command(ack: Any) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/healthz", healthz, methods=["GET"]),
                             Route("/slack/events", events, methods=["POST"])])


async def _serve(port: int, api_url: str, secret: str) -> None:
    sock = socket.create_server((HOST, port), reuse_port=False)
    server = uvicorn.Server(uvicorn.Config(
        create_app(api_url, secret), log_level="warning", lifespan="off", access_log=False,
        timeout_graceful_shutdown=5))
    print(f"baseline serving on http://{HOST}:{port}", file=sys.stderr, flush=True)
    await server.serve(sockets=[sock])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slack.baseline_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True, help="Slack Web API base URL (the mock)")
    parser.add_argument("--secret", required=True, help="Slack signing secret")
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.api_url, args.secret))
    return 0


if __name__ == "__main__":
    sys.exit(main())
