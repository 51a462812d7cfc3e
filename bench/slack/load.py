"""The load generator, run in its own process: python -m bench.slack.load SPEC.json

Sends ``rate × seconds`` signed slash commands to ``url`` on a fixed open-loop schedule (request
i leaves at start + i/rate whatever happened to the earlier ones) over one keep-alive aiohttp
connection pool, and measures each ack: from the moment the request is handed to aiohttp to
the end of the HTTP response. A request not answered within ``timeout`` (Slack's 3 s) is a
timeout. Prints one JSON object on stdout.

SPEC keys: url, secret, rate, seconds, texts, user_id, team_id, response_url_base, key_prefix,
timeout, connections, seed, detail (include every request's [sent_at, ms, status]).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.slack_payloads import FORM, sign, slash_command


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _one(session: aiohttp.ClientSession, url: str, body: bytes, secret: str,
               record: dict[str, Any]) -> None:
    headers = {"content-type": FORM, **sign(body, secret)}
    record["sent_at"] = time.monotonic()
    start = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=headers) as answer:
            await answer.read()
            record["status"] = answer.status
    except TimeoutError:
        record["status"] = "timeout"
    except aiohttp.ClientError as exc:
        record["status"] = f"error:{type(exc).__name__}"
    record["latency_ms"] = (time.perf_counter() - start) * 1000
    record["done_at"] = time.monotonic()


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    rate, seconds = float(spec["rate"]), float(spec["seconds"])
    count = max(1, int(rate * seconds))
    rng = random.Random(spec.get("seed", 1))
    texts: list[str] = spec["texts"]
    prefix, base = spec["key_prefix"], spec["response_url_base"]
    bodies = [slash_command(rng.choice(texts), user_id=spec["user_id"],
                            team_id=spec.get("team_id", "T1"),
                            response_url=f"{base}{prefix}-{i}") for i in range(count)]
    records: list[dict[str, Any]] = [{} for _ in range(count)]
    lags: list[float] = []
    connector = aiohttp.TCPConnector(limit=int(spec.get("connections", 1024)))
    timeout = aiohttp.ClientTimeout(total=float(spec.get("timeout", 3.0)))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        tasks = []
        start = loop.time() + 0.05
        began = time.monotonic() + 0.05
        for i, body in enumerate(bodies):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append((loop.time() - due) * 1000)
            tasks.append(asyncio.create_task(
                _one(session, spec["url"], body, spec["secret"], records[i])))
        await asyncio.gather(*tasks)
    ok = [r for r in records if r["status"] == 200]
    statuses: dict[str, int] = {}
    for record in records:
        if record["status"] != 200:
            statuses[str(record["status"])] = statuses.get(str(record["status"]), 0) + 1
    latencies = [r["latency_ms"] for r in records]
    ok_latencies = [r["latency_ms"] for r in ok]
    window = max(r["done_at"] for r in records) - began
    detail = ([[round(r["sent_at"], 6), round(r["latency_ms"], 2), r["status"]] for r in records]
              if spec.get("detail") else None)
    return {
        **({"records": detail} if detail is not None else {}),
        "rate": rate, "seconds": seconds, "sent": count, "ok": len(ok),
        "errors": sum(v for k, v in statuses.items() if k != "timeout"),
        "timeouts": statuses.get("timeout", 0), "statuses": statuses,
        "throughput": round(len(ok) / window, 2), "window_s": round(window, 3),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
        "mean_ms": round(sum(latencies) / len(latencies), 2),
        "ok_p99_ms": round(percentile(ok_latencies, 99), 2),
        "send_lag_p99_ms": round(percentile(lags, 99), 2),
        "send_lag_max_ms": round(max(lags), 2),
        "ended_at": max(r["done_at"] for r in records),
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
