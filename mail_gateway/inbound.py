"""One place decides what an incoming mail is and does, in order, each outcome a named reason.

The SMTP listener, the IMAP poller and `mail process` (an MTA pipe) all call `process`.
The decision, the record that this Message-ID was handled and the answers are committed in
one transaction: a mail delivered twice, or read again after a crash, acts once.

What a reply must show before it acts, cheapest check first:
the reply token (a secret only the officer's notification carried), a sender read strictly
(one From, one mailbox) that is the token's officer, the MTA's word that the sender's domain
is authenticated (when `ITMA_MAIL_AUTHSERV_ID` is set), a token still usable, and a place in
the notification's thread. Only the token's officer, proven so, is ever answered.

A message that cannot be understood at all is recorded as `malformed` and consumed: only a
database that cannot be reached (DatabaseError) makes the caller retry.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from core import clock, db, logs, metrics, phrases
from core.app import App, UnitOfWork
from core.db import DatabaseError
from core.errors import DomainError
from core.models import Officer, ReplyToken
from core.services import access, deliveries, reply_tokens, requests
from mail_gateway import answers, authentication
from mail_gateway.automatic import automatic_reason
from mail_gateway.headers import Headers, clean
from mail_gateway.isolation import (
    MALFORMED,
    message_id_of,
    record_malformed,
    record_malformed_in,
)
from mail_gateway.parsing import parse
from mail_gateway.quoting import Verdict, read_verdict

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
SENDER_AMBIGUOUS = "sender_ambiguous"
DUPLICATE = "duplicate"
TOKEN_UNKNOWN = "token_unknown"
FORGED = "sender_not_token_owner"
NOT_AUTHENTICATED = "sender_not_authenticated"
NOT_IN_THREAD = "not_in_thread"
NOT_UNDERSTOOD = "not_understood"


RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


def tokens_in(headers: Headers, domain: str, recipients: list[str]) -> list[str]:
    """Reply tokens from the reply address, or from our Message-ID in the thread headers."""
    plus = re.compile(rf"reply\+([a-z2-7]{{26}})@{re.escape(domain)}$", re.IGNORECASE)
    addresses = list(recipients) + headers.addresses(RECIPIENT_HEADERS)
    found = [m.group(1).lower() for a in addresses if (m := plus.search(a.strip()))]
    found += [t.lower() for t in re.findall(rf"<[0-9a-f]{{16,32}}\.([a-z2-7]{{26}})@"
                                            rf"{re.escape(domain)}>", _thread(headers),
                                            re.IGNORECASE)]
    return list(dict.fromkeys(found))


def _thread(headers: Headers) -> str:
    return " ".join(headers.all("In-Reply-To") + headers.all("References"))


_ISSUED = re.compile(r"<[^<>@\s]+\.([^<>@\s.]+)@([^<>\s]+)>")
"""A Message-ID `<anything.TOKEN@domain>`: compiled once, where a pattern per token was compiled
anew for every reply (a token is in no cache twice; 0.2 ms a reply)."""


def in_thread(headers: Headers, domain: str, token: str, request_id: int) -> bool:
    """Whether the reply answers the notification that carried this token.

    Its In-Reply-To or References must hold the Message-ID issued with the token
    (`<hex16.TOKEN@domain>`), or its subject the request number (`#12`). A token copied into a
    new mail, or into a reply to something else, is not enough.
    """
    wanted = (token.lower(), domain.lower())
    if any((m.group(1).lower(), m.group(2).lower()) == wanted
           for m in _ISSUED.finditer(_thread(headers))):
        return True
    return re.search(rf"(?<![\w#])#{request_id}\b", headers.subject()) is not None


def addressed_to_us(headers: Headers, domain: str, recipients: list[str]) -> bool:
    addresses = list(recipients) + headers.addresses(RECIPIENT_HEADERS)
    return any(a.lower().endswith("@" + domain.lower()) for a in addresses)


def _delivery_key(headers: Headers, raw: bytes) -> str:
    message_id = headers.get("Message-ID")
    return "mail:" + (message_id[:180] or "sha256:" + hashlib.sha256(raw).hexdigest())


def _first_time(uow: UnitOfWork, key: str) -> bool:
    return deliveries.record_once(uow.session, key)


def _answer_once(uow: UnitOfWork, kind: str, recipient: str, scope: str) -> bool:
    """One automatic answer per recipient, kind and scope (a token, or a day): never a loop."""
    return _first_time(uow, f"mail-answer:{kind}:{recipient}:{scope}")


def _reply_context(headers: Headers) -> dict[str, str]:
    subject = headers.subject()
    original = re.sub(r"^((re|tr|fw|fwd|aw|wg|antw)\s*:\s*)+", "", subject, flags=re.I)
    message_id = headers.get("Message-ID")
    references = " ".join(filter(None, [headers.get("References"), message_id]))
    return {"original_subject": original[:200], "in_reply_to": message_id,
            "references": references[-900:]}


@dataclass(frozen=True)
class Received:
    """What was read from a mail before the transaction opens: reading text can be slow."""

    headers: Headers
    sender: str
    tokens: list[str]
    unauthenticated: str | None
    verdict: Verdict


@dataclass(frozen=True)
class Reading:
    """A mail as read before any transaction opens: what it is, or why it cannot be read.

    Reading (MIME, headers, the verdict) is the slow, pure part; it never touches the database,
    so a batch of replies is read first and then decided in one short transaction.
    """

    raw: bytes
    via: str
    message_id: str
    outcome: Outcome | None = None
    """Decided without the database (not for us)."""
    ignored: tuple[Headers, str, str] | None = None
    """(headers, reason, detail): audited and consumed, never acted upon."""
    received: Received | None = None
    failure: Exception | None = None
    """Unreadable: recorded as malformed and consumed."""


def read(app: App, raw: bytes, *, via: str, recipients: list[str] | None = None) -> Reading:
    """Read one received message; never raises (a failure is kept in the Reading)."""
    message_id = "?"
    try:
        message = parse(raw)
        headers = Headers(message)
        message_id = headers.get("Message-ID", "?")
        return _triage(app, message, headers, raw, via, message_id, recipients or [])
    except Exception as exc:
        return Reading(raw, via, message_id_of(raw), failure=exc)


def process(app: App, raw: bytes, *, via: str, recipients: list[str] | None = None) -> Outcome:
    """Interpret one received message; raises only DatabaseError (the caller retries then)."""
    reading = read(app, raw, via=via, recipients=recipients)
    try:
        return decide_all(app, [reading])[0]
    except DatabaseError:
        raise
    except Exception as exc:  # the commit itself failed for this message: recorded, consumed
        outcome = Outcome(MALFORMED, record_malformed(app, raw, message_id_of(raw), exc, "mail"))
        _recorded(reading, outcome)
        return outcome


def decide_all(app: App, readings: list[Reading]) -> list[Outcome]:
    """Decide every reading in ONE transaction, each as if in its own savepoint, and commit.

    A reply that fails (a rule's refusal, a constraint, a bug) is rolled back alone, recorded
    as malformed or answered, and the others go on. Returns only once the commit is done, so a
    caller may acknowledge each outcome then; raises DatabaseError when the database cannot be
    used (nothing of the batch is committed: every sender must retry), or any other exception
    the commit itself raised (nothing committed either).

    Most batches have no failing reply, and a SAVEPOINT and its RELEASE were two of a reply's
    ten statements (two round trips on PostgreSQL, and the session's nested-transaction
    bookkeeping). So a batch is first decided without them (`_straight`); when a reply fails
    there, that whole transaction is rolled back — nothing of it was written or acknowledged —
    and the batch is decided again with a savepoint per reply (`_guarded`).
    """
    if all(r.outcome is not None for r in readings):  # nothing to write
        outcomes: list[Outcome] | None = [r.outcome for r in readings if r.outcome is not None]
    else:
        outcomes = _straight(app, readings) if _caution.straight() else None
        if outcomes is None:
            outcomes = _guarded(app, readings)
    assert outcomes is not None
    for reading, outcome in zip(readings, outcomes, strict=True):
        _recorded(reading, outcome)
    return outcomes


class _Caution:
    """After a batch had to be decided again, the next few take savepoints at once: a run of
    refusals (a session full, a bad mail resent) is not decided twice each time. A plain
    counter: the worst a race between doors does is one batch more or less the slow way."""

    AFTER_A_FAILURE = 8

    def __init__(self) -> None:
        self.careful = 0

    def straight(self) -> bool:
        if self.careful > 0:
            self.careful -= 1
            return False
        return True


_caution = _Caution()


class _Retry(Exception):
    """A reply failed in a batch decided without savepoints: decide it again with them."""


def _straight(app: App, readings: list[Reading]) -> list[Outcome] | None:
    """The batch without a savepoint per reply, or None (nothing committed) when one failed."""
    try:
        return _in_one_transaction(app, readings, _unguarded)
    except _Retry:
        _caution.careful = _Caution.AFTER_A_FAILURE
        return None


def _unguarded(uow: UnitOfWork, reading: Reading) -> Outcome:
    if reading.outcome is not None:
        return reading.outcome
    try:
        with logs.bound(logs.mail_id(reading.raw), mail=reading.raw):  # on what it queues
            return _decide_reading(uow, reading)
    except (DatabaseError, OperationalError):
        raise  # the connection or the database: the whole batch is retried by its senders
    except Exception as exc:  # _Refused included: undone with the rest, decided again
        raise _Retry from exc


def _guarded(app: App, readings: list[Reading]) -> list[Outcome]:
    """The batch with a savepoint per reply: one that fails is rolled back alone."""
    return _in_one_transaction(app, readings, _isolated)


def _in_one_transaction(app: App, readings: list[Reading],
                        decide: Callable[[UnitOfWork, Reading], Outcome]) -> list[Outcome]:
    """The batch's reads first, then each reading decided by `decide`, then its last writes;
    committed when this returns."""
    with app.unit_of_work() as uow:
        _prepare(uow, readings)
        outcomes = [decide(uow, reading) for reading in readings]
        _finish(uow)
    return outcomes


def _finish(uow: UnitOfWork) -> None:
    """The batch's last writes, the used tokens and the answers: nothing read back, so one
    round trip on PostgreSQL (what the ORM still holds, an audit row, is flushed first: it
    reads its new ids back)."""
    uow.session.flush()
    with db.pipelined(uow.session.connection()):
        _mark_used(uow)
        answers.write(uow)


def _recorded(reading: Reading, outcome: Outcome) -> None:
    """The one place an outcome is reported, after its commit."""
    with logs.bound(logs.mail_id(reading.raw), mail=reading.raw):  # its id; its text kept out
        log.info("mail %s via %s: %s %s", reply_tokens.redact(reading.message_id[:200]),
                 reading.via, outcome.reason, logs.code(outcome.detail))
    metrics.inbound_mail("replies", outcome.reason)


_FRESH = "itma.mail.fresh_deliveries"
_FORGOTTEN = "itma.mail.forgotten_deliveries"
_CHAT_ACCOUNTS = "itma.mail.chat_accounts"
_TOKENS = "itma.mail.tokens"
_USED = "itma.mail.used_tokens"
_NOW = "itma.mail.now"
_INSIDE = "itma.mail.recorded_inside"


def _prepare(uow: UnitOfWork, readings: list[Reading]) -> None:
    """What every reply of the batch reads or writes first, one statement each for the batch:
    the delivery records (INSERT … ON CONFLICT DO NOTHING of every Message-ID) and the reply
    tokens with their officers (into the session, where each reply finds its own without a
    query), the officers' organisations (their authority) and chat accounts joined in the
    same SELECT (they were two more round trips a batch). Not their requests: the decision
    reads the request as it decides it (one guarded UPDATE … RETURNING), and a request held
    in the session would be expired by that and read again, one SELECT per reply."""
    received = [(r.raw, r.received) for r in readings if r.received is not None]
    uow.session.info[_NOW] = clock.now()
    uow.session.info[_FRESH] = deliveries.record_all(
        uow.session, [_delivery_key(got.headers, raw) for raw, got in received])
    uow.session.info[_FORGOTTEN] = set()
    uow.session.info[_USED] = []
    hashes = {reply_tokens.token_hash(token) for _raw, got in received for token in got.tokens
              if reply_tokens.TOKEN.match(token)}
    if hashes:  # held here: the session's identity map keeps only weak references
        officer = joinedload(ReplyToken.officer)
        uow.session.info[_TOKENS] = uow.session.scalars(
            select(ReplyToken).where(ReplyToken.token_hash.in_(hashes))
            .options(lazyload(ReplyToken.request), officer.joinedload(Officer.organisations),
                     officer.joinedload(Officer.identities))).unique().all()


def _first_delivery(uow: UnitOfWork, key: str) -> bool:
    """Whether this reply is the first with its Message-ID (recorded by `_prepare`)."""
    key = key[:200]
    fresh: set[str] | None = uow.session.info.get(_FRESH)
    forgotten: set[str] = uow.session.info.get(_FORGOTTEN, set())
    if fresh is None or key in forgotten:  # recorded by a reply that failed: record anew
        forgotten.discard(key)
        uow.session.info[_INSIDE] = key
        return _first_time(uow, key)
    if key in fresh:
        fresh.remove(key)
        return True
    return False


def _isolated(uow: UnitOfWork, reading: Reading) -> Outcome:
    """One reply in its own savepoint: whatever fails in it is rolled back alone."""
    if reading.outcome is not None:
        return reading.outcome
    info = uow.session.info
    claimed, used = set(info.get(_FRESH, ())), len(info.setdefault(_USED, []))
    queued = answers.mark(uow)
    try:
        with logs.bound(logs.mail_id(reading.raw), mail=reading.raw):  # on what it queues
            try:
                with uow.session.begin_nested():
                    return _decide_reading(uow, reading)
            except _Refused as refused:  # a rule said no: its work is undone, then answered
                answers.forget_since(uow, queued)
                with uow.session.begin_nested():
                    if info.pop(_INSIDE, None) is not None:  # recorded in what was undone
                        _first_time(uow, _delivery_key(refused.headers(reading), reading.raw))
                    return refused.answer()
    except (DatabaseError, OperationalError):
        raise  # the connection or the database: the whole batch is retried
    except Exception as exc:
        for token in info[_USED][used:]:  # not used after all
            uow.session.expire(token, ["used_at"])
        del info[_USED][used:]
        answers.forget_since(uow, queued)
        if reading.received is not None:  # its delivery record goes with its work
            key = _delivery_key(reading.received.headers, reading.raw)[:200]
            if key in claimed and key not in info.get(_FRESH, ()):
                with uow.session.begin_nested():
                    deliveries.forget(uow.session, key)
                info[_FORGOTTEN].add(key)
        return Outcome(MALFORMED, record_malformed_in(uow, reading.raw,
                                                      message_id_of(reading.raw), exc, "mail"))
    finally:
        info.pop(_INSIDE, None)


class _Refused(Exception):
    """A rule refused the decision (DomainError): raised out of the reply's savepoint, so that
    what the use case did before refusing is rolled back, then the officer is told why."""

    def __init__(self, uow: UnitOfWork, to: str, language: str, facts: dict[str, object],
                 error: DomainError) -> None:
        super().__init__(error.code)
        self.uow, self.to, self.language, self.facts, self.error = (
            uow, to, language, facts, error)

    def answer(self) -> Outcome:
        answers.mail(self.uow, self.to, self.language, "reply_done", {
            **self.facts, "outcome_text": self.error.message(self.language)})
        return Outcome("refused_by_rules", self.error.code)

    @staticmethod
    def headers(reading: Reading) -> Headers:
        assert reading.received is not None
        return reading.received.headers


def _use(uow: UnitOfWork, token: ReplyToken) -> None:
    """The token is used: so in the session at once (another reply of the batch with it sees
    it used), and in the table by one UPDATE for the batch before the commit."""
    set_committed_value(token, "used_at", uow.session.info[_NOW])
    uow.session.info[_USED].append(token)


def _mark_used(uow: UnitOfWork) -> None:
    """One UPDATE of the batch's used tokens (a Core statement: their ORM objects already
    hold used_at, and nothing is read back)."""
    used = uow.session.info.get(_USED)
    if used:
        tokens = ReplyToken.__table__
        uow.session.connection().execute(
            update(tokens).where(tokens.c.token_hash.in_({t.token_hash for t in used}))
            .values(used_at=uow.session.info[_NOW]))


def _decide_reading(uow: UnitOfWork, reading: Reading) -> Outcome:
    if reading.failure is not None:
        return Outcome(MALFORMED, record_malformed_in(uow, reading.raw, reading.message_id,
                                                      reading.failure, "mail"))
    if reading.ignored is not None:
        headers, reason, detail = reading.ignored
        actor = ",".join(headers.addresses(["From"]))[:200] or "?"
        uow.audit(f"mail.{reason}", "mail", None, actor=actor, detail=detail,
                  message_id=headers.get("Message-ID")[:200])
        return Outcome(reason, detail)
    received = reading.received
    assert received is not None
    if not _first_delivery(uow, _delivery_key(received.headers, reading.raw)):
        return Outcome(DUPLICATE)
    return _act(uow, received)


def _triage(app: App, message: EmailMessage, headers: Headers, raw: bytes, via: str,
            message_id: str, recipients: list[str]) -> Reading:
    """Everything decided from the mail alone, cheapest check first."""
    domain = app.settings.mail_domain
    tokens = tokens_in(headers, domain, recipients)
    if not tokens and not addressed_to_us(headers, domain, recipients):
        return Reading(raw, via, message_id, outcome=Outcome(NOT_FOR_US))
    machine = automatic_reason(headers)
    if machine:
        return Reading(raw, via, message_id, ignored=(headers, AUTOMATIC, machine))
    if headers.has("X-ITMA-Outbox") or any(
            a.lower().endswith("@" + domain.lower()) for a in headers.addresses(["From"])):
        return Reading(raw, via, message_id, ignored=(headers, OWN_MAIL, ""))
    sender, ambiguity = headers.sender()
    if sender is None:
        return Reading(raw, via, message_id, ignored=(headers, SENDER_AMBIGUOUS, ambiguity))
    received = Received(headers, sender, tokens,
                        authentication.problem(headers, app.settings.mail_authserv_id, sender),
                        read_verdict(message))
    return Reading(raw, via, message_id, received=received)


def _choose(uow: UnitOfWork, tokens: list[str]) -> tuple[str, ReplyToken, str | None] | None:
    """The first usable token of the mail; else the first known one (used or expired)."""
    known = None
    for candidate in tokens:
        token, problem = reply_tokens.check(uow, candidate)
        if token is not None and problem is None:
            return candidate, token, None
        if token is not None and known is None:
            known = candidate, token, problem
    return known


def _act(uow: UnitOfWork, reply: Received) -> Outcome:
    sender, headers = reply.sender, reply.headers
    context = _reply_context(headers)
    chosen = _choose(uow, reply.tokens)
    if chosen is None:  # never answered: a guessed token must not make us mail anyone
        uow.audit(f"mail.{TOKEN_UNKNOWN}", "mail", None, actor=sender)
        return Outcome(TOKEN_UNKNOWN)
    candidate, token, problem = chosen
    officer = token.officer
    if sender != officer.email.lower():
        uow.audit(f"mail.{FORGED}", "request", token.subject_id, actor=sender,
                  expected=officer.email)
        return Outcome(FORGED, sender)
    if reply.unauthenticated:
        uow.audit(f"mail.{NOT_AUTHENTICATED}", "request", token.subject_id, actor=sender,
                  detail=reply.unauthenticated)
        return Outcome(NOT_AUTHENTICATED, reply.unauthenticated)
    language = officer.language.value
    if problem is not None:
        reason = f"token_{problem}"
        uow.audit(f"mail.{reason}", "request", token.subject_id, officer)
        if _answer_once(uow, "token", officer.email.lower(), token.token_hash[:16]):
            answers.mail(uow, officer.email, language, "reply_token_invalid",
                             {**context, "reason": problem})
        return Outcome(reason)
    domain = uow.app.settings.mail_domain
    help_context = {**context, "name": officer.display_name, "request_id": token.subject_id,
                    "reply_address": f"reply+{candidate}@{domain}"}
    if not in_thread(headers, domain, candidate, token.subject_id):
        uow.audit(f"mail.{NOT_IN_THREAD}", "request", token.subject_id, officer)
        _help_once(uow, officer.email, language, {**help_context, "reason": NOT_IN_THREAD})
        return Outcome(NOT_IN_THREAD)
    verdict = reply.verdict
    if verdict.decision is None:
        first_line = clean(verdict.first_line)
        uow.audit(f"mail.{NOT_UNDERSTOOD}", "request", token.subject_id, officer,
                  first_line=first_line[:120])
        _help_once(uow, officer.email, language, {**help_context, "reason": NOT_UNDERSTOOD})
        return Outcome(NOT_UNDERSTOOD, first_line[:80])
    reason = clean(verdict.reason) if verdict.reason else None
    return _decide(uow, token, verdict.decision == "approve", reason, context)


def _help_once(uow: UnitOfWork, to: str, language: str, context: dict[str, object]) -> None:
    """The help answer, at most once a day per officer, whatever made it necessary."""
    if _answer_once(uow, "help", to.lower(), clock.today().isoformat()):
        answers.mail(uow, to, language, "reply_help", context)


def _decide(uow: UnitOfWork, token: ReplyToken, approve: bool, reason: str | None,
            context: dict[str, str]) -> Outcome:
    """The same use case as a chat or a card decision; the officer hears back by mail and in
    every chat account they linked."""
    if token.kind == "access":
        return _decide_access(uow, token, approve, reason, context)
    officer = token.officer
    language = officer.language.value
    facts = {**context, "name": officer.display_name, "request_id": token.request_id}
    try:
        decision = requests.decide(uow, officer, token.request_id, approve, reason, via="mail")
    except DomainError as exc:
        raise _Refused(uow, officer.email, language, facts, exc) from exc
    request = decision.request
    if not decision.changed:
        answers.mail(uow, officer.email, language, "reply_already_decided", {
            **facts, "state": str(request.state),
            "decided_by": request.decided_by.display_name if request.decided_by else "?",
            "decided_at": request.decided_at.isoformat() if request.decided_at else None})
        return Outcome("already_decided", f"request_already_{request.state}")
    _use(uow, token)
    outcome = phrases.decision_facts(decision)
    answers.mail(uow, officer.email, language, "reply_done", {**facts, "decision": outcome})
    for platform, address in _chat_accounts(uow, officer):
        answers.chat(uow, platform, address, language, "request_decided", outcome)
    return Outcome("approved" if approve else "refused",
                   phrases.decision_text(language, outcome))


def _chat_accounts(uow: UnitOfWork, officer: Officer) -> list[tuple[str, str]]:
    """(platform, address) of the officer's linked chat accounts, read once per batch."""
    known: dict[int, list[tuple[str, str]]] = uow.session.info.setdefault(_CHAT_ACCOUNTS, {})
    if officer.id not in known:
        known[officer.id] = [(i.platform, f"{i.workspace}:{i.user_ref}")
                             for i in officer.identities
                             if i.platform in requests.CHAT_PLATFORMS]
    return known[officer.id]


def _decide_access(uow: UnitOfWork, token: ReplyToken, approve: bool, reason: str | None,
                   context: dict[str, str]) -> Outcome:
    """An administrator's reply to an access request: the same use case as the card and the
    CLI (access.decide); the answer, by mail, says what it did or who decided first."""
    admin = token.officer
    language = admin.language.value
    facts = {**context, "name": admin.display_name, "request_id": token.subject_id}
    try:
        decision = access.decide(uow, admin, token.subject_id, approve, reason, via="mail")
    except DomainError as exc:
        raise _Refused(uow, admin.email, language, facts, exc) from exc
    text = phrases.access_decision_text(language, decision)
    answers.mail(uow, admin.email, language, "reply_done", {**facts, "outcome_text": text})
    if not decision.changed:
        return Outcome("already_decided", f"access_already_{decision.request.state}")
    _use(uow, token)
    return Outcome("approved" if approve else "refused", text)
