"""Entry point: argparse wiring; each command's body lives in a small module beside this one."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from cli import (
    access,
    card,
    commands,
    demo,
    helpdesk,
    jobs,
    officers,
    organisations,
    pdata,
    reports,
    serve,
    teams,
)
from cli.runtime import private_files, run


def lazy(target: str) -> Callable[[argparse.Namespace], int]:
    """A command body named "module:function", imported only when that command runs."""
    def call(args: argparse.Namespace) -> int:
        module, name = target.split(":")
        return getattr(importlib.import_module(module), name)(args)  # type: ignore[no-any-return]
    return call


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="itma-assistant",
        description="Enroll colleagues in federal trainings from chat, console and e-mail.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, parent=sub):  # type: ignore[no-untyped-def]
        return parent.add_parser(name, help=help_text, description=help_text)

    def group(name: str, help_text: str) -> argparse._SubParsersAction:
        return command(name, help_text).add_subparsers(dest="action", required=True,
                                                       metavar="ACTION")

    p = command("serve", "run every configured front end and worker")
    p.set_defaults(func=serve.serve)

    p = command("demo", "fresh demo database and the console chat as the demo officer")
    p.add_argument("--seed-only", action="store_true", help="seed ITMA_DATABASE_URL and exit")
    p.add_argument("--json", action="store_true", help="print the seeded officers and sessions")
    p.set_defaults(func=demo.demo)

    p = command("chat", "interactive console chat as an officer")
    p.add_argument("--as", dest="email", required=True, metavar="EMAIL")
    p.set_defaults(func=commands.chat)

    p = command("say", "one message to the assistant, one reply")
    p.add_argument("--as", dest="email", required=True, metavar="EMAIL")
    p.add_argument("--json", action="store_true")
    p.add_argument("--file", metavar="PATH", action="append",
                   help="send this file (a P-data update), as if dropped into the chat")
    p.add_argument("text", nargs="*")
    p.set_defaults(func=commands.say)

    db = group("db", "database schema")
    command("upgrade", "apply migrations", db).set_defaults(func=commands.db_upgrade)
    p = command("backup", "copy the database while it runs (SQLite; PostgreSQL: the pg_dump "
                "line to run)", db)
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=lazy("cli.backup:db_backup"))
    p = command("restore", "replace the database by a backup (SQLite; PostgreSQL: the "
                "pg_restore line to run); stop every instance first", db)
    p.add_argument("--yes", action="store_true", help="every instance is stopped: go ahead")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=lazy("cli.backup:db_restore"))

    command("doctor", "check the configuration without starting anything: settings, "
            "database, mail, chat, eID").set_defaults(func=lazy("cli.doctor:doctor"))

    sessions = group("sessions", "planned sessions")
    p = command("list", "planned sessions with capacity and free seats", sessions)
    p.add_argument("--training", metavar="CODE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.sessions_list)

    imports = group("import", "bulk loads from CSV")
    for what in ("catalog", "collaborators"):
        p = command(what, f"load {what} from a CSV file", imports)
        p.add_argument("file")
        p.set_defaults(func=getattr(commands, f"import_{what}"))
    p = command("pdata", "validate and apply a personnel data update", imports)
    p.add_argument("--org", required=True)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--errors", metavar="FILE", help="also write every error to this CSV file")
    p.add_argument("file")
    p.set_defaults(func=pdata.import_pdata)
    reports.register(group("reports", "exports as CSV or XLSX (formula-injection safe)"),
                     command)

    officers_group = group("officers", "training officers and their access")
    officers.register(officers_group, command)
    access.register(officers_group, command)
    jobs.register(group("jobs", "the daily jobs (serve runs them on one instance)"), command)
    organisations.register(group("organisations", "organisations and their channels"), command)
    teams.register(group("teams", "Microsoft Teams: the app package and channels"), command)

    collaborators = group("collaborators", "P-data")
    p = command("search", "ranked fuzzy surname search", collaborators)
    p.add_argument("--org", metavar="CODE")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.add_argument("query", nargs="+")
    p.set_defaults(func=commands.collaborators_search)

    requests = group("requests", "the 'Nouvelle inscription' queue")
    p = command("submit", "submit a registration request from a JSON file", requests)
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.requests_submit)
    p = command("list", "list requests", requests)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.requests_list)
    p = command("show", "show one request", requests)
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.requests_show)

    outbox = group("outbox", "notifications waiting or sent")
    p = command("list", "pending and sent notifications", outbox)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.outbox_list)
    command("flush", "deliver pending mail once", outbox).set_defaults(
        func=commands.outbox_flush)

    mail = group("mail", "reply-by-e-mail")
    p = command("process", "treat one RFC 5322 message as received", mail)
    p.add_argument("file", nargs="?")
    p.set_defaults(func=commands.mail_process)

    helpdesk.register(group("helpdesk", "the helpdesk mailbox: tickets, routes, answers"),
                      command)

    link = group("link", "eID account linking")
    p = command("url", "print the one-time link URL for a chat user", link)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--slack", metavar="TEAM:USER")
    target.add_argument("--teams", metavar="TENANT:OBJECTID")
    p.set_defaults(func=commands.link_url)
    card.register(link, command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    private_files()
    return run(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
