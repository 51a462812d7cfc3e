"""Personnel data files for the benchmark and the tests: realistic names, generated numbers.

`pdata_file` writes the template (CSV, `;`, or .xlsx as Excel saves it) for a mix of rows:
people to add, people already known to update or to mark as leaving.
"""

from __future__ import annotations

import io
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from core import nrn

SURNAMES = ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
            "Wouters", "De Smet", "Dubois", "Lambert", "Dupont", "Martin", "Simon", "Laurent",
            "Van den Bossche", "Vermeulen", "Leclercq", "Müller", "Schmitz", "Lefèvre",
            "Van Damme", "D'Hondt", "Öztürk", "Nguyen", "El Amrani", "Vandenberghe")
GIVEN = ("Marie", "Jan", "Sofie", "Tom", "Els", "Luc", "Anna", "Pieter", "Hélène", "Jürgen",
         "Inès", "Kris", "Nathalie", "Bart", "Fatima", "Mohamed", "Chloé", "Lars", "Emma")
DEPARTMENTS = ("DG Personnel", "Stafdienst P&O", "DG Budget", "Service ICT", "Dienst Vertaling",
               "Abteilung Recht", "Cabinet")
HEADER = ("national_register_number", "surname", "given_names", "email", "language",
          "department", "action")


@dataclass(frozen=True)
class Person:
    nrn: str
    surname: str
    given_names: str
    email: str
    language: str
    department: str


def people(rng: random.Random, count: int, taken: set[str] | None = None) -> list[Person]:
    """Distinct, valid numbers (births 1950-2005, a few BIS numbers and born in 2000+)."""
    taken = set() if taken is None else taken
    found: list[Person] = []
    while len(found) < count:
        born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 20_000))
        number = nrn.generate(rng, birth_date=born, bis=rng.random() < 0.01)
        if number in taken:
            continue
        taken.add(number)
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
        local = _ascii(f"{given}.{surname}".lower().replace(" ", "").replace("'", ""))
        found.append(Person(number, surname, given, f"{local}.{len(found)}@example.be",
                            rng.choice(("fr", "nl", "nl", "fr", "de", "en")),
                            rng.choice(DEPARTMENTS)))
    return found


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def rows_for(adds: Sequence[Person], updates: Sequence[Person],
             leaves: Sequence[Person]) -> list[list[str]]:
    rows = [[p.nrn, p.surname, p.given_names, p.email, p.language, p.department, "add"]
            for p in adds]
    rows += [[p.nrn, p.surname, p.given_names + " Sr", p.email, p.language,
              "Service nouveau", "update"] for p in updates]
    rows += [[p.nrn, "", "", "", "", "", "leave"] for p in leaves]
    return rows


def csv_file(rows: Sequence[Sequence[str]], *, delimiter: str = ";", encoding: str = "utf-8-sig",
             header: Sequence[str] = HEADER) -> bytes:
    lines = [delimiter.join(header)] + [delimiter.join(_quoted(c, delimiter) for c in row)
                                        for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _quoted(cell: str, delimiter: str) -> str:
    if delimiter in cell or '"' in cell or "\n" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def xlsx_file(rows: Sequence[Sequence[object]], header: Sequence[str] = HEADER) -> bytes:
    """As Excel saves it: national numbers typed in a General column become numbers."""
    import xlsxwriter

    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": True})
    sheet = workbook.add_worksheet("P-data")
    sheet.write_row(0, 0, list(header))
    for index, row in enumerate(rows, 1):
        sheet.write_row(index, 0, list(row))
    workbook.close()
    return out.getvalue()
