"""The console adapter: the same core path as Slack and Teams, rendered as plain text."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from typing import TextIO

from core import i18n
from core.conversation import Engine, Inbound, Reply
from core.conversation.types import CANCEL, CONFIRM

CHANNEL = "console"


def render(reply: Reply) -> str:
    lines = [reply.text]
    lines += [f"  {choice.key}. {choice.label}" for choice in reply.choices]
    hints = []
    if reply.choices:
        hints.append(i18n.t(reply.language, "console.hint_number"))
    if CONFIRM in reply.actions:
        hints.append(i18n.t(reply.language, "console.hint_confirm"))
    if CANCEL in reply.actions:
        hints.append(i18n.t(reply.language, "console.hint_cancel"))
    if hints:
        lines.append("  (" + " · ".join(hints) + ")")
    return "\n".join(lines)


def say(engine: Engine, email: str, text: str, as_json: bool = False) -> str:
    reply = engine.handle(Inbound(CHANNEL, email.strip().lower(), text=text))
    return json.dumps(reply.as_json(), ensure_ascii=False) if as_json else render(reply)


def chat(engine: Engine, email: str, welcome: str, stdin: TextIO = sys.stdin,
         write: Callable[[str], None] = print) -> None:
    """Interactive loop with readline history; Ctrl-D or Ctrl-C leaves."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    write(welcome)
    interactive = stdin.isatty()
    while True:
        try:
            text = input("› ") if interactive else stdin.readline()
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        if not interactive and text == "":
            return
        text = text.strip()
        if not text:
            continue
        if text.lower() in ("/quit", "/exit", "quit", "exit"):
            return
        if not interactive:
            write(f"› {text}")
        write(say(engine, email, text))
        write("")
