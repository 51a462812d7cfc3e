"""The eID link page on ITMA_LINK_LISTEN: a small TLS server asking for a client certificate.

An officer opens the one-time URL the chat gave them (``/link/{token}``); the browser presents
the eID card's Authentication certificate in the TLS handshake; :func:`core.eid.validate` checks
it fully; the page asks "Link <chat account> to <officer>?" in the officer's language and a
CSRF-protected POST links the account (:mod:`core.services.links`).

TLS, and what the handshake itself checks
    The server context uses ``CERT_OPTIONAL`` and loads every PEM of the eID trust directory as
    verify locations, so the browser is asked for a certificate and OpenSSL checks the chain. Two
    consequences, both deliberate:

    * time checks are switched off at the TLS layer (``X509_V_FLAG_NO_CHECK_TIME``) so that an
      expired (or not yet valid) card reaches the page and gets a plain-words explanation instead
      of a browser error; ``core.eid.validate`` then refuses it with the precise reason;
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
    it can never accept a link without a proxy-verified certificate. It exists because the usual
    nginx set-up is ``proxy_pass http://127.0.0.1:8443`` and double encryption on loopback buys
    nothing.

Privacy: the national register number is never logged or rendered; the token (a secret) is
logged truncated only. Unexpected errors give a 500 page and a logged traceback, never a
traceback to the browser.
"""

from __future__ import annotations

import contextlib
import hmac
import http.server
import ipaddress
import json
import logging
import re
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core import eid, i18n
from core.app import App
from core.config import TEMPLATES_DIR, ConfigError
from core.errors import DomainError
from core.services import card_login, links

log = logging.getLogger(__name__)

X509_V_FLAG_NO_CHECK_TIME = 0x200000
"""OpenSSL's flag (not exposed by :mod:`ssl`); dates are checked by ``core.eid.validate``."""

MAX_BODY = 4096
HANDSHAKE_TIMEOUT = 15.0
_PATH = re.compile(r"^/link/([A-Za-z0-9_-]{16,128})$")
_STATUS_FOR = {"link_unknown": 404, "link_used": 410, "link_expired": 410}

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


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


def _trust_dir(settings_extra: dict[str, str]) -> Path:
    given = settings_extra.get("eid_trust_dir")
    return Path(given).expanduser() if given else eid.DEFAULT_ROOTS_DIR


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


def server_context(cert_path: Path, key_path: Path, trust_dir: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    context.verify_mode = ssl.CERT_OPTIONAL
    for pem in sorted(trust_dir.glob("*.pem")):
        context.load_verify_locations(cafile=str(pem))
    context.verify_flags = context.verify_flags | X509_V_FLAG_NO_CHECK_TIME
    return context


# --- rendering ---------------------------------------------------------------------------------


_env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR / "web")),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   undefined=StrictUndefined)


@dataclass(frozen=True)
class Page:
    status: int
    body: bytes


def render(language: str, status: int, kind: str, heading: str, message: str, *,
           hint: str | None = None, form: dict[str, str] | None = None) -> Page:
    language = i18n.language_or_default(language)

    def t(key: str, **params: Any) -> str:
        return i18n.t(language, key, **params)

    html = _env.get_template("link.html").render(
        lang=language, t=t, kind=kind, heading=heading, message=message, hint=hint, form=form)
    return Page(status, html.encode("utf-8"))


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


# --- the page ----------------------------------------------------------------------------------


