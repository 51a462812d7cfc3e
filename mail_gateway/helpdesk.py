"""Mail to the helpdesk address: read with the gateway's bounded parsing, then handed to the
helpdesk tickets (core.services.helpdesk) as a neutral IncomingMail.

The same three doors as replies call `process`: the SMTP listener (RCPT to
ITMA_HELPDESK_ADDRESS), the IMAP poller of ITMA_HELPDESK_IMAP_URL, and `helpdesk process` (an
MTA pipe). The checks run in this order, the first that matches decides:

| outcome | when | the sender gets |
|---|---|---|
| malformed | the message cannot be read (MIME too deep, too many parts, anything else) | nothing |
| automatic | auto-replies, bounces, lists, bulk (mail_gateway.automatic) | nothing, no ticket |
| own_mail_loop | our own mail coming back (X-ITMA-Outbox, From our domain) | nothing |
| sender_ambiguous | not exactly one From with one mailbox | nothing, no ticket |
| duplicate | this Message-ID was already handled | nothing |
| ticket_opened | a new ticket | the acknowledgement (rate-limited) |
| ticket_updated | a mail of an existing ticket's thread | nothing |

Everything up to the transaction (parsing, the text, the sender) happens before the database
is touched; a broken message is recorded once and consumed, so it never blocks the mailbox.
Mail bodies are never logged.
"""

from __future__ import annotations

import hashlib
import logging
import re
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses

from core import logs, metrics
from core.app import App
from core.db import DatabaseError
from core.services import helpdesk, reply_tokens, triage
from mail_gateway import authentication
from mail_gateway.automatic import automatic_reason
from mail_gateway.headers import Headers, clean
from mail_gateway.inbound import Outcome
from mail_gateway.isolation import MALFORMED, message_id_of, record_malformed
from mail_gateway.parsing import parse
from mail_gateway.quoting import MAX_LINES, body_text, reply_part

log = logging.getLogger(__name__)
AUTOMATIC = "automatic"
OWN_MAIL = "own_mail_loop"
SENDER_AMBIGUOUS = "sender_ambiguous"
MAX_REFERENCES = 50
MAX_ATTACHMENTS = 50
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")


@logs.for_mail
def process(app: App, raw: bytes, *, via: str, recipients: list[str] | None = None) -> Outcome:
    """Triage one received message; raises only DatabaseError, or ConfigError for a broken
    vocabulary (the caller retries then: neither is the message's fault)."""
    triage.rules()
    message_id = "?"
    try:
        message = parse(raw)
        headers = Headers(message)
        message_id = headers.get("Message-ID", "?")
        outcome = _interpret(app, message, headers, raw, via)
    except DatabaseError:
        raise
    except Exception as exc:
        message_id = message_id_of(raw)
        outcome = Outcome(MALFORMED, record_malformed(app, raw, message_id, exc, "helpdesk"))
    log.info("helpdesk %s via %s: %s %s", reply_tokens.redact(message_id[:200]), via,
             outcome.reason, logs.code(outcome.detail))
    metrics.inbound_mail("helpdesk", outcome.reason)
    return outcome


def _ignored(app: App, headers: Headers, reason: str, detail: str) -> Outcome:
    actor = ",".join(headers.addresses(["From"]))[:200] or "?"
    with app.unit_of_work() as uow:
        uow.audit(f"helpdesk.{reason}", "mail", None, actor=actor, detail=detail[:200],
                  message_id=headers.get("Message-ID")[:200])
    return Outcome(reason, detail)


def _interpret(app: App, message: EmailMessage, headers: Headers, raw: bytes,
               via: str) -> Outcome:
    machine = automatic_reason(headers)
    if machine:
        return _ignored(app, headers, AUTOMATIC, machine)
    domain = app.settings.mail_domain.lower()
    if headers.has("X-ITMA-Outbox") or any(
            a.lower().endswith("@" + domain) for a in headers.addresses(["From", "Sender"])):
        return _ignored(app, headers, OWN_MAIL, "")
    sender, ambiguity = headers.sender()
    if sender is None:
        return _ignored(app, headers, SENDER_AMBIGUOUS, ambiguity)
    mail = read(app, message, headers, raw, sender, via)
    with app.unit_of_work() as uow:
        received = helpdesk.receive(uow, mail)
    detail = f"#{received.ticket_id}" if received.ticket_id else ""
    if received.detail:
        detail = f"{detail} {received.detail}".strip()
    if received.outcome == "ticket_opened" and not received.acknowledged:
        detail += " (no acknowledgement: rate limit)"
    return Outcome(received.outcome, detail)


def read(app: App, message: EmailMessage, headers: Headers, raw: bytes, sender: str,
         via: str) -> helpdesk.IncomingMail:
    """The mail as the helpdesk keeps it: what the sender wrote, capped, no quoted history."""
    message_id = headers.get("Message-ID").strip()[:250] or \
        "sha256:" + hashlib.sha256(raw).hexdigest()
    references = _MESSAGE_ID.findall(" ".join(headers.all("In-Reply-To")
                                              + headers.all("References"))[:20000])
    lines = body_text(message).split("\n", MAX_LINES)[:MAX_LINES]
    full = "\n".join(lines)
    text = reply_part(full) or full.strip()
    problem = authentication.problem(headers, app.settings.mail_authserv_id, sender)
    return helpdesk.IncomingMail(
        message_id=message_id, sender=sender, sender_name=_display_name(headers),
        subject=headers.subject()[:helpdesk.MAX_SUBJECT], text=text[:helpdesk.MAX_BODY],
        references=tuple(references[-MAX_REFERENCES:]),
        attachments=tuple(_attachments(message)),
        authenticated=None if not app.settings.mail_authserv_id else problem is None,
        via=via)


def _display_name(headers: Headers) -> str:
    raw = headers.get("From")[:998]
    try:
        decoded = str(make_header(decode_header(raw)))
    except (ValueError, LookupError, UnicodeError):
        decoded = raw
    name, _address = getaddresses([decoded])[0] if decoded else ("", "")
    return " ".join(clean(name).replace("@", " ").split())[:200]


def _attachments(message: EmailMessage) -> list[helpdesk.Attachment]:
    found = []
    for part in message.iter_attachments():
        if len(found) == MAX_ATTACHMENTS:
            break
        payload = part.get_payload()
        size = len(payload) * 3 // 4 if isinstance(payload, str) else 0
        try:
            name = clean(part.get_filename() or "")[:200] or "-"
        except Exception:  # a filename no decoder takes is still an attachment
            name = "-"
        found.append(helpdesk.Attachment(name, part.get_content_type()[:100], size))
    return found
