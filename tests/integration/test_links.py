"""eID link tokens: one-time, 10 minutes, bound to the chat account; chat and CLI give the URL."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import clock, nrn, phrases
from core.conversation import Engine, Inbound
from core.eid import Identity
from core.errors import DomainError
from core.models import ChatIdentity, LinkToken, OutboxMessage
from core.services import links
from core.services.access import NewOfficer, add_officer
from tests.conftest import NOW, World

NRN = nrn.generate(random.Random(404), sex="F")


def identity(number: str = NRN) -> Identity:
    return Identity(nrn=number, surname="Claes", given_names="Hanne",
                    common_name="Hanne Claes (Authentication)", fingerprint_sha256="ab" * 32,
                    issuer="CN=Citizen CA,C=BE", serial="1f", ocsp=None)


@pytest.fixture
def officer(world: World) -> str:
    with world.app.unit_of_work() as uow:
        add_officer(uow, NewOfficer("hanne@bosa.example", "Hanne Claes", NRN, ["BOSA"]))
    return "hanne@bosa.example"


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_link_completes_once_and_tells_the_chat(world: World, officer: str) -> None:
    world.app.settings = dataclasses.replace(world.app.settings, slack_bot_token="xoxb-t",
                                             slack_signing_secret="s")  # Slack deployed
    with world.app.unit_of_work() as uow:
        url = links.issue(uow, "slack", "T1", "U9")
    assert url.startswith(world.app.settings.public_url + "/link/")
    token = token_of(url)
    assert len(token) >= 43  # 256 bits, URL-safe
    with world.app.unit_of_work() as uow:
        found = links.complete(uow, token, identity())
        assert found.officer.email == officer
    with world.app.unit_of_work(readonly=True) as uow:
        chat = uow.session.scalars(select(ChatIdentity)).one()
        stored = uow.session.scalars(select(LinkToken)).one()
        notice = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == "slack")).one()
    assert (chat.platform, chat.workspace, chat.user_ref, chat.linked_via) == (
        "slack", "T1", "U9", "eid")
    assert chat.cert_fingerprint == "ab" * 32
    assert token not in stored.token_hash  # only a hash is kept
    assert notice.to_address == "T1:U9" and "Hanne Claes" in phrases.notification(
        notice.language.value, notice.template, notice.context)
    with pytest.raises(DomainError) as used, world.app.unit_of_work() as uow:
        links.complete(uow, token, identity())
    assert used.value.code == "link_used"


def test_expired_unknown_and_nobody(world: World, officer: str) -> None:
    with world.app.unit_of_work() as uow:
        token = token_of(links.issue(uow, "teams", "tenant", "obj"))
    clock.set_clock(lambda: NOW + links.VALIDITY + timedelta(seconds=1))
    with pytest.raises(DomainError) as expired, world.app.unit_of_work() as uow:
        links.preview(uow, token, identity())
    assert expired.value.code == "link_expired"
    clock.set_clock(lambda: NOW)
    with pytest.raises(DomainError) as unknown, world.app.unit_of_work() as uow:
        links.preview(uow, "nope", identity())
    assert unknown.value.code == "link_unknown"
    stranger = nrn.generate(random.Random(405))
    with pytest.raises(DomainError) as nobody, world.app.unit_of_work() as uow:
        links.preview(uow, token, identity(stranger))
    assert nobody.value.code == "link_no_officer"
    assert stranger not in nobody.value.message("fr")


def test_chat_link_gives_a_url_even_before_linking(world: World) -> None:
    engine = Engine(world.app)
    reply = engine.handle(Inbound("slack:T1", "UNEW", text="lier"))
    assert world.app.settings.public_url + "/link/" in reply.text
    assert "10 minutes" in reply.text
    reply = engine.handle(Inbound("teams:tenant", "obj", text="koppelen"))
    assert "/link/" in reply.text and reply.language == "nl"
    console = engine.handle(Inbound("console", world.officer, text="link"))
    assert "/link/" not in console.text