class LinkPage:
    """``start()`` serves in a background thread; ``stop()`` closes the socket."""

    def __init__(self, app: App, *, serve_plain: bool = False,
                 ocsp: eid.OcspChecker | None = None, hard_fail: bool = False) -> None:
        self.app = app
        settings = app.settings
        self.serve_plain = serve_plain
        self.ocsp = ocsp
        self.hard_fail = hard_fail
        self.cert_header = settings.extra.get("eid_cert_header") or None
        self.trusted_proxies = parse_proxies(settings.extra.get("trusted_proxies"))
        self.trust_dir = _trust_dir(settings.extra)
        try:
            self.trust = eid.TrustStore.from_dir(self.trust_dir)
        except ValueError as exc:
            raise ConfigError(f"ITMA_EID_TRUST_DIR: {exc}") from None
        if serve_plain and not (self.cert_header and self.trusted_proxies):
            raise ConfigError("ITMA_EID_CERT_HEADER: the plain-HTTP link page (behind a proxy) "
                              "needs ITMA_EID_CERT_HEADER and ITMA_TRUSTED_PROXIES")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("the link page is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> LinkPage:
        context = None
        if not self.serve_plain:
            cert, key = ensure_server_certificate(self.app.settings.home,
                                                  self.app.settings.public_url)
            context = server_context(cert, key, self.trust_dir)
        host, port = self.app.settings.link_listen
        try:
            self._server = _Server((host, port), _handler(self), context)
        except OSError as exc:
            raise ConfigError(f"ITMA_LINK_LISTEN: cannot listen on {host}:{port}: "
                              f"{exc.strerror}") from None
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="link-page", daemon=True)
        self._thread.start()
        log.info("link page listening on %s:%d (%s)", *self.address,
                 "plain HTTP behind a proxy" if self.serve_plain else "TLS")
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LinkPage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- request logic (independent of the HTTP plumbing) ---

    def certificate(self, client_ip: str, header_value: str | None,
                    peer_der: bytes | None) -> bytes | str | None:
        """The proxy header from a trusted proxy, else the TLS peer certificate."""
        if self.cert_header and header_value:
            if self._trusted(client_ip):
                pem = unquote(header_value).strip()
                if pem:
                    return pem
            else:
                log.warning("link page: ignored %s header from untrusted address %s",
                            self.cert_header, client_ip)
        return peer_der

    def _trusted(self, client_ip: str) -> bool:
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted_proxies)

    def handle(self, method: str, path: str, browser_language: str, cert: bytes | str | None,
               form: dict[str, list[str]] | None) -> Page:
        match = _PATH.match(path)
        if match is None:
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
            return render(browser_language, 403, "card",
                          i18n.t(browser_language, "linkpage.insert_card_title"),
                          i18n.t(browser_language, "linkpage.insert_card"))
        try:
            identity = eid.validate(cert, self.trust, ocsp=self.ocsp, hard_fail=self.hard_fail)
        except eid.Refusal as refusal:
            log.info("link page: certificate refused (%s) for token %s…", refusal.reason,
                     token[:6])
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
                name, account, csrf = found.officer.display_name, found.account, found.link.csrf
        except DomainError as exc:
            return self._domain_error(exc, browser_language, token)
        return render(language, 200, "confirm", i18n.t(language, "linkpage.confirm_title"),
                      i18n.t(language, "linkpage.confirm_question", account=account, name=name),
                      hint=i18n.t(language, "linkpage.confirm_explain"),
                      form={"action": f"/link/{token}", "csrf": csrf,
                            "button": i18n.t(language, "linkpage.confirm_button")})

    def _complete(self, token: str, identity: eid.Identity, browser_language: str,
                  form: dict[str, list[str]]) -> Page:
        given = (form.get("csrf") or [""])[0]
        try:
            with self.app.unit_of_work() as uow:
                found = links.preview(uow, token, identity)
                language = found.officer.language.value
                if not hmac.compare_digest(given.encode(), found.link.csrf.encode()):
                    log.warning("link page: wrong CSRF token for link %s…", token[:6])
                    return render(language, 403, "error",
                                  i18n.t(language, "linkpage.csrf_title"),
                                  i18n.t(language, "linkpage.csrf_invalid"))
                done = links.complete(uow, token, identity)
                name = done.officer.display_name
                log.info("link page: %s linked to officer %d (certificate %s…)",
                         done.account, done.officer.id, identity.fingerprint_sha256[:16])
        except DomainError as exc:
            return self._domain_error(exc, browser_language, token)
        return render(language, 200, "done", i18n.t(language, "linkpage.done_title"),
                      i18n.t(language, "linkpage.done", name=name))

    def _domain_error(self, exc: DomainError, language: str, token: str) -> Page:
        log.info("link page: %s for token %s…", exc.code, token[:6])
        return render(language, _STATUS_FOR.get(exc.code, 403), "error",
                      i18n.t(language, "linkpage.invalid_title"), exc.message(language))


