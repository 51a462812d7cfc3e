"""Teams set-up: the sideloadable package, the settings, and a stray `.env` that must not
change how activities are authenticated."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from core import migrate
from core.app import App
from core.config import ConfigError, load_settings
from tests.support import teams_activities as ta
from tests.support.server import serve
from tests.support.teams_connector import TeamsConnector

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITMA_")}
    env.update(ITMA_HOME=str(home), LANG="C.UTF-8", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_package_is_a_sideloadable_app(tmp_path: Path) -> None:
    out = tmp_path / "itma.zip"
    done = cli(tmp_path, "teams", "package", "--app-id", APP_ID.upper(), "--out", str(out))
    assert done.returncode == 0 and str(out) in done.stdout, done.stderr
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        color, outline = archive.read("color.png"), archive.read("outline.png")
        dutch = json.loads(archive.read("nl.json"))
    assert sorted(names) == ["color.png", "de.json", "en.json", "manifest.json", "nl.json",
                             "outline.png"]  # all at the root of the zip
    assert manifest["id"] == APP_ID and manifest["manifestVersion"] == "1.17"
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID and bot["scopes"] == ["personal", "team", "groupChat"]
    [commands] = bot["commandLists"]
    assert [c["title"] for c in commands["commands"]] == [
        "aide", "inscrire Dupont BOSA-101", "places BOSA-101", "demandes", "lier"]
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128
               for c in commands["commands"])
    assert len(manifest["description"]["short"]) <= 80
    assert manifest["localizationInfo"]["defaultLanguageTag"] == "fr-BE"
    assert dutch["bots[0].commandLists[0].commands[1].title"] == "inschrijven Peeters BOSA-101"
    assert png_size(color) == (192, 192) and png_size(outline) == (32, 32)
    bad = cli(tmp_path, "teams", "package", "--app-id", "not-a-guid")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "--app-id" in bad.stderr


def test_teams_settings_fail_in_one_clear_line(tmp_path: Path) -> None:
    base = {"ITMA_HOME": str(tmp_path), "ITMA_SECRET_KEY": "test-secret-key-0123456789"}
    for given, named in (({"ITMA_TEAMS_APP_ID": APP_ID}, "ITMA_TEAMS_APP_PASSWORD"),
                         ({"ITMA_TEAMS_APP_PASSWORD": "x"}, "ITMA_TEAMS_APP_ID"),
                         ({"ITMA_TEAMS_ALLOW_UNAUTHENTICATED": "maybe"},
                          "ITMA_TEAMS_ALLOW_UNAUTHENTICATED"),
                         ({"ITMA_TEAMS_OPENID_URL": "ftp://x"}, "ITMA_TEAMS_OPENID_URL")):
        with pytest.raises(ConfigError) as error:
            load_settings({**base, **given})
        assert str(error.value).startswith(named)
    assert not load_settings(base).teams_enabled
    assert load_settings({**base, "ITMA_TEAMS_ALLOW_UNAUTHENTICATED": "1"}).teams_enabled
    assert load_settings({**base, "ITMA_TEAMS_APP_ID": APP_ID,
                          "ITMA_TEAMS_APP_PASSWORD": "x"}).teams_enabled
    env_bad = subprocess.run([sys.executable, "-m", "cli", "serve"], capture_output=True,
                             text=True, timeout=60, env={
                                 **{k: v for k, v in os.environ.items()
                                    if not k.startswith("ITMA_")},
                                 "ITMA_HOME": str(tmp_path), "ITMA_TEAMS_APP_ID": APP_ID,
                                 "PYTHONPATH": str(ROOT)})
    assert env_bad.returncode == 2 and env_bad.stderr.strip().count("\n") == 0
    assert "ITMA_TEAMS_APP_PASSWORD" in env_bad.stderr


def test_a_stray_dotenv_cannot_change_authentication(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK loads `.env` from the working directory up at import; serve must not."""
    (tmp_path / ".env").write_text(
        "DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS=true\nCLIENT_ID=evil\n"
        "CLIENT_SECRET=evil\nCLOUD=China\nSERVICE_URL=http://127.0.0.1:9/\n")
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    env = {"ITMA_HOME": str(home), "ITMA_SECRET_KEY": "test-secret-key-0123456789"}
    application = App(load_settings(env))
    migrate.upgrade(application.db)
    application.close()
    signer = ta.Signer()
    person = ta.Person("T1", "aad-1", "Someone")
    with TeamsConnector(jwks=signer.jwks) as connector:
        activity = ta.message("aide", person, service_url=connector.url)
        for settings in ({}, {"ITMA_TEAMS_APP_ID": ta.APP_ID, "ITMA_TEAMS_APP_PASSWORD": "s",
                              "ITMA_TEAMS_OPENID_URL": connector.openid_url}):
            with serve({**env, **settings}) as base:
                request = urllib.request.Request(
                    base + "/api/messages", data=json.dumps(activity).encode(),
                    method="POST", headers={"content-type": "application/json"})
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(request, timeout=10)
                assert refused.value.code == 401
                if settings:  # and the key set is the one configured, not China's
                    request.add_header("authorization",
                                       f"Bearer {signer.token(connector.url)}")
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        assert answer.status == 200
    assert connector.key_fetches == 1


def test_text_people_typed_stays_literal_in_cards() -> None:
    """A name typed on the public site cannot become a link, emphasis or a list in Teams."""
    from bot import teams_cards
    from core.conversation import Reply
    from core.conversation.types import Choice

    typed = "[Cliquez ici](https://evil.example) **urgent** <b>x</b>\n- liste\n1. un"
    reply = Reply(f"Nouvelle inscription\n{typed}", "fr", actions=["approve", "refuse"],
                  ref="request:7", choices=[Choice("1", "[lien](https://evil.example)")])
    card = teams_cards.as_json(teams_cards.render(reply))
    blocks = [b["text"] for b in card["body"] if b["type"] == "TextBlock"]
    assert blocks[1] == r"\[Cliquez ici\]\(https://evil.example\) \*\*urgent\*\* \<b\>x\</b\>"
    assert blocks[2] == r"\- liste" and blocks[3] == r"1\. un"
    choice_set = next(b for b in card["body"] if b["type"] == "Input.ChoiceSet")
    assert choice_set["choices"][0]["title"] == "1. [lien](https://evil.example)"  # plain text
    assert [a["data"]["itma"] for a in card["actions"]] == ["choose", "approve:7", "refuse:7"]
