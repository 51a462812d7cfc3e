"""The CLI bench's database: the demo, pending requests for reply mails (bench/mail/world.py),
and more people up to a given number of collaborators, named like the demo's."""

from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import func, insert, select

from core import clock, matching, nrn
from core.app import App
from core.demo import catalogue, names
from core.models import Collaborator, Language, Organisation


def grow(app: App, total: int, rng_seed: int = 2027) -> int:
    """Add people, spread over the organisations as the demo is, until `total`; returns the
    number of collaborators."""
    rng = random.Random(rng_seed)
    with app.unit_of_work() as uow:
        have = uow.session.scalar(select(func.count()).select_from(Collaborator)) or 0
        organisations = {o.code: o for o in uow.session.scalars(select(Organisation))}
        weights = Counter(code for (code,) in uow.session.execute(
            select(Organisation.code).join(Collaborator)))
        known = set(uow.session.scalars(select(Collaborator.nrn_hash)))
        codes = sorted(weights)
        vault, now, taken = uow.app.vault, clock.now(), set[str]()
        rows: list[dict[str, object]] = []
        need = max(0, total - have)
        for person in names.people(rng, need + need // 20 + 10):  # a few numbers collide
            if len(rows) == need:
                break
            code = rng.choices(codes, [weights[c] for c in codes])[0]
            number = nrn.parse(nrn.generate(rng, birth_date=person.birth_date, sex=person.sex))
            digest = vault.lookup_hash(number)
            if digest in known:
                continue
            known.add(digest)
            rows.append({
                "nrn_hash": digest, "nrn_encrypted": vault.encrypt(number),
                "nrn_masked": nrn.mask(number), "birth_year": number.birth_year,
                "sex": person.sex, "surname": person.surname, "given_names": person.given_names,
                "email": names.email_for(person, f"{code.lower()}.example", taken),
                "language": Language(person.language), "organisation_id": organisations[code].id,
                "department": rng.choice(catalogue.DEPARTMENTS[code]), "active": True,
                "search_key": matching.search_key(person.surname, person.given_names),
                "created_at": now, "updated_at": now})
        for start in range(0, len(rows), 5000):
            uow.session.execute(insert(Collaborator), rows[start:start + 5000])
    with app.unit_of_work(readonly=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Collaborator)) or 0)
