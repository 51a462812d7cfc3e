"""Teams end to end: Bot Framework activities into the running `serve`, connector calls out.

No Microsoft cloud, but the Bot Framework's wire format both ways: activities posted to
/api/messages as Teams posts them (messages, `adaptiveCard/action` invokes, Action.Submit
messages, conversationUpdate), and every message, card update and new conversation the bot
sends recorded by a local Bot Connector (the activities' serviceUrl).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core import nrn
from core.models import (
    AccessRequest,
    ChatIdentity,
    Enrollment,
    LinkToken,
    OutboxMessage,
    RegistrationRequest,
    RequestState,
    TeamsConversation,
)
from core.services import access, links, requests
from core.services.access import link_identity, officer_by_email
from tests.conftest import World
from tests.integration.test_http_limits import BIG, chunked, raw_post, zeros
from tests.integration.test_links import identity
from tests.support import teams_activities as ta
from tests.support.server import serve
from tests.support.teams_connector import Call, TeamsConnector, card_texts

TENANT = "72f988bf-0000-4000-8000-00000000beef"
SOPHIE = ta.Person(TENANT, "aad-sophie", "Sophie Lambert")
EMMA = ta.Person(TENANT, "aad-emma", "Emma Wouters")
LUC = ta.Person(TENANT, "aad-luc", "Luc Dubois")
STRANGER = ta.Person(TENANT, "aad-stranger", "Nick Stranger")
CARD = "application/vnd.microsoft.card.adaptive"


class Teams:
    """Talks to serve the way Teams does; reads what serve sent to the connector."""

    def __init__(self, base: str, connector: TeamsConnector) -> None:
        self.base = base
        self.connector = connector

    def post(self, activity: dict[str, Any], token: str | None = None,
             raw: bytes | None = None) -> tuple[int, Any]:
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base + "/api/messages", method="POST",
                                         data=raw if raw is not None else
                                         json.dumps(activity).encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                body = answer.read()
                return answer.status, json.loads(body) if body else None
        except urllib.error.HTTPError as error:
            body = error.read()
            return error.code, json.loads(body) if body else None

    def posts(self, conversation: str) -> list[Call]:
        return self.connector.of("create", lambda c: c.conversation_id == conversation)

    def say(self, text: str, person: ta.Person = SOPHIE, **kw: Any) -> Call:
        """A message in the person's 1:1 chat; the one message posted back there."""
        before = len(self.posts(person.chat))
        status, body = self.post(ta.message(text, person, service_url=self.connector.url, **kw))
        assert (status, body) == (200, None)
        return self.connector.wait_for("create", before + 1,
                                       where=lambda c: c.conversation_id == person.chat)[before]

    def click(self, card: dict[str, Any], title: str, person: ta.Person = SOPHIE,
              inputs: dict[str, str] | None = None, follow: bool = True, chat: str | None = None,
              **kw: Any) -> tuple[dict[str, Any], Call | None]:
        """Click a button (Action.Execute) on a card in the person's 1:1 chat (`chat` if not
        the usual one): the invoke's answer, and what was posted there after it."""
        chat = chat or person.chat
        before = len(self.posts(chat))
        status, answer = self.post(ta.click(ta.button(card, title), person, chat=chat,
                                            service_url=self.connector.url, inputs=inputs, **kw))
        assert status == 200, answer
        if not follow:
            return answer, None
        return answer, self.connector.wait_for(
            "create", before + 1, where=lambda c: c.conversation_id == chat)[before]


def texts(card: dict[str, Any] | None) -> str:
    return "\n".join(card_texts(card or {}))


def titles(card: dict[str, Any] | None) -> list[str]:
    return [str(a.get("title")) for a in ta.actions(card or {})]


def choices(card: dict[str, Any] | None) -> list[dict[str, str]]:
    return [choice for element in (card or {}).get("body") or []
            if element.get("type") == "Input.ChoiceSet" for choice in element["choices"]]


def shown(answer: dict[str, Any]) -> dict[str, Any]:
    """The card an Action.Execute answer puts in place of the clicked one."""
    assert answer["statusCode"] == 200 and answer["type"] == CARD, answer
    return dict(answer["value"])


def environment(world: World, connector: TeamsConnector, **extra: str) -> dict[str, str]:
    settings = world.app.settings
    return {"ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
            "ITMA_SECRET_KEY": settings.secret_key.decode(),
            "ITMA_TEAMS_SERVICE_URL": connector.url, **extra}


