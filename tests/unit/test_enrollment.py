"""The enrollment rules: capacity, waitlist, promotion, state machine, authorisation, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from core.errors import DomainError
from core.models import (
    AuditEvent,
    Enrollment,
    EnrollmentEvent,
    EnrollmentState,
    Officer,
    OutboxMessage,
)
from core.services import catalog, enrollment
from core.services.access import officer_by_email
from mail_gateway import render
from tests.conftest import NOW, World

S = EnrollmentState


def _enroll(world: World, person: str, session: str, email: str | None = None,
            **kw: object) -> enrollment.Outcome:
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, email or world.officer)
        return enrollment.enroll(uow, officer, world.people[person], world.sessions[session],
                                 **kw)  # type: ignore[arg-type]


def _count(world: World, model: type, *where: object) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_enroll_takes_a_seat_writes_history_audit_and_outbox(world: World) -> None:
    outcome = _enroll(world, "dupont_marie", "BOSA-101/a")
    assert outcome.enrollment.state == S.ENROLLED
    assert outcome.free == 2
    with world.app.unit_of_work(readonly=True) as uow:
        view = catalog.session_view(uow, world.sessions["BOSA-101/a"])
        mail = uow.session.scalars(select(OutboxMessage)).one()
    assert (view.free, view.enrolled) == (2, 1)
    assert mail.to_address == "marie.dupont_marie@example.be"
    assert mail.template == "enrollment_confirmed"
    assert render.subject(mail.template, mail.language.value, mail.context).startswith(
        "Inscription confirmée : BOSA-101")
    assert mail.message_id.endswith("@itma.localhost>")
    assert _count(world, EnrollmentEvent) == 1
    assert _count(world, AuditEvent, AuditEvent.action == "enrollment.enrolled") == 1


def test_full_session_waitlists_then_unenroll_offers_the_seat(world: World) -> None:
    for person in ("dupont_marie", "dupont_jean", "peeters"):
        _enroll(world, person, "BOSA-101/a")
    waiting = _enroll(world, "claes", "BOSA-101/a")
    assert waiting.enrollment.state == S.WAITLISTED
    with pytest.raises(DomainError) as refused:
        _enroll(world, "janssens", "BOSA-101/a", waitlist_if_full=False)
    assert refused.value.code == "session_full"
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        first = uow.session.scalar(select(Enrollment).where(
            Enrollment.collaborator_id == world.people["dupont_marie"]))
        assert first is not None
        outcome = enrollment.unenroll(uow, officer, first.id)
    assert outcome.enrollment.state == S.CANCELLED
    assert outcome.promoted is not None and outcome.promoted.state == S.OFFERED
    assert outcome.promoted.collaborator_id == world.people["claes"]
    assert outcome.free == 0
    templates = [m for (m,) in _rows(world, OutboxMessage.template)]
    assert templates.count("unenrolled") == 1 and templates.count("seat_offered") == 1


def _rows(world: World, *columns: object) -> list:
    with world.app.unit_of_work(readonly=True) as uow:
        return list(uow.session.execute(select(*columns)))


def _offer_to_claes_then_let_it_lapse(world: World) -> None:
    """Full session (3 seats) with Claes then Janssens waiting; a seat frees, Claes is
    offered it, and the offer lapses."""
    for person in ("dupont_marie", "dupont_jean", "peeters", "claes", "janssens"):
        _enroll(world, person, "BOSA-101/a")
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        first = uow.session.scalars(select(Enrollment).order_by(Enrollment.id)).first()
        assert first is not None
        enrollment.unenroll(uow, officer, first.id)
    clock.set_clock(lambda: NOW + enrollment.OFFER_PERIOD + timedelta(minutes=1))


def test_expired_offer_returns_the_seat_to_the_next_in_line(world: World) -> None:
    _offer_to_claes_then_let_it_lapse(world)
    _enroll(world, "lambrechts", "BOSA-101/a")  # anyone counting seats expires lapsed holds
    states = dict(_rows(world, Enrollment.collaborator_id, Enrollment.state))
    assert states[world.people["claes"]] == S.CANCELLED
    assert states[world.people["janssens"]] == S.OFFERED
    assert states[world.people["lambrechts"]] == S.WAITLISTED


def test_offered_seat_is_confirmed_by_enrolling_again(world: World) -> None:
    for person in ("dupont_marie", "dupont_jean", "peeters", "claes"):
        _enroll(world, person, "BOSA-101/a")
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        first = uow.session.scalars(select(Enrollment).order_by(Enrollment.id)).first()
        assert first is not None
        enrollment.unenroll(uow, officer, first.id)
    outcome = _enroll(world, "claes", "BOSA-101/a")
    assert outcome.enrollment.state == S.ENROLLED
    assert outcome.free == 0


def test_enrolled_twice_or_in_another_session_is_refused(world: World) -> None:
    _enroll(world, "peeters", "BOSA-101/a")
    with pytest.raises(DomainError) as twice:
        _enroll(world, "peeters", "BOSA-101/a")
    assert twice.value.code == "already_enrolled"
    with pytest.raises(DomainError) as other:
        _enroll(world, "peeters", "BOSA-101/b")
    assert other.value.code == "already_in_other_session"
    assert "12/03/2027" in other.value.message("fr")


def test_officer_of_another_organisation_is_refused(world: World) -> None:
    with pytest.raises(DomainError) as refused:
        _enroll(world, "fin_only", "DIG-101/a")
    assert refused.value.code == "not_your_organisation"
    assert "FIN" in refused.value.message("fr") and "BOSA" in refused.value.message("fr")
    assert _count(world, Enrollment) == 0


def test_on_demand_training_is_reserved_to_its_organisation(world: World) -> None:
    with pytest.raises(DomainError) as refused:
        _enroll(world, "dupont_marie", "FIN-201/a")
    assert refused.value.code == "training_reserved"


def test_expired_access_is_refused_with_the_date(world: World) -> None:
    with pytest.raises(DomainError) as refused:
        _enroll(world, "dupont_marie", "BOSA-101/a", email=world.expired_officer)
    assert refused.value.code == "access_expired"
    assert "23/11/2026" in refused.value.message("fr")


def test_state_machine_refuses_illegal_transitions(world: World) -> None:
    outcome = _enroll(world, "peeters", "BOSA-101/a")
    with world.app.unit_of_work() as uow:
        item = uow.session.get_one(Enrollment, outcome.enrollment.id)
        enrollment.transition(uow, item, S.ATTENDED, None)
        with pytest.raises(enrollment.IllegalTransition):
            enrollment.transition(uow, item, S.ENROLLED, None)
    for state, targets in enrollment.TRANSITIONS.items():
        if state in (S.ATTENDED, S.NO_SHOW):
            assert not targets
    assert S.OFFERED not in enrollment.TRANSITIONS[None]


def test_option_holds_a_seat_and_becomes_enrolled(world: World) -> None:
    held = _enroll(world, "peeters", "BOSA-101/a", option=True)
    assert held.enrollment.state == S.OPTION
    assert held.enrollment.hold_expires_at is not None
    confirmed = _enroll(world, "peeters", "BOSA-101/a")
    assert confirmed.enrollment.state == S.ENROLLED
    assert confirmed.free == 2


def test_past_session_cannot_be_booked(world: World) -> None:
    clock.set_clock(lambda: NOW + timedelta(days=400))
    with world.app.unit_of_work() as uow:
        officer = uow.session.scalar(select(Officer).where(Officer.email == world.officer))
        assert officer is not None
        officer.valid_until = clock.today() + timedelta(days=10)
    with pytest.raises(DomainError) as refused:
        _enroll(world, "peeters", "BOSA-101/a")
    assert refused.value.code == "session_past"


def test_scheduler_expires_lapsed_offers_for_untouched_sessions(world: World) -> None:
    from core.scheduler import Scheduler

    _offer_to_claes_then_let_it_lapse(world)
    scheduler = Scheduler(world.app)
    try:
        done = scheduler.tick()
    finally:
        scheduler.close()
    assert done is not None and done["expire lapsed options and offers"] == 1
    states = dict(_rows(world, Enrollment.collaborator_id, Enrollment.state))
    assert states[world.people["claes"]] == S.CANCELLED
    assert states[world.people["janssens"]] == S.OFFERED


def _free_shown(world: World, key: str) -> int:
    from core.services import catalog

    with world.app.unit_of_work(readonly=True) as uow:
        return catalog.session_view(uow, world.sessions[key]).free


def test_the_listing_shows_the_seats_the_rule_gives(world: World) -> None:
    """A lapsed offer with someone still waiting frees no seat for a newcomer: the listing
    must not promise one (it used to count lapsed holds as free)."""
    _offer_to_claes_then_let_it_lapse(world)
    shown = _free_shown(world, "BOSA-101/a")
    outcome = _enroll(world, "lambrechts", "BOSA-101/a")
    assert shown == 0 and outcome.enrollment.state == S.WAITLISTED
    assert _free_shown(world, "BOSA-101/a") == outcome.free == 0
