"""Request bodies and signature headers built exactly as Slack sends them to an HTTP-mode app.

    body = slash_command("inscrire", user_id="U1", response_url=slack.response_url("c1"))
    headers = {"content-type": FORM, **sign(body, SIGNING_SECRET)}

Bodies are ``bytes`` (what goes on the wire and what is signed): slash commands are form fields,
interactions are ``payload=<json>`` form bodies, events are compact JSON. Ids that Slack makes up
(trigger ids, event ids, message ts, action ts) come from a counter plus randomness, so two builds
differ unless the caller passes the same values. Nothing happens at import time.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import random
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
VERIFICATION_TOKEN = "legacy-verification-token"  # the deprecated `token` field Slack still sends
API_APP_ID = "A1"
TEAM_DOMAIN = "itma-test"
BOT_USER_ID = "UBOT"
BOT_ID = "B1"

_counter = itertools.count(1)
_counter_lock = threading.Lock()
_T0 = int(time.time())


def _n() -> int:
    with _counter_lock:
        return next(_counter)


def _new_ts() -> str:
    """A unique, increasing message ts such as ``1764151800.042517``."""
    n = _n()
    return f"{_T0 + n // 1000}.{(n % 1000) * 1000 + random.randrange(1000):06d}"


def _trigger_id() -> str:
    return f"{_n()}{random.randrange(10**6):06d}.{random.randrange(10**9)}.{uuid.uuid4().hex}"


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _form(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": _dumps(payload)}).encode()


def _user(user_id: str, team_id: str) -> dict[str, Any]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return "general"


def _rich_text(text: str) -> list[dict[str, Any]]:
    return [{
        "type": "rich_text", "block_id": uuid.uuid4().hex[:5],
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }]


# -- signing ------------------------------------------------------------------------------------


def sign(body: bytes, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two signature headers Slack adds: ``x-slack-signature`` and its timestamp.

    ``x-slack-signature`` = ``"v0=" + hex(HMAC-SHA256(secret, f"v0:{timestamp}:{body}"))``;
    the timestamp defaults to now. The content-type header is the caller's business.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"x-slack-signature": f"v0={digest}", "x-slack-request-timestamp": str(ts)}


# -- slash commands -----------------------------------------------------------------------------


def slash_command(
    text: str,
    *,
    user_id: str,
    team_id: str = "T1",
    channel_id: str = "C1",
    command: str = "/itma",
    response_url: str,
    trigger_id: str | None = None,
) -> bytes:
    """The form body of a slash command, with every field Slack sends, in Slack's order."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": _channel_name(channel_id),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }
    return urlencode(fields).encode()


# -- interactivity ------------------------------------------------------------------------------


def _find_element(blocks: list[Any] | None, action_id: str) -> dict[str, Any] | None:
    """The element with ``action_id`` in ``blocks`` (actions elements, accessory, input)."""
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        candidates = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None


def _plain_text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _action(
    action_id: str,
    value: str | None,
    block_id: str,
    selected_option: str | None,
    blocks: list[Any] | None,
) -> dict[str, Any]:
    element = _find_element(blocks, action_id) or {}
    action: dict[str, Any] = {"action_id": action_id, "block_id": block_id}
    if selected_option is not None:
        label = selected_option
        for option in element.get("options", []):
            if isinstance(option, dict) and option.get("value") == selected_option:
                label = option.get("text", {}).get("text", label)
        action["selected_option"] = {"text": _plain_text(label), "value": selected_option}
        placeholder = element.get("placeholder")
        if isinstance(placeholder, dict):
            action["placeholder"] = placeholder
        action["type"] = "static_select"
    else:
        text = element.get("text")
        action["text"] = text if isinstance(text, dict) else _plain_text(value or action_id)
        if value is not None:
            action["value"] = value
        if isinstance(element.get("style"), str):
            action["style"] = element["style"]
        action["type"] = "button"
    action["action_ts"] = _action_ts()
    return action


def _full_view(view: dict[str, Any], team_id: str) -> dict[str, Any]:
    """A view as Slack echoes it in payloads: the caller's fields over Slack's defaults."""
    view_id = str(view.get("id") or "V1")
    defaults: dict[str, Any] = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal" if view.get("callback_id") else "home",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "hash": f"{_n()}.{uuid.uuid4().hex[:8]}",
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": API_APP_ID,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }
    return {**defaults, **view}


