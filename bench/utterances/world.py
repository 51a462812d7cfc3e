"""The demo world the sentences are typed in, and what "one sentence, right answer" means.

A sentence is *fully specified* when its labels name everything the answer needs, in the
database of the demo seeded on BENCH_TODAY: each person labelled matches exactly one
collaborator of the officer's organisations (surname in full, given names as typed), the code
is a training the officer may see, and its date or month leaves exactly one session (or the
training has only one). Such a sentence must get, in one answer, the confirmation of exactly
that enrollment (or cancellation), or the listing or report asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import delete, select

from bench.utterances.corpus import OFFICERS, Utterance, bench_clock
from core import clock, migrate
from core.app import App, UnitOfWork
from core.config import load_settings
from core.conversation import Engine, Inbound, Reply
from core.demo import seed
from core.errors import DomainError
from core.matching.normalise import compact, words
from core.models import Collaborator, ConversationState, Officer
from core.services import catalog, enrollment
from core.services.access import officer_by_email

CHANNEL = "console"
SETTLED = timedelta(minutes=1)


@contextmanager
def demo_app() -> Iterator[App]:
    """The demo seeded in a throw-away SQLite database, on the bench's fixed day."""
    clock.set_clock(bench_clock)
    with TemporaryDirectory(prefix="itma-utterances-") as home:
        app = App(load_settings({"ITMA_HOME": home,
                                 "ITMA_DATABASE_URL": f"sqlite:///{Path(home) / 'itma.db'}",
                                 "ITMA_SECRET_KEY": "bench-utterances-0123456789"}))
        migrate.upgrade(app.db)
        seed.seed(app)
        clock.set_clock(lambda: bench_clock() + SETTLED)  # as if the seed were a minute old
        try:
            yield app
        finally:
            _people.clear()
            app.close()
            clock.set_clock(None)


@dataclass(frozen=True)
class Expected:
    intent: str
    people: frozenset[int] = frozenset()
    session_id: int | None = None
    enrollment_id: int | None = None
    code: str | None = None


def _matches(label: str, surname_text: str, given_names: str) -> bool:
    """The label names this person: the whole surname, and given names as far as typed."""
    typed = words(label)
    surname = compact(surname_text)
    given = words(given_names)
    for start in range(len(typed)):
        for end in range(start + 1, len(typed) + 1):
            if "".join(typed[start:end]) != surname:
                continue
            rest = typed[:start] + typed[end:]
            if all(any(g.startswith(r) for g in given) for r in rest):
                return True
    return False


_people: dict[str, list[tuple[int, str, str, set[str]]]] = {}


def _person(uow: UnitOfWork, officer: Officer, label: str) -> int | None:
    if officer.email not in _people:
        _people[officer.email] = [(i, s, g, set(k.split())) for i, s, g, k in uow.session.execute(
            select(Collaborator.id, Collaborator.surname, Collaborator.given_names,
                   Collaborator.search_key).where(
                Collaborator.organisation_id.in_([o.id for o in officer.organisations]),
                Collaborator.active.is_(True)))]
    first = set(words(label))
    found = [i for i, surname, given, keys in _people[officer.email]
             if first & keys and _matches(label, surname, given)]
    return found[0] if len(found) == 1 else None


def _session(uow: UnitOfWork, officer: Officer, code: str, when: str | None) -> int | None:
    try:
        training = catalog.training_by_code(uow, code, officer)
    except DomainError:
        return None
    views = catalog.upcoming_sessions(uow, training, officer)
    if when:
        if ".." in when:
            low, high = (date.fromisoformat(d) for d in when.split(".."))
        elif len(when) == 7:
            low = date.fromisoformat(when + "-01")
            high = date(low.year + low.month // 12, low.month % 12 + 1, 1)
            high = date.fromordinal(high.toordinal() - 1)
        else:
            low = high = date.fromisoformat(when)
        views = [v for v in views if low <= v.starts_on <= high
                 or (low == high and v.starts_on <= low <= v.ends_on)]
    return views[0].id if len(views) == 1 else None


def expected(app: App, utterance: Utterance) -> Expected | None:
    """What the one right answer is, or None when the sentence is not fully specified."""
    with app.unit_of_work(readonly=True) as uow:
        officer = officer_by_email(uow, OFFICERS[utterance.language])
        people = [_person(uow, officer, p) for p in utterance.persons]
        if any(p is None for p in people):
            return None
        ids = frozenset(p for p in people if p is not None)
        if utterance.intent == "enroll" and ids and utterance.code:
            session_id = _session(uow, officer, utterance.code, utterance.when)
            return Expected("enroll", ids, session_id) if session_id else None
        if utterance.intent == "unenroll" and len(ids) == 1:
            items = enrollment.active_enrollments(uow, next(iter(ids)))
            if utterance.code:
                items = [e for e in items if e.session.training.code == utterance.code]
            return Expected("unenroll", ids, enrollment_id=items[0].id) if len(
                items) == 1 else None
        if utterance.intent == "report" and len(ids) == 1:
            return Expected("report", ids)
        if utterance.intent == "seats" and utterance.code and not ids:
            try:
                catalog.training_by_code(uow, utterance.code, officer)
            except DomainError:
                return None
            return Expected("seats", code=utterance.code)
        if utterance.intent == "participants" and utterance.code and not ids:
            session_id = _session(uow, officer, utterance.code, utterance.when)
            return Expected("participants", session_id=session_id,
                            code=utterance.code) if session_id else None
    return None


def _reset(app: App, email: str) -> None:
    with app.unit_of_work() as uow:
        uow.session.execute(delete(ConversationState).where(
            ConversationState.channel == CHANNEL, ConversationState.user_ref == email))


def _state(app: App, email: str) -> dict[str, object]:
    with app.unit_of_work(readonly=True) as uow:
        state = uow.session.scalar(select(ConversationState).where(
            ConversationState.channel == CHANNEL, ConversationState.user_ref == email))
        return dict(state.data) if state is not None else {}


def _name_of(app: App, person_id: int) -> str:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.get_one(Collaborator, person_id).display_name


def answer(engine: Engine, utterance: Utterance) -> Reply:
    email = OFFICERS[utterance.language]
    _reset(engine.app, email)
    return engine.handle(Inbound(CHANNEL, email, text=utterance.text))


def right_in_one(engine: Engine, utterance: Utterance, want: Expected) -> tuple[bool, Reply]:
    """Does this sentence, alone, reach the right confirmation or answer?"""
    email = OFFICERS[utterance.language]
    reply = answer(engine, utterance)
    try:
        if want.intent in ("enroll", "unenroll"):
            if reply.actions != ["confirm", "cancel"]:
                return False, reply
            state = _state(engine.app, email)
            if want.intent == "enroll":
                chosen = frozenset(int(i) for i in state.get("chosen") or [])
                return (state.get("session_id") == want.session_id
                        and chosen == want.people), reply
            return state.get("enrollment_id") == want.enrollment_id, reply
        if not reply.done or reply.choices:
            return False, reply
        first_line = reply.text.splitlines()[0] if reply.text else ""
        if want.intent == "report":
            return _name_of(engine.app, next(iter(want.people))) in first_line, reply
        if want.intent == "participants":
            with engine.app.unit_of_work(readonly=True) as uow:
                view = catalog.session_view(uow, int(want.session_id or 0))
            day = view.starts_on.strftime("%d/%m/%Y")
            return first_line.startswith(f"{view.training} ") and day in first_line, reply
        return first_line.startswith(f"{want.code} "), reply
    finally:
        _reset(engine.app, email)
