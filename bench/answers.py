"""What the chat benches judge: the answer posted back, not the HTTP ack.

A Slack command or a Teams message is acked at once and answered later (a respond() post, a
message to the Bot Connector): an ack that holds while the answers fall seconds behind is a
failure the officer sees. These helpers turn the acks (bench.openloop) and the answers the
platform stand-in received into the figures every chat bench prints — ack and answer
percentiles, answers received / sent, how long after the last ack the last answer came — and
the server's CPU per command, and give the verdict with its reasons.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.openloop import percentile

ANSWER_P99_MS = 1000.0
"""An answer later than a second feels like no answer in a chat."""
KEEP_UP_S = 1.0
"""The last answer at most this long after the last ack: the server keeps up with the rate."""


def child_pid(command_part: str) -> int | None:
    """Our own child process whose command line contains command_part (the serve subprocess)."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me and command_part in cmdline:
            return int(entry.name)
    return None


def cpu_seconds(pid: int | None, thread: int | None = None) -> float:
    """user + system CPU time of a process, every thread (or of one thread), 0 when unknown."""
    if pid is None:
        return 0.0
    path = f"/proc/{pid}/task/{thread}/stat" if thread is not None else f"/proc/{pid}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def answers(sent_at: Sequence[float], answered_at: Sequence[float | None],
            acks_ended_at: float, bad: int = 0) -> dict[str, Any]:
    """Answer i is answered_at[i] - sent_at[i] (same monotonic clock, every process of the
    machine); None when it never came."""
    delays = [(a - s) * 1000 for s, a in zip(sent_at, answered_at, strict=True) if a is not None]
    arrived = [a for a in answered_at if a is not None]
    last = max(arrived) if arrived else None
    return {
        "expected": len(sent_at), "received": len(arrived), "bad_replies": bad,
        "answer_p50_ms": round(percentile(delays, 50), 1) if delays else None,
        "answer_p90_ms": round(percentile(delays, 90), 1) if delays else None,
        "answer_p99_ms": round(percentile(delays, 99), 1) if delays else None,
        "answer_max_ms": round(max(delays), 1) if delays else None,
        "last_answer_after_last_ack_s": (round(last - acks_ended_at, 3)
                                         if last is not None else None),
    }


def cpu(pid: int | None, before: float, commands: int, loop_before: float | None = None
        ) -> dict[str, Any]:
    """The server's CPU from before the load to after the last answer, per command."""
    spent = cpu_seconds(pid) - before
    found: dict[str, Any] = {"server_cpu_s": round(spent, 2),
                             "cpu_ms_per_command": round(spent / commands * 1000, 2)
                             if commands else None}
    if loop_before is not None:
        found["loop_cpu_s"] = round(cpu_seconds(pid, pid) - loop_before, 2)
    return found


def answer_checks(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer targets for one itma run: p99, every answer, keeping up."""
    got = row["answers"]
    p99, after = got["answer_p99_ms"], got["last_answer_after_last_ack_s"]
    return [
        {"rate": row["rate"], "check": f"answer p99 < {ANSWER_P99_MS:g} ms",
         "value": f"{p99} ms", "pass": p99 is not None and p99 < ANSWER_P99_MS},
        {"rate": row["rate"], "check": "every command answered (and no bad reply)",
         "value": f"{got['received']}/{got['expected']} ({got['bad_replies']} bad)",
         "pass": got["received"] == got["expected"] == row["sent"]
         and got["bad_replies"] == 0},
        {"rate": row["rate"], "check": f"last answer ≤ {KEEP_UP_S:g} s after the last ack",
         "value": f"{after} s", "pass": after is not None and after <= KEEP_UP_S},
    ]


def compare(rows: list[dict[str, Any]], rates: list[int], *, baseline: str,
            throughput_check: str, p99_check: str, target_rate: int, target_p99_ms: float,
            target_throughput: float) -> dict[str, Any]:
    """itma against the baseline server of the same run, rate by rate: the front end's
    throughput and p99 (the ack, or the HTTP answer), then the answers' own checks."""
    ratios, checks = {}, []
    for rate in rates:
        base = next(r for r in rows if r["server"] == baseline and r["rate"] == rate)
        itma = next(r for r in rows if r["server"] == "itma" and r["rate"] == rate)
        share = itma["throughput"] / base["throughput"] if base["throughput"] else 0.0
        ratios[str(rate)] = {f"throughput_itma_vs_{baseline}": round(share, 3),
                             f"p99_itma_vs_{baseline}": round(itma["p99_ms"] / base["p99_ms"], 2)}
        checks.append({"rate": rate, "check": throughput_check, "value": f"{share:.0%}",
                       "pass": share >= target_throughput})
        if rate == target_rate:
            checks.append({"rate": rate, "check": p99_check,
                           "value": f"{itma['p99_ms']} ms",
                           "pass": itma["p99_ms"] < target_p99_ms})
        checks += answer_checks(itma)
    if target_rate not in rates:
        checks.append({"rate": target_rate, "check": "measured at the target rate",
                       "value": "not measured", "pass": False})
    return {"ratios": ratios, **verdict(checks)}


def verdict(checks: list[dict[str, Any]]) -> dict[str, Any]:
    failed = [f"{c['check']} at {c['rate']:g}/s: {c['value']}" for c in checks if not c["pass"]]
    return {"checks": checks, "verdict": "PASS" if checks and not failed else "FAIL",
            "failed": failed}


def publish(report: dict[str, Any], path: Path, table: str) -> int:
    """Write the report's JSON, print its table and any py-spy profile; the exit code of the
    verdict (0 PASS, 1 FAIL)."""
    from bench import pyspy

    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(table)
    for row in report["results"]:
        if row.get("profile"):
            print(f"\nWhere serve's CPU went at {row['rate']:g}/s (py-spy):\n"
                  + pyspy.render(row["profile"]))
    return 0 if report["verdict"] == "PASS" else 1


def load_average() -> float:
    return round(os.getloadavg()[0], 2)