@pytest.fixture
def teams(world: World) -> Iterator[Teams]:
    with world.app.unit_of_work() as uow:
        for email, person in ((world.officer, SOPHIE), (world.en_officer, EMMA),
                              (world.expired_officer, LUC)):
            link_identity(uow, officer_by_email(uow, email), "teams", TENANT, person.aad,
                          via="test")
    with TeamsConnector() as connector, serve(environment(
            world, connector, ITMA_TEAMS_ALLOW_UNAUTHENTICATED="1")) as base:
        # this process queues notifications too (requests, links): for Teams, as serve would
        world.app.settings = dataclasses.replace(world.app.settings,
                                                 teams_allow_unauthenticated=True)
        yield Teams(base, connector)


def count(world: World, model: Any) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


SESSION_CARD_TEXT = "BOSA-101 « Gestion du temps » — quelle session ?"


def test_enroll_with_session_choice_and_confirmation(teams: Teams, world: World) -> None:
    first = teams.say("inscrire Peeters BOSA-101")
    assert first.body["type"] == "message" and first.body["from"] == {"id": ta.BOT["id"]}
    assert first.body["summary"] == SESSION_CARD_TEXT
    data = {"itma": "choose", "card": SESSION_CARD_TEXT,
            "labels": {"1": "12/03/2027 — Bruxelles — 3 places libres",
                       "2": "20/04/2027 — Gent — 10 places libres"}}
    execute = {"type": "Action.Execute", "title": "Choisir", "style": "positive",
               "data": data, "associatedInputs": "auto", "verb": "choose",
               "fallback": {"type": "Action.Submit", "title": "Choisir", "style": "positive",
                            "data": data, "associatedInputs": "auto"}}
    cancel_data = {"itma": "cancel", "card": SESSION_CARD_TEXT}
    cancel = {"type": "Action.Execute", "title": "Annuler", "data": cancel_data,
              "associatedInputs": "none", "verb": "cancel",
              "fallback": {"type": "Action.Submit", "title": "Annuler", "data": cancel_data,
                           "associatedInputs": "none"}}
    assert first.card == {
        "type": "AdaptiveCard", "version": "1.5", "fallbackText": SESSION_CARD_TEXT,
        "body": [
            {"type": "TextBlock", "text": "BOSA-101 « Gestion du temps » — quelle session ?",
             "wrap": True},
            {"type": "Input.ChoiceSet", "id": "choice", "isRequired": True,
             "errorMessage": "Choisissez d'abord une option.", "style": "expanded",
             "wrap": True, "choices": [
                 {"title": "1. 12/03/2027 — Bruxelles — 3 places libres", "value": "1"},
                 {"title": "2. 20/04/2027 — Gent — 10 places libres", "value": "2"}]}],
        "actions": [execute, cancel]}
    answer, confirm = teams.click(first.card, "Choisir", inputs={"choice": "1"})
    assert shown(answer) == {
        "type": "AdaptiveCard", "version": "1.5",
        "fallbackText": "Votre choix : 1. 12/03/2027 — Bruxelles — 3 places libres",
        "body": [{"type": "TextBlock", "text": SESSION_CARD_TEXT, "wrap": True},
                 {"type": "TextBlock", "separator": True, "isSubtle": True, "wrap": True,
                  "text": "Votre choix : 1. 12/03/2027 — Bruxelles — 3 places libres"}]}
    assert confirm is not None and "Peeters Jan" in texts(confirm.card)
    assert titles(confirm.card) == ["Confirmer", "Annuler"]
    assert count(world, Enrollment) == 0
    answer, done = teams.click(confirm.card, "Confirmer")
    assert texts(shown(answer)).endswith("Confirmé") and not titles(shown(answer))
    assert done is not None
    assert "Peeters Jan est inscrit à BOSA-101 (12/03/2027, Bruxelles) — 2 places" in texts(
        done.card)
    assert not titles(done.card)
    assert count(world, Enrollment) == 1


