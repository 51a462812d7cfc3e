"""The systemd units of deploy/systemd: verified by systemd itself, hardened, and runnable.

``systemd-analyze verify`` checks that ExecStart= names an executable file. The units name
/opt/itma/.venv/bin/itma-assistant (the host install of docs/operations.md), which this machine
does not have; the test verifies copies whose ExecStart= names this checkout's
.venv/bin/itma-assistant — the same console script, installed elsewhere — and nothing else is
changed. The units cannot be *started* here (no systemd as PID 1 in this container); what
MemoryDenyWriteExecute= would refuse is exercised with the kernel's own equivalent,
``prctl(PR_SET_MDWE)``, under which `db upgrade` and `serve` run.
"""

from __future__ import annotations

import html
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core import i18n
from tests.support.processes import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/itma/.venv/bin/itma-assistant"
HERE = Path(sys.executable).parent / "itma-assistant"
UNIT_FILES = ("itma-assistant.service", "itma-assistant@.service",
              "itma-assistant-migrate.service")
TO_VERIFY = ("itma-assistant.service", "itma-assistant@1.service",
             "itma-assistant-migrate.service")


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    assert found, "systemd-analyze is missing (Debian package systemd)"
    return found


def _copies(tmp: Path, replace: tuple[str, str] | None = None) -> Path:
    assert HERE.exists(), HERE
    for name in UNIT_FILES:
        text = (UNITS / name).read_text()
        assert text.count(f"ExecStart={INSTALLED} ") == 1, name
        text = text.replace(INSTALLED, str(HERE))
        if replace:
            text = text.replace(*replace)
        (tmp / name).write_text(text)
    return tmp


def _verify(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_analyze(), "verify", *(str(folder / n) for n in TO_VERIFY)],
                          capture_output=True, text=True, timeout=60, cwd=folder)


def test_systemd_verifies_the_units(tmp_path: Path) -> None:
    done = _verify(_copies(tmp_path))
    assert done.returncode == 0, done.stderr
    # systemd only warns about unknown or malformed keys: any output is a finding.
    assert done.stdout.strip() == "" and done.stderr.strip() == "", done.stderr


def test_the_check_finds_a_broken_unit(tmp_path: Path) -> None:
    """The same check on a unit with a misspelt key and a missing binary reports both."""
    (tmp_path / "bad").mkdir()
    done = _verify(_copies(tmp_path / "bad", ("NoNewPrivileges=yes", "NoNewPrivilege=yes")))
    assert "Unknown key 'NoNewPrivilege'" in done.stderr
    (tmp_path / "missing").mkdir()
    done = _verify(_copies(tmp_path / "missing", (str(HERE), "/nonexistent/itma-assistant")))
    assert done.returncode != 0
    assert "/nonexistent/itma-assistant" in done.stderr


