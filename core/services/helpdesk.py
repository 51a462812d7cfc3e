"""The helpdesk mailbox as tickets: threads, triage, what we know of the sender, answers.

Mail arrives here already read (mail_gateway/helpdesk.py parses it, bounded, and never passes
on automatic mail); this module decides, in one transaction, which ticket a mail belongs to,
in the order osTicket and Zammad use:

1. a Message-ID seen before → nothing new (`duplicate`);
2. In-Reply-To / References naming one of our own Message-IDs (an acknowledgement or an
   answer: random, so only their recipient knows them) → that ticket;
3. the tag `[ITMA #12]` in the subject → ticket 12, only when the sender is its sender or an
   officer of its organisation (and, when the MTA authenticates senders, authenticated): a
   stranger cannot write into somebody else's ticket;
4. otherwise a new ticket: classified (core.services.triage), matched to an officer, given
   what staff need to answer fast (access, pending requests, last P-data import, recent chat
   actions) and, where the product knows the answer, a draft — never sent by itself; the
   sender gets an acknowledgement in their language (at most ACK_LIMIT per ACK_WINDOW), and
   the category's chat channels get the ticket.

Staff (officers with the `helpdesk` role) list, take, close and answer tickets; an answer goes
out by mail in the thread, with the tag, from the helpdesk address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import formataddr
from typing import Any

from sqlalchemy import func, select

from core import clock, i18n, nrn
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import (
    AccessRequest,
    AuditEvent,
    HelpdeskMessage,
    HelpdeskRoute,
    HelpdeskTicket,
    Language,
    Officer,
    RegistrationRequest,
)
from core.services import deliveries, requests, triage
from core.services.access import require_active

ROLE = "helpdesk"
OPEN_STATES = ("new", "assigned", "answered")
"""And `closed`."""
ACK_LIMIT = 10
ACK_WINDOW = timedelta(hours=3)
"""At most ten acknowledgements to one sender in three hours (FreeScout's rule): a loop with
an auto-responder that slipped through, or a flood of forged senders, stays small."""
EXPIRING = timedelta(days=30)
MAX_BODY = 20_000
MAX_SUBJECT = 300
ACK_SUBJECT = 100
RECENT_ACTIONS = 5
MAX_ERRORS_SHOWN = 10
TAG = re.compile(r"\[ITMA\s*#\s*(\d{1,9})\]", re.IGNORECASE)
_PREFIXES = re.compile(r"^\s*((re|tr|fw|fwd|aw|wg|antw|sv|vs)\s*(\[\d+\])?\s*:\s*)+", re.I)
ROUTE_CATEGORIES = (*triage.CATEGORIES, "all")
ROUTE_PLATFORMS = ("slack", "teams")


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.content_type, "size": self.size}


@dataclass(frozen=True)
class IncomingMail:
    """A mail to the helpdesk as the gateway read it: written by a person, sender read
    strictly (one From, one mailbox), text without quoted history, everything capped."""

    message_id: str
    sender: str
    sender_name: str
    subject: str
    text: str
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    authenticated: bool | None = None
    """None when the MTA does not vouch for senders (ITMA_MAIL_AUTHSERV_ID unset)."""
    via: str = "pipe"


@dataclass(frozen=True)
class Received:
    outcome: str
    """ticket_opened, ticket_updated or duplicate."""
    ticket_id: int | None = None
    acknowledged: bool = False
    detail: str = ""


@dataclass
class Thread:
    ticket: HelpdeskTicket
    messages: list[HelpdeskMessage] = field(default_factory=list)


# ---------------------------------------------------------------------------- receiving


def receive(uow: UnitOfWork, mail: IncomingMail) -> Received:
    """Put one mail in its ticket (or a new one), in the caller's transaction."""
    known = uow.session.scalar(select(HelpdeskMessage.id).where(
        HelpdeskMessage.message_id == mail.message_id))
    if known is not None or not deliveries.record_once(uow.session,
                                                       f"helpdesk:{mail.message_id}"):
        return Received("duplicate")
    ticket, how = _thread_of(uow, mail)
    if ticket is not None:
        return _follow_up(uow, ticket, mail, how)
    return _open(uow, mail, how)


def _thread_of(uow: UnitOfWork, mail: IncomingMail) -> tuple[HelpdeskTicket | None, str]:
    if mail.references:
        ours = uow.session.scalars(select(HelpdeskMessage).where(
            HelpdeskMessage.message_id.in_(mail.references[-50:]),
            HelpdeskMessage.direction.in_(("ack", "out")))).first()
        if ours is not None:
            return ours.ticket, "thread"
    tag = TAG.search(mail.subject)
    if tag is None:
        return None, ""
    ticket = uow.session.get(HelpdeskTicket, int(tag.group(1)))
    if ticket is None:
        return None, "tag_unknown"
    if mail.authenticated is False:
        return None, "tag_unauthenticated"
    if mail.sender == ticket.sender or _same_organisation(uow, mail.sender, ticket):
        return ticket, "tag"
    return None, "tag_refused"


def _same_organisation(uow: UnitOfWork, sender: str, ticket: HelpdeskTicket) -> bool:
    if ticket.organisation_id is None:
        return False
    officer = officer_of(uow, sender)
    return officer is not None and ticket.organisation_id in {o.id for o in
                                                              officer.organisations}


def _message(ticket: HelpdeskTicket, mail: IncomingMail) -> HelpdeskMessage:
    return HelpdeskMessage(
        ticket=ticket, direction="in", message_id=mail.message_id[:300], address=mail.sender,
        subject=mail.subject[:MAX_SUBJECT], body=mail.text[:MAX_BODY],
        attachments=[a.as_json() for a in mail.attachments[:50]], via=mail.via[:20])


def _follow_up(uow: UnitOfWork, ticket: HelpdeskTicket, mail: IncomingMail,
               how: str) -> Received:
    """The mail joins its thread; what we know of the ticket's sender is read again (their
    access may have been renewed since), and so is the draft."""
    uow.session.add(_message(ticket, mail))
    ticket.context = context(uow, ticket.sender, ticket.officer,
                             mail.authenticated if mail.sender == ticket.sender
                             else ticket.context.get("authenticated"))
    ticket.draft = draft(uow, ticket, mail.text) or ticket.draft
    if ticket.state in ("answered", "closed"):
        ticket.state = "assigned" if ticket.assignee_id else "new"
        ticket.closed_at = None
    ticket.updated_at = clock.now()
    uow.audit("helpdesk.mail_added", "helpdesk_ticket", ticket.id, actor=mail.sender,
              via=mail.via, threaded_by=how)
    if ticket.assignee is not None:
        _tell_assignee(uow, ticket)
    return Received("ticket_updated", ticket.id, detail=how)


def _open(uow: UnitOfWork, mail: IncomingMail, how: str) -> Received:
    officer = officer_of(uow, mail.sender)
    default = officer.language.value if officer else None
    reading = triage.triage(mail.subject, mail.text, default)
    language = reading.language if reading.language_confidence or not officer else default
    organisation = officer.organisations[0] if officer and officer.organisations else None
    ticket = HelpdeskTicket(
        subject=display_subject(mail.subject)[:MAX_SUBJECT] or "-", sender=mail.sender,
        sender_name=mail.sender_name[:200], language=Language(language or "fr"),
        category=reading.category, confidence=reading.confidence, state="new",
        officer=officer, organisation=organisation)
    ticket.context = context(uow, mail.sender, officer, mail.authenticated)
    uow.session.add(ticket)
    uow.session.add(_message(ticket, mail))
    uow.session.flush()
    ticket.draft = draft(uow, ticket, mail.text)
    uow.audit("helpdesk.ticket_opened", "helpdesk_ticket", ticket.id, actor=mail.sender,
              via=mail.via, category=ticket.category, confidence=ticket.confidence,
              language=ticket.language.value, known_officer=officer.email if officer else None,
              threading=how or None)
    acknowledged = _acknowledge(uow, ticket, mail)
    _route(uow, ticket, mail)
    return Received("ticket_opened", ticket.id, acknowledged, how)


def officer_of(uow: UnitOfWork, address: str) -> Officer | None:
    return uow.session.scalar(select(Officer).where(Officer.email == address.strip().lower()))


def display_subject(subject: str) -> str:
    """The subject without Re:/Fwd: prefixes and our tag, for lists and answers."""
    return " ".join(TAG.sub(" ", _PREFIXES.sub("", subject)).split())


# ---------------------------------------------------------------------------- what we know


def access_state(officer: Officer, today: date | None = None) -> str:
    today = today or clock.today()
    if officer.valid_until is None or officer.valid_until < today:
        return "expired"
    if officer.valid_until - today <= EXPIRING:
        return "expiring"
    return "valid"


def context(uow: UnitOfWork, sender: str, officer: Officer | None,
            authenticated: bool | None) -> dict[str, Any]:
    """What staff need beside the mail, as facts: only the sender's own data."""
    facts: dict[str, Any] = {"authenticated": authenticated,
                             "registration_requests": _own_requests(uow, sender)}
    if officer is None:
        return facts
    facts["officer"] = {
        "id": officer.id, "name": officer.display_name, "email": officer.email,
        "language": officer.language.value,
        "organisations": [o.code for o in officer.organisations],
        "valid_until": officer.valid_until.isoformat() if officer.valid_until else None,
        "access": access_state(officer)}
    facts["access_requests"] = [
        {"id": r.id, "kind": r.kind, "state": str(r.state),
         "created_at": r.created_at.isoformat()}
        for r in uow.session.scalars(select(AccessRequest).where(
            AccessRequest.officer_id == officer.id).order_by(AccessRequest.id.desc()).limit(3))]
    facts["pending_requests"] = len(requests.pending(uow, officer)) \
        if access_state(officer) != "expired" else None
    facts["pdata"] = last_import(uow, officer)
    facts["chat"] = [
        {"at": e.at.isoformat(), "action": e.action, "subject": e.subject_type,
         "id": e.subject_id}
        for e in uow.session.scalars(select(AuditEvent).where(
            AuditEvent.officer_id == officer.id, ~AuditEvent.action.like("helpdesk.%"))
            .order_by(AuditEvent.id.desc()).limit(RECENT_ACTIONS))]
    return facts


def _own_requests(uow: UnitOfWork, sender: str) -> list[dict[str, Any]]:
    """The "Nouvelle inscription" requests this address typed as its own."""
    found = []
    recent = uow.session.scalars(select(RegistrationRequest).order_by(
        RegistrationRequest.id.desc()).limit(500))
    for request in recent:
        if str(request.person.get("email", "")).strip().lower() != sender:
            continue
        wish = requests.wanted(request)
        found.append({"id": request.id, "state": str(request.state),
                      "organisation": request.organisation.code, "kind": wish.kind,
                      "code": wish.training_code,
                      "date": str(wish.session_start) if wish.session_start else None,
                      "created_at": request.created_at.isoformat(),
                      "decided_at": request.decided_at.isoformat() if request.decided_at
                      else None, "reason": request.reason})
        if len(found) == 3:
            break
    return found


IMPORT_ACTIONS = ("pdata.rejected", "pdata.applied")


def remember_rejected_import(uow: UnitOfWork, officer: Officer, filename: str, rows: int,
                             errors: list[dict[str, Any]]) -> None:
    """Audit a P-data file that was refused, with where its errors are (line, column, code
    and the reason the officer read; no cell value), so the helpdesk can see them when the
    officer writes about it."""
    uow.audit("pdata.rejected", "file", None, officer, filename=filename[:255], rows=rows,
              count=len(errors), errors=[
                  {"line": e.get("line"), "column": e.get("column"), "code": e.get("code"),
                   "reason": nrn.redact(str(e.get("reason", "")))[:300]}
                  for e in errors[:50]])


def last_import(uow: UnitOfWork, officer: Officer) -> dict[str, Any] | None:
    event = uow.session.scalars(select(AuditEvent).where(
        AuditEvent.officer_id == officer.id, AuditEvent.action.in_(IMPORT_ACTIONS))
        .order_by(AuditEvent.id.desc()).limit(1)).first()
    if event is None:
        return None
    details = dict(event.details)
    return {"at": event.at.isoformat(), "outcome": event.action.split(".", 1)[1],
            "filename": details.get("filename"), "rows": details.get("rows"),
            "count": details.get("count", 0), "errors": list(details.get("errors") or [])}


# ---------------------------------------------------------------------------- drafts


def draft(uow: UnitOfWork, ticket: HelpdeskTicket, text: str) -> dict[str, Any] | None:
    """An answer the product can write from what it knows, in the ticket's language."""
    language = ticket.language.value
    facts = ticket.context
    officer = facts.get("officer")
    words = set(triage.words(f"{ticket.subject} {text}"))
    hints = triage.rules().drafts
    if ticket.category == "access" and officer:
        return _access_draft(language, officer, facts)
    if ticket.category == "pdata" and officer:
        imported = facts.get("pdata")
        if imported and imported.get("errors") and words & hints["import"]:
            return _import_draft(language, imported)
        if words & hints["add"]:
            return {"kind": "pdata_add", "text": i18n.t(language, "helpdesk.draft.pdata_add")}
        if imported and imported.get("errors"):
            return _import_draft(language, imported)
    if ticket.category in ("registration", "enrollment") and facts.get("registration_requests"):
        return _registration_draft(language, facts["registration_requests"][0])
    return None


def _access_draft(language: str, officer: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    until = date.fromisoformat(officer["valid_until"]) if officer.get("valid_until") else None
    state = officer["access"]
    lines = [i18n.t(language, f"helpdesk.draft.access.{state}", date=until or "-")]
    pending = next((r for r in facts.get("access_requests", [])
                    if r["state"] == "pending"), None)
    if pending is not None:
        lines.append(i18n.t(language, "helpdesk.draft.access.pending", id=pending["id"],
                            date=datetime.fromisoformat(pending["created_at"]).date()))
    elif state != "valid":
        lines.append(i18n.t(language, "helpdesk.draft.access.how"))
    return {"kind": "access", "text": "\n\n".join(lines)}


def _import_draft(language: str, imported: dict[str, Any]) -> dict[str, Any]:
    errors = imported["errors"]
    shown = [i18n.t(language, "helpdesk.draft.pdata_error", line=e.get("line") or "-",
                    column=e.get("column") or "-", reason=e.get("reason") or e.get("code"))
             for e in errors[:MAX_ERRORS_SHOWN]]
    more = imported.get("count", len(errors)) - len(shown)
    if more > 0:
        shown.append(i18n.t(language, "helpdesk.draft.pdata_more", count=more))
    text = "\n".join([i18n.t(language, "helpdesk.draft.pdata_import",
                             filename=imported.get("filename") or "-",
                             date=datetime.fromisoformat(imported["at"]).date(),
                             count=imported.get("count", len(errors))), *shown, "",
                      i18n.t(language, "helpdesk.draft.pdata_fix")])
    return {"kind": "pdata_import", "text": text}


def _registration_draft(language: str, request: dict[str, Any]) -> dict[str, Any]:
    state = request["state"]
    decided = (datetime.fromisoformat(request["decided_at"]).date()
               if request.get("decided_at") else "-")
    what = (i18n.t(language, "helpdesk.wish_mailing_list") if request.get("kind") ==
            "mailing_list" else i18n.t(language, "helpdesk.wish_session",
                                       code=request.get("code") or "?",
                                       date=_day(request.get("date"))))
    text = i18n.t(language, f"helpdesk.draft.registration.{state}", id=request["id"],
                  what=what, date=decided, reason=request.get("reason") or "-",
                  submitted=datetime.fromisoformat(request["created_at"]).date())
    return {"kind": "registration", "text": text}


# ---------------------------------------------------------------------------- mail out


def _day(value: Any) -> date | str:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return "?"


def helpdesk_from(uow: UnitOfWork) -> str:
    return formataddr((i18n.t("fr", "helpdesk.from_name"), uow.app.settings.helpdesk_address))


def _thread_facts(ticket: HelpdeskTicket, last_in: HelpdeskMessage | None,
                  uow: UnitOfWork) -> dict[str, Any]:
    """Who the mail is for and where it goes in the thread (only real Message-IDs: a mail
    that came without one is known by a digest, which no header may carry)."""
    references = " ".join(m.message_id for m in ticket.messages[-10:]
                          if m.message_id.startswith("<"))
    replied = last_in.message_id if last_in and last_in.message_id.startswith("<") else None
    return {"ticket": ticket.number, "subject": ticket.subject, "name": ticket.sender_name,
            "in_reply_to": replied,
            "references": references[-900:] or None, "from_address": helpdesk_from(uow),
            "reply_to": uow.app.settings.helpdesk_address}


def acknowledgements_sent(uow: UnitOfWork, address: str) -> int:
    return uow.session.scalar(select(func.count(HelpdeskMessage.id)).where(
        HelpdeskMessage.address == address, HelpdeskMessage.direction == "ack",
        HelpdeskMessage.created_at >= clock.now() - ACK_WINDOW)) or 0


def _acknowledge(uow: UnitOfWork, ticket: HelpdeskTicket, mail: IncomingMail) -> bool:
    """The acknowledgement, to the sender of this real message only, rate-limited."""
    address = mail.sender
    if address == uow.app.settings.helpdesk_address.lower() or \
            acknowledgements_sent(uow, address) >= ACK_LIMIT:
        uow.audit("helpdesk.ack_withheld", "helpdesk_ticket", ticket.id, actor=address)
        return False
    last_in = ticket.messages[-1] if ticket.messages else None
    queued = uow.enqueue_mail(address, ticket.language.value, "helpdesk_ack", {
        **_thread_facts(ticket, last_in, uow), "category": ticket.category,
        # to a sender we may not know, echo no display name and only the start of the subject
        "name": ticket.officer.display_name if ticket.officer else "",
        "subject": ticket.subject[:ACK_SUBJECT]})
    uow.session.add(HelpdeskMessage(ticket=ticket, direction="ack",
                                    message_id=queued.message_id, address=address,
                                    subject=ticket.subject[:MAX_SUBJECT], via="outbox"))
    return True


def _facts(ticket: HelpdeskTicket, excerpt: str = "") -> dict[str, Any]:
    return {"ticket": ticket.number, "subject": ticket.subject, "from": ticket.sender,
            "sender_name": ticket.sender_name, "category": ticket.category,
            "confidence": ticket.confidence, "language": ticket.language.value,
            "officer": ticket.officer.display_name if ticket.officer else None,
            "organisation": ticket.organisation.code if ticket.organisation else None,
            "draft": bool(ticket.draft), "excerpt": nrn.redact(" ".join(excerpt.split()))[:240]}


def _route(uow: UnitOfWork, ticket: HelpdeskTicket, mail: IncomingMail) -> int:
    """The new ticket in every chat channel configured for its category (or 'all')."""
    count = 0
    for route in uow.session.scalars(select(HelpdeskRoute).where(
            HelpdeskRoute.category.in_((ticket.category, "all"))).order_by(HelpdeskRoute.id)):
        count += uow.enqueue_chat(route.platform, route.target, route.language.value,
                                  "helpdesk_ticket", _facts(ticket, mail.text)) is not None
    return count


def _tell_assignee(uow: UnitOfWork, ticket: HelpdeskTicket) -> None:
    assignee = ticket.assignee
    assert assignee is not None
    for identity in assignee.identities:
        if identity.platform in ROUTE_PLATFORMS:
            uow.enqueue_chat(identity.platform, f"{identity.workspace}:{identity.user_ref}",
                             assignee.language.value, "helpdesk_mail_added", _facts(ticket))


# ---------------------------------------------------------------------------- staff


def require_staff(officer: Officer) -> None:
    require_active(officer)
    if not officer.has_role(ROLE):
        raise DomainError("helpdesk.only")


def get(uow: UnitOfWork, number: int) -> HelpdeskTicket:
    ticket = uow.session.get(HelpdeskTicket, number)
    if ticket is None:
        raise DomainError("helpdesk.unknown_ticket", number=number)
    return ticket


def tickets(uow: UnitOfWork, states: tuple[str, ...] | None = OPEN_STATES) -> list[HelpdeskTicket]:
    query = select(HelpdeskTicket).order_by(HelpdeskTicket.id)
    if states is not None:
        query = query.where(HelpdeskTicket.state.in_(states))
    return list(uow.session.scalars(query))


def message_counts(uow: UnitOfWork, ids: list[int]) -> dict[int, int]:
    """Mails in each thread (received and sent, acknowledgements aside)."""
    if not ids:
        return {}
    rows = uow.session.execute(
        select(HelpdeskMessage.ticket_id, func.count(HelpdeskMessage.id))
        .where(HelpdeskMessage.ticket_id.in_(ids), HelpdeskMessage.direction != "ack")
        .group_by(HelpdeskMessage.ticket_id))
    return {ticket_id: count for ticket_id, count in rows}


def take(uow: UnitOfWork, staff: Officer, number: int) -> HelpdeskTicket:
    require_staff(staff)
    ticket = get(uow, number)
    ticket.assignee = staff
    if ticket.state in ("new", "closed"):
        ticket.state = "assigned"
        ticket.closed_at = None
    ticket.updated_at = clock.now()
    uow.audit("helpdesk.ticket_taken", "helpdesk_ticket", ticket.id, staff)
    return ticket


def close(uow: UnitOfWork, staff: Officer, number: int) -> HelpdeskTicket:
    require_staff(staff)
    ticket = get(uow, number)
    if ticket.state != "closed":
        ticket.state, ticket.closed_at = "closed", clock.now()
        ticket.updated_at = clock.now()
        uow.audit("helpdesk.ticket_closed", "helpdesk_ticket", ticket.id, staff)
    return ticket


def answer(uow: UnitOfWork, staff: Officer, number: int, text: str | None) -> HelpdeskMessage:
    """Mail an answer to the ticket's sender, in the thread, with the tag: the text given, or
    the draft when none is (one click). Nothing is ever sent to anybody else."""
    require_staff(staff)
    ticket = get(uow, number)
    body = (text or "").strip() or (ticket.draft or {}).get("text", "")
    if not body:
        raise DomainError("helpdesk.nothing_to_send", number=number)
    last_in = next((m for m in reversed(ticket.messages) if m.direction == "in"), None)
    queued = uow.enqueue_mail(ticket.sender, ticket.language.value, "helpdesk_answer", {
        **_thread_facts(ticket, last_in, uow), "text": body[:MAX_BODY],
        "staff": staff.display_name})
    message = HelpdeskMessage(ticket=ticket, direction="out", message_id=queued.message_id,
                              address=ticket.sender, subject=ticket.subject[:MAX_SUBJECT],
                              body=body[:MAX_BODY], via="outbox", officer=staff)
    uow.session.add(message)
    if ticket.assignee_id is None:
        ticket.assignee = staff
    ticket.state = "answered"
    ticket.updated_at = clock.now()
    uow.audit("helpdesk.answered", "helpdesk_ticket", ticket.id, staff,
              draft=not (text or "").strip())
    return message


def thread(uow: UnitOfWork, number: int) -> Thread:
    ticket = get(uow, number)
    return Thread(ticket, list(ticket.messages))


def as_json(ticket: HelpdeskTicket, messages: int) -> dict[str, Any]:
    return {"id": ticket.id, "number": ticket.number, "subject": ticket.subject,
            "from": ticket.sender, "language": ticket.language.value,
            "category": ticket.category, "confidence": ticket.confidence,
            "state": ticket.state, "messages": messages,
            "officer": ticket.officer.email if ticket.officer else None,
            "organisation": ticket.organisation.code if ticket.organisation else None,
            "assignee": ticket.assignee.email if ticket.assignee else None,
            "created_at": ticket.created_at.isoformat()}


def detail_json(item: Thread) -> dict[str, Any]:
    ticket = item.ticket
    return {**as_json(ticket, sum(m.direction != "ack" for m in item.messages)),
            "sender_name": ticket.sender_name, "context": ticket.context, "draft": ticket.draft,
            "thread": [{"direction": m.direction, "message_id": m.message_id,
                        "address": m.address, "subject": m.subject, "body": m.body,
                        "attachments": m.attachments, "via": m.via,
                        "by": m.officer.email if m.officer else None,
                        "at": m.created_at.isoformat()} for m in item.messages]}


# ---------------------------------------------------------------------------- routes


def set_route(uow: UnitOfWork, category: str, platform: str, target: str,
              language: str = "fr") -> HelpdeskRoute:
    if category not in ROUTE_CATEGORIES:
        raise DomainError("helpdesk.unknown_category", category=category,
                          categories=", ".join(ROUTE_CATEGORIES))
    workspace, sep, where = target.partition(":")
    if platform not in ROUTE_PLATFORMS or not sep or not workspace or not where:
        raise DomainError("bad_channel", channel=target)
    found = uow.session.scalar(select(HelpdeskRoute).where(
        HelpdeskRoute.category == category, HelpdeskRoute.platform == platform,
        HelpdeskRoute.target == target))
    if found is None:
        found = HelpdeskRoute(category=category, platform=platform, target=target)
        uow.session.add(found)
    found.language = Language(i18n.language_or_default(language))
    uow.audit("helpdesk.route_set", "helpdesk_route", None, actor="operator",
              category=category, platform=platform, target=target)
    return found


def remove_route(uow: UnitOfWork, category: str, platform: str, target: str) -> bool:
    found = uow.session.scalar(select(HelpdeskRoute).where(
        HelpdeskRoute.category == category, HelpdeskRoute.platform == platform,
        HelpdeskRoute.target == target))
    if found is None:
        return False
    uow.session.delete(found)
    uow.audit("helpdesk.route_removed", "helpdesk_route", None, actor="operator",
              category=category, platform=platform, target=target)
    return True


def routes(uow: UnitOfWork) -> list[HelpdeskRoute]:
    return list(uow.session.scalars(select(HelpdeskRoute).order_by(HelpdeskRoute.category,
                                                                   HelpdeskRoute.id)))

