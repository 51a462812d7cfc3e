"""The Bot Connector for the benchmark, in its own process: python -m bench.teams.connector --port N

An aiohttp server (one event loop, keep-alive) so that neither server under test waits on the
stand-in, whatever the number of connections they open: POST /v3/conversations/{id}/activities
answers {"id": …} and counts the post per conversation; GET /bench/stats?conversation=ID gives
{"count", "last_at" (time.monotonic, comparable across processes), "last"} (the last body),
"bad" (answers saying not understood / not linked), and with &times=1 "times": when each post
arrived, in order; GET /healthz.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from typing import Any

from aiohttp import web

BAD_REPLIES = ("pas compris", "pas encore lié")
counter = itertools.count(1)
stats: dict[str, dict[str, Any]] = {}


def shown(activity: dict[str, Any]) -> str:
    """The text of a posted activity: its own, or its card's TextBlocks."""
    parts = [str(activity.get("text") or "")]
    for attachment in activity.get("attachments") or []:
        content = attachment.get("content") if isinstance(attachment, dict) else None
        parts += [str(e.get("text", "")) for e in (content or {}).get("body", [])
                  if isinstance(e, dict) and e.get("type") == "TextBlock"]
    return " ".join(p for p in parts if p)


async def activity(request: web.Request) -> web.Response:
    at = time.monotonic()
    body = await request.json()
    entry = stats.setdefault(request.match_info["conversation"],
                             {"count": 0, "times": [], "bad": 0})
    entry.update(count=entry["count"] + 1, last_at=at, last=body)
    entry["times"].append(at)
    if any(bad in shown(body) for bad in BAD_REPLIES):
        entry["bad"] += 1
    return web.json_response({"id": f"act-{next(counter)}"})


async def read(request: web.Request) -> web.Response:
    entry = stats.get(request.query.get("conversation", ""), {"count": 0, "times": [], "bad": 0})
    if request.query.get("times") != "1":
        entry = {k: v for k, v in entry.items() if k != "times"}
    return web.json_response(entry)


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
