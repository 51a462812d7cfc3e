"""`jobs run --today` across an officer's expiry through the real command: reminders 30, 7 and
1 days before the end, each once; the end notice once; every action blocked after it with the
renewal path; a renewal approved with `officers approve` extends from the current end. And the
demo's tracks, from chat."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from core import nrn
from tests.cli.test_cli import Cli

TODAY = date.today()
ENDED = TODAY - timedelta(days=2)
"""The lapsing officer's last day: already past for `say`, which runs on the real clock."""
ENDING = TODAY + timedelta(days=20)
LAPSING, RENEWING = "marc.lapse@bosa.example", "nina.renew@bosa.example"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    cli = Cli(tmp_path_factory.mktemp("home"))
    cli("demo", "--seed-only")
    rng = random.Random(404)
    for email, name, until in ((LAPSING, "Marc Lapse", ENDED), (RENEWING, "Nina Renew", ENDING)):
        cli("officers", "add", "--email", email, "--name", name, "--nrn", nrn.generate(rng),
            "--org", "BOSA", "--valid-until", until.isoformat())
    return cli


def jobs(cli: Cli, day: date, officer: str = LAPSING) -> dict[str, list[dict[str, Any]]]:
    """What one run did for that officer (the demo's and the other officer's rows left out)."""
    done = cli.json("jobs", "run", "--today", day.isoformat(), "--json")
    assert done["today"] == day.isoformat()
    return {name: [r for r in rows if r.get("officer") == officer]
            for name, rows in done["jobs"].items()}


def test_reminders_once_each_then_the_end_then_blocked(cli: Cli) -> None:
    for days in (30, 7, 1):
        day = ENDED - timedelta(days=days)
        assert jobs(cli, day)["access reminders"] == [{"officer": LAPSING, "days": days}]
        assert jobs(cli, day)["access reminders"] == []  # the same day again: nothing twice
        assert jobs(cli, day + timedelta(days=1))["access reminders"] == []
    after = ENDED + timedelta(days=1)
    assert jobs(cli, after)["access expiry"] == [{"officer": LAPSING}]
    assert jobs(cli, after + timedelta(days=1))["access expiry"] == []
    outbox = cli.json("outbox", "list", "--json")
    assert sum(1 for m in outbox if m["to"] == LAPSING) == 4  # three reminders, one end notice
    blocked = cli("say", "--as", LAPSING, "places BOSA-101").stdout
    assert "n'est plus valable" in blocked and "renouveler" in blocked
    asked = cli("say", "--as", LAPSING, "renouveler").stdout
    assert "renouvellement n°" in asked
    number = asked.split("n°")[1].split()[0]
    cli("officers", "approve", number)
    assert "n'est plus valable" not in cli("say", "--as", LAPSING, "places BOSA-101").stdout
    assert _until(cli, LAPSING) == TODAY + timedelta(days=365)  # ended: from today


def test_a_renewal_extends_from_the_current_end(cli: Cli) -> None:
    asked = cli("say", "--as", RENEWING, "renew").stdout
    number = asked.split("#")[1].split()[0]
    assert any(r["id"] == int(number) and r["kind"] == "renewal"
               for r in cli.json("officers", "requests", "--json"))
    cli("officers", "approve", number)
    assert _until(cli, RENEWING) == ENDING + timedelta(days=365)
    assert jobs(cli, ENDING - timedelta(days=7), RENEWING)["access reminders"] == []  # not due


def test_the_demo_tracks_from_chat(cli: Cli) -> None:
    sophie = "sophie.lambert@bosa.example"
    listed = cli("say", "--as", sophie, "parcours pro").stdout
    assert "PRO-MGT" in listed and "prérequis : PRO-MGT" in listed and "cohorte" in listed
    report = cli("say", "--as", sophie, "--json", "trajecten").stdout
    assert "PRO-DIR" in report


def _until(cli: Cli, email: str) -> date:
    found = next(o for o in cli.json("officers", "list", "--json") if o["email"] == email)
    return date.fromisoformat(found["valid_until"])


