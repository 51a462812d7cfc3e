"""The labelled sentences of bench/utterances/{dev,test}/LANG.txt.

One line: `text | intent | slots`, slots being `persons=A + B; code=X; date=…; month=…;
period=…; number=N`. The intent `clarify` means "no intent to guess: ask"; `none` means
"nothing to understand". Dates are read as on BENCH_TODAY, the day the world is seeded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from core.matching.normalise import PARTICLES, words

ROOT = Path(__file__).resolve().parent
LANGUAGES = ("fr", "nl", "en", "de")
HALVES = ("dev", "test")
BENCH_NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BENCH_TODAY: date = BENCH_NOW.date()
_started = time.monotonic()


def bench_clock() -> datetime:
    """BENCH_NOW, moving on as real time does: the day is fixed, time still passes (the
    collaborator index settles rows by their age)."""
    return BENCH_NOW + timedelta(seconds=time.monotonic() - _started)
OFFICERS = {"fr": "sophie.lambert@bosa.example", "nl": "pieter.janssens@fin.example",
            "en": "emma.wouters@jus.example", "de": "anna.schmitz@ibz.example"}


def person_key(text: str) -> tuple[str, ...]:
    """A person as compared: folded words, particles aside (they are the matcher's business)."""
    return tuple(sorted(w for w in words(text) if w not in PARTICLES))


@dataclass(frozen=True)
class Utterance:
    text: str
    intent: str
    language: str
    half: str
    persons: tuple[str, ...] = ()
    code: str | None = None
    when: str | None = None
    number: int | None = None

    @property
    def person_keys(self) -> list[tuple[str, ...]]:
        return sorted(person_key(p) for p in self.persons)


def _slots(text: str) -> dict[str, str]:
    found = {}
    for part in text.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            found[key.strip()] = value.strip()
    return found


def load(halves: tuple[str, ...] = HALVES,
         languages: tuple[str, ...] = LANGUAGES) -> list[Utterance]:
    found = []
    for half in halves:
        for language in languages:
            for line in (ROOT / half / f"{language}.txt").read_text("utf-8").splitlines():
                if not line.strip() or line.startswith("#"):
                    continue
                parts = [p.strip() for p in line.split(" | ")]
                text, intent = parts[0], parts[1]
                slots = _slots(parts[2] if len(parts) > 2 else "")
                when = slots.get("date") or slots.get("month") or slots.get("period")
                found.append(Utterance(
                    text, intent, language, half,
                    tuple(p.strip() for p in slots["persons"].split(" + ")) if "persons" in slots
                    else (), slots.get("code", "").upper() or None, when,
                    int(slots["number"]) if "number" in slots else None))
    return found
