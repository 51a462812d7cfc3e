"""python -m bench.mail.profile [--replies 400] [--top 30] — where one reply's time goes.

The bench's world, but no SMTP and no concurrency: `mail_gateway.inbound.process` called
serially in this process on pre-built replies. Prints the serial rate for mailing-list and for
session requests (the single-thread ceiling of the decision path: on SQLite the write
transaction holds the database's one write lock, so no number of SMTP clients or worker threads
goes faster), then profiles a mixed batch under cProfile, top functions by cumulative and by
own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

from bench.mail import world
from core.app import App
from core.demo import seed
from mail_gateway.inbound import process

NAME = "Sophie Lambert"
WARM = 10


def serial(app: App, raws: list[bytes]) -> float:
    """Milliseconds per reply, every reply approved."""
    start = time.perf_counter()
    reasons = {process(app, raw, via="bench").reason for raw in raws}
    elapsed = time.perf_counter() - start
    assert reasons == {"approved"}, reasons
    return elapsed * 1000 / len(raws)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mail.profile")
    parser.add_argument("--replies", type=int, default=400, help="per measured batch")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    n = args.replies
    with tempfile.TemporaryDirectory(prefix="bench-mail-profile-") as tmp:
        app = world.make_app(Path(tmp))
        try:
            info = world.build(app, 4 * n + WARM, 0.5)
            tokens = world.tokens(app, seed.DEMO_OFFICER, info["request_ids"])
            raws = [world.reply(app, t, seed.DEMO_OFFICER, NAME, i).raw
                    for i, t in enumerate(tokens)]
            serial(app, raws[:WARM])  # imports, caches
            rest = list(zip(info["kinds"][WARM:], raws[WARM:], strict=True))
            by_kind = {kind: [r for k, r in rest if k == kind][:n]
                       for kind in ("mailing_list", "session")}
            used = {id(r) for batch in by_kind.values() for r in batch}
            mixed = [r for _k, r in rest if id(r) not in used][:n]
            rates = {kind: serial(app, batch) for kind, batch in by_kind.items()}
            profiler = cProfile.Profile()
            profiler.enable()
            for raw in mixed:
                process(app, raw, via="bench")
            profiler.disable()
        finally:
            app.close()
    for kind, ms in rates.items():
        print(f"serial, in process, no SMTP, {kind} requests: {ms:.2f} ms per reply "
              f"= {1000 / ms:.0f} replies/s")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\n--- {len(mixed)} mixed replies under cProfile, by {order} ---")
        print(out.getvalue().strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
