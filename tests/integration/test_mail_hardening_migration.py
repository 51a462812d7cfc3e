"""Migration 0006 on a database with live reply tokens: up hashes them, down recovers them
from the notifications' Message-IDs, and a reply works before and after."""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from core import migrate
from core.models import RequestState
from mail_gateway.inbound import process
from tests.conftest import NOW, World
from tests.integration.test_mail import SOPHIE, reply, request_state, submit, token_of

LEGACY = "legacy" + "a" * 20


def rows(world: World, column: str) -> set[str]:
    with world.app.db.engine.connect() as connection:
        return set(connection.execute(text(f"SELECT {column} FROM reply_tokens")).scalars())


def test_tokens_are_hashed_going_up_and_recovered_going_down(world: World) -> None:
    request_id = submit(world, wants_session=False)
    issued = {token_of(world, email, request_id)
              for email in (SOPHIE, "pieter@bosa.example", "emma@bosa.example")}
    migrate.downgrade(world.app.db, "0005")
    assert rows(world, "token") == issued
    with world.app.db.engine.begin() as connection:  # a token whose notification is gone
        officer_id, = connection.execute(text("SELECT officer_id FROM reply_tokens")).first()
        connection.execute(text(
            "INSERT INTO reply_tokens (token, officer_id, request_id, created_at, expires_at) "
            "VALUES (:token, :officer, :request, :now, :now)"),
            {"token": LEGACY, "officer": officer_id, "request": request_id,
             "now": NOW.replace(tzinfo=None)})
    migrate.upgrade(world.app.db)
    assert rows(world, "token_hash") == {hashlib.sha256(t.encode()).hexdigest()
                                         for t in {*issued, LEGACY}}
    migrate.downgrade(world.app.db, "0005")
    assert rows(world, "token") == issued  # no notification carries LEGACY: nothing to match
    migrate.upgrade(world.app.db)
    outcome = process(world.app, reply(world, token_of(world, SOPHIE, request_id), "OK"),
                      via="pipe")
    assert outcome.reason == "approved"
    assert request_state(world, request_id).state == RequestState.APPROVED
