"""The load generator, run in its own process: python -m bench.slack.load SPEC.json

Sends ``rate × seconds`` signed slash commands to ``url`` on a fixed open-loop schedule (request
i leaves at start + i/rate whatever happened to the earlier ones) over one keep-alive aiohttp
connection pool, and measures each ack: from the moment the request is handed to aiohttp to
the end of the HTTP response. A request not answered within ``timeout`` (Slack's 3 s) is a
timeout. Prints one JSON object on stdout.

SPEC keys: url, secret, rate, seconds, texts, users (request i from users[i % len]; or one
user_id), team_id, response_url_base, key_prefix, timeout, connections, seed, detail (include
every request's [sent_at, ms, status]).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path
from typing import Any

from bench import openloop
from tests.support.slack_payloads import FORM, sign, slash_command


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    rate, seconds = float(spec["rate"]), float(spec["seconds"])
    count = max(1, int(rate * seconds))
    rng = random.Random(spec.get("seed", 1))
    texts: list[str] = spec["texts"]
    prefix, base = spec["key_prefix"], spec["response_url_base"]
    users: list[str] = spec.get("users") or [spec["user_id"]]
    bodies = [slash_command(rng.choice(texts), user_id=users[i % len(users)],
                            team_id=spec.get("team_id", "T1"),
                            response_url=f"{base}{prefix}-{i}") for i in range(count)]
    # signed up front: the 5-minute replay window is far longer than a run
    requests = [(body, {"content-type": FORM, **sign(body, spec["secret"])}) for body in bodies]
    sent = await openloop.send(spec["url"], requests, rate, float(spec.get("timeout", 3.0)),
                               int(spec.get("connections", 1024)))
    records = sent.records
    latencies = [r["latency_ms"] for r in records]
    ok_latencies = [r["latency_ms"] for r in records if r["status"] == 200]
    detail = ([[round(r["sent_at"], 6), round(r["latency_ms"], 2), r["status"]] for r in records]
              if spec.get("detail") else None)
    return {
        **({"records": detail} if detail is not None else {}),
        **openloop.summary(sent, rate, seconds),
        "mean_ms": round(sum(latencies) / len(latencies), 2),
        "ok_p99_ms": round(openloop.percentile(ok_latencies, 99), 2),
        "send_lag_max_ms": round(max(sent.lags), 2),
        "sent_at": [round(r["sent_at"], 6) for r in records],
    }


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m bench.slack.load SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(asyncio.run(run(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
