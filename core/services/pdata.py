"""The validation module: organisations keep their personnel data (P-data) up to date with a file.

The officer fills the template (CSV or Excel, one row per person, action add / update / leave)
and either every row is right and the whole file is applied in one transaction, or nothing is
applied and they get every error: the line as their program shows it, the column, the value
(a national number only masked) and the reason in their language.

Built for 50,000-row files: rows are checked in Python, the people already known are looked up
by NRN hash with one query per chunk, and the changes are written with executemany through
SQLAlchemy Core. The search index follows through `collaborators.updated_at`, like every other
change; a long apply restamps its rows just before commit so no instance's index misses them.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as day_time
from functools import cache, lru_cache
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String, bindparam, func, insert, select, update

from core import clock, i18n, matching, nrn
from core.app import UnitOfWork
from core.config import TEMPLATES_DIR
from core.errors import DomainError
from core.models import (
    Collaborator,
    Language,
    Officer,
    Organisation,
    PdataTermsAcceptance,
    PdataUpload,
)
from core.services import exports
from core.services.access import organisation_by_code, require_active, require_organisation
from core.services.spreadsheet import Cell, Table, UnreadableFile, read_table

TEMPLATE_COLUMNS = ("national_register_number", "surname", "given_names", "email", "language",
                    "department", "action")
TEMPLATE_HEADER = ";".join(TEMPLATE_COLUMNS)
OPTIONAL_COLUMNS = ("organisation",)
ACTIONS = ("add", "update", "leave")
MAX_ROWS = 200_000
LOOKUP_CHUNK = 900
POSTGRES_LOOKUP_CHUNK = 10_000
WRITE_CHUNK = 5_000
PROGRESS_EVERY = 1_000
RESTAMP_AFTER_SECONDS = 1.0
TERMS_VERSION = "2026-1"
UPLOAD_TTL = timedelta(hours=24)
MAX_LENGTH = {"surname": 120, "given_names": 160, "email": 254, "department": 200}
FORMULA_START = ("=", "+", "-", "@")
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*/=?^_`{|}~+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_SUSPICIOUS = re.compile(r"^[=+\-@]|[\x00-\x1f\x7f]")
_LETTER = re.compile(r"[^\W\d_]")

Progress = Callable[[str, int, int], None]
"""progress(phase, done, total): phase "validate" or "apply"."""


@dataclass(frozen=True)
class RowError:
    line: int | None
    """As the officer's program shows it; None for the file as a whole."""
    column: str | None
    """The template's name of the column (national_register_number, …)."""
    label: str | None
    """The column's header as written in the file."""
    letter: str | None
    """The spreadsheet column letter (A, B, …)."""
    value: str
    """The value as found, a national number masked (85.07.30-xxx.xx)."""
    code: str
    reason: str
    """In the report's language."""


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    left: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.left

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "left": self.left,
                "unchanged": self.unchanged}


class Change(NamedTuple):
    line: int
    action: str
    number: nrn.NRN
    nrn_hash: str
    organisation_id: int
    collaborator_id: int | None
    values: dict[str, Any]
    """Every stored field after the change (add and update); empty for leave."""
    unchanged: bool = False


@dataclass
class Report:
    filename: str
    sha256: str
    language: str
    organisations: list[str]
    """The organisations this file may change (codes)."""
    organisation_ids: list[int]
    officer_id: int | None
    kind: str | None = None
    sheet: str | None = None
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)
    changes: list[Change] = field(default_factory=list, repr=False)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.rows > 0

    def message(self, language: str | None = None) -> str:
        """One line for the officer: what would be applied, or how many errors."""
        language = language or self.language
        if self.errors:
            return i18n.t(language, "pdata.rejected", len(self.errors), filename=self.filename,
                          count=len(self.errors), rows=self.rows)
        return i18n.t(language, "pdata.valid", filename=self.filename, rows=self.rows,
                      **self.summary.as_dict())


class _Known(NamedTuple):
    id: int
    organisation_id: int
    active: bool
    surname: str
    given_names: str
    email: str | None
    language: str
    department: str | None


class _Row(NamedTuple):
    line: int
    action: str | None
    number: nrn.NRN | None
    nrn_hash: str | None
    organisation: Organisation | None
    values: dict[str, str]
    complete: bool
    """False when a field of the row is wrong: still checked against the database, so that
    every error is listed, but never turned into a change."""


