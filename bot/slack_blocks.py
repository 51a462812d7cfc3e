"""Block Kit rendering of the neutral Reply: the one place Slack's look is decided.

Reply texts are plain text (they carry names and data people typed, never Slack markup), so
every one is escaped here before it goes into a mrkdwn field; plain_text fields need nothing.
"""

from __future__ import annotations

import json
from typing import Any

from core import i18n
from core.conversation import Reply
from core.conversation.types import APPROVE, CANCEL, CONFIRM, REFUSE
from core.markup import slack_mrkdwn

MAX_BUTTONS = 5
TEXT_LIMIT = 2900
MAX_SECTIONS = 10
ACTION_CHOOSE = "itma_choose"
ACTION_SELECT = "itma_select"
ACTION_CONFIRM = "itma_confirm"
ACTION_CANCEL = "itma_cancel"
ACTION_APPROVE = "itma_request_approve"
ACTION_REFUSE = "itma_request_refuse"
REFUSE_MODAL = "itma_refuse_modal"


def _text(text: str) -> dict[str, Any]:
    """Plain text into a mrkdwn field: escaped, then cut where no escape is split."""
    return _mrkdwn(slack_mrkdwn(text))


def _mrkdwn(markup: str) -> dict[str, Any]:
    """Markup already written for Slack (escaped user text inside our own formatting)."""
    if len(markup) > TEXT_LIMIT:
        cut = markup[:TEXT_LIMIT]
        entity = cut.rfind("&")
        markup = cut[:entity] if entity > TEXT_LIMIT - 5 and ";" not in cut[entity:] else cut
    return {"type": "mrkdwn", "text": markup}


def _sections(text: str) -> list[dict[str, Any]]:
    """A long text (a file's error table) as several sections, cut between lines: one
    section holds at most TEXT_LIMIT characters of markup."""
    sections: list[str] = []
    current = ""
    for line in slack_mrkdwn(text).split("\n"):
        if current and len(current) + 1 + len(line) > TEXT_LIMIT:
            sections.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    sections.append(current)
    return [{"type": "section", "text": _mrkdwn(part or " ")} for part in sections[:MAX_SECTIONS]]


def fallback_text(reply: Reply) -> str:
    """The message's top-level `text` (notifications, clients without blocks): escaped too."""
    return slack_mrkdwn(reply.text)[:TEXT_LIMIT]


def message(reply: Reply) -> dict[str, Any]:
    """The `text` and `blocks` arguments of chat.postMessage / update / ephemeral / respond."""
    return {"text": fallback_text(reply), "blocks": render(reply)}


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "text": _plain(text), "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def render(reply: Reply) -> list[dict[str, Any]]:
    """Text, then choices (buttons up to five, a menu beyond), then the action buttons."""
    t = lambda key: i18n.t(reply.language, key)  # noqa: E731
    blocks: list[dict[str, Any]] = _sections(reply.text)
    if reply.choices and len(reply.choices) <= MAX_BUTTONS:
        blocks.append({"type": "actions", "block_id": "itma_choices", "elements": [
            _button(f"{c.key}. {c.label}", f"{ACTION_CHOOSE}_{c.key}", c.key)
            for c in reply.choices]})
        blocks += [{"type": "context", "elements": [
            _mrkdwn(f"*{slack_mrkdwn(c.key)}.* {slack_mrkdwn(c.label)}")]}
                   for c in reply.choices if len(c.label) > 70]
    elif reply.choices:
        blocks.append({"type": "actions", "block_id": "itma_choices", "elements": [{
            "type": "static_select", "action_id": ACTION_SELECT, "placeholder": _plain(t(
                "buttons.pick")),
            "options": [{"text": _plain(f"{c.key}. {c.label}"), "value": c.key}
                        for c in reply.choices[:100]]}]})
    buttons = []
    ref = reply.ref or ""
    if CONFIRM in reply.actions:
        buttons.append(_button(t("buttons.confirm"), ACTION_CONFIRM, ref or CONFIRM, "primary"))
    if APPROVE in reply.actions:
        buttons.append(_button(t("buttons.approve"), ACTION_APPROVE, ref, "primary"))
    if REFUSE in reply.actions:
        buttons.append(_button(t("buttons.refuse"), ACTION_REFUSE, ref, "danger"))
    if CANCEL in reply.actions:
        buttons.append(_button(t("buttons.cancel"), ACTION_CANCEL, CANCEL))
    if buttons:
        blocks.append({"type": "actions", "block_id": "itma_actions", "elements": buttons})
    return blocks


def resolved(original_text: str, outcome: str) -> list[dict[str, Any]]:
    """A clicked message, buttons gone, with what was decided underneath.

    `original_text` is the mrkdwn of our own message as Slack sends it back with the click,
    already escaped when it was rendered: it is put back as it is. `outcome` is plain text.
    """
    context = {"type": "context", "elements": [_text(outcome)]}
    if not original_text.strip():  # ephemeral clicks do not carry the message they came from
        return [context]
    return [{"type": "section", "text": _mrkdwn(original_text)}, context]


def refuse_modal(language: str, metadata: dict[str, Any]) -> dict[str, Any]:
    t = lambda key: i18n.t(language, key)  # noqa: E731
    return {"type": "modal", "callback_id": REFUSE_MODAL,
            "private_metadata": json.dumps(metadata), "title": _plain(t("buttons.refuse_title"),
                                                                      24),
            "submit": _plain(t("buttons.refuse_submit"), 24), "close": _plain(t("buttons.close"),
                                                                              24),
            "blocks": [{"type": "input", "block_id": "reason", "label": _plain(t(
                "buttons.refuse_label")), "element": {"type": "plain_text_input",
                                                     "action_id": "reason", "multiline": True,
                                                     "max_length": 400}}]}


def home_view(home: Reply) -> dict[str, Any]:
    """The App Home tab: the reply's text as its header, its sections as bullet lists."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(home.text, 150)}]
    for title, lines in home.sections:
        blocks.append({"type": "section", "text": _mrkdwn(f"*{slack_mrkdwn(title)}*")})
        if lines:
            blocks.append({"type": "section", "text": _text("\n".join(f"• {line}"
                                                                      for line in lines))})
        blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks[:100]}
