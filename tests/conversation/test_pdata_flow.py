"""A P-data file dropped into the conversation, and exports asked for in a sentence, through
the one way in (Engine.handle) the chat adapters use."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook
from sqlalchemy import func, select

from core import nrn
from core.conversation import Engine, Inbound, Reply
from core.conversation.types import InboundFile, too_large, unavailable
from core.models import (
    Collaborator,
    ConversationState,
    HeldFile,
    PdataTermsAcceptance,
    PdataUpload,
)
from core.services import collaborators
from core.services.access import NewOfficer, add_officer, officer_by_email
from tests.conftest import World
from tests.support import pdata_files

FULL_NUMBER = re.compile(r"(?<!\d)\d{11}(?!\d)|\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}")


class Chat:
    def __init__(self, world: World, email: str) -> None:
        self.engine = Engine(world.app)
        self.email = email
        self.shown: list[str] = []

    def __call__(self, text: str | None = None, action: str | None = None,
                 file: tuple[str, bytes] | InboundFile | None = None) -> Reply:
        files: tuple[InboundFile, ...] = ()
        if isinstance(file, InboundFile):
            files = (file,)
        elif file is not None:
            files = (InboundFile(file[0], file[1], len(file[1])),)
        return self.engine.handle(Inbound("console", self.email, text=text, action=action,
                                          files=files, progress=self.shown.append))


def count(world: World, model: type, *where: object) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def found(world: World, query: str, organisation: str = "BOSA") -> list[str]:
    with world.app.unit_of_work(readonly=True) as uow:
        officer = officer_by_email(uow, world.en_officer)
        ids = [o.id for o in officer.organisations if o.code == organisation]
        return [f.collaborator.display_name for f in collaborators.search(uow, query, ids)]


def accept_terms(chat: Chat, file: tuple[str, bytes]) -> None:
    reply = chat(file=file)
    assert reply.actions == ["confirm", "cancel"] and "conditions d'utilisation" in reply.text
    assert chat("oui").text.startswith("Merci : les conditions d'utilisation sont acceptées")


def test_the_sample_with_errors_lists_them_attaches_all_and_applies_nothing(
        world: World) -> None:
    chat = Chat(world, world.officer)
    sample = ("pdata-sample.csv", pdata_files.sample(world.app))
    people = count(world, Collaborator)
    accept_terms(chat, sample)
    reply = chat(file=sample)
    assert reply.done and not reply.actions
    lines = reply.text.splitlines()
    assert lines[0] == ("pdata-sample.csv : 8 erreurs sur 11 lignes ; rien n'a été appliqué. "
                        "Corrigez-les et renvoyez le fichier.")
    assert lines[1].startswith("• ligne 6, colonne A (national_register_number) : « ")
    assert "chiffres de contrôle" in lines[1]
    assert len(lines) == 1 + pdata_files.SAMPLE_ERRORS
    assert not FULL_NUMBER.search(reply.text)
    [attachment] = reply.attachments
    assert attachment.filename == "pdata-sample-erreurs.csv" and attachment.mime == "text/csv"
    rows = list(csv.reader(io.StringIO(attachment.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["ligne", "colonne", "valeur", "erreur"] and len(rows) == 9
    assert [r[0] for r in rows[1:]] == ["6", "7", "8", "9", "10", "11", "11", "12"]
    assert not FULL_NUMBER.search(attachment.content.decode("utf-8-sig"))
    assert count(world, Collaborator) == people and not found(world, "Vandenbroucke Lotte")
    assert count(world, PdataUpload) == 0 and count(world, ConversationState) == 0


def test_a_right_file_is_confirmed_then_applied_and_found(world: World) -> None:
    chat = Chat(world, world.officer)
    right = ("personnel.csv", pdata_files.right(world.app))
    accept_terms(chat, right)
    reply = chat(file=right)
    assert reply.actions == ["confirm", "cancel"] and not reply.attachments
    assert reply.text == ("personnel.csv : 4 lignes, toutes correctes — 2 à ajouter, 1 à "
                          "modifier, 1 départ(s), 0 inchangée(s).\nAppliquer ces changements "
                          "aux données du personnel de BOSA ?")
    with world.app.unit_of_work(readonly=True) as uow:
        [state] = uow.session.scalars(select(ConversationState))
        upload = uow.session.scalars(select(PdataUpload)).one()
        assert state.flow == "pdata" and state.step == "confirm"
        assert state.data["upload"] == upload.id and upload.state == "validated"
        assert "Vandenbroucke" not in str(state.data)
    assert not found(world, "Vandenbroucke Lotte")
    done = chat(action="confirm")
    assert done.text == "personnel.csv appliqué : 2 ajouté(s), 1 modifié(s), 1 départ(s), " \
                        "0 inchangé(s)."
    assert found(world, "Vandenbroucke Lotte")[0] == "Vandenbroucke Lotte"
    assert count(world, PdataUpload, PdataUpload.state == "applied") == 1
    again = chat(file=right)
    assert "Déjà enregistré·e (Vandenbroucke Lotte)" in again.text and again.done


def test_terms_are_asked_once_per_officer(world: World) -> None:
    right = ("personnel.csv", pdata_files.right(world.app))
    chat = Chat(world, world.officer)
    reply = chat(file=right)
    assert "conditions d'utilisation" in reply.text
    assert chat("non").text == "D'accord, c'est annulé. Rien n'a été modifié."
    assert count(world, PdataTermsAcceptance) == 0
    assert "conditions d'utilisation" in chat(file=right).text
    assert chat(action="confirm").text.startswith("Merci")
    assert count(world, PdataTermsAcceptance) == 1
    assert chat(file=right).actions == ["confirm", "cancel"]
    assert chat("annuler").text.startswith("D'accord")
    assert count(world, PdataUpload, PdataUpload.state == "discarded") == 1
    assert "conditions" not in Chat(world, world.officer)(file=right).text


def test_oversized_unavailable_and_unreadable_files_are_answered_and_the_chat_goes_on(
        world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat(file=too_large("huge.xlsx", 30 * 1024 * 1024))
    assert reply.text == "Le fichier est trop volumineux (30.0 Mo ; 25 Mo au plus)."
    assert reply.done and count(world, PdataTermsAcceptance) == 0
    reply = chat(file=unavailable("lien.csv"))
    assert "Je n'ai pas pu récupérer le fichier « lien.csv »" in reply.text
    accept_terms(chat, ("x.csv", b"x"))
    reply = chat(file=("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20))
    assert reply.text.startswith("photo.csv : 1 erreur sur 0 lignes")
    assert "Ce n'est pas un fichier CSV ni Excel" in reply.text and not reply.attachments
    assert chat("places BOSA-101").text.startswith("BOSA-101 « Gestion du temps »")
    two = chat(file=InboundFile("a.csv", pdata_files.right(world.app)))
    assert two.actions == ["confirm", "cancel"]
    files = (InboundFile("b.csv", b"x"), InboundFile("c.csv", b"y"))
    reply = Chat(world, world.officer).engine.handle(
        Inbound("console", world.officer, files=files))
    assert reply.text.startswith("Un fichier à la fois : je vérifie « b.csv »")
    assert count(world, PdataUpload, PdataUpload.state == "discarded") == 1
    lapsed = Chat(world, world.expired_officer)(file=("x.csv", b"x"))
    assert "n'est plus valable" in lapsed.text and lapsed.done


def test_an_officer_of_two_organisations_is_asked_which(world: World) -> None:
    chat = Chat(world, world.en_officer)  # BOSA and FIN, English
    new = nrn.generate(__import__("random").Random(3))
    plain = ("staff.csv", pdata_files.text([[new, "Maes", "Bart", "bart.maes@fin.example",
                                             "nl", "", "add"]]).encode())
    accept_terms_en(chat, plain)
    reply = chat(file=plain)
    assert reply.text == ("This file adds people without an “organisation” column: which "
                          "organisation is it for?")
    assert [c.label for c in reply.choices] == ["BOSA — SPF BOSA", "FIN — SPF Finances"]
    assert count(world, HeldFile) == 1
    reply = chat(action="choose:2")
    assert reply.actions == ["confirm", "cancel"] and "FIN" in reply.text
    assert count(world, HeldFile) == 0
    assert chat("yes").text.startswith("staff.csv applied: 1 added")
    assert found(world, "Maes Bart", "FIN") == ["Maes Bart"]
    assert not found(world, "Maes Bart", "BOSA")


def accept_terms_en(chat: Chat, file: tuple[str, bytes]) -> None:
    assert "terms of use" in chat(file=file).text
    assert chat("yes").text.startswith("Thank you")


def test_a_file_from_another_organisations_officer_never_shows_its_people(
        world: World) -> None:
    with world.app.unit_of_work() as uow:
        add_officer(uow, NewOfficer("fin@fin.example", "Frank Finance",
                                    nrn.generate(__import__("random").Random(11)), ["FIN"]))
    chat = Chat(world, "fin@fin.example")
    bosa = [world.people[k] for k in ("dupont_marie", "peeters", "claes")]
    file = ("bosa.csv", pdata_files.about_others(world.app, bosa))
    accept_terms(chat, file)
    reply = chat(file=file)
    assert reply.text.startswith("bosa.csv : 3 erreurs sur 3 lignes ; rien n'a été appliqué.")
    for name in ("Dupont", "Marie", "Peeters", "Jan", "Claes", "Hilde", "BOSA", "DG Test"):
        assert name not in reply.text
        assert name not in reply.attachments[0].content.decode("utf-8-sig")
    assert "relève d'une organisation dont vous n'êtes pas responsable" in reply.text
    assert "déjà enregistrée dans une autre organisation" in reply.text
    with world.app.unit_of_work(readonly=True) as uow:
        marie = uow.session.get_one(Collaborator, world.people["dupont_marie"])
        assert marie.department == "DG Test" and marie.active


def test_a_long_file_reports_progress_in_place(world: World) -> None:
    chat = Chat(world, world.officer)
    long = ("long.csv", pdata_files.long_file(2_500))
    accept_terms(chat, ("x.csv", b"x"))
    chat.shown.clear()
    reply = chat(file=long)
    assert reply.actions == ["confirm", "cancel"]
    assert chat.shown[0] == "Vérification des lignes : 1000 sur 2500"
    assert chat.shown[-1] == "Vérification des lignes : 2500 sur 2500"
    chat.shown.clear()
    assert chat("oui").text.startswith("long.csv appliqué : 2500 ajouté(s)")
    assert "Vérification des lignes : 2500 sur 2500" in chat.shown
    assert chat.shown[-1] == "Application : 2500 sur 2500"
    short = Chat(world, world.officer)
    short(file=("personnel.csv", pdata_files.right(world.app)))
    assert short.shown == []


def test_exports_in_a_sentence_attach_the_file(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("rapport Dupont Marie xlsx")
    [attachment] = reply.attachments
    assert reply.text == f"Voici le fichier {attachment.filename}."
    assert attachment.filename == "rapport-Dupont-Marie-2026-11-26.xlsx"
    assert attachment.mime.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(attachment.content)).active
    assert sheet is not None and sheet["A1"].value == "nom"
    reply = chat("exporte les inscrits de BOSA-101 en csv")
    assert reply.choices and not reply.attachments
    reply = chat("2")
    [attachment] = reply.attachments
    assert attachment.filename == "inscrits-BOSA-101-2027-04-20.csv"
    assert attachment.content.decode("utf-8-sig").startswith("nom;prénoms;organisation")
    reply = Chat(world, world.nl_officer)("welke opleidingen in april als excel")
    [attachment] = reply.attachments
    assert attachment.filename == "sessies-2027-04-01-2027-04-30.xlsx"
    rows = list(load_workbook(io.BytesIO(attachment.content)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["BOSA-101"]
    english = Chat(world, world.en_officer)
    reply = english("could you send me Dupont's report as a spreadsheet")
    assert "Several people" in reply.text and not reply.attachments
    marie = next(c.key for c in reply.choices if "Marie" in c.label)
    [attachment] = english(action=f"choose:{marie}").attachments
    assert attachment.filename == "report-Dupont-Marie-2026-11-26.xlsx"
    reply = chat("rapport Dupont Marie")
    assert not reply.attachments and "Dupont Marie" in reply.text
