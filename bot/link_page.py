"""The eID link page on ITMA_LINK_LISTEN: a small TLS server asking for a client certificate.

An officer opens the one-time URL the chat gave them (``/link/{token}``); the browser presents
the eID card's Authentication certificate in the TLS handshake; the :class:`core.eid.Verifier`
built once from the settings checks it fully (pinned roots, key usage, NRN, OCSP); the page asks
"Link this chat account to <officer>?" in the officer's language, showing the platform,
workspace, user id and when the link was asked for, with a warning to confirm only one's own
account; a POST confirms (:mod:`core.services.links`).

Why the confirmation is safe
    The browser presents the card's certificate to any page that posts here, like a cookie. So the
    form's value is an HMAC of the link *and of the certificate the page was shown with*, and the
    POST is checked against the certificate presented with the POST: a value an attacker read
    with their own card is worthless with the victim's card. POSTs whose ``Origin`` is not ours
    (``ITMA_PUBLIC_URL``'s origin or the page's own host), or whose ``Sec-Fetch-Site`` is not
    ``same-origin``/``none``, are refused before anything else. The page's referrer policy is
    ``same-origin``: with ``no-referrer`` browsers send ``Origin: null`` even for our own form.

TLS, and what the handshake itself checks
    The server context uses ``CERT_OPTIONAL`` and loads the eID trust store as verify locations,
    so the browser is asked for a certificate and OpenSSL checks the chain. Two consequences, both
    deliberate:

    * time checks are switched off at the TLS layer (``X509_V_FLAG_NO_CHECK_TIME``) so that an
      expired (or not yet valid) card reaches the page and gets a plain-words explanation instead
      of a browser error; the verifier then refuses it with the precise reason;
    * a certificate from an unknown hierarchy, or one whose key usage does not allow TLS client
      authentication (the card's *Signature* certificate), is refused by the handshake itself:
      Python's ``ssl`` module offers no verify callback to defer that decision to us. The browser
      then shows its own error; the precise reason is shown in proxy mode (below), where nginx
      runs with ``ssl_verify_client optional_no_ca`` and hands every certificate to the page.

    The server certificate is ``$ITMA_HOME/tls/link.crt`` + ``link.key``; when absent, a
    self-signed one is generated there at first start (with a warning to install a real one).

Proxy mode (``ITMA_EID_CERT_HEADER``)
    Behind a TLS-terminating proxy the certificate arrives as the URL-escaped PEM in that header
    (nginx ``$ssl_client_escaped_cert``). It is honoured only when the connecting address is in
    ``ITMA_TRUSTED_PROXIES`` (comma-separated CIDRs); from anywhere else it is ignored and logged.
    The proxy may speak TLS to this server (``proxy_pass https://…``, the default, one listener
    for both modes), or plain HTTP with ``LinkPage(app, serve_plain=True)``: that variant has no
    TLS at all and therefore only starts when the header *and* trusted proxies are configured, so
    it can never accept a link without a proxy-verified certificate.

Bounded by construction
    Connections live on one event loop thread: the TLS handshake, the request head and the body
    must all arrive within :attr:`Limits.deadline` seconds, however slowly the bytes drip, and
    an idle or slow connection holds no thread. Only a complete request is handed to a fixed pool
    of :attr:`Limits.workers` threads (database, OCSP, rendering). Beyond
    :attr:`Limits.max_connections` simultaneous connections, or :attr:`Limits.max_per_client` from
    one address (trusted proxies excepted), new connections are closed at once (plain HTTP: a
    quick 503). One request per connection (``Connection: close``).

Privacy: the national register number is never logged or rendered; the token (a secret) is
logged truncated only. Unexpected errors give a 500 page and a logged traceback, never a
traceback to the browser.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import http.client
import io
import ipaddress
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core import clock, eid, i18n, logs, metrics
from core.app import App
from core.config import TEMPLATES_DIR, ConfigError
from core.errors import DomainError
from core.services import card_login, links

log = logging.getLogger(__name__)

X509_V_FLAG_NO_CHECK_TIME = 0x200000
"""OpenSSL's flag (not exposed by :mod:`ssl`); dates are checked by ``core.eid.validate``."""

