"""Delivering queued mail: to ITMA_SMTP_RELAY, or into the Maildir $ITMA_HOME/mail/outbox/.

A message is marked sent only after the relay accepted it (or the file is in new/). A crash in
between sends it again with the same Message-ID, which idempotent relays drop; the Maildir
delivery names its file after the outbox id, so a second attempt finds it and does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.app import App
from core.config import ConfigError, Settings
from core.services import outbox
from core.services.outbox import PermanentFailure, TemporaryFailure
from mail_gateway.render import bounce_address, build

log = logging.getLogger(__name__)
CHANNEL = "mail"
SMTP_TIMEOUT = 30


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    tls: bool
    user: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> Relay:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(f"ITMA_SMTP_RELAY: expected smtp://host:port or smtps://…, "
                              f"got {url!r}")
        return cls(parts.hostname, parts.port or (465 if parts.scheme == "smtps" else 25),
                   parts.scheme == "smtps", unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)


def open_relay(relay: Relay, timeout: float = SMTP_TIMEOUT) -> smtplib.SMTP:
    """Connected, TLS when the relay offers it, logged in when the URL names a user."""
    if relay.tls:
        client: smtplib.SMTP = smtplib.SMTP_SSL(relay.host, relay.port, timeout=timeout,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(relay.host, relay.port, timeout=timeout)
    try:
        client.ehlo()
        if not relay.tls and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
        if relay.user:
            client.login(relay.user, relay.password or "")
    except BaseException:
        client.close()
        raise
    return client


def send_relay(relay: Relay, mail: EmailMessage, sender: str, recipient: str) -> None:
    try:
        with open_relay(relay) as client:
            client.send_message(mail, from_addr=sender, to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise PermanentFailure(f"recipient refused: {codes}") from exc
        raise TemporaryFailure(f"recipient deferred: {codes}") from exc
    except smtplib.SMTPResponseException as exc:
        kind = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
        raise kind(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        raise TemporaryFailure(f"relay {relay.host}:{relay.port}: {exc}") from exc


def deliver_maildir(root: Path, mail: EmailMessage, outbox_id: int) -> Path:
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    name = f"{outbox_id:010d}.itma-outbox.{socket.gethostname().replace('/', '_')}"
    final = root / "new" / name
    if final.exists() or (root / "cur" / f"{name}:2,S").exists():
        return final
    temporary = root / "tmp" / f"{name}.{os.getpid()}.{time.monotonic_ns()}"
    with temporary.open("wb") as handle:
        handle.write(mail.as_bytes())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    return final


class Deliverer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.relay = Relay.parse(settings.smtp_relay) if settings.smtp_relay else None

    @property
    def target(self) -> str:
        if self.relay:
            return f"smtp://{self.relay.host}:{self.relay.port}"
        return str(self.settings.maildir)

    def deliver(self, message: outbox.Claimed) -> None:
        try:
            mail = build(message, self.settings)
        except Exception as exc:  # a template error will not heal by retrying
            raise PermanentFailure(f"cannot render {message.template}: {exc}") from exc
        if self.relay is None:
            deliver_maildir(self.settings.maildir, mail, message.id)
        else:
            send_relay(self.relay, mail, bounce_address(self.settings), message.to)


class MailSender:
    """The outbox's mail channel: renders each row and hands it to the relay or the Maildir."""

    channel = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self.deliverer = Deliverer(settings)

    async def send(self, message: outbox.Claimed) -> None:
        await asyncio.to_thread(self.deliverer.deliver, message)


def flush(app: App, deliverer: Deliverer | None = None) -> tuple[int, int]:
    """Deliver the mail that is due, once (`outbox flush`, tests); returns (sent, failed)."""
    sender = MailSender(app.settings)
    if deliverer is not None:
        sender.deliverer = deliverer
    tally = asyncio.run(outbox.flush(app, {CHANNEL: sender}))
    return tally.sent, tally.failed
