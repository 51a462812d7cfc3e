"""python -m bench.mail.profile [--replies 500] [--top 35] — where one reply's time goes.

The same world as the bench, but no SMTP: `mail_gateway.inbound.process` called serially in
this process on pre-built replies, first timed plainly (the single-thread ceiling of the
decision path), then again on fresh replies under cProfile. Prints the serial rate, a per-phase
split (parse, decide+commit) and the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from email import message_from_bytes, policy
from pathlib import Path

from bench.mail import world
from core.demo import seed
from mail_gateway.inbound import process

NAME = "Sophie Lambert"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mail.profile")
    parser.add_argument("--replies", type=int, default=500)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--session-share", type=float, default=0.5)
    args = parser.parse_args()
    n = args.replies
    with tempfile.TemporaryDirectory(prefix="bench-mail-profile-") as tmp:
        app = world.make_app(Path(tmp))
        try:
            info = world.build(app, 2 * n + 10, args.session_share)
            tokens = world.tokens(app, seed.DEMO_OFFICER, info["request_ids"])
            raws = [world.reply(app, t, seed.DEMO_OFFICER, NAME, i).raw
                    for i, t in enumerate(tokens)]
            for raw in raws[:10]:  # imports, caches
                process(app, raw, via="bench")
            plain, profiled = raws[10:10 + n], raws[10 + n:]

            start = time.perf_counter()
            for raw in plain:
                message_from_bytes(raw, policy=policy.default)
            parse_s = time.perf_counter() - start
            start = time.perf_counter()
            reasons = [process(app, raw, via="bench").reason for raw in plain]
            total_s = time.perf_counter() - start
            assert set(reasons) == {"approved"}, set(reasons)

            profiler = cProfile.Profile()
            profiler.enable()
            for raw in profiled:
                process(app, raw, via="bench")
            profiler.disable()
        finally:
            app.close()
    print(f"serial, in process, no SMTP: {n} replies in {total_s:.2f} s = {n / total_s:.0f}/s, "
          f"{total_s * 1000 / n:.2f} ms per reply (of which parsing the mail with "
          f"policy.default ≈ {parse_s * 1000 / n:.2f} ms)")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(args.top)
        print(f"\n--- by {order} ---")
        print(out.getvalue().split("\n", 6)[-1] if order else out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
