"""Every reply of the corpus (tests/mail/) through the one interpretation path."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import RequestState
from mail_gateway.inbound import process
from tests.conftest import World
from tests.integration.test_mail import outbox, request_state, submit, token_of

CORPUS = Path(__file__).resolve().parents[1] / "mail"
EXPECTED = {
    "outlook_fr_ok": "approved", "outlook_nl_refuse": "refused", "outlook_en_approve": "approved",
    "gmail_fr_oui": "approved", "gmail_en_refuse_reason": "refused",
    "thunderbird_de_ja": "approved", "apple_mail_fr_non": "refused",
    "iphone_nl_ja": "approved", "android_outlook_en_ok": "approved",
    "html_only_ok": "approved", "base64_fr_approuver": "approved",
    "quoted_printable_fr_refuser": "refused", "latin1_fr_oui": "approved",
    "dutch_akkoord": "approved", "with_attachment_non": "refused",
    "signature_only": "not_understood", "not_understood_question": "not_understood",
    "auto_reply_ooo_fr": "automatic", "auto_reply_ooo_nl": "automatic",
    "auto_reply_de": "automatic", "out_of_office_en_no_headers": "automatic",
    "dsn_bounce": "automatic", "list_mail": "automatic",
    "forged_from": "sender_not_token_owner",
}
SENDERS = {b"sophie.lambert@bosa.example": "sophie@bosa.example",
           b"pieter.janssens@fin.example": "pieter@bosa.example"}


def load(world: World, name: str, request_id: int) -> bytes:
    raw = (CORPUS / f"{name}.eml").read_bytes()
    sender = "pieter@bosa.example" if b"pieter.janssens@fin.example" in raw.split(
        b"\n\n", 1)[0] else "sophie@bosa.example"
    for old, new in SENDERS.items():
        raw = raw.replace(old, new.encode())
    return raw.replace(b"tok3n", token_of(world, sender, request_id).encode())


def test_corpus_is_complete() -> None:
    names = {p.stem for p in CORPUS.glob("*.eml")}
    assert set(EXPECTED) | {"duplicate_a", "duplicate_b"} == names


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reply(world: World, name: str) -> None:
    request_id = submit(world, wants_session=False)
    before = len(outbox(world))
    outcome = process(world.app, load(world, name, request_id), via="pipe")
    assert outcome.reason == EXPECTED[name], outcome
    state = request_state(world, request_id).state
    if outcome.reason == "approved":
        assert state == RequestState.APPROVED
    elif outcome.reason == "refused":
        assert state == RequestState.REFUSED
    else:
        assert state == RequestState.PENDING
    if outcome.reason in ("automatic", "sender_not_token_owner"):
        assert len(outbox(world)) == before  # never answered


def test_duplicates_act_once(world: World) -> None:
    request_id = submit(world, wants_session=False)
    first = process(world.app, load(world, "duplicate_a", request_id), via="smtp")
    second = process(world.app, load(world, "duplicate_b", request_id), via="imap")
    assert (first.reason, second.reason) == ("approved", "duplicate")
