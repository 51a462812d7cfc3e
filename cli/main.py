"""Entry point: argparse wiring only, and nothing heavy imported to do it.

Each command names its body as ``"module:function"`` (``set_defaults(func=...)``), imported by
:func:`main` once that command is the one to run; a group whose options are defined beside its
bodies (``cli/officers.py``…) is built only when it is the group named on the command line.
So ``--help``, a typo, or ``mail process`` piped by the MTA import no database layer, chat SDK
or date parser they do not use (tests/cli/test_startup.py holds that line).

To add a command: ``p = command("name", "help")``, its arguments, then
``p.set_defaults(func="cli.module:function")``; in a group, pass the group as ``parent``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any

Command = Callable[..., argparse.ArgumentParser]
Builder = Callable[[argparse._SubParsersAction, Command], None]


class _Subcommands(argparse._SubParsersAction):
    """Subparsers whose arguments may be added late: just before the one named is parsed.

    `--help` lists names and help lines only, so a group's modules are never imported for it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.builders: dict[str, Callable[[argparse.ArgumentParser], None]] = {}

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        build = self.builders.pop(values[0], None) if values else None
        if build is not None:
            build(self._name_parser_map[values[0]])
        super().__call__(parser, namespace, values, option_string)


def _builder(target: str) -> Builder:
    """``"cli.officers:register"`` → a builder importing that module only when called."""
    def build(sub: argparse._SubParsersAction, command: Command) -> None:
        resolve(target)(sub, command)
    return build


def resolve(target: Any) -> Any:
    """``"module:function"`` → the function (imported now); anything else as it is."""
    if not isinstance(target, str):
        return target
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="itma-assistant",
        description="Enroll colleagues in federal trainings from chat, console and e-mail.")
    parser.register("action", "parsers", _Subcommands)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, parent=sub):  # type: ignore[no-untyped-def]
        return parent.add_parser(name, help=help_text, description=help_text)

    def actions(p: argparse.ArgumentParser) -> argparse._SubParsersAction:
        return p.add_subparsers(dest="action", required=True, metavar="ACTION")

    def group(name: str, help_text: str) -> argparse._SubParsersAction:
        return actions(command(name, help_text))

    def late_group(name: str, help_text: str, *builders: Builder) -> None:
        """A group whose actions are defined in other modules: built when it is named."""
        def build(p: argparse.ArgumentParser) -> None:
            group_sub = actions(p)
            for builder in builders:
                builder(group_sub, command)
        command(name, help_text)
        sub.builders[name] = build

    p = command("serve", "run every configured front end and worker")
    p.set_defaults(func="cli.serve:serve")

    p = command("demo", "fresh demo database and the console chat as the demo officer")
    p.add_argument("--seed-only", action="store_true", help="seed ITMA_DATABASE_URL and exit")
    p.add_argument("--json", action="store_true", help="print the seeded officers and sessions")
    p.set_defaults(func="cli.demo:demo")

    p = command("chat", "interactive console chat as an officer")
    p.add_argument("--as", dest="email", required=True, metavar="EMAIL")
    p.set_defaults(func="cli.commands:chat")

    p = command("say", "one message to the assistant, one reply")
    p.add_argument("--as", dest="email", required=True, metavar="EMAIL")
    p.add_argument("--json", action="store_true")
    p.add_argument("--file", metavar="PATH", action="append",
                   help="send this file (a P-data update), as if dropped into the chat")
    p.add_argument("text", nargs="*")
    p.set_defaults(func="cli.commands:say")

    db = group("db", "database schema")
    command("upgrade", "apply migrations", db).set_defaults(func="cli.commands:db_upgrade")
    p = command("backup", "copy the database while it runs (SQLite; PostgreSQL: the pg_dump "
                "line to run)", db)
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func="cli.backup:db_backup")
    p = command("restore", "replace the database by a backup (SQLite; PostgreSQL: the "
                "pg_restore line to run); stop every instance first", db)
    p.add_argument("--yes", action="store_true", help="every instance is stopped: go ahead")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func="cli.backup:db_restore")

    command("doctor", "check the configuration without starting anything: settings, "
            "database, mail, chat, eID").set_defaults(func="cli.doctor:doctor")

    sessions = group("sessions", "planned sessions")
    p = command("list", "planned sessions with capacity and free seats", sessions)
    p.add_argument("--training", metavar="CODE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func="cli.commands:sessions_list")

    imports = group("import", "bulk loads from CSV")
    for what in ("catalog", "collaborators"):
        p = command(what, f"load {what} from a CSV file", imports)
        p.add_argument("file")
        p.set_defaults(func=f"cli.commands:import_{what}")
    p = command("pdata", "validate and apply a personnel data update", imports)
    p.add_argument("--org", required=True)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--errors", metavar="FILE", help="also write every error to this CSV file")
    p.add_argument("file")
    p.set_defaults(func="cli.pdata:import_pdata")

    late_group("reports", "exports as CSV or XLSX (formula-injection safe)",
               _builder("cli.reports:register"))
    late_group("officers", "training officers and their access",
               _builder("cli.officers:register"), _builder("cli.access:register"))
    late_group("jobs", "the daily jobs (serve runs them on one instance)",
               _builder("cli.jobs:register"))
    late_group("organisations", "organisations and their channels",
               _builder("cli.organisations:register"))
    late_group("teams", "Microsoft Teams: the app package and channels",
               _builder("cli.teams:register"))

    collaborators = group("collaborators", "P-data")
    p = command("search", "ranked fuzzy surname search", collaborators)
    p.add_argument("--org", metavar="CODE")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.add_argument("query", nargs="+")
    p.set_defaults(func="cli.commands:collaborators_search")

    requests = group("requests", "the 'Nouvelle inscription' queue")
    p = command("submit", "submit a registration request from a JSON file", requests)
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func="cli.commands:requests_submit")
    p = command("list", "list requests", requests)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func="cli.commands:requests_list")
    p = command("show", "show one request", requests)
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func="cli.commands:requests_show")

    outbox = group("outbox", "notifications waiting or sent")
    p = command("list", "pending and sent notifications", outbox)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func="cli.commands:outbox_list")
    command("flush", "deliver pending mail once", outbox).set_defaults(
        func="cli.commands:outbox_flush")

    mail = group("mail", "reply-by-e-mail")
    p = command("process", "treat one RFC 5322 message as received", mail)
    p.add_argument("file", nargs="?")
    p.set_defaults(func="cli.commands:mail_process")

    late_group("helpdesk", "the helpdesk mailbox: tickets, routes, answers",
               _builder("cli.helpdesk:register"))
    late_group("link", "eID account linking", _link, _builder("cli.card:register"))
    return parser


