"""The shipped nginx configuration in front of two real `serve` instances (link page in proxy mode).

nginx is Debian's, started by the test with deploy/nginx/itma.conf (tests/support/nginx.py says
exactly what is substituted: paths and ports). The card is a client certificate of the test PKI
presented in the TLS handshake to nginx, which hands it to the link page in X-Client-Cert. The
instances are `itma-assistant serve` subprocesses on the test's database (SQLite and
PostgreSQL), trusting the header from 127.0.0.1 only — where nginx connects from. A "machine
other than the proxy" is a client bound to 127.0.0.2.

The instances run on the real clock (they are other processes): the link is issued on it.
"""

from __future__ import annotations

import dataclasses
import html
import http.client
import http.server
import random
import re
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote, unquote, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization

from bot.link_page import ensure_server_certificate
from core import clock, nrn
from core.app import App
from core.services import links
from core.services.access import NewOfficer, add_officer
from tests.conftest import NOW, World
from tests.integration.test_link_page import linked
from tests.support import pki, server
from tests.support.nginx import Nginx
from tests.support.pki import CertAndKey, TestPKI
from tests.support.processes import free_port, stop

HEADER = "X-Client-Cert"
"""ITMA_EID_CERT_HEADER as deploy/itma.env.example sets it; the name deploy/nginx/itma.conf sets."""
OFFICER_NRN = nrn.generate(random.Random(171))
STRANGER_NRN = nrn.generate(random.Random(172))
OFFICER_NAME = "Anne Peeters"
SECRET = "test-secret-key-0123456789"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def ca() -> TestPKI:
    return pki.build_pki(NOW)


@pytest.fixture(scope="module")
def trust_dir(ca: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pki.write_trust_dir(tmp_path_factory.mktemp("eid-trust"), ca.trust_pems())


def _real_clock() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass
class Front:
    """nginx, and what a client needs to talk to it (its certificate, a folder for key files)."""

    nginx: Nginx
    server_cert: Path
    tmp: Path
    token: str = "t" * 43

    @property
    def path(self) -> str:
        return f"/link/{self.token}"

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.nginx.https_port}"


@dataclasses.dataclass
class Deployment(Front):
    app: App | None = None
    instances: list[tuple[subprocess.Popen[bytes], str, int]] = dataclasses.field(
        default_factory=list)
    """(process, HTTP base URL, link port) of each `serve`."""

    def logs(self) -> str:
        return "".join((Path(self.tmp) / f"home{i}" / "serve.out").read_text(errors="replace")
                       for i in range(len(self.instances)))


@pytest.fixture
def deployment(world: World, trust_dir: Path, ca: TestPKI, tmp_path: Path
               ) -> Iterator[Deployment]:
    app = world.app
    clock.set_clock(_real_clock)
    with app.unit_of_work() as uow:
        add_officer(uow, NewOfficer("anne@bosa.example", OFFICER_NAME, OFFICER_NRN, ["BOSA"],
                                    language="en"))
        url = links.issue(uow, "slack", "T1", "U1")
    token = urlsplit(url).path.rsplit("/", 1)[1]
    https_port = free_port()
    server_cert, server_key = ensure_server_certificate(tmp_path / "proxy", "https://127.0.0.1")
    instances = []
    try:
        for index in range(2):
            home = tmp_path / f"home{index}"
            home.mkdir()
            link_port = free_port()
            process, base = server.start({
                "ITMA_HOME": str(home),
                "ITMA_DATABASE_URL": app.settings.database_url,
                "ITMA_SECRET_KEY": SECRET,
                "ITMA_PUBLIC_URL": f"https://127.0.0.1:{https_port}",
                "ITMA_LINK_LISTEN": f"127.0.0.1:{link_port}",
                "ITMA_EID_TRUST_DIR": str(trust_dir),
                "ITMA_EID_CERT_HEADER": HEADER,
                "ITMA_TRUSTED_PROXIES": "127.0.0.1/32",
                "ITMA_EID_OCSP": "off",  # the test PKI's responder is not running here
                "ITMA_INTAKE_SECRET": "intake-secret-for-the-test",
            })
            instances.append((process, base, link_port))
        proxy = Nginx(tmp_path / "nginx",
                      http_upstreams=[("127.0.0.1", int(b.rsplit(":", 1)[1]))
                                      for _, b, _ in instances],
                      link_upstreams=[("127.0.0.1", p) for _, _, p in instances],
                      certificate=server_cert, key=server_key,
                      eid_ca_pem=b"".join(ca.trust_pems().values()), https_port=https_port)
        proxy.prefix.mkdir()
        with proxy:
            yield Deployment(proxy, server_cert, tmp_path, token, app, instances)
    finally:
        for process, _, _ in instances:
            stop(process)
        clock.set_clock(lambda: NOW)


