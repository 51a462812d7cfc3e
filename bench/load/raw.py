"""The bench's unit of work in plain psycopg 3: the ceiling of a Python client with our SQL.

Same mix and proportions as bench/load/worker.py (its shares, its plan, its request payloads),
same database (bench/load/world.py), same rows written and same rules enforced, by the very
statements SQLAlchemy sends today (bench/load/raw_sql.py, hard-coded text): the guarded seat
UPDATE, the enrollment INSERT, the history, audit and outbox rows; approve's request decision,
new person, seat, enrollment and rows; submit's request, audit, reply tokens and officers'
mails. What is left out is everything between our code and the wire: no SQLAlchemy, no ORM,
no unit of work — only psycopg, its prepared statements (``prepare=True``) and its pipeline.

The connection stays in pipeline mode: a statement whose result is read costs one round trip
(the fetch flushes what was queued before it), the others ride along, and the COMMIT sends the
last writes with it. Round trips: enroll 4 (authority, seat, enrollment, rows + COMMIT),
unenroll 4 (authority, seat, cancel + offer, rows + COMMIT), approve 6, submit 8.

Where the services would word a refusal through the ORM path (a guard matched nothing: already
enrolled, another session of the training, a known national number), this worker records
``refused:guard`` (or ``refused:known_person``) without the ORM path's reads, and ends the
transaction with COMMIT when nothing was written yet, ROLLBACK otherwise (see ``Refused``) —
1–5 % of enrolls in the bench's runs, so the refusal wording is not counted here. The non-SQL
work stays: the intake schema, the NRN vault (AES-GCM, HMAC), the reply token, the mail
contexts and Message-IDs.
"""

from __future__ import annotations

import contextlib
import random
import time
import traceback
import uuid
from datetime import date, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Json

from bench.load import raw_sql as Q
from bench.load.worker import (
    ENROLL_SHARE,
    UNENROLL_SHARE,
    Record,
    Worker,
)
from bench.load.worker import run as worker_run
from core import clock, i18n, nrn
from core.config import load_settings
from core.errors import DomainError
from core.matching import search_key
from core.services.collaborators import NewCollaborator, _validated

OFFER_PERIOD = timedelta(hours=72)  # core.services.enrollment.OFFER_PERIOD
SEAT_HOLDING = ("option", "enrolled", "offered")
ACTIVE = ("option", "enrolled", "waitlisted", "offered")
RULES = {"kind_1": "on_demand", "state_1": "cancelled",
         **{f"state_2_{n}": s for n, s in enumerate(ACTIVE, 1)},
         "state_3_1": "option", "state_3_2": "offered", "seats_taken_1": 1}


class Refused(Exception):
    """A guard matched nothing (see the module's docstring). ``wrote``: whether the transaction
    wrote anything before; if not it ends with COMMIT, which is the same for the database and
    keeps the connection's prepared statements — psycopg deallocates all of them at a ROLLBACK
    (its own rule, ``_preparing.py``), and every statement is then parsed and custom-planned
    again: about a third of the server's time per transaction in ``bench.load.statements``."""

    def __init__(self, code: str, *, wrote: bool = True) -> None:
        super().__init__(code)
        self.wrote = wrote


def _now() -> Any:
    return clock.now().replace(tzinfo=None)  # UTCDateTime stores naive UTC


def _title(titles: dict[str, Any] | None, language: str, code: str) -> str:
    titles = titles or {}
    return titles.get(language) or titles.get("fr") or code


