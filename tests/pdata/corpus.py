"""The P-data corpus: files as officers really send them, right and broken, with what the
validation module must say about each (line as their editor shows it, column, error code).

`python -m tests.pdata.corpus` writes the small files into this folder (they are committed, to
be opened and read by people); the long ones (a bad checksum on line 4,012, 50,000 rows) are
built by the tests. Every national register number is synthetic (core.nrn.generate).
"""

from __future__ import annotations

import codecs
import io
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from core import nrn

HERE = Path(__file__).resolve().parent
HEADER = ("national_register_number", "surname", "given_names", "email", "language",
          "department", "action")
NRN = "national_register_number"

_rng = random.Random(1412)


def _number(year: int, month: int = 3, day: int = 14, sex: str = "F") -> str:
    return nrn.generate(_rng, birth_date=date(year, month, day), sex=sex)


# The people already known before each file (loaded with the module itself).
K = {key: _number(year, month, day, sex) for key, year, month, day, sex in (
    ("dupont", 1985, 7, 30, "F"), ("peeters", 1990, 1, 2, "M"), ("claes", 1982, 4, 5, "F"),
    ("muller", 1968, 9, 9, "M"), ("lambert", 1975, 12, 1, "F"), ("wouters", 1979, 6, 6, "F"),
    ("vermeulen", 1988, 8, 8, "F"), ("jacobs", 1991, 10, 10, "M"))}
KNOWN_BOSA = [
    [K["dupont"], "Dupont", "Marie", "marie.dupont@bosa.example", "fr", "DG Personnel", "add"],
    [K["peeters"], "Peeters", "Jan", "jan.peeters@bosa.example", "nl", "Stafdienst P&O", "add"],
    [K["claes"], "Claes", "Hilde", "hilde.claes@bosa.example", "nl", "DG Budget", "add"],
    [K["muller"], "Müller", "Jürgen", "juergen.mueller@bosa.example", "de", "", "add"],
    [K["lambert"], "Lambert", "Sophie", "sophie.lambert@bosa.example", "fr", "", "add"],
    [K["wouters"], "Wouters", "Els", "els.wouters@bosa.example", "nl", "", "add"],
]
LEFT_BOSA = [[K["wouters"], "", "", "", "", "", "leave"]]
KNOWN_FIN = [
    [K["vermeulen"], "Vermeulen", "Katrien", "katrien.vermeulen@fin.example", "nl", "", "add"],
    [K["jacobs"], "Jacobs", "Wim", "wim.jacobs@fin.example", "nl", "", "add"],
]

N = {f"new{i}": _number(1970 + i, 1 + i % 12, 10 + i, "M" if i % 2 else "F")
     for i in range(1, 12)}
N["young"] = _number(2003, 1, 5, "M")
"""Born in 2003: Excel saves the number without its leading zero."""


def _bad_checksum(number: str) -> str:
    return number[:9] + f"{(int(number[9:]) + 1) % 100:02d}"


def _impossible_date() -> str:
    first9 = "851330001"
    return f"{first9}{97 - int(first9) % 97:02d}"


def text(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER, sep: str = ";") -> str:
    def cell(value: str) -> str:
        if sep in value or '"' in value or "\n" in value:
            return '"' + value.replace('"', '""') + '"'
        return value
    return "".join(sep.join(cell(c) for c in row) + "\r\n" for row in [list(header), *rows])


def _add(key: str, surname: str, given: str, language: str = "fr",
         department: str = "") -> list[str]:
    local = unicodedata.normalize("NFKD", f"{given}.{surname}".lower().replace(" ", ""))
    return [N[key], surname, given, local.encode("ascii", "ignore").decode() + "@bosa.example",
            language, department, "add"]


Expect = tuple[int | None, str | None, str]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], bytes]
    errors: list[Expect] = field(default_factory=list)
    summary: dict[str, int] | None = None
    committed: bool = True
    """Written into tests/pdata/ (the long ones are built by the tests only)."""


# ------------------------------------------------------------------ right files


