"""P-data files and exports in Teams, end to end: activities into the running `serve` as Teams
posts them (files as `file.download.info` attachments, `fileConsent/invoke`), and what the bot
sends (cards, file-consent cards, uploads, updates in place) recorded by the local connector."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core import nrn
from core.models import Collaborator, HeldFile
from core.services import collaborators
from core.services.access import NewOfficer, add_officer, link_identity, officer_by_email
from tests.conftest import World
from tests.support import pdata_files
from tests.support import teams_activities as ta
from tests.support.server import serve
from tests.support.teams_connector import Call, TeamsConnector, card_texts

TENANT = "72f988bf-0000-4000-8000-00000000beef"
SOPHIE = ta.Person(TENANT, "aad-sophie", "Sophie Lambert")
EMMA = ta.Person(TENANT, "aad-emma", "Emma Wouters")
FRANK = ta.Person(TENANT, "aad-frank", "Frank Finance")
CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
FULL_NUMBER = re.compile(r"(?<!\d)\d{11}(?!\d)|\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}")


def texts(call: Call) -> str:
    return "\n".join(card_texts(call.card or {})) or str(call.body.get("text") or "")


def attachment_of(call: Call, kind: str) -> dict[str, Any] | None:
    return next((a for a in call.body.get("attachments") or [] if a.get("contentType") == kind),
                None)


class Teams:
    def __init__(self, base: str, connector: TeamsConnector) -> None:
        self.base = base
        self.connector = connector

    def post(self, activity: dict[str, Any]) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + "/api/messages", method="POST",
                                         data=json.dumps(activity).encode(),
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                body = answer.read()
                return answer.status, json.loads(body) if body else None
        except urllib.error.HTTPError as error:
            return error.code, None

    def posts(self, chat: str) -> list[Call]:
        return self.connector.of("create", lambda c: c.conversation_id == chat)

    def wait(self, chat: str, what: Any, count: int = 1) -> list[Call]:
        return self.connector.wait_for("create", count, timeout=20,
                                       where=lambda c: c.conversation_id == chat and what(c))

    def answer(self, before: int, person: ta.Person = SOPHIE) -> Call:
        """The first card posted in the person's chat after the `before` first posts."""
        return self.connector.wait_for(
            "create", 1, timeout=20, where=lambda c: c.conversation_id == person.chat
            and c.card is not None and self.posts(person.chat).index(c) >= before)[0]

    def drop(self, name: str, content: bytes, person: ta.Person = SOPHIE, **kw: Any) -> Call:
        before = len(self.posts(person.chat))
        attachment = self.connector.add_file(name, content, **kw)
        status, _ = self.post(ta.file_message([attachment], person,
                                              service_url=self.connector.url))
        assert status == 200
        return self.answer(before, person)

    def say(self, text: str, person: ta.Person = SOPHIE) -> Call:
        before = len(self.posts(person.chat))
        assert self.post(ta.message(text, person, service_url=self.connector.url))[0] == 200
        return self.answer(before, person)

    def click(self, card: dict[str, Any], title: str, person: ta.Person = SOPHIE,
              inputs: dict[str, str] | None = None) -> Call:
        before = len(self.posts(person.chat))
        status, _ = self.post(ta.click(ta.button(card, title), person, inputs=inputs,
                                       service_url=self.connector.url))
        assert status == 200
        return self.answer(before, person)

    def accept_terms(self, person: ta.Person = SOPHIE) -> None:
        terms = self.drop("x.csv", b"x", person)
        assert "conditions d'utilisation" in texts(terms)
        assert texts(self.click(terms.card or {}, "Confirmer", person)).startswith("Merci")

    def consent(self, person: ta.Person = SOPHIE, nth: int = 1) -> tuple[Call, dict[str, Any]]:
        """The nth file-consent card posted in the person's chat."""
        offer = self.wait(person.chat, lambda c: attachment_of(c, CONSENT) is not None, nth)[
            nth - 1]
        card = attachment_of(offer, CONSENT)
        assert card is not None
        return offer, card

    def allow(self, card: dict[str, Any], person: ta.Person = SOPHIE,
              context: dict[str, Any] | None = None) -> dict[str, Any]:
        info = self.connector.upload_info(card["name"])
        status, _ = self.post(ta.file_consent(
            person, service_url=self.connector.url, action="accept",
            context=context or card["content"]["acceptContext"], upload_info=info))
        assert status == 200
        return info


