"""The eID link page over real TLS: a test PKI, client certificates, Python ssl clients and curl.

Every national register number comes from ``core.nrn.generate``. The page must never show one.
"""

from __future__ import annotations

import dataclasses
import html
import http.client
import logging
import random
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from bot.link_page import Limits, LinkPage, accepted_language, origin_of
from core import clock, i18n, nrn
from core.app import App
from core.models import AccessRequest, AuditEvent, ChatIdentity
from core.services import access, links
from core.services.access import NewOfficer, add_officer
from tests.conftest import NOW, World
from tests.support import pki
from tests.support.pki import CertAndKey, TestPKI

OFFICER_NRN = nrn.generate(random.Random(61))
NOBODY_NRN = nrn.generate(random.Random(62))
ATTACKER_NRN = nrn.generate(random.Random(63))
OFFICER_NAME = "Anne Peeters"
HEADER = "X-SSL-Client-Cert"

assert len({OFFICER_NRN, NOBODY_NRN, ATTACKER_NRN}) == 3


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

    def start(self, trust_dir: Path, *, serve_plain: bool = False, limits: Limits | None = None,
              **extra: str) -> LinkPage:
        if self.page is not None:
            self.page.stop()
        self.app.settings = dataclasses.replace(
            self.app.settings, link_listen=("127.0.0.1", 0),
            eid_trust_dir=trust_dir, **extra)
        self.page = LinkPage(self.app, serve_plain=serve_plain, limits=limits).start()
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


def linked(app: App, workspace: str = "T1", user: str = "U1") -> ChatIdentity | None:
    with app.unit_of_work(readonly=True) as uow:
        found = uow.session.scalar(select(ChatIdentity).where(
            ChatIdentity.platform == "slack", ChatIdentity.workspace == workspace,
            ChatIdentity.user_ref == user))
        if found is not None:
            uow.session.expunge(found)
        return found


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def confirmation_for(site: Site, leaf: CertAndKey | None = None, *,
                     headers: dict[str, str] | None = None, path: str | None = None) -> str:
    """The confirmation value the page gives to whoever presents that certificate."""
    status, _, text = request(site, leaf=leaf, headers=headers, path=path)
    assert status == 200, text
    found = _CSRF.search(text)
    assert found is not None, text
    return found.group(1)


def assert_no_nrn(text: str) -> None:
    for number in (OFFICER_NRN, NOBODY_NRN, ATTACKER_NRN):
        assert number not in text
        assert nrn.format_nrn(number) not in text


