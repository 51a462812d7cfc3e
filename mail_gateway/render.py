"""Outbound mail: an outbox message rendered into the RFC 5322 message that will be sent.

Text and HTML parts come from templates/mail/NAME.LANG.{txt,html}; enrollment mails carry an
iCalendar invitation (METHOD:REQUEST) and cancellations the matching METHOD:CANCEL (same UID).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from functools import cache
from typing import Any

from icalendar import Calendar, Event
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from core import i18n, phrases
from core.config import TEMPLATES_DIR, Settings
from core.services.outbox import Claimed

ICS_METHOD = {"enrollment_confirmed": "REQUEST", "unenrolled": "CANCEL"}
HEADER_PRODUCT = "ITMA Assistant"


@pass_context
def _day(context: Context, value: str | date | None) -> str:
    """`{{ start | day }}`: an ISO date of the row's facts, written the language's way."""
    if value is None:
        return ""
    return i18n.day(context.get("language", "fr"), date.fromisoformat(str(value)[:10]))


@pass_context
def _moment(context: Context, value: str | None) -> str:
    """`{{ decided_at | moment }}`: an ISO time, in Belgian local time."""
    if not value:
        return ""
    return i18n.moment(context.get("language", "fr"), datetime.fromisoformat(str(value)))


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR / "mail")),
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      keep_trailing_newline=True)
    env.filters["day"] = _day
    env.filters["moment"] = _moment
    return env


def subject(template: str, language: str, context: dict[str, Any]) -> str:
    """The subject, rendered at delivery from the row's facts like the body."""
    return i18n.t(i18n.language_or_default(language), f"mail.{template}.subject", **context)


def _template(name: str, language: str, kind: str) -> str:
    for candidate in (language, "en", "fr"):
        path = TEMPLATES_DIR / "mail" / f"{name}.{candidate}.{kind}"
        if path.exists():
            return path.name
    raise LookupError(f"no mail template {name}.*.{kind}")


def reply_address(settings: Settings, token: str) -> str:
    return f"reply+{token}@{settings.mail_domain}"


def bounce_address(settings: Settings) -> str:
    return f"bounces@{settings.mail_domain}"


def calendar(message: Claimed, settings: Settings) -> bytes | None:
    method = ICS_METHOD.get(message.template)
    context = message.context
    if message.template == "track_changed" and context.get("modules"):
        method = "CANCEL" if context.get("cancelled") else "REQUEST"
        return _events(message, settings, method, context["modules"])
    if method is None or not context.get("enrollment_id") or not context.get("start"):
        return None
    return _events(message, settings, method, [context])


def _events(message: Claimed, settings: Settings, method: str,
            items: list[dict[str, Any]]) -> bytes:
    """One calendar, one event per session (a track change concerns several modules)."""
    cal = Calendar()
    cal.add("prodid", f"-//{HEADER_PRODUCT}//{settings.mail_domain}//")
    cal.add("version", "2.0")
    cal.add("method", method)
    for context in items:
        cal.add_component(_event(message, settings, method, context))
    return cal.to_ical()


def _event(message: Claimed, settings: Settings, method: str, context: dict[str, Any]) -> Event:
    event = Event()
    event.add("uid", f"enrollment-{context['enrollment_id']}@{settings.mail_domain}")
    event.add("summary", f"{context.get('code', '')} – {context.get('title', '')}")
    event.add("location", context.get("place", ""))
    start = date.fromisoformat(context["start"])
    end = date.fromisoformat(context.get("end") or context["start"])
    event.add("dtstart", start)
    event.add("dtend", end + timedelta(days=1))
    event.add("dtstamp", datetime.now().astimezone())
    event.add("sequence", 1 if method == "CANCEL" else 0)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    _name, organizer = parseaddr(settings.mail_from)
    event.add("organizer", f"mailto:{organizer}")
    event.add("attendee", f"mailto:{message.to}")
    return event


def build(message: Claimed, settings: Settings) -> EmailMessage:
    language = i18n.language_or_default(message.language)
    context: dict[str, Any] = {"app_name": HEADER_PRODUCT, "language": language,
                               "name": "", **message.context}
    if isinstance(context.get("decision"), dict):
        context["outcome_text"] = phrases.decision_text(language, context["decision"])
    if message.template in ("access_decided", "access_reminder"):
        context["notice"] = phrases.access_notice(language, message.context)
    token = context.get("reply_token")
    if token:
        context["reply_address"] = reply_address(settings, token)
    env = environment()
    mail = EmailMessage()
    mail["From"] = context.get("from_address") or settings.mail_from  # helpdesk mail: its own
    mail["To"] = formataddr((context.get("name") or "", message.to))
    mail["Subject"] = subject(message.template, language, message.context)
    mail["Message-ID"] = message.message_id
    mail["Date"] = formatdate(localtime=True)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail["X-ITMA-Outbox"] = str(message.id)
    mail["Return-Path"] = f"<{bounce_address(settings)}>"
    if token:
        mail["Reply-To"] = context["reply_address"]
    elif context.get("reply_to"):
        mail["Reply-To"] = context["reply_to"]
    if context.get("in_reply_to"):
        mail["In-Reply-To"] = context["in_reply_to"]
        mail["References"] = context.get("references") or context["in_reply_to"]
    mail.set_content(env.get_template(_template(message.template, language, "txt"))
                     .render(context))
    mail.add_alternative(env.get_template(_template(message.template, language, "html"))
                         .render(context), subtype="html")
    ics = calendar(message, settings)
    if ics is not None:
        method = ICS_METHOD.get(message.template) or (
            "CANCEL" if message.context.get("cancelled") else "REQUEST")
        mail.add_attachment(ics, maintype="text", subtype="calendar",
                            filename="invitation.ics" if method == "REQUEST" else "cancel.ics",
                            params={"method": method, "charset": "utf-8"})
    return mail
