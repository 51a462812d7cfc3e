"""PRO Academy tracks in the core service: the next cohort with seats, every module at once,
prerequisites, withdrawal keeping the past, one mail with every module's .ics, and a
capacity per cohort that concurrent enrollments cannot exceed (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlalchemy import select

from core.errors import DomainError
from core.models import (
    Cohort,
    EnrollmentState,
    OutboxMessage,
    Track,
    TrackEnrollment,
    TrackModule,
    Training,
    TrainingKind,
    TrainingSession,
)
from core.services import access, tracks
from core.services.outbox import Claimed
from mail_gateway import render
from tests.conftest import World


def make_track(world: World, code: str = "PRO-MGT", capacity: int = 2, cohorts: int = 2,
               requires: str | None = None, prefix: str | None = None,
               first: date = date(2027, 1, 11)) -> None:
    """Three modules (codes CODE-1… or, with a `prefix`, PRM-101…), a cohort every 70 days from
    `first`, a module every 14 days in each."""
    with world.app.unit_of_work() as uow:
        track = Track(code=code, titles={"fr": "Management", "en": "Management"},
                      capacity=capacity,
                      requires_track=tracks.track_by_code(uow, requires) if requires else None)
        uow.session.add(track)
        modules = []
        for position in (1, 2, 3):
            training = Training(code=f"{prefix}-{position}01" if prefix else f"{code}-{position}",
                                titles={"fr": f"Module {position}"},
                                kind=TrainingKind.CERTIFICATION)
            modules.append(training)
            uow.session.add(TrackModule(track=track, position=position, training=training))
        for number in range(1, cohorts + 1):
            start = first + timedelta(days=70 * (number - 1))
            sessions = [TrainingSession(training=t, starts_on=start + timedelta(days=14 * i),
                                        ends_on=start + timedelta(days=14 * i), place="WTC III",
                                        capacity=capacity) for i, t in enumerate(modules)]
            uow.session.add(Cohort(track=track, number=number, starts_on=start,
                                   sessions=sessions))


def enroll(world: World, key: str, code: str = "PRO-MGT") -> tracks.Placed:
    with world.app.unit_of_work() as uow:
        officer = access.officer_by_email(uow, world.officer)
        placed = tracks.enroll(uow, officer, world.people[key], code)
        _ = [e.session.starts_on for e in placed.modules], placed.track_enrollment.cohort
        return placed


def test_a_candidate_gets_every_module_of_the_next_cohort_with_seats(world: World) -> None:
    make_track(world)
    first = enroll(world, "peeters")
    assert len(first.modules) == 3 and first.track_enrollment.cohort.number == 1
    enroll(world, "claes")
    third = enroll(world, "janssens")
    assert third.track_enrollment.cohort.number == 2
    with world.app.unit_of_work(readonly=True) as uow:
        mail = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.template == "track_changed")).first()
        assert mail is not None and len(mail.context["modules"]) == 3
        claimed = Claimed(mail.id, "mail", mail.to_address, "fr", mail.template, "",
                          mail.context, mail.message_id, 0)
    built = render.build(claimed, world.app.settings)
    ics = next(p for p in built.iter_attachments()).get_content()
    assert str(ics).count("BEGIN:VEVENT") == 3
    try:
        enroll(world, "peeters")
        raise AssertionError("enrolled twice")
    except DomainError as exc:
        assert exc.code == "already_enrolled"


def test_prerequisite_and_withdrawal_keep_the_past(world: World) -> None:
    make_track(world, "PRO-BAS")
    make_track(world, "PRO-ADV", requires="PRO-BAS")
    try:
        enroll(world, "peeters", "PRO-ADV")
        raise AssertionError("prerequisite ignored")
    except DomainError as exc:
        assert "PRO-BAS" in exc.message("fr") and "PRO-ADV" in exc.message("en")
    placed = enroll(world, "peeters", "PRO-BAS")
    with world.app.unit_of_work() as uow:
        officer = access.officer_by_email(uow, world.officer)
        freed = tracks.withdraw(uow, officer, placed.track_enrollment.id)
        assert len(freed.modules) == 3
        assert all(e.state == EnrollmentState.CANCELLED for e in freed.modules)
        progress = tracks.progress(uow, world.people["peeters"])
    assert progress[0]["state"] == "cancelled" and progress[0]["next"] is None


def test_concurrent_enrollments_fill_exactly_the_capacity(world: World) -> None:
    make_track(world, capacity=3, cohorts=1)
    keys = ["dupont_marie", "dupont_jean", "peeters", "vandenbossche", "muller",
            "lambrechts", "claes", "janssens"]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(keys))

    def one(key: str) -> None:
        barrier.wait()
        try:
            enroll(world, key)
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=one, args=(k,)) for k in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 3, outcomes
    with world.app.unit_of_work(readonly=True) as uow:
        held = uow.session.scalars(select(TrackEnrollment)).all()
        assert len(held) == 3
