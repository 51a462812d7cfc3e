"""P-data: adding collaborators by national register number, bulk import, and search."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select

from core import clock, matching, nrn
from core.app import UnitOfWork
from core.errors import DomainError
from core.matching import cache as index_cache
from core.models import Collaborator, Language, Officer, Organisation
from core.services.access import organisation_by_code, require_organisation
from core.services.csvfile import ImportRejected, RowError, read_csv, require_columns

COLLABORATOR_COLUMNS = ("national_register_number", "surname", "given_names", "email",
                        "language", "organisation", "department")


@dataclass(frozen=True)
class NewCollaborator:
    nrn: str
    surname: str
    given_names: str
    email: str | None
    language: str
    organisation: str
    department: str | None = None


def _validated(spec: NewCollaborator) -> tuple[nrn.NRN, str]:
    try:
        number = nrn.parse(spec.nrn)
    except nrn.InvalidNRN as exc:
        raise DomainError("invalid_nrn", variant=exc.reason) from exc
    if not spec.surname.strip() or not spec.given_names.strip():
        raise DomainError("name_needed")
    language = (spec.language or "fr").strip().lower()
    if language not in {lang.value for lang in Language}:
        raise DomainError("unknown_language", language=spec.language)
    if spec.email and ("@" not in spec.email or " " in spec.email.strip()):
        raise DomainError("invalid_email", email=spec.email)
    return number, language


def _row(uow: UnitOfWork, spec: NewCollaborator, number: nrn.NRN, language: str,
         organisation: Organisation) -> dict[str, object]:
    vault = uow.app.vault
    now = clock.now()
    return {
        "nrn_hash": vault.lookup_hash(number), "nrn_encrypted": vault.encrypt(number),
        "nrn_masked": nrn.mask(number), "birth_year": number.birth_year,
        "sex": number.sex,
        "surname": spec.surname.strip(), "given_names": spec.given_names.strip(),
        "email": spec.email.strip().lower() if spec.email else None,
        "language": Language(language), "organisation_id": organisation.id,
        "department": (spec.department or "").strip() or None, "active": True,
        "search_key": matching.search_key(spec.surname, spec.given_names),
        "created_at": now, "updated_at": now,
    }


def find_by_nrn(uow: UnitOfWork, number: str) -> Collaborator | None:
    return uow.session.scalar(
        select(Collaborator).where(Collaborator.nrn_hash == uow.app.vault.lookup_hash(number)))


def add_collaborator(uow: UnitOfWork, officer: Officer | None, spec: NewCollaborator,
                     actor: str | None = None, *,
                     organisation: Organisation | None = None,
                     known_new: bool = False) -> Collaborator:
    """Add someone by national register number; `known_new` when the caller just looked."""
    number, language = _validated(spec)
    organisation = organisation or organisation_by_code(uow, spec.organisation)
    if officer is not None:
        require_organisation(officer, organisation)
    existing = None if known_new else find_by_nrn(uow, number.digits)
    if existing is not None:
        raise DomainError("collaborator_exists", name=existing.display_name,
                          organisation=existing.organisation.code)
    collaborator = Collaborator(**_row(uow, spec, number, language, organisation))
    uow.session.add(collaborator)
    uow.session.flush()
    uow.audit("collaborator.added", "collaborator", collaborator.id, officer, actor=actor,
              organisation=organisation.code)
    return collaborator


def import_collaborators(uow: UnitOfWork, path: Path,
                         progress: Callable[[int, int], None] | None = None) -> int:
    """All rows valid → inserted in this transaction; otherwise nothing, every error listed."""
    header, rows = read_csv(path)
    require_columns(header, COLLABORATOR_COLUMNS)
    organisations = {o.code: o for o in uow.session.scalars(select(Organisation))}
    known = set(uow.session.scalars(select(Collaborator.nrn_hash)))
    errors: list[RowError] = []
    values: list[dict[str, object]] = []
    for index, (line, row) in enumerate(rows, 1):
        spec = NewCollaborator(nrn=row["national_register_number"], surname=row["surname"],
                               given_names=row["given_names"], email=row["email"] or None,
                               language=row["language"] or "fr",
                               organisation=row["organisation"].upper(),
                               department=row["department"])
        try:
            number, language = _validated(spec)
        except DomainError as exc:
            errors.append(RowError(line, _column_of(exc.code), exc.message("en")))
            continue
        organisation = organisations.get(spec.organisation)
        if organisation is None:
            errors.append(RowError(line, "organisation",
                                   f"unknown organisation {spec.organisation!r}"))
            continue
        value = _row(uow, spec, number, language, organisation)
        if value["nrn_hash"] in known:
            errors.append(RowError(line, "national_register_number",
                                   "already known (in the database or earlier in the file)"))
            continue
        known.add(str(value["nrn_hash"]))
        values.append(value)
        if progress and index % 5000 == 0:
            progress(index, len(rows))
    if errors:
        raise ImportRejected(errors)
    for start in range(0, len(values), 5000):
        uow.session.execute(insert(Collaborator), values[start:start + 5000])
    uow.audit("collaborators.imported", "file", None, actor="operator", rows=len(values),
              file=path.name)
    return len(values)


def _column_of(code: str) -> str:
    return {"invalid_nrn": "national_register_number", "name_needed": "surname",
            "unknown_language": "language", "invalid_email": "email"}.get(code, "-")


@dataclass(frozen=True)
class Found:
    collaborator: Collaborator
    candidate: matching.Candidate

    @property
    def score(self) -> float:
        return self.candidate.score


def search(uow: UnitOfWork, query: str, organisation_ids: Iterable[int], limit: int = 5,
           min_score: float = matching.MIN_SCORE) -> list[Found]:
    """Ranked people; a new process starts from the index cached under ITMA_HOME when the
    collaborators have not changed since it was written (core/matching/cache.py)."""
    settings = uow.app.settings
    candidates = uow.app.collaborators.search(
        uow.session, list(organisation_ids), query, limit, min_score,
        cache=index_cache.path_for(settings.home, settings.database_url))
    people = {c.id: c for c in uow.session.scalars(
        select(Collaborator).where(Collaborator.id.in_([c.id for c in candidates])))}
    return [Found(people[c.id], c) for c in candidates]
