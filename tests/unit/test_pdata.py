"""The validation module as the chat calls it: an officer's organisations only, terms of use
accepted once, a validated file kept (encrypted) until the one-click confirmation."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import clock, nrn
from core.errors import DomainError
from core.models import AuditEvent, Collaborator, PdataTermsAcceptance, PdataUpload
from core.services import pdata
from core.services.access import officer_by_email, organisation_by_code
from core.services.collaborators import find_by_nrn, search
from tests.conftest import NOW, World
from tests.pdata.corpus import text

rng = random.Random(99)


def _new(surname: str, given: str, action: str = "add", org: str | None = None,
         **fields: str) -> list[str]:
    row = [fields.get("nrn") or nrn.generate(rng), surname, given,
           fields.get("email", f"{given}.{surname}@example.be".lower()),
           fields.get("language", "fr"), fields.get("department", ""), action]
    return row if org is None else [*row, org]


def _validate(world: World, email: str, data: bytes, **kw: str) -> pdata.Report:
    with world.app.unit_of_work(readonly=True) as uow:
        return pdata.validate(uow, officer_by_email(uow, email), data, "staff.csv",
                              kw.pop("language", "en"), **kw)


@contextmanager
def refused(code: str) -> Iterator[None]:
    with pytest.raises(DomainError) as caught:
        yield
    assert caught.value.code == code, caught.value.code


def _known_nrn(world: World, key: str) -> str:
    with world.app.unit_of_work(readonly=True) as uow:
        person = uow.session.get_one(Collaborator, world.people[key])
        return world.app.vault.decrypt(person.nrn_encrypted)


def test_an_officer_changes_their_organisation_and_it_is_audited_and_searchable(
        world: World) -> None:
    marie = _known_nrn(world, "dupont_marie")
    data = text([_new("Vandeputte", "Lien", language="nl"),
                 [marie, "", "", "", "", "DG Nouveau", "update"],
                 [_known_nrn(world, "claes"), "", "", "", "", "", "leave"]]).encode()
    progress: list[tuple[str, int, int]] = []
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        report = pdata.validate(uow, officer, data, "staff.csv", "fr",
                                lambda *p: progress.append(p))
        assert report.ok and report.organisations == ["BOSA"]
        summary = pdata.apply(uow, officer, report, lambda *p: progress.append(p))
    assert summary.as_dict() == {"added": 1, "updated": 1, "left": 1, "unchanged": 0}
    assert ("validate", 3, 3) in progress and progress[-1] == ("apply", 3, 3)
    with world.app.unit_of_work(readonly=True) as uow:
        audit = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "pdata.applied")).one()
        assert audit.actor == world.officer and audit.details["added"] == 1
        assert audit.details["organisations"] == ["BOSA"] and len(audit.details["sha256"]) == 64
        assert uow.session.get_one(Collaborator, world.people["dupont_marie"]).department == (
            "DG Nouveau")
        assert not uow.session.get_one(Collaborator, world.people["claes"]).active
        bosa = organisation_by_code(uow, "BOSA")
        found = search(uow, "vandeputte", [bosa.id])
        assert [f.collaborator.given_names for f in found] == ["Lien"]
        assert found[0].collaborator.updated_at == NOW
        assert "Claes Hilde" not in [f.collaborator.display_name
                                     for f in search(uow, "claes hilde", [bosa.id])]


def test_rows_outside_the_officers_organisations_are_refused(world: World) -> None:
    fin_person = _known_nrn(world, "fin_only")
    header = (*text([]).split("\r\n")[0].split(";"), "organisation")
    data = text([_new("Maes", "Bart", org="FIN"), [fin_person, "", "", "", "", "X", "update"]],
                header).encode()
    report = _validate(world, world.officer, data)
    assert [(e.line, e.code) for e in report.errors] == [
        (2, "other_organisation_row"), (3, "not_yours")]
    again = _validate(world, world.officer, text([
        [fin_person, "Vermeulen", "Katrien", "k@x.be", "nl", "", "add"]]).encode())
    assert [(e.line, e.code) for e in again.errors] == [(2, "exists_elsewhere")]
    assert "Vermeulen" not in " ".join(e.reason for e in report.errors + again.errors)


def test_an_officer_of_two_organisations_says_which(world: World) -> None:
    emma = world.en_officer  # BOSA and FIN
    plain = text([_new("Maes", "Bart"), [_known_nrn(world, "fin_only"), "", "", "", "",
                                          "FIN IT", "update"]]).encode()
    report = _validate(world, emma, plain)
    assert [(e.line, e.code) for e in report.errors] == [(2, "organisation_needed")]
    assert "BOSA, FIN" in report.errors[0].reason
    chosen = _validate(world, emma, plain, organisation="FIN")
    assert [(e.line, e.code) for e in chosen.errors] == []
    assert chosen.organisations == ["FIN"]
    with pytest.raises(DomainError) as refused:
        _validate(world, world.officer, plain, organisation="FIN")
    assert refused.value.code == "not_your_organisation"


def test_a_lapsed_officer_is_refused_before_reading(world: World) -> None:
    with pytest.raises(DomainError) as refused:
        _validate(world, world.expired_officer, b"anything")
    assert refused.value.code == "access_expired"


def test_reasons_in_the_officers_language(world: World) -> None:
    data = text([_new("Maes", "Bart", language="xx")]).encode()
    reasons = {lang: _validate(world, world.officer, data, language=lang).errors[0].reason
               for lang in ("fr", "nl", "en", "de")}
    assert reasons["fr"].startswith("Langue inconnue")
    assert reasons["nl"].startswith("Onbekende taal")
    assert reasons["en"].startswith("Unknown language")
    assert reasons["de"].startswith("Unbekannte Sprache")


def test_update_with_empty_cells_keeps_and_leave_then_update_brings_back(world: World) -> None:
    peeters = _known_nrn(world, "peeters")
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        for rows, expected in (
                ([[peeters, "", "", "", "", "", "update"]], {"unchanged": 1}),
                ([[peeters, "", "", "", "", "", "leave"]], {"left": 1}),
                ([[peeters, "", "", "", "", "", "leave"]], {"unchanged": 1}),
                ([[peeters, "Peeters", "Jan", "jan.p@example.be", "NL", "", "update"]],
                 {"updated": 1})):
            report = pdata.validate(uow, officer, text(rows).encode(), "f.csv", "en")
            assert report.ok, report.errors
            summary = pdata.apply(uow, officer, report)
            assert {k: v for k, v in summary.as_dict().items() if v} == expected
        person = find_by_nrn(uow, peeters)
        assert person is not None and person.active and person.email == "jan.p@example.be"
        assert person.language.value == "nl" and person.department == "DG Test"


def test_apply_refuses_a_report_with_errors_or_for_someone_else(world: World) -> None:
    bad = text([_new("Maes", "Bart", email="nope")]).encode()
    good = text([_new("Maes", "Bart")]).encode()
    with world.app.unit_of_work() as uow:
        sophie = officer_by_email(uow, world.officer)
        report = pdata.validate(uow, sophie, bad, "f.csv", "en")
        with refused("pdata.not_valid"):
            pdata.apply(uow, sophie, report)
        fin = organisation_by_code(uow, "FIN")
        report = pdata.validate(uow, fin, good, "f.csv", "en")
        with refused("pdata.not_your_file"):
            pdata.apply(uow, sophie, report)


def test_terms_of_use_are_accepted_once_and_audited(world: World) -> None:
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        assert not pdata.accepted(uow, officer)
        pdata.accept(uow, officer)
        pdata.accept(uow, officer)
        assert pdata.accepted(uow, officer)
        assert not pdata.accepted(uow, officer_by_email(uow, world.nl_officer))
        assert uow.session.scalar(select(func.count()).select_from(PdataTermsAcceptance)) == 1
        assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "pdata.terms_accepted")) == 1
    for language, word in (("fr", "Conditions"), ("nl", "Gebruiksvoorwaarden"),
                           ("en", "Terms"), ("de", "Nutzungsbedingungen")):
        assert pdata.terms(language).startswith(word) and pdata.TERMS_VERSION in pdata.terms(
            language)


def test_a_staged_file_is_applied_by_the_click_once(world: World) -> None:
    row = _new("Maes", "Bart")
    data = text([row]).encode()
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        report = pdata.validate(uow, officer, data, "f.csv", "fr")
        upload_id = pdata.stage(uow, officer, data, report)
        stored = uow.session.get_one(PdataUpload, upload_id)
        assert stored.content is not None and row[0].encode() not in stored.content
    with world.app.unit_of_work() as uow:
        pieter = officer_by_email(uow, world.nl_officer)
        with refused("pdata.upload_gone"):
            pdata.apply_staged(uow, pieter, upload_id)
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        report, summary = pdata.apply_staged(uow, officer, upload_id)
        assert summary is not None and summary.added == 1 and report.language == "fr"
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        with refused("pdata.upload_applied"):
            pdata.apply_staged(uow, officer, upload_id)
        stored = uow.session.get_one(PdataUpload, upload_id)
        assert stored.content is None and stored.state == "applied"
        assert stored.summary["added"] == 1


def test_a_staged_file_is_checked_again_at_the_click(world: World) -> None:
    row = _new("Maes", "Bart")
    data = text([row]).encode()
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        upload_id = pdata.stage(uow, officer, data,
                                pdata.validate(uow, officer, data, "f.csv", "en"))
        expired_id = pdata.stage(uow, officer, data,
                                 pdata.validate(uow, officer, data, "f.csv", "en"))
        discarded_id = pdata.stage(uow, officer, data,
                                   pdata.validate(uow, officer, data, "f.csv", "en"))
        pdata.discard(uow, officer, discarded_id)
    with world.app.unit_of_work() as uow:  # meanwhile, someone added the same person
        officer = officer_by_email(uow, world.officer)
        pdata.apply(uow, officer, pdata.validate(uow, officer, data, "other.csv", "en"))
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        report, summary = pdata.apply_staged(uow, officer, upload_id)
        assert summary is None and [e.code for e in report.errors] == ["exists"]
        assert uow.session.get_one(PdataUpload, upload_id).state == "rejected"
        with refused("pdata.upload_gone"):
            pdata.apply_staged(uow, officer, discarded_id)
    clock.set_clock(lambda: NOW + pdata.UPLOAD_TTL + timedelta(minutes=1))
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        with refused("pdata.upload_gone"):
            pdata.apply_staged(uow, officer, expired_id)


def test_the_templates(world: World) -> None:
    name, data = pdata.template("csv")
    assert name == "pdata-template.csv"
    assert data.decode("utf-8-sig").strip() == ";".join(pdata.TEMPLATE_COLUMNS)
    name, data = pdata.template("xlsx")
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == list(pdata.TEMPLATE_COLUMNS)
    assert sheet.column_dimensions["A"].number_format == "@"
