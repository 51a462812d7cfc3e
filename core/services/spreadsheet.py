"""Reading the tables officers send: CSV as any editor or Excel saves it, and Excel workbooks.

Every row keeps the line number the officer's own program shows (the physical line where a CSV
record starts, the row number of the Excel sheet), because that is how they find their errors.
Excel files are read by python-calamine, never by hand; their cells stay typed (numbers, dates)
so the caller can tell "Excel turned this into a date" from a typing mistake.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

Cell = str | int | float | bool | date | datetime | time | timedelta | None

MAX_BYTES = 25 * 1024 * 1024
MAX_UNPACKED = 400 * 1024 * 1024
"""An .xlsx is a zip: its sheets may not unpack to more than this (zip bombs)."""
HEADER_SEARCH = 10
"""The header may sit below a few title lines; it is looked for in the first rows only."""
DELIMITERS = (";", ",", "\t")

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class UnreadableFile(Exception):
    """The file as a whole cannot be read as a table; `code` and `params` say why."""

    def __init__(self, code: str, /, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Table:
    kind: str
    """"csv" or "xlsx" (any workbook calamine reads: xlsx, xlsm, xls, ods)."""
    header_line: int
    header: list[str]
    rows: list[tuple[int, list[Cell]]]
    """(line number as the officer's program shows it, cells) for every non-empty row."""
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None


HeaderTest = Callable[[list[str]], bool]


def read_table(source: bytes, is_header: HeaderTest) -> Table:
    """The first table whose header passes `is_header` (first sheet that has one, for
    workbooks); UnreadableFile when the bytes are not a table at all."""
    if len(source) > MAX_BYTES:
        raise UnreadableFile("file_too_large", size=round(len(source) / 1_048_576, 1),
                             max=MAX_BYTES // 1_048_576)
    if not source.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise UnreadableFile("file_empty")
    if source.startswith((_ZIP, _OLE)):
        return _read_workbook(source, is_header)
    return _read_csv(source, is_header)


def _decode(source: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) and UTF-16 with a BOM; otherwise Windows-1252, which is
    what Excel writes for "CSV (separator: semicolon)" on a Belgian Windows."""
    if source.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return source.decode("utf-16"), "utf-16"
    if b"\x00" in source[:8192]:
        raise UnreadableFile("file_binary")
    if source.startswith(codecs.BOM_UTF8):
        try:
            return source[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise UnreadableFile("file_encoding") from exc
    try:
        return source.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = source.decode("cp1252", errors="replace")
    if text.count("\ufffd") > 0 or _mostly_control(text):
        raise UnreadableFile("file_binary")
    return text, "cp1252"


def _mostly_control(text: str) -> bool:
    sample = text[:4096]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    return control > len(sample) // 20


def _delimiter(line: str) -> str:
    counts = {d: _count_outside_quotes(line, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


def _read_csv(source: bytes, is_header: HeaderTest) -> Table:
    text, encoding = _decode(source)
    header_line, header, delimiter = 0, [], ";"
    lines = io.StringIO(text, newline="")
    for number, raw in enumerate(lines, 1):
        if number > HEADER_SEARCH:
            break
        delimiter = _delimiter(raw)
        cells = [c.strip() for c in next(csv.reader([raw], delimiter=delimiter), [])]
        if any(cells) and is_header(cells):
            header_line, header = number, cells
            break
    if not header_line:
        raise UnreadableFile("no_header")
    rows: list[tuple[int, list[Cell]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if line > header_line and any(record) and "".join(record).strip():
                rows.append((line, record))  # type: ignore[arg-type]
    except csv.Error as exc:
        raise UnreadableFile("csv_malformed", line=start) from exc
    return Table("csv", header_line, header, rows, delimiter=delimiter, encoding=encoding)


def _read_workbook(source: bytes, is_header: HeaderTest) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook, SheetVisibleEnum

    if source.startswith(_ZIP):
        _check_unpacked_size(source)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(source))
        sheets = [m.name for m in workbook.sheets_metadata
                  if m.visible == SheetVisibleEnum.Visible]
        for name in sheets:
            sheet = workbook.get_sheet_by_name(name)
            grid = sheet.to_python(skip_empty_area=False)
            _fill_merged(grid, sheet.merged_cell_ranges or [])
            table = _table_of(grid, is_header, name)
            if table is not None:
                return table
    except UnreadableFile:
        raise
    except (CalamineError, ValueError, OSError, zipfile.BadZipFile) as exc:
        code = "file_password" if "password" in str(exc).lower() else "file_unreadable"
        raise UnreadableFile(code) from exc
    except Exception as exc:  # calamine raises its own errors for broken archives
        raise UnreadableFile("file_unreadable") from exc
    raise UnreadableFile("no_header_in_sheets", sheets=", ".join(sheets) or "-")


def _check_unpacked_size(source: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(source)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise UnreadableFile("file_unreadable") from exc
    if unpacked > MAX_UNPACKED:
        raise UnreadableFile("file_too_large", size=round(unpacked / 1_048_576, 1),
                             max=MAX_UNPACKED // 1_048_576)


def _fill_merged(grid: list[list[Any]], merged: list[Any]) -> None:
    """A merged range shows its first cell's value in every cell it covers: read it so."""
    for (top, left), (bottom, right) in merged:
        if top >= len(grid) or left >= len(grid[top]):
            continue
        value = grid[top][left]
        for r in range(top, min(bottom, len(grid) - 1) + 1):
            row = grid[r]
            for c in range(left, min(right, len(row) - 1) + 1):
                row[c] = value


def _table_of(grid: list[list[Any]], is_header: HeaderTest, name: str) -> Table | None:
    for index, row in enumerate(grid[:HEADER_SEARCH]):
        header = [_header_text(c) for c in row]
        if any(header) and is_header(header):
            rows: list[tuple[int, list[Cell]]] = [
                (number, cells) for number, cells in enumerate(grid[index + 1:], index + 2)
                if any(cells) or any(c is not None and c != "" for c in cells)]
            return Table("xlsx", index + 1, header, rows, sheet=name)
    return None


def _header_text(cell: Any) -> str:
    return cell.strip() if isinstance(cell, str) else ("" if cell is None else str(cell))
