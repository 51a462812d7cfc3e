"""CSV files from operators: one reader, and errors that list every bad row at once."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.errors import DomainError


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str


class ImportRejected(DomainError):
    """Nothing was imported; every error of the file is listed."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("import_rejected", count=len(errors))
        self.errors = errors


def read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Rows with their line numbers; ';' or ',' separated, UTF-8 with or without BOM."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DomainError("cannot_read_file", path=str(path), reason=exc.strerror) from exc
    except UnicodeDecodeError as exc:
        raise DomainError("file_not_utf8", path=str(path)) from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    reader.fieldnames = header
    rows = [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k})
            for row in reader]
    return header, rows


def require_columns(header: list[str], needed: Iterable[str]) -> None:
    missing = [c for c in needed if c not in header]
    if missing:
        raise DomainError("missing_columns", columns=", ".join(missing))
