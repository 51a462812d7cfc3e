"""The open-loop HTTP sender shared by the chat benches (bench.slack.load, bench.teams.load).

Request i leaves at start + i/rate whatever happened to the earlier ones, over one keep-alive
aiohttp pool; each answer is timed from the moment the request is handed to aiohttp to the end
of the response. Only the bodies and headers differ between platforms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Sent:
    records: list[dict[str, Any]]
    """Per request: sent_at, latency_ms, status (200, other code, 'timeout', 'error:…'),
    done_at."""
    lags: list[float]
    """How late each request left against its schedule, ms."""
    began: float


async def _one(session: aiohttp.ClientSession, url: str, body: bytes,
               headers: dict[str, str], record: dict[str, Any]) -> None:
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


async def send(url: str, requests: Sequence[tuple[bytes, dict[str, str]]], rate: float,
               timeout: float, connections: int) -> Sent:
    """Post every (body, headers) on the schedule and wait for every answer."""
    records: list[dict[str, Any]] = [{} for _ in requests]
    lags: list[float] = []
    connector = aiohttp.TCPConnector(limit=connections)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        loop = asyncio.get_running_loop()
        tasks = []
        start = loop.time() + 0.05
        began = time.monotonic() + 0.05
        for i, (body, headers) in enumerate(requests):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append((loop.time() - due) * 1000)
            tasks.append(asyncio.create_task(_one(session, url, body, headers, records[i])))
        await asyncio.gather(*tasks)
    return Sent(records, lags, began)


def summary(sent: Sent, rate: float, seconds: float) -> dict[str, Any]:
    """The figures every chat bench reports for one rate."""
    records = sent.records
    ok = [r for r in records if r["status"] == 200]
    statuses: dict[str, int] = {}
    for record in records:
        if record["status"] != 200:
            statuses[str(record["status"])] = statuses.get(str(record["status"]), 0) + 1
    latencies = [r["latency_ms"] for r in records]
    window = max(r["done_at"] for r in records) - sent.began
    return {
        "rate": rate, "seconds": seconds, "sent": len(records), "ok": len(ok),
        "errors": sum(v for k, v in statuses.items() if k != "timeout"),
        "timeouts": statuses.get("timeout", 0), "statuses": statuses,
        "throughput": round(len(ok) / window, 2), "window_s": round(window, 3),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p90_ms": round(percentile(latencies, 90), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
        "send_lag_p99_ms": round(percentile(sent.lags, 99), 2),
        "ended_at": max(r["done_at"] for r in records),
    }