@pytest.mark.parametrize("unit", UNIT_FILES)
def test_units_are_hardened(tmp_path: Path, unit: str) -> None:
    text = (UNITS / unit).read_text()
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                    "PrivateTmp=yes", "CapabilityBoundingSet=\n", "MemoryDenyWriteExecute=yes",
                    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                    "SystemCallFilter=@system-service", "User=itma",
                    "EnvironmentFile=/etc/itma-assistant/itma.env",
                    "StateDirectory=itma-assistant/"):
        assert setting in text, (unit, setting)
    _copies(tmp_path)
    done = subprocess.run([_analyze(), "security", "--offline=true", str(tmp_path / unit)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    found = re.search(r"Overall exposure level for .*: (\d+\.\d+)", done.stdout)
    assert found is not None, done.stdout + done.stderr
    assert float(found.group(1)) <= 2.0, done.stdout  # systemd rates <= 2.0 "OK"


def test_every_serve_unit_waits_for_the_migrations() -> None:
    for unit in ("itma-assistant.service", "itma-assistant@.service"):
        text = (UNITS / unit).read_text()
        assert "Requires=itma-assistant-migrate.service" in text
        assert re.search(r"^After=.*itma-assistant-migrate\.service", text, re.M)
        assert "ExecStart=/opt/itma/.venv/bin/itma-assistant serve\n" in text
        assert "KillSignal=SIGINT" in text  # serve's clean stop
    migrate = (UNITS / "itma-assistant-migrate.service").read_text()
    assert "Type=oneshot" in migrate and "RemainAfterExit=yes" in migrate
    assert "ExecStart=/opt/itma/.venv/bin/itma-assistant db upgrade\n" in migrate


def test_instance_ports_are_the_nginx_upstreams() -> None:
    upstreams = (ROOT / "deploy" / "nginx" / "itma-upstreams.conf").read_text()
    blocks = dict(re.findall(r"upstream (\w+) \{([^}]*)\}", upstreams))
    http = re.findall(r"server ([\d.]+:\d+);", blocks["itma_http"])
    link = re.findall(r"server ([\d.]+:\d+);", blocks["itma_link"])
    envs = sorted(UNITS.glob("instance-*.env"))
    assert len(envs) == len(http) == len(link) == 2
    values = [dict(line.split("=", 1) for line in env.read_text().splitlines()
                   if line and not line.startswith("#")) for env in envs]
    assert [v["ITMA_HTTP_LISTEN"] for v in values] == http
    assert [v["ITMA_LINK_LISTEN"] for v in values] == link
    assert len({v["ITMA_SMTP_LISTEN"] for v in values}) == 2


# --- MemoryDenyWriteExecute= without systemd -----------------------------------------------------

MDWE = ("import ctypes, os, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN\n"
        "    sys.exit('prctl(PR_SET_MDWE): ' + os.strerror(ctypes.get_errno()))\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n")
"""Runs a program with writable+executable memory refused, for it and its children."""

PROBE = ("import mmap, sys\n"
         "try:\n"
         "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
         "except PermissionError:\n"
         "    sys.exit(0)\n"
         "sys.exit('a writable and executable mapping was allowed')\n")


def _under_mdwe(*command: str) -> list[str]:
    return [sys.executable, "-c", MDWE, *command]


def test_serve_needs_no_writable_executable_memory(database_url: str, tmp_path: Path) -> None:
    probe = subprocess.run(_under_mdwe(sys.executable, "-c", PROBE), capture_output=True,
                           text=True, timeout=30)
    assert probe.returncode == 0, probe.stderr  # the restriction is really in force
    env = {"PATH": "/usr/bin:/bin", "ITMA_HOME": str(tmp_path / "home"),
           "ITMA_DATABASE_URL": database_url, "ITMA_SECRET_KEY": "test-secret-key-0123456789",
           "ITMA_HTTP_LISTEN": f"127.0.0.1:{free_port()}",
           "ITMA_LINK_LISTEN": f"127.0.0.1:{free_port()}",
           "ITMA_SMTP_LISTEN": f"127.0.0.1:{free_port()}", "ITMA_EID_OCSP": "off"}
    upgrade = subprocess.run(_under_mdwe(str(HERE), "db", "upgrade"), env=env,
                             capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    log = tmp_path / "serve.out"
    with log.open("wb") as out:
        process = subprocess.Popen(_under_mdwe(str(HERE), "serve"), env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        http_base = f"http://{env['ITMA_HTTP_LISTEN']}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(http_base + "/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        # The link page over TLS (its self-signed certificate, a template rendered).
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        unknown = urllib.request.Request(f"https://{env['ITMA_LINK_LISTEN']}/link/" + "x" * 43,
                                         headers={"Accept-Language": "en"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unknown, timeout=10, context=context)
        assert refused.value.code == 404
        page = html.unescape(refused.value.read().decode())
        assert i18n.t("en", "linkpage.invalid_title") in page
        assert process.poll() is None, log.read_text()
    finally:
        stop(process)
    assert process.returncode == 0, log.read_text()
