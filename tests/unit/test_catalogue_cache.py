"""The flattened message catalogues cached under ITMA_HOME (core.i18n, core.json_cache): read
back exactly as parsed, used by a new process without parsing the TOML, ignored when the file
changed or the cache is damaged, never world-readable (issue 16: the MTA pipe's start-up)."""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import i18n


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    templates = tmp_path / "templates"
    shutil.copytree(i18n.TEMPLATES_DIR / "i18n", templates / "i18n")
    monkeypatch.setattr(i18n, "TEMPLATES_DIR", templates)
    monkeypatch.setenv("ITMA_HOME", str(tmp_path / "home"))
    i18n.catalogue.cache_clear()
    yield tmp_path / "home"
    i18n.catalogue.cache_clear()


def _parsed(language: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    path = i18n.TEMPLATES_DIR / "i18n" / f"{language}.toml"
    i18n._flatten("", tomllib.loads(path.read_text(encoding="utf-8")), out)
    return out


def _fresh(language: str) -> dict[str, Any]:
    i18n.catalogue.cache_clear()  # as a new process
    return i18n.catalogue(language)


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_text: str) -> Any:
        raise AssertionError("the TOML was parsed")

    monkeypatch.setattr(i18n.tomllib, "loads", refuse)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_new_process_reads_back_exactly_what_was_parsed(
        home: Path, language: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _parsed(language)
    assert i18n.catalogue(language) == expected
    file = home / "cache" / f"catalogue-{language}.json"
    assert file.stat().st_mode & 0o777 == 0o600
    assert not [p for p in file.parent.iterdir() if p.name.startswith(".")]  # no temporary
    _no_parsing(monkeypatch)
    read = _fresh(language)
    assert read == expected and list(read) == list(expected)
    assert i18n.t(language, "format.day") == expected["format.day"]


def test_a_changed_catalogue_is_parsed_again(home: Path) -> None:
    i18n.catalogue("nl")
    toml = i18n.TEMPLATES_DIR / "i18n" / "nl.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'day = "%d/%m/%Y"', 'day = "%d-%m-%Y"', 1), encoding="utf-8")
    assert _parsed("nl")["format.day"] == "%d-%m-%Y"  # the edit took
    assert _fresh("nl")["format.day"] == "%d-%m-%Y"
    stored = json.loads((home / "cache" / "catalogue-nl.json").read_text(encoding="utf-8"))
    assert stored["messages"]["format.day"] == "%d-%m-%Y"  # rewritten with the new key


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"key": 1, "messages": []}',
                                    b'["a list"]'])
def test_a_damaged_or_foreign_file_is_a_miss(home: Path, damage: bytes) -> None:
    i18n.catalogue("de")
    file = home / "cache" / "catalogue-de.json"
    file.write_bytes(damage)
    assert _fresh("de") == _parsed("de")
    assert json.loads(file.read_bytes())["messages"] == _parsed("de")  # repaired


def test_without_itma_home_nothing_is_written(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ITMA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert _fresh("en") == _parsed("en")
    assert list(tmp_path.iterdir()) == []
    i18n.catalogue.cache_clear()
