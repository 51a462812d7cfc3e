"""Bot Framework activities built as Teams sends them to a bot, and the tokens that sign them.

    person = Person("TENANT1", "aad-sophie", "Sophie Lambert")
    body = message("places BOSA-101", person, service_url=connector.url)
    headers = {"authorization": f"Bearer {signer.token(connector.url)}"}

Activities are dicts (what goes on the wire as JSON): messages in a personal chat or as an
@mention in a channel, `adaptiveCard/action` invokes from Action.Execute buttons (the card's
`data` merged with its input values, as the client does), messages carrying `value` from
Action.Submit buttons, `conversationUpdate` and `installationUpdate`. Ids come from a counter
plus randomness, so two builds differ unless the caller passes the same id. `Signer` makes the
RSA key, its JSON Web Key Set, and the connector's JWTs. Nothing happens at import time.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

APP_ID = "00000000-0000-4000-8000-00000000b07"
BOT = {"id": f"28:{APP_ID}", "name": "ITMA"}
ISSUER = "https://api.botframework.com"

_counter = itertools.count(1)
_lock = threading.Lock()


def _n() -> int:
    with _lock:
        return next(_counter)


@dataclass(frozen=True)
class Person:
    """A Teams user: tenant, Entra object id, display name (their Teams id is derived)."""

    tenant: str
    aad: str
    name: str

    @property
    def id(self) -> str:
        return f"29:1{self.aad}"

    @property
    def chat(self) -> str:
        """Their 1:1 conversation with the bot."""
        return f"a:1{self.aad}"

    def account(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad}


@dataclass(frozen=True)
class Channel:
    tenant: str
    id: str = "19:general0123456789@thread.tacv2"
    team: str = "Formation BOSA"
    name: str = "Général"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _base(kind: str, person: Person, service_url: str, conversation: dict[str, Any],
          channel_data: dict[str, Any], activity_id: str | None, locale: str) -> dict[str, Any]:
    return {"type": kind, "id": activity_id or f"{int(time.time() * 1000)}{_n():04d}",
            "timestamp": _now(), "localTimestamp": _now(), "serviceUrl": service_url,
            "channelId": "msteams", "from": person.account(), "conversation": conversation,
            "recipient": dict(BOT), "locale": locale, "channelData": channel_data}


def _personal(person: Person, chat: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({"conversationType": "personal", "tenantId": person.tenant,
             "id": chat or person.chat}, {"tenant": {"id": person.tenant}})


def _in_channel(channel: Channel, thread: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({"isGroup": True, "conversationType": "channel", "tenantId": channel.tenant,
             "id": f"{channel.id};messageid={thread}"},
            {"teamsChannelId": channel.id, "teamsTeamId": channel.id,
             "channel": {"id": channel.id, "name": channel.name},
             "team": {"id": channel.id, "name": channel.team},
             "tenant": {"id": channel.tenant}})


def message(text: str, person: Person, *, service_url: str, channel: Channel | None = None,
            thread: str = "1700000000001", activity_id: str | None = None,
            value: dict[str, Any] | None = None, reply_to_id: str | None = None,
            locale: str = "fr-BE") -> dict[str, Any]:
    """A message: in the person's 1:1 chat, or in a channel thread @mentioning the bot."""
    if channel is None:
        conversation, data = _personal(person)
        body = _base("message", person, service_url, conversation, data, activity_id, locale)
        body.update(text=text, textFormat="plain")
    else:
        conversation, data = _in_channel(channel, thread)
        body = _base("message", person, service_url, conversation, data, activity_id, locale)
        mention = f"<at>{BOT['name']}</at>"
        body.update(text=f"{mention} {text}", textFormat="plain", entities=[
            {"type": "mention", "text": mention, "mentioned": dict(BOT)},
            {"type": "clientInfo", "locale": locale, "platform": "Web"}])
    if value is not None:
        body["value"] = value
        body.pop("text", None)
    if reply_to_id is not None:
        body["replyToId"] = reply_to_id
    return body


def file_message(attachments: list[dict[str, Any]], person: Person, *, service_url: str,
                 text: str = "", channel: Channel | None = None) -> dict[str, Any]:
    """A message with files (attachments as ``TeamsConnector.add_file`` makes them); in a
    channel, Teams sends its own reference to SharePoint instead."""
    body = message(text, person, service_url=service_url, channel=channel)
    if not text and channel is None:
        body.pop("text", None)
    body["attachments"] = attachments
    return body


def file_consent(person: Person, *, service_url: str, action: str, context: Any,
                 upload_info: dict[str, Any] | None = None, reply_to_id: str = "act-0",
                 activity_id: str | None = None) -> dict[str, Any]:
    """The ``fileConsent/invoke`` Teams sends when the person clicks Allow (action
    "accept", with where to upload) or Decline on a file-consent card."""
    conversation, channel_data = _personal(person)
    body = _base("invoke", person, service_url, conversation, channel_data,
                 activity_id or f"f:{uuid.uuid4().int % 10**18}", "fr-BE")
    value: dict[str, Any] = {"type": "fileUpload", "action": action, "context": context}
    if upload_info is not None:
        value["uploadInfo"] = upload_info
    body.update(name="fileConsent/invoke", replyToId=reply_to_id, value=value)
    return body


