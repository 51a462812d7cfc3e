"""`helpdesk process|list|show|route|routes|reply|take|close`: the helpdesk mailbox's tickets."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.runtime import CommandError, make_app, operator_language, print_json
from core import i18n, metrics
from core.app import App
from core.config import ConfigError
from core.db import DatabaseError
from core.services import helpdesk
from core.services.access import officer_by_email

if TYPE_CHECKING:
    from mail_gateway.inbound import Outcome

EX_DATAERR = 65
EX_TEMPFAIL = 75


def register(sub: argparse._SubParsersAction, command: Any) -> None:
    p = command("process", "treat one RFC 5322 message as received at the helpdesk address",
                sub)
    p.add_argument("file", nargs="?")
    p.add_argument("--maildir", metavar="DIR",
                   help="instead: every message in DIR/new, oldest first, moved to DIR/cur")
    p.set_defaults(func=process)
    p = command("list", "triaged tickets", sub)
    p.add_argument("--open", action="store_true", help="only the tickets not closed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_tickets)
    p = command("show", "one ticket: thread, context, draft", sub)
    p.add_argument("number", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=show)
    p = command("route", "post a category's new tickets to a chat channel", sub)
    p.add_argument("category", choices=helpdesk.ROUTE_CATEGORIES)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--slack", metavar="TEAM:CHANNEL")
    target.add_argument("--teams", metavar="TENANT:CONVERSATION")
    p.add_argument("--language", default="fr", choices=i18n.LANGUAGES)
    p.add_argument("--remove", action="store_true")
    p.set_defaults(func=route)
    p = command("routes", "where each category's new tickets are posted", sub)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_routes)
    p = command("reply", "mail an answer (or the draft) to a ticket's sender, as staff", sub)
    p.add_argument("number", type=int)
    p.add_argument("--as", dest="email", required=True, metavar="EMAIL")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--draft", action="store_true", help="send the ticket's draft")
    what.add_argument("--text", help="the answer")
    p.set_defaults(func=reply)
    for name, help_text in (("take", "take a ticket"), ("close", "close a ticket")):
        p = command(name, help_text, sub)
        p.add_argument("number", type=int)
        p.add_argument("--as", dest="email", required=True, metavar="EMAIL")
        p.set_defaults(func=take if name == "take" else close)


def process(args: argparse.Namespace) -> int:
    """One message as received at the helpdesk address (an MTA pipe): exit 0 when handled or
    deliberately ignored, 65 on empty input, 75 when it may heal (the MTA retries)."""
    from mail_gateway import helpdesk as gateway

    if args.maildir:
        app = make_app()
        for name, outcome in feed_maildir(app, Path(args.maildir)):
            print(f"{name}: {outcome.reason}" + (f": {outcome.detail}" if outcome.detail else ""))
        return 0
    if args.file:
        try:
            raw = Path(args.file).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {args.file}: {exc.strerror}") from exc
    else:
        raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise CommandError("no message on standard input", code=EX_DATAERR)
    try:
        app = make_app()
    except (ConfigError, DatabaseError) as exc:
        raise CommandError(f"{exc}; the MTA should retry", code=EX_TEMPFAIL) from exc
    metrics.enable(app.settings.home, short_lived=True)  # counted with serve's on /metrics
    try:
        outcome = gateway.process(app, raw, via="pipe")
    except Exception as exc:  # logged without messages: they may quote the mail
        logging.getLogger("itma").error("helpdesk process failed:\n%s", gateway.trace(exc))
        raise CommandError(f"temporary failure ({type(exc).__name__}), the MTA should retry",
                           code=EX_TEMPFAIL) from exc
    finally:
        app.close()
    print(outcome.reason + (f": {outcome.detail}" if outcome.detail else ""))
    return 0


def list_tickets(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        found = helpdesk.tickets(uow, helpdesk.OPEN_STATES if args.open else None)
        counts = helpdesk.message_counts(uow, [t.id for t in found])
        rows = [helpdesk.as_json(t, counts.get(t.id, 0)) for t in found]
    if args.json:
        print_json(rows)
        return 0
    language = operator_language()
    for r in rows:
        category = i18n.t(language, "helpdesk.category", r["category"])
        print(f"#{r['number']:<5} {r['state']:<9} {r['language']} {r['confidence']:.2f} "
              f"{category[:26]:<26} {r['messages']:>2}  {r['from'][:32]:<32} {r['subject'][:60]}")
    if not rows:
        print("no ticket")
    return 0


def show(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        item = helpdesk.thread(uow, args.number)
        if args.json:
            print_json(helpdesk.detail_json(item))
            return 0
        from core.conversation.context import Turn
        from core.conversation.flows.helpdesk import ticket_text

        turn = Turn(uow, item.ticket.assignee, operator_language(), "", "")  # type: ignore[arg-type]
        print("\n".join(ticket_text(turn, item)))
    return 0


def route(args: argparse.Namespace) -> int:
    platform, target = ("slack", args.slack) if args.slack else ("teams", args.teams)
    app = make_app()
    with app.unit_of_work() as uow:
        if args.remove:
            removed = helpdesk.remove_route(uow, args.category, platform, target)
            print(f"{args.category}: {platform} {target} "
                  f"{'removed' if removed else 'was not a route'}")
            return 0
        helpdesk.set_route(uow, args.category, platform, target, args.language)
    print(f"{args.category}: new tickets posted to {platform} {target} ({args.language})"
          + ("" if platform in app.channels else
             f" — note: {platform} is not configured here, nothing will be posted"))
    return 0


def list_routes(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = [{"category": r.category, "platform": r.platform, "target": r.target,
                 "language": r.language.value} for r in helpdesk.routes(uow)]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['category']:<14} {r['platform']:<6} {r['target']}  ({r['language']})")
        if not rows:
            print("no route: new tickets are posted nowhere (`helpdesk route CATEGORY …`)")
    return 0


def reply(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work() as uow:
        staff = officer_by_email(uow, args.email)
        message = helpdesk.answer(uow, staff, args.number, None if args.draft else args.text)
        print(f"ticket #{args.number}: answer queued to {message.address} "
              f"({message.message_id})")
    return 0


def take(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work() as uow:
        ticket = helpdesk.take(uow, officer_by_email(uow, args.email), args.number)
        print(f"ticket #{ticket.number}: taken by {args.email}")
    return 0


def close(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work() as uow:
        ticket = helpdesk.close(uow, officer_by_email(uow, args.email), args.number)
        print(f"ticket #{ticket.number}: closed")
    return 0



def feed_maildir(app: App, root: Path) -> list[tuple[str, Outcome]]:
    """Every message of a Maildir's new/, oldest first, through the helpdesk handler; each
    goes to cur/ (flagged seen) once handled, so a second run does not see it again."""
    from mail_gateway import helpdesk as gateway

    (root / "cur").mkdir(parents=True, exist_ok=True)
    done = []
    for path in sorted((root / "new").glob("*"), key=lambda p: (p.stat().st_mtime, p.name)):
        outcome = gateway.process(app, path.read_bytes(), via="maildir")
        path.rename(root / "cur" / f"{path.name}:2,S")
        done.append((path.name, outcome))
    return done


def seed_demo(app: App) -> tuple[Path, list[tuple[str, Outcome]]]:
    """`demo`: the helpdesk staff member, and the demo mailbox written as a Maildir under
    $ITMA_HOME/mail/helpdesk and triaged — no IMAP server needed."""
    from core.demo import helpdesk as demo_helpdesk

    demo_helpdesk.seed(app)
    root = app.settings.home / "mail" / "helpdesk"
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for old in (root / sub).glob("*"):
            old.unlink()
    for index, raw in enumerate(demo_helpdesk.mailbox(app), 1):
        path = root / "new" / f"{index:04d}.demo-helpdesk"
        path.write_bytes(raw)
        os.utime(path, (index, index))
    return root, feed_maildir(app, root)
