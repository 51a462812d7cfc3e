"""The parser as it was before sentences were understood (commit 48bd80e): a verb first, then
a code, a numeric date, a number, and the rest as one surname. Kept, with its verb tables, as
the baseline measured in the same run."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from functools import cache
from pathlib import Path

from core import clock
from core.services.catalog import CODE_PATTERN
from core.text import fold

INTENTS = ("enroll", "unenroll", "seats", "overview", "participants", "report", "requests",
           "approve", "refuse", "add", "link", "help", "confirm", "cancel")
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?$")
_TOKEN = re.compile(r"\S+")
_CODE_LIKE = re.compile(r"^[A-Za-z]{2,6}[-_][A-Za-z0-9]{2,5}$")


@cache
def _verbs() -> dict[tuple[str, ...], str]:
    tables = tomllib.loads((Path(__file__).parent / "baseline_intents.toml").read_text("utf-8"))
    found: dict[tuple[str, ...], str] = {}
    for table in tables.values():
        for intent in INTENTS:
            for verb in table.get(intent, []):
                found.setdefault(tuple(fold(verb).split()), intent)
    return found


def _parse_date(token: str) -> date | None:
    match = _DATE.match(token)
    if not match:
        return None
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    today = clock.today()
    try:
        if year:
            return date(int(year) + (2000 if len(year) == 2 else 0), month, day)
        guess = date(today.year, month, day)
        return guess if guess >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def parse(text: str) -> tuple[str | None, str | None, date | None, int | None, str]:
    """(intent, code, day, number, rest)."""
    tokens = _TOKEN.findall(text.strip())
    folded = [fold(t).strip(",.;:!?") or fold(t) for t in tokens]
    intent, used = None, 0
    for length in (3, 2, 1):
        key = tuple(folded[:length])
        if len(key) == length and key in _verbs():
            intent, used = _verbs()[key], length
            break
    code = day = number = None
    words = []
    for token in tokens[used:]:
        cleaned = token.strip(",;:!?")
        if code is None and (CODE_PATTERN.fullmatch(cleaned) or (
                _CODE_LIKE.match(cleaned) and any(ch.isdigit() for ch in cleaned))):
            code = cleaned
        elif day is None and (found := _parse_date(cleaned)):
            day = found
        elif number is None and cleaned.isdigit() and len(cleaned) < 6:
            number = int(cleaned)
        else:
            words.append(cleaned)
    if intent is None and not words and number is not None and not code:
        intent = "number"
    return intent, code, day, number, " ".join(words)