# --- the happy path ------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_link_with_a_valid_card(site: Site, ca: TestPKI, key_type: str) -> None:
    leaf = ca.citizen(OFFICER_NRN, key_type=key_type)  # type: ignore[arg-type]
    status, headers, text = request(site, leaf=leaf)
    assert status == 200, text
    assert OFFICER_NAME in text
    assert "koppelen" in text  # the officer's language (nl), not the browser's (en)
    csrf = confirmation_for(site, leaf)
    assert f'name="csrf" value="{csrf}"' in text and 'method="post"' in text
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'")
    assert headers["Referrer-Policy"] == "same-origin"  # no-referrer would make Origin "null"
    assert headers["Connection"] == "close"
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
    ("bad_checksum", "national register number in the certificate is not valid"),
])
def test_refused_certificates(site: Site, ca: TestPKI, kind: str, expected: str,
                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    leaf = {
        "expired": lambda: ca.expired(OFFICER_NRN),
        "not_yet_valid": lambda: ca.not_yet_valid(OFFICER_NRN),
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
    valid = confirmation_for(site, ca.citizen(OFFICER_NRN))
    status, _, text = request(site, "POST", leaf, body={"csrf": valid})
    assert status == 403
    assert linked(site.app) is None
    assert "link page" in caplog.text
    assert_no_nrn(caplog.text)
    assert site.token not in caplog.text


_ACCESS_FORM = re.compile(r'name="form" value="access"')


def access_requests(app: App) -> list[AccessRequest]:
    with app.unit_of_work(readonly=True) as uow:
        found = list(uow.session.scalars(select(AccessRequest)))
        uow.session.expunge_all()
        return found


@pytest.mark.parametrize(("language", "title", "sent"), [
    ("fr-BE", "Demander un accès", "Votre demande d'accès n° 1 est envoyée"),
    ("nl-BE", "Toegang als opleidingsverantwoordelijke", "Uw toegangsaanvraag nr. 1"),
    ("en-GB", "Request access as a training officer", "Your access request #1 was sent"),
])
def test_a_card_holder_who_is_no_officer_asks_for_access(
        site: Site, ca: TestPKI, language: str, title: str, sent: str) -> None:
    """The certificate says who; the short form asks only organisation, function, e-mail and
    language; its value is bound to the certificate like the link confirmation."""
    card = ca.citizen(NOBODY_NRN, given_names="Ines", surname="Claes")
    headers = {"Accept-Language": language}
    status, _, text = request(site, leaf=card, headers=headers)
    assert status == 200, text
    assert title in text and "Ines Claes" in text and _ACCESS_FORM.search(text)
    assert 'name="organisation"' in text and '<option value="FIN"' in text
    assert f'<option value="{language[:2]}" selected>' in text
    assert_no_nrn(text)
    csrf = confirmation_for(site, card, headers=headers)
    answers = {"csrf": csrf, "form": "access", "organisation": "FIN",
               "function": "HR-adviseur", "language": "nl"}
    status, _, text = request(site, "POST", card, headers=headers,
                              body={**answers, "email": "not an address"})
    assert status == 400 and 'name="organisation"' in text  # the form again, with the reason
    status, _, _ = request(site, "POST", card, body={
        **answers, "email": "ines@fin.example", "csrf": confirmation_for(
            site, ca.citizen(OFFICER_NRN))})
    assert status == 403  # the link confirmation's value is no access form value
    status, _, _ = request(site, "POST", ca.citizen(ATTACKER_NRN),
                           body={**answers, "email": "ines@fin.example"})
    assert status == 403  # nor is a value read with another card
    assert access_requests(site.app) == []
    status, _, text = request(site, "POST", card, headers=headers,
                              body={**answers, "email": "Ines@FIN.example",
                                    "language": language[:2]})
    assert status == 200 and sent in text, text
    [stored] = access_requests(site.app)
    assert (stored.given_names, stored.surname, stored.email, stored.function) == (
        "Ines", "Claes", "ines@fin.example", "HR-adviseur")
    assert stored.organisation_codes == ["FIN"] and stored.chat_account == "slack:T1:U1"
    status, _, _ = request(site, leaf=card)
    assert status == 410  # the link was used
    with site.app.unit_of_work() as uow:
        access.decide(uow, None, stored.id, True, via="cli")
    identity = linked(site.app)
    assert identity is not None and identity.linked_via == "eid"  # the chat that asked


def test_an_officer_gets_the_link_not_the_access_form(site: Site, ca: TestPKI) -> None:
    card = ca.citizen(OFFICER_NRN)
    status, _, text = request(site, leaf=card)
    assert status == 200 and not _ACCESS_FORM.search(text)
    status, _, text = request(site, "POST", card, body={
        "csrf": confirmation_for(site, card), "form": "access", "organisation": "BOSA",
        "function": "x", "email": "anne@bosa.example", "language": "nl"})
    assert status == 403 and access_requests(site.app) == []


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
                              body={"csrf": confirmation_for(site, headers=header)})
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


def test_origin_of() -> None:
    assert origin_of("https://ITMA.example.be:443/link/x") == "https://itma.example.be"
    assert origin_of("https://127.0.0.1:8443") == "https://127.0.0.1:8443"
    assert origin_of("http://[::1]:80/") == "http://[::1]"
    assert origin_of("null") is None
    assert origin_of("https://host:99999") is None


# --- the confirmation is the certificate's, and recognisable (finding A) -------------------------


def _attacker_link(site: Site, ca: TestPKI) -> tuple[str, CertAndKey]:
    """An officer's own link for their own chat account, and their own card."""
    with site.app.unit_of_work() as uow:
        add_officer(uow, NewOfficer("bart@bosa.example", "Bart Janssens", ATTACKER_NRN, ["BOSA"],
                                    language="en"))
        url = links.issue(uow, "slack", "T0ATT", "U0ATTACKER")
    return urlsplit(url).path, ca.citizen(ATTACKER_NRN, key_type="ec")


def test_confirmation_read_with_one_card_does_not_confirm_with_another(
        site: Site, ca: TestPKI) -> None:
    """The attacker reads the form with their own card, then has the victim's browser post it
    (the browser presents the victim's card to any page, like a cookie): refused."""
    path, attacker_card = _attacker_link(site, ca)
    victim_card = ca.citizen(OFFICER_NRN)
    stolen = confirmation_for(site, attacker_card, path=path)
    status, _, text = request(site, "POST", victim_card, body={"csrf": stolen}, path=path)
    assert status == 403, text
    assert i18n.t("nl", "linkpage.csrf_invalid") in text  # the victim's language
    assert linked(site.app, "T0ATT", "U0ATTACKER") is None

    own = confirmation_for(site, victim_card, path=path)
    assert own != stolen  # a value per certificate …
    status, _, _ = request(site, "POST", attacker_card, body={"csrf": own}, path=path)
    assert status == 403  # … and the other way round too
    assert linked(site.app, "T0ATT", "U0ATTACKER") is None

    status, _, text = request(site, "POST", attacker_card, body={"csrf": stolen}, path=path)
    assert status == 200, text  # the attacker can only link their account to themselves
    identity = linked(site.app, "T0ATT", "U0ATTACKER")
    assert identity is not None
    assert identity.cert_fingerprint == attacker_card.cert.fingerprint(hashes.SHA256()).hex()


@pytest.mark.parametrize(("platform", "workspace", "user", "shown"), [
    ("slack", "T0ATT", "U0ATTACKER", "Slack"),
    ("teams", "72f988bf-86f1-41af-91ab-2d7cd011db47", "29:1abcXYZ", "Microsoft Teams"),
])
def test_confirmation_page_shows_the_account_and_warns(
        site: Site, ca: TestPKI, platform: str, workspace: str, user: str, shown: str) -> None:
    """Someone sends an officer their own link URL: the page says plainly whose chat account it
    is, when it was asked for, and to confirm only one's own — in the officer's language."""
    with site.app.unit_of_work() as uow:
        path = urlsplit(links.issue(uow, platform, workspace, user)).path
    clock.set_clock(lambda: NOW + timedelta(minutes=4, seconds=10))
    status, _, text = request(site, leaf=ca.citizen(OFFICER_NRN), path=path)
    assert status == 200, text
    plain = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    for key, value in (("account_platform", shown), ("account_workspace", workspace),
                       ("account_user", user)):
        assert f"{i18n.t('nl', f'linkpage.{key}')} {value}" in plain
    assert (f"{i18n.t('nl', 'linkpage.account_requested')} "
            f"{i18n.t('nl', 'linkpage.requested_ago', 4, minutes=4)}") in plain
    assert i18n.t("nl", "linkpage.confirm_warning") in text
    assert i18n.t("nl", "linkpage.confirm_question", name=OFFICER_NAME) in text
    assert_no_nrn(text)


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "https://127.0.0.1:1"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "OWN", "Sec-Fetch-Site": "cross-site"},
])
def test_cross_site_posts_are_refused(site: Site, ca: TestPKI, headers: dict[str, str],
                                      caplog: pytest.LogCaptureFixture) -> None:
    """Even with the right value and the right card: a POST a browser says came from another
    site changes nothing (form and card API alike)."""
    leaf = ca.citizen(OFFICER_NRN)
    own = f"https://127.0.0.1:{site.port}"
    headers = {k: own if v == "OWN" else v for k, v in headers.items()}
    valid = confirmation_for(site, leaf)
    status, page_headers, text = request(site, "POST", leaf, body={"csrf": valid},
                                         headers=headers)
    assert status == 403, text
    assert i18n.t("en", "linkpage.cross_site") in text
    assert page_headers["X-Frame-Options"] == "DENY"
    assert linked(site.app) is None
    assert "cross-site POST refused" in caplog.text
    assert site.token not in caplog.text
    status, _, text = request(site, "POST", leaf, body={}, headers=headers,
                              path=f"{site.path}/challenge")
    assert status == 403 and '"reason": "cross_site"' in text

    same_origin = {"Origin": own, "Sec-Fetch-Site": "same-origin"}
    status, _, text = request(site, "POST", leaf, body={"csrf": valid}, headers=same_origin)
    assert status == 200, text
    assert linked(site.app) is not None


