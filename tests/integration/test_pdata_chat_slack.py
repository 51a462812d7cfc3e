"""P-data files and exports in Slack, end to end: signed events into the running `serve`, file
downloads and uploads through the local Web API stand-in, over Slack's wire format."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core import nrn
from core.models import Collaborator, PdataUpload
from core.services import collaborators
from core.services.access import NewOfficer, add_officer, link_identity, officer_by_email
from tests.conftest import World
from tests.support import pdata_files
from tests.support import slack_payloads as sp
from tests.support.server import serve
from tests.support.slack_mock import Call, SlackMock

SECRET = "slack-signing-secret-for-tests"
SOPHIE, FRANK = "USOPHIE", "UFRANK"
FULL_NUMBER = re.compile(r"(?<!\d)\d{11}(?!\d)|\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}")


class Slack:
    def __init__(self, base: str, mock: SlackMock) -> None:
        self.base = base
        self.mock = mock

    def event(self, event: dict[str, Any]) -> None:
        body = sp.event_callback(event)
        request = urllib.request.Request(
            self.base + "/slack/events", data=body, method="POST",
            headers={"content-type": sp.JSON, **sp.sign(body, SECRET)})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200

    def posts(self, channel: str = "D1") -> list[Call]:
        return [c for c in self.mock.of("chat.postMessage") if c.params.get("channel") == channel]

    def drop(self, name: str, content: bytes, user: str = SOPHIE, channel: str = "D1",
             **kw: Any) -> Call:
        """A file dropped in the DM: the one message answered there."""
        before = len(self.posts(channel))
        file = self.mock.add_file(name, content, user=user, channel=channel, **kw)
        self.event(sp.file_share([file], user_id=user, channel=channel))
        return self.mock.wait_for("chat.postMessage", before + 1,
                                  where=lambda c: c.params.get("channel") == channel)[before]

    def say(self, text: str, user: str = SOPHIE, channel: str = "D1") -> Call:
        before = len(self.posts(channel))
        self.event(sp.dm_message(text, user_id=user, channel=channel))
        return self.mock.wait_for("chat.postMessage", before + 1,
                                  where=lambda c: c.params.get("channel") == channel)[before]

    def click(self, action_id: str, value: str, user: str = SOPHIE, channel: str = "D1"
              ) -> Call:
        """A button of a message in the DM; the answer posted there after it."""
        before = len(self.posts(channel))
        body = sp.block_action(action_id, value, user_id=user, channel_id=channel,
                               response_url=self.mock.response_url("c"))
        request = urllib.request.Request(
            self.base + "/slack/events", data=body, method="POST",
            headers={"content-type": sp.FORM, **sp.sign(body, SECRET)})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        return self.mock.wait_for("chat.postMessage", before + 1,
                                  where=lambda c: c.params.get("channel") == channel)[before]

    def accept_terms(self, user: str = SOPHIE) -> None:
        terms = self.drop("x.csv", b"x", user=user)
        assert "conditions d'utilisation" in texts(terms)
        assert [b["action_id"] for b in buttons(terms)] == ["itma_confirm", "itma_cancel"]
        assert texts(self.click("itma_confirm", "confirm", user=user)).startswith("Merci")


def texts(call: Call) -> str:
    return " ".join(b.get("text", {}).get("text", "") if isinstance(b.get("text"), dict) else ""
                    for b in call.params.get("blocks", []))


def buttons(call: Call) -> list[dict[str, Any]]:
    return [e for b in call.params.get("blocks", []) if b["type"] == "actions"
            for e in b["elements"]]


@pytest.fixture
def slack(world: World) -> Iterator[Slack]:
    with world.app.unit_of_work() as uow:
        link_identity(uow, officer_by_email(uow, world.officer), "slack", "T1", SOPHIE,
                      via="test")
    settings = world.app.settings
    with SlackMock() as mock, serve({
            "ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
            "ITMA_SECRET_KEY": settings.secret_key.decode(), "ITMA_SLACK_BOT_TOKEN": "xoxb-test",
            "ITMA_SLACK_SIGNING_SECRET": SECRET, "ITMA_SLACK_API_URL": mock.api_url}) as base:
        world.app.settings = dataclasses.replace(
            settings, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
            slack_api_url=mock.api_url)
        yield Slack(base, mock)


def people(world: World) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Collaborator)) or 0


def found(world: World, query: str) -> list[str]:
    with world.app.unit_of_work(readonly=True) as uow:
        ids = [o.id for o in officer_by_email(uow, world.officer).organisations]
        return [f.collaborator.display_name for f in collaborators.search(uow, query, ids)]


def test_the_sample_with_errors_gets_the_table_and_the_csv_and_nothing_is_applied(
        slack: Slack, world: World) -> None:
    slack.accept_terms()
    before = people(world)
    answer = slack.drop("pdata-sample.csv", pdata_files.sample(world.app))
    shown = texts(answer)
    assert "pdata-sample.csv : 8 erreurs sur 11 lignes ; rien n'a été appliqué." in shown
    assert "• ligne 6, colonne A (national_register_number) : « " in shown
    assert "• ligne 12, colonne G (action)" in shown and not buttons(answer)
    assert not FULL_NUMBER.search(json.dumps(answer.params, ensure_ascii=False))
    [download] = [c for c in slack.mock.of("file_download") if c.error is None][-1:]
    assert download.token == "xoxb-test"
    slack.mock.wait_for("files.completeUploadExternal")
    [shared] = slack.mock.shared("D1")
    assert shared.filename == "pdata-sample-erreurs.csv"
    rows = list(csv.reader(io.StringIO(shared.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["ligne", "colonne", "valeur", "erreur"] and len(rows) == 9
    assert people(world) == before and not found(world, "Vandenbroucke Lotte")


def test_a_right_file_is_confirmed_by_a_click_and_applied(slack: Slack, world: World) -> None:
    slack.accept_terms()
    answer = slack.drop("personnel.csv", pdata_files.right(world.app))
    assert "personnel.csv : 4 lignes, toutes correctes — 2 à ajouter" in texts(answer)
    assert [b["action_id"] for b in buttons(answer)] == ["itma_confirm", "itma_cancel"]
    assert not found(world, "Vandenbroucke Lotte")
    done = slack.click("itma_confirm", "confirm")
    assert texts(done) == ("personnel.csv appliqué : 2 ajouté(s), 1 modifié(s), 1 départ(s), "
                           "0 inchangé(s).")
    assert found(world, "Vandenbroucke Lotte") == ["Vandenbroucke Lotte"]
    assert slack.mock.shared() == []


def test_terms_first_and_the_same_file_announced_twice_is_handled_once(
        slack: Slack, world: World) -> None:
    file = slack.mock.add_file("personnel.csv", pdata_files.right(world.app), user=SOPHIE)
    slack.event(sp.file_shared(file["id"], user_id=SOPHIE))
    [terms] = slack.mock.wait_for("chat.postMessage")
    assert "conditions d'utilisation" in texts(terms)
    slack.event(sp.file_share([file], user_id=SOPHIE))
    slack.event(sp.file_shared(file["id"], user_id="UBOT"))
    assert texts(slack.click("itma_confirm", "confirm")).startswith("Merci")
    assert len([c for c in slack.posts() if "lisez et acceptez" in texts(c)]) == 1
    assert len(slack.mock.of("file_download")) == 1
    again = slack.mock.add_file("personnel.csv", pdata_files.right(world.app), user=SOPHIE)
    slack.event(sp.file_shared(again["id"], user_id=SOPHIE))
    answer = slack.mock.wait_for("chat.postMessage", where=lambda c: "4 lignes" in texts(c))
    assert [b["action_id"] for b in buttons(answer[0])] == ["itma_confirm", "itma_cancel"]


def test_oversized_lying_and_foreign_files_are_refused_and_the_chat_goes_on(
        slack: Slack, world: World) -> None:
    slack.accept_terms()
    downloads = len(slack.mock.of("file_download"))
    huge = slack.drop("huge.xlsx", b"PK\x03\x04", size=30 * 1024 * 1024)
    assert texts(huge) == "Le fichier est trop volumineux (30.0 Mo ; 25 Mo au plus)."
    assert len(slack.mock.of("file_download")) == downloads  # never read
    lying = slack.drop("small.csv", b"a" * (25 * 1024 * 1024 + 10), size=1_000)
    assert "trop volumineux" in texts(lying)
    with SlackMock() as elsewhere:
        other = elsewhere.add_file("x.csv", b"y")
        answer = slack.drop("x.csv", b"y", url=other["url_private_download"])
        assert "Je n'ai pas pu récupérer le fichier « x.csv »" in texts(answer)
        assert elsewhere.calls == []  # the bot token went nowhere else
    binary = slack.drop("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    assert "Ce n'est pas un fichier CSV ni Excel" in texts(binary)
    assert texts(slack.say("places BOSA-101")).startswith("BOSA-101 « Gestion du temps »")
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(PdataUpload)) == 0


def test_a_long_file_shows_one_progress_message_updated_in_place(
        slack: Slack, world: World) -> None:
    slack.accept_terms()
    first = slack.drop("long.csv", pdata_files.long_file(2_500))
    assert first.params["text"] == "Vérification des lignes : 1000 sur 2500"
    [answer] = slack.mock.wait_for("chat.postMessage", where=lambda c: "toutes correctes"
                                   in texts(c))
    assert "long.csv : 2500 lignes, toutes correctes" in texts(answer)
    progress = [c for c in slack.posts() if c.params.get("text", "").startswith(
        "Vérification des lignes")]
    assert progress == [first]
    updates = [c for c in slack.mock.of("chat.update")
               if c.params.get("text", "").startswith("Vérification des lignes")]
    assert updates and updates[-1].params["text"] == "Vérification des lignes : 2500 sur 2500"
    assert updates[-1].params["channel"] == "D1"
    assert progress[0].at < answer.at and updates[-1].at < answer.at
    checking = slack.click("itma_confirm", "confirm")  # validated again, then applied
    assert checking.params["text"] == "Vérification des lignes : 1000 sur 2500"
    [done] = slack.mock.wait_for("chat.postMessage",
                                 where=lambda c: "long.csv appliqué" in texts(c))
    assert texts(done).startswith("long.csv appliqué : 2500 ajouté(s)")
    later = [c for c in slack.mock.of("chat.update") if checking.at < c.at < done.at
             and c.params.get("text", "").startswith(("Vérification", "Application"))]
    assert later[-1].params["text"] == "Application : 2500 sur 2500"
    assert len({c.params["ts"] for c in later}) == 1  # one message, updated in place


def test_exports_are_attached_as_files(slack: Slack, world: World) -> None:
    answer = slack.say("rapport Dupont Marie xlsx")
    assert re.fullmatch(r"Voici le fichier rapport-Dupont-Marie-[\d-]{10}\.xlsx\.",
                        texts(answer))
    [upload] = slack.mock.wait_for("files.getUploadURLExternal")
    assert upload.params["filename"] == texts(answer)[17:-1]
    slack.mock.wait_for("files.completeUploadExternal")
    [shared] = slack.mock.shared("D1")
    sheet = load_workbook(io.BytesIO(shared.content)).active
    assert sheet is not None and sheet.title == "Rapport"
    assert [c.value for c in sheet[1]][:4] == ["nom", "prénoms", "organisation",
                                               "numéro de registre national"]
    slack.say("inscrits BOSA-101 csv")
    slack.click("itma_choose_1", "1")
    slack.mock.wait_for("files.completeUploadExternal", 2)
    csv_file = slack.mock.shared("D1")[1]
    assert csv_file.filename == "inscrits-BOSA-101-2027-03-12.csv"
    assert csv_file.content.decode("utf-8-sig").startswith("nom;prénoms;organisation")


def test_another_organisations_officer_never_sees_this_ones_people(
        slack: Slack, world: World) -> None:
    with world.app.unit_of_work() as uow:
        add_officer(uow, NewOfficer("fin@fin.example", "Frank Finance",
                                    nrn.generate(__import__("random").Random(11)), ["FIN"]))
        link_identity(uow, officer_by_email(uow, "fin@fin.example"), "slack", "T1", FRANK,
                      via="test")
    slack.accept_terms(FRANK)
    bosa = [world.people[k] for k in ("dupont_marie", "peeters", "claes")]
    answer = slack.drop("bosa.csv", pdata_files.about_others(world.app, bosa), user=FRANK)
    shown = json.dumps(answer.params, ensure_ascii=False)
    assert "3 erreurs sur 3 lignes ; rien n'a été appliqué" in shown
    slack.mock.wait_for("files.completeUploadExternal")
    [errors] = slack.mock.shared()
    listed = errors.content.decode("utf-8-sig")
    for name in ("Dupont", "Marie", "Peeters", "Claes", "Hilde", "DG Test"):
        assert name not in shown and name not in listed
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.get_one(Collaborator, world.people["dupont_marie"]).active


def test_a_file_in_a_channel_counts_only_in_the_bots_thread(slack: Slack, world: World) -> None:
    slack.accept_terms()
    file = slack.mock.add_file("personnel.csv", pdata_files.right(world.app), user=SOPHIE,
                               channel="C9")
    slack.event(sp.file_share([file], user_id=SOPHIE, channel="C9"))
    slack.say("aide")
    assert file["id"] not in [c.params["file"] for c in slack.mock.of("file_download")]
    again = slack.mock.add_file("personnel.csv", pdata_files.right(world.app), user=SOPHIE,
                                channel="C9")
    slack.event(sp.file_share([again], user_id=SOPHIE, channel="C9",
                              thread_ts="1700000000.000100"))
    [private] = slack.mock.wait_for("chat.postMessage",
                                    where=lambda c: c.params.get("channel") == SOPHIE)
    assert "4 lignes, toutes correctes" in texts(private)
    [line] = slack.mock.wait_for("chat.postMessage", where=lambda c: c.params.get("channel")
                                 == "C9")
    assert line.params["thread_ts"] == "1700000000.000100"
    assert "personnel" not in json.dumps(line.params) and "Vandenbroucke" not in json.dumps(
        line.params)
