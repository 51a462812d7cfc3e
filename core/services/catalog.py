"""Trainings and their sessions: lookup by code, seats, and the overview of what is planned."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core import clock
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import (
    SEAT_HOLDING,
    Enrollment,
    EnrollmentState,
    Officer,
    Organisation,
    Training,
    TrainingKind,
    TrainingSession,
)
from core.services.access import can_see, can_see_training
from core.services.csvfile import ImportRejected, RowError, read_csv, require_columns

CODE_PATTERN = re.compile(r"\b([A-Za-z]{2,6})[- _]?(\d{2,4})\b")


def normalise_code(text: str) -> str | None:
    match = CODE_PATTERN.fullmatch(text.strip())
    return f"{match.group(1).upper()}-{match.group(2)}" if match else None


@dataclass(frozen=True)
class SessionView:
    id: int
    training: str
    titles: dict[str, str]
    starts_on: date
    ends_on: date
    place: str
    capacity: int
    enrolled: int
    held: int
    waitlisted: int
    lapsed: int = 0

    @property
    def free(self) -> int:
        return free_seats(self.capacity, self.enrolled + self.held, self.lapsed, self.waitlisted)

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "training": self.training, "start": self.starts_on.isoformat(),
                "end": self.ends_on.isoformat(), "place": self.place, "capacity": self.capacity,
                "free": self.free, "enrolled": self.enrolled, "waitlisted": self.waitlisted}


def free_seats(capacity: int, holding: int, lapsed: int = 0, waitlisted: int = 0) -> int:
    """The one seat rule, for listings and for enrolling alike: live holds take a seat, and a
    lapsed option or offer frees its seat for the waiting list before anyone else."""
    return max(capacity - holding - min(lapsed, waitlisted), 0)


def _live_hold() -> ColumnElement[bool]:
    """A seat-holding enrollment whose hold has not expired (capacity counts it)."""
    return and_(Enrollment.state.in_(SEAT_HOLDING),
                or_(Enrollment.hold_expires_at.is_(None), Enrollment.hold_expires_at > clock.now()))


def seat_counts(session: Session, session_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    ids = list(session_ids)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"enrolled": 0, "held": 0,
                                                             "waitlisted": 0, "lapsed": 0})
    if not ids:
        return counts
    live = _live_hold()
    rows = session.execute(
        select(Enrollment.session_id, Enrollment.state, live, func.count())
        .where(Enrollment.session_id.in_(ids),
               Enrollment.state.in_((*SEAT_HOLDING, EnrollmentState.WAITLISTED)))
        .group_by(Enrollment.session_id, Enrollment.state, live))
    for session_id, state, is_live, count in rows:
        if state == EnrollmentState.WAITLISTED:
            key = "waitlisted"
        elif not is_live:
            key = "lapsed"
        else:
            key = "enrolled" if state == EnrollmentState.ENROLLED else "held"
        counts[session_id][key] += count
    return counts


def views(session: Session, sessions: list[TrainingSession]) -> list[SessionView]:
    counts = seat_counts(session, (s.id for s in sessions))
    return [SessionView(id=s.id, training=s.training.code, titles=dict(s.training.titles),
                        starts_on=s.starts_on, ends_on=s.ends_on, place=s.place,
                        capacity=s.capacity, **counts[s.id]) for s in sessions]


def training_by_code(uow: UnitOfWork, code: str, officer: Officer | None = None) -> Training:
    normalised = normalise_code(code)
    training = (uow.session.scalar(select(Training).where(Training.code == normalised))
                if normalised else None)
    if training is None or not can_see_training(officer, training):
        suggestions = similar_codes(uow, code, officer)
        if suggestions:
            raise DomainError("unknown_training_suggest", code=code, suggestions=suggestions)
        raise DomainError("unknown_training", code=code)
    return training


def similar_codes(uow: UnitOfWork, code: str, officer: Officer | None, limit: int = 3) -> str:
    trainings = [t for t in uow.session.scalars(select(Training)) if can_see_training(officer, t)]
    from rapidfuzz import fuzz, process  # only for a code that is not known: on use

    found = process.extract(code.upper(), [t.code for t in trainings], scorer=fuzz.ratio,
                            limit=limit, score_cutoff=60)
    return ", ".join(match for match, _score, _index in found)


def upcoming_sessions(uow: UnitOfWork, training: Training | None = None,
                      officer: Officer | None = None, *, include_past: bool = False,
                      limit: int | None = None) -> list[SessionView]:
    # Rows, not ORM objects: every chat listing (formations, places, which session?) reads
    # them, and loading a hundred sessions with their trainings and owners as objects cost
    # most of a turn's CPU.
    conditions = [TrainingSession.cancelled.is_(False)]
    if not include_past:
        conditions.append(TrainingSession.starts_on >= clock.today())
    if training is not None:
        conditions.append(TrainingSession.training_id == training.id)
    query = (select(TrainingSession.id, Training.code, Training.titles, Training.kind,
                    Training.owner_organisation_id, TrainingSession.starts_on,
                    TrainingSession.ends_on, TrainingSession.place, TrainingSession.capacity)
             .join(TrainingSession.training).where(*conditions)
             .order_by(TrainingSession.starts_on, Training.code))
    found = [row for row in uow.session.execute(query)
             if can_see(officer, row.kind, row.owner_organisation_id)]
    found = found[:limit] if limit else found
    counts = seat_counts(uow.session, (row.id for row in found))
    return [SessionView(id=row.id, training=row.code, titles=dict(row.titles),
                        starts_on=row.starts_on, ends_on=row.ends_on, place=row.place,
                        capacity=row.capacity, **counts[row.id]) for row in found]


def session_view(uow: UnitOfWork, session_id: int) -> SessionView:
    found = uow.session.get(TrainingSession, session_id)
    if found is None:
        raise DomainError("unknown_session", id=session_id)
    return views(uow.session, [found])[0]


CATALOG_COLUMNS = ("code", "title_fr", "title_nl", "title_en", "kind", "organisation",
                   "session_start", "session_end", "place", "capacity")


def import_catalog(uow: UnitOfWork, path: Path) -> tuple[int, int]:
    """Trainings upserted by code, sessions added once; any error → nothing applied."""
    header, rows = read_csv(path)
    require_columns(header, CATALOG_COLUMNS)
    organisations = {o.code: o for o in uow.session.scalars(select(Organisation))}
    trainings = {t.code: t for t in uow.session.scalars(select(Training))}
    errors: list[RowError] = []
    parsed = []
    for line, row in rows:
        problem = _catalog_row_error(row, organisations)
        if problem:
            errors.append(RowError(line, *problem))
        else:
            parsed.append(row)
    if errors:
        raise ImportRejected(errors)
    new_sessions = 0
    for row in parsed:
        code = normalise_code(row["code"]) or row["code"]
        training = trainings.get(code)
        if training is None:
            training = trainings[code] = Training(code=code)
            uow.session.add(training)
        training.titles = {lang: row[f"title_{lang}"] for lang in ("fr", "nl", "en", "de")
                           if row.get(f"title_{lang}")}
        training.kind = TrainingKind(row["kind"])
        training.owner = organisations.get(row["organisation"].upper())
        uow.session.flush()
        start = date.fromisoformat(row["session_start"])
        exists = uow.session.scalar(select(TrainingSession.id).where(
            TrainingSession.training_id == training.id, TrainingSession.starts_on == start,
            TrainingSession.place == row["place"]))
        if exists is None:
            uow.session.add(TrainingSession(
                training=training, starts_on=start,
                ends_on=date.fromisoformat(row["session_end"] or row["session_start"]),
                place=row["place"], capacity=int(row["capacity"])))
            new_sessions += 1
    uow.audit("catalog.imported", "file", None, actor="operator", trainings=len(trainings),
              sessions=new_sessions, file=path.name)
    return len({normalise_code(r["code"]) for r in parsed}), new_sessions


def _catalog_row_error(row: dict[str, str],
                       organisations: dict[str, Organisation]) -> tuple[str, str] | None:
    if not normalise_code(row["code"]):
        return "code", f"not a training code like BOSA-101: {row['code']!r}"
    if not row["title_fr"] and not row["title_nl"] and not row["title_en"]:
        return "title_fr", "at least one title is needed"
    if row["kind"] not in {k.value for k in TrainingKind}:
        return "kind", "expected catalogue, on_demand or certification"
    owner = row["organisation"].upper()
    if row["kind"] == TrainingKind.ON_DEMAND and not owner:
        return "organisation", "an on-demand training needs its owner organisation"
    if owner and owner not in organisations:
        return "organisation", f"unknown organisation {owner!r}"
    for column in ("session_start", "session_end"):
        try:
            if row[column] or column == "session_start":
                date.fromisoformat(row[column])
        except ValueError:
            return column, f"not an ISO date (YYYY-MM-DD): {row[column]!r}"
    if row["session_end"] and row["session_end"] < row["session_start"]:
        return "session_end", "ends before it starts"
    if not row["place"]:
        return "place", "empty"
    if not row["capacity"].isdigit() or int(row["capacity"]) < 1:
        return "capacity", f"not a positive number: {row['capacity']!r}"
    return None
