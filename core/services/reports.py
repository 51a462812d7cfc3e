"""Read models for officers: who is enrolled in a session, one collaborator's report, and the
overview of planned sessions with their free seats."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from core import clock
from core.app import UnitOfWork
from core.models import (
    SEAT_HOLDING,
    Collaborator,
    Enrollment,
    EnrollmentState,
    Officer,
    Organisation,
    TestResult,
    Training,
    TrainingKind,
    TrainingSession,
)
from core.services import catalog
from core.services.access import (
    can_see_training,
    require_active,
    require_collaborator,
    require_organisation,
)

S = EnrollmentState


def participants(uow: UnitOfWork, officer: Officer, session_id: int) -> list[Enrollment]:
    """Enrollments of the officer's own organisations only: others' staff stay private."""
    require_active(officer)
    return session_participants(uow, session_id, [o.id for o in officer.organisations])


def session_participants(uow: UnitOfWork, session_id: int,
                         organisation_ids: Collection[int] | None) -> list[Enrollment]:
    """Who holds or waits for a seat; `organisation_ids` None is the operator (everyone)."""
    query = (select(Enrollment).join(Enrollment.collaborator)
             .where(Enrollment.session_id == session_id,
                    Enrollment.state.in_((S.ENROLLED, S.OPTION, S.OFFERED, S.WAITLISTED)))
             .order_by(Enrollment.state, Collaborator.surname, Collaborator.given_names))
    if organisation_ids is not None:
        query = query.where(Collaborator.organisation_id.in_(list(organisation_ids)))
    return list(uow.session.scalars(query))


@dataclass
class Report:
    collaborator: Collaborator
    options: list[Enrollment] = field(default_factory=list)
    enrolled: list[Enrollment] = field(default_factory=list)
    waitlisted: list[Enrollment] = field(default_factory=list)
    attended: list[Enrollment] = field(default_factory=list)
    cancelled: list[Enrollment] = field(default_factory=list)
    results: list[TestResult] = field(default_factory=list)


def collaborator_report(uow: UnitOfWork, officer: Officer | None,
                        collaborator_id: int) -> Report:
    """`officer` None is the operator's command line, which sees everyone."""
    collaborator = uow.session.get_one(Collaborator, collaborator_id)
    if officer is not None:
        require_collaborator(officer, collaborator)
    report = Report(collaborator)
    buckets = {S.OPTION: report.options, S.OFFERED: report.options, S.ENROLLED: report.enrolled,
               S.WAITLISTED: report.waitlisted, S.ATTENDED: report.attended,
               S.NO_SHOW: report.attended, S.CANCELLED: report.cancelled}
    for enrollment in uow.session.scalars(
            select(Enrollment).join(Enrollment.session)
            .where(Enrollment.collaborator_id == collaborator_id)
            .order_by(TrainingSession.starts_on)):
        buckets[enrollment.state].append(enrollment)
    report.results = list(uow.session.scalars(
        select(TestResult).where(TestResult.collaborator_id == collaborator_id)
        .order_by(TestResult.taken_on)))
    return report


@dataclass(frozen=True)
class OverviewRow:
    view: catalog.SessionView
    kind: TrainingKind
    owner: str | None
    """The organisation an on-demand training is reserved for."""
    yours: int | None
    """Seats held by people of the organisations looked at (None: the operator, everyone)."""


def overview(uow: UnitOfWork, officer: Officer | None, start: date | None = None,
             end: date | None = None, organisation: Organisation | None = None
             ) -> list[OverviewRow]:
    """Planned sessions from `start` (today) to `end`, with their free seats: the trainings
    the officer (or `organisation`) may use, on-demand ones only for their owner."""
    if officer is not None:
        if organisation is not None:
            require_organisation(officer, organisation)
        else:
            require_active(officer)
    query = (select(TrainingSession).join(TrainingSession.training)
             .where(TrainingSession.cancelled.is_(False),
                    TrainingSession.starts_on >= (start or clock.today()))
             .order_by(TrainingSession.starts_on, Training.code, TrainingSession.id))
    if end is not None:
        query = query.where(TrainingSession.starts_on <= end)
    sessions = [s for s in uow.session.scalars(query)
                if can_see_training(officer, s.training)
                and (organisation is None or s.training.kind != TrainingKind.ON_DEMAND
                     or s.training.owner_organisation_id == organisation.id)]
    scope = ([organisation.id] if organisation is not None
             else [o.id for o in officer.organisations] if officer is not None else None)
    yours = _held_by(uow, [s.id for s in sessions], scope) if scope is not None else None
    return [OverviewRow(view, session.training.kind,
                        session.training.owner.code if session.training.owner else None,
                        None if yours is None else yours[session.id])
            for session, view in zip(sessions, catalog.views(uow.session, sessions),
                                     strict=True)]


def _held_by(uow: UnitOfWork, session_ids: list[int],
             organisation_ids: list[int]) -> Counter[int]:
    held: Counter[int] = Counter()
    for start in range(0, len(session_ids), 900):
        chunk = session_ids[start:start + 900]
        for session_id, count in uow.session.execute(
                select(Enrollment.session_id, func.count()).join(Enrollment.collaborator)
                .where(Enrollment.session_id.in_(chunk), Enrollment.state.in_(SEAT_HOLDING),
                       Collaborator.organisation_id.in_(organisation_ids))
                .group_by(Enrollment.session_id)):
            held[session_id] = count
    return held
