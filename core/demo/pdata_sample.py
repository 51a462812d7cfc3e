"""A P-data file to try the validation module on the demo database: a few right rows (new
people, a change of department, a departure) and a few classic mistakes to see reported."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from sqlalchemy import select

from core import nrn
from core.app import App
from core.models import Collaborator, Organisation

HEADER = ("national_register_number", "surname", "given_names", "email", "language",
          "department", "action")


def rows(app: App, organisation: str = "BOSA", seed: int = 14) -> list[list[str]]:
    rng = random.Random(seed)
    with app.unit_of_work(readonly=True) as uow:
        people = list(uow.session.scalars(
            select(Collaborator).join(Collaborator.organisation)
            .where(Organisation.code == organisation, Collaborator.active.is_(True))
            .order_by(Collaborator.id).limit(3)))
        known = [app.vault.decrypt(p.nrn_encrypted) for p in people]
    new = [nrn.generate(rng, birth_date=date(1991, 5, 17), sex="F"),
           nrn.generate(rng, birth_date=date(2001, 2, 3), sex="M"),
           nrn.generate(rng, birth_date=date(1979, 11, 28), sex="F"),
           nrn.generate(rng, birth_date=date(1986, 8, 9), sex="M")]
    typo = new[3][:9] + f"{(int(new[3][9:]) + 1) % 100:02d}"
    mover = people[0]
    return [
        [new[0], "Vandenbroucke", "Lotte", "lotte.vandenbroucke@bosa.example", "nl",
         "Stafdienst P&O", "add"],
        [new[1], "Dumont", "Théo", "theo.dumont@bosa.example", "fr", "DG Recrutement", "ajouter"],
        [known[0], mover.surname, mover.given_names, "", "", "DG Transformation digitale",
         "update"],
        [known[1], "", "", "", "", "", "leave"],
        [typo, "Lemaire", "Julie", "julie.lemaire@bosa.example", "fr", "", "add"],
        [new[2], "Peeters", "An", "an.peeters@bosa", "nl", "", "add"],
        [new[0], "Vandenbroucke", "Lotte", "lotte.v@bosa.example", "nl", "", "add"],
        [known[2], "=HYPERLINK(\"http://example.com\")", "X", "x@bosa.example", "fr", "",
         "update"],
        [new[3][:-1], "Martin", "Paul", "paul.martin@bosa.example", "fr", "", "add"],
        [nrn.generate(rng), "Jacobs", "Wim", "wim.jacobs@bosa.example", "vl", "", "update"],
        [nrn.generate(rng), "Schmitz", "Lea", "lea.schmitz@bosa.example", "de", "", "remove"],
    ]


def write(app: App, path: Path, organisation: str = "BOSA") -> Path:
    """Semicolons and Windows-1252, as Excel saves "CSV (separator: semicolon)" in Belgium."""
    lines = [";".join(HEADER)] + [";".join(row) for row in rows(app, organisation)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path
