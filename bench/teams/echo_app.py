"""The baseline: a Teams SDK app whose message handler only echoes, on the SDK's own server.

    python -m bench.teams.echo_app --port N --service-url URL

The SDK's defaults (FastAPI adapter under uvicorn, `ctx.send` inside the handler, so the HTTP
answer waits for the connector post), unauthenticated like the itma run, quiet logs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvicorn

from bot.teams_sdk import (
    ActivityContext,
    FastAPIAdapter,
    MessageActivity,
    SdkApp,
    clean_environment,
)

HOST = "127.0.0.1"


def create(port: int, service_url: str) -> SdkApp:
    adapter = FastAPIAdapter(server_factory=lambda fastapi: uvicorn.Server(uvicorn.Config(
        fastapi, host=HOST, port=port, log_level="warning", access_log=False,
        lifespan="off")))
    with clean_environment():
        app = SdkApp(dangerously_allow_unauthenticated_requests=True, service_url=service_url,
                     http_server_adapter=adapter, state=False, fetch_user_token=False,
                     telemetry={"agent365": False})

    @app.on_message
    async def echo(ctx: ActivityContext[MessageActivity]) -> None:
        await ctx.send(ctx.activity.text)

    @adapter.app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.teams.echo_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--service-url", required=True, help="the Bot Connector stand-in")
    args = parser.parse_args()
    print(f"echo baseline on http://{HOST}:{args.port}", file=sys.stderr, flush=True)
    asyncio.run(create(args.port, args.service_url).start(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
