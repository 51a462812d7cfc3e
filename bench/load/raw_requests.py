"""Submit and approve of bench/load/raw.py: requests.submit (with notify_officers) and
approval.approve, statement for statement, in plain psycopg.

Submit reads what the ORM path reads (the request by its idempotency key, the organisation,
the wish's training and session, the officers with their chat accounts, the Teams channels)
and writes the request, its audit row, one reply token and one mail per officer; the writes
whose id nobody reads go without RETURNING, queued until the COMMIT. Approve decides the
request with the guarded UPDATE, inserts the new person unless their national number is known,
takes the seat by the wish (training code + date) and writes the enrollment's rows with the
collaborator.added and request.approved audit rows in one multi-row INSERT.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Json

from bench.load import raw_sql as Q
from bench.load.raw import (
    Refused,
    _now,
    _title,
    audit_row,
    new_person_params,
    typed,
    wish_of,
)
from core import clock, i18n, nrn
from core.errors import DomainError
from core.services import intake, reply_tokens

if TYPE_CHECKING:
    from bench.load.raw import RawWorker

TOKEN_VALIDITY = timedelta(days=30)  # core.services.reply_tokens.VALIDITY


def submit(w: RawWorker, payload: dict[str, Any]) -> tuple[int, str]:
    registration = intake.parse(payload)
    key = registration.external_id
    if not key:
        raise RuntimeError("the bench's payloads carry an external id")
    existing = w.one(Q.REQUEST_BY_EXTERNAL_ID, {"external_id_1": key})
    if existing is not None:
        return int(existing[0]), "duplicate"
    person = registration.person_record()
    org = w.one(Q.ORGANISATION_BY_CODE, {"code_1": person["organisation"].upper()})
    if org is None:
        raise DomainError("unknown_organisation", code=person["organisation"])
    org_id, org_code, org_names, org_languages, slack_channel = org[:5]
    person["organisation"] = org_code
    number = registration.person.national_register_number
    wants = registration.wants_record()
    now = _now()
    request_id = w.one(Q.INSERT_REQUEST, {
        "external_id": key, "organisation_id": org_id, "person": Json(person),
        "nrn_encrypted": w.vault.encrypt(nrn.parse(number)) if number else None,
        "wants": Json(wants), "state": "pending", "decided_by_id": None, "decided_at": None,
        "reason": None, "created_at": now})[0]
    w.run(Q.INSERT_AUDIT, audit_row(None, "intake", "request.submitted", "request", request_id,
                                    organisation=org_code, wants=wants["kind"]))
    notify_officers(w, request_id, person, number is not None, wants,
                    (org_id, org_code, org_names or {}, org_languages, slack_channel))
    return int(request_id), "submitted"


def notify_officers(w: RawWorker, request_id: int, person: dict[str, Any], nrn_given: bool,
                    wants: dict[str, Any], org: tuple[Any, ...]) -> None:
    """requests.notify_officers: a reply token and a mail per officer with valid access, a
    chat message per linked account and channel of a platform this deployment delivers."""
    org_id, org_code, org_names, org_languages, slack_channel = org
    typed_person = typed(person)
    code, start = wish_of(wants)
    training = w.one(Q.TRAINING_BY_CODE, {"code_2": code})
    session = w.one(Q.SESSION_BY_TRAINING_AND_START, {
        "training_id_1": training[0], "starts_on_1": start}) if training else None
    officers: dict[int, tuple[Any, list[tuple[str, str, str]]]] = {}
    for row in w.rows(Q.RECIPIENTS, {"org": org_id, "today": clock.today()}):
        officers.setdefault(row[0], (row, []))[1].extend(
            [(row[5], row[6], row[7])] if row[5] is not None else [])
    now = _now()
    requester = f"{typed_person['surname']} {typed_person['given_names']}".strip()
    chat = {"request_id": request_id, "organisation": org_code, "name": requester}
    tokens, mails = [], []
    for (officer_id, email, language, given_names, surname, *_), identities in officers.values():
        token = reply_tokens.new_token()
        tokens.append({"token_hash": reply_tokens.token_hash(token), "officer_id": officer_id,
                       "request_id": request_id, "kind": "registration",
                       "access_request_id": None, "created_at": now,
                       "expires_at": now + TOKEN_VALIDITY, "used_at": None})
        context = {
            "request_id": request_id, "organisation": org_code, "requester": requester,
            "person": {"surname": typed_person["surname"],
                       "given_names": typed_person["given_names"],
                       "email": typed_person["email"] or None,
                       "language": typed_person["language"] or None, "nrn_given": nrn_given},
            "wants": {"kind": "session", "training_code": code,
                      "session_start": start.isoformat(),
                      "title": _title(training[2], language, training[1]) if training else None,
                      "place": session[4] if session else None},
            "name": f"{given_names} {surname}",
            "organisation_name": org_names.get(language) or org_names.get("fr") or org_code,
            "reply_token": token}
        mails.append(_outbox("mail", email, language, "request_new", context,
                             f"{uuid.uuid4().hex[:16]}.{token}", w.domain, now))
        mails += [_outbox(p, f"{ws}:{user}", language, "request_new", chat, uuid.uuid4().hex,
                          w.domain, now) for p, ws, user in identities if p in w.channels]
    language = org_languages.split(",")[0]
    if slack_channel and "slack" in w.channels:
        mails.append(_outbox("slack", slack_channel, language, "request_new", chat,
                             uuid.uuid4().hex, w.domain, now))
    for tenant, conversation in w.rows(Q.TEAMS_CHANNELS, {"organisation_id_1": org_id,
                                                          "kind_1": "channel"}):
        if "teams" in w.channels:
            mails.append(_outbox("teams", f"{tenant}:{conversation}", language, "request_new",
                                 chat, uuid.uuid4().hex, w.domain, now))
    if mails:
        w.many(Q.INSERT_OUTBOX, mails)
    if tokens:
        w.many(Q.INSERT_REPLY_TOKEN, tokens)


def _outbox(channel: str, to: str, language: str, template: str, context: dict[str, Any],
            local: str, domain: str, now: Any) -> dict[str, Any]:
    return {"channel": channel, "to_address": to,
            "language": i18n.language_or_default(language), "template": template,
            "subject": "", "context": Json(context), "message_id": f"<{local}@{domain}>",
            "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}


def approve(w: RawWorker, officer_id: int, request_id: int) -> tuple[int, str]:
    actor, orgs = w.authority(officer_id)
    row = w.one(Q.in_orgs(Q.DECIDE, len(orgs)), {
        "state": "approved", "oid": officer_id, "now": _now(), "reason": None,
        "rid": request_id, "state_1": "pending", **Q.orgs_params(orgs)})
    if row is None:
        raise Refused("guard", wrote=False)
    organisation_id, person, encrypted, wants = row[2], row[3], row[4], row[5]
    organisation_code = row[11]
    code, start = wish_of(wants if isinstance(wants, dict) else {})
    approved = audit_row(officer_id, actor, "request.approved", "request", request_id,
                         via="chat", reason=None)
    if encrypted is None:
        raise DomainError("request_needs_nrn", id=request_id)
    found = w.one(Q.NEW_PERSON, new_person_params(
        w.vault, typed(person), w.vault.decrypt(encrypted), (organisation_id,
                                                             organisation_code)))
    if found is None:  # a known national number: the ORM path compares the names
        raise Refused("known_person")
    person_id = found[0]
    added = audit_row(officer_id, actor, "collaborator.added", "collaborator", person_id,
                      organisation=organisation_code)
    eid, session, facts = w.take_seat(orgs, person_id, {"code": code, "start": start},
                                      wish=True)
    w.write_changes(officer_id, actor, [(eid, None, "enrolled", None, session, facts,
                                         "enrollment_confirmed", None)], [added], [approved])
    return eid, "approved:enrolled"