# ---------------------------------------------------------------- validation


def validate(uow: UnitOfWork, who: Officer | Organisation, source: bytes, filename: str,
             language: str, progress: Progress | None = None, *,
             organisation: str | None = None) -> Report:
    """Check every row of the file against the rules and the database; change nothing.

    `who` is the officer who sent it (their organisations, or `organisation` among them) or,
    for the operator's command line, the organisation the file is for.
    """
    scope = _scope(uow, who, organisation)
    language = i18n.language_or_default(language)
    report = Report(filename=filename, sha256=hashlib.sha256(source).hexdigest(),
                    language=language, organisations=[o.code for o in scope],
                    organisation_ids=[o.id for o in scope],
                    officer_id=who.id if isinstance(who, Officer) else None)
    try:
        table = read_table(source, _is_header)
    except UnreadableFile as exc:
        report.errors.append(_file_error(language, exc.code, columns=TEMPLATE_HEADER,
                                         **exc.params))
        return report
    report.kind, report.sheet = table.kind, table.sheet
    columns = _columns(table, report)
    if columns is None:
        return report
    report.rows = len(table.rows)
    if report.rows == 0:
        report.errors.append(_file_error(language, "no_rows"))
        return report
    if report.rows > MAX_ROWS:
        report.errors.append(_file_error(language, "too_many_rows", rows=report.rows,
                                         max=MAX_ROWS))
        return report
    checker = _RowChecker(uow, report, table, columns, scope)
    rows = checker.check_all(progress)
    known = _known(uow, [r.nrn_hash for r in rows if r.nrn_hash])
    for row in rows:
        checker.decide(row, known)
    report.errors.sort(key=lambda e: (e.line or 0, e.letter or ""))
    if report.errors:
        report.changes = []
    return report


def _scope(uow: UnitOfWork, who: Officer | Organisation,
           organisation: str | None) -> list[Organisation]:
    if isinstance(who, Organisation):
        return [who]
    require_active(who)
    if organisation:
        chosen = organisation_by_code(uow, organisation)
        require_organisation(who, chosen)
        return [chosen]
    if not who.organisations:
        raise DomainError("not_your_organisation", organisation="-", yours="-")
    return list(who.organisations)


def _file_error(language: str, code: str, line: int | None = None, **params: Any) -> RowError:
    return RowError(line, None, None, None, "", code,
                    i18n.t(language, f"pdata.error.{code}", line=line, **params))


@lru_cache(maxsize=4096)
def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.strip().casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "_", folded).strip("_")


@cache
def _aliases(kind: str) -> dict[str, str]:
    """Normalised word → canonical name, from the four catalogues (pdata.headers, …)."""
    table: dict[str, str] = {}
    names = {"headers": (*TEMPLATE_COLUMNS, *OPTIONAL_COLUMNS), "actions": ACTIONS,
             "languages": tuple(lang.value for lang in Language)}[kind]
    for name in names:
        table[_normal(name)] = name
        for language in i18n.LANGUAGES:
            for word in i18n.words(language, f"pdata.{kind}.{name}"):
                table.setdefault(_normal(word), name)
    return table


def _is_header(cells: list[str]) -> bool:
    """The template's header, in any order and language: the national number column and at
    least two others."""
    found = {_aliases("headers").get(_normal(c)) for c in cells}
    return "national_register_number" in found and len(found - {None}) >= 3


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _columns(table: Table, report: Report) -> dict[str, int] | None:
    aliases = _aliases("headers")
    columns: dict[str, int] = {}
    for index, label in enumerate(table.header):
        name = aliases.get(_normal(label))
        if name is None:
            if label:
                report.ignored_columns.append(label)
            continue
        if name in columns:
            report.errors.append(_file_error(report.language, "duplicate_column",
                                             table.header_line, column=label))
        columns[name] = index
    missing = [c for c in TEMPLATE_COLUMNS if c not in columns]
    if missing:
        report.errors.append(_file_error(report.language, "missing_columns", table.header_line,
                                         columns=", ".join(missing)))
    return None if report.errors else columns


