"""Command bodies: parse nothing, decide nothing; call core and print.

Each body imports what it uses: `mail process`, run by the MTA for every mail, loads neither
the conversation engine nor the console, and no command pays for another's modules.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cli.runtime import CommandError, make_app, operator_language, print_json
from core import i18n
from core.config import ConfigError

if TYPE_CHECKING:
    from core.app import UnitOfWork
    from core.conversation import Engine
    from core.models import Officer, OutboxMessage


def db_upgrade(_args: argparse.Namespace) -> int:
    from core import migrate  # Alembic is only needed here

    app = make_app(check_schema=False)
    migrate.upgrade(app.db)
    print(f"database schema up to date ({app.db.engine.url.render_as_string(hide_password=True)})")
    return 0


def welcome(app_engine: Engine, email: str) -> str:
    """The one screen a new user sees: who they are and what to type, with real examples."""
    from core.services.access import officer_by_email

    with app_engine.app.unit_of_work(readonly=True) as uow:
        officer = officer_by_email(uow, email)
        surname, code = welcome_examples(uow, officer)
        return i18n.t(officer.language.value, "console.welcome", name=officer.display_name,
                      organisations=", ".join(o.code for o in officer.organisations),
                      surname=surname, code=code, maildir=app_engine.app.settings.maildir)


def welcome_examples(uow: UnitOfWork, officer: Officer) -> tuple[str, str]:
    """A surname worn by one person of the officer's organisations, and a code with seats."""
    from sqlalchemy import func, select

    from core.models import Collaborator
    from core.services import catalog

    ids = [o.id for o in officer.organisations]
    surname = uow.session.scalar(
        select(Collaborator.surname).where(Collaborator.organisation_id.in_(ids))
        .group_by(Collaborator.surname).having(func.count() == 1)
        .order_by(Collaborator.surname).limit(1).offset(7)) or "Dupont"
    code = next((v.training for v in catalog.upcoming_sessions(uow, officer=officer)
                 if v.free > 0), "BOSA-101")
    return surname, code


def chat(args: argparse.Namespace) -> int:
    from bot import console
    from core.conversation import Engine

    app = make_app()
    engine = Engine(app)
    engine.warm_up()
    console.chat(engine, args.email, welcome(engine, args.email),
                 exports=app.settings.home / "exports")
    return 0


def say(args: argparse.Namespace) -> int:
    if not args.text and not args.file:
        raise CommandError("say: give a TEXT, or a file with --file PATH")
    from bot import console
    from core.conversation import Engine

    app = make_app()
    print(console.say(Engine(app), args.email, " ".join(args.text) or None, as_json=args.json,
                      files=args.file or (), exports=app.settings.home / "exports"))
    return 0


def sessions_list(args: argparse.Namespace) -> int:
    from core.services import catalog

    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        training = catalog.training_by_code(uow, args.training) if args.training else None
        views = catalog.upcoming_sessions(uow, training)
    if args.json:
        print_json([v.as_json() for v in views])
        return 0
    language = operator_language()
    for v in views:
        title = v.titles.get(language) or v.titles.get("fr") or ""
        day = i18n.day(language, v.starts_on)
        print(f"{v.id:>5}  {v.training:<9} {day}  {v.free:>3}/{v.capacity:<3} "
              f"free  {v.waitlisted:>2} waiting  {v.place:<32} {title}")
    if not views:
        print("no planned session")
    return 0


def import_catalog(args: argparse.Namespace) -> int:
    from core.services import catalog

    app = make_app()
    with app.unit_of_work() as uow:
        trainings, sessions = catalog.import_catalog(uow, Path(args.file))
    print(f"imported {trainings} trainings, {sessions} new sessions")
    return 0


def import_collaborators(args: argparse.Namespace) -> int:
    from core.services import collaborators

    app = make_app()

    def progress(done: int, total: int) -> None:
        print(f"\r  checked {done}/{total} rows", end="", file=sys.stderr, flush=True)

    with app.unit_of_work() as uow:
        count = collaborators.import_collaborators(uow, Path(args.file), progress)
    print(("\r" if count >= 5000 else "") + f"imported {count} collaborators")
    return 0


def collaborators_search(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from core.models import Organisation
    from core.services import collaborators
    from core.services.access import organisation_by_code

    app = make_app()
    query = " ".join(args.query)
    with app.unit_of_work(readonly=True) as uow:
        ids = ([organisation_by_code(uow, args.org).id] if args.org
               else list(uow.session.scalars(select(Organisation.id))))
        found = collaborators.search(uow, query, ids, limit=max(1, args.limit))
        rows = [{"id": f.collaborator.id, "surname": f.collaborator.surname,
                 "given_names": f.collaborator.given_names,
                 "organisation": f.collaborator.organisation.code,
                 "department": f.collaborator.department,
                 "birth_year": f.collaborator.birth_year,
                 "nrn": f.collaborator.nrn_masked, "score": round(f.score, 1)} for f in found]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['score']:>5}  {row['surname']} {row['given_names']}  "
                  f"({row['organisation']}, {row['department']}, {row['birth_year']}, "
                  f"{row['nrn']})  #{row['id']}")
        if not rows:
            print(f"no one matches {query!r}")
    return 0


