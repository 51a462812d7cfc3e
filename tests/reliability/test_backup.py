"""`db backup` taken while enrollments keep committing, then `db restore` into a new home: every
enrollment committed before the backup started is there, the copy is consistent (integrity,
references, one history event per enrollment, schema at head), and the refusals say why."""

from __future__ import annotations

import os
import random
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from core import migrate, nrn
from core.app import App
from core.config import load_settings
from core.models import Organisation, Training, TrainingSession
from core.services import enrollment
from core.services.access import NewOfficer, add_officer, officer_by_email
from core.services.collaborators import NewCollaborator, add_collaborator

OFFICER = "backup@bosa.example"
PEOPLE = 400
SESSIONS = 12
SECRET = "test-secret-key-0123456789"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITMA_")}
    env.update(ITMA_HOME=str(home), ITMA_SECRET_KEY=SECRET, LANG="C.UTF-8",
               PYTHONPATH=str(Path.cwd()), ITMA_DATABASE_URL=f"sqlite:///{home / 'itma.db'}")
    return env


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=120, env=_env(home))


def _seed(app: App) -> tuple[list[int], list[int]]:
    rng = random.Random(11)
    with app.unit_of_work() as uow:
        organisation = Organisation(code="BOSA", names={"fr": "BOSA"})
        uow.session.add(organisation)
        uow.session.flush()
        add_officer(uow, NewOfficer(OFFICER, "Bea Backup", nrn.generate(rng), ["BOSA"]))
        people = [add_collaborator(uow, None, NewCollaborator(
            nrn.generate(rng), f"Backup{i:04d}", "Test", None, "fr", "BOSA")).id
            for i in range(PEOPLE)]
        sessions = [TrainingSession(
            training=Training(code=f"BAK-{n:02d}", titles={"fr": f"Sauvegarde {n}"}),
            starts_on=date(2027, 5, 1 + n), ends_on=date(2027, 5, 1 + n), place="Namur",
            capacity=PEOPLE) for n in range(SESSIONS)]
        uow.session.add_all(sessions)
        uow.session.flush()
        return people, [s.id for s in sessions]


class Writer(threading.Thread):
    """Enrolls one person after another; an enrollment counts as committed (with the time the
    commit returned) only once the unit of work has left without error."""

    def __init__(self, app: App, people: list[int], sessions: list[int]) -> None:
        super().__init__(daemon=True)
        self.app, self.people, self.sessions = app, people, sessions
        self.committed: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for session_id in self.sessions:
                for person in self.people:
                    if self.stop.is_set():
                        return
                    with self.app.unit_of_work() as uow:
                        officer = officer_by_email(uow, OFFICER)
                        outcome = enrollment.enroll(uow, officer, person, session_id)
                        uow.session.flush()
                        enrollment_id = outcome.enrollment.id
                    self.committed.append((time.monotonic(), enrollment_id))
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc


def test_a_backup_taken_during_writes_restores_every_committed_enrollment(
        tmp_path: Path) -> None:
    home = tmp_path / "live"
    settings = load_settings({"ITMA_HOME": str(home), "ITMA_SECRET_KEY": SECRET,
                              "ITMA_DATABASE_URL": f"sqlite:///{home / 'itma.db'}"})
    app = App(settings)
    migrate.upgrade(app.db)
    people, sessions = _seed(app)
    writer = Writer(app, people, sessions)
    writer.start()
    try:
        while len(writer.committed) < 150 and writer.is_alive():
            time.sleep(0.05)
        started = time.monotonic()
        target = tmp_path / "backups" / "itma-backup.db"
        done = _cli(home, "db", "backup", str(target))
        time.sleep(0.3)  # the writer keeps going after the backup, too
    finally:
        writer.stop.set()
        writer.join(timeout=60)
        app.close()
    assert writer.error is None, writer.error
    assert done.returncode == 0, done.stderr
    assert "backup written and checked" in done.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    before = {eid for at, eid in writer.committed if at < started}
    after = {eid for at, eid in writer.committed if at >= started}
    assert len(before) >= 150 and after, (len(before), len(after))

    restored_home = tmp_path / "restored"
    done = _cli(restored_home, "db", "restore", "--yes", str(target))
    assert done.returncode == 0, done.stderr
    assert "restored:" in done.stdout

    with sqlite3.connect(restored_home / "itma.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        version = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        assert version == migrate.known_revisions()[-1]
        found = {row[0] for row in connection.execute("SELECT id FROM enrollments")}
        events = dict(connection.execute(
            "SELECT enrollment_id, count(*) FROM enrollment_events GROUP BY enrollment_id"))
    missing = before - found
    assert not missing, f"{len(missing)} committed enrollments missing from the backup"
    assert all(events.get(eid) == 1 for eid in found), "an enrollment without its history"
    # the copy is one snapshot: what it holds of the later enrollments is a prefix of them
    later = [eid for at, eid in writer.committed if at >= started]
    held = [eid in found for eid in later]
    assert held == sorted(held, reverse=True)

    # the restored database serves: the CLI reads it like any other
    listed = _cli(restored_home, "sessions", "list", "--json")
    assert listed.returncode == 0, listed.stderr


def test_restore_keeps_a_safety_copy_and_refuses_what_is_not_ours(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _cli(home, "demo", "--seed-only").returncode == 0
    target = tmp_path / "b.db"
    assert _cli(home, "db", "backup", str(target)).returncode == 0

    again = _cli(home, "db", "backup", str(target))
    assert again.returncode == 1 and "exists already" in again.stderr
    assert _cli(home, "db", "backup", "--force", str(target)).returncode == 0

    unconfirmed = _cli(home, "db", "restore", str(target))
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr

    restored = _cli(home, "db", "restore", "--yes", str(target))
    assert restored.returncode == 0, restored.stderr
    safety = list(home.glob("itma.db.before-restore-*"))
    assert len(safety) == 1 and stat.S_IMODE(safety[0].stat().st_mode) == 0o600

    text = tmp_path / "notes.db"
    text.write_text("not a database\n")
    refused = _cli(home, "db", "restore", "--yes", str(text))
    assert refused.returncode == 1 and "not a SQLite database" in refused.stderr

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE t (x)")
    refused = _cli(home, "db", "restore", "--yes", str(foreign))
    assert refused.returncode == 1 and "not an ITMA Assistant database" in refused.stderr

    newer = tmp_path / "newer.db"
    newer.write_bytes(target.read_bytes())
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    refused = _cli(home, "db", "restore", "--yes", str(newer))
    assert refused.returncode == 1 and "9999" in refused.stderr


@pytest.mark.usefixtures("postgres_server")
def test_postgresql_is_backed_up_with_pg_dump(tmp_path: Path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    """The printed command is real: run as printed (password from PGPASSWORD), it writes a
    dump that pg_restore can list."""
    url = postgres_server.url("itma_template")
    env = _env(tmp_path) | {"ITMA_DATABASE_URL": url}
    dump = tmp_path / "itma.dump"
    done = subprocess.run([sys.executable, "-m", "cli", "db", "backup", str(dump)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[1].strip()
    assert line.startswith("pg_dump --format=custom")
    from sqlalchemy.engine import make_url
    password = make_url(url).password
    assert not password or password not in done.stdout
    ran = subprocess.run(line, shell=True, capture_output=True, text=True, timeout=60,
                         env=os.environ | {"PGPASSWORD": password or ""})
    assert ran.returncode == 0, ran.stderr
    listed = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True)
    assert "enrollments" in listed.stdout
