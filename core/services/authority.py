"""An officer's authorisation as plain facts, loaded once per unit of work.

The hot paths (enroll, unenroll, decide) check who may act against these facts inside their
own guarded statements instead of loading the officer, their organisations and the
collaborator as ORM objects again: one statement (``load``), or none when a front end already
holds the ORM officer (``of``; its organisations are loaded with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select

from core import clock
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import Officer, Organisation, officer_organisations


@dataclass(frozen=True)
class OrganisationRef:
    id: int
    code: str


@dataclass(frozen=True)
class Authority:
    """Reads like the Officer the rules of core.services.access look at (id, email,
    valid_until, organisations with id and code)."""

    id: int
    email: str
    valid_until: date | None
    organisations: tuple[OrganisationRef, ...]

    @property
    def organisation_ids(self) -> tuple[int, ...]:
        return tuple(o.id for o in self.organisations)

    @property
    def active(self) -> bool:
        return self.valid_until is not None and self.valid_until >= clock.today()


def of(officer: Officer | Authority) -> Authority:
    """The facts of an officer already loaded (no statement)."""
    if isinstance(officer, Authority):
        return officer
    return Authority(officer.id, officer.email, officer.valid_until,
                     tuple(OrganisationRef(o.id, o.code) for o in officer.organisations))


OFFICERS, ORGANISATIONS = Officer.__table__, Organisation.__table__
LOAD = (select(OFFICERS.c.id, OFFICERS.c.email, OFFICERS.c.valid_until,
               ORGANISATIONS.c.id.label("organisation_id"), ORGANISATIONS.c.code)
        .select_from(OFFICERS.outerjoin(officer_organisations,
                                        officer_organisations.c.officer_id == OFFICERS.c.id)
                     .outerjoin(ORGANISATIONS,
                                ORGANISATIONS.c.id == officer_organisations.c.organisation_id))
        .where(OFFICERS.c.id == bindparam("oid")).order_by(ORGANISATIONS.c.code))
"""Built once: building a statement costs more CPU than sending it."""


def load(uow: UnitOfWork, officer_id: int) -> Authority | None:
    """One statement: the officer's row and their organisations (ordered by code, as the
    ORM officer's)."""
    rows = uow.session.connection().execute(LOAD, {"oid": officer_id}).all()
    if not rows:
        return None
    first = rows[0]
    return Authority(first.id, first.email, first.valid_until,
                     tuple(OrganisationRef(r.organisation_id, r.code) for r in rows
                           if r.organisation_id is not None))


def officer(uow: UnitOfWork, who: Officer | Authority) -> Officer:
    """The ORM officer, for the slow paths that word a refusal (loaded only then)."""
    if isinstance(who, Officer):
        return who
    found = uow.session.get(Officer, who.id)
    if found is None:
        raise DomainError("unknown_officer", email=who.email)
    return found