def ok_semicolon() -> bytes:
    return text([
        _add("new1", "Janssens", "Tom", "nl", "Service ICT"),
        _add("new2", "Laurent", "Chloé", "fr"),
        [K["dupont"], "Dupont", "Marie", "", "", "DG Transformation", "update"],
        [K["peeters"], "Peeters", "Jan", "jan.peeters@bosa.example", "nl", "Stafdienst P&O",
         "update"],
        [K["claes"], "", "", "", "", "", "leave"],
        [K["wouters"], "Wouters", "Els", "", "", "", "update"],
    ]).encode("utf-8")


def ok_comma_bom_quoted() -> bytes:
    return codecs.BOM_UTF8 + text([
        [N["new3"], "Van den Bossche, Jr", "Marie-Claire", "mc.vdb@bosa.example", "NL",
         'DG "Digital", cel 2', "add"],
        [N["new4"], "  D'Hondt\u00a0", " Pieter ", "pieter.dhondt@bosa.example", "fr", "",
         "ADD"],
        [N["new5"], "Öztürk", "Ayşe", "ayse.ozturk@bosa.example", "en", "", "add"],
    ], sep=",").encode("utf-8")


def ok_cp1252() -> bytes:
    return text([
        [N["new6"], "Müller-Lüdenscheidt", "Françoise", "f.muller@bosa.example", "fr",
         "Service – Qualité", "add"],
        [N["new7"], "Strauß", "Noël", "noel.strauss@bosa.example", "de", "Abteilung Süd",
         "add"],
    ]).encode("cp1252")


def ok_utf16_tabs() -> bytes:
    """Excel's "Unicode text": UTF-16 with a BOM, tab separated."""
    return codecs.BOM_UTF16_LE + text([
        [N["new8"], "Lefèvre", "Hélène", "helene.lefevre@bosa.example", "fr", "", "add"],
    ], sep="\t").encode("utf-16-le")


def ok_localized_fr() -> bytes:
    header = ("Numéro de registre national", "Nom", "Prénoms", "Courriel", "Langue", "Service",
              "Action")
    return text([
        [nrn.format_nrn(N["new9"]), "Dubois", "Luc", "luc.dubois@bosa.example", "Français",
         "", "ajouter"],
        [K["dupont"], "", "", "", "Néerlandais", "", "modifier"],
        [K["claes"], "", "", "", "", "", "départ"],
    ], header).encode("utf-8")


def ok_localized_nl() -> bytes:
    header = ("Rijksregisternummer", "Naam", "Voornaam", "E-mailadres", "Taal", "Dienst",
              "Actie")
    return text([
        [N["new10"], "De Smet", "Wim", "wim.desmet@bosa.example", "Nederlands", "", "toevoegen"],
        [K["peeters"], "", "", "", "", "Dienst Vertaling", "wijzigen"],
        [K["claes"], "", "", "", "", "", "vertrek"],
    ], header).encode("utf-8")


def ok_localized_de() -> bytes:
    header = ("Nationalregisternummer", "Nachname", "Vorname", "E-Mail", "Sprache", "Abteilung",
              "Aktion")
    return text([
        [N["new11"], "Schmitz", "Anna", "anna.schmitz@bosa.example", "Deutsch", "",
         "hinzufügen"],
        [K["muller"], "", "", "", "", "Abteilung Recht", "ändern"],
        [K["claes"], "", "", "", "", "", "Austritt"],
    ], header).encode("utf-8")


# ------------------------------------------------------------------ broken files


def wrong_separator() -> bytes:
    rows = [_add("new1", "Janssens", "Tom"), _add("new2", "Laurent", "Chloé"),
            _add("new3", "Maes", "Bart"), _add("new4", "Goossens", "Inès")]
    lines = text(rows).splitlines()
    lines[2] = lines[2].replace(";", ",")
    lines[4] = lines[4].replace(";", ",")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def formulas() -> bytes:
    return text([
        [N["new1"], '=HYPERLINK("http://evil.example","Dupont")', "Tom", "t@bosa.example",
         "fr", "", "add"],
        [N["new2"], "Laurent", "+cmd|' /C calc'!A0", "c@bosa.example", "fr", "", "add"],
        [N["new3"], "Maes", "Bart", "b@bosa.example", "fr", "-2+3", "add"],
        [N["new4"], "@SUM(A1:A2)", "Inès", "i@bosa.example", "fr", "", "add"],
        [N["new5"], "Goossens", "Lars", "=1+1@bosa.example", "nl", "", "add"],
        [N["new6"], "Simon", "Emma", "e@bosa.example", "fr", "\t=1+1", "add"],
    ]).encode("utf-8")


