"""The load generator, run in its own process: python -m bench.teams.load SPEC.json

Posts ``rate × seconds`` message activities (each with its own activity id) to ``url`` on a
fixed open-loop schedule (activity i leaves at start + i/rate whatever happened to the earlier
ones) over one keep-alive aiohttp pool, and measures each HTTP answer, from the moment the
request is handed to aiohttp to the end of the response. Prints one JSON object on stdout.

SPEC keys: url, service_url, rate, seconds, texts, tenant, aad, name, timeout, connections, seed.
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

from bench.slack.load import percentile
from tests.support.teams_activities import Person, message


async def _one(session: aiohttp.ClientSession, url: str, body: bytes,
               record: dict[str, Any]) -> None:
    record["sent_at"] = time.monotonic()
    start = time.perf_counter()
    try:
        async with session.post(url, data=body,
                                headers={"content-type": "application/json"}) as answer:
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
    person = Person(spec["tenant"], spec["aad"], spec["name"])
    bodies = [json.dumps(message(rng.choice(spec["texts"]), person,
                                 service_url=spec["service_url"],
                                 activity_id=f"{spec['prefix']}-{i}")).encode()
              for i in range(count)]
    records: list[dict[str, Any]] = [{} for _ in range(count)]
    lags: list[float] = []
    connector = aiohttp.TCPConnector(limit=int(spec.get("connections", 1024)))
    timeout = aiohttp.ClientTimeout(total=float(spec.get("timeout", 15.0)))
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
            tasks.append(asyncio.create_task(_one(session, spec["url"], body, records[i])))
        await asyncio.gather(*tasks)
    ok = [r for r in records if r["status"] == 200]
    statuses: dict[str, int] = {}
    for record in records:
        if record["status"] != 200:
            statuses[str(record["status"])] = statuses.get(str(record["status"]), 0) + 1
    latencies = [r["latency_ms"] for r in records]
    window = max(r["done_at"] for r in records) - began
    return {
        "rate": rate, "seconds": seconds, "sent": count, "ok": len(ok),
        "errors": sum(v for k, v in statuses.items() if k != "timeout"),
        "timeouts": statuses.get("timeout", 0), "statuses": statuses,
        "throughput": round(len(ok) / window, 2), "window_s": round(window, 3),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
        "send_lag_p99_ms": round(percentile(lags, 99), 2),
        "started_at": began, "ended_at": max(r["done_at"] for r in records),
    }


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m bench.teams.load SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(asyncio.run(run(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
