"""`import pdata` and `reports …` as operators run them, on the demo database and its sample
file: every error on stderr with its line, exit 1, nothing changed; a right file applied;
exports written where asked and opened back."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from tests.cli.test_cli import EXE, Cli

FULL_NUMBER = re.compile(r"(?<!\d)\d{11}(?!\d)|\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Path, dict[str, Any]]:
    home = tmp_path_factory.mktemp("home")
    cli = Cli(home)
    summary = cli.json("demo", "--seed-only", "--json")
    return cli, home, summary


def _names(cli: Cli, query: str) -> list[str]:
    found = cli.json("collaborators", "search", "--org", "BOSA", "--json", query)
    return [f"{f['surname']} {f['given_names']}" for f in found]


def test_the_demo_sample_lists_every_error_and_changes_nothing(
        demo: tuple[Cli, Path, dict[str, Any]]) -> None:
    cli, home, _summary = demo
    sample = home / "pdata-sample.csv"
    errors = home / "errors.csv"
    done = cli("import", "pdata", "--org", "BOSA", "--errors", str(errors), str(sample),
               ok=False)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == ("error: pdata-sample.csv: 8 errors in 11 rows; nothing was applied. "
                        "Correct them and send the file again.")
    listed = [re.match(r"  line (\d+), column ([A-G]) \(([a-z_]+)\)", x) for x in lines[1:9]]
    assert [(int(m[1]), m[3]) for m in listed if m] == [
        (6, "national_register_number"), (7, "email"), (8, "national_register_number"),
        (9, "surname"), (10, "national_register_number"), (11, "national_register_number"),
        (11, "language"), (12, "action")]
    assert "check digits" in lines[1] and "already on line 2" in lines[3]
    assert not FULL_NUMBER.search(done.stdout + done.stderr)
    rows = list(csv.reader(io.StringIO(errors.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["line", "column", "value", "error"] and len(rows) == 9
    assert rows[4][2] == "'=HYPERLINK(\"http://example.com\")"
    assert "Vandenbroucke Lotte" not in _names(cli, "Vandenbroucke Lotte")
    french = cli("import", "pdata", "--org", "BOSA", str(sample), ok=False, LANG="fr_BE.UTF-8")
    assert "ligne 6, colonne A (national_register_number)" in french.stderr


def test_a_right_file_is_applied_and_found_by_search(
        demo: tuple[Cli, Path, dict[str, Any]]) -> None:
    cli, home, _summary = demo
    good = home / "good.csv"
    good.write_bytes(b"".join((home / "pdata-sample.csv").read_bytes().splitlines(True)[:5]))
    dry = cli("import", "pdata", "--org", "BOSA", "--dry-run", str(good))
    assert dry.stdout.splitlines() == [
        "good.csv: 4 rows, all correct — 2 to add, 1 to update, 1 leaving, 0 unchanged.",
        "Dry run: nothing was changed."]
    assert "Vandenbroucke Lotte" not in _names(cli, "Vandenbroucke Lotte")
    done = cli("import", "pdata", "--org", "BOSA", str(good))
    assert done.stdout.strip() == "good.csv applied: 2 added, 1 updated, 1 left, 0 unchanged."
    assert _names(cli, "Vandenbroucke Lotte")[0] == "Vandenbroucke Lotte"
    again = cli("import", "pdata", "--org", "BOSA", str(good), ok=False)
    assert again.returncode == 1 and "Already registered (Vandenbroucke Lotte)" in again.stderr
    other = cli("import", "pdata", "--org", "FIN", str(good), ok=False)
    assert "registered in another organisation" in other.stderr


def test_an_excel_workbook_and_the_failures_of_the_command(
        demo: tuple[Cli, Path, dict[str, Any]]) -> None:
    cli, home, _summary = demo
    rows = list(csv.reader(io.StringIO((home / "pdata-sample.csv").read_bytes()
                                       .decode("cp1252")), delimiter=";"))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(rows[0])
    sheet.append([int(rows[2][0]), *rows[2][1:]])  # born 2001: Excel keeps 10 digits
    path = home / "one.xlsx"
    workbook.save(path)
    done = cli("import", "pdata", "--org", "BOSA", "--dry-run", str(path), ok=False)
    assert "Already registered (Dumont Théo)" in done.stderr, done.stderr
    missing = cli("import", "pdata", "--org", "BOSA", str(home / "nope.csv"), ok=False)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    unknown = cli("import", "pdata", "--org", "NOPE", str(path), ok=False)
    assert unknown.returncode == 1 and "NOPE" in unknown.stderr


def test_reports_are_written_where_asked(demo: tuple[Cli, Path, dict[str, Any]]) -> None:
    cli, home, summary = demo
    person = cli.json("collaborators", "search", "--org", "BOSA", "--json", "--limit", "1",
                      "Maes")[0]
    out = home / "report.xlsx"
    done = cli("reports", "collaborator", "--org", "BOSA", "--out", str(out),
               str(person["id"]))
    assert done.stdout.strip() == str(out)
    sheet = load_workbook(out).active
    assert sheet.freeze_panes == "A2" and sheet["A1"].value == "surname"
    by_name = cli("reports", "collaborator", "--org", "BOSA", "--language", "nl", "--format",
                  "csv", "--out", str(home / "r.csv"),
                  f"{person['surname']} {person['given_names']}")
    assert by_name.returncode == 0
    assert (home / "r.csv").read_bytes().decode("utf-8-sig").startswith("naam;voornamen")
    training = next(t for t in summary["trainings"] if len(t["sessions"]) > 1)
    several = cli("reports", "participants", training["code"], ok=False)
    assert several.returncode == 1 and "--date" in several.stderr
    session = training["sessions"][0]
    done = subprocess.run([*EXE, "reports", "participants", training["code"], "--date",
                           session["start"], "--format", "xlsx"], capture_output=True, text=True,
                          timeout=120, env=cli.env, cwd=home, check=True)
    written = Path(done.stdout.strip())
    assert written.parent == home and written.name.startswith(f"participants-{training['code']}")
    assert load_workbook(written).active["A1"].value == "surname"
    out = home / "overview.xlsx"
    cli("reports", "overview", "--org", "BOSA", "--from", session["start"], "--out", str(out))
    sheet = load_workbook(out).active
    assert [c.value for c in sheet[1]][-1] == "your people"
    assert all(row[4].value.date().isoformat() >= session["start"]
               for row in sheet.iter_rows(min_row=2))