@pytest.fixture
def teams(world: World) -> Iterator[Teams]:
    with world.app.unit_of_work() as uow:
        for email, person in ((world.officer, SOPHIE), (world.en_officer, EMMA)):
            link_identity(uow, officer_by_email(uow, email), "teams", TENANT, person.aad,
                          via="test")
    settings = world.app.settings
    with TeamsConnector() as connector, serve({
            "ITMA_HOME": str(settings.home), "ITMA_DATABASE_URL": settings.database_url,
            "ITMA_SECRET_KEY": settings.secret_key.decode(),
            "ITMA_TEAMS_SERVICE_URL": connector.url,
            "ITMA_TEAMS_ALLOW_UNAUTHENTICATED": "1"}) as base:
        world.app.settings = dataclasses.replace(settings, teams_allow_unauthenticated=True)
        yield Teams(base, connector)


def people(world: World) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Collaborator)) or 0


def found(world: World, query: str) -> list[str]:
    with world.app.unit_of_work(readonly=True) as uow:
        ids = [o.id for o in officer_by_email(uow, world.officer).organisations]
        return [f.collaborator.display_name for f in collaborators.search(uow, query, ids)]


def test_the_sample_gets_the_error_table_and_the_csv_through_file_consent(
        teams: Teams, world: World) -> None:
    teams.accept_terms()
    before = people(world)
    answer = teams.drop("pdata-sample.csv", pdata_files.sample(world.app))
    shown = texts(answer)
    assert "pdata-sample.csv : 8 erreurs sur 11 lignes ; rien n'a été appliqué." in shown
    assert "• ligne 6, colonne A (national_register_number) : « " in shown
    assert not FULL_NUMBER.search(json.dumps(answer.body, ensure_ascii=False))
    offer, card = teams.consent()
    assert card["name"] == "pdata-sample-erreurs.csv" and offer.conversation_id == SOPHIE.chat
    assert card["content"]["sizeInBytes"] > 100
    assert "OneDrive" in card["content"]["description"]
    info = teams.allow(card)
    [upload] = teams.connector.wait_for("upload")
    assert upload.activity_id == info["uniqueId"] and upload.body["headers"]["authorization"] == ""
    assert upload.body["headers"]["content-range"] == \
        f"bytes 0-{len(upload.data) - 1}/{len(upload.data)}"
    rows = list(csv.reader(io.StringIO(upload.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["ligne", "colonne", "valeur", "erreur"] and len(rows) == 9
    [shown_file] = teams.wait(SOPHIE.chat, lambda c: attachment_of(c, FILE_INFO) is not None)
    assert attachment_of(shown_file, FILE_INFO) == {
        "contentType": FILE_INFO, "contentUrl": info["contentUrl"], "name": info["name"],
        "content": {"uniqueId": info["uniqueId"], "fileType": "csv"}}
    assert people(world) == before and not found(world, "Vandenbroucke Lotte")
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(HeldFile)) == 0


def test_a_right_file_is_confirmed_then_applied(teams: Teams, world: World) -> None:
    teams.accept_terms()
    answer = teams.drop("personnel.csv", pdata_files.right(world.app))
    assert "personnel.csv : 4 lignes, toutes correctes" in texts(answer)
    done = teams.click(answer.card or {}, "Confirmer")
    assert texts(done) == ("personnel.csv appliqué : 2 ajouté(s), 1 modifié(s), 1 départ(s), "
                           "0 inchangé(s).")
    assert found(world, "Vandenbroucke Lotte") == ["Vandenbroucke Lotte"]
    assert teams.connector.of("download")[-1].status == 200


def test_oversized_files_and_files_in_a_channel(teams: Teams, world: World) -> None:
    teams.accept_terms()
    big = b"a" * (25 * 1024 * 1024 + 1)
    assert texts(teams.drop("big.csv", big)) == \
        "Le fichier est trop volumineux (25.0 Mo ; 25 Mo au plus)."
    assert "trop volumineux" in texts(teams.drop("liar.csv", big, declare_length=False))
    channel = ta.Channel(TENANT)
    attachment = teams.connector.add_file("personnel.csv", pdata_files.right(world.app))
    downloads = len(teams.connector.of("download"))
    status, _ = teams.post(ta.file_message([attachment], SOPHIE, channel=channel,
                                           service_url=teams.connector.url, text="voici"))
    assert status == 200
    [private] = teams.wait(SOPHIE.chat, lambda c: "personnel.csv" in texts(c))
    assert "Envoyez-le-moi comme pièce jointe dans notre conversation privée" in texts(private)
    assert len(teams.connector.of("download")) == downloads
    assert texts(teams.say("places BOSA-101")).startswith("BOSA-101 « Gestion du temps »")


def test_exports_are_offered_allowed_declined_and_only_for_their_owner(
        teams: Teams, world: World) -> None:
    answer = teams.say("rapport Dupont Marie xlsx")
    assert re.fullmatch(r"Voici le fichier rapport-Dupont-Marie-[\d-]{10}\.xlsx\.",
                        texts(answer))
    _offer, card = teams.consent()
    teams.allow(card, EMMA)  # someone else's click: nothing uploaded
    teams.wait(EMMA.chat, lambda c: "n'est plus disponible" in texts(c))
    assert teams.connector.of("upload") == []
    teams.allow(card)
    [upload] = teams.connector.wait_for("upload")
    sheet = load_workbook(io.BytesIO(upload.data)).active
    assert sheet is not None and sheet["A1"].value == "nom"
    teams.allow(card, context=card["content"]["acceptContext"])  # a second Allow
    teams.wait(SOPHIE.chat, lambda c: "n'est plus disponible" in texts(c))
    assert len(teams.connector.of("upload")) == 1
    teams.say("formations csv")
    _offer, second = teams.consent(nth=2)
    status, _ = teams.post(ta.file_consent(SOPHIE, service_url=teams.connector.url,
                                           action="decline",
                                           context=second["content"]["declineContext"]))
    assert status == 200
    [declined] = teams.wait(SOPHIE.chat, lambda c: "n'a pas été enregistré" in texts(c))
    assert second["name"] in texts(declined)
    with world.app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(HeldFile)) == 0


def test_a_long_file_shows_its_progress_in_one_updated_message(
        teams: Teams, world: World) -> None:
    teams.accept_terms()
    answer = teams.drop("long.csv", pdata_files.long_file(2_500))
    assert "long.csv : 2500 lignes, toutes correctes" in texts(answer)
    [progress] = [c for c in teams.posts(SOPHIE.chat)
                  if str(c.body.get("text") or "").startswith("Vérification des lignes")]
    assert progress.body["text"] == "Vérification des lignes : 1000 sur 2500"
    ids = {c.activity_id for c in teams.connector.of("update")
           if str(c.body.get("text") or "").startswith("Vérification")}
    assert len(ids) == 1
    last = [c for c in teams.connector.of("update") if c.activity_id in ids][-1]
    assert last.body["text"] == "Vérification des lignes : 2500 sur 2500"
    assert last.conversation_id == SOPHIE.chat and last.at < answer.at
    done = teams.click(answer.card or {}, "Confirmer")
    assert texts(done).startswith("long.csv appliqué : 2500 ajouté(s)")
    assert teams.connector.of("update")[-1].body.get("text") == "Application : 2500 sur 2500"


def test_another_organisations_officer_never_sees_this_ones_people(
        teams: Teams, world: World) -> None:
    with world.app.unit_of_work() as uow:
        add_officer(uow, NewOfficer("fin@fin.example", "Frank Finance",
                                    nrn.generate(__import__("random").Random(11)), ["FIN"]))
        link_identity(uow, officer_by_email(uow, "fin@fin.example"), "teams", TENANT,
                      FRANK.aad, via="test")
    teams.accept_terms(FRANK)
    bosa = [world.people[k] for k in ("dupont_marie", "peeters", "claes")]
    answer = teams.drop("bosa.csv", pdata_files.about_others(world.app, bosa), FRANK)
    shown = json.dumps(answer.body, ensure_ascii=False)
    assert "3 erreurs sur 3 lignes ; rien n'a été appliqué" in shown
    _offer, card = teams.consent(FRANK)
    teams.allow(card, FRANK)
    [upload] = teams.connector.wait_for("upload")
    listed = upload.data.decode("utf-8-sig")
    for name in ("Dupont", "Marie", "Peeters", "Claes", "Hilde", "DG Test"):
        assert name not in shown and name not in listed