class _RowChecker:
    """Field by field, then against the database: every problem of a row is reported."""

    def __init__(self, uow: UnitOfWork, report: Report, table: Table, columns: dict[str, int],
                 scope: list[Organisation]) -> None:
        self.uow = uow
        self.report = report
        self.table = table
        self.columns = columns
        self.width = len(table.header)
        self.scope = {o.id: o for o in scope}
        self.default = scope[0] if len(scope) == 1 else None
        self.organisations = {o.code: o for o in uow.session.scalars(select(Organisation))}
        self.actions = _aliases("actions")
        self.languages = _aliases("languages")
        self.vault = uow.app.vault
        self.first_line: dict[str, int] = {}
        self.plain = table.kind == "csv"
        """Every cell of a CSV file is text: no typed cells to look at."""
        self.column_items = list(columns.items())

    def error(self, line: int, column: str | None, value: str, code: str,
              variant: str | int | None = None, /, **params: Any) -> None:
        index = self.columns.get(column) if column else None
        shown = _masked(value) if column == "national_register_number" else _shown(value)
        self.report.errors.append(RowError(
            line, column, self.table.header[index] if index is not None else None,
            _letter(index) if index is not None else None, shown, code,
            i18n.t(self.report.language, f"pdata.error.{code}", variant, **params)))

    def check_all(self, progress: Progress | None) -> list[_Row]:
        rows: list[_Row] = []
        total = len(self.table.rows)
        for count, (line, cells) in enumerate(self.table.rows, 1):
            row = self.check(line, cells)
            if row is not None:
                rows.append(row)
            if progress and (count % PROGRESS_EVERY == 0 or count == total):
                progress("validate", count, total)
        return rows

    def check(self, line: int, cells: list[Cell]) -> _Row | None:
        if len(cells) != self.width and not self._shape_ok(line, cells):
            return None
        texts: dict[str, str] = {}
        unusable: set[str] = set()
        count = len(cells)
        for name, index in self.column_items:
            cell = cells[index] if index < count else ""
            if cell.__class__ is str:
                text = cell.strip()  # type: ignore[union-attr]
                texts[name] = text if "\xa0" not in text else _clean(text)
                continue
            typed = self._text(line, name, cell)
            texts[name] = typed or ""
            if typed is None:
                unusable.add(name)
        action = None if "action" in unusable else self._action(line, texts["action"])
        number, lookup = ((None, None) if "national_register_number" in unusable
                          else self._number(line, texts["national_register_number"]))
        if number is not None and lookup is not None:
            first = self.first_line.setdefault(lookup, line)
            if first != line:
                self.error(line, "national_register_number", number.digits, "duplicate",
                           first=first)
                lookup = None
        values = self._fields(line, texts, action, unusable)
        organisation = (False if "organisation" in unusable
                        else self._organisation(line, texts.get("organisation", "")))
        if number is None or lookup is None or action is None:
            return None
        complete = values is not None and organisation is not False
        return _Row(line, action, number, lookup, organisation or None, values or {}, complete)


    def _shape_ok(self, line: int, cells: list[Cell]) -> bool:
        extra = [c for c in cells[self.width:] if c not in ("", None)]
        filled = len(cells) - next((i for i, c in enumerate(reversed(cells))
                                    if c not in ("", None)), len(cells))
        if self.table.kind == "csv" and len(cells) < self.width:
            other = next((d for d in (";", ",", "\t") if d != self.table.delimiter
                          and any(isinstance(c, str) and d in c for c in cells)), None)
            if other is not None:
                self.error(line, None, "", "separator", found=_sep(other),
                           expected=_sep(self.table.delimiter or ";"))
                return False
        if extra:
            self.error(line, None, "", "cells", found=filled,
                       expected=self.width, delimiter=_sep(self.table.delimiter or ";"))
            return False
        return True

    def _text(self, line: int, name: str, cell: Cell) -> str | None:
        """The cell as text; None (and an error) for what Excel made of it behind their back."""
        if isinstance(cell, str):
            return _clean(cell)
        if cell is None:
            return ""
        if isinstance(cell, bool):
            return str(cell).upper()
        if isinstance(cell, int | float):
            if isinstance(cell, float) and not cell.is_integer():
                return repr(cell)
            digits = str(int(cell))
            if name == "national_register_number" and len(digits) < 11:
                digits = digits.zfill(11)  # a number cell lost the zeros of "00…" to "09…"
            return digits
        if isinstance(cell, datetime | date | day_time | timedelta):
            shown = cell.isoformat() if not isinstance(cell, timedelta) else str(cell)
            self.error(line, name, shown, "date_cell", value=shown)
            return None
        return str(cell)

    def _action(self, line: int, text: str) -> str | None:
        if not text:
            self.error(line, "action", text, "required_action")
            return None
        action = self.actions.get(_normal(text))
        if action is None:
            self.error(line, "action", text, "action")
        return action

    def _number(self, line: int, text: str) -> tuple[nrn.NRN | None, str | None]:
        column = "national_register_number"
        if not text:
            self.error(line, column, text, "required")
            return None, None
        cleaned = text.lstrip("'")
        if "E+" in cleaned or "e+" in cleaned:
            self.error(line, column, cleaned, "nrn_scientific")
            return None, None
        try:
            number = nrn.parse(cleaned)
        except nrn.InvalidNRN as exc:
            number = _padded(cleaned)
            if number is None:
                digits = sum(ch.isdigit() for ch in cleaned)
                self.error(line, column, cleaned, f"nrn_{exc.reason}", digits=digits)
                return None, None
        return number, self.vault.lookup_hash(number)

    def _fields(self, line: int, texts: dict[str, str], action: str | None,
                unusable: set[str]) -> dict[str, str] | None:
        ok = not unusable
        values: dict[str, str] = {}
        for name in ("surname", "given_names", "email", "department"):
            text = texts[name]
            if name in unusable:
                continue
            if not text:
                if action == "add" and name != "department":
                    self.error(line, name, text, "required_for", action=texts["action"])
                    ok = False
                continue
            problem = _text_problem(name, text)
            if problem is not None:
                code, params = problem
                self.error(line, name, text, code, **params)
                ok = False
                continue
            values[name] = text.lower() if name == "email" else text
        language = texts["language"]
        if "language" in unusable:
            pass
        elif language:
            code = self.languages.get(_normal(language))
            if code is None:
                self.error(line, "language", language, "language")
                ok = False
            else:
                values["language"] = code
        elif action == "add":
            self.error(line, "language", language, "required_for", action=texts["action"])
            ok = False
        return values if ok else None

    def _organisation(self, line: int, text: str) -> Organisation | bool | None:
        """The row's own organisation (None when the column is empty or absent); False and an
        error when it names one the file may not change."""
        if not text:
            return None
        found = self.organisations.get(text.strip().upper())
        if found is None:
            self.error(line, "organisation", text, "unknown_organisation", code=text)
            return False
        if found.id not in self.scope:
            self.error(line, "organisation", text, "other_organisation_row",
                       organisation=found.code, yours=", ".join(self.report.organisations))
            return False
        return found

    def decide(self, row: _Row, known: dict[str, _Known]) -> None:
        """The row against the people already known; a change only for a complete row."""
        assert row.number is not None and row.nrn_hash is not None
        column, digits = "national_register_number", row.number.digits
        person = known.get(row.nrn_hash)
        if person is not None and person.organisation_id not in self.scope:
            self.error(row.line, column, digits,
                       "exists_elsewhere" if row.action == "add" else "not_yours")
        elif row.action == "add":
            target = row.organisation or self.default
            if person is not None:
                self.error(row.line, column, digits, "exists",
                           "active" if person.active else "inactive",
                           name=f"{person.surname} {person.given_names}")
            elif target is None:
                self.error(row.line, "organisation", "", "organisation_needed",
                           yours=", ".join(self.report.organisations))
            elif row.complete:
                self._add(row, target)
        elif person is None:
            self.error(row.line, column, digits, "unknown_person")
        elif row.action == "leave":
            if row.organisation is not None and row.organisation.id != person.organisation_id:
                self.error(row.line, "organisation", row.organisation.code, "leave_elsewhere",
                           organisation=self.scope[person.organisation_id].code)
            elif row.complete:
                self._change(row, person, person.organisation_id, {},
                             unchanged=not person.active)
        elif row.complete:
            target_id = row.organisation.id if row.organisation else person.organisation_id
            values = _updated(person, row.values, target_id)
            unchanged = (person.active and target_id == person.organisation_id
                         and all(values[k] == getattr(person, k) for k in row.values))
            self._change(row, person, target_id, values, unchanged=unchanged)

    def _add(self, row: _Row, organisation: Organisation) -> None:
        assert row.number is not None and row.nrn_hash is not None
        values = {
            "surname": row.values["surname"], "given_names": row.values["given_names"],
            "email": row.values["email"], "language": row.values["language"],
            "department": row.values.get("department"), "organisation_id": organisation.id,
            "active": True,
        }
        self.report.changes.append(Change(row.line, "add", row.number, row.nrn_hash,
                                          organisation.id, None, values))
        self.report.summary.added += 1

    def _change(self, row: _Row, person: _Known, organisation_id: int, values: dict[str, Any],
                *, unchanged: bool) -> None:
        assert row.number is not None and row.nrn_hash is not None and row.action is not None
        self.report.changes.append(Change(row.line, row.action, row.number, row.nrn_hash,
                                          organisation_id, person.id, values, unchanged))
        summary = self.report.summary
        if unchanged:
            summary.unchanged += 1
        elif row.action == "leave":
            summary.left += 1
        else:
            summary.updated += 1