def test_homonym_choice_shows_the_distinguishing_details(teams: Teams, world: World) -> None:
    first = teams.say("inscrire dupont BOSA-101 20/04")
    people = choices(first.card)
    assert len(people) == 2
    marie = next(c for c in people if "Dupont Marie" in c["title"])
    assert "1985" in marie["title"] and "85.03.14-xxx.xx" in marie["title"]
    assert "BOSA" in marie["title"] and "DG Test" in marie["title"]
    answer, confirm = teams.click(first.card, "Choisir", inputs={"choice": marie["value"]})
    assert texts(shown(answer)).endswith(f"Votre choix : {marie['title']}")
    assert confirm is not None
    _answer, done = teams.click(confirm.card, "Confirmer")
    assert done is not None and "Dupont Marie est inscrite" in texts(done.card)


def test_seats_participants_report_and_unenroll(teams: Teams, world: World) -> None:
    confirm = teams.say("inscrire Peeters BOSA-101 12/03")
    teams.click(confirm.card, "Confirmer")
    assert "12/03/2027 — Bruxelles — 2 places libres" in texts(teams.say("places BOSA-101").card)
    assert "Peeters Jan (BOSA) — inscrit·e" in texts(teams.say("inscrits BOSA-101 12/03").card)
    report = texts(teams.say("rapport peeters").card)
    assert "Inscriptions (1)" in report and "BOSA-101" in report
    confirm = teams.say("désinscrire Peeters")
    assert "12/03/2027" in texts(confirm.card) and titles(confirm.card) == ["Confirmer",
                                                                             "Annuler"]
    _answer, done = teams.click(confirm.card, "Confirmer")
    assert done is not None
    assert texts(done.card).startswith("Peeters Jan est désinscrit de BOSA-101 (12/03/2027)")
    assert "Annulations (1)" in texts(teams.say("rapport peeters").card)
    cancelled = teams.say("inscrire Peeters BOSA-101 12/03")
    answer, after = teams.click(cancelled.card, "Annuler")
    assert texts(shown(answer)).endswith("Annulé") and after is not None
    assert count(world, Enrollment) == 1


def test_a_channel_mention_is_answered_privately(teams: Teams, world: World) -> None:
    channel = ta.Channel(TENANT)
    activity = ta.message("inscrire dupont BOSA-101 20/04", SOPHIE,
                          service_url=teams.connector.url, channel=channel,
                          thread="1700000000123")
    assert teams.post(activity) == (200, None)
    [opened] = teams.connector.wait_for("conversation")
    assert opened.body["members"] == [{"id": SOPHIE.id}]
    assert opened.body["tenantId"] == TENANT and opened.body["isGroup"] is False
    private = f"a:opened-{SOPHIE.id}"
    [card] = teams.connector.wait_for("create", where=lambda c: c.conversation_id == private)
    assert "Dupont Marie" in json.dumps(card.card, ensure_ascii=False)
    thread = f"{channel.id};messageid=1700000000123"
    [line] = teams.connector.wait_for("create", where=lambda c: c.conversation_id == thread)
    assert line.body["text"] == "<at>Sophie Lambert</at>, je vous ai répondu en message privé."
    assert line.body["entities"] == [{"type": "mention", "text": "<at>Sophie Lambert</at>",
                                      "mentioned": {"id": SOPHIE.id, "name": "Sophie Lambert"}}]
    assert "Dupont" not in json.dumps(line.body, ensure_ascii=False)
    with world.app.unit_of_work(readonly=True) as uow:
        rows = {(r.kind, r.user_ref, r.conversation_id, r.name)
                for r in uow.session.scalars(select(TeamsConversation))}
    assert rows == {("personal", SOPHIE.aad, private, None),
                    ("channel", None, channel.id, "Formation BOSA / Général")}
    again = ta.message("places BOSA-101", SOPHIE, service_url=teams.connector.url,
                       channel=channel, thread="1700000000124")
    assert teams.post(again) == (200, None)
    teams.connector.wait_for("create", 2, where=lambda c: c.conversation_id == private)
    assert len(teams.connector.of("conversation")) == 1  # the 1:1 chat is remembered


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


def _delivered(world: World) -> list[tuple[str, str]]:
    with world.app.unit_of_work(readonly=True) as uow:
        return [(m.to_address, str(m.state)) for m in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "teams"))]