def block_action(
    action_id: str,
    value: str | None = None,
    *,
    user_id: str,
    team_id: str = "T1",
    channel_id: str = "D1",
    message_ts: str = "1700000000.000100",
    response_url: str | None = None,
    is_ephemeral: bool = False,
    thread_ts: str | None = None,
    selected_option: str | None = None,
    block_id: str = "b1",
    message_text: str = "",
    message_blocks: list[Any] | None = None,
    trigger_id: str | None = None,
    view: dict[str, Any] | None = None,
) -> bytes:
    """A ``block_actions`` form body: a button press (``value``) or a ``static_select`` choice.

    In a message (the default) the payload carries container/channel/message/response_url; the
    message is omitted for an ephemeral one, as Slack does. With ``view`` (App Home or modal) the
    container is the view, the payload carries ``view`` and, like Slack, neither channel, message
    nor response_url, so ``response_url`` is ignored there and required otherwise.
    """
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
    }
    if view is not None:
        full = _full_view(view, team_id)
        payload["container"] = {"type": "view", "view_id": full["id"]}
        payload["trigger_id"] = trigger_id or _trigger_id()
        payload["team"] = {"id": team_id, "domain": TEAM_DOMAIN}
        payload["enterprise"] = None
        payload["is_enterprise_install"] = False
        payload["view"] = full
        blocks = full.get("blocks")
    else:
        if response_url is None:
            raise ValueError("block_action in a message needs response_url")
        container: dict[str, Any] = {
            "type": "message", "message_ts": message_ts, "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        if thread_ts is not None:
            container["thread_ts"] = thread_ts
        payload["container"] = container
        payload["trigger_id"] = trigger_id or _trigger_id()
        payload["team"] = {"id": team_id, "domain": TEAM_DOMAIN}
        payload["enterprise"] = None
        payload["is_enterprise_install"] = False
        payload["channel"] = {"id": channel_id, "name": _channel_name(channel_id)}
        blocks = message_blocks
        if not is_ephemeral:
            message: dict[str, Any] = {
                "type": "message", "subtype": "bot_message", "user": BOT_USER_ID,
                "bot_id": BOT_ID, "app_id": API_APP_ID, "team": team_id,
                "ts": message_ts, "text": message_text, "blocks": message_blocks or [],
            }
            if thread_ts is not None:
                message["thread_ts"] = thread_ts
            payload["message"] = message
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url
    payload["actions"] = [_action(action_id, value, block_id, selected_option, blocks)]
    return _form(payload)


def view_submission(
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    user_id: str,
    team_id: str = "T1",
    private_metadata: str = "",
    view_id: str = "V1",
    trigger_id: str | None = None,
) -> bytes:
    """A ``view_submission`` form body; ``values`` is ``{block_id: {action_id: state}}``."""
    view = _full_view({
        "id": view_id, "type": "modal", "callback_id": callback_id,
        "private_metadata": private_metadata, "state": {"values": values},
        "title": _plain_text("ITMA"), "submit": _plain_text("OK"), "close": _plain_text("Annuler"),
    }, team_id)
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _form(payload)


# -- Events API ---------------------------------------------------------------------------------


def event_callback(
    event: dict[str, Any],
    *,
    team_id: str = "T1",
    event_id: str | None = None,
    event_time: int | None = None,
) -> bytes:
    """The JSON body of an Events API delivery wrapping ``event``."""
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{_n():04d}{uuid.uuid4().hex[:6].upper()}",
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [{
            "enterprise_id": None, "team_id": team_id, "user_id": BOT_USER_ID,
            "is_bot": True, "is_enterprise_install": False,
        }],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }
    return _dumps(body).encode()


def dm_message(text: str, *, user_id: str, channel: str = "D1", ts: str | None = None) -> dict:
    """A ``message.im`` event: a user writing to the app in its DM."""
    stamp = ts or _new_ts()
    return {
        "type": "message", "client_msg_id": str(uuid.uuid4()), "text": text, "user": user_id,
        "ts": stamp, "blocks": _rich_text(text), "channel": channel, "event_ts": stamp,
        "channel_type": "im",
    }


def file_share(
    files: list[dict[str, Any]],
    *,
    user_id: str,
    channel: str = "D1",
    text: str = "",
    ts: str | None = None,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
) -> dict:
    """A ``message`` event with subtype ``file_share``: files (objects as Slack gives them,
    e.g. ``SlackMock.add_file``) dropped in the app's DM, or in a channel (a thread of it)."""
    stamp = ts or _new_ts()
    event: dict[str, Any] = {
        "type": "message", "subtype": "file_share", "text": text, "files": files,
        "upload": False, "user": user_id, "display_as_bot": False, "ts": stamp,
        "channel": channel, "event_ts": stamp,
        "channel_type": "im" if channel.startswith("D") else "channel",
    }
    if text:
        event["blocks"] = _rich_text(text)
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = parent_user_id or BOT_USER_ID
    return event


def file_shared(file_id: str, *, user_id: str, channel: str = "D1") -> dict:
    """A ``file_shared`` event: only ids; the app asks files.info for the rest."""
    return {"type": "file_shared", "channel_id": channel, "file_id": file_id,
            "user_id": user_id, "file": {"id": file_id}, "event_ts": _new_ts()}


def app_mention(
    text: str,
    *,
    user_id: str,
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict:
    """An ``app_mention`` event; the text starts with ``<@UBOT> `` as Slack writes it."""
    mention = f"<@{BOT_USER_ID}>"
    full = text if text.startswith(mention) else f"{mention} {text}"
    stamp = ts or _new_ts()
    event: dict[str, Any] = {
        "type": "app_mention", "client_msg_id": str(uuid.uuid4()), "text": full,
        "user": user_id, "ts": stamp, "blocks": _rich_text(full), "channel": channel,
        "event_ts": stamp,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def app_home_opened(user_id: str) -> dict:
    """An ``app_home_opened`` event for the Home tab (channel is the user's DM with the app)."""
    return {
        "type": "app_home_opened", "user": user_id, "channel": "D" + user_id, "tab": "home",
        "event_ts": _new_ts(),
    }


def url_verification(challenge: str) -> bytes:
    """The JSON body Slack posts once to check the Events API request URL."""
    return _dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    ).encode()
