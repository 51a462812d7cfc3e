"""The baseline: aiosmtpd with a handler that only accepts, under our listener's SMTP options."""

from __future__ import annotations

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class AcceptOnly:
    """Every recipient is taken, every message answered "250 OK" at once; nothing is kept."""

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


def like(ours: Controller, port: int) -> Controller:
    """An accept-only Controller with exactly the SMTP options of `ours` (size and command
    limits, decode_data, server hostname), on its own port."""
    return Controller(AcceptOnly(), hostname=ours.hostname, port=port,
                      ready_timeout=ours.ready_timeout, server_kwargs=dict(ours.SMTP_kwargs))
