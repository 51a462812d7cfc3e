"""The Bot Connector for the benchmark, in its own process: python -m bench.teams.connector --port N

An aiohttp server (one event loop, keep-alive) so that neither server under test waits on the
stand-in, whatever the number of connections they open: POST /v3/conversations/{id}/activities
answers {"id": …} and counts the post per conversation; GET /bench/stats?conversation=ID gives
{"count", "last_at" (time.monotonic, comparable across processes), "last"} (the last body);
GET /healthz.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from typing import Any

from aiohttp import web

counter = itertools.count(1)
stats: dict[str, dict[str, Any]] = {}


async def activity(request: web.Request) -> web.Response:
    body = await request.json()
    entry = stats.setdefault(request.match_info["conversation"], {"count": 0})
    entry.update(count=entry["count"] + 1, last_at=time.monotonic(), last=body)
    return web.json_response({"id": f"act-{next(counter)}"})


async def read(request: web.Request) -> web.Response:
    return web.json_response(stats.get(request.query.get("conversation", ""), {"count": 0}))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.teams.connector")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=2**20)
    app.router.add_post("/v3/conversations/{conversation}/activities", activity)
    app.router.add_get("/bench/stats", read)
    app.router.add_get("/healthz", lambda _request: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None,
                backlog=1024)
    return 0


if __name__ == "__main__":
    sys.exit(main())
