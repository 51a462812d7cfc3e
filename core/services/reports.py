"""Read models for officers: who is enrolled in a session, and one collaborator's report."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from core.app import UnitOfWork
from core.models import (
    Collaborator,
    Enrollment,
    EnrollmentState,
    Officer,
    TestResult,
    TrainingSession,
)
from core.services.access import require_active, require_collaborator

S = EnrollmentState


def participants(uow: UnitOfWork, officer: Officer, session_id: int) -> list[Enrollment]:
    """Enrollments of the officer's own organisations only: others' staff stay private."""
    require_active(officer)
    organisation_ids = [o.id for o in officer.organisations]
    return list(uow.session.scalars(
        select(Enrollment).join(Enrollment.collaborator)
        .where(Enrollment.session_id == session_id,
               Enrollment.state.in_((S.ENROLLED, S.OPTION, S.OFFERED, S.WAITLISTED)),
               Collaborator.organisation_id.in_(organisation_ids))
        .order_by(Enrollment.state, Collaborator.surname, Collaborator.given_names)))


@dataclass
class Report:
    collaborator: Collaborator
    options: list[Enrollment] = field(default_factory=list)
    enrolled: list[Enrollment] = field(default_factory=list)
    waitlisted: list[Enrollment] = field(default_factory=list)
    attended: list[Enrollment] = field(default_factory=list)
    cancelled: list[Enrollment] = field(default_factory=list)
    results: list[TestResult] = field(default_factory=list)


def collaborator_report(uow: UnitOfWork, officer: Officer, collaborator_id: int) -> Report:
    collaborator = uow.session.get_one(Collaborator, collaborator_id)
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
