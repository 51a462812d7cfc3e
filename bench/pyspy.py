"""Where a server's CPU goes under a bench: py-spy sampling of the running process, summarised.

    recorder = Recorder(pid, seconds, path)   # py-spy record starts now, in the background
    ...                                        # the load
    summary = recorder.summary()               # waits for py-spy; shares of the samples

py-spy (`pip install py-spy`) samples, 100 times a second and without stopping the process
(--nonblocking), the thread that holds the interpreter (--gil): where the process's Python time
goes, threads waiting for a lock or for the GIL left out. The summary gives the share of the
samples by thread, by package (where the innermost frame is), and the top functions, inclusive
(the frame is anywhere on the stack) and self (innermost). Only a profile of the
bench's own server: nothing here names a person or a message.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

RATE = 100
TOP = 20


def executable() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def require() -> None:
    if executable() is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")


class Recorder:
    def __init__(self, pid: int | None, seconds: float, path: Path) -> None:
        """Samples pid for `seconds` into path (py-spy's raw format: one stack and its count
        a line, for flamegraph tools)."""
        self.path = path
        self.process: subprocess.Popen[bytes] | None = None
        tool = executable()
        if pid is None or tool is None:
            return
        self.process = subprocess.Popen(
            [tool, "record", "--pid", str(pid), "--rate", str(RATE), "--duration",
             str(max(1, round(seconds))), "--format", "raw", "--nonblocking", "--gil",
             "--threads", "-o", str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def summary(self) -> dict[str, Any]:
        if self.process is None:
            return {}
        self.process.wait(timeout=120)
        return summarise(self.path.read_text() if self.path.exists() else "")


def _thread(name: str) -> str:
    """'thread (0x7f…): slack-work_2' → 'slack-work' (one line per kind of thread)."""
    name = name.split(":", 1)[-1].strip() if ":" in name else name
    return re.sub(r"_\d+$", "", name) or "?"


def _package(frame: str) -> str:
    found = re.search(r"\(([^:)]+)", frame)
    path = found.group(1) if found else "?"
    return path.split("/")[0] if "/" in path else path


def summarise(raw: str) -> dict[str, Any]:
    threads: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    inner: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not stack:
            continue
        n = int(count)
        head, *frames = stack.split(";")
        total += n
        threads[_thread(head)] += n
        if frames:
            inner[frames[-1]] += n
            packages[_package(frames[-1])] += n
            for frame in set(frames):
                anywhere[frame] += n

    def shares(counter: Counter[str], top: int = TOP) -> list[list[Any]]:
        return [[name, round(n / total, 3)] for name, n in counter.most_common(top)]

    if not total:
        return {"samples": 0}
    return {"samples": total, "rate_hz": RATE, "threads": shares(threads, 8),
            "packages": shares(packages, 12), "inclusive": shares(anywhere, 30),
            "self": shares(inner, 15)}


def render(summary: dict[str, Any]) -> str:
    if not summary.get("samples"):
        return "(no samples)"
    lines = [f"{summary['samples']} samples at {summary['rate_hz']} Hz of the thread holding the "
             "interpreter"]
    for title, key in (("by thread", "threads"), ("by package (innermost frame)", "packages"),
                       ("inclusive", "inclusive"), ("self", "self")):
        lines.append(f"- {title}: " + "; ".join(f"{name} {share:.0%}"
                                                for name, share in summary[key]))
    return "\n".join(lines)