def test_request_cards_reach_officers_and_are_decided_once(teams: Teams, world: World) -> None:
    assert teams.post(ta.conversation_update(SOPHIE, service_url=teams.connector.url)) == (
        200, None)
    request_id = _request(world)
    sophie = teams.connector.wait_for("create", where=lambda c: c.conversation_id
                                      == SOPHIE.chat)[0]
    [opened] = teams.connector.wait_for("conversation")  # Emma never wrote: a chat is opened
    assert opened.body["members"] == [{"id": EMMA.aad}]
    assert opened.body["channelData"] == {"tenant": {"id": TENANT}}
    emma = teams.connector.wait_for("create", where=lambda c: c.conversation_id
                                    == f"a:opened-{EMMA.aad}")[0]
    card = sophie.card
    assert card is not None and card["body"][0]["weight"] == "Bolder"
    assert card_texts(card)[0] == "📝 Nouvelle inscription — SPF BOSA"
    assert "Mertens Julie" in texts(card)
    assert [e["type"] for e in card["body"]][-1] == "Input.Text"
    assert card["body"][-1] == {"type": "Input.Text", "id": "reason",
                                "label": "Raison (envoyée au demandeur)", "isRequired": True,
                                "errorMessage": "Indiquez la raison du refus : elle est "
                                                "envoyée au demandeur.",
                                "maxLength": 400.0, "isMultiline": True}
    approve, refuse = ta.actions(card)
    assert (approve["title"], approve["data"], approve["associatedInputs"]) == (
        "Approuver", {"itma": f"approve:{request_id}"}, "none")
    assert (refuse["title"], refuse["data"], refuse["associatedInputs"], refuse["style"]) == (
        "Refuser", {"itma": f"refuse:{request_id}"}, "auto", "destructive")
    assert "Mertens Julie" in texts(emma.card) and "New registration" in texts(emma.card)
    assert _state(world, request_id).state == RequestState.PENDING
    answer, told = teams.click(card, "Refuser", inputs={"reason": "session complète"})
    decided = shown(answer)
    assert "Refusée par Sophie Lambert" in texts(decided) and "session complète" in texts(
        decided)
    assert not titles(decided) and "Input.Text" not in json.dumps(decided)
    assert told is not None and f"#{request_id} refusée" in texts(told.card)
    state = _state(world, request_id)
    assert state.state == RequestState.REFUSED and state.reason == "session complète"
    late, told = teams.click(emma.card, "Approve", person=EMMA, chat=emma.conversation_id)
    assert "Refused by Sophie Lambert" in texts(shown(late))
    assert told is not None and "already refused by Sophie Lambert" in texts(told.card)
    assert _state(world, request_id).state == RequestState.REFUSED
    assert eventually(lambda: sorted(_delivered(world)), [(f"{TENANT}:{EMMA.aad}", "sent"),
                                                          (f"{TENANT}:{SOPHIE.aad}", "sent")])


def test_approve_and_refusals_for_who_may_not_decide(teams: Teams, world: World) -> None:
    request_id = _request(world)
    teams.connector.wait_for("create", 2)
    card = teams.connector.of("create")[0].card
    assert card is not None
    for person, expected in ((STRANGER, "pas encore lié"), (LUC, "n'est plus valable")):
        answer, _ = teams.click(card, ta.button(card, "Approuver")["title"], person=person,
                                follow=False)
        assert answer["statusCode"] == 200
        assert answer["type"] == "application/vnd.microsoft.activity.message"
        assert expected in answer["value"]
    assert _state(world, request_id).state == RequestState.PENDING
    answer, told = teams.click(card, "Approuver")
    assert "Approuvée par Sophie Lambert" in texts(shown(answer))
    assert told is not None and f"#{request_id}" in texts(told.card)
    assert _state(world, request_id).state == RequestState.APPROVED


