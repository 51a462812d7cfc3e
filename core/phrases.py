"""The sentences every front end shares, built from facts in the officer's language.

Chat flows, request cards, mail replies and the Teams and Slack senders all describe a
session, a person or a decision the same way because they all call these functions; the
words themselves live in the catalogues (templates/i18n/).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from core import i18n
from core.models import Collaborator, EnrollmentState, RegistrationRequest, RequestState
from core.services import requests

if TYPE_CHECKING:
    from core.services.catalog import SessionView


def seats_left(language: str, free: int) -> str:
    return i18n.t(language, "seats.remaining", free, free=free)


def session_label(language: str, view: SessionView) -> str:
    """'12/03/2027 — Bruxelles — 3 places libres': what tells two sessions apart."""
    seats = (i18n.t(language, "seats.full", waiting=view.waitlisted) if view.free == 0
             else i18n.t(language, "seats.free", view.free, free=view.free))
    return i18n.t(language, "session.label", date=view.starts_on, place=view.place,
                  seats=seats, code=view.training)


def person_label(language: str, person: Collaborator) -> str:
    """Name, organisation, department, birth year and masked number: what tells homonyms
    apart without showing the national register number."""
    return i18n.t(language, "person.label", person.sex, name=person.display_name,
                  organisation=person.organisation.code, department=person.department or "-",
                  year=person.birth_year or "?", nrn=person.nrn_masked)


def request_line(language: str, request: RegistrationRequest) -> str:
    """'#12 Dupont Marie <…> (BOSA) — wishes to attend BOSA-101 on 12/03/2027', from what
    the request holds read defensively: a malformed stored row still gets a line."""
    wish = requests.wanted(request)
    person = requests.typed_person(request)
    if wish.kind == "mailing_list":
        what = i18n.t(language, "requests.wants_mailing_list")
    else:
        what = i18n.t(language, "requests.wants_session", code=wish.training_code or "?",
                      date=wish.session_start or "?")
    return i18n.t(language, "requests.item", id=request.id,
                  name=f"{person['surname']} {person['given_names']}".strip() or "?",
                  email=person["email"] or "-", organisation=request.organisation.code,
                  what=what)


def decided_line(language: str, request: RegistrationRequest) -> str:
    """'Approved by X on …' under a card that can no longer be clicked."""
    key = "card.approved_by" if request.state == RequestState.APPROVED else "card.refused_by"
    return i18n.t(language, key, by=_decider(request), at=request.decided_at or "?",
                  reason=request.reason or "-")


def decision_facts(decision: requests.Decision) -> dict[str, Any]:
    """A decision as plain facts (JSON), for a notification worded later by its sender."""
    request = decision.request
    facts: dict[str, Any] = {"request_id": request.id, "approved": decision.approved,
                             "changed": decision.changed}
    if not decision.changed:
        facts.update(state=str(request.state), by=_decider(request),
                     at=request.decided_at.isoformat() if request.decided_at else None)
    elif decision.outcome is None:
        facts["email"] = requests.typed_person(request)["email"] or "-"
    else:
        enrollment = decision.outcome.enrollment
        facts.update(name=enrollment.collaborator.display_name, sex=enrollment.collaborator.sex,
                     code=enrollment.session.training.code,
                     date=enrollment.session.starts_on.isoformat(),
                     waitlisted=enrollment.state == EnrollmentState.WAITLISTED)
    return facts


def decision_text(language: str, decision: requests.Decision | dict[str, Any]) -> str:
    """The one line an officer can trust after deciding a request (or finding it decided)."""
    facts = decision if isinstance(decision, dict) else decision_facts(decision)
    request_id = facts["request_id"]
    if not facts["changed"]:
        at = datetime.fromisoformat(facts["at"]) if facts.get("at") else "?"
        return i18n.t(language, f"error.request_already_{facts['state']}", id=request_id,
                      by=facts["by"], at=at)
    if not facts["approved"]:
        return i18n.t(language, "requests.refused", id=request_id)
    if "email" in facts:
        return i18n.t(language, "requests.approved_list", id=request_id, email=facts["email"])
    key = "requests.approved_waitlisted" if facts["waitlisted"] else "requests.approved_enrolled"
    return i18n.t(language, key, facts["sex"], id=request_id, name=facts["name"],
                  code=facts["code"], date=date.fromisoformat(facts["date"]))


def notification(language: str, template: str, context: dict[str, Any]) -> str:
    """The text of a chat notification queued as facts (outbox rows other than cards)."""
    if template == "request_decided":
        return decision_text(language, context)
    if template in ("access_decided", "access_reminder"):
        return access_notice(language, context)
    if template == "access_request_new":
        context = {**context, "kind": access_kind(language, context.get("kind", "access"))}
    if template.startswith("helpdesk_"):
        return helpdesk_notice(language, template, context)
    return i18n.t(language, f"notify.{template}", **context)


def helpdesk_notice(language: str, template: str, facts: dict[str, Any]) -> str:
    """A new helpdesk ticket in its category's channel, or a new mail in a taken ticket."""
    who = facts.get("sender_name") or facts.get("from") or "?"
    if facts.get("organisation"):
        who = f"{who} ({facts['organisation']})"
    if template == "helpdesk_mail_added":
        return i18n.t(language, "helpdesk.notify.mail_added", ticket=facts["ticket"],
                      subject=facts.get("subject", ""), who=who)
    return i18n.t(language, "helpdesk.notify.ticket", ticket=facts["ticket"],
                  category=i18n.t(language, "helpdesk.category", facts["category"]),
                  confidence=round(float(facts.get("confidence", 0)) * 100),
                  subject=facts.get("subject", ""), who=who,
                  language=facts.get("language", "?"),
                  draft=i18n.t(language, "helpdesk.notify.draft") if facts.get("draft") else "",
                  excerpt=facts.get("excerpt") or "")


def access_kind(language: str, kind: str) -> str:
    return i18n.t(language, f"access.kind_{kind}")


def access_notice(language: str, facts: dict[str, Any]) -> str:
    """What the person reads of their own access: granted until, refused, ends in N days."""
    until = date.fromisoformat(facts["valid_until"]) if facts.get("valid_until") else "-"
    if "approved" in facts:
        if facts["approved"]:
            return i18n.t(language, "access.reminder.approved", date=until)
        return i18n.t(language, "access.reminder.refused", reason=facts.get("reason") or "-")
    if facts.get("expired"):
        return i18n.t(language, "access.reminder.ended", date=until)
    days = int(facts.get("days") or 0)
    return i18n.t(language, "access.reminder.soon", days, days=days, date=until)


def access_line(language: str, request: Any) -> str:
    """'#3 — renewal — Given Surname <mail> — BOSA, FIN': one access request in a listing."""
    return i18n.t(language, "access.item", id=request.id, kind=access_kind(language, request.kind),
                  name=request.display_name, email=request.email,
                  organisations=", ".join(request.organisation_codes) or "-")


def access_decision_text(language: str, decision: Any) -> str:
    """The one line an administrator trusts after deciding (or finding it decided)."""
    request = decision.request
    if not decision.changed:
        return i18n.t(language, "access.already_decided", id=request.id,
                      state=i18n.t(language, f"access.state_{request.state}"),
                      by=request.decided_by.display_name if request.decided_by else "?",
                      at=request.decided_at or "?")
    if not decision.approved:
        return i18n.t(language, "access.refused", id=request.id)
    return i18n.t(language, "access.approved", id=request.id, name=request.display_name,
                  date=request.valid_until or "-")


def _decider(request: RegistrationRequest) -> str:
    return request.decided_by.display_name if request.decided_by else "?"