@pytest.mark.parametrize("headers", [
    {"Origin": "https://127.0.0.1:8443"},  # ITMA_PUBLIC_URL's origin (the default)
    {"Origin": "https://itma.example.be", "Host": "itma.example.be",
     "Sec-Fetch-Site": "same-origin"},  # the page's own host, as a proxy passes it
    {"Sec-Fetch-Site": "none"},
])
def test_same_origin_posts_are_accepted(site: Site, ca: TestPKI,
                                        headers: dict[str, str]) -> None:
    leaf = ca.citizen(OFFICER_NRN)
    status, _, text = request(site, "POST", leaf, body={"csrf": confirmation_for(site, leaf)},
                              headers=headers)
    assert status == 200, text
    assert linked(site.app) is not None


# --- OCSP on the link page, default soft (finding B) ---------------------------------------------


@pytest.fixture
def responder(ca: TestPKI) -> Iterator[pki.OcspServer]:
    with pki.OcspServer(ca.citizen_ca, now=NOW) as server:
        yield server


@pytest.mark.parametrize("proxied", [False, True])
def test_revoked_card_is_refused_by_default(site: Site, ca: TestPKI, trust_dir: Path,
                                            responder: pki.OcspServer, proxied: bool) -> None:
    """No ITMA_EID_OCSP set: soft mode, so the responder is asked on both paths."""
    leaf = ca.citizen(OFFICER_NRN, ocsp_url=responder.url)
    responder.statuses[leaf.cert.serial_number] = "revoked"
    headers = None
    if proxied:
        site.start(trust_dir, eid_cert_header=HEADER, trusted_proxies="127.0.0.1/32")
        headers = {HEADER: quote(leaf.pem.decode())}
    status, _, text = request(site, leaf=None if proxied else leaf, headers=headers)
    assert status == 403, text
    assert i18n.t("en", "linkpage.refusal_revoked") in text
    assert len(responder.requests) == 1


