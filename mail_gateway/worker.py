"""The mail side of `serve`: outbox delivery with backoff, SMTP listener, IMAP pollers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from core.app import App
from core.db import DatabaseError
from mail_gateway import delivery, imap_poller, smtp_in

log = logging.getLogger(__name__)


async def deliver_forever(app: App, stop: asyncio.Event, interval: float = 1.0) -> None:
    deliverer = delivery.Deliverer(app.settings)
    database_down = False
    while not stop.is_set():
        try:
            sent, _failed = await asyncio.to_thread(delivery.flush, app, deliverer)
        except DatabaseError as exc:
            if not database_down:
                log.warning("%s: mail delivery paused until the database answers", exc)
            database_down, sent = True, 0
        except Exception:
            log.exception("mail outbox worker")
            sent = 0
        else:
            if database_down:
                log.warning("database reachable again: mail delivery resumed")
            database_down = False
        if not sent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


class MailGateway:
    """Starts what is configured; `describe` says what runs, `stop` ends it all."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.smtp = smtp_in.controller(app)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> list[str]:
        self.smtp.start()
        host, port = self.app.settings.smtp_listen
        running = [f"SMTP replies on {host}:{port}"]
        if self.app.settings.imap_url:
            mailbox = imap_poller.Mailbox.parse(self.app.settings.imap_url)
            self._spawn(lambda: imap_poller.run(self.app, self.app.settings.imap_url or "",
                                                self._stop), "imap-replies")
            running.append(f"IMAP poller {mailbox.key}")
        target = delivery.Deliverer(self.app.settings).target
        running.append(f"mail outbox → {target}")
        return running

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            self.smtp.stop()
        for thread in self._threads:
            thread.join(timeout=10)
