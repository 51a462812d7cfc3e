"""The `itma-assistant` command as operators and scripts use it: real processes, real files."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core import nrn

EXE = [sys.executable, "-m", "cli"]


class Cli:
    def __init__(self, home: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ITMA_")}
        self.env.update(ITMA_HOME=str(home), LANG="C.UTF-8", PYTHONPATH=str(Path.cwd()))

    def __call__(self, *args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess:
        done = subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=120,
                              env={**self.env, **env})
        assert "Traceback" not in done.stderr, done.stderr
        if ok:
            assert done.returncode == 0, done.stderr
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self(*args).stdout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, dict[str, Any]]:
    cli = Cli(tmp_path_factory.mktemp("home"))
    summary = cli.json("demo", "--seed-only", "--json")
    return cli, summary


def _free(cli: Cli, session_id: int) -> int:
    rows = cli.json("sessions", "list", "--json")
    return next(r["free"] for r in rows if r["id"] == session_id)


def test_seed_only_prints_the_contract(demo: tuple[Cli, dict[str, Any]]) -> None:
    _cli, summary = demo
    assert summary["collaborators"] >= 2000
    officer = summary["officers"][0]
    assert set(officer) >= {"email", "organisations", "language"}
    assert len(summary["trainings"]) >= 30
    session = summary["trainings"][0]["sessions"][0]
    assert set(session) >= {"id", "start", "capacity", "free"}
    nearly_full = [s for t in summary["trainings"] for s in t["sessions"]
                   if 0 < s["free"] <= 2]
    assert nearly_full


@pytest.mark.parametrize(("email", "verb", "yes", "done"), [
    ("sophie.lambert@bosa.example", "inscrire", "oui", " est inscrit"),
    ("pieter.janssens@fin.example", "inschrijven", "ja", " is ingeschreven"),
    ("emma.wouters@jus.example", "enroll", "yes", " is enrolled"),
])
def test_say_walks_the_whole_enroll_flow(demo: tuple[Cli, dict[str, Any]], email: str,
                                         verb: str, yes: str, done: str) -> None:
    cli, summary = demo
    officer = next(o for o in summary["officers"] if o["email"] == email)
    found = cli.json("collaborators", "search", "--org", officer["organisations"][0], "--json",
                     "--limit", "1", "Maes")
    surname = found[0]["surname"]
    training = next(t for t in summary["trainings"]
                    if len(t["sessions"]) >= 1 and t["sessions"][0]["free"] >= 3
                    and not t["code"].startswith(("FIN-", "JUS-")))
    session = training["sessions"][0]
    before = _free(cli, session["id"])
    outbox_before = len(cli.json("outbox", "list", "--json"))
    day = session["start"][8:10] + "/" + session["start"][5:7]
    reply = cli.json("say", "--as", email, "--json", f"{verb} {surname} {training['code']} {day}")
    for _ in range(3):
        if reply["actions"] == ["confirm", "cancel"]:
            break
        assert reply["choices"], reply
        reply = cli.json("say", "--as", email, "--json", reply["choices"][0]["key"])
    assert reply["actions"] == ["confirm", "cancel"] and not reply["done"]
    reply = cli.json("say", "--as", email, "--json", yes)
    assert reply["done"] and done in reply["text"], reply
    assert _free(cli, session["id"]) == before - 1
    outbox = cli.json("outbox", "list", "--json")
    assert len(outbox) == outbox_before + 1
    assert outbox[-1]["state"] == "pending" and outbox[-1]["message_id"].startswith("<")


def test_polite_refusals(demo: tuple[Cli, dict[str, Any]]) -> None:
    cli, _summary = demo
    sophie = "sophie.lambert@bosa.example"
    out = cli("say", "--as", sophie, "inscrire Maes NOPE-999").stdout
    assert "Je ne connais pas de formation" in out
    cli("say", "--as", sophie, "annuler")
    out = cli("say", "--as", sophie, "inscrire Qwxzyk BOSA-101").stdout
    if "quelle session" in out:
        out = cli("say", "--as", sophie, "1").stdout
    assert "Je ne trouve personne" in out
    cli("say", "--as", sophie, "annuler")
    out = cli("say", "--as", "luc.dubois@eco.example", "inscrire Maes BOSA-101").stdout
    assert "n'est plus valable" in out
    out = cli("say", "--as", "nobody@example.be", "aide").stdout
    assert "Aucun responsable" in out or "No training officer" in out


def test_officer_cannot_reach_other_organisations(demo: tuple[Cli, dict[str, Any]]) -> None:
    cli, _summary = demo
    jus = cli.json("collaborators", "search", "--org", "JUS", "--json", "--limit", "1", "Dubois")
    name = jus[0]["surname"]
    bosa = cli.json("collaborators", "search", "--org", "BOSA", "--json", "--limit", "3", name)
    reply = cli.json("say", "--as", "pieter.janssens@fin.example", "--json",
                     f"inschrijven {name} BOSA-101")
    assert all("JUS" not in c["label"] for c in reply["choices"])
    del bosa


def test_officers_commands_and_errors(demo: tuple[Cli, dict[str, Any]]) -> None:
    cli, _summary = demo
    number = nrn.generate(random.Random(3))
    cli("officers", "add", "--email", "new@bosa.example", "--name", "Nora Nieuw", "--nrn",
        number, "--org", "BOSA", "--language", "nl")
    listed = cli.json("officers", "list", "--json")
    new = next(o for o in listed if o["email"] == "new@bosa.example")
    assert new["organisations"] == ["BOSA"] and new["links"] == []
    assert number not in cli("officers", "list").stdout
    cli("officers", "link", "--email", "new@bosa.example", "--slack", "T1:U42")
    new = next(o for o in cli.json("officers", "list", "--json")
               if o["email"] == "new@bosa.example")
    assert new["links"][0]["platform"] == "slack" and new["links"][0]["user"] == "U42"
    cli("officers", "unlink", "--slack", "T1:U42")
    assert next(o for o in cli.json("officers", "list", "--json")
                if o["email"] == "new@bosa.example")["links"] == []
    gone = cli("officers", "unlink", "--slack", "T1:U42", ok=False)
    assert gone.returncode == 1 and "T1:U42" in gone.stderr
    cli("officers", "link", "--email", "new@bosa.example", "--slack", "T1:U42")
    cli("officers", "revoke", "--email", "new@bosa.example")
    out = cli("say", "--as", "new@bosa.example", "inschrijven Maes BOSA-101").stdout
    assert "niet meer geldig" in out or "no longer valid" in out
    cli("officers", "grant", "--email", "new@bosa.example")
    bad = cli("officers", "add", "--email", "x@bosa.example", "--name", "X Y", "--nrn",
              "12345678901", "--org", "BOSA", ok=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error:")
    assert "12345678901" not in bad.stderr
    bad = cli("officers", "add", "--email", "y@bosa.example", "--name", "X Y", "--nrn",
              nrn.generate(random.Random(4)), "--org", "NOPE", ok=False)
    assert bad.returncode == 1 and "NOPE" in bad.stderr


def test_import_reports_every_error_and_applies_nothing(tmp_path: Path,
                                                        demo: tuple[Cli, dict[str, Any]]) -> None:
    cli, _summary = demo
    rng = random.Random(5)
    good = nrn.generate(rng)
    path = tmp_path / "people.csv"
    path.write_text(
        "national_register_number;surname;given_names;email;language;organisation;department\n"
        f"{good};Nieuwe;Anna;anna@example.be;nl;BOSA;DG X\n"
        "12345678901;Fout;Piet;piet@example.be;nl;BOSA;DG X\n"
        f"{nrn.generate(rng)};Autre;Marc;marc@example.be;xx;BOSA;DG X\n"
        f"{nrn.generate(rng)};Ailleurs;Zoé;zoe@example.be;fr;NOPE;DG X\n", encoding="utf-8")
    bad = cli("import", "collaborators", str(path), ok=False)
    assert bad.returncode == 1
    assert "line 3, column national_register_number" in bad.stderr
    assert "line 4, column language" in bad.stderr
    assert "line 5, column organisation" in bad.stderr
    assert all(r["surname"] != "Nieuwe"
               for r in cli.json("collaborators", "search", "--json", "Nieuwe Anna"))
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    assert "imported 1 collaborators" in cli("import", "collaborators", str(path)).stdout
    assert cli.json("collaborators", "search", "--json", "Nieuwe")[0]["surname"] == "Nieuwe"


def test_import_catalog(tmp_path: Path, demo: tuple[Cli, dict[str, Any]]) -> None:
    cli, _summary = demo
    path = tmp_path / "catalog.csv"
    path.write_text(
        "code;title_fr;title_nl;title_en;kind;organisation;session_start;session_end;place;"
        "capacity\n"
        "NEW-501;Nouveau;Nieuw;New;catalogue;;2027-06-01;2027-06-01;Namur;12\n"
        "NEW-501;Nouveau;Nieuw;New;catalogue;;2027-09-01;2027-09-02;Gent;12\n", encoding="utf-8")
    assert "1 trainings, 2 new sessions" in cli("import", "catalog", str(path)).stdout
    assert "0 new sessions" in cli("import", "catalog", str(path)).stdout
    rows = cli.json("sessions", "list", "--training", "new-501", "--json")
    assert [r["start"] for r in rows] == ["2027-06-01", "2027-09-01"]


def test_configuration_and_unbuilt_commands_fail_in_one_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    bad = cli("sessions", "list", ok=False, ITMA_SMTP_LISTEN="nowhere")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "ITMA_SMTP_LISTEN" in bad.stderr
    bad = cli("sessions", "list", ok=False)
    assert bad.returncode == 2 and "db upgrade" in bad.stderr
    bad = cli("helpdesk", "list", ok=False)
    assert bad.returncode == 2 and "db upgrade" in bad.stderr


def test_link_url_prints_a_one_time_url(demo: tuple[Cli, dict[str, Any]]) -> None:
    cli, _summary = demo
    first = cli("link", "url", "--slack", "T1:U1").stdout.strip()
    second = cli("link", "url", "--slack", "T1:U1").stdout.strip()
    assert first.startswith("https://127.0.0.1:8443/link/") and first != second
    bad = cli("link", "url", "--teams", "no-colon", ok=False)
    assert bad.returncode == 1 and "--teams" in bad.stderr
