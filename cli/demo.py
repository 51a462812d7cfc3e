"""`demo`: a fresh, realistic database, the gateways in the background, and the console chat."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from bot import console
from cli import helpdesk
from cli.commands import welcome
from cli.runtime import make_app, print_json
from core import migrate
from core.app import App
from core.conversation import Engine
from core.demo import helpdesk as helpdesk_demo
from core.demo import pdata_sample, seed


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
    sample = pdata_sample.write(app, app.settings.home / "pdata-sample.csv")
    if args.json:
        print_json(summary)
        return 0
    officers = summary["officers"]
    print(f"demo ready: {summary['collaborators']} collaborators, {len(summary['trainings'])} "
          f"trainings with planned sessions, {len(officers)} officers "
          f"({', '.join(o['email'] for o in officers)})", file=sys.stderr)
    print(f"a P-data file with a few errors to try: itma-assistant import pdata --org BOSA "
          f"{sample}", file=sys.stderr)
    mailbox, triaged = helpdesk.seed_demo(app)
    tickets = {o.detail.split()[0] for _name, o in triaged if o.reason == "ticket_opened"}
    print(f"helpdesk: {len(triaged)} mails of {mailbox} triaged into {len(tickets)} tickets — "
          f"« tickets » in the chat, or itma-assistant helpdesk list (staff: "
          f"{seed.DEMO_OFFICER}, {helpdesk_demo.STAFF})", file=sys.stderr)
    if args.seed_only:
        return 0
    with gateways(app):
        engine = Engine(app)
        console.chat(engine, seed.DEMO_OFFICER, welcome(engine, seed.DEMO_OFFICER))
    return 0


@contextmanager
def gateways(app: App) -> Iterator[None]:
    """`serve` in the background for the chat session: mail delivery, SMTP replies, HTTP."""
    log = app.settings.home / "logs" / "serve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "cli", "serve"], stdout=out,
                                   stderr=subprocess.STDOUT, env=os.environ.copy(),
                                   start_new_session=True)
    host, port = app.settings.http_listen
    if _healthy(f"http://{host}:{port}/healthz", process):
        mail = app.settings.smtp_relay or app.settings.maildir
        print(f"gateways running (HTTP {host}:{port}, SMTP replies "
              f"{app.settings.smtp_listen[0]}:{app.settings.smtp_listen[1]}, mail → {mail}); "
              f"log in {log}", file=sys.stderr)
    else:
        print(f"note: the gateways did not start (see {log}); the chat works without them, "
              f"`itma-assistant outbox flush` delivers mail by hand", file=sys.stderr)
    try:
        yield
    finally:
        if process.poll() is None:
            process.send_signal(2)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                return answer.status == 200
        except OSError:
            time.sleep(0.2)
    return False
