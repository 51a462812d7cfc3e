"""python -m bench.teams [--seconds 10] [--rates 200] [--users 20] — Teams answers under load.

One command, one run: a temporary ITMA_HOME with the demo seeded in SQLite, --users Teams
accounts linked to the demo officer, a local Bot Connector in its own process
(bench/teams/connector.py, aiohttp) timing every message the bots post, and two servers on
loopback:

* echo — a Teams SDK app whose message handler only echoes the text, on the SDK's own server
  (bench/teams/echo_app.py);
* itma — the real `itma-assistant serve` subprocess (tests.support.server.serve).

Both accept activities unauthenticated (ITMA_TEAMS_ALLOW_UNAUTHENTICATED=1 and its SDK
equivalent), so neither pays for JWT checks nor for token requests to Microsoft. For each rate,
echo then itma, a separate load-generator process (bench/teams/load.py) posts message activities
open-loop for --seconds (a mix of places, inscrire, formations and rapport, the accounts in
turn) and times every HTTP answer; then the bench waits (--drain at most) for the answers
posted to the connector. A person's answers come in the order of their messages, so the k-th
post in a person's chat answers their k-th message. The HTTP answer is not the answer: the
verdict needs answer p99 < 1 s, every message answered, the last answer within 1 s of the last
HTTP answer (bench.answers), besides the HTTP targets; FAIL exits 1 with the reasons. Prints
Markdown tables, the server's CPU per message, and writes bench/results/teams.json; --profile
samples the serve process with py-spy during the itma run at the highest rate.
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

from bench import answers, pyspy
from bench.answers import child_pid, cpu_seconds
from bench.slack.__main__ import mix, wait_healthy
from core import migrate
from core.app import App
from core.config import load_settings
from core.demo import seed
from core.models import Collaborator
from core.services import catalog
from core.services.access import link_identity, officer_by_email
from tests.support.processes import stop
from tests.support.server import free_port, serve
from tests.support.teams_activities import Person, message

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
SECRET_KEY = "bench-teams-secret-key-0123456789"
OFFICER = Person("bench-tenant", "aad-bench-officer", "Sophie Lambert")
ECHOED = Person("bench-tenant", "aad-bench-echo", "Echo")
TARGET_P99_MS, TARGET_RATE, TARGET_THROUGHPUT = 50.0, 200, 0.8
BAD_REPLIES = ("pas compris", "pas encore lié")
USERS = 20
"""Teams accounts sending the messages, all linked to the demo officer (same data, each its own
chat and lane): 200 messages a second come from many officers, not from one."""


def people(first: Person, count: int) -> list[Person]:
    return [Person(first.tenant, f"{first.aad}-{k:02d}", first.name) for k in range(count)]


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def prepare(home: Path, rng: random.Random, users: int = 1
            ) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Migrate and seed the demo, link the bench's Teams users to the demo officer."""
    env = {"ITMA_HOME": str(home), "ITMA_DATABASE_URL": f"sqlite:///{home / 'itma.db'}",
           "ITMA_SECRET_KEY": SECRET_KEY, "ITMA_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
           "ITMA_LINK_LISTEN": f"127.0.0.1:{free_port()}"}
    app = App(load_settings(dict(env)))
    try:
        migrate.upgrade(app.db)
        seed.seed(app)
        with app.unit_of_work() as uow:
            officer = officer_by_email(uow, seed.DEMO_OFFICER)
            for person in (OFFICER, *people(OFFICER, users)):
                link_identity(uow, officer, "teams", person.tenant, person.aad, via="bench")
            codes = sorted({v.training for v in catalog.upcoming_sessions(uow, officer=officer)})
            surnames = sorted(set(uow.session.scalars(
                select(Collaborator.surname).where(
                    Collaborator.organisation_id.in_([o.id for o in officer.organisations]),
                    Collaborator.active.is_(True)))))
    finally:
        app.close()
    surnames = rng.sample(surnames, min(40, len(surnames)))
    kinds = {"places": [f"places {code}" for code in codes[:10]],
             "inscrire": [f"inscrire {rng.choice(surnames)} {rng.choice(codes)}"
                          for _ in range(40)],
             "formations": ["formations"],
             "rapport": [f"rapport {name}" for name in surnames]}
    return env, kinds


