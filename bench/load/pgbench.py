"""pgbench on the bench's server: the built-in TPC-B-like script, as the ceiling to compare with.

``pgbench -i -s SCALE`` into its own database, then ``pgbench -c K -j K -T D -n`` per K over TCP
on loopback. Run as the ``postgres`` OS user (``runuser -u postgres --``) when we are root, like
the server itself. Every transaction is logged (``-l``) so p50/p99 come from the same
definition as ours; the tps is pgbench's own "without initial connection time" figure.
"""

from __future__ import annotations

import os
import pwd
import re
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

OS_USER = "postgres"
TPS = re.compile(r"^tps = ([0-9.]+) \((?:without initial connection time|excluding connections"
                 r" establishing)\)", re.MULTILINE)
FAILED = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)


class PgbenchError(RuntimeError):
    pass


def _argv(argv: list[str]) -> list[str]:
    return ["runuser", "-u", OS_USER, "--", *argv] if os.geteuid() == 0 else argv


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _connection(host: str, port: int, user: str, database: str) -> list[str]:
    return ["-h", host, "-p", str(port), "-U", user, database]


def initialise(pg_bin: Path, host: str, port: int, user: str, database: str,
               scale: int) -> None:
    argv = [str(pg_bin / "pgbench"), "-i", "-q", "-s", str(scale),
            *_connection(host, port, user, database)]
    result = subprocess.run(_argv(argv), env=_env(), capture_output=True, text=True,
                            timeout=600, check=False, cwd="/")
    if result.returncode != 0:
        raise PgbenchError(f"pgbench -i failed: {(result.stderr or result.stdout)[-400:]}")


def run(pg_bin: Path, host: str, port: int, user: str, database: str, clients: int,
        seconds: int) -> dict[str, Any]:
    """One ``pgbench -c K -j K -T D -n`` with per-transaction logs; tps, latencies, CPU."""
    logs = Path(tempfile.mkdtemp(prefix="bench-load-pgbench-"))
    try:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(OS_USER)
            os.chown(logs, entry.pw_uid, entry.pw_gid)
        argv = [str(pg_bin / "pgbench"), "-c", str(clients), "-j", str(clients),
                "-T", str(seconds), "-n", "-l", f"--log-prefix={logs / 'tx'}",
                *_connection(host, port, user, database)]
        cpu_before = _children_cpu()
        result = subprocess.run(_argv(argv), env=_env(), capture_output=True, text=True,
                                timeout=seconds + 120, check=False, cwd=logs)
        client_cpu = _children_cpu() - cpu_before
        output = result.stdout + result.stderr
        found = TPS.search(output)
        if result.returncode != 0 or found is None:
            raise PgbenchError(f"pgbench -c {clients} failed (exit {result.returncode}): "
                               f"{output[-400:]}")
        latencies: list[float] = []
        for log in logs.glob("tx*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1000)
        failed = FAILED.search(output)
        return {"tps": float(found.group(1)), "latencies_ms": latencies,
                "failed": int(failed.group(1)) if failed else 0,
                "client_cpu_s": client_cpu, "command": " ".join([*argv[:8], "-l", "…"]),
                "output_tail": output.strip().splitlines()[-6:]}
    finally:
        shutil.rmtree(logs, ignore_errors=True)