class RawWorker:
    """One process, one psycopg connection in pipeline mode, the mix of worker.Worker."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from bench.load.world import settings_env

        self.spec = spec
        self.rng = random.Random(spec["seed"])
        settings = load_settings(settings_env(Path(spec["home"]), spec["url"]))
        self.vault = nrn.NRNVault(settings.secret_key)
        self.domain = settings.mail_domain
        self.channels = {"mail"} | ({"slack"} if settings.slack_enabled else set()) \
            | ({"teams"} if settings.teams_enabled else set())
        self.conn = psycopg.connect(spec["url"].replace("postgresql+psycopg://", "postgresql://"))
        self.conn.prepare_threshold = 0  # executemany too: every statement prepared once
        self.stack = contextlib.ExitStack()
        self.pipeline = self.stack.enter_context(self.conn.pipeline())
        self.officers: list[dict[str, Any]] = spec["plan"]
        self.made: list[tuple[int, int]] = []
        self.records: list[Record] = []
        self.statements = 0
        self.origin = 0.0
        self.errors: list[str] = []
        # the request payloads: worker.Worker's own, drawn from this worker's generator
        self.payloads = Worker.__new__(Worker)
        self.payloads.spec, self.payloads.rng, self.payloads.serial = spec, self.rng, 0
        self.payloads.taken = set()

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.stack.close()
        self.conn.close()

    # -- the wire --------------------------------------------------------------------------------

    def run(self, sql: str, params: dict[str, Any]) -> psycopg.Cursor[Any]:
        """Queue one prepared statement (sent with the next read or the COMMIT)."""
        self.statements += 1
        cursor = self.conn.cursor()
        cursor.execute(sql, params, prepare=True)
        return cursor

    def one(self, sql: str, params: dict[str, Any]) -> Any:
        """One prepared statement whose row is needed now: one round trip."""
        return self.run(sql, params).fetchone()

    def rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return self.run(sql, params).fetchall()

    def many(self, sql: str, params: list[dict[str, Any]]) -> None:
        if len(params) == 1:
            self.run(sql, params[0])
            return
        self.statements += 1
        self.conn.cursor().executemany(sql, params)

    def authority(self, officer_id: int) -> tuple[str, tuple[int, ...]]:
        found = self.rows(Q.LOAD_AUTHORITY, {"oid": officer_id})
        if not found:
            raise RuntimeError(f"officer {officer_id} is gone")
        return found[0][1], tuple(r[3] for r in found if r[3] is not None)

    def _reset(self) -> None:
        """After an error: leave the pipeline (its sync ends the aborted state), roll back."""
        with contextlib.suppress(psycopg.Error):
            self.stack.close()
        with contextlib.suppress(psycopg.Error):
            self.conn.rollback()
        self.stack = contextlib.ExitStack()
        self.pipeline = self.stack.enter_context(self.conn.pipeline())

    def _timed(self, kind: str, work: Any) -> Any:
        before = self.statements
        cpu = time.thread_time()
        start = time.perf_counter()
        result = None
        try:
            result, outcome = work()
            self.conn.commit()
        except (Refused, DomainError) as exc:
            if isinstance(exc, Refused) and not exc.wrote:
                self.conn.commit()
            else:
                self.conn.rollback()
            outcome = f"refused:{exc.code if isinstance(exc, DomainError) else exc}"
        except Exception as exc:
            outcome = f"error:{type(exc).__name__}"
            if len(self.errors) < 5:
                self.errors.append(traceback.format_exc(limit=3))
            self._reset()
        end = time.perf_counter()
        self.records.append((kind, outcome, start - self.origin, (end - start) * 1000,
                             self.statements - before, (time.thread_time() - cpu) * 1000))
        return result

    # -- rows of a change: history, audit, the participant's mail (booking.write_changes) --------

    def write_changes(self, officer_id: int, actor: str, changes: list[tuple[Any, ...]],
                      audits_before: list[dict[str, Any]] = (),  # type: ignore[assignment]
                      audits_after: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        """changes: (enrollment id, from, to, reason, session facts, person facts, template,
        hold until). Queued: they go with the COMMIT."""
        now = _now()
        events, audits, mails = [], list(audits_before), []
        for eid, before, after, reason, session, person, template, until in changes:
            events.append({"enrollment_id": eid, "from_state": before, "to_state": after,
                           "at": now, "officer_id": officer_id, "reason": reason})
            audits.append(audit_row(officer_id, actor, f"enrollment.{after}", "enrollment", eid,
                                    session_id=session["id"], collaborator_id=person["id"],
                                    from_state=before, reason=reason))
            if person["email"]:
                mails.append(self._mail_row(eid, session, person, template, until, now))
        audits += audits_after
        self.many(Q.INSERT_EVENTS, events)
        self.many(Q.INSERT_AUDIT, audits)
        if mails:
            self.many(Q.INSERT_OUTBOX, mails)

    def _mail_row(self, eid: int, session: dict[str, Any], person: dict[str, Any],
                  template: str, until: Any, now: Any) -> dict[str, Any]:
        language = person["language"]
        return {
            "channel": "mail", "to_address": person["email"],
            "language": i18n.language_or_default(language), "template": template,
            "subject": "", "context": Json({
                "name": f"{person['given_names']} {person['surname']}",
                "given_names": person["given_names"], "code": session["code"],
                "title": _title(session["titles"], language, session["code"]),
                "start": session["starts_on"].isoformat(), "end": session["ends_on"].isoformat(),
                "place": session["place"], "enrollment_id": eid, "session_id": session["id"],
                "hold_expires_at": until.isoformat() if until else None}),
            "message_id": f"<{uuid.uuid4().hex}@{self.domain}>", "state": "pending",
            "attempts": 0, "next_attempt_at": now, "created_at": now}

    # -- enroll ----------------------------------------------------------------------------------

    def take_seat(self, orgs: tuple[int, ...], person_id: int, where: dict[str, Any],
                  wish: bool = False) -> tuple[int, dict[str, Any], dict[str, Any]]:
        """The guarded seat UPDATE and the enrollment INSERT (booking.enroll): the new
        enrollment's id, the session's and the person's facts."""
        now = _now()
        sql = Q.in_orgs(Q.TAKE_SEAT_BY_WISH if wish else Q.TAKE_SEAT_BY_ID, len(orgs))
        seat = self.one(sql, {**RULES, **where, **Q.orgs_params(orgs), "pid": person_id,
                              "today": clock.today(), "now": now})
        if seat is None:
            raise Refused("guard", wrote=wish)  # approve decided the request before
        sid, starts_on, ends_on, place, capacity, _taken, code, titles = seat[:8]
        surname, given_names, sex, email, language, cancelled_id = seat[8:]
        if cancelled_id is not None:
            again = self.run(Q.ENROLL_AGAIN, {"state": "enrolled", "hold_expires_at": None,
                                              "now": now, "eid": cancelled_id,
                                              "state_1": "cancelled"})
            self.pipeline.sync()
            if again.rowcount != 1:
                raise Refused("guard")
            eid = cancelled_id
        else:
            row = self.one(Q.NEW_ENROLLMENT, {"sid": sid, "pid": person_id,
                                              "param_1": "enrolled", "param_2": None,
                                              "now": now})
            if row is None:
                raise Refused("guard")
            eid = row[0]
        session = {"id": sid, "starts_on": starts_on, "ends_on": ends_on, "place": place,
                   "code": code, "titles": titles, "capacity": capacity}
        person = {"id": person_id, "surname": surname, "given_names": given_names,
                  "email": email, "language": str(language), "sex": sex,
                  "from": "cancelled" if cancelled_id is not None else None}
        return eid, session, person

    def enroll(self, officer: dict[str, Any]) -> None:
        person_id = self.rng.choice(officer["collaborators"])
        session_id = self.rng.choice(officer["sessions"])[0]

        def work() -> tuple[int, str]:
            actor, orgs = self.authority(officer["id"])
            eid, session, person = self.take_seat(orgs, person_id, {"sid": session_id})
            self.write_changes(officer["id"], actor, [(eid, person["from"], "enrolled", None,
                                                       session, person,
                                                       "enrollment_confirmed", None)])
            return eid, "enrolled"

        made = self._timed("enroll", work)
        if made is not None:
            self.made.append((officer["id"], made))

    # -- unenroll --------------------------------------------------------------------------------

    def unenroll(self) -> None:
        index = self.rng.randrange(len(self.made))
        self.made[index], self.made[-1] = self.made[-1], self.made[index]
        officer_id, enrollment_id = self.made.pop()

        def work() -> tuple[None, str]:
            actor, orgs = self.authority(officer_id)
            now = _now()
            seat = self.one(Q.in_orgs(Q.FREE_SEAT, len(orgs)), {
                "eid": enrollment_id, "today": clock.today(), "now": now,
                **{f"param_1_{n}": s for n, s in enumerate(SEAT_HOLDING, 1)},
                "param_2": 1, "param_3": 0,
                **{f"state_1_{n}": s for n, s in enumerate(ACTIVE, 1)},
                "state_2_1": "option", "state_2_2": "offered", **Q.orgs_params(orgs)})
            if seat is None:
                raise Refused("guard", wrote=False)
            sid, starts_on, ends_on, place, capacity, taken, code, titles = seat[:8]
            surname, given_names, _sex, email, language, person_id, from_state = seat[8:]
            session = {"id": sid, "starts_on": starts_on, "ends_on": ends_on, "place": place,
                       "code": code, "titles": titles}
            person = {"id": person_id, "surname": surname, "given_names": given_names,
                      "email": email, "language": str(language)}
            cancel = self.run(Q.CANCEL, {"state": "cancelled", "hold_expires_at": None,
                                         "now": now, "eid": enrollment_id, "was": from_state})
            offered = None
            until = clock.now() + OFFER_PERIOD  # aware: the mail shows it with its offset
            if from_state in SEAT_HOLDING and taken < capacity:  # read with the cancel's answer
                offered = self.one(Q.OFFER_TO_FIRST, {
                    "state": "offered", "offer_until": until.replace(tzinfo=None), "now": now,
                    "sid": sid,
                    "state_1": "waitlisted", "param_1": 1})
            else:
                self.pipeline.sync()
            if cancel.rowcount != 1:
                raise Refused("guard")
            changes: list[tuple[Any, ...]] = [(enrollment_id, from_state, "cancelled", "bench",
                                               session, person, "unenrolled", None)]
            if offered is not None:
                self.run(Q.MOVE_SEATS, {"sid": sid, "delta": 1})
                promoted = {"id": offered[1], "surname": offered[2], "given_names": offered[3],
                            "email": offered[5], "language": str(offered[6])}
                changes.append((offered[0], "waitlisted", "offered", "seat_freed", session,
                                promoted, "seat_offered", until))
            self.write_changes(officer_id, actor, changes)
            return None, "cancelled" + ("+promoted" if offered is not None else "")

        self._timed("unenroll", work)

    # -- submit, then approve --------------------------------------------------------------------

    def request(self, officer: dict[str, Any]) -> None:
        from bench.load.raw_requests import approve, submit

        payload = self.payloads._payload(officer)
        request_id = self._timed("submit", lambda: submit(self, payload))
        if request_id is None:
            return
        made = self._timed("approve", lambda: approve(self, officer["id"], request_id))
        if made is not None:
            self.made.append((officer["id"], made))

    def operation(self) -> None:
        officer = self.rng.choice(self.officers)
        draw = self.rng.random()
        if draw < ENROLL_SHARE or (draw < ENROLL_SHARE + UNENROLL_SHARE and not self.made):
            self.enroll(officer)
        elif draw < ENROLL_SHARE + UNENROLL_SHARE:
            self.unenroll()
        else:
            self.request(officer)


