"""Files in the console chat: `say --file` and `/file` send one, exports and error lists come
back as files in $ITMA_HOME/exports (owner-only) with their paths printed."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.cli.test_cli import EXE, Cli

SOPHIE = "sophie.lambert@bosa.example"  # French, BOSA and FIN


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Path]:
    home = tmp_path_factory.mktemp("home")
    cli = Cli(home)
    cli.json("demo", "--seed-only", "--json")
    return cli, home


def _say(cli: Cli, *args: str) -> str:
    return str(cli("say", "--as", SOPHIE, *args).stdout)


def test_say_file_asks_terms_organisation_and_writes_the_errors_file(
        demo: tuple[Cli, Path]) -> None:
    cli, home = demo
    sample = str(home / "pdata-sample.csv")
    assert "conditions d'utilisation" in _say(cli, "--file", sample)
    assert _say(cli, "oui").startswith("Merci")
    asked = _say(cli, "--file", sample)
    assert "pour quelle organisation est-il ?" in asked and "1. BOSA" in asked
    out = _say(cli, "1").splitlines()
    assert out[0].startswith("pdata-sample.csv : 8 erreurs sur 11 lignes")
    path = Path(out[-1])
    assert path == home / "exports" / "pdata-sample-erreurs.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().decode("utf-8-sig").startswith("ligne;colonne;valeur;erreur")
    _say(cli, "--file", sample)
    again = Path(_say(cli, "1").splitlines()[-1])
    assert again.name == "pdata-sample-erreurs-2.csv"


def test_say_json_rapport_xlsx_gives_the_path_of_a_workbook(demo: tuple[Cli, Path]) -> None:
    cli, home = demo
    found = cli.json("collaborators", "search", "--org", "BOSA", "--json", "Beckers")
    name = f"{found[0]['surname']} {found[0]['given_names']}"
    answer: dict[str, Any] = cli.json("say", "--as", SOPHIE, "--json", f"rapport {name} xlsx")
    [attachment] = answer["attachments"]
    assert attachment["filename"].endswith(".xlsx") and attachment["size"] > 0
    path = Path(attachment["path"])
    assert path.parent == home / "exports"
    sheet = load_workbook(io.BytesIO(path.read_bytes())).active
    assert sheet is not None and sheet["B2"].value == found[0]["given_names"]


def test_chat_file_line_applies_a_right_file(demo: tuple[Cli, Path]) -> None:
    cli, home = demo
    good = home / "good.csv"
    good.write_bytes(b"".join((home / "pdata-sample.csv").read_bytes().splitlines(True)[:5]))
    lines = f"/file {good}\n1\noui\n"
    done = subprocess.run([*EXE, "chat", "--as", SOPHIE], input=lines, capture_output=True,
                          text=True, timeout=120, env=cli.env)
    assert done.returncode == 0, done.stderr
    assert "good.csv : 4 lignes, toutes correctes" in done.stdout
    assert "good.csv appliqué : 2 ajouté(s), 1 modifié(s), 1 départ(s)" in done.stdout
    found = cli.json("collaborators", "search", "--org", "BOSA", "--json", "Vandenbroucke Lotte")
    assert found[0]["surname"] == "Vandenbroucke"


def test_an_oversized_file_is_refused_from_its_size(demo: tuple[Cli, Path]) -> None:
    cli, home = demo
    huge = home / "huge.csv"
    with huge.open("wb") as out:
        out.truncate(26 * 1024 * 1024)  # sparse: its size says enough
    assert _say(cli, "--file", str(huge)).strip() == \
        "Le fichier est trop volumineux (26.0 Mo ; 25 Mo au plus)."
    missing = cli("say", "--as", SOPHIE, "--file", str(home / "nope.csv"))
    assert "Je n'ai pas pu récupérer le fichier « nope.csv »" in missing.stdout
    empty = cli("say", "--as", SOPHIE, ok=False)
    assert empty.returncode != 0 and "--file" in empty.stderr
    os.remove(huge)
    assert json.loads(cli("say", "--as", SOPHIE, "--json", "aide").stdout)["attachments"] == []
