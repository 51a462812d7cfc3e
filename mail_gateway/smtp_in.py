"""Inbound SMTP (aiosmtpd) for replies and the helpdesk address: unknown recipients are
refused at RCPT, before DATA. Replies arriving together over several sessions are decided in
one transaction (mail_gateway.group_commit); each `250` follows that commit."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from core.app import App
from core.config import ConfigError
from core.db import DatabaseError
from mail_gateway import helpdesk
from mail_gateway.group_commit import GroupCommit

log = logging.getLogger(__name__)
MAX_MESSAGE = 10 * 1024 * 1024
MAX_COMMANDS = 100


class ReplyHandler:
    """aiosmtpd handler: the protocol stays in aiosmtpd, the meaning in mail_gateway.inbound."""

    def __init__(self, app: App, commits: GroupCommit | None = None) -> None:
        self.app = app
        self.commits = commits or GroupCommit(app)
        domain = re.escape(app.settings.mail_domain)
        self.accepted = re.compile(rf"^reply\+[a-z2-7]{{26}}@{domain}$", re.IGNORECASE)
        self.helpdesk = app.settings.helpdesk_address.lower()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if not self.accepted.match(address) and address.lower() != self.helpdesk:
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session,
                          envelope: Envelope) -> str:
        """250 for every message understood or not (process records it), 451 when the
        database is down: a message the gateway cannot read would otherwise come back
        forever."""
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "replace")
        replies = [r for r in envelope.rcpt_tos if r.lower() != self.helpdesk]
        reasons = []
        try:
            if len(replies) < len(envelope.rcpt_tos):  # the helpdesk address: a ticket
                reasons.append((await asyncio.to_thread(
                    helpdesk.process, self.app, raw, via="smtp")).reason)
            if replies:
                reasons.append((await self.commits.decide(raw, replies)).reason)
        except (DatabaseError, ConfigError) as exc:  # failures that heal: the sender retries
            log.warning("%s: mail answered 451, the sender will retry", exc)
            return "451 4.3.0 Temporary failure, please retry"
        except Exception:  # nothing is acknowledged that was not committed
            log.exception("mail answered 451 after an unexpected failure")
            return "451 4.3.0 Temporary failure, please retry"
        return f"250 OK {' '.join(reasons)}"


def controller(app: App, commits: GroupCommit | None = None, **overrides: Any) -> Controller:
    """The listener; `commits` sets how replies are batched (tests and the bench count them)."""
    host, port = app.settings.smtp_listen
    options: dict[str, Any] = {
        "hostname": host, "port": port, "server_hostname": app.settings.mail_domain,
        "data_size_limit": MAX_MESSAGE, "command_call_limit": MAX_COMMANDS,
        "decode_data": False, "ready_timeout": 10}
    options.update(overrides)
    return Controller(ReplyHandler(app, commits), **options)