ACCESS_FORM = "access"
"""The hidden `form` value of the access request form (the link confirmation has none)."""
LANGUAGES = ("fr", "nl", "de", "en")
MAX_BODY = 4096
"""The confirmation form."""
MAX_CARD_BODY = 20_000
"""The card API's JSON: a certificate, a nonce and a signature."""
MAX_HEAD = 16_384
_PATH = re.compile(r"^/link/([A-Za-z0-9_-]{16,128})$")
_CARD_PATH = re.compile(r"^/link/([A-Za-z0-9_-]{16,128})/(challenge|card)$")
_STATUS_FOR = {"link_unknown": 404, "link_used": 410, "link_expired": 410}
_SAME_ORIGIN_FETCHES = ("same-origin", "none")
_DEFAULT_PORTS = {"http": 80, "https": 443}

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class Limits:
    """How much of the machine the link page may take (see the module docstring)."""

    workers: int = 8
    max_connections: int = 256
    max_per_client: int = 32
    deadline: float = 10.0
    """Seconds for a connection's TLS handshake, request head and body together."""
    backlog: int = 128


# --- configuration -----------------------------------------------------------------------------


def parse_proxies(value: str | None) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    if not value:
        return ()
    networks = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"ITMA_TRUSTED_PROXIES: not an address or CIDR: {part!r}") from None
    return tuple(networks)


def _public_host(public_url: str) -> str:
    return urlsplit(public_url).hostname or "localhost"


def ensure_server_certificate(home: Path, public_url: str) -> tuple[Path, Path]:
    """``$ITMA_HOME/tls/link.crt``/``link.key``, generated self-signed when missing."""
    folder = home / "tls"
    cert_path, key_path = folder / "link.crt", folder / "link.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    host = _public_host(public_url)
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    unique: list[x509.GeneralName] = []
    for name in names:
        if name not in unique:
            unique.append(name)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(unique), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.warning("link page: generated a self-signed TLS certificate in %s; install a real "
                "certificate for %s there (link.crt, link.key)", folder, host)
    return cert_path, key_path