def test_unlinked_expired_and_link(teams: Teams, world: World) -> None:
    unlinked = teams.say("inscrire Peeters BOSA-101", person=STRANGER)
    assert "pas encore lié" in texts(unlinked.card) and not titles(unlinked.card)
    expired = teams.say("places BOSA-101", person=LUC)
    assert "n'est plus valable" in texts(expired.card) and "Bruxelles" not in texts(
        expired.card)
    link = teams.say("lier", person=STRANGER)
    [open_url] = ta.actions(link.card or {})
    url = str(open_url["url"])
    assert open_url["type"] == "Action.OpenUrl"
    assert url.startswith(world.app.settings.public_url + "/link/") and url in texts(link.card)
    with world.app.unit_of_work(readonly=True) as uow:
        token = uow.session.scalars(select(LinkToken)).one()
        assert (token.platform, token.workspace, token.user_ref) == ("teams", TENANT,
                                                                      STRANGER.aad)
    with world.app.unit_of_work() as uow:  # the stranger's card: they are Hanne Claes
        from core.services.access import NewOfficer, add_officer
        from tests.integration.test_links import NRN
        add_officer(uow, NewOfficer("hanne@bosa.example", "Hanne Claes", NRN, ["BOSA"]))
    with world.app.unit_of_work() as uow:
        links.complete(uow, url.rsplit("/", 1)[1], identity())
    notice = teams.connector.wait_for("create", 3, where=lambda c: c.conversation_id
                                      == STRANGER.chat)[-1]
    assert "maintenant lié à Hanne Claes" in texts(notice.card)
    assert "Hanne" in texts(teams.say("aide", person=STRANGER).card)


def test_redelivered_activities_have_one_effect(teams: Teams, world: World) -> None:
    first = ta.message("inscrire Peeters BOSA-101 12/03", SOPHIE,
                       service_url=teams.connector.url, activity_id="1700000000555")
    for _ in range(3):
        assert teams.post(first) == (200, None)
    [confirm] = teams.connector.wait_for("create")
    click = ta.click(ta.button(confirm.card or {}, "Confirmer"), SOPHIE,
                     service_url=teams.connector.url, activity_id="f:redelivered")
    answers = [teams.post(click) for _ in range(3)]
    assert all(status == 200 for status, _ in answers)
    assert answers[0][1] == answers[1][1] == answers[2][1]
    assert texts(shown(answers[0][1])).endswith("Confirmé")
    teams.connector.wait_for("create", 2)
    time.sleep(1.0)
    assert len(teams.connector.of("create")) == 2  # the card, the result: once each
    assert count(world, Enrollment) == 1


def test_older_clients_click_with_action_submit(teams: Teams, world: World) -> None:
    first = teams.say("inscrire Peeters BOSA-101")
    submitted = ta.submit(ta.button(first.card or {}, "Choisir"), SOPHIE,
                          service_url=teams.connector.url, inputs={"choice": "2"},
                          reply_to_id="act-1")
    assert teams.post(submitted) == (200, None)
    [update] = teams.connector.wait_for("update")
    assert (update.conversation_id, update.activity_id) == (SOPHIE.chat, "act-1")
    assert texts(update.card).endswith("Votre choix : 2. 20/04/2027 — Gent — 10 places libres")
    assert not titles(update.card)
    confirm = teams.connector.wait_for("create", 2)[-1]
    assert "20/04/2027" in texts(confirm.card) and titles(confirm.card) == ["Confirmer",
                                                                             "Annuler"]
    request_id = _request(world)
    card = teams.connector.wait_for("create", 2, where=lambda c: "Nouvelle inscription"
                                    in texts(c.card) or "New registration" in texts(c.card))
    mine = next(c for c in card if c.conversation_id == SOPHIE.chat)
    submitted = ta.submit(ta.button(mine.card or {}, "Refuser"), SOPHIE,
                          service_url=teams.connector.url, inputs={"reason": "trop tard"},
                          reply_to_id="act-9")
    assert teams.post(submitted) == (200, None)
    update = teams.connector.wait_for("update", 2)[-1]
    assert update.activity_id == "act-9" and "Refusée par Sophie Lambert" in texts(update.card)
    assert _state(world, request_id).reason == "trop tard"


def test_installs_remember_conversations_and_channels_get_cards(teams: Teams,
                                                                world: World) -> None:
    assert teams.post(ta.installation_update(SOPHIE, service_url=teams.connector.url)) == (
        200, None)
    channel = ta.Channel(TENANT)
    assert teams.post(ta.conversation_update(SOPHIE, service_url=teams.connector.url,
                                             channel=channel)) == (200, None)
    with world.app.unit_of_work(readonly=True) as uow:
        rows = {(r.kind, r.conversation_id, r.service_url)
                for r in uow.session.scalars(select(TeamsConversation))}
    assert rows == {("personal", SOPHIE.chat, teams.connector.url),
                    ("channel", channel.id, teams.connector.url)}
    cli = _cli(world)
    listed = json.loads(cli("teams", "channels", "--json").stdout)
    assert listed == [{"tenant": TENANT, "conversation": channel.id,
                       "name": "Formation BOSA / Général", "organisation": None}]
    assert "BOSA" in cli("teams", "channel", channel.id, "--org", "BOSA").stdout
    _request(world)  # notify_officers queues the card for the organisation's channel too
    [posted] = teams.connector.wait_for("create", where=lambda c: c.conversation_id
                                        == channel.id)
    assert "Mertens Julie" in texts(posted.card) and titles(posted.card) == ["Approuver",
                                                                              "Refuser"]


