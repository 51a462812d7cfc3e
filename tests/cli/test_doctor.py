"""`doctor` against working settings (real aiosmtpd, Dovecot, PostgreSQL or SQLite, the local Slack
Web API) and against each way they break: one FAIL line naming the problem, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.link_page import ensure_server_certificate
from cli import doctor
from core import migrate
from core.app import App
from core.config import load_settings
from tests.support.dovecot import DovecotServer, dovecot
from tests.support.pki import build_pki, write_trust_dir
from tests.support.processes import free_port
from tests.support.slack_mock import SlackMock
from tests.support.smtp_sink import SmtpSink

SECRET = "test-secret-key-0123456789"
PUBLIC = "https://itma.example.be"


@pytest.fixture(scope="module")
def imap() -> Iterator[DovecotServer]:
    with dovecot() as server:
        yield server


@pytest.fixture
def working(tmp_path: Path, database_url: str, imap: DovecotServer) -> Iterator[dict[str, str]]:
    """Settings where every check passes, with the services they name running."""
    home = tmp_path / "home"
    settings = load_settings({"ITMA_HOME": str(home), "ITMA_DATABASE_URL": database_url,
                              "ITMA_SECRET_KEY": SECRET})
    app = App(settings)
    migrate.upgrade(app.db)
    app.close()
    ensure_server_certificate(home, PUBLIC)
    trust = write_trust_dir(tmp_path / "trust", build_pki().trust_pems())
    sink = SmtpSink().start()
    slack = SlackMock().start()
    try:
        yield {"ITMA_HOME": str(home), "ITMA_DATABASE_URL": database_url,
               "ITMA_SECRET_KEY": SECRET, "ITMA_PUBLIC_URL": PUBLIC,
               "ITMA_SMTP_RELAY": sink.url, "ITMA_IMAP_URL": imap.url("replies"),
               "ITMA_HELPDESK_IMAP_URL": imap.url("helpdesk"),
               "ITMA_SLACK_BOT_TOKEN": slack.bot_token, "ITMA_SLACK_SIGNING_SECRET": "s" * 32,
               "ITMA_SLACK_API_URL": slack.api_url, "ITMA_EID_TRUST_DIR": str(trust),
               "ITMA_TEAMS_APP_ID": "0b7e3c1a-5d2f-4a8b-9c6d-1e2f3a4b5c6d",
               "ITMA_TEAMS_APP_PASSWORD": "not-a-real-password",
               "ITMA_TEAMS_TENANT_ID": "7f0e9d8c-6b5a-4c3d-2e1f-0a9b8c7d6e5f"}
    finally:
        sink.stop()
        slack.stop()


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         env: dict[str, str]) -> tuple[int, dict[str, str]]:
    for key in [k for k in os.environ if k.startswith("ITMA_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = doctor.doctor(None)  # type: ignore[arg-type]
    lines = capsys.readouterr().out.splitlines()
    by_name = {}
    for line in lines[:-1]:
        status, rest = line.split(None, 1)
        for name in ("settings", "database", "smtp relay", "imap replies", "imap helpdesk",
                     "slack", "teams", "eid trust", "public url", "link page cert"):
            if rest.startswith(name + " ") or rest == name:
                by_name[name] = f"{status} {rest[len(name):].strip()}"
    return code, by_name


def test_every_check_passes_on_working_settings(working: dict[str, str]) -> None:
    """Through the real entry point, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITMA_")}
    env.update(working, PYTHONPATH=str(Path.cwd()), LANG="C.UTF-8")
    done = subprocess.run([sys.executable, "-m", "cli", "doctor"], capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 11 and lines[-1] == "every check passed", done.stdout
    assert all(line.split()[0] == "ok" for line in lines[:-1]), done.stdout
    assert "auth.test: bot UBOT in team T1" in done.stdout
    for secret in (SECRET, working["ITMA_SLACK_BOT_TOKEN"], "not-a-real-password",
                   ":secret@"):
        assert secret not in done.stdout


def _expired_certificate(home: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "itma.example.be")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - timedelta(days=400)).not_valid_after(now - timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("itma.example.be")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (home / "tls" / "link.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (home / "tls" / "link.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def test_each_broken_setting_fails_its_own_check(
        working: dict[str, str], imap: DovecotServer, tmp_path: Path, database_url: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert imap.password == "secret" and ":secret@" in working["ITMA_IMAP_URL"]
    code, found = _run(monkeypatch, capsys, working)
    assert code == 0 and all(v.startswith("ok") for v in found.values()), found

    slack = SlackMock().start()
    slack.fail("auth.test", "invalid_auth")
    unmigrated = (f"sqlite:///{tmp_path / 'empty.db'}" if database_url.startswith("sqlite")
                  else database_url.rsplit("/", 1)[0] + "/postgres")
    if database_url.startswith("sqlite"):
        (tmp_path / "empty.db").write_bytes(b"")
    broken_cases = [
        ({"ITMA_DATABASE_URL": unmigrated}, "database", "db upgrade"),
        ({"ITMA_SMTP_RELAY": f"smtp://127.0.0.1:{free_port()}"}, "smtp relay",
         "Connection refused"),
        ({"ITMA_IMAP_URL": working["ITMA_IMAP_URL"].replace(":secret@", ":wrong@")},
         "imap replies", "login refused"),
        ({"ITMA_SLACK_API_URL": slack.api_url}, "slack", "invalid_auth"),
        ({"ITMA_TEAMS_APP_ID": "itma-bot"}, "teams", "ITMA_TEAMS_APP_ID is not a GUID"),
        ({"ITMA_EID_TRUST_DIR": str(tmp_path / "nowhere")}, "eid trust", "does not exist"),
        ({"ITMA_PUBLIC_URL": "http://itma.example.be"}, "public url", "https is required"),
        ({"ITMA_PUBLIC_URL": "https://other.example.be"}, "link page cert",
         "not valid for 'other.example.be'"),
        ({"ITMA_EID_CERT_HEADER": "X-SSL-Client-Cert"}, "public url", "ITMA_TRUSTED_PROXIES"),
    ]
    try:
        for change, check, reason in broken_cases:
            code, found = _run(monkeypatch, capsys, working | change)
            assert code == 1, (change, found)
            assert found[check].startswith("FAIL") and reason in found[check], (change, found)
            failed = [name for name, line in found.items() if line.startswith("FAIL")]
            assert failed == [check], (change, found)
    finally:
        slack.stop()

    _expired_certificate(Path(working["ITMA_HOME"]))
    code, found = _run(monkeypatch, capsys, working)
    assert code == 1 and found["link page cert"].startswith("FAIL") \
        and "not now" in found["link page cert"], found

    behind_proxy = {"ITMA_EID_CERT_HEADER": "X-Client-Cert", "ITMA_TRUSTED_PROXIES": "10.0.0.2/32"}
    code, found = _run(monkeypatch, capsys, working | behind_proxy)
    assert code == 0 and found["link page cert"].startswith("skip TLS ends at the proxy"), found

    code, found = _run(monkeypatch, capsys, working | {"ITMA_HTTP_LISTEN": "nowhere"})
    assert code == 1 and found == {"settings": "FAIL ITMA_HTTP_LISTEN: expected HOST:PORT, "
                                               "got 'nowhere'"}, found


def test_doctor_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """A fresh home: the missing key and database are reported, neither is made."""
    home = tmp_path / "fresh"
    for key in [k for k in os.environ if k.startswith("ITMA_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("ITMA_HOME", str(home))
    assert doctor.doctor(None) == 1  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "warn  secret key" in out and "FAIL  database" in out and "no database file" in out
    assert not home.exists()
