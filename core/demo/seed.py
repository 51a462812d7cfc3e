"""Seed a realistic demo database through the same models the services use.

Deterministic for a given seed and day: sessions are placed relative to today so the demo
always has a future, some sessions nearly full and one full with a waiting list.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from core import clock, matching, nrn
from core.app import App, UnitOfWork
from core.demo import catalogue, names, tracks
from core.errors import DomainError
from core.models import (
    Base,
    Collaborator,
    Enrollment,
    EnrollmentEvent,
    EnrollmentState,
    Language,
    Meta,
    Officer,
    Organisation,
    RegistrationRequest,
    TestResult,
    Training,
    TrainingKind,
    TrainingSession,
)
from core.services import catalog, requests
from core.services.access import NewOfficer, add_officer

STAFF = {"BOSA": 520, "FIN": 760, "JUS": 560, "ECO": 320, "IBZ": 240}


@dataclass(frozen=True)
class DemoOfficer:
    email: str
    name: str
    organisations: tuple[str, ...]
    language: str
    expired: bool = False


OFFICERS = (
    DemoOfficer("sophie.lambert@bosa.example", "Sophie Lambert", ("BOSA", "FIN"), "fr"),
    DemoOfficer("pieter.janssens@fin.example", "Pieter Janssens", ("FIN",), "nl"),
    DemoOfficer("emma.wouters@jus.example", "Emma Wouters", ("JUS",), "en"),
    DemoOfficer("anna.schmitz@ibz.example", "Anna Schmitz", ("IBZ",), "de"),
    DemoOfficer("luc.dubois@eco.example", "Luc Dubois", ("ECO",), "fr", expired=True),
)
DEMO_OFFICER = OFFICERS[0].email


def is_demo_or_empty(uow: UnitOfWork) -> bool:
    if uow.session.get(Meta, "demo") is not None:
        return True
    return uow.session.scalar(select(Organisation.id).limit(1)) is None


def reset(uow: UnitOfWork) -> None:
    """Empty every table (children first); only ever called on a demo or empty database."""
    if not is_demo_or_empty(uow):
        raise DomainError("not_a_demo_database")
    for table in reversed(Base.metadata.sorted_tables):
        uow.session.execute(delete(table))


def seed(app: App, rng_seed: int = 2026) -> dict[str, Any]:
    rng = random.Random(rng_seed)
    with app.unit_of_work() as uow:
        reset(uow)
        organisations = _organisations(uow)
        _trainings(uow, rng, organisations)
        _collaborators(uow, rng, organisations)
        for spec in OFFICERS:
            officer = add_officer(uow, NewOfficer(
                email=spec.email, name=spec.name, nrn=nrn.generate(rng),
                organisations=list(spec.organisations), language=spec.language), actor="demo")
            if spec.expired:
                officer.valid_until = clock.today() - timedelta(days=12)
        _enrollments(uow, rng)
        _requests(uow, rng)
        tracks.seed(uow, rng_seed)
        uow.session.add(Meta(key="demo", value=f"seed={rng_seed}"))
    return summary(app)


def _organisations(uow: UnitOfWork) -> dict[str, Organisation]:
    found = {}
    for code, titles, languages in catalogue.ORGANISATIONS:
        found[code] = Organisation(code=code, names=dict(titles), languages=",".join(languages))
        uow.session.add(found[code])
    uow.session.flush()
    return found


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _trainings(uow: UnitOfWork, rng: random.Random,
               organisations: dict[str, Organisation]) -> None:
    today = clock.today()
    for spec in catalogue.TRAININGS:
        training = Training(code=spec.code, titles=dict(spec.titles), kind=TrainingKind(spec.kind),
                            owner=organisations.get(spec.owner) if spec.owner else None)
        uow.session.add(training)
        count = 1 if spec.kind == "on_demand" else rng.choice((2, 3, 3, 4))
        offsets = sorted(rng.sample(range(7, 180), count))
        past = _weekday(today - timedelta(days=rng.randint(20, 120)))
        for offset in [None, *offsets]:
            start = past if offset is None else _weekday(today + timedelta(days=offset))
            place = (catalogue.PLACES[0] if spec.kind == "on_demand"
                     else rng.choice(catalogue.PLACES))
            uow.session.add(TrainingSession(
                training=training, starts_on=start,
                ends_on=start + timedelta(days=spec.days - 1), place=place,
                capacity=spec.capacity))
    uow.session.flush()


def _collaborators(uow: UnitOfWork, rng: random.Random,
                   organisations: dict[str, Organisation]) -> None:
    vault = uow.app.vault
    taken: set[str] = set()
    now = clock.now()
    rows = []
    for code, count in STAFF.items():
        domain = f"{code.lower()}.example"
        for person in names.people(rng, count):
            number = nrn.parse(nrn.generate(rng, birth_date=person.birth_date, sex=person.sex))
            rows.append({
                "nrn_hash": vault.lookup_hash(number), "nrn_encrypted": vault.encrypt(number),
                "nrn_masked": nrn.mask(number), "birth_year": number.birth_year,
                "sex": person.sex, "surname": person.surname,
                "given_names": person.given_names,
                "email": names.email_for(person, domain, taken),
                "language": Language(person.language),
                "organisation_id": organisations[code].id,
                "department": rng.choice(catalogue.DEPARTMENTS[code]), "active": True,
                "search_key": matching.search_key(person.surname, person.given_names),
                "created_at": now, "updated_at": now})
    seen: set[str] = set()
    unique = [r for r in rows if not (r["nrn_hash"] in seen or seen.add(str(r["nrn_hash"])))]
    uow.session.execute(insert(Collaborator), unique)


def _enroll(uow: UnitOfWork, session: TrainingSession, person_id: int, state: EnrollmentState,
            history: tuple[EnrollmentState, ...] = ()) -> None:
    enrollment = Enrollment(session_id=session.id, collaborator_id=person_id, state=state)
    uow.session.add(enrollment)
    uow.session.flush()
    previous = None
    for step in (*history, state):
        uow.session.add(EnrollmentEvent(enrollment_id=enrollment.id, from_state=previous,
                                        to_state=step, reason="demo seed"))
        previous = step


def _enrollments(uow: UnitOfWork, rng: random.Random) -> None:
    today = clock.today()
    people = list(uow.session.execute(select(Collaborator.id, Collaborator.organisation_id)))
    sessions = list(uow.session.scalars(
        select(TrainingSession).join(TrainingSession.training).order_by(TrainingSession.id)))
    future = [s for s in sessions if s.starts_on >= today]
    tight = {s.id for s in rng.sample(future, 8)}
    full = rng.choice([s for s in future if s.id in tight])
    for session in sessions:
        owner = session.training.owner_organisation_id
        pool = [p for p, org in people if owner is None or org == owner]
        if session.starts_on < today:
            chosen = rng.sample(pool, min(len(pool), session.capacity - rng.randint(0, 3)))
            for person_id in chosen:
                state = EnrollmentState.ATTENDED if rng.random() < 0.9 else EnrollmentState.NO_SHOW
                _enroll(uow, session, person_id, state, (EnrollmentState.ENROLLED,))
                if state == EnrollmentState.ATTENDED and rng.random() < 0.6:
                    score = rng.randint(35, 100)
                    uow.session.add(TestResult(
                        collaborator_id=person_id, training_id=session.training_id,
                        taken_on=session.ends_on, score=score, passed=score >= 50))
            continue
        if session.id == full.id:
            taken = session.capacity + 3
        elif session.id in tight:
            taken = session.capacity - rng.choice((1, 1, 2))
        else:
            taken = int(session.capacity * rng.uniform(0.1, 0.6))
        chosen = rng.sample(pool, min(len(pool), taken + 2))
        for index, person_id in enumerate(chosen):
            if index < min(taken, session.capacity):
                state = EnrollmentState.ENROLLED
                _enroll(uow, session, person_id, state)
            elif index < taken:
                _enroll(uow, session, person_id, EnrollmentState.WAITLISTED)
            else:
                _enroll(uow, session, person_id, EnrollmentState.CANCELLED,
                        (EnrollmentState.ENROLLED,))


def _requests(uow: UnitOfWork, rng: random.Random) -> None:
    organisations = {o.code: o for o in uow.session.scalars(select(Organisation))}
    training = uow.session.scalar(select(Training).where(Training.code == "BOSA-101"))
    upcoming = catalog.upcoming_sessions(uow, training) if training else []
    session = upcoming[0] if upcoming else None
    wishes = [("Mertens", "Julie", "fr", "BOSA", True), ("Verhaeghe", "Bram", "nl", "FIN", True),
              ("Benali", "Yasmine", "fr", "BOSA", False)]
    for index, (surname, given, language, org, wants_session) in enumerate(wishes, 1):
        person = names.Person(surname, given, "F", language, date(1990, 5, 4), language)
        number = nrn.parse(nrn.generate(rng))
        wants: dict[str, Any] = {"kind": "mailing_list"}
        if wants_session and session is not None:
            wants = {"kind": "session", "training_code": session.training,
                     "session_start": session.starts_on.isoformat()}
        request = RegistrationRequest(
            external_id=f"demo-{index:04d}", organisation=organisations[org],
            person={"surname": surname, "given_names": given, "language": language,
                    "email": names.email_for(person, "example.be", set()), "organisation": org},
            nrn_encrypted=uow.app.vault.encrypt(number), wants=wants)
        uow.session.add(request)
        uow.session.flush()
        requests.notify_officers(uow, request)


def summary(app: App) -> dict[str, Any]:
    """What `demo --seed-only --json` prints (CONTRACT.md)."""
    with app.unit_of_work(readonly=True) as uow:
        officers = [{"email": o.email, "organisations": [g.code for g in o.organisations],
                     "language": o.language.value,
                     "valid_until": o.valid_until.isoformat() if o.valid_until else None}
                    for o in uow.session.scalars(select(Officer).order_by(Officer.id))]
        views = catalog.upcoming_sessions(uow)
        trainings: dict[str, list[dict[str, Any]]] = {}
        for view in views:
            trainings.setdefault(view.training, []).append(
                {"id": view.id, "start": view.starts_on.isoformat(), "capacity": view.capacity,
                 "free": view.free, "place": view.place})
        collaborators = uow.session.query(Collaborator).count()
    return {"officers": officers,
            "trainings": [{"code": code, "sessions": found}
                          for code, found in sorted(trainings.items())],
            "collaborators": collaborators}