def _updated(person: _Known, given: dict[str, str], organisation_id: int) -> dict[str, Any]:
    """The stored fields after an update: an empty cell keeps what is stored."""
    surname = given.get("surname", person.surname)
    given_names = given.get("given_names", person.given_names)
    return {"surname": surname, "given_names": given_names,
            "email": given.get("email", person.email),
            "language": given.get("language", person.language),
            "department": given.get("department", person.department),
            "organisation_id": organisation_id, "active": True}


def _clean(cell: str) -> str:
    text = cell.strip()
    return text.replace("\xa0", " ").strip() if "\xa0" in text else text


def _text_problem(name: str, text: str) -> tuple[str, dict[str, Any]] | None:
    suspicious = _SUSPICIOUS.search(text)
    if suspicious is not None:
        return ("formula", {}) if suspicious.start() == 0 and text[0] in FORMULA_START else (
            "control", {})
    limit = MAX_LENGTH[name]
    if len(text) > limit:
        return "too_long", {"max": limit, "length": len(text)}
    if name == "email":
        return None if EMAIL.fullmatch(text) else ("email", {})
    if name != "department" and _LETTER.search(text) is None:
        return "not_a_name", {}
    return None


def _padded(text: str) -> nrn.NRN | None:
    """Excel saves the numbers of people born 2000-2009 ("00…" to "09…") without their
    leading zeros: a bare run of 8 to 10 digits that becomes such a number is taken back."""
    if not (text.isascii() and text.isdigit() and 8 <= len(text) <= 10):
        return None
    try:
        number = nrn.parse(text.zfill(11))
    except nrn.InvalidNRN:
        return None
    return number if number.birth_year is not None and number.birth_year >= 2000 else None