def click(action: dict[str, Any], person: Person, *, service_url: str,
          inputs: dict[str, str] | None = None, channel: Channel | None = None,
          reply_to_id: str = "act-0", activity_id: str | None = None,
          locale: str = "fr-BE", chat: str | None = None) -> dict[str, Any]:
    """The `adaptiveCard/action` invoke a Teams client sends for an Action.Execute button.

    The action's data is merged with the card's input values, as the client does, when the
    action submits its inputs (`associatedInputs` other than "none"). `chat` is the 1:1
    conversation the card is in when it is not the person's usual one.
    """
    if action.get("type") != "Action.Execute":
        raise ValueError(f"not an Action.Execute: {action}")
    data = dict(action.get("data") or {})
    if action.get("associatedInputs") != "none":
        data.update(inputs or {})
    conversation, channel_data = (_personal(person, chat) if channel is None
                                  else _in_channel(channel, "1700000000001"))
    body = _base("invoke", person, service_url, conversation, channel_data,
                 activity_id or f"f:{uuid.uuid4().int % 10**18}", locale)
    body.update(name="adaptiveCard/action", replyToId=reply_to_id, value={
        "action": {"type": "Action.Execute", "verb": action.get("verb"), "data": data},
        "trigger": "manual"})
    return body


def submit(action: dict[str, Any], person: Person, *, service_url: str,
           inputs: dict[str, str] | None = None, reply_to_id: str = "act-0") -> dict[str, Any]:
    """The message an older client sends for the Action.Submit fallback of a button."""
    fallback = action.get("fallback") or {}
    if fallback.get("type") != "Action.Submit":
        raise ValueError(f"no Action.Submit fallback: {action}")
    data = dict(fallback.get("data") or {})
    if fallback.get("associatedInputs") != "none":
        data.update(inputs or {})
    return message("", person, service_url=service_url, value=data, reply_to_id=reply_to_id)


def conversation_update(person: Person, *, service_url: str,
                        channel: Channel | None = None) -> dict[str, Any]:
    """The bot added to the person's 1:1 chat, or to a team (its General channel)."""
    if channel is None:
        conversation, data = _personal(person)
    else:
        conversation, data = _in_channel(channel, "0")
        conversation["id"] = channel.id
        data["eventType"] = "teamMemberAdded"
    body = _base("conversationUpdate", person, service_url, conversation, data, None, "fr-BE")
    body["membersAdded"] = [{"id": BOT["id"]}]
    return body


def installation_update(person: Person, *, service_url: str) -> dict[str, Any]:
    conversation, data = _personal(person)
    body = _base("installationUpdate", person, service_url, conversation, data, None, "fr-BE")
    body["action"] = "add"
    return body


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's buttons, card-level and in ActionSets."""
    found = list(card.get("actions") or [])
    for element in card.get("body") or []:
        if element.get("type") == "ActionSet":
            found += element.get("actions") or []
    return found


def button(card: dict[str, Any], title: str) -> dict[str, Any]:
    for action in actions(card):
        if action.get("title") == title:
            return action
    raise AssertionError(f"no button {title!r} in {json.dumps(card, ensure_ascii=False)}")


class Signer:
    """An RSA key standing in for the Bot Framework's: its key set, and JWTs it signs."""

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or f"test-{random.randrange(10**8)}"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, use="sig", alg="RS256", endorsements=["msteams"])
        return {"keys": [jwk]}

    def token(self, service_url: str, *, audience: str = APP_ID, issuer: str = ISSUER,
              lifetime: int = 3600) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "serviceurl": service_url, "nbf": now - 5,
                  "iat": now - 5, "exp": now + lifetime}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def main() -> int:
    """python -m tests.support.teams_activities [--url …] [--service-url …] TEXT: post one
    message activity to serve, as Teams would (unauthenticated: development only)."""
    import argparse
    import urllib.request

    parser = argparse.ArgumentParser(prog="python -m tests.support.teams_activities")
    parser.add_argument("--url", default="http://127.0.0.1:8080/api/messages")
    parser.add_argument("--service-url", default="http://127.0.0.1:3979")
    parser.add_argument("--tenant", default="demo-tenant")
    parser.add_argument("--user", default="demo-user", help="the Entra object id")
    parser.add_argument("text", nargs="+")
    args = parser.parse_args()
    activity = message(" ".join(args.text), Person(args.tenant, args.user, "Demo"),
                       service_url=args.service_url)
    request = urllib.request.Request(args.url, data=json.dumps(activity).encode(),
                                     method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        print(f"HTTP {answer.status}: the answer goes to the connector")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
