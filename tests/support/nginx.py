"""Debian's nginx as a child process, running the SHIPPED deploy/nginx/itma.conf.

Only what must differ on a test machine is changed, each by an exact replacement that must
match as often as expected (so a change to the shipped file that these replacements no longer
fit fails here instead of silently testing something else):

* ``/etc/nginx/itma/`` → this run's folder (TLS certificate and key, the eID CA list, the
  upstreams file);
* ``listen 443 ssl`` / ``listen 80`` → free loopback ports; the IPv6 listeners are dropped
  (a test container may have no IPv6 loopback).

The upstreams file is the site-specific part (deploy/nginx/itma-upstreams*.conf in production):
the test writes it with its own instances. The main ``nginx.conf`` (pid, logs, temp folders,
``daemon off``) is the test's own, as /etc/nginx/nginx.conf is the distribution's.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "nginx" / "itma.conf"
NGINX = "/usr/sbin/nginx"


def render(shipped: str, prefix: Path, https_port: int, http_port: int) -> str:
    """The shipped configuration with this run's paths and ports, nothing else."""
    replacements = [
        ("/etc/nginx/itma/", f"{prefix}/", None),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;", 1),
        ("listen [::]:443 ssl;", "# (IPv6 listener left out by the test)", 1),
        ("listen 80;", f"listen 127.0.0.1:{http_port};", 1),
        ("listen [::]:80;", "# (IPv6 listener left out by the test)", 1),
    ]
    text = shipped
    for old, new, count in replacements:
        found = text.count(old)
        if found == 0 or (count is not None and found != count):
            raise AssertionError(f"deploy/nginx/itma.conf: expected {count or 'some'} "
                                 f"{old!r}, found {found}: update tests/support/nginx.py")
        text = text.replace(old, new)
    return text


def upstreams(http: list[tuple[str, int]], link: list[tuple[str, int]]) -> str:
    def block(name: str, servers: list[tuple[str, int]]) -> str:
        lines = "".join(f"    server {host}:{port};\n" for host, port in servers)
        return f"upstream {name} {{\n{lines}}}\n"

    return block("itma_http", http) + block("itma_link", link)


@dataclass
class Nginx:
    """``start()`` renders the configuration into ``prefix`` and runs nginx in the foreground."""

    prefix: Path
    http_upstreams: list[tuple[str, int]]
    link_upstreams: list[tuple[str, int]]
    certificate: Path
    key: Path
    eid_ca_pem: bytes
    https_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        while self.http_port == self.https_port:  # the kernel may hand out one free port twice
            self.http_port = free_port()

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"

    def write(self) -> None:
        assert shutil.which(NGINX) or Path(NGINX).exists(), (
            "nginx is missing: apt-get install nginx (scripts/system-packages.txt)")
        (self.prefix / "tls").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.certificate, self.prefix / "tls" / "itma.crt")
        shutil.copyfile(self.key, self.prefix / "tls" / "itma.key")
        (self.prefix / "eid-ca.pem").write_bytes(self.eid_ca_pem)
        (self.prefix / "upstreams.conf").write_text(
            upstreams(self.http_upstreams, self.link_upstreams))
        (self.prefix / "itma.conf").write_text(
            render(SHIPPED.read_text(), self.prefix, self.https_port, self.http_port))
        temp = self.prefix / "temp"
        temp.mkdir(exist_ok=True)
        # As root, nginx's workers would run as nobody and could not use the private tmp folders.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {self.prefix}/nginx.pid;\n"
            f"error_log {self.error_log} info;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"    access_log {self.prefix}/access.log;\n"
            + "".join(f"    {kind}_temp_path {temp}/{kind};\n"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + f"    include {self.prefix}/itma.conf;\n}}\n")

    def command(self, *extra: str) -> list[str]:
        return [NGINX, "-p", f"{self.prefix}/", "-c", str(self.conf), "-e",
                str(self.error_log), *extra]

    def start(self, timeout: float = 15.0) -> Nginx:
        self.write()
        checked = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        if checked.returncode != 0:
            raise RuntimeError("nginx -t refused the configuration:\n" + checked.stderr)
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.https_port), timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("nginx did not start:\n" + self.error_log.read_text(
                        errors="replace")) from None
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGQUIT is nginx's graceful stop; SIGKILL if it hangs. Only our own process."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
