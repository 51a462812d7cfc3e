"""One configuration loader: environment first, then the TOML file named by ITMA_CONFIG.

A malformed setting stops start-up with one line naming it (ConfigError), never a traceback.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EID_OCSP_DEFAULT = "soft"
"""ITMA_EID_OCSP when unset: ask the OCSP responder, accept (logged) when it cannot answer."""
TEMPLATES_DIR = PROJECT_ROOT / "templates"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


def _host_port(name: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{name}: expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str | None
    signing_secret: str | None
    app_token: str | None
    api_url: str | None

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token and (self.signing_secret or self.app_token))


@dataclass(frozen=True)
class TeamsSettings:
    app_id: str | None
    app_password: str | None
    tenant_id: str | None
    allow_unauthenticated: bool
    openid_url: str | None
    service_url: str | None

    @property
    def enabled(self) -> bool:
        """Teams is served: with credentials, or unauthenticated for development and tests."""
        return bool(self.app_id and self.app_password) or self.allow_unauthenticated


@dataclass(frozen=True)
class MailSettings:
    domain: str
    sender: str
    authserv_id: str | None
    smtp_relay: str | None
    smtp_listen: tuple[str, int]
    imap_url: str | None
    helpdesk_imap_url: str | None
    helpdesk_address: str = ""


@dataclass(frozen=True)
class EidSettings:
    trust_dir: Path | None
    cert_header: str | None
    trusted_proxies: str | None
    ocsp: str
    ocsp_url: str | None


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    secret_key: bytes
    public_url: str = "https://127.0.0.1:8443"
    mail_domain: str = "itma.localhost"
    mail_from: str = "ITMA <noreply@itma.localhost>"
    mail_authserv_id: str | None = None
    smtp_relay: str | None = None
    smtp_listen: tuple[str, int] = ("127.0.0.1", 8025)
    http_listen: tuple[str, int] = ("127.0.0.1", 8080)
    link_listen: tuple[str, int] = ("127.0.0.1", 8443)
    imap_url: str | None = None
    helpdesk_imap_url: str | None = None
    helpdesk_address: str = "helpdesk-itma@itma.localhost"
    """Mail to it through the SMTP listener is triaged; acknowledgements come from it."""
    intake_secret: str | None = None
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    teams_app_id: str | None = None
    teams_app_password: str | None = None
    teams_tenant_id: str | None = None
    teams_allow_unauthenticated: bool = False
    teams_openid_url: str | None = None
    """Bot Framework OpenID metadata, whose key set signs incoming activities (tests, clouds)."""
    teams_service_url: str | None = None
    """Bot Connector used to open a 1:1 chat with someone the bot has never heard from."""
    eid_trust_dir: Path | None = None
    eid_cert_header: str | None = None
    trusted_proxies: str | None = None
    eid_ocsp: str = EID_OCSP_DEFAULT
    eid_ocsp_url: str | None = None
    outbox_lease_seconds: int = 60
    log_format: str = "text"
    """ITMA_LOG_FORMAT: text (readable lines) or json (one object per line, for shippers)."""
    extra: dict[str, str] = field(default_factory=dict)

    # One typed view per front end: adapters read these, never strings out of `extra`.
    @property
    def slack(self) -> SlackSettings:
        return SlackSettings(self.slack_bot_token, self.slack_signing_secret,
                             self.slack_app_token, self.slack_api_url)

    @property
    def teams(self) -> TeamsSettings:
        return TeamsSettings(self.teams_app_id, self.teams_app_password, self.teams_tenant_id,
                             self.teams_allow_unauthenticated, self.teams_openid_url,
                             self.teams_service_url)

    @property
    def mail(self) -> MailSettings:
        return MailSettings(self.mail_domain, self.mail_from, self.mail_authserv_id,
                            self.smtp_relay, self.smtp_listen, self.imap_url,
                            self.helpdesk_imap_url, self.helpdesk_address)

    @property
    def eid(self) -> EidSettings:
        return EidSettings(self.eid_trust_dir, self.eid_cert_header, self.trusted_proxies,
                           self.eid_ocsp, self.eid_ocsp_url)

    @property
    def slack_enabled(self) -> bool:
        return self.slack.enabled

    @property
    def teams_enabled(self) -> bool:
        return self.teams.enabled

    @property
    def maildir(self) -> Path:
        return self.home / "mail" / "outbox"


_KEYS = (
    "home", "database_url", "secret_key", "public_url", "mail_domain", "mail_from",
    "mail_authserv_id", "smtp_relay",
    "smtp_listen", "http_listen", "link_listen", "imap_url", "helpdesk_imap_url",
    "helpdesk_address", "intake_secret",
    "slack_bot_token", "slack_signing_secret", "slack_app_token", "slack_api_url",
    "teams_app_id", "teams_app_password", "teams_tenant_id", "teams_allow_unauthenticated",
    "teams_openid_url", "teams_service_url", "eid_trust_dir", "eid_cert_header",
    "trusted_proxies", "outbox_lease_seconds", "eid_ocsp", "eid_ocsp_url", "log_format",
)


def _raw_values(env: dict[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    config_file = env.get("ITMA_CONFIG")
    if config_file:
        try:
            data: dict[str, Any] = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"ITMA_CONFIG: cannot read {config_file}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"ITMA_CONFIG: {config_file} is not valid TOML: {exc}") from exc
        for key, value in data.items():
            if key not in _KEYS:
                raise ConfigError(f"ITMA_CONFIG: unknown key {key!r} in {config_file}")
            values[key] = str(value)
    for key in _KEYS:
        env_value = env.get(f"ITMA_{key.upper()}")
        if env_value is not None and env_value != "":
            values[key] = env_value
    return values


def _secret_key(home: Path, given: str | None, create: bool = True) -> bytes:
    """ITMA_SECRET_KEY, else $ITMA_HOME/secret.key, made at first use unless `create` is off
    (`doctor` creates nothing: it then gets a throwaway key and says the file is missing)."""
    if given:
        if len(given) < 16:
            raise ConfigError("ITMA_SECRET_KEY: must be at least 16 characters")
        return given.encode()
    path = home / "secret.key"
    try:
        if path.exists():
            key = path.read_text(encoding="ascii").strip()
        elif not create:
            return secrets.token_hex(32).encode()
        else:
            home.mkdir(parents=True, exist_ok=True)
            key = secrets.token_hex(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(key + "\n")
    except OSError as exc:
        raise ConfigError(f"ITMA_SECRET_KEY: cannot read or create {path}: {exc.strerror}") from exc
    if len(key) < 16:
        raise ConfigError(f"ITMA_SECRET_KEY: {path} holds a key shorter than 16 characters")
    return key.encode()


def _mailbox(name: str, value: str) -> str:
    """A bare address (local@domain), lower case: compared with recipients as given."""
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or "." not in domain or any(c in value for c in " <>,;\"'"):
        raise ConfigError(f"{name}: expected an address like helpdesk-itma@example.be, "
                          f"got {value!r}")
    return value.strip().lower()


def _positive(name: str, value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name}: expected a positive number of seconds, got {value!r}")
    return int(value)


def _slack_api_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("http://", "https://")):
        raise ConfigError("ITMA_SLACK_API_URL: expected an http(s):// URL")
    return value if value.endswith("/") else value + "/"


def _check_slack(raw: dict[str, str]) -> None:
    token = raw.get("slack_bot_token")
    if token and not (raw.get("slack_signing_secret") or raw.get("slack_app_token")):
        raise ConfigError("ITMA_SLACK_SIGNING_SECRET: needed with ITMA_SLACK_BOT_TOKEN "
                          "(or ITMA_SLACK_APP_TOKEN for Socket Mode)")
    if (raw.get("slack_signing_secret") or raw.get("slack_app_token")) and not token:
        raise ConfigError("ITMA_SLACK_BOT_TOKEN: needed for Slack (xoxb-…)")
    if raw.get("slack_app_token") and not raw["slack_app_token"].startswith("xapp-"):
        raise ConfigError("ITMA_SLACK_APP_TOKEN: expected an app-level token (xapp-…)")


def _check_teams(raw: dict[str, str]) -> bool:
    """The Teams settings hang together; returns ITMA_TEAMS_ALLOW_UNAUTHENTICATED."""
    if raw.get("teams_app_id") and not raw.get("teams_app_password"):
        raise ConfigError("ITMA_TEAMS_APP_PASSWORD: needed with ITMA_TEAMS_APP_ID (the client "
                          "secret of the bot's Entra app registration)")
    if raw.get("teams_app_password") and not raw.get("teams_app_id"):
        raise ConfigError("ITMA_TEAMS_APP_ID: needed with ITMA_TEAMS_APP_PASSWORD")
    if raw.get("teams_tenant_id") and not raw.get("teams_app_id"):
        raise ConfigError("ITMA_TEAMS_APP_ID: needed with ITMA_TEAMS_TENANT_ID")
    for key in ("teams_openid_url", "teams_service_url"):
        if key in raw and not raw[key].startswith(("http://", "https://")):
            raise ConfigError(f"ITMA_{key.upper()}: expected an http(s):// URL")
    allow = raw.get("teams_allow_unauthenticated", "0").strip().lower()
    if allow not in ("0", "1", "false", "true", "no", "yes"):
        raise ConfigError("ITMA_TEAMS_ALLOW_UNAUTHENTICATED: expected 1 (development and tests "
                          "only) or 0")
    return allow in ("1", "true", "yes")


def load_settings(env: dict[str, str] | None = None, *, create_key: bool = True) -> Settings:
    env = dict(os.environ if env is None else env)
    raw = _raw_values(env)
    home = Path(raw.get("home", "./var")).expanduser().resolve()
    database_url = raw.get("database_url") or f"sqlite:///{home / 'itma.db'}"
    if "://" not in database_url:
        raise ConfigError(f"ITMA_DATABASE_URL: not a SQLAlchemy URL: {database_url!r}")
    for key in ("public_url",):
        if key in raw and not raw[key].startswith(("http://", "https://")):
            raise ConfigError(f"ITMA_{key.upper()}: expected an http(s):// URL")
    _check_slack(raw)
    teams_allow_unauthenticated = _check_teams(raw)
    raw.setdefault("eid_ocsp", EID_OCSP_DEFAULT)
    if raw["eid_ocsp"] not in ("off", "soft", "hard"):
        raise ConfigError("ITMA_EID_OCSP: expected off, soft (accept when the responder cannot "
                          "be reached) or hard (refuse then)")
    log_format = raw.get("log_format", "text").strip().lower() or "text"
    if log_format not in ("text", "json"):
        raise ConfigError("ITMA_LOG_FORMAT: expected text or json")
    known = {k: raw[k] for k in raw if k not in Settings.__dataclass_fields__}
    return Settings(
        home=home,
        database_url=database_url,
        secret_key=_secret_key(home, raw.get("secret_key"), create_key),
        public_url=raw.get("public_url", Settings.public_url).rstrip("/"),
        mail_domain=raw.get("mail_domain", Settings.mail_domain),
        mail_from=raw.get("mail_from", Settings.mail_from),
        mail_authserv_id=raw.get("mail_authserv_id"),
        eid_trust_dir=Path(raw["eid_trust_dir"]).expanduser() if raw.get("eid_trust_dir")
        else None,
        eid_cert_header=raw.get("eid_cert_header") or None,
        trusted_proxies=raw.get("trusted_proxies") or None,
        eid_ocsp=raw["eid_ocsp"],
        eid_ocsp_url=raw.get("eid_ocsp_url") or None,
        smtp_relay=raw.get("smtp_relay"),
        smtp_listen=_host_port("ITMA_SMTP_LISTEN", raw.get("smtp_listen", "127.0.0.1:8025")),
        http_listen=_host_port("ITMA_HTTP_LISTEN", raw.get("http_listen", "127.0.0.1:8080")),
        link_listen=_host_port("ITMA_LINK_LISTEN", raw.get("link_listen", "127.0.0.1:8443")),
        imap_url=raw.get("imap_url"),
        helpdesk_imap_url=raw.get("helpdesk_imap_url"),
        helpdesk_address=_mailbox("ITMA_HELPDESK_ADDRESS", raw.get("helpdesk_address") or
                                  "helpdesk-itma@" + raw.get("mail_domain", Settings.mail_domain)),
        intake_secret=raw.get("intake_secret"),
        slack_bot_token=raw.get("slack_bot_token"),
        slack_signing_secret=raw.get("slack_signing_secret"),
        slack_app_token=raw.get("slack_app_token"),
        slack_api_url=_slack_api_url(raw.get("slack_api_url")),
        teams_app_id=raw.get("teams_app_id"),
        teams_app_password=raw.get("teams_app_password"),
        teams_tenant_id=raw.get("teams_tenant_id"),
        teams_allow_unauthenticated=teams_allow_unauthenticated,
        teams_openid_url=raw.get("teams_openid_url"),
        teams_service_url=raw.get("teams_service_url"),
        outbox_lease_seconds=_positive("ITMA_OUTBOX_LEASE_SECONDS",
                                       raw.get("outbox_lease_seconds", "60")),
        log_format=log_format,
        extra=known,
    )