def _masked(value: str) -> str:
    """A national number as errors show it: the birth date part at most, never the rest."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) >= 6:
        return f"{digits[0:2]}.{digits[2:4]}.{digits[4:6]}-xxx.xx"
    return value[:40] if len(digits) < 3 else "xxx"


def _shown(value: str) -> str:
    text = nrn.redact(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _sep(delimiter: str) -> str:
    return {"\t": "TAB"}.get(delimiter, delimiter)


def _known(uow: UnitOfWork, hashes: Sequence[str]) -> dict[str, _Known]:
    """The people already registered under these hashes, whatever their organisation.

    SQLite answers `IN (…)` chunks from the unique index. On PostgreSQL the hashes go as one
    array joined with `unnest`: an IN list of hundreds of parameters gets a generic plan that
    scans the array linearly for every row when the table has no statistics yet (right after
    a bulk load), 30 s instead of 0.3 s for 50,000 rows.
    """
    c = Collaborator
    columns = (c.nrn_hash, c.id, c.organisation_id, c.active, c.surname, c.given_names,
               c.email, c.language, c.department)
    unique = list(dict.fromkeys(hashes))
    postgres = uow.session.get_bind().dialect.name == "postgresql"
    size = POSTGRES_LOOKUP_CHUNK if postgres else LOOKUP_CHUNK
    found: dict[str, _Known] = {}
    for start in range(0, len(unique), size):
        chunk = unique[start:start + size]
        if postgres:
            from sqlalchemy.dialects.postgresql import ARRAY  # PostgreSQL only: not on SQLite

            wanted = func.unnest(bindparam("hashes", chunk, type_=ARRAY(String))
                                 ).table_valued("value").render_derived()
            query = select(*columns).join(wanted, wanted.c.value == c.nrn_hash)
        else:
            query = select(*columns).where(c.nrn_hash.in_(chunk))
        for row in uow.session.execute(query):
            found[row.nrn_hash] = _Known(row.id, row.organisation_id, row.active, row.surname,
                                         row.given_names, row.email, str(row.language),
                                         row.department)
    return found


# ---------------------------------------------------------------- applying


def apply(uow: UnitOfWork, who: Officer | Organisation, report: Report,
          progress: Progress | None = None, *, actor: str | None = None) -> Summary:
    """Write a valid report's changes in this unit of work (all or nothing), audited.

    The report must come from `validate` in this same unit of work (the command line) or have
    been validated again just before (`apply_staged` does).
    """
    if not report.ok:
        raise DomainError("pdata.not_valid", count=len(report.errors))
    scope = {o.id for o in (_scope(uow, who, None) if isinstance(who, Officer) else [who])}
    if not set(report.organisation_ids) <= scope:
        raise DomainError("pdata.not_your_file")
    started = time.monotonic()
    stamp = clock.now()
    vault = uow.app.vault
    adds, updates, leaves = [], [], []
    for change in report.changes:
        if change.unchanged:
            continue
        values = change.values
        if change.action != "leave":
            values = {**values, "language": Language(values["language"]),
                      "search_key": matching.search_key(values["surname"],
                                                        values["given_names"])}
        if change.action == "add":
            number = change.number
            adds.append({**values,
                         "nrn_hash": change.nrn_hash, "nrn_encrypted": vault.encrypt(number),
                         "nrn_masked": nrn.mask(number), "birth_year": number.birth_year,
                         "sex": number.sex, "created_at": stamp, "updated_at": stamp})
        elif change.action == "update":
            updates.append({**values, "_id": change.collaborator_id, "updated_at": stamp})
        else:
            leaves.append({"_id": change.collaborator_id, "active": False, "updated_at": stamp})
    total, done = len(adds) + len(updates) + len(leaves), 0
    table = Collaborator.__table__
    statements = (
        (insert(table), adds),
        (_update_statement(updates[0].keys() if updates else ()), updates),
        (_update_statement(("active", "updated_at")), leaves),
    )
    for statement, rows in statements:
        for start in range(0, len(rows), WRITE_CHUNK):
            chunk = rows[start:start + WRITE_CHUNK]
            uow.session.execute(statement, chunk)
            done += len(chunk)
            if progress:
                progress("apply", done, total)
    if time.monotonic() - started > RESTAMP_AFTER_SECONDS and total:
        uow.session.execute(update(table).where(table.c.updated_at == stamp)
                            .values(updated_at=clock.now()))
    summary = Summary(**report.summary.as_dict())
    officer = who if isinstance(who, Officer) else None
    uow.audit("pdata.applied", "file", None, officer,
              actor=actor or (officer.email if officer else "operator"),
              file=report.filename, sha256=report.sha256, rows=report.rows,
              organisations=report.organisations, **summary.as_dict())
    return summary


def _update_statement(keys: Iterable[str]) -> Any:
    table = Collaborator.__table__
    names = [k for k in keys if k != "_id"]
    return (update(table).where(table.c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in names}))


# ---------------------------------------------------------------- errors as a file


def errors_csv(report: Report, language: str | None = None) -> bytes:
    """Every error, for the officer to open next to their file (CSV, formula-safe)."""
    language = i18n.language_or_default(language or report.language)
    header = [i18n.t(language, f"pdata.errors_header.{key}")
              for key in ("line", "column", "value", "reason")]
    rows: list[list[exports.Value]] = [
        [e.line, _column_shown(e), e.value, e.reason] for e in report.errors]
    return exports.csv_bytes(header, rows, language)


def errors_filename(report: Report, language: str | None = None) -> str:
    language = i18n.language_or_default(language or report.language)
    stem = report.filename.rsplit(".", 1)[0] or "pdata"
    return exports.safe_filename(f"{stem}-{i18n.t(language, 'pdata.errors_file')}", "csv")


def _column_shown(error: RowError) -> str:
    if error.label and error.letter:
        return f"{error.letter} ({error.label})"
    return error.label or error.letter or ""


def template(fmt: str = "csv") -> tuple[str, bytes]:
    """The empty template; as .xlsx its national number column is text, so Excel keeps the
    leading zero and never writes 8,5073E+10."""
    if fmt == "xlsx":
        return "pdata-template.xlsx", exports.xlsx_bytes(
            [exports.Sheet("P-data", list(TEMPLATE_COLUMNS), [], text_columns=(0,))])
    return "pdata-template.csv", (TEMPLATES_DIR / "pdata-template.csv").read_bytes()


# ---------------------------------------------------------------- terms of use


def accepted(uow: UnitOfWork, officer: Officer) -> bool:
    return uow.session.scalar(
        select(PdataTermsAcceptance.id).where(PdataTermsAcceptance.officer_id == officer.id,
                                              PdataTermsAcceptance.version == TERMS_VERSION)
    ) is not None


def accept(uow: UnitOfWork, officer: Officer) -> None:
    """Once per officer and version of the terms; accepting again changes nothing."""
    require_active(officer)
    if accepted(uow, officer):
        return
    uow.session.add(PdataTermsAcceptance(officer_id=officer.id, version=TERMS_VERSION,
                                         accepted_at=clock.now()))
    uow.audit("pdata.terms_accepted", "officer", officer.id, officer, version=TERMS_VERSION)


def terms(language: str) -> str:
    return i18n.t(language, "pdata.terms.text", version=TERMS_VERSION)


# ---------------------------------------------------------------- files waiting for a click


def stage(uow: UnitOfWork, officer: Officer, source: bytes, report: Report,
          organisation: str | None = None) -> int:
    """Keep a validated file (encrypted) until the officer confirms, on whichever instance
    the click arrives; returns the upload id the confirm action carries."""
    if report.officer_id != officer.id or not report.ok:
        raise DomainError("pdata.not_valid", count=len(report.errors))
    now = clock.now()
    uow.session.execute(update(PdataUpload).where(PdataUpload.expires_at < now,
                                                  PdataUpload.content.is_not(None))
                        .values(content=None, state="expired"))
    upload = PdataUpload(officer_id=officer.id, organisation=organisation,
                         filename=report.filename[:255], sha256=report.sha256,
                         language=Language(report.language), rows=report.rows,
                         summary=report.summary.as_dict(), state="validated",
                         created_at=now, expires_at=now + UPLOAD_TTL)
    uow.session.add(upload)
    uow.session.flush()
    upload.content = _sealer(uow).seal(upload.id, source)
    return upload.id


def apply_staged(uow: UnitOfWork, officer: Officer, upload_id: int,
                 progress: Progress | None = None) -> tuple[Report, Summary | None]:
    """The confirm click: the file is validated again (someone may have changed the data
    since) and applied when still right; the stored copy is dropped either way."""
    upload = uow.session.get(PdataUpload, upload_id, with_for_update=True)
    if upload is None or upload.officer_id != officer.id:
        raise DomainError("pdata.upload_gone")
    if upload.state == "applied":
        raise DomainError("pdata.upload_applied", at=upload.applied_at or upload.created_at)
    if upload.content is None or upload.state != "validated" or upload.expires_at < clock.now():
        raise DomainError("pdata.upload_gone")
    source = _sealer(uow).open(upload.id, upload.content)
    report = validate(uow, officer, source, upload.filename, upload.language.value, progress,
                      organisation=upload.organisation)
    upload.content = None
    if not report.ok:
        upload.state = "rejected"
        return report, None
    summary = apply(uow, officer, report, progress)
    upload.state, upload.applied_at = "applied", clock.now()
    upload.summary = summary.as_dict()
    return report, summary


def discard(uow: UnitOfWork, officer: Officer, upload_id: int) -> None:
    upload = uow.session.get(PdataUpload, upload_id)
    if upload is not None and upload.officer_id == officer.id and upload.state == "validated":
        upload.content, upload.state = None, "discarded"


class _Sealer:
    """Authenticated encryption of staged files, under a key of their own."""

    def __init__(self, secret: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"itma pdata upload").derive(secret)
        self._aead = AESGCM(key)

    def seal(self, upload_id: int, data: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, f"pdata-upload:{upload_id}".encode())

    def open(self, upload_id: int, blob: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:12], blob[12:], f"pdata-upload:{upload_id}".encode())
        except InvalidTag as exc:
            raise DomainError("pdata.upload_gone") from exc


def _sealer(uow: UnitOfWork) -> _Sealer:
    return _Sealer(uow.app.settings.secret_key)
