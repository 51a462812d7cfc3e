"""Reports as files officers open in Excel: a collaborator's report, a session's participants,
the overview of planned sessions with free seats — as CSV or XLSX.

No cell of any export can start a formula (OWASP's CSV injection rule): a text beginning with
=, +, -, @, a tab or a carriage return gets a leading apostrophe, in CSV and XLSX alike, since
an XLSX saved again as CSV would otherwise arm it. XLSX files are written by xlsxwriter with
typed cells (dates are dates), a frozen header row, a filter and column widths that fit.
CSV files are what Excel in Belgium opens directly: UTF-8 with a BOM, `;` separated.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from core import clock, i18n
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import Enrollment, Officer, Organisation, TrainingKind
from core.services import catalog, reports
from core.services.access import organisation_by_code, require_active, require_organisation

Value = str | int | float | date | datetime | None
FORMATS = ("csv", "xlsx")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
MAX_WIDTH = 60
DATE_FORMAT = "dd/mm/yyyy"
MOMENT_FORMAT = "dd/mm/yyyy hh:mm"


def neutralise(value: str) -> str:
    """OWASP: a cell may not begin with a character that makes a spreadsheet read a formula
    (leading spaces do not hide one either)."""
    if value.startswith(FORMULA_START) or value.lstrip(" ").startswith(FORMULA_START):
        return "'" + value
    return value


@dataclass(frozen=True)
class Sheet:
    name: str
    header: list[str]
    rows: Sequence[Sequence[Value]]
    text_columns: tuple[int, ...] = ()
    """Columns formatted as text in XLSX (e.g. the template's national numbers)."""


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Value]], language: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([_csv_cell(v, language) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _csv_cell(value: Value, language: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return neutralise(i18n.moment(language, value))
    if isinstance(value, date):
        return neutralise(i18n.day(language, value))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return str(value) if value >= 0 else neutralise(str(value))
    return neutralise(str(value))


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False,
                                         "remove_timezone": True})
    bold = workbook.add_format({"bold": True, "bottom": 1})
    day = workbook.add_format({"num_format": DATE_FORMAT})
    moment = workbook.add_format({"num_format": MOMENT_FORMAT})
    text = workbook.add_format({"num_format": "@"})
    for sheet in sheets:
        worksheet = workbook.add_worksheet(_sheet_name(sheet.name))
        widths = [len(h) for h in sheet.header]
        for column, title in enumerate(sheet.header):
            worksheet.write_string(0, column, neutralise(title), bold)
        for r, row in enumerate(sheet.rows, 1):
            for c, value in enumerate(row):
                shown = _xlsx_cell(worksheet, r, c, value, day, moment)
                if c < len(widths):
                    widths[c] = max(widths[c], shown)
        for column, width in enumerate(widths):
            fmt = text if column in sheet.text_columns else None
            worksheet.set_column(column, column, min(width + 2, MAX_WIDTH), fmt)
        worksheet.freeze_panes(1, 0)
        if sheet.header:
            worksheet.autofilter(0, 0, max(len(sheet.rows), 1), len(sheet.header) - 1)
    workbook.close()
    return out.getvalue()


def _xlsx_cell(worksheet: object, row: int, column: int, value: Value, day: object,
               moment: object) -> int:
    """Write one typed cell; returns its width in characters."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        local = value.astimezone(clock.LOCAL_TZ).replace(tzinfo=None)
        worksheet.write_datetime(row, column, local, moment)  # type: ignore[attr-defined]
        return 16
    if isinstance(value, date):
        worksheet.write_datetime(row, column, datetime.combine(value, datetime.min.time()),
                                 day)  # type: ignore[attr-defined]
        return 10
    if isinstance(value, bool):
        worksheet.write_boolean(row, column, value)  # type: ignore[attr-defined]
        return 5
    if isinstance(value, int | float):
        worksheet.write_number(row, column, value)  # type: ignore[attr-defined]
        return len(str(value))
    text = neutralise(str(value))
    worksheet.write_string(row, column, text)  # type: ignore[attr-defined]
    return max((len(line) for line in text.splitlines()), default=0)


def _sheet_name(name: str) -> str:
    return (re.sub(r"[\[\]:*?/\\']", " ", name).strip() or "Sheet")[:31]


def table_bytes(fmt: str, sheet: Sheet, language: str) -> bytes:
    if fmt not in FORMATS:
        raise DomainError("exports.unknown_format", format=fmt)
    if fmt == "xlsx":
        return xlsx_bytes([sheet])
    return csv_bytes(sheet.header, sheet.rows, language)


def safe_filename(stem: str, ext: str) -> str:
    """ASCII letters, digits and dashes: the name survives every platform and mail client."""
    folded = unicodedata.normalize("NFKD", stem)
    ascii_stem = folded.encode("ascii", "ignore").decode("ascii")
    clean = re.sub(r"[^A-Za-z0-9]+", "-", ascii_stem).strip("-")[:80] or "export"
    return f"{clean}.{ext}"


def _language(officer: Officer | None, language: str | None) -> str:
    if language:
        return i18n.language_or_default(language)
    return officer.language.value if officer is not None else i18n.DEFAULT_LANGUAGE


def _header(language: str, keys: Sequence[str]) -> list[str]:
    return [i18n.t(language, f"exports.column.{key}") for key in keys]


def _title(titles: dict[str, str], code: str, language: str) -> str:
    return titles.get(language) or titles.get("fr") or titles.get("en") or code


# ---------------------------------------------------------------- the three exports


REPORT_COLUMNS = ("surname", "given_names", "organisation", "national_register_number",
                  "category", "training", "title", "start", "end", "place", "state",
                  "hold_expires", "score", "max_score", "outcome")


def collaborator_report(uow: UnitOfWork, officer: Officer | None, collaborator_id: int,
                        fmt: str, *, language: str | None = None) -> tuple[str, bytes]:
    """Options, enrollments, waiting lists, trainings followed, cancellations and test results
    of one person; `officer` None is the operator."""
    language = _language(officer, language)
    report = reports.collaborator_report(uow, officer, collaborator_id)
    person = report.collaborator
    who: list[Value] = [person.surname, person.given_names, person.organisation.code,
                        person.nrn_masked]
    rows: list[list[Value]] = []
    sections = (("options", report.options), ("enrolled", report.enrolled),
                ("waitlisted", report.waitlisted), ("attended", report.attended),
                ("cancelled", report.cancelled))
    for category, items in sections:
        for e in items:
            rows.append([*who, i18n.t(language, f"exports.category.{category}"),
                         *_session_cells(e, language), i18n.t(language, f"state.{e.state}"),
                         e.hold_expires_at, None, None, None])
    for r in report.results:
        rows.append([*who, i18n.t(language, "exports.category.result"), r.training.code,
                     _title(r.training.titles, r.training.code, language), r.taken_on, None,
                     None, None, None, r.score, r.max_score,
                     i18n.t(language, "report.passed" if r.passed else "report.failed")])
    rows += _track_rows(uow, who, collaborator_id, language)
    sheet = Sheet(i18n.t(language, "exports.sheet.report"), _header(language, REPORT_COLUMNS),
                  rows)
    name = safe_filename(f"{i18n.t(language, 'exports.file.report')}-{person.surname}-"
                         f"{person.given_names}-{clock.today().isoformat()}", fmt)
    return name, table_bytes(fmt, sheet, language)


def _track_rows(uow: UnitOfWork, who: list[Value], collaborator_id: int,
                language: str) -> list[list[Value]]:
    """A row per certification track: the track as the training, its next module's start,
    its state with the modules done, and the module results as the outcome."""
    from core.services import tracks

    rows: list[list[Value]] = []
    for row in tracks.progress(uow, collaborator_id):
        track = tracks.track_by_code(uow, str(row["track"]))
        following = row["next"] if isinstance(row["next"], dict) else None
        results = row["results"] if isinstance(row["results"], dict) else {}
        rows.append([*who, i18n.t(language, "exports.category.track"), track.code,
                     track.title(language),
                     date.fromisoformat(following["start"]) if following else None, None,
                     following["code"] if following else None,
                     i18n.t(language, "exports.track_state",
                            state=i18n.t(language, f"track.state_{row['state']}"),
                            done=row["done"], modules=row["modules"]),
                     None, None, None,
                     ", ".join(f"{code} {score}" for code, score in results.items()) or None])
    return rows


def _session_cells(e: Enrollment, language: str) -> list[Value]:
    training = e.session.training
    return [training.code, _title(training.titles, training.code, language),
            e.session.starts_on, e.session.ends_on, e.session.place]


PARTICIPANT_COLUMNS = ("surname", "given_names", "organisation", "department", "email",
                       "language", "state", "hold_expires", "since")


def participants(uow: UnitOfWork, officer: Officer | None, session_id: int, fmt: str, *,
                 language: str | None = None,
                 organisation: Organisation | None = None) -> tuple[str, bytes]:
    """Who holds or waits for a seat in a session: the officer's organisations' people only
    (or `organisation`'s); the operator without `organisation` sees everyone."""
    language = _language(officer, language)
    view = catalog.session_view(uow, session_id)
    if officer is not None:
        if organisation is not None:
            require_organisation(officer, organisation)
        else:
            require_active(officer)
    scope = ([organisation.id] if organisation is not None
             else [o.id for o in officer.organisations] if officer is not None else None)
    items = reports.session_participants(uow, session_id, scope)
    rows: list[list[Value]] = [
        [e.collaborator.surname, e.collaborator.given_names, e.collaborator.organisation.code,
         e.collaborator.department, e.collaborator.email, e.collaborator.language.value,
         i18n.t(language, f"state.{e.state}"), e.hold_expires_at, e.updated_at.date()]
        for e in items]
    sheet = Sheet(f"{view.training} {view.starts_on.isoformat()}",
                  _header(language, PARTICIPANT_COLUMNS), rows)
    name = safe_filename(f"{i18n.t(language, 'exports.file.participants')}-{view.training}-"
                         f"{view.starts_on.isoformat()}", fmt)
    return name, table_bytes(fmt, sheet, language)


OVERVIEW_COLUMNS = ("training", "title", "kind", "reserved_for", "start", "end", "place",
                    "capacity", "held", "free", "waitlisted", "yours")


def overview(uow: UnitOfWork, officer: Officer | None, fmt: str, start: date | None = None,
             end: date | None = None, organisation: Organisation | str | None = None, *,
             language: str | None = None) -> tuple[str, bytes]:
    """Planned sessions with their free seats, from `start` (today) to `end`, for the trainings
    the officer (or `organisation`) may use."""
    language = _language(officer, language)
    if isinstance(organisation, str):
        organisation = organisation_by_code(uow, organisation)
    if start is not None and end is not None and end < start:
        raise DomainError("exports.bad_period", start=start, end=end)
    found = reports.overview(uow, officer, start, end, organisation)
    columns = [c for c in OVERVIEW_COLUMNS
               if c != "yours" or (officer is not None or organisation is not None)]
    rows: list[list[Value]] = []
    for row in found:
        v = row.view
        cells: list[Value] = [
            v.training, _title(v.titles, v.training, language),
            i18n.t(language, f"exports.kind.{TrainingKind(row.kind).value}"), row.owner,
            v.starts_on, v.ends_on, v.place, v.capacity, v.enrolled + v.held, v.free,
            v.waitlisted]
        if "yours" in columns:
            cells.append(row.yours)
        rows.append(cells)
    sheet = Sheet(i18n.t(language, "exports.sheet.overview"), _header(language, columns), rows)
    parts = [i18n.t(language, "exports.file.overview")]
    if organisation is not None:
        parts.append(organisation.code)
    parts.append((start or clock.today()).isoformat())
    if end is not None:
        parts.append(end.isoformat())
    return safe_filename("-".join(parts), fmt), table_bytes(fmt, sheet, language)
