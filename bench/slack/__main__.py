"""python -m bench.slack [--seconds 10] [--rates 50,200] — Slack ack latency and throughput.

One command, one run: a temporary ITMA_HOME with the demo seeded in SQLite, a Slack Web API mock
(tests.support.slack_mock) receiving the follow-up respond() posts, and two servers on loopback:

* baseline — the same Bolt/Starlette/uvicorn stack whose /itma listener only acks
  (bench/slack/baseline_app.py);
* itma — the real `itma-assistant serve` subprocess (tests.support.server.serve).

For each rate, baseline then itma, a separate load-generator process (bench/slack/load.py) fires
signed slash commands open-loop for --seconds and measures every ack. Prints a Markdown table
with the itma/baseline ratios and the verdict against the targets, and writes
bench/results/slack.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core import migrate
from core.app import App
from core.config import load_settings
from core.demo import seed
from core.models import Collaborator, Organisation
from core.services import catalog
from core.services.access import link_identity, officer_by_email
from tests.support import slack_payloads as sp
from tests.support.processes import stop
from tests.support.server import free_port, serve
from tests.support.slack_mock import SlackMock

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
SECRET = "bench-slack-signing-secret"
SECRET_KEY = "bench-slack-secret-key-0123456789"
USER, TEAM = "UBENCH", "T1"
ACK_TIMEOUT_S = 3.0  # Slack gives up on an ack after 3 s
TARGET_P99_MS, TARGET_RATE, TARGET_THROUGHPUT = 300.0, 200, 0.5
BAD_REPLIES = ("pas compris", "pas encore lié")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- setup ----------------------------------------------------------------------------------------


def prepare(home: Path, rng: random.Random) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Migrate and seed the demo, link UBENCH to the demo officer; the serve env and the texts."""
    env = {"ITMA_HOME": str(home), "ITMA_DATABASE_URL": f"sqlite:///{home / 'itma.db'}",
           "ITMA_SECRET_KEY": SECRET_KEY,
           # serve may open other listeners (mail); keep them off the default ports
           "ITMA_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
           "ITMA_LINK_LISTEN": f"127.0.0.1:{free_port()}"}
    app = App(load_settings(dict(env)))
    try:
        migrate.upgrade(app.db)
        summary = seed.seed(app)
        with app.unit_of_work() as uow:
            officer = officer_by_email(uow, seed.DEMO_OFFICER)
            link_identity(uow, officer, "slack", TEAM, USER, via="bench")
            org_ids = [o.id for o in officer.organisations]
            codes = sorted({v.training for v in catalog.upcoming_sessions(uow, officer=officer)})
            surnames = sorted(set(uow.session.scalars(
                select(Collaborator.surname).join(Organisation)
                .where(Collaborator.organisation_id.in_(org_ids),
                       Collaborator.active.is_(True)))))
    finally:
        app.close()
    log(f"seeded the demo: {summary.get('collaborators', '?')} collaborators; "
        f"{len(codes)} training codes and {len(surnames)} surnames visible to "
        f"{seed.DEMO_OFFICER}")
    people = rng.sample(surnames, min(40, len(surnames)))
    kinds = {
        "places": ["places BOSA-101"],
        "inscrire": [f"inscrire {rng.choice(people)} {rng.choice(codes)}" for _ in range(40)],
        "formations": ["formations"],
        "rapport": [f"rapport {name}" for name in people],
    }
    return env, kinds


def mix(kinds: dict[str, list[str]]) -> list[str]:
    """Each kind a quarter of the traffic, whatever the number of variants it has."""
    longest = max(len(v) for v in kinds.values())
    return [v[i % len(v)] for v in kinds.values() for i in range(longest)]


def wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the baseline app did not start")
        time.sleep(0.1)


@contextmanager
def baseline(api_url: str, home: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (home / "baseline.out").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.slack.baseline_app", "--port", str(port),
             "--api-url", api_url, "--secret", SECRET], env=env, stdout=out,
            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base, process.pid
    finally:
        stop(process)


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


