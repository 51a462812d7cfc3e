"""The mail side of `serve`: SMTP listener and IMAP pollers (delivery is the outbox's
one loop, with mail_gateway.delivery.MailSender)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from core.app import App
from core.services import triage
from mail_gateway import delivery, helpdesk, imap_poller, smtp_in

log = logging.getLogger(__name__)


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
        running = [f"SMTP replies and {self.app.settings.helpdesk_address} on {host}:{port}"]
        if self.app.settings.imap_url:
            mailbox = imap_poller.Mailbox.parse(self.app.settings.imap_url)
            self._spawn(lambda: imap_poller.run(self.app, self.app.settings.imap_url or "",
                                                self._stop), "imap-replies")
            running.append(f"IMAP poller {mailbox.key}")
        triage.rules()  # a broken vocabulary stops start-up, not the first helpdesk mail
        helpdesk_url = self.app.settings.helpdesk_imap_url
        if helpdesk_url:
            mailbox = imap_poller.Mailbox.parse(helpdesk_url, "ITMA_HELPDESK_IMAP_URL")
            self._spawn(lambda: imap_poller.run(self.app, helpdesk_url, self._stop,
                                                handler=helpdesk.process,
                                                setting="ITMA_HELPDESK_IMAP_URL"),
                        "imap-helpdesk")
            running.append(f"IMAP helpdesk poller {mailbox.key}")
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
