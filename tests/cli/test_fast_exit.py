"""The console script's exit for one-message commands (cli.main.entry): the interpreter's
teardown skipped, nothing else. What must still happen before the process ends: the answer on
standard output (a pipe, as the MTA reads it), the exit code, the log line written to the file,
the metrics folded, the database connections closed — and the command's work committed.

Real parts: the CLI as a subprocess (`python -m cli`, which is the console script's `entry`),
SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli import main as cli_main
from cli import runtime
from core.models import RequestState
from tests.conftest import World
from tests.integration.test_mail import SOPHIE, reply, request_state, submit, token_of

ROOT = Path(__file__).resolve().parents[2]


def _pipe(world: World, raw: bytes) -> subprocess.CompletedProcess:
    settings = world.app.settings
    return subprocess.run(
        [sys.executable, "-m", "cli", "mail", "process"], input=raw, capture_output=True,
        timeout=60, cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin"), "ITMA_HOME": str(settings.home),
             "ITMA_DATABASE_URL": settings.database_url,
             "ITMA_SECRET_KEY": settings.secret_key.decode()})


def test_the_pipe_leaves_everything_done_behind_it(world: World) -> None:
    request_id = submit(world, wants_session=True, external_id="fast-exit-1")
    raw = reply(world, token_of(world, SOPHIE, request_id), "OK",
                message_id="<fast-exit-1@bosa.example>")
    done = _pipe(world, raw)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().startswith("approved:")  # flushed into the pipe
    assert request_state(world, request_id).state == RequestState.APPROVED
    home = world.app.settings.home
    log = (home / "logs" / "itma.log").read_text(encoding="utf-8")
    assert "via pipe: approved" in log  # the file handler flushed and closed
    archive = home / "metrics" / "counter_archive.db"
    assert archive.exists()  # the metrics folded by their own exit handler
    assert not list((home / "metrics").glob("counter_*[0-9].db"))  # none left per process
    again = _pipe(world, raw)  # the same mail again: recorded, so a duplicate
    assert again.returncode == 0 and again.stdout.strip() == b"duplicate"


def test_a_refused_mail_keeps_its_exit_code(world: World) -> None:
    assert _pipe(world, b"").returncode == 65  # as the MTA reads it: bad input


def test_only_a_one_message_command_skips_the_teardown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process: main() itself ends nothing; the exit handler ends the process with main()'s
    code after a one-message command only, and closes the database connections first."""
    ended: list[int] = []
    closed: list[Any] = []

    def fake_exit(code: int) -> None:
        ended.append(code)

    monkeypatch.setattr(cli_main.os, "_exit", fake_exit)
    monkeypatch.setattr(runtime, "close_apps", lambda: closed.append(True))
    monkeypatch.setenv("ITMA_HOME", str(tmp_path))
    monkeypatch.setenv("ITMA_SECRET_KEY", "test-secret-key-0123456789")
    assert cli_main.main(["db", "upgrade"]) == 0
    cli_main._end_now()
    assert ended == [] and closed == []  # not a one-message command: the usual teardown
    code = cli_main.main(["mail", "process", str(tmp_path / "missing.eml")])
    assert code != 0
    cli_main._end_now()
    assert ended == [code] and closed == [True]


def test_close_apps_closes_what_the_process_made(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITMA_HOME", str(tmp_path))
    monkeypatch.setenv("ITMA_SECRET_KEY", "test-secret-key-0123456789")
    assert cli_main.main(["db", "upgrade"]) == 0
    app = runtime.make_app()
    with app.unit_of_work(readonly=True) as uow:
        uow.session.connection()
    assert app.db.engine.pool.checkedin() == 1  # a live pooled connection
    runtime.close_apps()
    assert app.db.engine.pool.checkedin() == 0
