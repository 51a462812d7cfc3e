"""The replies mailbox over IMAP: IDLE when the server has it, polling otherwise.

Messages are taken by UID above a checkpoint (UIDVALIDITY, last UID) kept in the database; a
message is flagged \\Seen only after its effect is committed, and the checkpoint moves after
that. A crash in between reads it again, and the Message-ID record makes that a no-op.

A message whose handling fails stops the drain there and is tried again on the next round; the
failures are counted in the checkpoint, and after MAX_FAILURES the message is passed over with
an audit line, so one message can never hold up the ones behind it. A database that is down
cannot record a failure, so an outage never uses up those tries.

The replies mailbox hands each message to mail_gateway.inbound.process; the helpdesk mailbox
runs the same machinery with mail_gateway.helpdesk.process (`handler`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient
from sqlalchemy import select

from core import metrics
from core.app import App
from core.config import ConfigError
from core.leader import Leadership
from core.models import MailboxCheckpoint
from mail_gateway.inbound import Outcome, process

log = logging.getLogger(__name__)
IDLE_SECONDS = 60
POLL_SECONDS = 5
BATCH = 50
MAX_FAILURES = 3
Handler = Callable[..., Outcome]
"""`handler(app, raw, via="imap")`: what one message of the mailbox does."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str

    @classmethod
    def parse(cls, url: str, name: str = "ITMA_IMAP_URL") -> Mailbox:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise ConfigError(f"{name}: expected imap[s]://user:pass@host:port/FOLDER")
        return cls(parts.hostname, parts.port or (993 if parts.scheme == "imaps" else 143),
                   parts.scheme == "imaps", unquote(parts.username),
                   unquote(parts.password or ""), unquote(parts.path.lstrip("/")) or "INBOX")

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def _checkpoint(app: App, mailbox: Mailbox, uidvalidity: int) -> int:
    """The last UID handled; a new UIDVALIDITY means the old UIDs mean nothing any more."""
    with app.unit_of_work() as uow:
        found = uow.session.get(MailboxCheckpoint, mailbox.key)
        if found is None:
            found = MailboxCheckpoint(mailbox=mailbox.key, uidvalidity=uidvalidity, last_uid=0)
            uow.session.add(found)
        elif found.uidvalidity != uidvalidity:
            log.warning("%s: UIDVALIDITY changed (%s → %s), starting over", mailbox.key,
                        found.uidvalidity, uidvalidity)
            found.uidvalidity, found.last_uid = uidvalidity, 0
            found.failing_uid, found.failures = None, 0
        return found.last_uid


def _advance(app: App, mailbox: Mailbox, uid: int) -> None:
    with app.unit_of_work() as uow:
        found = uow.session.scalar(select(MailboxCheckpoint).where(
            MailboxCheckpoint.mailbox == mailbox.key))
        if found is not None and uid > found.last_uid:
            found.last_uid = uid
            if found.failing_uid is not None and found.failing_uid <= uid:
                found.failing_uid, found.failures = None, 0


def _failed(app: App, mailbox: Mailbox, uid: int, error: Exception) -> bool:
    """Count one more failure of this message; True when it is to be passed over now."""
    with app.unit_of_work() as uow:
        found = uow.session.get_one(MailboxCheckpoint, mailbox.key)
        found.failures = found.failures + 1 if found.failing_uid == uid else 1
        found.failing_uid = uid
        if found.failures < MAX_FAILURES:
            log.warning("IMAP %s: message UID %s failed (%s, try %s of %s)", mailbox.key, uid,
                        type(error).__name__, found.failures, MAX_FAILURES)
            return False
        uow.audit("mail.imap_passed_over", "mail", None, actor="imap", mailbox=mailbox.key,
                  uid=uid, failures=found.failures, error=type(error).__name__)
        log.warning("IMAP %s: message UID %s failed %s times (%s); passed over", mailbox.key,
                    uid, found.failures, type(error).__name__)
        return True


def connect(mailbox: Mailbox) -> IMAPClient:
    client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.tls, timeout=30)
    client.login(mailbox.user, mailbox.password)
    return client


def drain(app: App, client: IMAPClient, mailbox: Mailbox, handler: Handler = process) -> int:
    """Handle every message above the checkpoint, oldest first; returns how many."""
    selected = client.select_folder(mailbox.folder)
    uidvalidity = int(selected[b"UIDVALIDITY"])
    last = _checkpoint(app, mailbox, uidvalidity)
    uids = [uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last]
    metrics.imap_polled("replies" if handler is process else "helpdesk", len(uids))
    handled = 0
    for start in range(0, len(uids), BATCH):
        chunk = sorted(uids[start:start + BATCH])
        fetched = client.fetch(chunk, ["BODY.PEEK[]"])
        for uid in chunk:
            raw = fetched.get(uid, {}).get(b"BODY[]")
            if raw is None:
                continue
            try:
                handler(app, raw, via="imap")
            except Exception as exc:
                if not _failed(app, mailbox, uid, exc):
                    raise  # run() reconnects and tries it again a few seconds later
            client.add_flags([uid], [b"\\Seen"])
            _advance(app, mailbox, uid)
            handled += 1
    return handled


def _wait_idle(client: IMAPClient, stop: threading.Event, leader: Leadership) -> None:
    """IDLE until the server says something, IDLE_SECONDS pass, or we are asked to stop."""
    client.idle()
    try:
        for second in range(IDLE_SECONDS):
            if stop.is_set() or client.idle_check(timeout=1):
                return
            if second % 10 == 9 and not leader.alive():
                return
    finally:
        client.idle_done()


def run(app: App, url: str, stop: threading.Event, poll: float = POLL_SECONDS,
        handler: Handler = process, setting: str = "ITMA_IMAP_URL") -> None:
    """IDLE or poll until stop is set; one instance per mailbox (the lock holder) reads it.

    The others wait and take over when the holder dies. Errors reconnect after a pause.
    """
    mailbox = Mailbox.parse(url, setting)
    leader = Leadership(app, f"imap:{mailbox.key}")
    waiting_logged = False
    while not stop.is_set():
        try:
            if not leader.acquire():
                if not waiting_logged:
                    log.info("IMAP %s is read by another instance; standing by", mailbox.key)
                    waiting_logged = True
                stop.wait(poll)
                continue
            waiting_logged = False
            client = connect(mailbox)
            idle = b"IDLE" in client.capabilities()
            log.info("IMAP %s connected (%s)", mailbox.key, "IDLE" if idle else "polling")
            with client:
                while not stop.is_set() and leader.alive():
                    drain(app, client, mailbox, handler)
                    if idle:
                        _wait_idle(client, stop, leader)
                    else:
                        stop.wait(poll)
        except Exception as exc:
            log.warning("IMAP %s: %s; retrying in %ss", mailbox.key, exc, poll)
            stop.wait(poll)
    leader.release()
