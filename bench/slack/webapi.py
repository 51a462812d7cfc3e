"""Slack's Web API and response URLs for the benchmark, in its own process:

    python -m bench.slack.webapi --port N

An aiohttp server (one event loop, HTTP/1.1 keep-alive as Slack's hosts) so that neither the
server under test nor the timing of its answers waits on the stand-in: POST /response/{key}
(respond() posts) records when each answer arrived, its text for the warm-up keys, and whether
it is a bad reply (not understood, not linked); POST /api/{method} answers ok (auth.test with a
bot identity); GET /bench/answers?prefix=P gives {"at": {key: monotonic}, "bad": n, "texts":
{key: text}} for the keys starting with P; GET /healthz. time.monotonic is comparable across
the processes of the machine.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from typing import Any

from aiohttp import web

BAD_REPLIES = ("pas compris", "pas encore lié")
WARM = "warm-"
arrived: dict[str, float] = {}
texts: dict[str, str] = {}
bad: set[str] = set()
counter = itertools.count(1)


def shown(body: dict[str, Any]) -> str:
    parts = [str(body.get("text") or "")]
    for block in body.get("blocks") or []:
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, dict):
            parts.append(str(text.get("text", "")))
    return " ".join(parts)


async def response(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    arrived[key] = time.monotonic()
    text = shown(await request.json())
    if any(b in text for b in BAD_REPLIES):
        bad.add(key)
    if key.startswith(WARM):
        texts[key] = text
    return web.Response(text="ok")


async def api(request: web.Request) -> web.Response:
    method = request.match_info["method"]
    if method == "auth.test":
        return web.json_response({"ok": True, "url": "https://bench.example/", "team": "Bench",
                                  "user": "itma", "team_id": "T1", "user_id": "UBOT",
                                  "bot_id": "B1"})
    return web.json_response({"ok": True, "channel": "D1", "ts": f"{next(counter)}.000100"})


async def read(request: web.Request) -> web.Response:
    prefix = request.query.get("prefix", "")
    keys = [k for k in arrived if k.startswith(prefix)]
    return web.json_response({"at": {k: arrived[k] for k in keys},
                              "bad": sum(1 for k in keys if k in bad),
                              "texts": {k: texts[k] for k in keys if k in texts}})


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slack.webapi")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=2**20)
    app.router.add_post("/response/{key}", response)
    app.router.add_post("/api/{method}", api)
    app.router.add_get("/bench/answers", read)
    app.router.add_get("/healthz", lambda _request: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None,
                backlog=1024)
    return 0


if __name__ == "__main__":
    sys.exit(main())