def _link(link: argparse._SubParsersAction, command: Command) -> None:
    p = command("url", "print the one-time link URL for a chat user", link)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--slack", metavar="TEAM:USER")
    target.add_argument("--teams", metavar="TENANT:OBJECTID")
    p.set_defaults(func="cli.commands:link_url")


ONE_MESSAGE = frozenset({"say", "mail", "collaborators"})
"""Commands that handle one message or query and exit: the cyclic collector is off for them.
Their start-up allocates hundreds of thousands of objects (SQLAlchemy's mappings, the index)
that all live until exit, and the collector walked them over and over: 10 % of a `say`."""


_skip_teardown_with: list[int] = []  # the exit code, once a one-message command is done


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from cli.runtime import private_files, run  # after parsing: `--help` needs neither

    _skip_teardown_with.clear()
    paused = args.command in ONE_MESSAGE and gc.isenabled()
    if paused:
        gc.disable()
    private_files()
    try:
        code = run(lambda: resolve(args.func)(args))
    finally:
        if paused:  # main() called in a longer process (tests): as it was
            gc.enable()
    if args.command in ONE_MESSAGE:
        _skip_teardown_with.append(code)
    return code


def entry() -> None:
    """The `itma-assistant` console script: main(), and for a one-message command (the MTA
    pipe above all) an exit without the interpreter's teardown, which would otherwise free
    one by one the hundreds of thousands of objects SQLAlchemy's mappings left alive: 45 ms of
    a 355 ms `mail process` on this machine (bench/cli).

    The exit handlers registered after this one run first, as usual (logging's flush and close,
    the metrics' fold into the archive); this one, registered first, runs last: it closes the
    command's database connections (a PostgreSQL server sees a proper goodbye), flushes
    standard output and error, and ends the process with main()'s code. Everything the
    command committed is in the database already; files are closed by their owners. main()
    itself, called in a longer process (tests), ends nothing."""
    atexit.register(_end_now)
    sys.exit(main())


def _end_now() -> None:
    if not _skip_teardown_with:
        return
    runtime = sys.modules.get("cli.runtime")
    if runtime is not None:
        runtime.close_apps()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # closed, or a pipe whose reader left
            stream.flush()
    os._exit(_skip_teardown_with[0])


if __name__ == "__main__":
    entry()