def test_good_ocsp_answer_is_kept_with_the_link(site: Site, ca: TestPKI,
                                                responder: pki.OcspServer) -> None:
    leaf = ca.citizen(OFFICER_NRN, ocsp_url=responder.url)
    responder.statuses[leaf.cert.serial_number] = "good"
    status, _, text = request(site, "POST", leaf, body={"csrf": confirmation_for(site, leaf)})
    assert status == 200, text
    with site.app.unit_of_work(readonly=True) as uow:
        event = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "link.certificate")).one()
        assert event.details["ocsp"] == "good" and event.details["ocsp_response"]
    assert len(responder.requests) == 2  # the page, then the confirmation


@pytest.mark.parametrize(("mode", "status"), [("soft", 200), ("hard", 403), ("off", 200)])
def test_unreachable_responder(site: Site, ca: TestPKI, trust_dir: Path, mode: str, status: int,
                               caplog: pytest.LogCaptureFixture) -> None:
    """The test certificates name a closed port as their responder."""
    site.start(trust_dir, eid_ocsp=mode)
    caplog.set_level(logging.WARNING, logger="core.eid")
    got, _, text = request(site, leaf=ca.citizen(OFFICER_NRN))
    assert got == status, text
    if mode == "hard":
        assert i18n.t("en", "linkpage.refusal_revocation_unknown") in text
    assert ("revocation status unknown" in caplog.text) == (mode == "soft")
    assert_no_nrn(caplog.text)


