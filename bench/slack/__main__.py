"""python -m bench.slack [--seconds 10] [--rates 50,200] [--users 20] — Slack answers under load.

One command, one run: a temporary ITMA_HOME with the demo seeded in SQLite, --users Slack
accounts linked to the demo officer, a Slack Web API stand-in in its own process
(bench/slack/webapi.py, aiohttp) that times every respond() post, and two servers on loopback:

* baseline — the same Bolt/Starlette/uvicorn stack whose /itma listener only acks
  (bench/slack/baseline_app.py);
* itma — the real `itma-assistant serve` subprocess (tests.support.server.serve).

For each rate, baseline then itma, a separate load-generator process (bench/slack/load.py) fires
signed slash commands open-loop for --seconds (a mix of places, inscrire, formations, rapport)
and times every ack; then the bench waits (--drain at most) for the answers. The ack is not the
answer: the verdict needs answer p99 < 1 s, every command answered, and the last answer within
1 s of the last ack (bench.answers), besides the ack targets; FAIL exits 1 with the reasons.
Prints Markdown tables, the server's CPU per command, and writes bench/results/slack.json;
--profile samples the serve process with py-spy during the last itma run (bench/pyspy.py).
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
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench import answers, pyspy
from bench.answers import child_pid, cpu_seconds
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

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
SECRET = "bench-slack-signing-secret"
SECRET_KEY = "bench-slack-secret-key-0123456789"
USER, TEAM = "UBENCH", "T1"
USERS = 20
"""Chat accounts sending the commands, all linked to the demo officer (same data, each its own
conversation): 200 commands a second come from many officers, not from one."""
ACK_TIMEOUT_S = 3.0  # Slack gives up on an ack after 3 s
TARGET_P99_MS, TARGET_RATE, TARGET_THROUGHPUT = 300.0, 200, 0.5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- setup ----------------------------------------------------------------------------------------


def users_of(count: int) -> list[str]:
    return [f"{USER}{k:02d}" for k in range(count)]


def prepare(home: Path, rng: random.Random, users: int = 1
            ) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Migrate and seed the demo, link UBENCH (and UBENCH00… for `users`) to the demo officer;
    the serve env and the texts."""
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
            for user in (USER, *users_of(users)):
                link_identity(uow, officer, "slack", TEAM, user, via="bench")
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
def webapi(home: Path) -> Iterator[str]:
    """The Slack Web API stand-in (bench/slack/webapi.py) on a free port; its base URL."""
    port = free_port()
    with (home / "webapi.out").open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bench.slack.webapi", "--port",
                                    str(port)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                                   stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        stop(process)


def answered(api: str, prefix: str) -> dict[str, Any]:
    """What the stand-in received for the keys starting with prefix: at, bad, texts."""
    query = urllib.parse.urlencode({"prefix": prefix})
    with urllib.request.urlopen(f"{api}/bench/answers?{query}", timeout=10) as answer:
        found: dict[str, Any] = json.loads(answer.read())
    return found


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


def warm_up(name: str, base: str, api: str, kinds: dict[str, list[str]],
            rounds: int = 3) -> dict[str, str]:
    """A few requests of every kind; for itma, each must be answered with a real reply."""
    samples: dict[str, str] = {}
    for round_ in range(rounds):
        for kind, texts in kinds.items():
            key = f"warm-{name}-{kind}-{round_}"
            status = post(base, texts[round_ % len(texts)], f"{api}/response/{key}")
            if status != 200:
                raise RuntimeError(f"{name} warm-up: {texts[0]!r} answered HTTP {status}")
            if name != "itma":
                continue
            deadline = time.monotonic() + 15
            while not (found := answered(api, key))["at"]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"itma warm-up: no answer to {texts[0]!r}")
                time.sleep(0.05)
            text = found["texts"].get(key, "")
            if found["bad"]:
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


def collect(api: str, prefix: str, count: int, drain_s: float) -> dict[str, Any]:
    """Wait (at most drain_s) until every answer of the run arrived; what arrived."""
    deadline = time.monotonic() + drain_s
    while len((found := answered(api, prefix + "-"))["at"]) < count and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def measure(name: str, base: str, pid: int | None, rate: int, args: argparse.Namespace,
            api: str, texts: list[str], home: Path) -> dict[str, Any]:
    prefix = f"{name}-{rate}"
    spec = {"url": base + "/slack/events", "secret": SECRET, "rate": rate,
            "seconds": args.seconds, "texts": texts, "users": users_of(args.users),
            "team_id": TEAM, "response_url_base": f"{api}/response/", "key_prefix": prefix,
            "timeout": ACK_TIMEOUT_S, "connections": 1024, "seed": rate}
    cpu_before = cpu_seconds(pid)
    profile = (pyspy.Recorder(pid, args.seconds + 2,
                              Path(tempfile.gettempdir()) / f"itma-bench-slack-{rate}.pyspy")
               if args.profile and name == "itma" and rate == max(args.rate_list) else None)
    result = generate(spec, home)
    load_end = result.pop("ended_at")
    sent_at = result.pop("sent_at")
    result["ack_window_cpu_s"] = round(cpu_seconds(pid) - cpu_before, 2)
    row: dict[str, Any] = {"server": name, **result}
    if name == "itma":
        found = collect(api, prefix, len(sent_at), args.drain)
        at = [found["at"].get(f"{prefix}-{i}") for i in range(len(sent_at))]
        row["answers"] = answers.answers(sent_at, at, load_end, found["bad"])
    row.update(answers.cpu(pid, cpu_before, row["sent"]))
    if profile is not None:
        row["profile"] = profile.summary()
    log(f"  {name} @ {rate}/s: ok {row['ok']}/{row['sent']}, ack p50 {row['p50_ms']} ms, "
        f"p99 {row['p99_ms']} ms, max {row['max_ms']} ms, timeouts {row['timeouts']}, errors "
        f"{row['errors']}, send lag p99 {row['send_lag_p99_ms']} ms, server CPU "
        f"{row['server_cpu_s']} s ({row['cpu_ms_per_command']} ms/command)"
        + (f"; answers {row['answers']['received']}/{row['answers']['expected']}, p50 "
           f"{row['answers']['answer_p50_ms']} ms, p99 {row['answers']['answer_p99_ms']} ms, "
           f"last {row['answers']['last_answer_after_last_ack_s']} s after the last ack"
           if "answers" in row else ""))
    return row