def mixed_errors() -> bytes:
    rng = random.Random(21)

    def other(year: int) -> str:
        return nrn.generate(rng, birth_date=date(year, 2, 2))

    lines = text([
        _add("new1", "Janssens", "Tom"),                                          # 2 right
        [_bad_checksum(N["new2"]), "Laurent", "Chloé", "c@bosa.example", "fr", "", "add"],  # 3
        [nrn.format_nrn(N["new3"])[:-1], "Maes", "Bart", "b@bosa.example", "fr", "", "add"],
        [_impossible_date(), "Goossens", "Inès", "i@bosa.example", "fr", "", "add"],  # 5
        [N["new1"], "Janssens", "Tom", "tom2@bosa.example", "fr", "", "add"],   # 6 duplicate
        [K["dupont"], "Dupont", "Marie", "m@bosa.example", "fr", "", "add"],     # 7 known
        [K["wouters"], "Wouters", "Els", "e@bosa.example", "nl", "", "add"],     # 8 known, left
        [N["new4"], "Simon", "Lars", "", "", "", "update"],                      # 9 unknown
        [N["new5"], "", "", "", "", "", "leave"],                                # 10 unknown
        [K["vermeulen"], "Vermeulen", "Katrien", "k@fin.example", "nl", "", "add"],  # 11
        [K["jacobs"], "", "", "", "", "FIN IT", "update"],                      # 12 not yours
        [N["new6"], "Martin", "Luc", "luc@@bosa.example", "fr", "", "add"],     # 13
        [N["new7"], "Wouters", "An", "an@bosa.example", "vl", "", "add"],       # 14
        [N["new8"], "Jacobs", "Wim", "wim@bosa.example", "nl", "", "delete"],   # 15
        [N["new9"], "Mertens", "Kris", "kris@bosa.example", "nl", "", ""],      # 16
        [N["new10"], "", "", "", "", "", "add"],                                # 17 required
        ["", "Willems", "Eva", "eva@bosa.example", "nl", "", "add"],            # 18
        [N["new11"], "X" * 130, "Lang", "lang@bosa.example", "nl", "", "add"],  # 19
        [N["young"], "12345", "Bob", "bob@bosa.example", "en", "", "add"],      # 20
    ]).splitlines()
    lines.append(f"{other(1999)};Claes;Jo;jo@bosa.example;nl;DG;Budget;add")  # 21: 8 cells
    lines.append("")                                                          # 22 blank
    lines.append(f"{other(1998)};Peeters;Eva;eva.p@bosa.example;nl;;add")     # 23 right
    lines.append(f'{other(1997)};Dumont;Théo;theo@bosa.example;fr;"DG')       # 24-25: a
    lines.append('Nord";add')                                                  # line break
    lines.append(f"{_bad_checksum(other(1996))};Maes;Lien;lien@bosa.example;nl;;add")  # 26
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


MIXED_ERRORS: list[Expect] = [
    (3, NRN, "nrn_checksum"), (4, NRN, "nrn_format"), (5, NRN, "nrn_date"),
    (6, NRN, "duplicate"), (7, NRN, "exists"), (8, NRN, "exists"), (9, NRN, "unknown_person"),
    (10, NRN, "unknown_person"), (11, NRN, "exists_elsewhere"), (12, NRN, "not_yours"),
    (13, "email", "email"), (14, "language", "language"), (15, "action", "action"),
    (16, "action", "required_action"), (17, "surname", "required_for"),
    (17, "given_names", "required_for"), (17, "email", "required_for"),
    (17, "language", "required_for"), (18, NRN, "required"), (19, "surname", "too_long"),
    (20, "surname", "not_a_name"), (21, None, "cells"), (24, "department", "control"),
    (26, NRN, "nrn_checksum"),
]


