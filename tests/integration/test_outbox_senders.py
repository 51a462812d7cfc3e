"""One outbox, one loop, one sender per channel; rows only for channels this deployment has."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import select

from core.models import OutboxMessage, OutboxState
from core.services import outbox, requests
from core.services.access import link_identity, officer_by_email
from core.services.outbox import Claimed, PermanentFailure, TemporaryFailure
from mail_gateway.delivery import MailSender
from tests.conftest import World


def _submit(world: World) -> None:
    with world.app.unit_of_work() as uow:
        link_identity(uow, officer_by_email(uow, world.officer), "slack", "T1", "U1", via="test")
        link_identity(uow, officer_by_email(uow, world.officer), "teams", "ten", "aad", via="test")
        requests.submit(uow, {
            "external_id": "web-out", "wants": {"kind": "mailing_list"},
            "person": {"surname": "Mertens", "given_names": "Julie", "language": "fr",
                       "email": "julie.mertens@example.be", "organisation": "BOSA"}})


def _channels(world: World) -> list[str]:
    with world.app.unit_of_work(readonly=True) as uow:
        return sorted(uow.session.scalars(select(OutboxMessage.channel)))


def test_chat_rows_only_for_configured_platforms(world: World) -> None:
    _submit(world)
    assert set(_channels(world)) == {"mail"}


def test_rows_are_facts_and_every_configured_platform_gets_its_own(world: World) -> None:
    world.app.settings = dataclasses.replace(
        world.app.settings, slack_bot_token="xoxb-x", slack_signing_secret="s",
        teams_allow_unauthenticated=True)
    _submit(world)
    assert set(_channels(world)) == {"mail", "slack", "teams"}
    with world.app.unit_of_work(readonly=True) as uow:
        rows = uow.session.scalars(select(OutboxMessage)).all()
    assert all(r.subject == "" for r in rows)  # the senders word them, not core
    assert {r.template for r in rows if r.channel != "mail"} == {"request_new"}


class Recording:
    """A sender of a channel of its own: it fails the way a platform does, then accepts."""

    def __init__(self, channel: str, failures: list[Exception]) -> None:
        self.channel = channel
        self.failures = failures
        self.sent: list[Claimed] = []

    async def send(self, message: Claimed) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


def test_one_loop_settles_every_channel(world: World) -> None:
    world.app.settings = dataclasses.replace(
        world.app.settings, slack_bot_token="xoxb-x", slack_signing_secret="s",
        teams_allow_unauthenticated=True)
    _submit(world)
    slack = Recording("slack", [TemporaryFailure("rate limited")])
    teams = Recording("teams", [PermanentFailure("conversation gone")])
    senders = {"mail": MailSender(world.app.settings), "slack": slack, "teams": teams}
    tally = asyncio.run(outbox.flush(world.app, senders))
    with world.app.unit_of_work(readonly=True) as uow:
        states = {(r.channel, r.state) for r in uow.session.scalars(select(OutboxMessage))}
    assert ("teams", OutboxState.FAILED) in states
    assert ("slack", OutboxState.PENDING) in states  # deferred with backoff, not lost
    assert ("mail", OutboxState.SENT) in states
    assert tally.sent >= 3 and tally.failed == 2 and not slack.sent and not teams.sent
    assert list((world.app.settings.maildir / "new").iterdir())
