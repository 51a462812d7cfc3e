"""The bench world: the demo seeded in a temporary database (SQLite, or a PostgreSQL database
given by URL), N pending requests, N reply mails.

The demo officer (Sophie Lambert) is the only officer of BOSA, so every request submitted for
BOSA gives exactly one reply token, hers. Half the requests (by default) ask for a session of a
bench training whose sessions are large enough that nothing is ever full or waitlisted; the
others ask for the mailing list. Every requester is a new person with a fresh NRN.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from core import clock, migrate, nrn
from core.app import App
from core.config import load_settings
from core.demo import seed
from core.models import (
    Collaborator,
    OutboxMessage,
    RegistrationRequest,
    ReplyToken,
    RequestState,
    Training,
    TrainingSession,
)
from core.services import requests

SECRET_KEY = "bench-mail-secret-key-0123456789"
ORGANISATION = "BOSA"
TRAINING = "BENCH-101"
SESSIONS = 8
PREFIX = "bench-mail-"


@dataclass(frozen=True)
class Reply:
    sender: str
    recipient: str
    raw: bytes


def make_app(home: Path, url: str | None = None) -> App:
    """A migrated app on `url`, or on a new SQLite file in `home`."""
    settings = load_settings({"ITMA_HOME": str(home),
                              "ITMA_DATABASE_URL": url or f"sqlite:///{home / 'itma.db'}",
                              "ITMA_SECRET_KEY": SECRET_KEY})
    app = App(settings)
    migrate.upgrade(app.db)
    return app


def _bench_sessions(app: App, seats: int) -> list[str]:
    """One catalogue training for everybody, SESSIONS future sessions of `seats` seats each."""
    today = clock.today()
    with app.unit_of_work() as uow:
        training = Training(code=TRAINING, titles={"fr": "Banc d'essai", "nl": "Proefbank",
                                                   "en": "Bench", "de": "Prüfstand"})
        uow.session.add(training)
        starts = [today + timedelta(days=30 + 7 * i) for i in range(SESSIONS)]
        uow.session.add_all(TrainingSession(training=training, starts_on=day, ends_on=day,
                                            place="Bruxelles", capacity=seats) for day in starts)
    return [day.isoformat() for day in starts]


def _fresh_numbers(app: App, count: int, rng: random.Random) -> list[str]:
    with app.unit_of_work(readonly=True) as uow:
        taken = set(uow.session.scalars(select(Collaborator.nrn_hash)))
    numbers: list[str] = []
    seen: set[str] = set()
    while len(numbers) < count:
        number = nrn.generate(rng)
        digits = nrn.parse(number).digits
        if digits in seen or app.vault.lookup_hash(nrn.parse(number)) in taken:
            continue
        seen.add(digits)
        numbers.append(number)
    return numbers


def build(app: App, count: int, session_share: float, rng_seed: int = 2026
          ) -> dict[str, Any]:
    """Seed the demo, submit `count` requests for BOSA; returns the world's description."""
    seed.seed(app)
    rng = random.Random(rng_seed)
    with_session = round(count * session_share)
    starts = _bench_sessions(app, seats=with_session // SESSIONS + 10)
    numbers = iter(_fresh_numbers(app, with_session, rng))
    ids: list[int] = []
    kinds: list[str] = []
    placed = 0
    batch = 250
    for first in range(0, count, batch):
        with app.unit_of_work() as uow:
            for index in range(first, min(count, first + batch)):
                # spread the session requests evenly over the requests and over the sessions
                session = (index * with_session) // count != ((index + 1) * with_session) // count
                wants: dict[str, Any] = {"kind": "mailing_list"}
                if session:
                    wants = {"kind": "session", "training_code": TRAINING,
                             "session_start": starts[placed % SESSIONS]}
                    placed += 1
                language = ("fr", "nl")[index % 2]
                request, created = requests.submit(uow, {
                    "external_id": f"{PREFIX}{index:06d}", "wants": wants,
                    "person": {"surname": f"Banc{index:06d}", "given_names": "Test",
                               "language": language, "organisation": ORGANISATION,
                               "email": f"banc{index:06d}@example.be",
                               "national_register_number":
                                   next(numbers) if session else None}})
                assert created
                ids.append(request.id)
                kinds.append(wants["kind"])
    return {"requests": count, "session_requests": with_session,
            "mailing_list_requests": count - with_session, "sessions": SESSIONS,
            "training": TRAINING, "officer": seed.DEMO_OFFICER, "request_ids": ids,
            "kinds": kinds}


def tokens(app: App, email: str, request_ids: list[int]) -> list[str]:
    """The officer's reply token for each request, in the order of request_ids."""
    with app.unit_of_work(readonly=True) as uow:  # only its hash is in reply_tokens
        by_request = {m.context["request_id"]: m.context["reply_token"]
                      for m in uow.session.scalars(select(OutboxMessage).where(
                          OutboxMessage.to_address == email,
                          OutboxMessage.template == "request_new"))}
    return [by_request[i] for i in request_ids]


def reply(app: App, token: str, sender: str, name: str, serial: int, body: str = "OK") -> Reply:
    """An officer's answer as mail clients write it: quoted original, thread headers."""
    domain = app.settings.mail_domain
    recipient = f"reply+{token}@{domain}"
    mail = EmailMessage()
    mail["From"] = f"{name} <{sender}>"
    mail["To"] = recipient
    mail["Subject"] = "RE: Nouvelle inscription : Banc Test (BOSA)"
    mail["Message-ID"] = f"<bench-{serial:06d}.{token[:8]}@bosa.example>"
    mail["In-Reply-To"] = f"<{'0' * 16}.{token}@{domain}>"
    mail.set_content(body + "\n\n-----Message d'origine-----\nDe : ITMA\n> OK / REFUSER\n")
    return Reply(sender, recipient, mail.as_bytes())


def verify(app: App, request_ids: list[int]) -> dict[str, Any]:
    """What the replies left in the database: decisions, used tokens, queued notifications."""
    with app.unit_of_work(readonly=True) as uow:
        states = dict(uow.session.execute(
            select(RegistrationRequest.state, func.count())
            .where(RegistrationRequest.id.in_(request_ids))
            .group_by(RegistrationRequest.state)).tuples().all())
        used = uow.session.scalar(select(func.count()).select_from(ReplyToken).where(
            ReplyToken.request_id.in_(request_ids), ReplyToken.used_at.is_not(None)))
        outbox = dict(uow.session.execute(
            select(OutboxMessage.template, func.count())
            .group_by(OutboxMessage.template)).tuples().all())
    return {"requests": {str(state): n for state, n in states.items()},
            "approved": states.get(RequestState.APPROVED, 0), "tokens_used": used,
            "outbox": outbox}
