"""Adaptive Card rendering of the neutral Reply: the one place Teams' look is decided.

Every text a person typed or the engine wrote goes into a TextBlock through
`adaptive_card_text`, so the Markdown subset Teams renders never turns a name into a link or
emphasis; choice titles, labels and button titles are plain text and need nothing.

Buttons are `Action.Execute` (an `adaptiveCard/action` invoke whose answer is the card to show
in place of the clicked one) with an `Action.Submit` fallback for clients that predate it.
Their `data` carries what the click means (`itma`: the engine action) and, for the steps of a
dialogue, the card's own text (`card`), so the answer can show it again with the choice made
and no buttons left.
"""

from __future__ import annotations

from typing import Any

from bot.teams_sdk import (
    AdaptiveCard,
    Choice,
    ChoiceSetInput,
    ExecuteAction,
    OpenUrlAction,
    SubmitAction,
    TextBlock,
    TextInput,
)
from core import i18n
from core.conversation import Reply
from core.conversation.types import (
    APPROVE,
    CANCEL,
    CONFIRM,
    REFUSE,
    approve_action,
    card_prefix,
    refuse_action,
)
from core.markup import adaptive_card_text

ACTION = "itma"
"""The data key holding the engine action of a button ('confirm', 'choose', 'approve:12' …)."""
CARD = "card"
"""The data key holding the text of the card the button is on (dialogue steps only)."""
CHOICE = "choice"
LABELS = "labels"
"""The data key holding the choices' labels (the choose button), to show the one chosen."""
REASON = "reason"
CHOOSE = "choose"
CARD_TEXT_LIMIT = 2000
REASON_LIMIT = 400


def _blocks(text: str, *, title: bool = False) -> list[TextBlock]:
    """One TextBlock per line: Teams' Markdown joins single line breaks."""
    blocks = []
    for number, line in enumerate(text.splitlines() or [""]):
        block = TextBlock(text=adaptive_card_text(line) or " ", wrap=True)
        if number:
            block.spacing = "None"
        elif title:
            block.weight = "Bolder"
        blocks.append(block)
    return blocks


def _button(title: str, data: dict[str, Any], style: str | None = None,
            inputs: str | None = None) -> ExecuteAction:
    """Action.Execute, falling back to Action.Submit with the same data on older clients."""
    verb = str(data[ACTION]).partition(":")[0]
    fallback = SubmitAction(title=title, data=data, style=style, associated_inputs=inputs)
    return ExecuteAction(title=title, verb=verb, data=data, style=style, associated_inputs=inputs,
                         fallback=fallback)


def render(reply: Reply, link_base: str | None = None) -> AdaptiveCard:
    """Text, then sections, choices (a radio list: labels are long), inputs and the buttons."""
    t = lambda key: i18n.t(reply.language, key)  # noqa: E731
    card = card_prefix(reply.ref)
    prefix, request_id = card if card is not None else ("", None)
    body: list[Any] = _blocks(reply.text, title=request_id is not None)
    for heading, lines in reply.sections:
        body += [TextBlock(text=adaptive_card_text(heading), weight="Bolder", wrap=True,
                           separator=True)]
        body += [TextBlock(text=adaptive_card_text(f"• {line}"), wrap=True, spacing="None")
                 for line in lines]
    step = {CARD: reply.text[:CARD_TEXT_LIMIT]}
    actions: list[Any] = []
    if reply.choices:
        body.append(ChoiceSetInput(
            id=CHOICE, style="expanded", wrap=True, is_required=True,
            error_message=t("teams.choose_required"),
            choices=[Choice(title=f"{c.key}. {c.label}", value=c.key) for c in reply.choices]))
        labels = {c.key: c.label for c in reply.choices}
        actions.append(_button(t("teams.choose"), {ACTION: CHOOSE, **step, LABELS: labels},
                               "positive", "auto"))
    if request_id is not None and REFUSE in reply.actions:
        body.append(TextInput(id=REASON, label=t("buttons.refuse_label"), is_multiline=True,
                              max_length=REASON_LIMIT, is_required=True,
                              error_message=t("teams.reason_required")))
    if CONFIRM in reply.actions:
        actions.append(_button(t("buttons.confirm"), {ACTION: CONFIRM, **step}, "positive",
                               "none"))
    if request_id is not None and APPROVE in reply.actions:
        actions.append(_button(t("buttons.approve"), {ACTION: prefix + approve_action(request_id)},
                               "positive", "none"))
    if request_id is not None and REFUSE in reply.actions:
        actions.append(_button(t("buttons.refuse"), {ACTION: prefix + refuse_action(request_id)},
                               "destructive", "auto"))
    if CANCEL in reply.actions:
        actions.append(_button(t("buttons.cancel"), {ACTION: CANCEL, **step}, None, "none"))
    if link_base:
        actions += [OpenUrlAction(title=t("teams.open_link"), url=word)
                    for word in reply.text.split() if word.startswith(f"{link_base}/link/")]
    return AdaptiveCard(body=body, actions=actions or None,
                        fallback_text=reply.text[:CARD_TEXT_LIMIT])


def resolved(original: str, outcome: str) -> AdaptiveCard:
    """A clicked dialogue card, buttons gone, with what was chosen underneath."""
    body: list[Any] = _blocks(original) if original.strip() else []
    body.append(TextBlock(text=adaptive_card_text(outcome), wrap=True, is_subtle=True,
                          separator=bool(body)))
    return AdaptiveCard(body=body, fallback_text=outcome)


def as_json(card: AdaptiveCard) -> dict[str, Any]:
    """The card as it goes on the wire (camelCase names, nothing unset)."""
    return card.model_dump(by_alias=True, exclude_none=True)
