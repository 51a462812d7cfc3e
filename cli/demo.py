"""`demo`: a fresh, realistic database and the console chat as the demo officer."""

from __future__ import annotations

import argparse
import sys

from bot import console
from cli.commands import welcome
from cli.runtime import make_app, print_json
from core import migrate
from core.conversation import Engine
from core.demo import seed


def demo(args: argparse.Namespace) -> int:
    app = make_app(check_schema=False)
    if app.db.is_sqlite and not args.seed_only:
        app.db.dispose()
        path = app.settings.home / "itma.db"
        if app.db.url.endswith(str(path)):
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        app = make_app(check_schema=False)
    migrate.upgrade(app.db)
    if not args.json:
        print("seeding the demo database…", file=sys.stderr)
    summary = seed.seed(app)
    if args.json:
        print_json(summary)
        return 0
    officers = summary["officers"]
    print(f"demo ready: {summary['collaborators']} collaborators, {len(summary['trainings'])} "
          f"trainings with planned sessions, {len(officers)} officers "
          f"({', '.join(o['email'] for o in officers)})", file=sys.stderr)
    if args.seed_only:
        return 0
    engine = Engine(app)
    console.chat(engine, seed.DEMO_OFFICER, welcome(engine, seed.DEMO_OFFICER))
    return 0