@contextmanager
def process(name: str, home: Path, *args: str) -> Iterator[tuple[str, int]]:
    """A helper server (the connector, the echo app) on a free port, until the block ends."""
    port = free_port()
    with (home / f"{name}.out").open("wb") as out:
        child = subprocess.Popen([sys.executable, "-m", f"bench.teams.{name}", "--port",
                                  str(port), *args], env={**os.environ, "PYTHONPATH": str(ROOT)},
                                 stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, child)
        yield base, child.pid
    finally:
        stop(child)


def posted(connector: str, person: Person, times: bool = False) -> dict[str, Any]:
    """What the connector received in the person's chat: count, last_at, last body, bad (and
    when each arrived)."""
    query = f"conversation={person.chat}" + ("&times=1" if times else "")
    with urllib.request.urlopen(f"{connector}/bench/stats?{query}", timeout=10) as answer:
        found: dict[str, Any] = json.loads(answer.read())
    return found


def shown(activity: dict[str, Any]) -> str:
    """The text of a posted activity: its own, or its card's TextBlocks."""
    parts = [str(activity.get("text") or "")]
    for attachment in activity.get("attachments") or []:
        parts += [str(e.get("text", "")) for e in attachment.get("content", {}).get("body", [])
                  if e.get("type") == "TextBlock"]
    return " ".join(p for p in parts if p)


def post(base: str, text: str, connector: str, person: Person, activity_id: str) -> int:
    body = json.dumps(message(text, person, service_url=connector,
                              activity_id=activity_id)).encode()
    request = urllib.request.Request(base + "/api/messages", data=body, method="POST",
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def warm_up(name: str, base: str, connector: str, person: Person,
            kinds: dict[str, list[str]]) -> dict[str, str]:
    """A few activities of every kind, each of which must be answered on the connector."""
    samples: dict[str, str] = {}
    for round_ in range(3):
        for kind, texts in kinds.items():
            text = texts[round_ % len(texts)]
            before = posted(connector, person)["count"]
            status = post(base, text, connector, person, f"warm-{name}-{kind}-{round_}")
            if status != 200:
                raise RuntimeError(f"{name} warm-up: {text!r} answered HTTP {status}")
            deadline = time.monotonic() + 15
            while (now := posted(connector, person))["count"] <= before:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} warm-up: no answer posted for {text!r}")
                time.sleep(0.05)
            answer = shown(now["last"])
            if name == "itma" and any(bad in answer for bad in BAD_REPLIES):
                raise RuntimeError(f"itma does not really handle {text!r}: {answer[:200]}")
            samples.setdefault(kind, f"{text} → {answer[:90]!r}")
    return samples


