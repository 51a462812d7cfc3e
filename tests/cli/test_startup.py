"""What each command imports: the line that keeps the CLI instant, held without timings.

`--help` and argument errors import nothing but argparse and the CLI's own wiring; `say` and
`mail process` (run by the MTA for every mail) import no chat SDK, HTTP stack or date parser.
A module moved back to the top of a file fails here, on any machine, however fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.mail import world as mail_world
from core.app import App
from core.demo import seed

ROOT = Path(__file__).resolve().parents[2]
NOT_FOR_PARSING = frozenset({
    "sqlalchemy", "psycopg", "alembic", "pydantic", "cryptography", "rapidfuzz", "slack_sdk",
    "slack_bolt", "aiohttp", "botbuilder", "msal", "jwt", "uvicorn", "starlette", "dateparser",
    "prometheus_client", "openpyxl", "python_calamine", "icalendar", "tqdm", "core.app",
    "core.models", "core.db", "core.conversation", "bot", "mail_gateway"})
NEVER_FOR_ONE_SHOTS = frozenset({
    "slack_sdk", "slack_bolt", "aiohttp", "botbuilder", "msal", "uvicorn", "starlette",
    "dateparser", "alembic", "bot.slack", "bot.teams", "bot.web", "cli.serve",
    "pydantic", "cryptography.x509", "core.services.intake_schema"})
PROBE = """
import json, sys
from cli.main import main
try:
    code = main(json.loads(sys.argv[1]))
except SystemExit as exit:
    code = exit.code
names = set(sys.modules)
print(json.dumps({"code": code, "modules": sorted(names | {n.split(".")[0] for n in names})}),
      file=sys.stderr)
"""


def imported(args: list[str], env: dict[str, str] | None = None,
             stdin: bytes = b"") -> tuple[int, set[str], str]:
    """Run the CLI with `args` in a fresh interpreter: exit code, modules imported, stdout."""
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], input=stdin,
                          capture_output=True, timeout=120, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", **(env or {})})
    report = json.loads(done.stderr.decode().strip().splitlines()[-1])
    return report["code"], set(report["modules"]), done.stdout.decode()


@pytest.mark.parametrize("args", [
    ["--help"], ["say", "--help"], ["mail", "process", "--help"],
    ["officers", "--help"], ["helpdesk", "route", "--help"], ["nope"], ["say"],
    ["collaborators", "search"], ["reports", "overview", "--from", "not-a-date"]])
def test_help_and_argument_errors_import_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    code, modules, _out = imported(args, {"ITMA_HOME": str(tmp_path)})
    assert code in (0, 2)
    heavy = modules & NOT_FOR_PARSING
    if args[0] in ("officers", "helpdesk", "reports"):  # their options live with their bodies
        heavy -= {"sqlalchemy", "core.app", "core.models", "core.db", "cryptography",
                  "pydantic", "rapidfuzz", "psycopg", "mail_gateway", "openpyxl",
                  "python_calamine", "core.conversation", "bot", "prometheus_client"}
    assert not heavy, f"{args}: {sorted(heavy)}"


def test_parsing_every_command_imports_nothing_heavy() -> None:
    """Parsing is argparse only; the body's module is imported by main() after it."""
    probe = ("import json, sys\nfrom cli.main import build_parser\n"
             "for args in json.loads(sys.argv[1]):\n    build_parser().parse_args(args)\n"
             "print(json.dumps(sorted(sys.modules)))")
    commands = [["say", "--as", "a@b.be", "places", "DIG-101"], ["mail", "process"],
                ["collaborators", "search", "peeters"], ["db", "upgrade"], ["doctor"],
                ["sessions", "list"], ["requests", "list"], ["outbox", "flush"], ["serve"]]
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(commands)],
                          capture_output=True, timeout=60, cwd=ROOT, check=True)
    modules = set(json.loads(done.stdout))
    assert not {m.split(".")[0] for m in modules} & NOT_FOR_PARSING
    assert not modules & NOT_FOR_PARSING


def test_run_recognises_failures_of_modules_it_does_not_import() -> None:
    """cli.runtime names two exception classes by module: they must still be there."""
    from cli import runtime
    from core.db import DatabaseError
    from core.services.intake import InvalidRequest

    assert runtime._loaded("core.services.intake", "InvalidRequest") is InvalidRequest
    assert runtime._loaded("core.db", "DatabaseError") is DatabaseError


def test_say_and_mail_process_import_no_chat_sdk(app: App) -> None:
    """A real `say` and a real reply mail through `mail process`, on both databases."""
    built = mail_world.build(app, 1, session_share=0.0)
    token = mail_world.tokens(app, seed.DEMO_OFFICER, built["request_ids"])[0]
    reply = mail_world.reply(app, token, seed.DEMO_OFFICER, "Sophie Lambert", 1)
    env = {"ITMA_HOME": str(app.settings.home), "ITMA_DATABASE_URL": app.settings.database_url,
           "ITMA_SECRET_KEY": "test-secret-key-0123456789"}

    code, modules, out = imported(["say", "--as", seed.DEMO_OFFICER, "places", "DIG-101"], env)
    assert code == 0 and "DIG-101" in out
    assert not modules & NEVER_FOR_ONE_SHOTS, sorted(modules & NEVER_FOR_ONE_SHOTS)

    code, modules, out = imported(["mail", "process"], env, stdin=reply.raw)
    assert code == 0 and out.startswith("approved"), out
    unused = NEVER_FOR_ONE_SHOTS | {"core.conversation", "bot"}
    assert not modules & unused, sorted(modules & unused)
