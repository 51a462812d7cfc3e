"""What the throwaway servers of the tests share: free ports, and stopping them at exit."""

from __future__ import annotations

import atexit
import signal
import socket
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Protocol


class Stoppable(Protocol):
    def stop(self) -> None: ...


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tmp_root() -> Path:
    tmp = Path("/tmp")
    return tmp if tmp.is_dir() else Path(tempfile.gettempdir())


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Ctrl-C first (a clean stop is part of what we test), then kill if it hangs."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class LiveServers:
    """Servers started by this process and not stopped yet: stopped at interpreter exit so an
    interrupted test run leaves no server behind. The exit hook is registered on first use."""

    def __init__(self) -> None:
        self._live: list[Stoppable] = []
        self._registered = False

    def track(self, server: Stoppable) -> None:
        if not self._registered:
            atexit.register(self.stop_all)
            self._registered = True
        if all(other is not server for other in self._live):
            self._live.append(server)

    def untrack(self, server: Stoppable) -> None:
        self._live[:] = [other for other in self._live if other is not server]

    def stop_all(self) -> None:
        for server in list(self._live):
            with suppress(Exception):
                server.stop()