def test_malformed_bodies_and_connector_failures(teams: Teams, world: World) -> None:
    for raw in (b"not json", b"[1, 2]", b'{"no": "type"}', b"\xff\xfe"):
        assert teams.post({}, raw=raw)[0] == 400, raw
    json_type = {"content-type": "application/json"}
    assert raw_post(teams.base, "/api/messages", {**json_type, "content-length": str(BIG)},
                    zeros(BIG)) == 413
    assert raw_post(teams.base, "/api/messages", {**json_type, "transfer-encoding": "chunked"},
                    chunked(BIG)) == 413
    teams.connector.fail("create", 503)  # the connector down: tried again later
    _request(world)
    posts = teams.connector.wait_for("create", 2)
    assert sorted(p.status for p in posts) == [200, 503]
    assert eventually(lambda: _settled(world), [("pending", "Bot Connector answered 503"),
                                                ("sent", "")])
    teams.connector.fail("create", 403, times=2)  # the app blocked: never tried again
    with world.app.unit_of_work() as uow:
        requests.submit(uow, {
            "external_id": "web-2", "wants": {"kind": "mailing_list"},
            "person": {"surname": "Goossens", "given_names": "An", "language": "nl",
                       "email": "an.goossens@example.be", "organisation": "BOSA"}})
    teams.connector.wait_for("create", 4)
    refused = ("failed", "Bot Connector refused the message (403)")
    assert eventually(lambda: [r for r in _settled(world) if r[0] == "failed"], [refused] * 2)


def _settled(world: World) -> list[tuple[str, str]]:
    with world.app.unit_of_work(readonly=True) as uow:
        rows = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "teams"))
        return sorted((str(r.state), r.last_error or "") for r in rows)


