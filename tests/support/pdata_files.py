"""P-data files as officers drop them into a chat: the demo sample (right rows and classic
mistakes), its right rows only, a long file, and a file naming another organisation's people."""

from __future__ import annotations

import random
from datetime import date

from core import nrn
from core.app import App
from core.demo import pdata_sample
from core.models import Collaborator
from tests.pdata.corpus import text

SAMPLE_ERRORS = 8
SAMPLE_ROWS = 11


def _csv(rows: list[list[str]]) -> bytes:
    """Semicolons and Windows-1252, as Excel saves "CSV (separator: semicolon)" in Belgium."""
    lines = [";".join(pdata_sample.HEADER)] + [";".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def sample(app: App) -> bytes:
    """The demo sample: four right rows, then eight mistakes (lines 6 to 12)."""
    return _csv(pdata_sample.rows(app))


def right(app: App) -> bytes:
    """The sample's right rows: Vandenbroucke Lotte and Dumont Théo added, one update, one
    departure."""
    return _csv(pdata_sample.rows(app)[:4])


def long_file(count: int, seed: int = 5) -> bytes:
    """`count` new people, all right."""
    rng = random.Random(seed)
    rows = [[nrn.generate(rng, birth_date=date(1960 + i % 40, 1 + i % 12, 1 + i % 28)),
             f"Nom{i:05d}", "Test", f"test.{i}@bosa.example", "fr", "", "add"]
            for i in range(count)]
    return text(rows).encode()


def numbers_of(app: App, *collaborator_ids: int) -> list[str]:
    with app.unit_of_work(readonly=True) as uow:
        return [app.vault.decrypt(uow.session.get_one(Collaborator, i).nrn_encrypted)
                for i in collaborator_ids]


def about_others(app: App, collaborator_ids: list[int]) -> bytes:
    """Rows about people of an organisation the sender is not responsible for: an update and a
    departure by number only, and an 'add' of someone already registered there."""
    first, second, third = numbers_of(app, *collaborator_ids[:3])
    return text([[first, "", "", "", "", "DG X", "update"],
                 [second, "", "", "", "", "", "leave"],
                 [third, "Inconnu", "Personne", "p@fin.example", "nl", "", "add"]]).encode()
