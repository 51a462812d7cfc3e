"""The console adapter: the same core path as Slack and Teams, rendered as plain text.

A file goes in with `say --file PATH` or, in the chat, a line `/file PATH`; files that come
back (exports, a file's errors) are written to $ITMA_HOME/exports/, readable by the owner only,
and their paths printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from core import i18n
from core.conversation import Engine, Inbound, Reply
from core.conversation.types import (
    CANCEL,
    CONFIRM,
    MAX_FILE_BYTES,
    InboundFile,
    too_large,
    unavailable,
)

CHANNEL = "console"
FILE_COMMAND = "/file"


def read_file(path: str) -> InboundFile:
    """The file as the engine takes it: never more than the cap read, a larger one refused."""
    target = Path(path).expanduser()
    try:
        with target.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                return too_large(target.name, size)
            content = handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return unavailable(target.name)
    if len(content) > MAX_FILE_BYTES:
        return too_large(target.name, None)
    return InboundFile(target.name, content, len(content))


def save_attachments(reply: Reply, directory: Path) -> list[Path]:
    """Each attachment in its own new file (0600), never over an existing one."""
    saved: list[Path] = []
    if not reply.attachments:
        return saved
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for attachment in reply.attachments:
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(attachment.filename).name).lstrip(".")
        stem, dot, extension = (name or "export").rpartition(".")
        stem, extension = (stem, dot + extension) if stem else (extension, "")
        for number in range(1, 1000):
            path = directory / (f"{stem}{extension}" if number == 1
                                else f"{stem}-{number}{extension}")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as out:
                out.write(attachment.content)
            saved.append(path)
            break
    return saved


def _progress(line: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{line}", end="", file=sys.stderr, flush=True)


def render(reply: Reply, saved: Sequence[Path] = ()) -> str:
    lines = [reply.text]
    lines += [i18n.t(reply.language, "exports.saved", path=str(path)) for path in saved]
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


def say(engine: Engine, email: str, text: str | None, as_json: bool = False,
        files: Sequence[str] = (), exports: Path | None = None) -> str:
    reply = engine.handle(Inbound(CHANNEL, email.strip().lower(), text=text,
                                  files=tuple(read_file(path) for path in files),
                                  progress=_progress))
    if files and sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    saved = save_attachments(reply, exports) if exports is not None else []
    if as_json:
        answer = reply.as_json()
        for item, path in zip(answer["attachments"], saved, strict=False):
            item["path"] = str(path)
        return json.dumps(answer, ensure_ascii=False)
    return render(reply, saved)


def file_line(text: str) -> list[str] | None:
    """`/file PATH` (quotes allowed): the file to send, else None."""
    command, _, rest = text.partition(" ")
    if command.lower() != FILE_COMMAND:
        return None
    try:
        paths = shlex.split(rest)
    except ValueError:
        paths = [rest.strip()]
    return [p for p in paths if p][:1]


def chat(engine: Engine, email: str, welcome: str, stdin: TextIO = sys.stdin,
         write: Callable[[str], None] = print, exports: Path | None = None) -> None:
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
        files = file_line(text)
        if files is not None:
            write(say(engine, email, None, files=files, exports=exports) if files
                  else f"{FILE_COMMAND} PATH")
        else:
            write(say(engine, email, text, exports=exports))
        write("")
