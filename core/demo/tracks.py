"""The demo's PRO Academy tracks: two tracks with cohorts, one requiring the other, and
candidates at every stage (done, under way, paused, about to start).

PRO-MGT (three modules, twelve a cohort): an earlier cohort finished, one under way (two modules
behind it, the third ahead), the next two open. PRO-DIR (two modules, eight a cohort) requires
PRO-MGT: its first cohort holds the candidates who completed PRO-MGT.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from core import clock
from core.app import UnitOfWork
from core.models import (
    Cohort,
    Collaborator,
    Enrollment,
    EnrollmentEvent,
    EnrollmentState,
    Organisation,
    TestResult,
    Track,
    TrackEnrollment,
    TrackModule,
    Training,
    TrainingKind,
    TrainingSession,
)

S = EnrollmentState


def _t(fr: str, nl: str, en: str, de: str) -> dict[str, str]:
    return {"fr": fr, "nl": nl, "en": en, "de": de}


TRACKS = (
    ("PRO-MGT", _t("Management public", "Overheidsmanagement", "Public management",
                   "Öffentliches Management"), 12, None,
     (("PMG-101", _t("Piloter une équipe", "Een team leiden", "Leading a team",
                     "Ein Team führen")),
      ("PMG-201", _t("Gestion budgétaire", "Budgetbeheer", "Budget management",
                     "Haushaltsführung")),
      ("PMG-301", _t("Conduite du changement", "Veranderingsmanagement", "Leading change",
                     "Veränderungsmanagement")))),
    ("PRO-DIR", _t("Direction stratégique", "Strategisch leiderschap", "Strategic leadership",
                   "Strategische Führung"), 8, "PRO-MGT",
     (("PDR-101", _t("Stratégie publique", "Overheidsstrategie", "Public strategy",
                     "Öffentliche Strategie")),
      ("PDR-201", _t("Gouvernance et contrôle interne", "Governance en interne controle",
                     "Governance and internal control", "Governance und interne Kontrolle")))),
)
COHORTS = {"PRO-MGT": (-200, -30, 40, 110), "PRO-DIR": (60, 150)}
"""Days from today to each cohort's start; a module every three weeks within a cohort."""
MODULE_GAP = 21


def seed(uow: UnitOfWork, rng_seed: int) -> None:
    rng = random.Random(rng_seed)
    today = clock.today()
    built: dict[str, Track] = {}
    cohorts: dict[str, list[Cohort]] = {}
    for code, titles, capacity, requires, modules in TRACKS:
        track = Track(code=code, titles=titles, capacity=capacity,
                      requires_track=built.get(requires) if requires else None)
        uow.session.add(track)
        trainings = []
        for position, (module_code, module_titles) in enumerate(modules, 1):
            training = Training(code=module_code, titles=module_titles,
                                kind=TrainingKind.CERTIFICATION)
            trainings.append(training)
            uow.session.add(TrackModule(track=track, position=position, training=training))
        cohorts[code] = []
        for number, offset in enumerate(COHORTS[code], 1):
            start = _weekday(today + timedelta(days=offset))
            sessions = [TrainingSession(
                training=training, starts_on=start + timedelta(days=MODULE_GAP * index),
                ends_on=start + timedelta(days=MODULE_GAP * index + 1),
                place="WTC III, Bruxelles", capacity=capacity)
                for index, training in enumerate(trainings)]
            cohort = Cohort(track=track, number=number, starts_on=start, sessions=sessions)
            uow.session.add(cohort)
            cohorts[code].append(cohort)
        built[code] = track
    uow.session.flush()
    people = _people(uow, rng, 24)
    finished, under_way, paused, next_up = people[:4], people[4:12], people[12:13], people[13:18]
    mgt, directors = cohorts["PRO-MGT"], cohorts["PRO-DIR"]
    for person in finished:
        _candidate(uow, rng, mgt[0], person, "completed", today)
    for person in under_way:
        _candidate(uow, rng, mgt[1], person, "active", today)
    for person in paused:
        _candidate(uow, rng, mgt[1], person, "paused", today)
    for person in next_up:
        _candidate(uow, rng, mgt[2], person, "active", today)
    for person in finished[:3]:
        _candidate(uow, rng, directors[0], person, "active", today)


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _people(uow: UnitOfWork, rng: random.Random, count: int) -> list[int]:
    """People of BOSA and FIN, the demo officer's organisations, so the chat shows them."""
    ids = list(uow.session.scalars(
        select(Collaborator.id).join(Organisation, Collaborator.organisation_id == Organisation.id)
        .where(Organisation.code.in_(("BOSA", "FIN"))).order_by(Collaborator.id)))
    return rng.sample(ids, min(count, len(ids)))


def _candidate(uow: UnitOfWork, rng: random.Random, cohort: Cohort, person_id: int,
               state: str, today: date) -> None:
    """Past modules attended (most with a test result), future ones enrolled; a paused
    candidate's future modules cancelled."""
    for session in cohort.sessions:
        if session.starts_on < today:
            _enroll(uow, session, person_id, S.ATTENDED, (S.ENROLLED,))
            score = rng.randint(48, 96)
            uow.session.add(TestResult(collaborator_id=person_id,
                                       training_id=session.training_id,
                                       taken_on=session.ends_on, score=score,
                                       passed=score >= 50))
        elif state == "paused":
            _enroll(uow, session, person_id, S.CANCELLED, (S.ENROLLED,))
        else:
            _enroll(uow, session, person_id, S.ENROLLED)
    uow.session.add(TrackEnrollment(track_id=cohort.track_id, collaborator_id=person_id,
                                    cohort_id=cohort.id, state=state))


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
