"""`reports collaborator|participants|overview … --format csv|xlsx --out FILE`: the officers'
reports as files, run by the operator (everyone, or one organisation with --org)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cli.runtime import CommandError, make_app, operator_language
from core import matching, nrn
from core.app import UnitOfWork
from core.models import Collaborator, Organisation
from core.services import catalog, collaborators, exports
from core.services.access import organisation_by_code


def register(reports: argparse._SubParsersAction, command: Callable[..., Any]) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--org", metavar="CODE", help="only this organisation's people")
        p.add_argument("--format", choices=exports.FORMATS,
                       help="csv or xlsx (default: from --out, else csv)")
        p.add_argument("--out", metavar="FILE", help="where to write (default: ./NAME)")
        p.add_argument("--language", choices=("fr", "nl", "en", "de"),
                       help="language of the headers (default: the operator's)")

    p = command("collaborator", "one person's options, enrollments, results, cancellations",
                reports)
    p.add_argument("who", nargs="+", metavar="ID|NRN|NAME")
    common(p)
    p.set_defaults(func=collaborator)
    p = command("participants", "who is enrolled in a session", reports)
    p.add_argument("session", metavar="SESSION_ID|CODE")
    p.add_argument("--date", type=date.fromisoformat, metavar="YYYY-MM-DD",
                   help="the session's start, when the training has several")
    common(p)
    p.set_defaults(func=participants)
    p = command("overview", "planned sessions with free seats", reports)
    p.add_argument("--from", dest="start", type=date.fromisoformat, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=date.fromisoformat, metavar="YYYY-MM-DD")
    common(p)
    p.set_defaults(func=overview)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = Path(args.out).suffix.lower().lstrip(".") if args.out else ""
    return suffix if suffix in exports.FORMATS else "csv"


def _write(args: argparse.Namespace, name: str, data: bytes) -> int:
    path = Path(args.out) if args.out else Path.cwd() / name
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
    print(path)
    return 0


def _organisation(uow: UnitOfWork, args: argparse.Namespace) -> Organisation | None:
    return organisation_by_code(uow, args.org) if args.org else None


def collaborator(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        organisation = _organisation(uow, args)
        person_id = _person(uow, " ".join(args.who), organisation)
        name, data = exports.collaborator_report(uow, None, person_id, _format(args),
                                                 language=args.language or operator_language())
    return _write(args, name, data)


def _person(uow: UnitOfWork, who: str, organisation: Organisation | None) -> int:
    """An id, a national register number, or a name the search finds one clear person for."""
    if who.isdigit() and len(who) < 11:
        found = uow.session.get(Collaborator, int(who))
    elif nrn.is_valid(who):
        found = collaborators.find_by_nrn(uow, nrn.normalise(who))
    else:
        ids = ([organisation.id] if organisation else
               list(uow.session.scalars(select(Organisation.id))))
        hits = collaborators.search(uow, who, ids, limit=5)
        exact = [h for h in hits if h.collaborator.display_name.casefold() == who.casefold()]
        if len(exact) == 1:
            hits = exact
        elif matching.clear_winner([h.candidate for h in hits]) is None and len(hits) > 1:
            raise CommandError("several people match; give the id: " + "; ".join(
                f"#{h.collaborator.id} {h.collaborator.display_name} "
                f"({h.collaborator.organisation.code}, {h.collaborator.birth_year}, "
                f"{h.collaborator.nrn_masked})" for h in hits))
        found = hits[0].collaborator if hits else None
    if found is None or (organisation is not None and found.organisation_id != organisation.id):
        raise CommandError(f"no collaborator {nrn.redact(who)!r}"
                           + (f" in {organisation.code}" if organisation else ""))
    return found.id


def participants(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        organisation = _organisation(uow, args)
        session_id = _session(uow, args.session, args.date)
        name, data = exports.participants(uow, None, session_id, _format(args),
                                          language=args.language or operator_language(),
                                          organisation=organisation)
    return _write(args, name, data)


def _session(uow: UnitOfWork, text: str, day: date | None) -> int:
    if text.isdigit():
        return int(text)
    training = catalog.training_by_code(uow, text)
    views = [v for v in catalog.upcoming_sessions(uow, training, include_past=day is not None)
             if day is None or v.starts_on == day]
    if len(views) == 1:
        return views[0].id
    if not views:
        raise CommandError(f"no planned session of {training.code}"
                           + (f" on {day.isoformat()}" if day else ""))
    raise CommandError(f"{training.code} has several sessions; give --date or the id: "
                       + "; ".join(f"#{v.id} {v.starts_on.isoformat()} {v.place}"
                                   for v in views))


def overview(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        organisation = _organisation(uow, args)
        name, data = exports.overview(uow, None, _format(args), args.start, args.end,
                                      organisation,
                                      language=args.language or operator_language())
    return _write(args, name, data)
