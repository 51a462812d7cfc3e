"""The local Slack mock and payload builders are faithful to slack_sdk and slack_bolt."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.payload_utils import (
    is_action,
    is_event,
    is_slash_command,
    is_view_submission,
    to_action,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.support.slack_mock import SlackMock
from tests.support.slack_payloads import (
    FORM,
    JSON,
    app_mention,
    block_action,
    dm_message,
    event_callback,
    sign,
    slash_command,
    url_verification,
    view_submission,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "*Bonjour*"}},
    {"type": "actions", "block_id": "b1", "elements": [
        {"type": "button", "action_id": "enroll", "value": "42",
         "text": {"type": "plain_text", "text": "S'inscrire"}},
    ]},
]
VIEW: dict[str, Any] = {"type": "modal", "callback_id": "enroll",
                        "title": {"type": "plain_text", "text": "ITMA"}, "blocks": BLOCKS}


@pytest.fixture
def slack() -> Iterator[SlackMock]:
    with SlackMock() as mock:
        yield mock


def bolt_request(body: bytes, content_type: str) -> AsyncBoltRequest:
    return AsyncBoltRequest(body=body.decode(), headers={"content-type": [content_type]})


def test_web_client_calls_are_recorded_with_their_params(slack: SlackMock) -> None:
    async def scenario() -> dict[str, Any]:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        auth = await client.auth_test()
        posted = await client.chat_postMessage(channel="D1", text="Bonjour", blocks=BLOCKS)
        second = await client.chat_postMessage(channel="D1", text="Encore")
        await client.chat_update(channel="D1", ts=posted["ts"], text="Mis à jour", blocks=[])
        opened = await client.views_open(trigger_id="123.456.abc", view=VIEW)
        home = {"type": "home", "blocks": BLOCKS}
        published = await client.views_publish(user_id="U1", view=home)
        dm = await client.conversations_open(users="U1")
        user = await client.users_info(user="U7")
        return {"auth": auth.data, "posted": posted.data, "second": second.data,
                "opened": opened.data, "published": published.data, "dm": dm.data,
                "user": user.data}

    answers = asyncio.run(scenario())

    assert answers["auth"]["ok"] is True
    assert answers["auth"]["user_id"] == "UBOT" and answers["auth"]["team_id"] == "T1"
    posted = answers["posted"]
    assert posted["channel"] == "D1" and posted["message"]["blocks"] == BLOCKS
    assert float(answers["second"]["ts"]) > float(posted["ts"])
    assert answers["opened"]["view"]["id"] != answers["published"]["view"]["id"]
    assert answers["opened"]["view"]["callback_id"] == "enroll"
    assert answers["dm"]["channel"]["id"] == "DU1"
    assert answers["user"]["user"]["profile"]["email"] == "u7@example.be"
    assert answers["user"]["user"]["locale"] == "fr-BE"

    assert [call.method for call in slack.calls] == [
        "auth.test", "chat.postMessage", "chat.postMessage", "chat.update", "views.open",
        "views.publish", "conversations.open", "users.info",
    ]
    assert all(call.token == "xoxb-test" and call.error is None for call in slack.calls)
    first = slack.of("chat.postMessage")[0]
    assert first.params["channel"] == "D1" and first.params["text"] == "Bonjour"
    assert first.params["blocks"] == BLOCKS
    [update] = slack.of("chat.update")
    assert update.params["ts"] == posted["ts"] and update.params["blocks"] == []
    [opened] = slack.of("views.open")
    assert opened.params["trigger_id"] == "123.456.abc" and opened.params["view"] == VIEW
    [published] = slack.of("views.publish")
    assert published.params["user_id"] == "U1" and published.params["view"]["type"] == "home"
    [dm] = slack.of("conversations.open")
    assert dm.params["users"] == "U1"
    assert slack.wait_for("users.info", where=lambda c: c.params["user"] == "U7")


def test_form_encoded_json_fields_are_decoded(slack: SlackMock) -> None:
    async def scenario() -> None:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        await client.api_call("chat.postMessage", data={"channel": "C1",
                                                        "blocks": json.dumps(BLOCKS)})

    asyncio.run(scenario())
    [call] = slack.of("chat.postMessage")
    assert call.params == {"channel": "C1", "blocks": BLOCKS}


def test_fail_makes_the_sdk_raise_then_recovers(slack: SlackMock) -> None:
    slack.fail("chat.postMessage", "channel_not_found")
    slack.fail("views.open", "ratelimited")

    async def scenario() -> tuple[SlackApiError, SlackApiError, str]:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        with pytest.raises(SlackApiError) as not_found:
            await client.chat_postMessage(channel="C404", text="x")
        with pytest.raises(SlackApiError) as limited:
            await client.views_open(trigger_id="t", view=VIEW)
        ok = await client.chat_postMessage(channel="C1", text="x")
        return not_found.value, limited.value, ok["ts"]

    not_found, limited, ts = asyncio.run(scenario())
    assert not_found.response["error"] == "channel_not_found"
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "1"
    assert ts
    assert [call.error for call in slack.of("chat.postMessage")] == ["channel_not_found", None]


def test_missing_token_is_not_authed(slack: SlackMock) -> None:
    async def scenario() -> SlackApiError:
        with pytest.raises(SlackApiError) as error:
            await AsyncWebClient(base_url=slack.api_url).chat_postMessage(channel="C1", text="x")
        return error.value

    assert asyncio.run(scenario()).response["error"] == "not_authed"
    [call] = slack.of("chat.postMessage")
    assert call.token is None and call.error == "not_authed"


def test_response_url_posts_are_recorded_with_their_key(slack: SlackMock) -> None:
    request = urllib.request.Request(
        slack.response_url("abc"), method="POST",
        data=json.dumps({"text": "Inscrit", "replace_original": True}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200

    async def via_bolt_webhook() -> None:
        await AsyncWebhookClient(slack.response_url("def")).send(text="Via SDK", blocks=BLOCKS)

    asyncio.run(via_bolt_webhook())
    first, second = slack.wait_for("response_url", count=2)
    assert first.key == "abc" and first.params == {"text": "Inscrit", "replace_original": True}
    assert second.key == "def" and second.params["blocks"] == BLOCKS
    slack.clear()
    assert slack.calls == []


def test_wait_for_times_out_listing_calls_seen(slack: SlackMock) -> None:
    asyncio.run(AsyncWebClient(token="xoxb-test", base_url=slack.api_url).auth_test())
    with pytest.raises(AssertionError, match=r"(?s)chat\.postMessage.*auth\.test"):
        slack.wait_for("chat.postMessage", timeout=0.1)


def test_sign_is_accepted_by_slack_verifier_and_stale_is_rejected() -> None:
    verifier = SignatureVerifier(SECRET)
    body = event_callback(dm_message("bonjour", user_id="U1"))
    assert verifier.is_valid_request(body, sign(body, SECRET))
    stale = sign(body, SECRET, timestamp=int(time.time()) - 6 * 60)
    assert not verifier.is_valid_request(body, stale)
    assert not verifier.is_valid_request(body + b" ", sign(body, SECRET))
    assert not SignatureVerifier("other-secret").is_valid_request(body, sign(body, SECRET))


def test_slash_command_parses_back_to_its_fields() -> None:
    body = slash_command("inscrire Jan", user_id="U1", channel_id="D9",
                         response_url="http://127.0.0.1:1/response/c1", trigger_id="1.2.3")
    fields = {name: values[0] for name, values in parse_qs(body.decode()).items()}
    assert fields["text"] == "inscrire Jan" and fields["user_id"] == "U1"
    assert fields["channel_id"] == "D9" and fields["team_id"] == "T1"
    assert fields["command"] == "/itma" and fields["trigger_id"] == "1.2.3"
    assert fields["response_url"] == "http://127.0.0.1:1/response/c1"
    assert set(fields) == {
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    }
    assert is_slash_command(bolt_request(body, FORM).body)
    assert parse_qs(slash_command("x", user_id="U1", response_url="r").decode())["trigger_id"] \
        != parse_qs(slash_command("x", user_id="U1", response_url="r").decode())["trigger_id"]


def test_block_action_is_what_bolt_expects() -> None:
    body = block_action("enroll", "42", user_id="U1", response_url="http://x/response/k",
                        message_blocks=BLOCKS, thread_ts="1700000000.000001")
    request = bolt_request(body, FORM)
    assert request.body["type"] == "block_actions"
    assert is_action(request.body)
    action = to_action(request.body)
    assert action is not None
    assert action["action_id"] == "enroll" and action["value"] == "42"
    assert action["type"] == "button" and action["text"]["text"] == "S'inscrire"
    assert request.body["container"]["thread_ts"] == "1700000000.000001"
    assert request.body["message"]["blocks"] == BLOCKS
    assert request.context.user_id == "U1" and request.context.channel_id == "D1"

    select = bolt_request(block_action("pick", user_id="U1", response_url="r",
                                       selected_option="s2", is_ephemeral=True), FORM).body
    selected = to_action(select)
    assert selected is not None and selected["type"] == "static_select"
    assert selected["selected_option"]["value"] == "s2" and "message" not in select

    home = bolt_request(block_action("enroll", "42", user_id="U1",
                                     view={"id": "V9", "type": "home", "blocks": BLOCKS}), FORM)
    assert home.body["container"] == {"type": "view", "view_id": "V9"}
    assert home.body["view"]["type"] == "home"
    assert "message" not in home.body and "response_url" not in home.body


def test_view_submission_and_events_are_what_bolt_expects() -> None:
    values = {"who": {"name": {"type": "plain_text_input", "value": "Jan"}}}
    submitted = bolt_request(view_submission("enroll", values, user_id="U1",
                                             private_metadata="42"), FORM).body
    assert is_view_submission(submitted)
    assert submitted["view"]["state"]["values"] == values
    assert submitted["view"]["private_metadata"] == "42"

    event = bolt_request(event_callback(app_mention("aide", user_id="U1")), JSON).body
    assert is_event(event) and event["event"]["text"] == "<@UBOT> aide"
    assert event["authorizations"][0]["user_id"] == "UBOT"
    assert event_callback({"type": "x"}) != event_callback({"type": "x"})
    assert json.loads(url_verification("c0ffee")) == {
        "token": "legacy-verification-token", "challenge": "c0ffee", "type": "url_verification",
    }


def test_a_bolt_app_accepts_signed_requests_and_talks_to_the_mock(slack: SlackMock) -> None:
    async def scenario() -> list[tuple[int, str]]:
        app = AsyncApp(signing_secret=SECRET,
                       client=AsyncWebClient(token="xoxb-test", base_url=slack.api_url))

        @app.command("/itma")
        async def command(ack: Any, respond: Any, command: dict[str, Any]) -> None:
            await ack()
            await respond(text="ok " + command["text"])

        @app.action("enroll")
        async def enroll(ack: Any, respond: Any, action: dict[str, Any]) -> None:
            await ack()
            await respond(text="inscrit " + action["value"], replace_original=True)

        @app.event("message")
        async def message(event: dict[str, Any], say: Any) -> None:
            await say(text="echo " + event["text"])

        requests = [
            (slash_command("aide", user_id="U1", response_url=slack.response_url("c1")), FORM),
            (block_action("enroll", "42", user_id="U1", response_url=slack.response_url("a1")),
             FORM),
            (event_callback(dm_message("salut", user_id="U1")), JSON),
        ]
        statuses = []
        for body, content_type in requests:
            headers = {"content-type": content_type, **sign(body, SECRET)}
            response = await app.async_dispatch(
                AsyncBoltRequest(body=body.decode(), headers=headers))
            statuses.append((response.status, response.body))
        forged = slash_command("aide", user_id="U1", response_url=slack.response_url("x"))
        headers = {"content-type": FORM, **sign(forged, "not-the-secret")}
        response = await app.async_dispatch(AsyncBoltRequest(body=forged.decode(), headers=headers))
        statuses.append((response.status, ""))
        await asyncio.to_thread(slack.wait_for, "chat.postMessage")
        return statuses

    assert [status for status, _ in asyncio.run(scenario())] == [200, 200, 200, 401]
    replies = {call.key: call.params["text"] for call in slack.of("response_url")}
    assert replies == {"c1": "ok aide", "a1": "inscrit 42"}
    [said] = slack.of("chat.postMessage")
    assert said.params["channel"] == "D1" and said.params["text"] == "echo salut"
    assert slack.of("auth.test"), "Bolt authorizes with auth.test against the mock"