# --- HTTP plumbing -----------------------------------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    """Accepts plain sockets and does the TLS handshake in the request's own thread, so a slow
    or hostile client cannot stall the accept loop."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[http.server.BaseHTTPRequestHandler],
                 context: ssl.SSLContext | None) -> None:
        self.context = context
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT)
        if self.context is not None:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.info("link page: TLS handshake with %s failed: %s", client_address[0], exc)
                return
        try:
            super().finish_request(request, client_address)
        finally:
            if isinstance(request, ssl.SSLSocket):
                # the plain socket was detached by wrap_socket: close the TLS one ourselves
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_WR)
                request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("link page: connection from %s failed", client_address[0])


_CARD_PATH = re.compile(r"^/link/([A-Za-z0-9_-]{16,128})/(challenge|card)$")


def card_step(app: App, token: str, step: str, body: dict[str, Any]) -> dict[str, Any]:
    """challenge → a nonce to sign; card → certificate + signature checked, account linked."""
    if step == "challenge":
        return {"nonce": card_login.challenge(app, token).hex()}
    done = card_login.card_login(app, token, str(body["certificate"]).encode(),
                                 bytes.fromhex(str(body["nonce"])),
                                 bytes.fromhex(str(body["signature"])))
    return {"linked": done.account, "officer": done.officer.display_name}


def _handler(page: LinkPage) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "itma-link"
        sys_version = ""
        protocol_version = "HTTP/1.1"
        timeout = HANDSHAKE_TIMEOUT

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            card = _CARD_PATH.match(urlsplit(self.path).path)
            if card:
                self._card(card.group(1), card.group(2))
            else:
                self._serve("POST")

        def _card(self, token: str, step: str) -> None:
            """The card path of `itma-assistant link card`: JSON in, JSON out."""
            try:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}") if 0 <= length <= 20_000 \
                    else None
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                status, answer = 200, card_step(page.app, token, step, body)
            except (ValueError, KeyError, TypeError) as exc:
                status, answer = 400, {"error": f"malformed request: {exc}"}
            except eid.Refusal as exc:
                status, answer = 403, {"error": str(exc), "reason": exc.reason}
            except DomainError as exc:
                status, answer = 410 if exc.code in ("link_used", "link_expired") else 403, {
                    "error": exc.message("en"), "reason": exc.code}
            except Exception:
                log.exception("link page: card login failed on %s", self._redacted())
                status, answer = 500, {"error": "unexpected error"}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            language = accepted_language(self.headers.get("Accept-Language"))
            try:
                form = None
                if method == "POST":
                    form = self._form()
                    if form is None:
                        self._send(render(language, 400, "error",
                                          i18n.t(language, "linkpage.csrf_title"),
                                          i18n.t(language, "linkpage.csrf_invalid")))
                        return
                peer = None
                if isinstance(self.connection, ssl.SSLSocket):
                    peer = self.connection.getpeercert(binary_form=True)
                header = self.headers.get(page.cert_header) if page.cert_header else None
                cert = page.certificate(self.client_address[0], header, peer)
                result = page.handle(method, urlsplit(self.path).path, language, cert, form)
            except Exception:
                log.exception("link page: unexpected error on %s", self._redacted())
                result = render(language, 500, "error",
                                i18n.t(language, "linkpage.server_error_title"),
                                i18n.t(language, "linkpage.server_error"))
            self._send(result)

        def _form(self) -> dict[str, list[str]] | None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                return None
            if length < 0 or length > MAX_BODY:
                self.close_connection = True
                return None
            body = self.rfile.read(length)
            try:
                return parse_qs(body.decode("ascii"), keep_blank_values=True)
            except (UnicodeDecodeError, ValueError):
                return None

        def _send(self, page_: Page) -> None:
            self.send_response(page_.status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page_.body)))
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(page_.body)

        def _redacted(self) -> str:
            path = urlsplit(getattr(self, "path", "") or "").path
            match = _PATH.match(path)
            return f"/link/{match.group(1)[:6]}…" if match else path[:40]

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            log.debug("link page: %s %s %s %s", self.client_address[0], self.command,
                      self._redacted(), code)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("link page: %s %s", self.client_address[0], self._redacted())

    return Handler
