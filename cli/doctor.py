"""`itma-assistant doctor`: check the configuration without starting anything.

One line per check — `ok`, `FAIL`, `warn` or `skip` (not configured) and what was found — and
exit 1 when any check failed. Every check has a short timeout and none prints a secret: URLs
are shown without their password, tokens not at all. Nothing is created or changed: a SQLite
file that does not exist is reported, not made; the SMTP relay gets EHLO and QUIT, no mail.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import smtplib
import sqlite3
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from core.config import ConfigError, Settings, load_settings

TIMEOUT_S = 5.0
SLACK_API = "https://slack.com/api/"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
GUID_LENGTH = 36


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | FAIL | warn | skip
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name:<16} {self.detail}"


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def _fail(name: str, detail: str) -> Check:
    return Check(name, "FAIL", detail)


def _skip(name: str, detail: str = "not configured") -> Check:
    return Check(name, "skip", detail)


# -- the checks ---------------------------------------------------------------------------------


def check_database(settings: Settings) -> Check:
    from sqlalchemy import inspect, text
    from sqlalchemy.engine import make_url

    from core import migrate
    from core.db import make_engine

    name = "database"
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not path.is_file():
            return _fail(name, f"{shown}: no database file (run `itma-assistant db upgrade`)")
        try:  # read-only: the doctor never creates or changes the file
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=TIMEOUT_S) as conn:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error as exc:
            return _fail(name, f"{shown}: {exc} (run `itma-assistant db upgrade`)")
        revision = row[0] if row else None
    else:
        engine = make_engine(settings.database_url)
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                if not inspect(connection).has_table("alembic_version"):
                    return _fail(name, f"{shown}: reachable, but no schema yet (run "
                                       "`itma-assistant db upgrade`)")
                revision = connection.execute(
                    text("SELECT version_num FROM alembic_version")).scalar()
        except Exception as exc:  # driver errors of every kind: one line
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            return _fail(name, f"{shown}: {first}")
        finally:
            engine.dispose()
    head = migrate.known_revisions()[-1]
    if revision != head:
        return _fail(name, f"{shown}: schema {revision or 'none'}, this version needs {head} "
                           "(run `itma-assistant db upgrade`)")
    return _ok(name, f"{shown}: reachable, schema {head}")


def check_smtp(settings: Settings) -> Check:
    from mail_gateway.delivery import Relay, open_relay

    name = "smtp relay"
    if not settings.smtp_relay:
        return Check(name, "warn", "no ITMA_SMTP_RELAY: mail is written to the Maildir "
                                   f"{settings.maildir}, nobody receives it")
    relay = Relay.parse(settings.smtp_relay)
    try:
        with open_relay(relay, TIMEOUT_S):
            pass
    except smtplib.SMTPAuthenticationError:
        return _fail(name, f"{relay.host}:{relay.port}: login refused for {relay.user}")
    except (OSError, smtplib.SMTPException) as exc:
        return _fail(name, f"{relay.host}:{relay.port}: {exc or type(exc).__name__}")
    return _ok(name, f"{relay.host}:{relay.port}: EHLO answered"
                     f"{', login accepted' if relay.user else ''}")


def check_imap(label: str, setting: str, url: str | None) -> Check:
    from imapclient import IMAPClient
    from imapclient.exceptions import IMAPClientError, LoginError

    from mail_gateway.imap_poller import Mailbox

    if not url:
        return _skip(label)
    mailbox = Mailbox.parse(url, setting)
    where = f"{mailbox.user}@{mailbox.host}:{mailbox.port}/{mailbox.folder}"
    try:
        client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.tls, timeout=TIMEOUT_S)
        try:
            client.login(mailbox.user, mailbox.password)
            selected = client.select_folder(mailbox.folder, readonly=True)
        finally:
            with contextlib.suppress(IMAPClientError, OSError):
                client.logout()
    except LoginError:
        return _fail(label, f"{where}: login refused")
    except (IMAPClientError, OSError) as exc:
        return _fail(label, f"{where}: {exc or type(exc).__name__}")
    return _ok(label, f"{where}: logged in, {int(selected.get(b'EXISTS', 0))} messages")


def check_slack(settings: Settings) -> Check:
    name = "slack"
    token = settings.slack.bot_token
    if not token:
        return _skip(name)
    base = settings.slack.api_url or SLACK_API
    request = urllib.request.Request(base.rstrip("/") + "/auth.test", data=b"", method="POST",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            answer = json.loads(response.read(65536))
    except (OSError, ValueError) as exc:
        return _fail(name, f"auth.test at {base}: {exc}")
    if not answer.get("ok"):
        return _fail(name, f"auth.test at {base}: {answer.get('error', 'refused')}")
    return _ok(name, f"auth.test: bot {answer.get('user_id')} in team {answer.get('team_id')}")


def check_teams(settings: Settings) -> Check:
    name = "teams"
    teams = settings.teams
    if teams.allow_unauthenticated:
        return Check(name, "warn", "ITMA_TEAMS_ALLOW_UNAUTHENTICATED=1: activities are not "
                                   "verified (development and tests only)")
    if not teams.app_id:
        return _skip(name)
    problems = [f"{setting} is not a GUID" for setting, value in (
        ("ITMA_TEAMS_APP_ID", teams.app_id), ("ITMA_TEAMS_TENANT_ID", teams.tenant_id))
        if value and not _is_guid(value)]
    if not teams.app_password:
        problems.append("ITMA_TEAMS_APP_PASSWORD is empty")
    if problems:
        return _fail(name, "; ".join(problems))
    tenant = "single tenant " + (teams.tenant_id or "") if teams.tenant_id else "multi-tenant"
    return _ok(name, f"app {teams.app_id}, {tenant}, password present (not verified: that "
                     "needs Microsoft's login service)")


def _is_guid(value: str) -> bool:
    parts = value.split("-")
    return (len(value) == GUID_LENGTH and [len(p) for p in parts] == [8, 4, 4, 4, 12]
            and all(c in "0123456789abcdefABCDEF" for c in "".join(parts)))


def check_trust(settings: Settings) -> Check:
    from core.eid import TrustStore

    name = "eid trust"
    where = settings.eid_trust_dir or "the shipped Belgian roots"
    try:
        store = TrustStore.from_dir(settings.eid_trust_dir)
    except (ValueError, OSError) as exc:
        return _fail(name, str(exc))
    expired = [c for c in store.roots if c.not_valid_after_utc < datetime.now(UTC)]
    if len(expired) == len(store.roots):
        return _fail(name, f"{where}: every root certificate has expired")
    return _ok(name, f"{where}: {len(store.roots)} roots, {len(store.intermediates)} "
                     "intermediates")


def check_link_certificate(settings: Settings) -> Check:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    name = "link page cert"
    folder = settings.home / "tls"
    cert_path, key_path = folder / "link.crt", folder / "link.key"
    host = urlsplit(settings.public_url).hostname or ""
    if settings.eid_cert_header:
        return _skip(name, "TLS ends at the proxy (ITMA_EID_CERT_HEADER): its certificate is "
                           "the one browsers see")
    if not cert_path.exists() and not key_path.exists():
        return Check(name, "warn", f"no {cert_path}: serve will generate a self-signed one "
                                   "(browsers warn; install a real certificate, or terminate "
                                   "TLS at the proxy)")
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        return _fail(name, f"{cert_path} / {key_path}: {exc}")
    if cert.public_key().public_bytes(serialization.Encoding.DER,
                                      serialization.PublicFormat.SubjectPublicKeyInfo) != \
            key.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo):
        return _fail(name, f"{key_path} is not the key of {cert_path}")
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return _fail(name, f"{cert_path}: valid {cert.not_valid_before_utc:%Y-%m-%d} to "
                           f"{cert.not_valid_after_utc:%Y-%m-%d}, not now")
    if not _names_host(cert, host):
        return _fail(name, f"{cert_path} is not valid for {host!r} (the host of "
                           "ITMA_PUBLIC_URL)")
    days = (cert.not_valid_after_utc - now).days
    return Check(name, "ok" if days >= 14 else "warn",
                 f"{cert_path}: valid for {host}, expires in {days} days")


def _names_host(cert, host: str) -> bool:  # type: ignore[no-untyped-def]
    from cryptography import x509

    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return address in names.get_values_for_type(x509.IPAddress)
    for pattern in names.get_values_for_type(x509.DNSName):
        pattern, host = pattern.lower(), host.lower()
        if pattern == host or (pattern.startswith("*.") and host.count(".") >= 2
                               and host.split(".", 1)[1] == pattern[2:]):
            return True
    return False


def check_public_url(settings: Settings) -> Check:
    name = "public url"
    parts = urlsplit(settings.public_url)
    host = parts.hostname or ""
    if parts.query or parts.fragment:
        return _fail(name, f"{settings.public_url}: no query or fragment expected")
    if parts.scheme != "https" and host not in LOCAL_HOSTS:
        return _fail(name, f"{settings.public_url}: officers type their eID PIN behind it; "
                           "https is required except on localhost")
    if settings.eid_cert_header and not settings.trusted_proxies:
        return _fail(name, "ITMA_EID_CERT_HEADER is set but ITMA_TRUSTED_PROXIES is not: the "
                           "certificate header would be honoured from nobody")
    mode = (f"behind a proxy (certificate in {settings.eid_cert_header})"
            if settings.eid_cert_header else "TLS at the link page itself")
    return _ok(name, f"{settings.public_url}: {mode}")


def _key_given() -> bool:
    """ITMA_SECRET_KEY set in the environment or in the ITMA_CONFIG file."""
    if os.environ.get("ITMA_SECRET_KEY"):
        return True
    try:
        config = os.environ.get("ITMA_CONFIG")
        return bool(config and tomllib.loads(Path(config).read_text()).get("secret_key"))
    except (OSError, ValueError):
        return False


def checks(settings: Settings) -> Iterator[Callable[[], Check]]:
    yield lambda: check_database(settings)
    yield lambda: check_smtp(settings)
    yield lambda: check_imap("imap replies", "ITMA_IMAP_URL", settings.imap_url)
    yield lambda: check_imap("imap helpdesk", "ITMA_HELPDESK_IMAP_URL",
                             settings.helpdesk_imap_url)
    yield lambda: check_slack(settings)
    yield lambda: check_teams(settings)
    yield lambda: check_trust(settings)
    yield lambda: check_public_url(settings)
    yield lambda: check_link_certificate(settings)


def doctor(_args: argparse.Namespace) -> int:
    try:
        settings = load_settings(create_key=False)
    except ConfigError as exc:
        print(_fail("settings", str(exc)).line())
        print("1 check(s) failed; the others need settings that parse")
        return 1
    print(_ok("settings", f"parsed; ITMA_HOME {settings.home}").line())
    if not _key_given() and not (settings.home / "secret.key").exists():
        print(Check("secret key", "warn", f"no ITMA_SECRET_KEY and no {settings.home}/"
                    "secret.key yet: the first command makes one; every instance of a "
                    "deployment needs the same").line())
    failed = 0
    for run in checks(settings):
        try:
            result = run()
        except ConfigError as exc:
            result = _fail("settings", str(exc))
        print(result.line(), flush=True)
        failed += result.status == "FAIL"
    print(f"{failed} check(s) failed" if failed else "every check passed")
    return 1 if failed else 0
