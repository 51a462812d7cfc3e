"""The eID link page over real TLS: a test PKI, client certificates, Python ssl clients and curl.

Every national register number comes from ``core.nrn.generate``. The page must never show one.
"""

from __future__ import annotations

import dataclasses
import html
import http.client
import logging
import random
import ssl
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from bot.link_page import LinkPage, accepted_language
from core import clock, i18n, nrn
from core.app import App
from core.models import ChatIdentity
from core.services import links
from core.services.access import NewOfficer, add_officer
from tests.conftest import NOW, World
from tests.support import pki
from tests.support.pki import CertAndKey, TestPKI

OFFICER_NRN = nrn.generate(random.Random(61))
NOBODY_NRN = nrn.generate(random.Random(62))
OFFICER_NAME = "Anne Peeters"
HEADER = "X-SSL-Client-Cert"

assert OFFICER_NRN != NOBODY_NRN


@pytest.fixture(scope="module")
def ca() -> TestPKI:
    return pki.build_pki(NOW)


@pytest.fixture(scope="module")
def trust_dir(ca: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pki.write_trust_dir(tmp_path_factory.mktemp("eid-trust"), ca.trust_pems())


@dataclasses.dataclass
class Site:
    app: App
    token: str
    tmp: Path
    page: LinkPage | None = None

    @property
    def port(self) -> int:
        assert self.page is not None
        return self.page.address[1]

    @property
    def path(self) -> str:
        return f"/link/{self.token}"

    def start(self, trust_dir: Path, *, serve_plain: bool = False, **extra: str) -> LinkPage:
        if self.page is not None:
            self.page.stop()
        self.app.settings = dataclasses.replace(
            self.app.settings, link_listen=("127.0.0.1", 0),
            extra={"eid_trust_dir": str(trust_dir), **extra})
        self.page = LinkPage(self.app, serve_plain=serve_plain).start()
        return self.page


@pytest.fixture
def site(world: World, trust_dir: Path, tmp_path: Path) -> Iterator[Site]:
    app = world.app
    with app.unit_of_work() as uow:
        add_officer(uow, NewOfficer("anne@bosa.example", OFFICER_NAME, OFFICER_NRN, ["BOSA"],
                                    language="nl"))
        url = links.issue(uow, "slack", "T1", "U1")
    token = urlsplit(url).path.rsplit("/", 1)[1]
    result = Site(app, token, tmp_path)
    result.start(trust_dir)
    yield result
    if result.page is not None:
        result.page.stop()


def _files(tmp: Path, leaf: CertAndKey) -> tuple[Path, Path]:
    name = leaf.cert.fingerprint(hashes.SHA256()).hex()[:12]
    cert_file, key_file = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert_file.write_bytes(leaf.pem)
    key_file.write_bytes(leaf.key.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return cert_file, key_file


def request(site: Site, method: str = "GET", leaf: CertAndKey | None = None, *,
            body: dict[str, str] | None = None, headers: dict[str, str] | None = None,
            path: str | None = None, tls: bool = True) -> tuple[int, dict[str, str], str]:
    connection: http.client.HTTPConnection
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        if leaf is not None:
            context.load_cert_chain(*_files(site.tmp, leaf))
        connection = http.client.HTTPSConnection("127.0.0.1", site.port, context=context,
                                                 timeout=10)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    all_headers = {"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5", **(headers or {})}
    data = None
    if body is not None:
        data = urlencode(body)
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path or site.path, body=data, headers=all_headers)
        response = connection.getresponse()
        return (response.status, dict(response.getheaders()),
                html.unescape(response.read().decode("utf-8")))
    finally:
        connection.close()


def linked(app: App) -> ChatIdentity | None:
    with app.unit_of_work(readonly=True) as uow:
        found = uow.session.scalar(select(ChatIdentity).where(
            ChatIdentity.platform == "slack", ChatIdentity.workspace == "T1",
            ChatIdentity.user_ref == "U1"))
        if found is not None:
            uow.session.expunge(found)
        return found


def csrf_of(app: App, token: str) -> str:
    with app.unit_of_work(readonly=True) as uow:
        return links.pending(uow, token).csrf


def assert_no_nrn(text: str) -> None:
    for number in (OFFICER_NRN, NOBODY_NRN):
        assert number not in text
        assert nrn.format_nrn(number) not in text


# --- the happy path ------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_link_with_a_valid_card(site: Site, ca: TestPKI, key_type: str) -> None:
    leaf = ca.citizen(OFFICER_NRN, key_type=key_type)  # type: ignore[arg-type]
    status, headers, text = request(site, leaf=leaf)
    assert status == 200, text
    assert OFFICER_NAME in text and "slack T1:U1" in text
    assert "koppelen" in text  # the officer's language (nl), not the browser's (en)
    csrf = csrf_of(site.app, site.token)
    assert f'name="csrf" value="{csrf}"' in text and 'method="post"' in text
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
    assert headers["Referrer-Policy"] == "no-referrer"
    assert_no_nrn(text)
    assert linked(site.app) is None  # looking changes nothing

    status, _, text = request(site, "POST", leaf, body={"csrf": csrf})
    assert status == 200, text
    assert f"gekoppeld aan {OFFICER_NAME}" in text
    identity = linked(site.app)
    assert identity is not None
    assert identity.linked_via == "eid"
    assert identity.cert_fingerprint == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert identity.cert_serial == format(leaf.cert.serial_number, "x")

    status, _, text = request(site, leaf=leaf)
    assert status == 410
    assert i18n.t("en", "error.link_used") in text


def test_wrong_csrf_changes_nothing(site: Site, ca: TestPKI) -> None:
    leaf = ca.citizen(OFFICER_NRN)
    status, _, text = request(site, "POST", leaf, body={"csrf": "not-the-token"})
    assert status == 403
    assert "nothing was changed" in text.lower() or "niets gewijzigd" in text
    status, _, _ = request(site, "POST", leaf, body={})
    assert status == 403
    assert linked(site.app) is None
    status, _, _ = request(site, leaf=leaf)
    assert status == 200  # the link is still usable


def test_no_certificate_asks_for_the_card(site: Site) -> None:
    status, headers, text = request(site)
    assert status == 403
    assert "Insert your eID card" in text
    assert headers["X-Frame-Options"] == "DENY"
    status, _, text = request(site, headers={"Accept-Language": ""})
    assert "Insérez votre carte eID" in text  # French by default
    status, _, text = request(site, headers={"Accept-Language": "nl-BE"})
    assert "Steek uw eID-kaart" in text


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "expected"), [
    ("expired", "has expired"),
    ("not_yet_valid", "not valid yet"),
    ("nobody", "not registered as a training officer"),
    ("bad_checksum", "national register number in the certificate is not valid"),
])
def test_refused_certificates(site: Site, ca: TestPKI, kind: str, expected: str,
                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    leaf = {
        "expired": lambda: ca.expired(OFFICER_NRN),
        "not_yet_valid": lambda: ca.not_yet_valid(OFFICER_NRN),
        "nobody": lambda: ca.citizen(NOBODY_NRN),
        "bad_checksum": lambda: ca.bad_checksum(OFFICER_NRN),
    }[kind]()
    status, headers, text = request(site, leaf=leaf)
    assert status == 403, text
    assert expected in text
    assert headers["Cache-Control"] == "no-store"
    assert 'name="csrf"' not in text
    assert_no_nrn(text)
    serial = leaf.cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value
    assert str(serial) not in text
    status, _, text = request(site, "POST", leaf, body={"csrf": csrf_of(site.app, site.token)})
    assert status == 403
    assert linked(site.app) is None
    assert "link page" in caplog.text
    assert_no_nrn(caplog.text)
    assert site.token not in caplog.text


@pytest.mark.parametrize("kind", ["untrusted", "signature_certificate"])
def test_handshake_refuses_foreign_and_signature_certificates(
        site: Site, ca: TestPKI, kind: str) -> None:
    """Direct TLS: OpenSSL itself refuses these (no verify callback in Python's ssl); the
    plain-words page for them is shown in proxy mode (next test)."""
    leaf = ca.untrusted(OFFICER_NRN) if kind == "untrusted" else \
        ca.signature_certificate(OFFICER_NRN)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        request(site, leaf=leaf)
    assert linked(site.app) is None
    status, _, _ = request(site, leaf=ca.citizen(OFFICER_NRN))
    assert status == 200  # the server survived the failed handshake


@pytest.mark.parametrize(("kind", "expected"), [
    ("untrusted", "not issued by a recognised Belgian eID authority"),
    ("signature_certificate", "signature certificate"),
    ("expired", "has expired"),
])
def test_refusals_behind_a_proxy(site: Site, ca: TestPKI, trust_dir: Path, kind: str,
                                 expected: str) -> None:
    site.start(trust_dir, eid_cert_header=HEADER, trusted_proxies="127.0.0.1/32")
    leaf = getattr(ca, kind)(OFFICER_NRN)
    status, _, text = request(site, headers={HEADER: quote(leaf.pem.decode())})
    assert status == 403, text
    assert expected in text
    assert_no_nrn(text)


def test_expired_link(site: Site, ca: TestPKI) -> None:
    with site.app.unit_of_work() as uow:
        links.pending(uow, site.token).expires_at = clock.now() - timedelta(minutes=1)
    status, _, text = request(site, leaf=ca.citizen(OFFICER_NRN))
    assert status == 410
    assert i18n.t("en", "error.link_expired") in text
    status, _, text = request(site, path="/link/" + "x" * 43, leaf=ca.citizen(OFFICER_NRN))
    assert status == 404
    status, _, _ = request(site, path="/somewhere")
    assert status == 404


# --- proxy mode ----------------------------------------------------------------------------------


def test_header_from_a_trusted_proxy(site: Site, ca: TestPKI, trust_dir: Path) -> None:
    site.start(trust_dir, eid_cert_header=HEADER, trusted_proxies="127.0.0.1/32")
    header = {HEADER: quote(ca.citizen(OFFICER_NRN, key_type="ec").pem.decode())}
    status, _, text = request(site, headers=header)
    assert status == 200, text
    assert OFFICER_NAME in text
    status, _, text = request(site, "POST", headers=header,
                              body={"csrf": csrf_of(site.app, site.token)})
    assert status == 200, text
    assert linked(site.app) is not None


def test_header_from_elsewhere_is_ignored(site: Site, ca: TestPKI, trust_dir: Path) -> None:
    site.start(trust_dir, eid_cert_header=HEADER, trusted_proxies="10.0.0.0/8")
    header = {HEADER: quote(ca.citizen(OFFICER_NRN).pem.decode())}
    status, _, text = request(site, headers=header)
    assert status == 403
    assert "Insert your eID card" in text
    status, _, _ = request(site, "POST", headers=header, body={"csrf": "x"})
    assert status == 403
    assert linked(site.app) is None


def test_plain_http_behind_a_proxy(site: Site, ca: TestPKI, trust_dir: Path) -> None:
    site.start(trust_dir, serve_plain=True, eid_cert_header=HEADER,
               trusted_proxies="127.0.0.1/32")
    header = {HEADER: quote(ca.citizen(OFFICER_NRN).pem.decode())}
    status, _, text = request(site, headers=header, tls=False)
    assert status == 200, text
    status, _, text = request(site, tls=False)
    assert "Insert your eID card" in text


# --- a real TLS client ---------------------------------------------------------------------------


def test_curl_with_a_client_certificate(site: Site, ca: TestPKI) -> None:
    cert_file, key_file = _files(site.tmp, ca.citizen(OFFICER_NRN, key_type="ec"))
    url = f"https://127.0.0.1:{site.port}{site.path}"
    done = subprocess.run(["curl", "-sk", "--max-time", "10", "--cert", str(cert_file),
                           "--key", str(key_file), url],
                          capture_output=True, text=True, timeout=20, check=True)
    assert OFFICER_NAME in done.stdout
    assert 'name="csrf"' in done.stdout
    assert_no_nrn(done.stdout)


def test_accept_language() -> None:
    assert accepted_language(None) == "fr"
    assert accepted_language("de-DE,de;q=0.9,en;q=0.8") == "de"
    assert accepted_language("es,nl;q=0.2,en;q=0.7") == "en"
    assert accepted_language("en;q=0,nl") == "nl"