def _key_files(tmp: Path, leaf: CertAndKey) -> tuple[Path, Path]:
    name = leaf.cert.fingerprint(hashes.SHA256()).hex()[:12]
    cert_file, key_file = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert_file.write_bytes(leaf.pem)
    key_file.write_bytes(leaf.key.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return cert_file, key_file


def through_nginx(site: Front, method: str = "GET", leaf: CertAndKey | None = None, *,
                  path: str | None = None, body: str | bytes | None = None,
                  headers: dict[str, str] | None = None) -> tuple[int, str]:
    """A browser-like HTTPS request to nginx, verifying nginx's certificate."""
    context = ssl.create_default_context(cafile=str(site.server_cert))
    if leaf is not None:
        context.load_cert_chain(*_key_files(site.tmp, leaf))
    connection = http.client.HTTPSConnection("127.0.0.1", site.nginx.https_port,
                                             context=context, timeout=15)
    try:
        connection.request(method, path or site.path, body=body,
                           headers={"Accept-Language": "en", **(headers or {})})
        response = connection.getresponse()
        return response.status, html.unescape(response.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def direct(port: int, method: str = "GET", path: str = "/", *, source: str = "127.0.0.2",
           body: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Straight to an instance, from another machine than the proxy (by default)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15,
                                            source_address=(source, 0))
    try:
        connection.request(method, path, body=body,
                           headers={"Accept-Language": "en", **(headers or {})})
        response = connection.getresponse()
        return response.status, html.unescape(response.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def _form(csrf: str) -> tuple[str, dict[str, str]]:
    return (f"csrf={quote(csrf)}", {"Content-Type": "application/x-www-form-urlencoded"})


def test_a_card_presented_to_nginx_links_the_account(deployment: Deployment,
                                                     ca: TestPKI) -> None:
    card = ca.citizen(OFFICER_NRN, key_type="ec")
    status, text = through_nginx(deployment, leaf=card)
    assert status == 200, text
    assert OFFICER_NAME in text  # the page recognised the card through the header
    assert nrn.format_nrn(OFFICER_NRN) not in text and OFFICER_NRN not in text
    found = _CSRF.search(text)
    assert found is not None, text
    body, headers = _form(found.group(1))
    # As the browser sends the form: its own origin, the page's Host through the proxy.
    status, text = through_nginx(deployment, "POST", card, body=body, headers={
        **headers, "Origin": deployment.origin, "Sec-Fetch-Site": "same-origin"})
    assert status == 200, text
    assert f"linked to {OFFICER_NAME}" in text
    identity = linked(deployment.app)
    assert identity is not None
    assert identity.linked_via == "eid"
    assert identity.cert_fingerprint == card.cert.fingerprint(hashes.SHA256()).hex()
    status, _ = through_nginx(deployment, leaf=card)
    assert status == 410  # spent, whichever instance answers


def test_a_forged_header_straight_to_an_instance_is_refused(deployment: Deployment,
                                                            ca: TestPKI) -> None:
    forged = {HEADER: quote(ca.citizen(OFFICER_NRN).pem.decode())}
    for _, _, link_port in deployment.instances:
        status, text = direct(link_port, path=deployment.path, headers=forged)
        assert status == 403, text
        assert "Insert your eID card" in text
        assert OFFICER_NAME not in text
        status, _ = direct(link_port, "POST", deployment.path, body="csrf=x", headers={
            **forged, "Content-Type": "application/x-www-form-urlencoded"})
        assert status == 403
    assert linked(deployment.app) is None
    assert f"ignored {HEADER} header from untrusted address 127.0.0.2" in deployment.logs()
    # The same header from the proxy's address is believed: the refusal above is the address.
    status, text = direct(deployment.instances[0][2], path=deployment.path, source="127.0.0.1",
                          headers=forged)
    assert status == 200 and OFFICER_NAME in text


def test_a_client_cannot_send_the_header_through_nginx(deployment: Deployment,
                                                       ca: TestPKI) -> None:
    status, text = through_nginx(deployment)
    assert status == 403  # no card, no header: the page asks for the card
    assert "Insert your eID card" in text
    officer = quote(ca.citizen(OFFICER_NRN).pem.decode())
    stranger = ca.citizen(STRANGER_NRN)
    for name in (HEADER, HEADER.lower(), HEADER.upper()):
        # Without a card: the header the client wrote never reaches the page.
        status, text = through_nginx(deployment, headers={name: officer})
        assert status == 403, (name, text)
        assert "Insert your eID card" in text
        # With someone else's card: the page sees that card, not the one in the header.
        status, text = through_nginx(deployment, leaf=stranger, headers={name: officer})
        assert OFFICER_NAME not in text
        assert status == 200 and 'name="form" value="access"' in text  # access request form
    assert linked(deployment.app) is None


def test_only_the_link_page_and_the_webhooks_are_reachable(deployment: Deployment) -> None:
    base = deployment.instances[0][1]
    for path in ("/metrics", "/healthz", "/", "/slack"):
        status, _ = through_nginx(deployment, path=path)
        assert status == 404, path
    status, _ = direct(int(base.rsplit(":", 1)[1]), path="/healthz", source="127.0.0.1")
    assert status == 200  # the probe goes straight to the instance
    # Unsigned: the instances answer 401 (Teams not configured, intake signature wrong), so the
    # routes are proxied; 404 would be nginx's own answer.
    for path in ("/api/messages", "/intake/registrations"):
        status, _ = through_nginx(deployment, "POST", path=path, body="{}",
                                  headers={"Content-Type": "application/json"})
        assert status == 401, path
    status, _ = through_nginx(deployment, "GET", path="/intake/registrations")
    assert status == 403  # POST only
    status, text = through_nginx(deployment, "POST", path="/intake/registrations",
                                 body=b"x" * 1_000_001,
                                 headers={"Content-Type": "application/json"})
    assert status == 413, text  # refused by nginx before any instance reads it
    status, _ = through_nginx(deployment, "POST", path=deployment.path, body=b"x" * 40_000,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413
    # Plain HTTP only redirects.
    connection = http.client.HTTPConnection("127.0.0.1", deployment.nginx.http_port, timeout=10)
    try:
        connection.request("GET", deployment.path, headers={"Host": "itma.example.be"})
        response = connection.getresponse()
        assert response.status == 301
        assert response.getheader("Location") == f"https://itma.example.be{deployment.path}"
    finally:
        connection.close()


class _Recorder(http.server.BaseHTTPRequestHandler):
    """An upstream that records the headers each request arrived with."""

    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append((self.command, self.path, {k.lower(): v for k, v in
                                                    self.headers.items()}))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_certificate_header_goes_to_the_link_page_only(tmp_path: Path, ca: TestPKI) -> None:
    """With recording upstreams in place of the instances: what each route receives."""
    _Recorder.seen = []
    recorder = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    address = ("127.0.0.1", recorder.server_address[1])
    cert, key = ensure_server_certificate(tmp_path / "proxy", "https://127.0.0.1")
    proxy = Nginx(tmp_path / "nginx", [address], [address], cert, key,
                  b"".join(ca.trust_pems().values()))
    proxy.prefix.mkdir()
    site = Front(proxy, cert, tmp_path)
    card = ca.citizen(OFFICER_NRN)
    forged = quote(ca.citizen(STRANGER_NRN).pem.decode())
    try:
        with proxy:
            for path in ("/slack/events", "/api/messages", "/intake/registrations"):
                status, _ = through_nginx(site, "POST", card, path=path, body="{}",
                                          headers={HEADER: forged, "X-Forwarded-For": "6.6.6.6"})
                assert status == 200
            through_nginx(site, "GET", card, headers={HEADER: forged})
            through_nginx(site, "GET", headers={HEADER: forged})
    finally:
        recorder.shutdown()
        recorder.server_close()
    by_path = [(method, path, headers) for method, path, headers in _Recorder.seen]
    assert [p for _, p, _ in by_path] == ["/slack/events", "/api/messages",
                                          "/intake/registrations", site.path, site.path]
    for _, path, headers in by_path[:3]:
        assert HEADER.lower() not in headers, path  # neither the card nor the forgery
        assert headers["x-forwarded-for"] == "127.0.0.1"  # the proxy's view, not the client's
        assert headers["x-forwarded-proto"] == "https"
    with_card, without = by_path[3][2], by_path[4][2]
    assert unquote(with_card[HEADER.lower()]).strip() == card.pem.decode().strip()
    assert HEADER.lower() not in without
