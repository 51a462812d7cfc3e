"""ITMA_HOME holds the database, its WAL, the secret key, logs and the Maildir: owner only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_directory_and_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)  # as an older version, or an operator's mkdir, left it
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITMA_")}
    env.update(ITMA_HOME=str(home), LANG="C.UTF-8", PYTHONPATH=str(Path.cwd()))
    os.umask(0o022)
    for args in (["demo", "--seed-only"],
                 ["say", "--as", "sophie.lambert@bosa.example", "inscrire Beckers DIG-101"]):
        done = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True,
                              text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
    assert _mode(home) == 0o700
    created = [p for p in home.rglob("*")]
    names = {p.name for p in created}
    assert {"itma.db", "secret.key", "itma.log"} <= names, names
    for path in created:
        limit = 0o700 if path.is_dir() else 0o600
        assert _mode(path) & ~limit == 0, (path, oct(_mode(path)))