def eventually(read: Any, expected: Any, timeout: float = 10.0) -> bool:
    """True once read() == expected (the outbox worker settles rows after posting them)."""
    deadline = time.monotonic() + timeout
    while (found := read()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{found!r} != {expected!r}")
        time.sleep(0.05)
    return True


def _cli(world: World) -> Any:
    settings = world.app.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITMA_")}
    env.update(ITMA_HOME=str(settings.home), ITMA_DATABASE_URL=settings.database_url,
               ITMA_SECRET_KEY=settings.secret_key.decode(), LANG="C.UTF-8",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True,
                              text=True, timeout=60, env=env)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return done

    return run


def test_cli_links_a_teams_account_that_then_talks(world: World) -> None:
    cli = _cli(world)
    url = cli("link", "url", "--teams", f"{TENANT}:{STRANGER.aad}").stdout.strip()
    assert url.startswith(world.app.settings.public_url + "/link/")
    done = cli("officers", "link", "--email", world.officer, "--teams",
               f"{TENANT}:{STRANGER.aad}")
    assert STRANGER.aad in done.stdout
    with world.app.unit_of_work(readonly=True) as uow:
        linked = uow.session.scalars(select(ChatIdentity)).one()
    assert (linked.platform, linked.workspace, linked.user_ref) == ("teams", TENANT,
                                                                    STRANGER.aad)
    with TeamsConnector() as connector, serve(environment(
            world, connector, ITMA_TEAMS_ALLOW_UNAUTHENTICATED="1")) as base:
        reply = Teams(base, connector).say("aide", person=STRANGER)
    assert "Bonjour Sophie" in texts(reply.card)


def test_activities_are_authenticated_as_the_sdk_does(world: World) -> None:
    signer, intruder = ta.Signer(), ta.Signer()
    foreign = ta.Signer(kid=signer.kid)  # the same key id, another key
    with world.app.unit_of_work() as uow:
        link_identity(uow, officer_by_email(uow, world.officer), "teams", TENANT, SOPHIE.aad,
                      via="test")
    with TeamsConnector(jwks=signer.jwks) as connector, serve(environment(
            world, connector, ITMA_TEAMS_APP_ID=ta.APP_ID,
            ITMA_TEAMS_APP_PASSWORD="secret-for-tests",
            ITMA_TEAMS_OPENID_URL=connector.openid_url)) as base:
        world.app.settings = dataclasses.replace(world.app.settings, teams_app_id=ta.APP_ID,
                                                 teams_app_password="secret-for-tests")
        client = Teams(base, connector)
        request_id = _request(world)
        card = {"actions": [{"type": "Action.Execute", "title": "Approuver", "verb": "approve",
                             "data": {"itma": f"approve:{request_id}"},
                             "associatedInputs": "none"}]}
        click = ta.click(ta.button(card, "Approuver"), SOPHIE, service_url=connector.url)
        connector.keys_available = False
        assert client.post(click, signer.token(connector.url))[0] == 401  # fail closed
        assert connector.key_fetches >= 1
        connector.keys_available = True
        assert client.post(click)[0] == 401
        assert client.post(click, "not-a-jwt")[0] == 401
        assert client.post(click, foreign.token(connector.url))[0] == 401
        assert client.post(click, intruder.token(connector.url))[0] == 401
        assert client.post(click, signer.token(connector.url, audience="another-bot"))[0] == 401
        assert client.post(click, signer.token("https://elsewhere.example"))[0] == 401
        assert client.post(click, signer.token(connector.url, lifetime=-600))[0] == 401
        assert _state(world, request_id).state == RequestState.PENDING
        status, answer = client.post(click, signer.token(connector.url))
    assert status == 200 and "Approuvée par Sophie Lambert" in texts(shown(answer))
    assert _state(world, request_id).state == RequestState.APPROVED


def test_unconfigured_teams_answers_401() -> None:
    import asyncio

    import httpx

    from bot.web import create_app

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://itma") as client:
            return await client.post("/api/messages", json={"type": "message"})

    assert asyncio.run(post()).status_code == 401


ADMIN = ta.Person(TENANT, "aad-admin", "Ada Admin")


def test_access_request_card_for_administrators_only(teams: Teams, world: World) -> None:
    with world.app.unit_of_work() as uow:
        admin = access.add_officer(uow, access.NewOfficer(
            "admin@ifa.example", "Ada Admin", nrn.generate(random.Random(99)), [],
            language="fr", roles=("admin",)))
        link_identity(uow, admin, "teams", TENANT, ADMIN.aad, via="test")
    with world.app.unit_of_work() as uow:
        request, _created = access.request_access(uow, access.NewAccessRequest(
            nrn=nrn.generate(random.Random(5), sex="F"), given_names="Ines", surname="Claes",
            email="ines.claes@fin.example", function="HR-adviseur", language="nl",
            organisations=["FIN"]))
        request_id = request.id
    posted = teams.connector.wait_for("create", where=lambda c: c.conversation_id
                                      == f"a:opened-{ADMIN.aad}")[0]
    card = posted.card
    assert card is not None and f"Demande d'accès n° {request_id}" in texts(card)
    approve, refuse = ta.actions(card)
    assert approve["data"] == {"itma": f"access-approve:{request_id}"}
    assert refuse["data"] == {"itma": f"access-refuse:{request_id}"}
    answer, _ = teams.click(card, "Approuver", person=SOPHIE, follow=False)
    assert answer["type"] == "application/vnd.microsoft.activity.message"
    assert "Seuls les administrateurs" in answer["value"]
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.get_one(AccessRequest, request_id).state == RequestState.PENDING
    answer, told = teams.click(card, "Refuser", person=ADMIN, chat=posted.conversation_id,
                               inputs={"reason": "pas de mandat"})
    decided = shown(answer)
    assert "Refusée par Ada Admin" in texts(decided) and "pas de mandat" in texts(decided)
    assert not titles(decided)
    assert told is not None and f"Demande d'accès n° {request_id} refusée." in texts(told.card)
    with world.app.unit_of_work(readonly=True) as uow:
        found = uow.session.get_one(AccessRequest, request_id)
        assert found.state == RequestState.REFUSED and found.reason == "pas de mandat"
    again, _ = teams.click(card, "Approuver", person=ADMIN, chat=posted.conversation_id,
                           follow=False)
    assert "Refusée par Ada Admin" in texts(shown(again))
