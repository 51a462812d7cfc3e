"""Reading what officers type: the verb (in any language), training code, date, the rest.

Verbs come from the catalogues (`intents.*`), so adding a language adds no Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from core import clock, i18n
from core.services.catalog import CODE_PATTERN
from core.text import fold

INTENTS = ("enroll", "unenroll", "seats", "overview", "participants", "report", "requests",
           "approve", "refuse", "add", "link", "help", "confirm", "cancel")
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?$")
_TOKEN = re.compile(r"\S+")
_CODE_LIKE = re.compile(r"^[A-Za-z]{2,6}[-_][A-Za-z0-9]{2,5}$")
"""Looks like a mistyped code (BOSA-1O1): treated as a code so the answer can suggest one."""


@dataclass
class Parsed:
    intent: str | None
    language: str | None
    code: str | None = None
    day: date | None = None
    number: int | None = None
    words: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def rest(self) -> str:
        return " ".join(self.words)


@cache
def _verbs() -> dict[tuple[str, ...], tuple[str, frozenset[str]]]:
    """Folded verb (as a tuple of words) → (intent, languages using it)."""
    table: dict[tuple[str, ...], tuple[str, set[str]]] = {}
    for language in i18n.LANGUAGES:
        for intent in INTENTS:
            for verb in i18n.words(language, f"intents.{intent}"):
                key = tuple(fold(verb).split())
                found = table.setdefault(key, (intent, set()))
                if found[0] == intent:
                    found[1].add(language)
    return {k: (v[0], frozenset(v[1])) for k, v in table.items()}


def _parse_date(token: str) -> date | None:
    match = _DATE.match(token)
    if not match:
        return None
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    today = clock.today()
    try:
        if year:
            full = int(year) + (2000 if len(year) == 2 else 0)
            return date(full, month, day)
        guess = date(today.year, month, day)
        return guess if guess >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def parse(text: str) -> Parsed:
    tokens = _TOKEN.findall(text.strip())
    folded = [fold(t).strip(",.;:!?") or fold(t) for t in tokens]
    intent, languages, used = None, frozenset[str](), 0
    verbs = _verbs()
    for length in (3, 2, 1):
        key = tuple(folded[:length])
        if len(key) == length and key in verbs:
            (intent, languages), used = verbs[key], length
            break
    parsed = Parsed(intent=intent, language=next(iter(languages)) if len(languages) == 1
                    else None, text=text.strip())
    for token in tokens[used:]:
        cleaned = token.strip(",;:!?")
        if parsed.code is None and (CODE_PATTERN.fullmatch(cleaned) or (
                _CODE_LIKE.match(cleaned) and any(ch.isdigit() for ch in cleaned))):
            parsed.code = cleaned
        elif parsed.day is None and (day := _parse_date(cleaned)):
            parsed.day = day
        elif parsed.number is None and cleaned.isdigit() and len(cleaned) < 6:
            parsed.number = int(cleaned)
        else:
            parsed.words.append(cleaned)
    if intent is None and not parsed.words and parsed.number is not None and not parsed.code:
        parsed.intent = "number"
    return parsed