# -- report ---------------------------------------------------------------------------------------


def compare(rows: list[dict[str, Any]], rates: list[int]) -> dict[str, Any]:
    return answers.compare(rows, rates, baseline="baseline", throughput_check=(
                           f"ack throughput >= {TARGET_THROUGHPUT:.0%} of baseline"),
                           p99_check=f"ack p99 < {TARGET_P99_MS:g} ms",
                           target_rate=TARGET_RATE, target_p99_ms=TARGET_P99_MS,
                           target_throughput=TARGET_THROUGHPUT)


def table(report: dict[str, Any]) -> str:
    lines = [f"Slack slash commands, open loop for {report['seconds']:g} s per run from "
             f"{report['users']} accounts, ack timeout {ACK_TIMEOUT_S:g} s, loopback, "
             f"{report['cpus']} CPUs (1-min load average {report['loadavg_1m']['before']} "
             f"before, {report['loadavg_1m']['after']} after: the load generator, the Web API "
             "stand-in and both servers share these CPUs)", "",
             "| server | rate /s | sent | ok | ack p50 ms | ack p99 ms | answered | answer p50 ms "
             "| answer p99 ms | answer max ms | last answer after last ack s | server CPU s | "
             "CPU ms / command |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        got = r.get("answers")
        shown = ([f"{got['received']}/{got['expected']}", got["answer_p50_ms"],
                  got["answer_p99_ms"], got["answer_max_ms"],
                  got["last_answer_after_last_ack_s"]] if got else ["—"] * 5)
        lines.append("| " + " | ".join(str(v) for v in [
            r["server"], f"{r['rate']:g}", r["sent"], r["ok"], r["p50_ms"], r["p99_ms"], *shown,
            r["server_cpu_s"], r["cpu_ms_per_command"]]) + " |")
    lines += ["", "| rate /s | ack throughput itma / baseline | ack p99 itma / baseline |",
              "|---|---|---|"]
    for rate, ratio in report["ratios"].items():
        lines.append(f"| {rate} | {ratio['throughput_itma_vs_baseline']:.0%} | "
                     f"{ratio['p99_itma_vs_baseline']}× |")
    lines += ["", "| target | rate /s | itma | |", "|---|---|---|---|"]
    lines += [f"| {c['check']} | {c['rate']} | {c['value']} | {'PASS' if c['pass'] else 'FAIL'} |"
              for c in report["checks"]]
    lines += ["", f"Verdict: {report['verdict']}"]
    lines += [f"- FAILED: {reason}" for reason in report["failed"]]
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
    parser.add_argument("--users", type=int, default=USERS,
                        help="Slack accounts sending the commands (round robin)")
    parser.add_argument("--drain", type=float, default=30.0,
                        help="max seconds to wait for itma's answers after a run")
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
    with tempfile.TemporaryDirectory(prefix="itma-bench-slack-") as tmp:
        home = Path(tmp)
        env, kinds = prepare(home, rng, args.users)
        texts = mix(kinds)
        with webapi(home) as api, baseline(api + "/api/", home) as (base_url, base_pid), \
                serve({**env, "ITMA_SLACK_BOT_TOKEN": "xoxb-bench",
                       "ITMA_SLACK_SIGNING_SECRET": SECRET,
                       "ITMA_SLACK_API_URL": api + "/api/"}) as itma_url:
            itma_pid = child_pid(" -m cli serve")
            servers = {"baseline": (base_url, base_pid), "itma": (itma_url, itma_pid)}
            log(f"baseline {base_url} (pid {base_pid}), itma serve {itma_url} (pid {itma_pid})")
            samples = {}
            for name, (url, _pid) in servers.items():
                samples[name] = warm_up(name, url, api, kinds)
            for kind, sample in samples["itma"].items():
                log(f"  {kind}: {sample}")
            for rate in rates:
                for name, (url, pid) in servers.items():
                    rows.append(measure(name, url, pid, rate, args, api, texts, home))
                    time.sleep(1.0)
    report = {"seconds": args.seconds, "rates": rates, "users": args.users,
              "cpus": os.cpu_count(),
              "loadavg_1m": {"before": load_before, "after": answers.load_average()},
              "versions": versions(), "targets": {
                  "ack_p99_ms_below": TARGET_P99_MS, "at_rate": TARGET_RATE,
                  "throughput_vs_baseline_at_least": TARGET_THROUGHPUT,
                  "answer_p99_ms_below": answers.ANSWER_P99_MS,
                  "last_answer_after_last_ack_s_at_most": answers.KEEP_UP_S},
              "texts": {k: v[:5] for k, v in kinds.items()}, "sample_replies": samples["itma"],
              "results": rows}
    report.update(compare(rows, rates))
    return answers.publish(report, RESULTS / "slack.json", table(report))


if __name__ == "__main__":
    sys.exit(main())
