"""Slack end to end: signed requests into the running `serve`, Web API calls into a local mock.

No Slack cloud, but Slack's wire format both ways: bodies signed with the signing secret as
Slack signs them, and every chat.postMessage / chat.update / views.* call recorded by the mock.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from core import nrn
from core.models import AccessRequest, Enrollment, RegistrationRequest, RequestState
from core.services import access, requests
from core.services.access import link_identity, officer_by_email
from tests.conftest import World
from tests.support import slack_payloads as sp
from tests.support.server import serve
from tests.support.slack_mock import Call, SlackMock

SECRET = "slack-signing-secret-for-tests"
SOPHIE, EMMA, LUC, STRANGER = "USOPHIE", "UEMMA", "ULUC", "USTRANGER"


class Slack:
    """Talks to serve the way Slack does."""

    def __init__(self, base: str, mock: SlackMock) -> None:
        self.base = base
        self.mock = mock

    def post(self, body: bytes, content_type: str, headers: dict[str, str] | None = None,
             timestamp: int | None = None, secret: str = SECRET) -> int:
        request = urllib.request.Request(
            self.base + "/slack/events", data=body, method="POST",
            headers={"content-type": content_type, **sp.sign(body, secret, timestamp),
                     **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    def command(self, text: str, user: str = SOPHIE, key: str = "c") -> list[Call]:
        before = len(self.mock.of("response_url"))
        assert self.post(sp.slash_command(text, user_id=user,
                                          response_url=self.mock.response_url(key)),
                         sp.FORM) == 200
        return self.mock.wait_for("response_url", count=before + 1)[before:]

    def click(self, action_id: str, value: str, user: str = SOPHIE, key: str = "c",
              **kw: Any) -> list[Call]:
        before = len(self.mock.of("response_url"))
        body = sp.block_action(action_id, value, user_id=user,
                               response_url=self.mock.response_url(key), is_ephemeral=True, **kw)
        assert self.post(body, sp.FORM) == 200
        return self.mock.wait_for("response_url", count=before + 2)[before:]


def texts(call: Call) -> str:
    return " ".join(b.get("text", {}).get("text", "") if isinstance(b.get("text"), dict) else ""
                    for b in call.params.get("blocks", []))


def buttons(call: Call) -> list[dict[str, Any]]:
    return [e for b in call.params.get("blocks", []) if b["type"] == "actions"
            for e in b["elements"]]


@pytest.fixture
def slack(world: World) -> Iterator[Slack]:
    with world.app.unit_of_work() as uow:
        for email, user in ((world.officer, SOPHIE), (world.en_officer, EMMA),
                            (world.expired_officer, LUC)):
            link_identity(uow, officer_by_email(uow, email), "slack", "T1", user, via="test")
    settings = world.app.settings
    with SlackMock() as mock, serve({
            "ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
            "ITMA_SECRET_KEY": settings.secret_key.decode(), "ITMA_SLACK_BOT_TOKEN": "xoxb-test",
            "ITMA_SLACK_SIGNING_SECRET": SECRET, "ITMA_SLACK_API_URL": mock.api_url}) as base:
        # the test process is one more process of the same deployment: Slack configured too,
        # so what it queues (requests submitted here) includes the Slack rows serve delivers
        world.app.settings = dataclasses.replace(
            settings, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
            slack_api_url=mock.api_url)
        yield Slack(base, mock)


def enrollments(world: World) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Enrollment)) or 0


def test_full_enroll_flow_through_button_clicks(slack: Slack, world: World) -> None:
    [first] = slack.command("inscrire Peeters BOSA-101")
    assert first.params["response_type"] == "ephemeral"
    assert "quelle session" in texts(first)
    labels = [b["text"]["text"] for b in buttons(first)]
    assert labels[0].startswith("1. 12/03/2027 — Bruxelles — 3 places libres")
    assert [b["action_id"] for b in buttons(first)][-1] == "itma_cancel"
    resolved, confirm = slack.click("itma_choose_1", "1", message_blocks=first.params["blocks"])
    assert resolved.params["replace_original"] is True and not buttons(resolved)
    assert "Votre choix : 1. 12/03/2027" in json.dumps(resolved.params["blocks"],
                                                       ensure_ascii=False)
    assert "Peeters Jan" in texts(confirm)
    assert [b["action_id"] for b in buttons(confirm)] == ["itma_confirm", "itma_cancel"]
    assert enrollments(world) == 0
    _resolved, done = slack.click("itma_confirm", "confirm")
    assert "Peeters Jan est inscrit à BOSA-101 (12/03/2027, Bruxelles) — 2 places" in texts(done)
    assert not buttons(done)
    assert enrollments(world) == 1


def test_homonym_choice_shows_distinguishing_details(slack: Slack, world: World) -> None:
    [first] = slack.command("inscrire dupont BOSA-101 20/04")
    labels = [b["text"]["text"] for b in buttons(first) if b["action_id"].startswith(
        "itma_choose")]
    assert len(labels) == 2 and any("Dupont Marie" in label and "1985" in label
                                    and "85.03.14-xxx.xx" in label for label in labels)
    marie = next(b["value"] for b in buttons(first) if "Marie" in b["text"]["text"])
    slack.click(f"itma_choose_{marie}", marie,
                                     message_blocks=first.params["blocks"])
    _resolved, done = slack.click("itma_confirm", "confirm")
    assert "Dupont Marie est inscrite" in texts(done)


def test_direct_message_and_mention_in_a_thread(slack: Slack) -> None:
    assert slack.post(sp.event_callback(sp.dm_message("places BOSA-101", user_id=SOPHIE)),
                      sp.JSON) == 200
    [dm] = slack.mock.wait_for("chat.postMessage")
    assert dm.params["channel"] == "D1" and "Bruxelles — 3 places libres" in texts(dm)
    event = sp.app_mention("<@UBOT> aide", user_id=SOPHIE, channel="C9", ts="1700000123.000100")
    assert slack.post(sp.event_callback(event), sp.JSON) == 200
    [_dm, private, thread] = slack.mock.wait_for("chat.postMessage", count=3)
    assert private.params["channel"] == SOPHIE and "thread_ts" not in private.params
    assert "inscrire Dupont BOSA-101" in texts(private)
    assert thread.params["channel"] == "C9"
    assert thread.params["thread_ts"] == "1700000123.000100"
    assert thread.params["text"] == f"<@{SOPHIE}> je vous ai répondu en message direct."


def test_a_mention_in_a_channel_never_shows_people_there(slack: Slack) -> None:
    event = sp.app_mention("<@UBOT> inscrire dupont BOSA-101 20/04", user_id=SOPHIE,
                           channel="C9", ts="1700000200.000100")
    assert slack.post(sp.event_callback(event), sp.JSON) == 200
    [first, second] = slack.mock.wait_for("chat.postMessage", count=2)
    in_channel = [c for c in (first, second) if c.params["channel"] == "C9"]
    assert len(in_channel) == 1
    assert "Dupont" not in json.dumps(in_channel[0].params, ensure_ascii=False)
    private = next(c for c in (first, second) if c.params["channel"] == SOPHIE)
    assert "Dupont Marie" in json.dumps(private.params["blocks"], ensure_ascii=False)


def test_unlinked_user_only_gets_link_instructions(slack: Slack) -> None:
    [answer] = slack.command("inscrire Peeters BOSA-101", user=STRANGER)
    assert "pas encore lié" in texts(answer) and not buttons(answer)


def _request(world: World) -> int:
    with world.app.unit_of_work() as uow:
        request, _created = requests.submit(uow, {
            "external_id": "web-1", "wants": {"kind": "mailing_list"},
            "person": {"surname": "Mertens", "given_names": "Julie", "language": "fr",
                       "email": "julie.mertens@example.be", "organisation": "BOSA"}})
        return request.id


def _state(world: World, request_id: int) -> RegistrationRequest:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.get_one(RegistrationRequest, request_id)


def test_request_card_refusal_modal_and_late_click(slack: Slack, world: World) -> None:
    request_id = _request(world)
    cards = slack.mock.wait_for("chat.postMessage", count=2)
    card = next(c for c in cards if c.params["channel"] == SOPHIE)
    assert {c.params["channel"] for c in cards} == {SOPHIE, EMMA}
    assert "Nouvelle inscription" in texts(card) and "Mertens Julie" in texts(card)
    assert [b["action_id"] for b in buttons(card)] == ["itma_request_approve",
                                                       "itma_request_refuse"]
    value = buttons(card)[1]["value"]
    body = sp.block_action("itma_request_refuse", value, user_id=SOPHIE, channel_id="D1",
                           message_ts="1700000000.000100", response_url=slack.mock.response_url(
                               "card"), message_blocks=card.params["blocks"],
                           trigger_id="trigger-refuse")
    assert slack.post(body, sp.FORM) == 200
    [modal] = slack.mock.wait_for("views.open")
    assert modal.params["trigger_id"] == "trigger-refuse"
    assert modal.params["view"]["callback_id"] == "itma_refuse_modal"
    metadata = modal.params["view"]["private_metadata"]
    assert _state(world, request_id).state == RequestState.PENDING
    submit = sp.view_submission("itma_refuse_modal",
                                {"reason": {"reason": {"type": "plain_text_input",
                                                       "value": "session complète"}}},
                                user_id=SOPHIE, private_metadata=metadata)
    assert slack.post(submit, sp.FORM) == 200
    [update] = slack.mock.wait_for("chat.update")
    assert "Refusée par Sophie Lambert" in texts(update) and not buttons(update)
    assert "session complète" in texts(update)
    [told] = slack.mock.wait_for("chat.postEphemeral")
    assert told.params["user"] == SOPHIE and f"#{request_id} refusée" in texts(told)
    state = _state(world, request_id)
    assert state.state == RequestState.REFUSED and state.reason == "session complète"
    late = sp.block_action("itma_request_approve", value, user_id=EMMA, channel_id="D2",
                           message_ts="1700000000.000200",
                           response_url=slack.mock.response_url("late"))
    assert slack.post(late, sp.FORM) == 200
    told = slack.mock.wait_for("chat.postEphemeral", count=2)[-1]
    assert told.params["user"] == EMMA and "already refused by Sophie Lambert" in texts(told)
    assert _state(world, request_id).state == RequestState.REFUSED


def test_unauthorised_click_is_refused_politely_and_changes_nothing(slack: Slack,
                                                                    world: World) -> None:
    request_id = _request(world)
    slack.mock.wait_for("chat.postMessage", count=2)
    for user, expected in ((STRANGER, "pas encore lié"), (LUC, "n'est plus valable")):
        body = sp.block_action("itma_request_approve", f"request:{request_id}", user_id=user,
                               channel_id="C5", message_ts="1700000000.000300",
                               response_url=slack.mock.response_url("x"))
        assert slack.post(body, sp.FORM) == 200
        told = slack.mock.wait_for("chat.postEphemeral",
                                   where=lambda c, u=user: c.params["user"] == u)[-1]
        assert expected in texts(told)
    assert _state(world, request_id).state == RequestState.PENDING
    assert not slack.mock.of("chat.update")


def test_approve_button_and_app_home(slack: Slack, world: World) -> None:
    request_id = _request(world)
    slack.mock.wait_for("chat.postMessage", count=2)
    assert slack.post(sp.event_callback(sp.app_home_opened(SOPHIE)), sp.JSON) == 200
    [home] = slack.mock.wait_for("views.publish")
    assert home.params["user_id"] == SOPHIE
    assert "Mertens Julie" in json.dumps(home.params["view"], ensure_ascii=False)
    body = sp.block_action("itma_request_approve", f"request:{request_id}", user_id=SOPHIE,
                           channel_id="D1", message_ts="1700000000.000400",
                           response_url=slack.mock.response_url("a"))
    assert slack.post(body, sp.FORM) == 200
    [update] = slack.mock.wait_for("chat.update")
    assert "Approuvée par Sophie Lambert" in texts(update)
    assert _state(world, request_id).state == RequestState.APPROVED


def test_signatures_replays_retries_and_malformed_payloads(slack: Slack, world: World) -> None:
    body = sp.slash_command("inscrire Peeters BOSA-101 12/03", user_id=SOPHIE,
                            response_url=slack.mock.response_url("r"))
    assert slack.post(body, sp.FORM, secret="wrong-secret") == 401
    assert slack.post(body, sp.FORM, timestamp=int(time.time()) - 6 * 60) == 401
    unsigned = urllib.request.Request(slack.base + "/slack/events", data=body, method="POST",
                                      headers={"content-type": sp.FORM})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(unsigned, timeout=5)
    assert error.value.code == 401
    for bad, kind in ((b"payload=not-json", sp.FORM), (b"payload=%5B1%2C2%5D", sp.FORM),
                      (b"[1, 2]", sp.JSON), (b"\xff\xfe", sp.FORM), (b"text=hello", sp.FORM)):
        assert slack.post(bad, kind) == 400, bad
    time.sleep(0.5)
    assert slack.mock.of("response_url") == []
    assert slack.post(body, sp.FORM) == 200
    slack.mock.wait_for("response_url")
    click = sp.block_action("itma_confirm", "confirm", user_id=SOPHIE, is_ephemeral=True,
                            response_url=slack.mock.response_url("r"))
    assert slack.post(click, sp.FORM) == 200
    assert slack.post(click, sp.FORM, headers={"X-Slack-Retry-Num": "1",
                                                "X-Slack-Retry-Reason": "http_timeout"}) == 200
    assert slack.post(click, sp.FORM, headers={"X-Slack-Retry-Num": "2"}) == 200
    slack.mock.wait_for("response_url", count=3)
    time.sleep(1.0)
    assert len(slack.mock.of("response_url")) == 3  # command, resolved, done: once
    assert enrollments(world) == 1


ADMIN = "UADMIN"


def _access_request(world: World) -> int:
    """An administrator linked to Slack, and one access request waiting for them."""
    with world.app.unit_of_work() as uow:
        admin = access.add_officer(uow, access.NewOfficer(
            "admin@ifa.example", "Ada Admin", nrn.generate(random.Random(99)), [],
            language="fr", roles=("admin",)))
        link_identity(uow, admin, "slack", "T1", ADMIN, via="test")
    with world.app.unit_of_work() as uow:
        request, _created = access.request_access(uow, access.NewAccessRequest(
            nrn=nrn.generate(random.Random(5), sex="F"), given_names="Ines", surname="Claes",
            email="ines.claes@fin.example", function="HR-adviseur", language="nl",
            organisations=["FIN"]))
        return request.id


def _access_state(world: World, request_id: int) -> RequestState:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.get_one(AccessRequest, request_id).state


def test_access_request_card_refused_by_an_administrator_not_by_an_officer(
        slack: Slack, world: World) -> None:
    request_id = _access_request(world)
    [card] = slack.mock.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == ADMIN)
    assert f"Demande d'accès n° {request_id}" in texts(card) and "Ines Claes" in texts(card)
    approve, refuse = buttons(card)
    assert (approve["action_id"], approve["value"]) == ("itma_request_approve",
                                                        f"access:{request_id}")
    body = sp.block_action("itma_request_approve", approve["value"], user_id=SOPHIE,
                           channel_id="D9", message_ts="1700000000.000900",
                           response_url=slack.mock.response_url("o"))
    assert slack.post(body, sp.FORM) == 200
    told = slack.mock.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == SOPHIE)
    assert "Seuls les administrateurs" in texts(told[-1])
    assert _access_state(world, request_id) == RequestState.PENDING
    click = sp.block_action("itma_request_refuse", refuse["value"], user_id=ADMIN,
                            channel_id="D1", message_ts="1700000000.000100",
                            response_url=slack.mock.response_url("card"),
                            message_blocks=card.params["blocks"], trigger_id="trigger-access")
    assert slack.post(click, sp.FORM) == 200
    [modal] = slack.mock.wait_for("views.open")
    submit = sp.view_submission("itma_refuse_modal",
                                {"reason": {"reason": {"type": "plain_text_input",
                                                       "value": "pas de mandat"}}},
                                user_id=ADMIN, private_metadata=modal.params["view"][
                                    "private_metadata"])
    assert slack.post(submit, sp.FORM) == 200
    [update] = slack.mock.wait_for("chat.update")
    assert update.params["ts"] == "1700000000.000100" and not buttons(update)
    assert "Refusée par Ada Admin" in texts(update) and "pas de mandat" in texts(update)
    told = slack.mock.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == ADMIN)
    assert f"Demande d'accès n° {request_id} refusée." in texts(told[-1])
    assert _access_state(world, request_id) == RequestState.REFUSED


def test_access_request_card_approved_in_one_click(slack: Slack, world: World) -> None:
    request_id = _access_request(world)
    slack.mock.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == ADMIN)
    body = sp.block_action("itma_request_approve", f"access:{request_id}", user_id=ADMIN,
                           channel_id="D1", message_ts="1700000000.000400",
                           response_url=slack.mock.response_url("a"))
    assert slack.post(body, sp.FORM) == 200
    [update] = slack.mock.wait_for("chat.update")
    assert "Approuvée par Ada Admin" in texts(update) and not buttons(update)
    assert _access_state(world, request_id) == RequestState.APPROVED
