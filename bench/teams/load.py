"""The load generator, run in its own process: python -m bench.teams.load SPEC.json

Posts ``rate × seconds`` message activities (each with its own activity id) to ``url`` on a
fixed open-loop schedule (activity i leaves at start + i/rate whatever happened to the earlier
ones) over one keep-alive aiohttp pool, and measures each HTTP answer, from the moment the
request is handed to aiohttp to the end of the response. Prints one JSON object on stdout.

SPEC keys: url, service_url, rate, seconds, texts, tenant, aads (activity i from aads[i % len]; or
one aad), name, timeout, connections, seed.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path
from typing import Any

from bench import openloop
from tests.support.teams_activities import Person, message


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    rate, seconds = float(spec["rate"]), float(spec["seconds"])
    count = max(1, int(rate * seconds))
    rng = random.Random(spec.get("seed", 1))
    people = [Person(spec["tenant"], aad, spec["name"]) for aad in spec.get("aads")
              or [spec["aad"]]]
    headers = {"content-type": "application/json"}
    requests = [(json.dumps(message(rng.choice(spec["texts"]), people[i % len(people)],
                                    service_url=spec["service_url"],
                                    activity_id=f"{spec['prefix']}-{i}")).encode(), headers)
                for i in range(count)]
    sent = await openloop.send(spec["url"], requests, rate, float(spec.get("timeout", 15.0)),
                               int(spec.get("connections", 1024)))
    return {**openloop.summary(sent, rate, seconds), "started_at": sent.began,
            "sent_at": [round(r["sent_at"], 6) for r in sent.records]}


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m bench.teams.load SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(asyncio.run(run(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