# --- bounded threads and connections (finding C) -------------------------------------------------


def _tls_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes (EOF or reset) before ``within`` seconds have passed."""
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except (ConnectionError, ssl.SSLError):
        return True


def _timed_get(site: Site, leaf: CertAndKey) -> tuple[int, float]:
    started = time.monotonic()
    status, _, _ = request(site, leaf=leaf)
    return status, time.monotonic() - started


def test_idle_connections_hold_no_thread(site: Site, ca: TestPKI, trust_dir: Path) -> None:
    limits = Limits(workers=4, max_per_client=100)
    site.start(trust_dir, limits=limits)
    baseline = threading.active_count()
    idle: list[socket.socket] = []
    try:
        for _ in range(50):  # TCP only, nothing sent
            idle.append(socket.create_connection(("127.0.0.1", site.port), timeout=5))
        for _ in range(10):  # TLS done, no request
            raw = socket.create_connection(("127.0.0.1", site.port), timeout=5)
            idle.append(_tls_context().wrap_socket(raw))
        status, elapsed = _timed_get(site, ca.citizen(OFFICER_NRN))
        assert status == 200
        assert elapsed < 3
        assert threading.active_count() <= baseline + limits.workers, (
            f"{threading.active_count()} threads for {len(idle)} idle connections")
    finally:
        for sock in idle:
            sock.close()


def test_slow_clients_are_cut_at_the_deadline(site: Site, ca: TestPKI, trust_dir: Path) -> None:
    site.start(trust_dir, limits=Limits(deadline=1.0))
    silent = socket.create_connection(("127.0.0.1", site.port), timeout=5)
    dripping = _tls_context().wrap_socket(
        socket.create_connection(("127.0.0.1", site.port), timeout=5))
    started = time.monotonic()
    try:
        request_bytes = f"GET {site.path} HTTP/1.1\r\nHost: x\r\n".encode()
        cut = False
        for byte in request_bytes:  # one byte every 0.2 s: never a complete head
            try:
                dripping.sendall(bytes([byte]))
            except (ConnectionError, ssl.SSLError):
                cut = True
                break
            if _closed_by_server(dripping, 0.2):
                cut = True
                break
        assert cut, "a dripping client kept its connection"
        assert time.monotonic() - started < 2.5
        assert _closed_by_server(silent, 1.0)
        status, elapsed = _timed_get(site, ca.citizen(OFFICER_NRN))
        assert status == 200 and elapsed < 3
    finally:
        silent.close()
        dripping.close()


@pytest.mark.parametrize(("limits", "plain"), [
    (Limits(max_connections=4), False),
    (Limits(max_per_client=4), False),
    (Limits(max_per_client=4), True),
])
def test_connections_beyond_the_cap_are_refused_at_once(
        site: Site, ca: TestPKI, trust_dir: Path, limits: Limits, plain: bool) -> None:
    if plain:  # the proxy is elsewhere: this client is not exempt from the per-address cap
        site.start(trust_dir, serve_plain=True, limits=limits, eid_cert_header=HEADER,
                   trusted_proxies="10.0.0.0/8")
    else:
        site.start(trust_dir, limits=limits)
    idle = [socket.create_connection(("127.0.0.1", site.port), timeout=5) for _ in range(4)]
    time.sleep(0.3)  # let the server accept them
    extra = socket.create_connection(("127.0.0.1", site.port), timeout=5)
    try:
        if plain:
            extra.settimeout(2)
            assert extra.recv(1024).startswith(b"HTTP/1.1 503 ")
        else:
            assert _closed_by_server(extra, 2.0)
    finally:
        extra.close()
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 3
    while True:  # the slots free up as soon as the idle clients go away
        try:
            status, _, _ = request(site, leaf=None if plain else ca.citizen(OFFICER_NRN),
                                   tls=not plain)
            break
        except (ConnectionError, ssl.SSLError, http.client.HTTPException):
            assert time.monotonic() < deadline, "the page did not recover"
            time.sleep(0.1)
    assert status == (403 if plain else 200)