def other_organisation() -> bytes:
    return text([
        [*_add("new1", "Janssens", "Tom"), "BOSA"],
        [*_add("new2", "Laurent", "Chloé"), "FIN"],
        [*_add("new3", "Maes", "Bart"), "XYZ"],
        [*_add("new4", "Goossens", "Inès"), "bosa"],
    ], (*HEADER, "organisation")).encode("utf-8")


def scientific() -> bytes:
    return text([
        ["8,5073E+10", "Janssens", "Tom", "tom@bosa.example", "nl", "", "add"],
        ["8.50730E+10", "Laurent", "Chloé", "chloe@bosa.example", "fr", "", "add"],
    ]).encode("utf-8")


def unclosed_quote() -> bytes:
    lines = text([_add("new1", "Janssens", "Tom"), _add("new2", "Laurent", "Chloé")]).splitlines()
    lines.append(f'{N["new3"]};"Maes;Bart;bart@bosa.example;nl;;add')
    lines.append(f'{N["new4"]};Goossens;Inès;ines@bosa.example;fr;;add')
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def empty() -> bytes:
    return b""


def blank() -> bytes:
    return b"\r\n  \r\n\t\r\n"


def binary() -> bytes:
    return (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)


def broken_xlsx() -> bytes:
    return b"PK\x03\x04" + bytes(random.Random(3).randrange(256) for _ in range(2000))


def header_only() -> bytes:
    return text([]).encode("utf-8")


def no_header() -> bytes:
    return text([_add("new1", "Janssens", "Tom")]).split("\r\n", 1)[1].encode("utf-8")


def missing_column() -> bytes:
    header = [h for h in HEADER if h != "email"]
    return text([[N["new1"], "Janssens", "Tom", "nl", "", "add"]], header).encode("utf-8")


def duplicate_column() -> bytes:
    return text([[*_add("new1", "Janssens", "Tom"), "Jansen"]],
                (*HEADER, "surname")).encode("utf-8")


