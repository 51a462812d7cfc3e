"""A request is decided once, even when two officers decide it at the same moment.

Two threads, two units of work, two database connections. On PostgreSQL both have read the
request as pending before the first commits (READ COMMITTED would then let both commit
without the row lock); on SQLite write transactions are serialised by BEGIN IMMEDIATE.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from core.errors import DomainError
from core.models import MailingListSubscription, OutboxMessage, RegistrationRequest, RequestState
from core.services import requests
from core.services.access import officer_by_email
from tests.conftest import World

HOLD = 0.5  # how long the first decider keeps its transaction open once the second has read


def _request(world: World) -> int:
    with world.app.unit_of_work() as uow:
        request, _created = requests.submit(uow, {
            "external_id": "web-race", "wants": {"kind": "mailing_list"},
            "person": {"surname": "Mertens", "given_names": "Julie", "language": "fr",
                       "email": "julie.mertens@example.be", "organisation": "BOSA"}})
        return request.id


def test_approve_and_refuse_at_the_same_moment_one_wins(world: World) -> None:
    request_id = _request(world)
    decided = threading.Event()  # the approver has decided, not yet committed
    read = threading.Event()  # the refuser has read the request as pending
    outcomes: dict[str, str] = {}
    concurrent = not world.app.db.is_sqlite  # SQLite: the second transaction waits its turn

    def approver() -> None:
        try:
            with world.app.unit_of_work() as uow:
                assert requests.get(uow, request_id).state == RequestState.PENDING
                requests.approve(uow, officer_by_email(uow, world.officer), request_id)
                decided.set()
                if concurrent:
                    assert read.wait(10)
                time.sleep(HOLD)  # the refuser is now blocked on the row (or would go on)
            outcomes["approve"] = "ok"
        except DomainError as exc:
            outcomes["approve"] = exc.code
        finally:
            decided.set()

    def refuser() -> None:
        assert decided.wait(10)
        try:
            with world.app.unit_of_work() as uow:
                seen = requests.get(uow, request_id).state
                if concurrent:
                    assert seen == RequestState.PENDING  # the approval is not committed yet
                read.set()
                requests.refuse(uow, officer_by_email(uow, world.nl_officer), request_id,
                                "complet")
            outcomes["refuse"] = "ok"
        except DomainError as exc:
            outcomes["refuse"] = exc.code
        finally:
            read.set()

    threads = [threading.Thread(target=approver), threading.Thread(target=refuser)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == {"approve": "ok", "refuse": "request_already_approved"}
    with world.app.unit_of_work(readonly=True) as uow:
        request = uow.session.get_one(RegistrationRequest, request_id)
        assert request.state == RequestState.APPROVED and request.reason is None
        assert request.decided_by is not None and request.decided_by.email == world.officer
        templates = list(uow.session.scalars(select(OutboxMessage.template)))
        assert "request_refused" not in templates
        assert templates.count("mailing_list_subscribed") == 1
        assert uow.session.scalar(select(func.count()).select_from(
            MailingListSubscription)) == 1


def test_the_loser_is_told_who_decided(world: World) -> None:
    request_id = _request(world)
    with world.app.unit_of_work() as uow:
        requests.refuse(uow, officer_by_email(uow, world.officer), request_id, "complet")
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.nl_officer)
        requests.get(uow, request_id)  # already in this unit of work: the lock reads afresh
        try:
            requests.approve(uow, officer, request_id)
        except DomainError as exc:
            assert exc.code == "request_already_refused"
            assert "Sophie Lambert" in exc.message("nl")
        else:
            raise AssertionError("approved twice")
