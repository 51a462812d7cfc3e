"""Message catalogues (templates/i18n/LANG.toml): every text a user reads comes from here.

A message is a string with {placeholders}, or a table of variants chosen by the `variant`
parameter (e.g. "F" / "M" / "other", or "one" / "other" for counts).
"""

from __future__ import annotations

import hashlib
import tomllib
from datetime import date, datetime
from functools import cache
from typing import Any

from core import clock
from core.config import TEMPLATES_DIR

LANGUAGES = ("fr", "nl", "en", "de")
DEFAULT_LANGUAGE = "fr"
_FALLBACK = {"de": ("de", "en", "fr"), "en": ("en", "fr"), "nl": ("nl", "en", "fr"),
             "fr": ("fr", "en")}


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, Any]) -> None:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not _is_variant_table(value):
            _flatten(name + ".", value, out)
        else:
            out[name] = value


def _is_variant_table(value: dict[str, Any]) -> bool:
    return "other" in value and all(isinstance(v, str) for v in value.values())


FORMAT = 1  # of the flattened catalogue on disk: change it when _flatten changes


@cache
def catalogue(language: str) -> dict[str, Any]:
    """The language's messages, flat ({"menu.title": …}). Parsing the TOML costs a one-shot
    process (the MTA pipe, `say`) about 5 ms a language; the flattened form is kept under
    $ITMA_HOME/cache (core.json_cache), keyed by a hash of the file, and read back in a
    twentieth of that."""
    content = (TEMPLATES_DIR / "i18n" / f"{language}.toml").read_bytes()
    from core import json_cache

    file = json_cache.home_file(f"catalogue-{language}.json")
    if file is not None:
        key = f"{FORMAT}:{hashlib.sha256(content).hexdigest()}"
        found = json_cache.load(file, key, "messages")
        if isinstance(found, dict):
            return found
    out: dict[str, Any] = {}
    _flatten("", tomllib.loads(content.decode("utf-8")), out)
    if file is not None:
        json_cache.save(file, key, "messages", out)
    return out


def language_or_default(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def lookup(language: str, key: str, /) -> Any:
    for candidate in _FALLBACK[language_or_default(language)]:
        value = catalogue(candidate).get(key)
        if value is not None:
            return value
    raise KeyError(f"no message {key!r} in any catalogue")


def t(language: str, key: str, variant: str | int | None = None, /, **params: Any) -> str:
    """The message in that language; dates and times among the parameters are written the
    language's way (`format.day`, `format.moment`), so callers pass facts, not strings."""
    value = lookup(language, key)
    if isinstance(value, dict):
        if isinstance(variant, int):
            variant = {0: "zero", 1: "one"}.get(variant, "other")
        value = value.get(str(variant), value["other"])
    if not params:
        return str(value)
    return str(value).format(**{k: _written(language, v) for k, v in params.items()})


def _written(language: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(clock.LOCAL_TZ).strftime(lookup(language, "format.moment"))
    if isinstance(value, date):
        return value.strftime(lookup(language, "format.day"))
    return value


def day(language: str, value: date) -> str:
    """A date as officers read it in that language (12/03/2027)."""
    return str(_written(language, value))


def moment(language: str, value: datetime) -> str:
    """A point in time, in Belgian local time (12/03/2027 14:05)."""
    return str(_written(language, value))


def words(language: str, key: str) -> list[str]:
    """A list entry of a catalogue (e.g. the verbs of an intent)."""
    value = catalogue(language).get(key, [])
    return list(value) if isinstance(value, list) else []
