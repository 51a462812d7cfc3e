"""The built vocabulary on disk, so that a one-shot process (`itma-assistant say`) does not
rebuild it.

Building it tokenizes some two thousand phrases of four catalogues: about 20 ms, plus parsing
the catalogues of languages the reply does not need, paid by every one-shot command. The file
is JSON (loading it runs no code), 0600 under $ITMA_HOME/cache, written to a temporary file
then renamed (concurrent writers leave one whole file), and used only while its key — a hash of
the catalogue files' contents and of the code that builds the vocabulary — is the current one.
Anything else (another key, a damaged or foreign file, no ITMA_HOME) is a miss: the vocabulary
is built from the catalogues, as without a cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from core import i18n, json_cache

FORMAT = 1
_HERE = Path(__file__).resolve().parent
_SOURCES = (_HERE / "vocabulary.py", _HERE / "vocabulary_cache.py", _HERE / "tokens.py",
            _HERE.parent.parent / "text.py", _HERE.parent.parent / "i18n.py")


def path() -> Path | None:
    """$ITMA_HOME/cache/vocabulary.json; None without ITMA_HOME (no cache then)."""
    return json_cache.home_file("vocabulary.json")


def key() -> str | None:
    """Changes with any catalogue or the code that reads them; None if one cannot be read."""
    digest = hashlib.sha256(f"{FORMAT}|{','.join(i18n.LANGUAGES)}".encode())
    files = [*_SOURCES, *(i18n.TEMPLATES_DIR / "i18n" / f"{lang}.toml"
                          for lang in i18n.LANGUAGES)]
    try:
        for file in files:
            content = file.read_bytes()
            digest.update(f"{file.name}:{len(content)}:".encode())
            digest.update(content)
    except OSError:
        return None
    return digest.hexdigest()


def _str_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of strings")
    return value


def _str_dict(value: Any, kind: type) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(
            isinstance(v, kind) and not isinstance(v, bool) for v in value.values()):
        raise ValueError(f"expected a dict of {kind.__name__}")
    return value


def dump(vocabulary: Any) -> dict[str, Any]:
    """A JSON-ready form; order of lists and dicts kept (phrase buckets are ranked)."""
    out: dict[str, Any] = {}
    for item in dataclasses.fields(vocabulary):
        value = getattr(vocabulary, item.name)
        if item.name == "phrases":
            out[item.name] = {first: [[p.intent, list(p.words), p.gap, p.weight,
                                       sorted(p.languages)] for p in bucket]
                              for first, bucket in value.items() if bucket}
        elif item.name == "languages":
            out[item.name] = {word: sorted(langs) for word, langs in value.items()}
        elif isinstance(value, set):
            out[item.name] = sorted(value)
        else:
            out[item.name] = dict(value)
    return out


def restore(data: Any, empty: Any, phrase: type) -> Any:
    """Fill `empty` (a fresh Vocabulary) from `dump`'s form; ValueError if it does not fit."""
    if not isinstance(data, dict):
        raise ValueError("expected an object")
    names = {item.name for item in dataclasses.fields(empty)}
    if set(data) != names:
        raise ValueError("other fields")
    for item in dataclasses.fields(empty):
        name = item.name
        value, target = data[name], getattr(empty, name)
        if name == "phrases":
            for first, bucket in _str_dict(value, list).items():
                for entry in bucket:
                    intent, words, gap, weight, langs = entry
                    if (not isinstance(intent, str) or not isinstance(weight, float)
                            or not (gap is None or type(gap) is int)):
                        raise ValueError("bad phrase")
                    target[first].append(phrase(intent, tuple(_str_list(words)), gap, weight,
                                                frozenset(_str_list(langs))))
        elif name == "languages":
            for word, langs in _str_dict(value, list).items():
                target[word] = set(_str_list(langs))
        elif isinstance(target, set):
            target.update(_str_list(value))
        else:
            kind = int if str(item.type).replace(" ", "").endswith("int]") else str
            target.update(_str_dict(value, kind))
    return empty


def load(file: Path, wanted: str) -> Any:
    """The stored vocabulary data if the file's key is `wanted`, else None."""
    return json_cache.load(file, wanted, "vocabulary")


def save(file: Path, stored_key: str, data: dict[str, Any]) -> None:
    """Write atomically, owner-only; a failure only means no cache next time."""
    json_cache.save(file, stored_key, "vocabulary", data)