def measure(name: str, base: str, pid: int | None, rate: int, args: argparse.Namespace,
            connector: str, senders: list[Person], texts: list[str], home: Path
            ) -> dict[str, Any]:
    prefix = f"{name}-{rate}"
    spec = {"url": base + "/api/messages", "service_url": connector, "rate": rate,
            "seconds": args.seconds, "texts": texts, "tenant": senders[0].tenant,
            "aads": [p.aad for p in senders], "name": senders[0].name, "prefix": prefix,
            "timeout": 15, "connections": 1024, "seed": rate}
    path = home / f"spec-{prefix}.json"
    path.write_text(json.dumps(spec))
    before = {p.chat: posted(connector, p)["count"] for p in senders}
    bad_before = sum(posted(connector, p).get("bad", 0) for p in senders)
    cpu_before, loop_before = cpu_seconds(pid), cpu_seconds(pid, pid)
    profile = (pyspy.Recorder(pid, args.seconds + 2,
                              Path(tempfile.gettempdir()) / f"itma-bench-teams-{rate}.pyspy")
               if args.profile and name == "itma" and rate == max(args.rate_list) else None)
    done = subprocess.run([sys.executable, "-m", "bench.teams.load", str(path)],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          timeout=args.seconds + 120, check=False)
    if done.returncode != 0:
        raise RuntimeError("load generator failed: " + done.stderr.decode()[-2000:])
    result: dict[str, Any] = json.loads(done.stdout)
    sent_at, acks_end = result.pop("sent_at"), result.pop("ended_at")
    result.pop("started_at")
    result["ack_window_cpu_s"] = round(cpu_seconds(pid) - cpu_before, 2)
    deadline = time.monotonic() + args.drain
    while sum(posted(connector, p)["count"] - before[p.chat] for p in senders) < result["sent"] \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    at: list[float | None] = [None] * len(sent_at)
    bad = -bad_before
    for k, person in enumerate(senders):
        found = posted(connector, person, times=True)
        bad += found.get("bad", 0)
        mine = range(k, len(sent_at), len(senders))  # this person's messages, in order
        for i, arrived in zip(mine, found["times"][before[person.chat]:], strict=False):
            at[i] = arrived
    row: dict[str, Any] = {"server": name, **result,
                           "answers": answers.answers(sent_at, at, acks_end, bad),
                           **answers.cpu(pid, cpu_before, result["sent"], loop_before)}
    if profile is not None:
        row["profile"] = profile.summary()
    got = row["answers"]
    log(f"  {name} @ {rate}/s: ok {row['ok']}/{row['sent']}, HTTP p50 {row['p50_ms']} ms, "
        f"p99 {row['p99_ms']} ms, max {row['max_ms']} ms, send lag p99 "
        f"{row['send_lag_p99_ms']} ms, server CPU {row['server_cpu_s']} s "
        f"({row['cpu_ms_per_command']} ms/message, {row['loop_cpu_s']} s on the event loop); "
        f"answers {got['received']}/{got['expected']}, p50 {got['answer_p50_ms']} ms, p99 "
        f"{got['answer_p99_ms']} ms, last {got['last_answer_after_last_ack_s']} s after the "
        "last HTTP answer")
    return row


def compare(rows: list[dict[str, Any]], rates: list[int]) -> dict[str, Any]:
    return answers.compare(rows, rates, baseline="echo", throughput_check=(
                           f"HTTP throughput >= {TARGET_THROUGHPUT:.0%} of the echo app"),
                           p99_check=f"HTTP answer p99 < {TARGET_P99_MS:g} ms",
                           target_rate=TARGET_RATE, target_p99_ms=TARGET_P99_MS,
                           target_throughput=TARGET_THROUGHPUT)


