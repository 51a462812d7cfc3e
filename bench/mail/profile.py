"""python -m bench.mail.profile [--replies 400] [--top 30] [--batch 8] [--postgresql]
[--database-url URL] [--dump FILE]
— where one reply's time goes.

The bench's world, but no SMTP and no concurrency, in this process on pre-built replies:
`mail_gateway.inbound.process` (one transaction per reply, as the IMAP and pipe doors do) and
`inbound.read` + `inbound.decide_all` on batches of --batch replies (what the SMTP door's group
commit does). Prints, per kind of request and path, CPU ms per reply (the single-thread
ceiling of the decision path: on SQLite the write transaction holds the database's one write
lock, so no number of SMTP clients or worker threads goes faster) and statements per reply,
then profiles mixed batches under cProfile, top functions by cumulative and by own time.
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
from bench.mail.__main__ import Statements
from core.app import App
from core.demo import seed
from mail_gateway import inbound
from mail_gateway.inbound import process
from tests.support.postgres import postgres

NAME = "Sophie Lambert"
WARM = 10


def serial(app: App, raws: list[bytes]) -> tuple[float, float]:
    """(CPU ms, statements) per reply, a transaction each, every reply approved."""
    with Statements(app) as counted:
        start = time.process_time()
        reasons = {process(app, raw, via="bench").reason for raw in raws}
        elapsed = time.process_time() - start
    assert reasons == {"approved"}, reasons
    return elapsed * 1000 / len(raws), counted.statements / len(raws)


def batched(app: App, raws: list[bytes], size: int) -> tuple[float, float]:
    """(CPU ms, statements) per reply, `size` replies a transaction, every reply approved."""
    reasons = set()
    with Statements(app) as counted:
        start = time.process_time()
        for first in range(0, len(raws), size):
            readings = [inbound.read(app, raw, via="bench") for raw in raws[first:first + size]]
            reasons |= {o.reason for o in inbound.decide_all(app, readings)}
        elapsed = time.process_time() - start
    assert reasons == {"approved"}, reasons
    return elapsed * 1000 / len(raws), counted.statements / len(raws)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mail.profile")
    parser.add_argument("--replies", type=int, default=400, help="per measured batch")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8, help="replies per group commit")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    parser.add_argument("--postgresql", action="store_true",
                        help="a throwaway PostgreSQL (fsync off, as bench.mail's) instead")
    parser.add_argument("--dump", default=None, help="also write the cProfile stats here "
                        "(for pstats' callers and callees)")
    args = parser.parse_args()
    if not args.postgresql:
        return run(args)
    with postgres() as server:
        args.database_url = server.create_database("bench_mail_profile")
        return run(args)


def run(args: argparse.Namespace) -> int:
    n = args.replies
    with tempfile.TemporaryDirectory(prefix="bench-mail-profile-") as tmp:
        app = world.make_app(Path(tmp), args.database_url)
        try:
            info = world.build(app, 6 * n + WARM, 0.5)
            tokens = world.tokens(app, seed.DEMO_OFFICER, info["request_ids"])
            raws = [world.reply(app, t, seed.DEMO_OFFICER, NAME, i).raw
                    for i, t in enumerate(tokens)]
            serial(app, raws[:WARM])  # imports, caches
            rest = list(zip(info["kinds"][WARM:], raws[WARM:], strict=True))
            by_kind = {kind: [r for k, r in rest if k == kind] for kind in
                       ("mailing_list", "session")}
            rates = {}
            for kind, replies in by_kind.items():
                rates[(kind, "a transaction per reply")] = serial(app, replies[:n])
                rates[(kind, f"{args.batch} replies per transaction")] = batched(
                    app, replies[n:2 * n], args.batch)
            mixed = [r for pair in zip(by_kind["mailing_list"][2 * n:], by_kind["session"][2 * n:],
                                       strict=False) for r in pair][:n]
            profiler = cProfile.Profile()
            profiler.enable()
            batched(app, mixed, args.batch)
            profiler.disable()
            if args.dump:
                profiler.dump_stats(args.dump)
        finally:
            app.close()
    print(f"database: {args.database_url.split('://')[0] if args.database_url else 'sqlite'}")
    for (kind, path), (ms, statements) in rates.items():
        print(f"{kind:13} {path:28}: {ms:.2f} CPU ms per reply ({1000 / ms:.0f}/s), "
              f"{statements:.1f} statements per reply")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\n--- {len(mixed)} mixed replies in batches of {args.batch} under cProfile, "
              f"by {order} ---")
        print(out.getvalue().strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
