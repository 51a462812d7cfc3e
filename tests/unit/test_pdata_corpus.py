"""The validation module on the corpus of tests/pdata/: every error at its line and column, the
database unchanged whenever a file is refused, the right files applied as a whole."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from core.app import App
from core.models import AuditEvent, Collaborator, Organisation
from core.services import pdata
from core.services.collaborators import find_by_nrn, search
from tests.pdata import corpus

ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)|\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}")


def _run(app: App, data: bytes, name: str, org: str = "BOSA",
         language: str = "en") -> tuple[pdata.Report, pdata.Summary | None]:
    with app.unit_of_work() as uow:
        organisation = uow.session.scalars(
            select(Organisation).where(Organisation.code == org)).one()
        report = pdata.validate(uow, organisation, data, name, language)
        summary = pdata.apply(uow, organisation, report) if report.ok else None
    return report, summary


@pytest.fixture
def known(app: App) -> App:
    """BOSA and FIN, with the corpus's known people (one of them has left), loaded by the
    module itself."""
    with app.unit_of_work() as uow:
        uow.session.add_all([Organisation(code="BOSA", names={"fr": "SPF BOSA"}),
                             Organisation(code="FIN", names={"fr": "SPF Finances"})])
    for rows, org in ((corpus.KNOWN_BOSA, "BOSA"), (corpus.LEFT_BOSA, "BOSA"),
                      (corpus.KNOWN_FIN, "FIN")):
        report, _summary = _run(app, corpus.text(rows).encode(), "known.csv", org)
        assert report.ok, report.errors
    return app


def snapshot(app: App) -> tuple[list[Any], int]:
    with app.unit_of_work(readonly=True) as uow:
        people = [tuple(row) for row in uow.session.execute(
            select(Collaborator.__table__).order_by(Collaborator.id))]
        audits = uow.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return people, audits


def _data(case: corpus.Case) -> bytes:
    return (corpus.HERE / case.name).read_bytes() if case.committed else case.build()


@pytest.mark.parametrize("case", corpus.CASES, ids=[c.name for c in corpus.CASES])
def test_corpus_file(known: App, case: corpus.Case) -> None:
    before = snapshot(known)
    report, summary = _run(known, _data(case), case.name)
    assert [(e.line, e.column, e.code) for e in report.errors] == case.errors
    for error in report.errors:
        assert not ELEVEN_DIGITS.search(error.value + error.reason), error
        assert error.reason and "{" not in error.reason
    if case.errors:
        assert not report.ok and summary is None
        assert snapshot(known) == before, "a refused file changed the database"
    else:
        assert summary is not None
        expected = {"added": 0, "updated": 0, "left": 0, "unchanged": 0, **(case.summary or {})}
        assert summary.as_dict() == expected


def test_the_committed_corpus_is_what_the_generator_writes() -> None:
    """Text files byte for byte (the workbooks carry a timestamp)."""
    for case in corpus.CASES:
        if case.committed and not case.name.endswith(".xlsx"):
            assert (corpus.HERE / case.name).read_bytes() == case.build(), case.name


def test_values_arrive_as_typed_whatever_the_encoding(known: App) -> None:
    for name in ("ok_cp1252.csv", "ok_comma_bom_quoted.csv", "ok_utf16_tabs.csv"):
        report, _summary = _run(known, (corpus.HERE / name).read_bytes(), name)
        assert report.ok, report.errors
    with known.unit_of_work(readonly=True) as uow:
        def person(key: str) -> Collaborator:
            found = find_by_nrn(uow, corpus.N[key])
            assert found is not None
            return found
        assert (person("new6").surname, person("new6").given_names) == (
            "Müller-Lüdenscheidt", "Françoise")
        assert person("new6").department == "Service – Qualité"
        assert (person("new7").surname, person("new7").language.value) == ("Strauß", "de")
        assert person("new3").surname == "Van den Bossche, Jr"
        assert person("new3").department == 'DG "Digital", cel 2'
        assert person("new3").language.value == "nl"
        assert person("new4").surname == "D'Hondt" and person("new4").given_names == "Pieter"
        assert person("new8").given_names == "Hélène"
        assert person("new6").nrn_masked == corpus.nrn.mask(corpus.N["new6"])


def test_merged_cells_fill_their_range_and_the_header_may_sit_below_a_title(
        known: App) -> None:
    with known.unit_of_work() as uow:
        organisation = uow.session.scalars(
            select(Organisation).where(Organisation.code == "BOSA")).one()
        report = pdata.validate(uow, organisation,
                                (corpus.HERE / "two_sheets_merged_ok.xlsx").read_bytes(),
                                "two_sheets_merged_ok.xlsx", "en")
    assert report.ok and report.sheet == "Personnel" and report.kind == "xlsx"
    departments = {c.line: c.values["department"] for c in report.changes}
    assert departments == {3: "DG Digital", 4: "DG Digital", 5: "DG Digital", 6: "Cabinet"}


def test_excel_numbers_get_their_leading_zeros_back(known: App) -> None:
    rows = [[corpus.N["young"], "Lambrechts", "Sofie", "sofie@bosa.example", "nl", "", "add"]]
    workbook = corpus._workbook_bytes(lambda wb: [wb.active.append(list(corpus.HEADER)),
                                                  wb.active.append([int(rows[0][0]),
                                                                    *rows[0][1:]])])
    as_csv = corpus.text([[str(int(rows[0][0])), *rows[0][1:]]]).encode()
    assert len(str(int(rows[0][0]))) == 10
    for data, name in ((workbook, "young.xlsx"), (as_csv, "young.csv")):
        with known.unit_of_work(readonly=True) as uow:
            organisation = uow.session.scalars(
                select(Organisation).where(Organisation.code == "BOSA")).one()
            report = pdata.validate(uow, organisation, data, name, "en")
        assert report.ok, report.errors
        assert report.changes[0].number.digits == corpus.N["young"]


def test_every_error_is_in_the_csv_masked_and_formula_safe(known: App) -> None:
    for name in ("mixed_errors.csv", "formulas.csv"):
        report, _summary = _run(known, (corpus.HERE / name).read_bytes(), name, language="fr")
        data = pdata.errors_csv(report)
        assert data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
        assert rows[0] == ["ligne", "colonne", "valeur", "erreur"]
        assert len(rows) == len(report.errors) + 1
        assert [int(r[0]) for r in rows[1:]] == [e.line for e in report.errors]
        for row in rows[1:]:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
                assert not ELEVEN_DIGITS.search(cell), row
    assert pdata.errors_filename(report) == "formulas-erreurs.csv"


def test_a_national_number_error_shows_only_the_birth_date(known: App) -> None:
    report, _summary = _run(known, (corpus.HERE / "mixed_errors.csv").read_bytes(), "m.csv")
    by_line = {e.line: e for e in report.errors if e.column == corpus.NRN}
    bad = corpus._bad_checksum(corpus.N["new2"])
    assert by_line[3].value == f"{bad[0:2]}.{bad[2:4]}.{bad[4:6]}-xxx.xx"
    assert by_line[7].reason.startswith("Already registered (Dupont Marie)")
    assert "left" in by_line[8].reason
    assert "line 2" in by_line[6].reason
    assert bad not in repr(report) and corpus.N["new1"] not in repr(report.errors)


def test_50000_rows_one_error_listed_then_all_applied(known: App) -> None:
    rows = corpus.long_rows(50_000, 50)
    broken = [list(r) for r in rows]
    broken[31_335][3] = "not-an-address"  # line 31,337
    before = snapshot(known)
    report, summary = _run(known, corpus.text(broken).encode(), "staff.csv")
    assert [(e.line, e.column, e.code) for e in report.errors] == [(31_337, "email", "email")]
    assert summary is None and snapshot(known) == before
    report, summary = _run(known, corpus.text(rows).encode(), "staff.csv")
    assert summary is not None and summary.added == 50_000 and report.rows == 50_000
    with known.unit_of_work(readonly=True) as uow:
        count = uow.session.scalar(select(func.count()).select_from(Collaborator))
        assert count == 50_000 + len(corpus.KNOWN_BOSA) + len(corpus.KNOWN_FIN)
        audit = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "pdata.applied").order_by(AuditEvent.id.desc())).first()
        assert audit is not None and audit.details["added"] == 50_000
        bosa = uow.session.scalars(select(Organisation.id).where(Organisation.code == "BOSA"))
        found = search(uow, "Peeters Person 40000", list(bosa), limit=1)
        assert found and found[0].collaborator.given_names == "Person 40000"