def table(report: dict[str, Any]) -> str:
    lines = [f"Teams message activities, open loop for {report['seconds']:g} s per run from "
             f"{report['users']} accounts, loopback, {report['cpus']} CPUs shared by the load "
             "generator, the connector and both servers (1-min load average "
             f"{report['loadavg_1m']['before']} before, {report['loadavg_1m']['after']} after)",
             "", "| server | rate /s | sent | ok | HTTP p50 ms | HTTP p99 ms | answered | "
             "answer p50 ms | answer p99 ms | answer max ms | last answer after last HTTP "
             "answer s | server CPU s (event loop) | CPU ms / message |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        got = r["answers"]
        lines.append("| " + " | ".join(str(v) for v in [
            r["server"], f"{r['rate']:g}", r["sent"], r["ok"], r["p50_ms"], r["p99_ms"],
            f"{got['received']}/{got['expected']}", got["answer_p50_ms"], got["answer_p99_ms"],
            got["answer_max_ms"], got["last_answer_after_last_ack_s"],
            f"{r['server_cpu_s']} ({r['loop_cpu_s']})", r["cpu_ms_per_command"]]) + " |")
    lines += ["", "| rate /s | HTTP throughput itma / echo | HTTP p99 itma / echo |",
              "|---|---|---|"]
    for rate, ratio in report["ratios"].items():
        lines.append(f"| {rate} | {ratio['throughput_itma_vs_echo']:.0%} | "
                     f"{ratio['p99_itma_vs_echo']}× |")
    lines += ["", "| target | rate /s | itma | |", "|---|---|---|---|"]
    lines += [f"| {c['check']} | {c['rate']} | {c['value']} | {'PASS' if c['pass'] else 'FAIL'} |"
              for c in report["checks"]]
    lines += ["", f"Verdict: {report['verdict']}"]
    lines += [f"- FAILED: {reason}" for reason in report["failed"]]
    return "\n".join(lines)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("microsoft-teams-apps", "microsoft-teams-api", "fastapi", "starlette",
                    "uvicorn", "httpx"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "?"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.teams")
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per run")
    parser.add_argument("--rates", default=str(TARGET_RATE), help="comma-separated activities/s")
    parser.add_argument("--users", type=int, default=USERS,
                        help="Teams accounts sending the messages (in turn)")
    parser.add_argument("--drain", type=float, default=30.0,
                        help="max seconds to wait for the posted answers after a run")
    parser.add_argument("--profile", action="store_true",
                        help="sample serve with py-spy during the itma run at the highest rate")
    args = parser.parse_args()
    args.rate_list = rates = [int(r) for r in args.rates.split(",") if r.strip()]
    if not rates or any(r <= 0 for r in rates) or not 0 < args.seconds <= 600 \
            or args.users < 1:
        parser.error("rates and users must be positive integers and 0 < seconds <= 600")
    if args.profile:
        pyspy.require()
    rng = random.Random(2026)
    rows: list[dict[str, Any]] = []
    load_before = answers.load_average()
    with tempfile.TemporaryDirectory(prefix="itma-bench-teams-") as tmp:
        home = Path(tmp)
        env, kinds = prepare(home, rng, args.users)
        texts = mix(kinds)
        with process("connector", home) as (connector, _), \
                process("echo_app", home, "--service-url", connector) as (echo_url, echo_pid), \
                serve({**env, "ITMA_TEAMS_ALLOW_UNAUTHENTICATED": "1",
                       "ITMA_TEAMS_SERVICE_URL": connector}) as itma_url:
            itma_pid = child_pid(" -m cli serve")
            servers = {"echo": (echo_url, echo_pid, ECHOED), "itma": (itma_url, itma_pid, OFFICER)}
            senders = {"echo": people(ECHOED, args.users), "itma": people(OFFICER, args.users)}
            log(f"echo {echo_url} (pid {echo_pid}), itma serve {itma_url} (pid {itma_pid})")
            samples = {name: warm_up(name, url, connector, person, kinds)
                       for name, (url, _pid, person) in servers.items()}
            for kind, sample in samples["itma"].items():
                log(f"  {kind}: {sample}")
            for rate in rates:
                for name, (url, pid, _person) in servers.items():
                    rows.append(measure(name, url, pid, rate, args, connector, senders[name],
                                        texts, home))
                    time.sleep(1.0)
    report = {"seconds": args.seconds, "rates": rates, "users": args.users,
              "cpus": os.cpu_count(),
              "loadavg_1m": {"before": load_before, "after": answers.load_average()},
              "versions": versions(), "targets": {
                  "http_answer_p99_ms_below": TARGET_P99_MS, "at_rate": TARGET_RATE,
                  "throughput_vs_echo_at_least": TARGET_THROUGHPUT,
                  "answer_p99_ms_below": answers.ANSWER_P99_MS,
                  "last_answer_after_last_ack_s_at_most": answers.KEEP_UP_S},
              "texts": {k: v[:5] for k, v in kinds.items()}, "sample_replies": samples["itma"],
              "results": rows}
    report.update(compare(rows, rates))
    return answers.publish(report, RESULTS / "teams.json", table(report))


if __name__ == "__main__":
    sys.exit(main())