def requests_submit(args: argparse.Namespace) -> int:
    try:
        payload = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise CommandError(f"{args.file} is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise CommandError(f"{args.file}: expected a JSON object")
    from core.services import requests

    app = make_app()
    with app.unit_of_work() as uow:
        request, created = requests.submit(uow, payload)
        request_id = request.id
    if args.json:
        print_json({"id": request_id, "created": created})
    else:
        print(f"request #{request_id} " + ("stored, pending" if created else "already known"))
    return 0


def requests_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from core.models import RegistrationRequest
    from core.services import requests

    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = [requests.as_json(r) for r in uow.session.scalars(
            select(RegistrationRequest).order_by(RegistrationRequest.id))]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            person = r["person"]
            print(f"#{r['id']:<4} {r['state']:<8} {r['organisation']:<5} {person['surname']} "
                  f"{person['given_names']} <{person.get('email')}> {r['wants']}")
    return 0


def requests_show(args: argparse.Namespace) -> int:
    from core.services import requests

    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        row = requests.as_json(requests.get(uow, args.id))
    print_json(row) if args.json else print(json.dumps(row, indent=2, ensure_ascii=False))
    return 0


def outbox_list(args: argparse.Namespace) -> int:
    """Pending and sent notifications; the reply token in a Message-ID is a secret, redacted."""
    from sqlalchemy import select

    from core.models import OutboxMessage
    from core.services.reply_tokens import redact

    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = [{"id": m.id, "state": str(m.state), "to": m.to_address, "subject": _subject(m),
                 "template": m.template, "message_id": redact(m.message_id),
                 "created_at": m.created_at.isoformat(),
                 "sent_at": m.sent_at.isoformat() if m.sent_at else None}
                for m in uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"#{r['id']:<5} {r['state']:<8} {r['to']:<40} {r['subject']}")
        if not rows:
            print("outbox empty")
    return 0


def _subject(message: OutboxMessage) -> str:
    """What the recipient reads first, worded now as the sender will word it."""
    from core import phrases
    from mail_gateway import render

    language, context = message.language.value, dict(message.context)
    try:
        if message.channel == "mail":
            return render.subject(message.template, language, context)
        return phrases.notification(language, message.template, context)
    except (KeyError, ValueError, IndexError):
        return f"({message.template})"


def outbox_flush(_args: argparse.Namespace) -> int:
    """The mail that is due, once (chat rows are posted by `serve`, which holds the clients)."""
    from mail_gateway import delivery

    app = make_app()
    sender = delivery.MailSender(app.settings)
    sent, failed = delivery.flush(app, sender.deliverer)
    print(f"{sent} mail(s) delivered to {sender.deliverer.target}"
          + (f", {failed} failed or deferred (see `outbox list`)" if failed else ""))
    return 0


def mail_process(args: argparse.Namespace) -> int:
    """One message as received (an MTA pipe): exit 0 when handled or deliberately ignored."""
    from core import metrics
    from core.db import DatabaseError
    from mail_gateway.inbound import process

    if args.file:
        try:
            raw = Path(args.file).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {args.file}: {exc.strerror}") from exc
    else:
        raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise CommandError("no message on standard input", code=65)
    try:
        app = make_app()
    except (ConfigError, DatabaseError) as exc:  # fixable: keep the mail queued at the MTA
        raise CommandError(f"{exc}; the MTA should retry", code=EX_TEMPFAIL) from exc
    metrics.enable(app.settings.home, short_lived=True)  # counted with serve's on /metrics
    try:
        outcome = process(app, raw, via="pipe")
    except Exception as exc:  # the MTA keeps the message and retries on EX_TEMPFAIL
        logging.getLogger("itma").exception("mail process failed")
        raise CommandError(f"temporary failure, the MTA should retry: {exc}",
                           code=EX_TEMPFAIL) from exc
    print(outcome.reason + (f": {outcome.detail}" if outcome.detail else ""))
    return 0


EX_TEMPFAIL = 75


def link_url(args: argparse.Namespace) -> int:
    """The one-time URL the chat `link` command would give that chat user."""
    from cli.officers import chat_account
    from core.services import links

    platform, workspace, user = chat_account(args)
    app = make_app()
    with app.unit_of_work() as uow:
        print(links.issue(uow, platform, workspace, user))
    return 0
