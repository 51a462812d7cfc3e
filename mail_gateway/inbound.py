"""One place decides what an incoming mail is and does, in order, each outcome a named reason.

The SMTP listener, the IMAP poller and `mail process` (an MTA pipe) all call `process`.
The decision, the record that this Message-ID was handled and the answers are committed in
one transaction: a mail delivered twice, or read again after a crash, acts once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from core import clock
from core.app import App, UnitOfWork
from core.conversation.context import Turn
from core.conversation.flows.requests import approval_text
from core.errors import DomainError
from core.models import RegistrationRequest, ReplyToken
from core.services import deliveries, reply_tokens, requests
from mail_gateway.automatic import automatic_reason
from mail_gateway.headers import Headers
from mail_gateway.quoting import read_verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    reason: str
    detail: str = ""

    @property
    def acted(self) -> bool:
        return self.reason in ("approved", "refused")


NOT_FOR_US = "not_for_us"
AUTOMATIC = "automatic"
OWN_MAIL = "own_mail_loop"
DUPLICATE = "duplicate"
FORGED = "sender_not_token_owner"
NOT_UNDERSTOOD = "not_understood"


RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


def tokens_in(headers: Headers, domain: str, recipients: list[str]) -> list[str]:
    """Reply tokens from the reply address, or from our Message-ID in the thread headers."""
    plus = re.compile(rf"reply\+([a-z2-7]{{26}})@{re.escape(domain)}$", re.IGNORECASE)
    addresses = list(recipients) + headers.addresses(RECIPIENT_HEADERS)
    found = [m.group(1).lower() for a in addresses if (m := plus.search(a.strip()))]
    thread = " ".join(headers.get(h) for h in ("In-Reply-To", "References"))
    found += [t.lower() for t in re.findall(rf"<[0-9a-f]{{16,32}}\.([a-z2-7]{{26}})@"
                                            rf"{re.escape(domain)}>", thread, re.IGNORECASE)]
    return list(dict.fromkeys(found))


def addressed_to_us(headers: Headers, domain: str, recipients: list[str]) -> bool:
    addresses = list(recipients) + headers.addresses(RECIPIENT_HEADERS)
    return any(a.lower().endswith("@" + domain.lower()) for a in addresses)


def _delivery_key(headers: Headers, raw: bytes) -> str:
    message_id = headers.get("Message-ID")
    return "mail:" + (message_id[:180] or "sha256:" + hashlib.sha256(raw).hexdigest())


def _first_time(uow: UnitOfWork, key: str) -> bool:
    return deliveries.record_once(uow.session, key)


def _answer_once(uow: UnitOfWork, kind: str, sender: str, scope: str) -> bool:
    """One automatic answer per sender, kind and scope (a token, or a day): never a loop."""
    return _first_time(uow, f"mail-answer:{kind}:{sender}:{scope}")


def _reply_context(headers: Headers) -> dict[str, str]:
    subject = headers.subject()
    original = re.sub(r"^((re|tr|fw|fwd|aw|wg|antw)\s*:\s*)+", "", subject, flags=re.I)
    message_id = headers.get("Message-ID")
    references = " ".join(filter(None, [headers.get("References"), message_id]))
    return {"original_subject": original[:200], "in_reply_to": message_id,
            "references": references[-900:]}


def process(app: App, raw: bytes, *, via: str, recipients: list[str] | None = None) -> Outcome:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    headers = Headers(message)
    outcome = _interpret(app, message, headers, raw, recipients or [])
    log.info("mail %s via %s: %s %s", headers.get("Message-ID", "?"), via, outcome.reason,
             outcome.detail)
    return outcome


def _interpret(app: App, message: EmailMessage, headers: Headers, raw: bytes,
               recipients: list[str]) -> Outcome:
    domain = app.settings.mail_domain
    tokens = tokens_in(headers, domain, recipients)
    if not tokens and not addressed_to_us(headers, domain, recipients):
        return Outcome(NOT_FOR_US)
    machine = automatic_reason(headers)
    if machine:
        return _ignored(app, headers, AUTOMATIC, machine)
    if headers.has("X-ITMA-Outbox") or headers.sender().endswith("@" + domain.lower()):
        return _ignored(app, headers, OWN_MAIL, "")
    with app.unit_of_work() as uow:
        if not _first_time(uow, _delivery_key(headers, raw)):
            return Outcome(DUPLICATE)
        return _act(uow, message, headers, tokens)


def _ignored(app: App, headers: Headers, reason: str, detail: str) -> Outcome:
    with app.unit_of_work() as uow:
        uow.audit(f"mail.{reason}", "mail", None, actor=headers.sender() or "?",
                  detail=detail, message_id=headers.get("Message-ID")[:200])
    return Outcome(reason, detail)


def _act(uow: UnitOfWork, message: EmailMessage, headers: Headers,
         tokens: list[str]) -> Outcome:
    sender = headers.sender()
    context = _reply_context(headers)
    token, problem = None, "unknown"
    for candidate in tokens:
        token, problem = reply_tokens.check(uow, candidate)
        if problem is None:
            break
    if token is None or problem is not None:
        reason = f"token_{problem}"
        uow.audit(f"mail.{reason}", "mail", None, actor=sender or "?")
        if sender and _answer_once(uow, "token", sender, tokens[0] if tokens else "none"):
            language = token.officer.language.value if token else "fr"
            uow.enqueue_mail(sender, language, "reply_token_invalid",
                             {**context, "reason": problem})
        return Outcome(reason)
    officer = token.officer
    if sender != officer.email.lower():
        uow.audit(f"mail.{FORGED}", "request", token.request_id, actor=sender or "?",
                  expected=officer.email)
        return Outcome(FORGED, sender)
    language = officer.language.value
    verdict = read_verdict(message)
    if verdict.decision is None:
        uow.audit(f"mail.{NOT_UNDERSTOOD}", "request", token.request_id, officer,
                  first_line=verdict.first_line[:120])
        if _answer_once(uow, "help", sender, clock.today().isoformat()):
            uow.enqueue_mail(sender, language, "reply_help",
                             {**context, "name": officer.display_name,
                              "request_id": token.request_id,
                              "reply_address": f"reply+{token.token}@"
                                               f"{uow.app.settings.mail_domain}"})
        return Outcome(NOT_UNDERSTOOD, verdict.first_line[:80])
    return _decide(uow, token, verdict.decision == "approve", verdict.reason, context)


def _decide(uow: UnitOfWork, token: ReplyToken, approve: bool, reason: str | None,
            context: dict[str, str]) -> Outcome:
    officer = token.officer
    language = officer.language.value
    turn = Turn(uow, officer, language, "mail", officer.email)
    try:
        with uow.session.begin_nested():
            if approve:
                text = approval_text(turn, *requests.approve(uow, officer, token.request_id,
                                                             via="mail"))
            else:
                requests.refuse(uow, officer, token.request_id, reason, via="mail")
                text = turn.t("requests.refused", id=token.request_id)
    except DomainError as exc:
        if exc.code.startswith("request_already_"):
            request = uow.session.get_one(RegistrationRequest, token.request_id)
            uow.enqueue_mail(officer.email, language, "reply_already_decided", {
                **context, "name": officer.display_name, "request_id": request.id,
                "state": str(request.state),
                "decided_by": request.decided_by.display_name if request.decided_by else "?",
                "decided_at": request.decided_at.astimezone(clock.LOCAL_TZ)
                .strftime("%d/%m/%Y %H:%M") if request.decided_at else "?"})
            return Outcome("already_decided", exc.code)
        uow.enqueue_mail(officer.email, language, "reply_done",
                         {**context, "name": officer.display_name,
                          "request_id": token.request_id,
                          "outcome_text": exc.message(language)})
        return Outcome("refused_by_rules", exc.code)
    reply_tokens.use(token)
    uow.enqueue_mail(officer.email, language, "reply_done",
                     {**context, "name": officer.display_name, "request_id": token.request_id,
                      "outcome_text": text})
    for identity in officer.identities:
        if identity.platform in requests.CHAT_PLATFORMS:
            uow.enqueue_chat(identity.platform, f"{identity.workspace}:{identity.user_ref}",
                             language, "notice", {"text": text})
    return Outcome("approved" if approve else "refused", text)