def audit_row(officer_id: int | None, actor: str, action: str, subject_type: str,
              subject_id: int, **details: Any) -> dict[str, Any]:
    return {"at": _now(), "officer_id": officer_id, "actor": actor, "action": action,
            "subject_type": subject_type, "subject_id": subject_id, "details": Json(details)}


def new_person_params(vault: nrn.NRNVault, person: dict[str, Any], number: str,
                      organisation: tuple[int, str]) -> dict[str, Any]:
    """collaborators._validated and _row: the same checks, the same values."""
    spec = NewCollaborator(nrn=number, surname=person["surname"],
                           given_names=person["given_names"], email=person["email"] or None,
                           language=person["language"] or "fr", organisation=organisation[1])
    parsed, language = _validated(spec)
    now = _now()
    values = {"nrn_hash": vault.lookup_hash(parsed), "nrn_encrypted": vault.encrypt(parsed),
              "nrn_masked": nrn.mask(parsed), "birth_year": parsed.birth_year,
              "sex": parsed.sex, "surname": spec.surname.strip(),
              "given_names": spec.given_names.strip(),
              "email": spec.email.strip().lower() if spec.email else None,
              "language": language, "organisation_id": organisation[0], "department": None,
              "active": True, "search_key": search_key(spec.surname, spec.given_names),
              "created_at": now, "updated_at": now}
    return {f"v_{k}": v for k, v in values.items()}


def typed(person: Any) -> dict[str, str]:
    """requests.typed_person, for the rows this bench writes (plain single-line text)."""
    person = person if isinstance(person, dict) else {}
    return {k: " ".join(v.split()) if isinstance(v, str) else ""
            for k, v in ((n, person.get(n)) for n in ("surname", "given_names", "email",
                                                       "language", "organisation"))}


def wish_of(wants: Any) -> tuple[str, date]:
    code, start = wants.get("training_code"), wants.get("session_start")
    if wants.get("kind") != "session" or not code or not start:
        raise DomainError("request_malformed")
    return code.upper(), date.fromisoformat(start)


def run(spec: dict[str, Any], conn: Connection) -> None:
    """The process target: worker.run's loop, with the plain-SQL worker."""
    worker_run(spec, conn, make=RawWorker)
