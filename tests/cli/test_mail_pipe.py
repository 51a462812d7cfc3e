"""`mail process` as an MTA pipe: exit codes an MTA understands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], stdin: bytes, home: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], input=stdin, capture_output=True,
                          timeout=60, cwd=ROOT, env={"ITMA_HOME": str(home), "PATH": "/usr/bin",
                                                     **env})


def test_exit_codes(tmp_path: Path) -> None:
    assert run(["db", "upgrade"], b"", tmp_path).returncode == 0
    assert run(["mail", "process"], b"", tmp_path).returncode == 65
    ignored = run(["mail", "process"], b"From: a@example.be\nTo: b@example.be\n\nhello\n",
                  tmp_path)
    assert ignored.returncode == 0 and ignored.stdout.strip() == b"not_for_us"
    broken = run(["mail", "process"], b"From: a@example.be\n\nhi\n", tmp_path,
                 ITMA_DATABASE_URL=f"sqlite:///{tmp_path}/missing/none.db")
    assert broken.returncode == 75 and b"Traceback" not in broken.stderr