def _workbook_bytes(fill: Callable[[object], None]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    fill(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def excel_dates() -> bytes:
    def fill(workbook: object) -> None:
        sheet = workbook.active  # type: ignore[attr-defined]
        sheet.title = "P-data"
        sheet.append(list(HEADER))
        sheet.append([int(N["new1"]), "Janssens", "Tom", "tom@bosa.example", "nl", "", "add"])
        sheet.append([int(N["young"]), "Lambrechts", "Sofie", "sofie@bosa.example", "nl", "",
                      "add"])
        sheet.append([datetime(1985, 7, 30), "Laurent", "Chloé", "chloe@bosa.example", "fr",
                      "", "add"])
        sheet.append([N["new2"], "Maes", "Bart", "bart@bosa.example", "fr",
                      date(2026, 3, 4), "add"])
        sheet.append([N["new3"], "Goossens", 12, "ines@bosa.example", "fr", "", "add"])
        sheet["F5"].number_format = "dd/mm/yyyy"
        sheet["A4"].number_format = "dd/mm/yyyy"
    return _workbook_bytes(fill)


def _two_sheets(bad_email: bool) -> bytes:
    def fill(workbook: object) -> None:
        notes = workbook.active  # type: ignore[attr-defined]
        notes.title = "Instructions"
        notes.append(["Fill the sheet Personnel, one row per person."])
        notes.append(["action: add, update or leave"])
        sheet = workbook.create_sheet("Personnel")  # type: ignore[attr-defined]
        sheet.append(["Personeelsgegevens BOSA 2026"])
        sheet.merge_cells("A1:G1")
        sheet.append(list(HEADER))
        sheet.append([N["new1"], "Janssens", "Tom", "tom@bosa.example", "nl", "DG Digital",
                      "add"])
        sheet.append([N["new2"], "Laurent", "Chloé", "chloe@bosa.example", "fr", None, "add"])
        sheet.append([N["new3"], "Maes", "Bart", "bart@bosa.example", "nl", None, "add"])
        sheet.merge_cells("F3:F5")
        email = "ines@bosa" if bad_email else "ines@bosa.example"
        sheet.append([N["new4"], "Goossens", "Inès", email, "fr", "Cabinet", "add"])
    return _workbook_bytes(fill)


def two_sheets_merged() -> bytes:
    return _two_sheets(bad_email=True)


def two_sheets_merged_ok() -> bytes:
    return _two_sheets(bad_email=False)


# ------------------------------------------------------------------ long files, built by tests


def long_rows(count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    taken = set(K.values()) | set(N.values())
    rows = []
    while len(rows) < count:
        number = nrn.generate(rng)
        if number in taken:
            continue
        taken.add(number)
        rows.append([number, "Peeters", f"Person {len(rows)}", f"p{len(rows)}@bosa.example",
                     rng.choice(("fr", "nl")), "DG Test", "add"])
    return rows


def checksum_on_line_4012() -> bytes:
    rows = long_rows(5_000, 4012)
    rows[4010][0] = _bad_checksum(rows[4010][0])  # line 4,012: header is line 1
    return text(rows).encode("utf-8")


CASES = [
    Case("ok_semicolon.csv", ok_semicolon,
         summary={"added": 2, "updated": 2, "left": 1, "unchanged": 1}),
    Case("ok_comma_bom_quoted.csv", ok_comma_bom_quoted, summary={"added": 3}),
    Case("ok_cp1252.csv", ok_cp1252, summary={"added": 2}),
    Case("ok_utf16_tabs.csv", ok_utf16_tabs, summary={"added": 1}),
    Case("ok_localized_fr.csv", ok_localized_fr, summary={"added": 1, "updated": 1, "left": 1}),
    Case("ok_localized_nl.csv", ok_localized_nl, summary={"added": 1, "updated": 1, "left": 1}),
    Case("ok_localized_de.csv", ok_localized_de, summary={"added": 1, "updated": 1, "left": 1}),
    Case("two_sheets_merged_ok.xlsx", two_sheets_merged_ok, summary={"added": 4}),
    Case("wrong_separator.csv", wrong_separator, [(3, None, "separator"),
                                                  (5, None, "separator")]),
    Case("formulas.csv", formulas, [(2, "surname", "formula"), (3, "given_names", "formula"),
                                    (4, "department", "formula"), (5, "surname", "formula"),
                                    (6, "email", "formula"), (7, "department", "formula")]),
    Case("mixed_errors.csv", mixed_errors, MIXED_ERRORS),
    Case("other_organisation.csv", other_organisation,
         [(3, "organisation", "other_organisation_row"),
          (4, "organisation", "unknown_organisation")]),
    Case("scientific.csv", scientific, [(2, NRN, "nrn_scientific"), (3, NRN, "nrn_scientific")]),
    Case("unclosed_quote.csv", unclosed_quote, [(4, None, "csv_malformed")]),
    Case("empty.csv", empty, [(None, None, "file_empty")]),
    Case("blank.csv", blank, [(None, None, "file_empty")]),
    Case("binary.csv", binary, [(None, None, "file_binary")]),
    Case("broken.xlsx", broken_xlsx, [(None, None, "file_unreadable")]),
    Case("header_only.csv", header_only, [(None, None, "no_rows")]),
    Case("no_header.csv", no_header, [(None, None, "no_header")]),
    Case("missing_column.csv", missing_column, [(1, None, "missing_columns")]),
    Case("duplicate_column.csv", duplicate_column, [(1, None, "duplicate_column")]),
    Case("excel_dates.xlsx", excel_dates, [(4, NRN, "date_cell"), (5, "department", "date_cell"),
                                           (6, "given_names", "not_a_name")]),
    Case("two_sheets_merged.xlsx", two_sheets_merged, [(6, "email", "email")]),
    Case("checksum_line_4012.csv", checksum_on_line_4012, [(4012, NRN, "nrn_checksum")],
         committed=False),
]


def write_all(directory: Path = HERE) -> None:
    for case in CASES:
        if case.committed:
            (directory / case.name).write_bytes(case.build())
    (directory / "known_bosa.csv").write_bytes(text(KNOWN_BOSA).encode("utf-8"))
    (directory / "left_bosa.csv").write_bytes(text(LEFT_BOSA).encode("utf-8"))
    (directory / "known_fin.csv").write_bytes(text(KNOWN_FIN).encode("utf-8"))


if __name__ == "__main__":
    write_all()