def cpu_seconds(pid: int | None) -> float:
    """user + system CPU time of a process (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- talking to the servers -----------------------------------------------------------------------


def post(base: str, text: str, response_url: str) -> int:
    body = sp.slash_command(text, user_id=USER, team_id=TEAM, response_url=response_url)
    request = urllib.request.Request(base + "/slack/events", data=body, method="POST",
                                     headers={"content-type": sp.FORM, **sp.sign(body, SECRET)})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def reply_text(params: dict[str, Any]) -> str:
    parts = [str(params.get("text") or "")]
    for block in params.get("blocks") or []:
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, dict):
            parts.append(str(text.get("text", "")))
    return " ".join(parts)


def warm_up(name: str, base: str, mock: SlackMock, kinds: dict[str, list[str]],
            rounds: int = 3) -> dict[str, str]:
    """A few requests of every kind; for itma, each must be answered with a real reply."""
    samples: dict[str, str] = {}
    for round_ in range(rounds):
        for kind, texts in kinds.items():
            key = f"warm-{name}-{kind}-{round_}"
            status = post(base, texts[round_ % len(texts)], mock.response_url(key))
            if status != 200:
                raise RuntimeError(f"{name} warm-up: {texts[0]!r} answered HTTP {status}")
            if name != "itma":
                continue
            [call] = mock.wait_for("response_url", timeout=15,
                                   where=lambda c, k=key: c.key == k)
            text = reply_text(call.params)
            if call.error or any(bad in text for bad in BAD_REPLIES):
                raise RuntimeError(f"itma does not really handle {texts[0]!r}: {text[:200]}")
            samples.setdefault(kind, f"{texts[round_ % len(texts)]} → {text[:90]}")
    return samples


def generate(spec: dict[str, Any], home: Path) -> dict[str, Any]:
    """Run the load generator in its own process; its JSON result."""
    path = home / f"spec-{spec['key_prefix']}.json"
    path.write_text(json.dumps(spec))
    done = subprocess.run([sys.executable, "-m", "bench.slack.load", str(path)],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          timeout=spec["seconds"] + ACK_TIMEOUT_S + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError("load generator failed: " + done.stderr.decode()[-2000:])
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def follow_ups(mock: SlackMock, prefix: str, sent_at: list[float], load_end: float,
               drain_s: float) -> dict[str, Any]:
    """Wait (bounded) for the respond() posts of a run; how many, how late, how many failed."""
    expected = len(sent_at)
    deadline = time.monotonic() + drain_s

    def mine() -> list[Any]:
        return [c for c in mock.of("response_url") if c.key and c.key.startswith(prefix + "-")]

    calls = mine()
    while len(calls) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        calls = mine()
    delays = sorted((c.at - sent_at[int(c.key.rsplit("-", 1)[1])]) * 1000 for c in calls)
    bad = sum(1 for c in calls if c.error or any(b in reply_text(c.params) for b in BAD_REPLIES))
    return {
        "expected": expected, "received": len(calls), "bad_replies": bad,
        "received_within_s": round(max(0.0, max((c.at for c in calls), default=load_end)
                                       - load_end), 2),
        "answer_p50_ms": round(delays[len(delays) // 2], 1) if delays else None,
        "answer_p99_ms": round(delays[min(len(delays) - 1, round(0.99 * (len(delays) - 1)))],
                               1) if delays else None,
    }


def measure(name: str, base: str, pid: int | None, rate: int, args: argparse.Namespace,
            mock: SlackMock, texts: list[str], home: Path) -> dict[str, Any]:
    prefix = f"{name}-{rate}"
    spec = {"url": base + "/slack/events", "secret": SECRET, "rate": rate,
            "seconds": args.seconds, "texts": texts, "user_id": USER, "team_id": TEAM,
            "response_url_base": mock.response_url(""), "key_prefix": prefix,
            "timeout": ACK_TIMEOUT_S, "connections": 1024, "seed": rate}
    cpu_before = cpu_seconds(pid)
    result = generate(spec, home)
    load_end = result.pop("ended_at")
    result["server_cpu_s"] = round(cpu_seconds(pid) - cpu_before, 2)
    sent_at = result.pop("sent_at")
    if name == "itma":
        result["follow_ups"] = follow_ups(mock, prefix, sent_at, load_end, args.drain)
        result["server_cpu_s_incl_drain"] = round(cpu_seconds(pid) - cpu_before, 2)
    mock.clear()
    row = {"server": name, **result}
    log(f"  {name} @ {rate}/s: ok {row['ok']}/{row['sent']}, {row['throughput']} ok/s, "
        f"p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, max {row['max_ms']} ms, "
        f"timeouts {row['timeouts']}, errors {row['errors']}, "
        f"send lag p99 {row['send_lag_p99_ms']} ms, server CPU {row['server_cpu_s']} s"
        + (f", follow-ups {row['follow_ups']['received']}/{row['follow_ups']['expected']}"
           if "follow_ups" in row else ""))
    return row


# -- report ---------------------------------------------------------------------------------------


def compare(rows: list[dict[str, Any]], rates: list[int]) -> dict[str, Any]:
    ratios, checks = {}, []
    for rate in rates:
        base = next(r for r in rows if r["server"] == "baseline" and r["rate"] == rate)
        itma = next(r for r in rows if r["server"] == "itma" and r["rate"] == rate)
        throughput = itma["throughput"] / base["throughput"] if base["throughput"] else 0.0
        ratios[str(rate)] = {"throughput_itma_vs_baseline": round(throughput, 3),
                             "p99_itma_vs_baseline": round(itma["p99_ms"] / base["p99_ms"], 2)}
        checks.append({"rate": rate, "check": "throughput >= 50% of baseline",
                       "value": f"{throughput:.0%}", "pass": throughput >= TARGET_THROUGHPUT})
        if rate == TARGET_RATE:
            checks.append({"rate": rate, "check": f"ack p99 < {TARGET_P99_MS:g} ms",
                           "value": f"{itma['p99_ms']} ms",
                           "pass": itma["p99_ms"] < TARGET_P99_MS})
    return {"ratios": ratios, "checks": checks,
            "verdict": "PASS" if checks and all(c["pass"] for c in checks) else "FAIL"}


def table(report: dict[str, Any]) -> str:
    lines = [f"Slack slash commands, open loop for {report['seconds']:g} s per run, ack timeout "
             f"{ACK_TIMEOUT_S:g} s, loopback, {report['cpus']} CPUs (1-min load average "
             f"{report['loadavg_1m']['before']} before, {report['loadavg_1m']['after']} after: "
             "the load generator, the mock and both servers share these CPUs)", "",
             "| server | rate /s | sent | ok | errors | timeouts | ok/s | ack p50 ms | "
             "ack p99 ms | ack max ms | server CPU s | follow-ups |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        follow = r.get("follow_ups")
        shown = (f"{follow['received']}/{follow['expected']} (+{follow['received_within_s']} s)"
                 if follow else "—")
        lines.append(f"| {r['server']} | {r['rate']:g} | {r['sent']} | {r['ok']} | {r['errors']} "
                     f"| {r['timeouts']} | {r['throughput']} | {r['p50_ms']} | {r['p99_ms']} | "
                     f"{r['max_ms']} | {r['server_cpu_s']} | {shown} |")
    lines += ["", "| rate /s | throughput itma / baseline | ack p99 itma / baseline |",
              "|---|---|---|"]
    for rate, ratio in report["ratios"].items():
        lines.append(f"| {rate} | {ratio['throughput_itma_vs_baseline']:.0%} | "
                     f"{ratio['p99_itma_vs_baseline']}× |")
    lines += ["", "| target | rate /s | itma | |", "|---|---|---|---|"]
    lines += [f"| {c['check']} | {c['rate']} | {c['value']} | {'PASS' if c['pass'] else 'FAIL'} |"
              for c in report["checks"]]
    itma_rows = [r for r in report["results"] if r.get("follow_ups")]
    if itma_rows:
        lines += ["", "Work after ack (itma): respond() posts received by the mock, and the "
                  "time from a command's send to its answer:"]
        lines += [f"- {r['rate']:g}/s: {r['follow_ups']['received']}/{r['follow_ups']['expected']}"
                  f" answered ({r['follow_ups']['bad_replies']} bad), last one "
                  f"{r['follow_ups']['received_within_s']} s after the last ack; answer p50 "
                  f"{r['follow_ups']['answer_p50_ms']} ms, "
                  f"p99 {r['follow_ups']['answer_p99_ms']} ms" for r in itma_rows]
    lines += ["", f"Verdict: {report['verdict']}"]
    return "\n".join(lines)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("slack_bolt", "slack_sdk", "aiohttp", "uvicorn", "starlette"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "?"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slack")
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per run")
    parser.add_argument("--rates", default="50,200", help="comma-separated requests/s")
    parser.add_argument("--drain", type=float, default=20.0,
                        help="max seconds to wait for itma's follow-up posts after a run")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    if not rates or any(r <= 0 for r in rates) or not 0 < args.seconds <= 600:
        parser.error("rates must be positive integers and 0 < seconds <= 600")
    rng = random.Random(2026)
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="itma-bench-slack-") as tmp:
        home = Path(tmp)
        env, kinds = prepare(home, rng)
        texts = mix(kinds)
        with SlackMock() as mock, baseline(mock.api_url, home) as (base_url, base_pid), serve({
                **env, "ITMA_SLACK_BOT_TOKEN": "xoxb-bench", "ITMA_SLACK_SIGNING_SECRET": SECRET,
                "ITMA_SLACK_API_URL": mock.api_url}) as itma_url:
            itma_pid = child_pid(" -m cli serve")
            servers = {"baseline": (base_url, base_pid), "itma": (itma_url, itma_pid)}
            log(f"baseline {base_url} (pid {base_pid}), itma serve {itma_url} (pid {itma_pid})")
            samples = {}
            for name, (url, _pid) in servers.items():
                samples[name] = warm_up(name, url, mock, kinds)
            for kind, sample in samples["itma"].items():
                log(f"  {kind}: {sample}")
            mock.clear()
            for rate in rates:
                for name, (url, pid) in servers.items():
                    rows.append(measure(name, url, pid, rate, args, mock, texts, home))
                    time.sleep(1.0)
    report = {"seconds": args.seconds, "rates": rates, "cpus": os.cpu_count(),
              "loadavg_1m": {"before": round(load_before[0], 2),
                             "after": round(os.getloadavg()[0], 2)},
              "versions": versions(), "targets": {
                  "ack_p99_ms_below": TARGET_P99_MS, "at_rate": TARGET_RATE,
                  "throughput_vs_baseline_at_least": TARGET_THROUGHPUT},
              "texts": {k: v[:5] for k, v in kinds.items()}, "sample_replies": samples["itma"],
              "results": rows}
    report.update(compare(rows, rates))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "slack.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
