"""The vocabulary cached under ITMA_HOME: read back exactly as built, ignored when its key no
longer fits or the file is damaged, never world-readable (issue 16: a one-shot `say`)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core import i18n
from core.conversation.understanding import vocabulary_cache
from core.conversation.understanding.vocabulary import Vocabulary, build, vocabulary


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ITMA_HOME", str(tmp_path))
    vocabulary.cache_clear()
    yield tmp_path
    vocabulary.cache_clear()


def _assert_same(built: Vocabulary, read: Vocabulary) -> None:
    for item in dataclasses.fields(Vocabulary):
        expected, actual = getattr(built, item.name), getattr(read, item.name)
        assert type(actual) is type(expected), item.name
        assert actual == expected, item.name
        if isinstance(expected, dict):  # first match wins in ranked buckets and keywords
            assert list(actual) == list(expected), item.name


def _fresh() -> Vocabulary:
    vocabulary.cache_clear()
    return vocabulary()


def test_a_new_process_reads_back_exactly_what_was_built(home: Path) -> None:
    built = build()
    first = vocabulary()
    file = home / "cache" / "vocabulary.json"
    assert file.stat().st_mode & 0o777 == 0o600
    assert not [p.name for p in file.parent.iterdir() if p.name.startswith(".")]  # temporaries
    _assert_same(built, first)
    _assert_same(built, _fresh())
    assert _fresh().phrases["inscris"][0].words == built.phrases["inscris"][0].words


def test_the_file_is_what_a_new_process_uses(home: Path) -> None:
    vocabulary()
    file = home / "cache" / "vocabulary.json"
    stored = json.loads(file.read_text(encoding="utf-8"))
    stored["vocabulary"]["keywords"]["zzzquux"] = "seats"
    file.write_text(json.dumps(stored), encoding="utf-8")
    assert _fresh().keywords["zzzquux"] == "seats"
    stored["key"] = "another catalogue"
    file.write_text(json.dumps(stored), encoding="utf-8")
    assert "zzzquux" not in _fresh().keywords  # stale: rebuilt and rewritten
    assert json.loads(file.read_text(encoding="utf-8"))["key"] == vocabulary_cache.key()


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],
    lambda text: "not json",
    lambda text: json.dumps([1, 2, 3]),
    lambda text: text.replace('"polite":[', '"polite":[1,', 1),
    lambda text: text.replace('"months":{', '"months":{"zzz":"one",', 1),
    lambda text: text.replace('"keywords":{', '"keywords":{"zzz":3,', 1),
    lambda text: text.replace(',"polite":', ',"impolite":', 1),
])
def test_a_damaged_file_is_ignored_and_replaced(home: Path,
                                                damage: Callable[[str], str]) -> None:
    built = build()
    vocabulary()
    file = home / "cache" / "vocabulary.json"
    text = file.read_text(encoding="utf-8")
    damaged = damage(text)
    assert damaged != text
    file.write_text(damaged, encoding="utf-8")
    _assert_same(built, _fresh())
    assert file.read_text(encoding="utf-8") == text
    _assert_same(built, _fresh())


def test_the_key_follows_the_catalogues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(i18n.TEMPLATES_DIR / "i18n", copy / "i18n")
    monkeypatch.setattr(i18n, "TEMPLATES_DIR", copy)
    before = vocabulary_cache.key()
    assert before is not None and before == vocabulary_cache.key()
    catalogue = copy / "i18n" / f"{i18n.LANGUAGES[0]}.toml"
    catalogue.write_text(catalogue.read_text(encoding="utf-8") + "\n# edited\n",
                         encoding="utf-8")
    assert vocabulary_cache.key() not in (None, before)
    catalogue.unlink()
    assert vocabulary_cache.key() is None  # unreadable: no cache rather than a wrong one


def test_without_itma_home_nothing_is_written(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ITMA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    vocabulary.cache_clear()
    try:
        _assert_same(build(), vocabulary())
    finally:
        vocabulary.cache_clear()
    assert list(tmp_path.iterdir()) == []
