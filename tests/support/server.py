"""`itma-assistant serve` as a real subprocess on a free port, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import free_port, stop


def start(env: dict[str, str], timeout: float = 30.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start serve with ITMA_* settings from env; return the process once /healthz answers."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ITMA_")}
    full_env.update({"ITMA_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
                     "ITMA_LINK_LISTEN": f"127.0.0.1:{free_port()}", **env},
                    ITMA_HTTP_LISTEN=f"127.0.0.1:{port}",
                    PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    log = Path(env["ITMA_HOME"]) / "serve.out"
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "cli", "serve"], env=full_env,
                                   stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return process, base
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("serve did not start: " + log.read_text()) from None
            time.sleep(0.1)


@contextmanager
def serve(env: dict[str, str], timeout: float = 30.0) -> Iterator[str]:
    """Start serve with ITMA_* settings from env; yield its base URL; stop it with SIGINT."""
    process, base = start(env, timeout)
    try:
        yield base
    finally:
        stop(process)