def server_context(cert_path: Path, key_path: Path, trust: eid.TrustStore) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    context.verify_mode = ssl.CERT_OPTIONAL
    pems = [c.public_bytes(serialization.Encoding.PEM).decode("ascii")
            for c in (*trust.roots, *trust.intermediates)]
    context.load_verify_locations(cadata="".join(pems))
    context.verify_flags = context.verify_flags | X509_V_FLAG_NO_CHECK_TIME
    return context


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` as browsers serialise an Origin (default port left out)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


# --- rendering ---------------------------------------------------------------------------------


_env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR / "web")),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   undefined=StrictUndefined)


@dataclass(frozen=True)
class Page:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"

    def encode(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}",
                 f"Content-Type: {self.content_type}",
                 f"Content-Length: {len(self.body)}",
                 "Connection: close",
                 *(f"{name}: {value}" for name, value in SECURITY_HEADERS.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def render(language: str, status: int, kind: str, heading: str, message: str, *,
           hint: str | None = None, form: dict[str, str] | None = None,
           details: Iterable[tuple[str, str]] = (), warning: str | None = None,
           fields: Iterable[dict[str, Any]] = ()) -> Page:
    language = i18n.language_or_default(language)

    def t(key: str, **params: Any) -> str:
        return i18n.t(language, key, **params)

    html = _env.get_template("link.html").render(
        lang=language, t=t, kind=kind, heading=heading, message=message, hint=hint, form=form,
        details=list(details), warning=warning, fields=list(fields))
    return Page(status, html.encode("utf-8"))


def _json(status: int, answer: dict[str, Any]) -> Page:
    return Page(status, json.dumps(answer).encode(), "application/json")


def accepted_language(header: str | None) -> str:
    """The best of our four languages in an Accept-Language header; French otherwise."""
    best: tuple[float, int, str] | None = None
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in i18n.LANGUAGES:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        candidate = (-quality, index, primary)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else i18n.DEFAULT_LANGUAGE


def _redacted(target: str) -> str:
    path = urlsplit(target or "").path
    match = _PATH.match(path) or _CARD_PATH.match(path)
    return f"/link/{match.group(1)[:6]}…" if match else path[:40]


# --- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One complete HTTP request, read by the event loop before any worker thread sees it."""

    method: str
    target: str
    headers: Message
    body: bytes = b""
    client_ip: str = ""
    peer_certificate: bytes | None = field(default=None, repr=False)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path


class _BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _parse_head(head: bytes) -> tuple[str, str, Message]:
    request_line, _, rest = head.partition(b"\r\n")
    parts = request_line.decode("latin-1").split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1") or not parts[1].startswith("/"):
        raise _BadRequest(400)
    try:
        headers = http.client.parse_headers(io.BytesIO(rest))
    except http.client.HTTPException:
        raise _BadRequest(431) from None
    return parts[0], parts[1], headers


def _body_length(method: str, target: str, headers: Message) -> int:
    if headers.get("Transfer-Encoding") is not None:
        raise _BadRequest(411)
    given = headers.get_all("Content-Length") or []
    if len(given) > 1 or (given and not given[0].strip().isdigit()):
        raise _BadRequest(400)
    length = int(given[0]) if given else 0
    limit = MAX_CARD_BODY if _CARD_PATH.match(urlsplit(target).path) else MAX_BODY
    if method != "POST" and length:
        raise _BadRequest(400)
    if length > limit:
        raise _BadRequest(413)
    return length


# --- the page ----------------------------------------------------------------------------------


class LinkPage:
    """``start()`` serves in a background thread; ``stop()`` closes the socket."""

    def __init__(self, app: App, *, serve_plain: bool = False,
                 verifier: eid.Verifier | None = None, limits: Limits | None = None) -> None:
        self.app = app
        settings = app.settings
        self.serve_plain = serve_plain
        self.verifier = verifier or eid.Verifier.from_settings(settings)
        self.limits = limits or Limits()
        self.cert_header = settings.eid.cert_header
        self.trusted_proxies = parse_proxies(settings.eid.trusted_proxies)
        self.public_origin = origin_of(settings.public_url)
        if serve_plain and not (self.cert_header and self.trusted_proxies):
            raise ConfigError("ITMA_EID_CERT_HEADER: the plain-HTTP link page (behind a proxy) "
                              "needs ITMA_EID_CERT_HEADER and ITMA_TRUSTED_PROXIES")
        self._listener: _Listener | None = None

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None:
            raise RuntimeError("the link page is not started")
        return self._listener.address

    def start(self) -> LinkPage:
        context = None
        if not self.serve_plain:
            cert, key = ensure_server_certificate(self.app.settings.home,
                                                  self.app.settings.public_url)
            context = server_context(cert, key, self.verifier.trust)
        host, port = self.app.settings.link_listen
        try:
            sock = socket.create_server(
                (host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                backlog=self.limits.backlog)
        except OSError as exc:
            raise ConfigError(f"ITMA_LINK_LISTEN: cannot listen on {host}:{port}: "
                              f"{exc.strerror}") from None
        self._listener = _Listener(self, sock, context)
        self._listener.start()
        log.info("link page listening on %s:%d (%s, OCSP %s)", *self.address,
                 "plain HTTP behind a proxy" if self.serve_plain else "TLS", self.verifier.mode)
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def __enter__(self) -> LinkPage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- request logic (independent of the HTTP plumbing) ---

    def trusted(self, client_ip: str) -> bool:
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted_proxies)

    def certificate(self, client_ip: str, header_value: str | None,
                    peer_der: bytes | None) -> bytes | str | None:
        """The proxy header from a trusted proxy, else the TLS peer certificate."""
        if self.cert_header and header_value:
            if self.trusted(client_ip):
                pem = unquote(header_value).strip()
                if pem:
                    return pem
            else:
                log.warning("link page: ignored %s header from untrusted address %s",
                            self.cert_header, client_ip)
        return peer_der

    def cross_site(self, headers: Message) -> bool:
        """True when a browser tells us the POST does not come from our own page."""
        fetch_site = headers.get("Sec-Fetch-Site")
        if fetch_site is not None and fetch_site.strip().lower() not in _SAME_ORIGIN_FETCHES:
            return True
        origin = headers.get("Origin")
        if origin is None:
            return False  # not a browser form (the card CLI, curl): the certificate binding holds
        ours = {self.public_origin}
        host = headers.get("Host")
        if host:
            ours.add(origin_of(f"https://{host.strip()}"))
        ours.discard(None)
        return origin_of(origin) not in ours

    def respond(self, request: Request) -> Page:
        """Runs on a worker thread; never raises. One action for the logs (its own id)."""
        language = accepted_language(request.headers.get("Accept-Language"))
        card = _CARD_PATH.match(request.path)
        try:
            with logs.bound():
                return self._route(request, language)
        except Exception:
            log.exception("link page: unexpected error on %s", _redacted(request.target))
            if card:
                return _json(500, {"error": "unexpected error"})
            return render(language, 500, "error",
                          i18n.t(language, "linkpage.server_error_title"),
                          i18n.t(language, "linkpage.server_error"))

    def _route(self, request: Request, language: str) -> Page:
        if request.method not in ("GET", "POST"):
            return Page(405, b"")
        card = _CARD_PATH.match(request.path)
        if request.method == "POST" and self.cross_site(request.headers):
            metrics.link_attempt("cross_site")
            log.warning("link page: cross-site POST refused on %s (Origin %.80r, Sec-Fetch-Site "
                        "%.20r)", _redacted(request.target), request.headers.get("Origin"),
                        request.headers.get("Sec-Fetch-Site"))
            if card:
                return _json(403, {"error": "cross-site request refused", "reason": "cross_site"})
            return render(language, 403, "error", i18n.t(language, "linkpage.csrf_title"),
                          i18n.t(language, "linkpage.cross_site"))
        if card:
            if request.method != "POST":
                return Page(405, b"")
            return self._card(card.group(1), card.group(2), request.body)
        form = None
        if request.method == "POST":
            form = _form(request.body)
            if form is None:
                return render(language, 400, "error", i18n.t(language, "linkpage.csrf_title"),
                              i18n.t(language, "linkpage.csrf_invalid"))
        header = request.headers.get(self.cert_header) if self.cert_header else None
        cert = self.certificate(request.client_ip, header, request.peer_certificate)
        return self.handle(request.method, request.path, language, cert, form)

    def handle(self, method: str, path: str, browser_language: str, cert: bytes | str | None,
               form: dict[str, list[str]] | None) -> Page:
        match = _PATH.match(path)
        if match is None:
            metrics.link_attempt("not_found")
            return render(browser_language, 404, "error",
                          i18n.t(browser_language, "linkpage.invalid_title"),
                          i18n.t(browser_language, "linkpage.not_found"))
        token = match.group(1)
        try:
            with self.app.unit_of_work(readonly=True) as uow:
                links.pending(uow, token)
        except DomainError as exc:
            return self._domain_error(exc, browser_language, token)
        if cert is None:
            metrics.link_attempt("no_certificate")
            return render(browser_language, 403, "card",
                          i18n.t(browser_language, "linkpage.insert_card_title"),
                          i18n.t(browser_language, "linkpage.insert_card"))
        try:
            identity = self.verifier.validate(cert)
        except eid.Refusal as refusal:
            log.info("link page: certificate refused (%s) for token %s…", refusal.reason,
                     token[:6])
            metrics.link_attempt(refusal.reason)
            return render(browser_language, 403, "refused",
                          i18n.t(browser_language, "linkpage.refused_title"),
                          i18n.t(browser_language, f"linkpage.refusal_{refusal.reason}"),
                          hint=i18n.t(browser_language, "linkpage.refused_hint"))
        if method == "GET":
            return self._confirm(token, identity, browser_language)
        return self._complete(token, identity, browser_language, form or {})

    def _confirm(self, token: str, identity: eid.Identity, browser_language: str) -> Page:
        try:
            with self.app.unit_of_work(readonly=True) as uow:
                found = links.preview(uow, token, identity)
                language = found.officer.language.value
                name, link = found.officer.display_name, found.link
                platform, workspace, user = link.platform, link.workspace, link.user_ref
                minutes = max(0, int((clock.now() - link.created_at).total_seconds() // 60))
                confirmation = found.confirmation
        except DomainError as exc:
            if exc.code == "link_no_officer":
                return self._access_page(token, identity, browser_language)
            return self._domain_error(exc, browser_language, token)

        def t(key: str, variant: int | None = None, **params: Any) -> str:
            return i18n.t(language, key, variant, **params)

        metrics.link_attempt("shown")
        return render(language, 200, "confirm", t("linkpage.confirm_title"),
                      t("linkpage.confirm_question", name=name),
                      hint=t("linkpage.confirm_explain"),
                      details=[(t("linkpage.account_platform"), t(f"linkpage.platform_{platform}")),
                               (t("linkpage.account_workspace"), workspace),
                               (t("linkpage.account_user"), user),
                               (t("linkpage.account_requested"),
                                t("linkpage.requested_ago", minutes, minutes=minutes))],
                      warning=t("linkpage.confirm_warning"),
                      form={"action": f"/link/{token}", "csrf": confirmation,
                            "button": t("linkpage.confirm_button")})

    def _complete(self, token: str, identity: eid.Identity, browser_language: str,
                  form: dict[str, list[str]]) -> Page:
        given = (form.get("csrf") or [""])[0]
        if (form.get("form") or [""])[0] == ACCESS_FORM:
            return self._request_access(token, identity, browser_language, given, form)
        try:
            with self.app.unit_of_work() as uow:
                found = links.preview(uow, token, identity)
                language = found.officer.language.value
                if not found.confirms(given):
                    metrics.link_attempt("confirmation_invalid")
                    log.warning("link page: confirmation not valid for link %s… with certificate "
                                "%s…", token[:6], identity.fingerprint_sha256[:16])
                    return render(language, 403, "error",
                                  i18n.t(language, "linkpage.csrf_title"),
                                  i18n.t(language, "linkpage.csrf_invalid"))
                done = links.complete(uow, token, identity)
                name = done.officer.display_name
                log.info("link page: %s linked to officer %d (certificate %s…)",
                         done.account, done.officer.id, identity.fingerprint_sha256[:16])
        except DomainError as exc:
            return self._domain_error(exc, browser_language, token)
        metrics.link_attempt("linked")
        return render(language, 200, "done", i18n.t(language, "linkpage.done_title"),
                      i18n.t(language, "linkpage.done", name=name))

    def _access_page(self, token: str, identity: eid.Identity, language: str,
                     answers: links.AccessAnswers | None = None, error: str | None = None,
                     status: int = 200) -> Page:
        """A valid card whose holder is no officer yet: the short access request form."""
        try:
            with self.app.unit_of_work(readonly=True) as uow:
                found = links.access_form(uow, token, identity)
                organisations = [(o.code, f"{o.code} — {o.name(language)}")
                                 for o in found.organisations]
        except DomainError as exc:
            return self._domain_error(exc, language, token)

        def t(key: str, **params: Any) -> str:
            return i18n.t(language, key, **params)

        metrics.link_attempt("access_form")
        given = answers or links.AccessAnswers("", "", "", language)
        return render(
            language, status, "access", t("linkpage.access_title"),
            t("linkpage.access_question", name=f"{identity.given_names} {identity.surname}"),
            hint=t("linkpage.access_explain"), warning=error,
            form={"action": f"/link/{token}", "csrf": found.confirmation,
                  "button": t("linkpage.access_button"), "kind": ACCESS_FORM},
            fields=[{"name": "organisation", "label": t("linkpage.access_organisation"),
                     "options": organisations, "value": given.organisation},
                    {"name": "function", "label": t("linkpage.access_function"),
                     "type": "text", "value": given.function, "max": 200},
                    {"name": "email", "label": t("linkpage.access_email"), "type": "email",
                     "value": given.email, "max": 254},
                    {"name": "language", "label": t("linkpage.access_language"),
                     "options": [(code, t(f"language.{code}")) for code in LANGUAGES],
                     "value": given.language}])

    def _request_access(self, token: str, identity: eid.Identity, browser_language: str,
                        given: str, form: dict[str, list[str]]) -> Page:
        def one(name: str) -> str:
            return (form.get(name) or [""])[0].strip()[:300]

        answers = links.AccessAnswers(one("organisation"), one("function"), one("email"),
                                      one("language") or browser_language)
        language = i18n.language_or_default(answers.language)
        try:
            with self.app.unit_of_work() as uow:
                request, created = links.request_access(uow, token, identity, given, answers)
                number = request.id
        except DomainError as exc:
            if exc.code == "access_form_invalid":
                metrics.link_attempt("access_form_invalid")
                log.warning("link page: access form not valid for link %s… with certificate "
                            "%s…", token[:6], identity.fingerprint_sha256[:16])
                return render(language, 403, "error", i18n.t(language, "linkpage.csrf_title"),
                              i18n.t(language, "linkpage.csrf_invalid"))
            if exc.code in ("link_unknown", "link_used", "link_expired",
                            "access_already_officer"):
                return self._domain_error(exc, language, token)
            return self._access_page(token, identity, language, answers,
                                     exc.message(language), 400)
        log.info("link page: access request %d %s (certificate %s…)", number,
                 "stored" if created else "already pending", identity.fingerprint_sha256[:16])
        metrics.link_attempt("access_requested")
        key = "linkpage.access_sent" if created else "linkpage.access_pending"
        return render(language, 200, "done", i18n.t(language, "linkpage.access_sent_title"),
                      i18n.t(language, key, id=number))

    def _card(self, token: str, step: str, body: bytes) -> Page:
        """The card path of `itma-assistant link card`: JSON in, JSON out."""
        try:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            return _json(200, card_step(self.app, self.verifier, token, step, data))
        except (ValueError, KeyError, TypeError) as exc:
            return _json(400, {"error": f"malformed request: {exc}"})
        except eid.Refusal as exc:
            log.info("link page: card login refused (%s) for token %s…", exc.reason, token[:6])
            metrics.link_attempt(exc.reason)
            return _json(403, {"error": str(exc), "reason": exc.reason})
        except DomainError as exc:
            metrics.link_attempt(exc.code)
            status = 410 if exc.code in ("link_used", "link_expired") else 403
            return _json(status, {"error": exc.message("en"), "reason": exc.code})

    def _domain_error(self, exc: DomainError, language: str, token: str) -> Page:
        log.info("link page: %s for token %s…", exc.code, token[:6])
        metrics.link_attempt(exc.code)
        return render(language, _STATUS_FOR.get(exc.code, 403), "error",
                      i18n.t(language, "linkpage.invalid_title"), exc.message(language))


def _form(body: bytes) -> dict[str, list[str]] | None:
    try:
        return parse_qs(body.decode("ascii"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return None


def card_step(app: App, verifier: eid.Verifier, token: str, step: str,
              body: dict[str, Any]) -> dict[str, Any]:
    """challenge → a nonce to sign; card → certificate + signature checked, account linked."""
    if step == "challenge":
        return {"nonce": card_login.challenge(app, token).hex()}
    done = card_login.card_login(app, verifier, token, str(body["certificate"]).encode(),
                                 bytes.fromhex(str(body["nonce"])),
                                 bytes.fromhex(str(body["signature"])))
    return {"linked": done.account, "officer": done.officer.display_name}


# --- HTTP plumbing -----------------------------------------------------------------------------


class _Listener:
    """An asyncio server on its own thread; complete requests go to a bounded thread pool."""

    def __init__(self, page: LinkPage, sock: socket.socket,
                 context: ssl.SSLContext | None) -> None:
        self.page = page
        self.limits = page.limits
        self.context = context
        self._sock = sock
        self.address: tuple[str, int] = tuple(sock.getsockname()[:2])  # type: ignore[assignment]
        self._loop = asyncio.new_event_loop()
        self._executor = ThreadPoolExecutor(self.limits.workers,
                                            thread_name_prefix="link-page-worker")
        self._thread = threading.Thread(target=self._run, name="link-page", daemon=True)
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._per_client: collections.Counter[str] = collections.Counter()
        self._last_busy_log = 0.0

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            server = self._loop.run_until_complete(asyncio.start_server(
                self._connection, sock=self._sock, limit=MAX_HEAD, backlog=self.limits.backlog))
        except BaseException as exc:
            self._failure = exc
            self._sock.close()
            self._loop.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for task in list(self._connections):
                task.cancel()
            self._loop.run_until_complete(
                asyncio.gather(*self._connections, return_exceptions=True))
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    def _admit(self, client_ip: str) -> bool:
        if len(self._connections) >= self.limits.max_connections:
            return False
        return (self._per_client[client_ip] < self.limits.max_per_client
                or self.page.trusted(client_ip))

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("", 0)
        client_ip = str(peer[0])
        if not self._admit(client_ip):
            self._refuse(writer, client_ip)
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._per_client[client_ip] += 1
        try:
            await self._serve(reader, writer, client_ip)
        finally:
            self._connections.discard(task)
            self._per_client[client_ip] -= 1
            if self._per_client[client_ip] <= 0:
                del self._per_client[client_ip]
            writer.transport.abort()

    def _refuse(self, writer: asyncio.StreamWriter, client_ip: str) -> None:
        now = time.monotonic()
        if now - self._last_busy_log > 1.0:
            self._last_busy_log = now
            log.warning("link page: too many connections (%d open, %d from %s); refusing new ones",
                        len(self._connections), self._per_client[client_ip], client_ip)
        if self.context is None:
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            writer.close()
        else:
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     client_ip: str) -> None:
        deadline = self.limits.deadline
        try:
            async with asyncio.timeout(deadline):
                request = await self._read(reader, writer, client_ip)
        except _BadRequest as bad:
            await self._send(writer, Page(bad.status, b""))
            return
        except TimeoutError:
            log.info("link page: connection from %s closed after %.0f s without a complete "
                     "request", client_ip, deadline)
            return
        except ssl.SSLError as exc:
            log.info("link page: TLS handshake with %s failed: %s", client_ip, exc)
            return
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.info("link page: connection from %s failed: %s", client_ip, type(exc).__name__)
            return
        if request is None:
            return
        page = await self._loop.run_in_executor(self._executor, self.page.respond, request)
        log.debug("link page: %s %s %s %d", client_ip, request.method,
                  _redacted(request.target), page.status)
        await self._send(writer, page)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    client_ip: str) -> Request | None:
        if self.context is not None:
            await writer.start_tls(self.context)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise _BadRequest(431) from None
        except asyncio.IncompleteReadError as exc:
            if not exc.partial.strip():
                return None  # opened and closed without a request (e.g. a health probe)
            raise
        method, target, headers = _parse_head(head.lstrip(b"\r\n"))
        length = _body_length(method, target, headers)
        body = await reader.readexactly(length) if length else b""
        peer = None
        ssl_object = writer.get_extra_info("ssl_object")
        if isinstance(ssl_object, ssl.SSLObject):
            peer = ssl_object.getpeercert(binary_form=True)
        return Request(method, target, headers, body, client_ip, peer)

    async def _send(self, writer: asyncio.StreamWriter, page: Page) -> None:
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            async with asyncio.timeout(self.limits.deadline):
                writer.write(page.encode())
                await writer.drain()
                writer.close()
                await writer.wait_closed()
