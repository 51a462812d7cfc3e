"""`link card`: SoftHSM 2 as the eID card, python-pkcs11 as the client, the server's checks real.

The card (token BELPIC) holds an EC P-384 key pair generated on the token and a citizen
Authentication certificate issued by the test PKI for that key, both labelled Authentication.
Every national register number comes from ``core.nrn.generate``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from sqlalchemy import select

from cli.card import Card, link_with_card
from cli.runtime import CommandError
from core import eid, nrn
from core.app import App
from core.models import AuditEvent
from core.services import card_login, links
from core.services.access import NewOfficer, add_officer
from tests.conftest import NOW, World
from tests.integration.test_link_page import linked
from tests.support import pki
from tests.support.pki import TestPKI

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN, SO_PIN = "1234", "5678"
OFFICER_NRN = nrn.generate(random.Random(71))
OFFICER_NAME = "Anne Peeters"


@dataclasses.dataclass(frozen=True)
class _PublicOnly:
    """What make_citizen needs of a key: its public half (the private one stays on the token)."""

    key: ec.EllipticCurvePublicKey

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.key


@pytest.fixture(scope="module")
def ca() -> TestPKI:
    return pki.build_pki(NOW)


@pytest.fixture(scope="module")
def trust_dir(ca: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pki.write_trust_dir(tmp_path_factory.mktemp("eid-trust"), ca.trust_pems())


@pytest.fixture(scope="module")
def card(ca: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Card]:
    """A BELPIC token in a temporary SoftHSM 2 store, with the Authentication key and cert.

    The module reads SOFTHSM2_CONF once, when it is first initialised in this process, so one
    token serves the whole module."""
    assert shutil.which("softhsm2-util") and Path(MODULE).exists(), (
        "SoftHSM 2 is missing: apt-get install softhsm2 opensc (scripts/system-packages.txt)")
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "BELPIC",
                    "--pin", PIN, "--so-pin", SO_PIN], check=True, capture_output=True)
    token = pkcs11.lib(MODULE).get_token(token_label="BELPIC")
    with token.open(user_pin=PIN, rw=True) as session:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp384r1")},
            local=True)
        public, _private = params.generate_keypair(store=True, label="Authentication")
        key = serialization.load_der_public_key(encode_ec_public_key(public))
        assert isinstance(key, ec.EllipticCurvePublicKey)
        leaf = pki.make_citizen(ca.ec_citizen_ca, nrn=OFFICER_NRN,
                                key=_PublicOnly(key),  # type: ignore[arg-type]
                                not_before=NOW - timedelta(days=365),
                                not_after=NOW + timedelta(days=3000))
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.LABEL: "Authentication",
            Attribute.SUBJECT: leaf.cert.subject.public_bytes(),
            Attribute.VALUE: leaf.der,
        })
    yield Card(MODULE, PIN)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@dataclasses.dataclass
class Link:
    app: App
    url: str

    @property
    def verifier(self) -> eid.Verifier:
        return eid.Verifier.from_settings(self.app.settings)

    @property
    def token(self) -> str:
        return urlsplit(self.url).path.rsplit("/", 1)[1]


@pytest.fixture
def link(world: World, trust_dir: Path) -> Link:
    app = world.app
    app.settings = dataclasses.replace(app.settings, eid_trust_dir=trust_dir)
    with app.unit_of_work() as uow:
        add_officer(uow, NewOfficer("anne@bosa.example", OFFICER_NAME, OFFICER_NRN, ["BOSA"],
                                    language="nl"))
        url = links.issue(uow, "slack", "T1", "U1")
    return Link(app, url)


def test_card_links_the_chat_account(link: Link, card: Card) -> None:
    message = link_with_card(link.app, link.verifier, card, link.url)
    assert message == f"slack T1:U1 linked to {OFFICER_NAME}"
    identity = linked(link.app)
    assert identity is not None and identity.linked_via == "eid"
    with pytest.raises(CommandError, match=r"(?i)used"):
        link_with_card(link.app, link.verifier, card, link.url)  # single use


def test_wrong_pin_is_a_clear_error(link: Link, card: Card) -> None:
    with pytest.raises(CommandError, match="wrong PIN"):
        link_with_card(link.app, link.verifier, dataclasses.replace(card, pin="9999"),
                       link.url)
    assert linked(link.app) is None


def test_stale_nonce_is_refused(link: Link, card: Card) -> None:
    nonce = card_login.challenge(link.app, link.token, now=NOW - timedelta(minutes=2, seconds=1))
    cert_pem, signature = card.certificate_and_signature(nonce)
    eid.sign_challenge_verify(cert_pem, nonce, signature)  # the signature itself is fine
    with pytest.raises(eid.Refusal, match="expired"):
        card_login.card_login(link.app, link.verifier, link.token, cert_pem, nonce, signature)
    fresh = card_login.challenge(link.app, link.token, now=NOW - timedelta(minutes=1, seconds=59))
    cert_pem, signature = card.certificate_and_signature(fresh)
    done = card_login.card_login(link.app, link.verifier, link.token, cert_pem, fresh, signature)
    assert done.account == "slack T1:U1"


def test_signature_over_another_nonce_is_refused(link: Link, card: Card) -> None:
    given = card_login.challenge(link.app, link.token)
    other = card_login.challenge(link.app, link.token, now=NOW - timedelta(seconds=1))
    assert given != other
    cert_pem, signature = card.certificate_and_signature(other)
    with pytest.raises(eid.Refusal) as refused:
        card_login.card_login(link.app, link.verifier, link.token, cert_pem, given, signature)
    assert refused.value.reason == "signature"
    assert linked(link.app) is None


def test_nonce_is_bound_to_its_link_token(link: Link, card: Card) -> None:
    with link.app.unit_of_work() as uow:
        other_token = urlsplit(links.issue(uow, "slack", "T1", "U2")).path.rsplit("/", 1)[1]
    nonce = card_login.challenge(link.app, other_token)
    cert_pem, signature = card.certificate_and_signature(nonce)
    with pytest.raises(eid.Refusal, match="not one this server gave out"):
        card_login.card_login(link.app, link.verifier, link.token, cert_pem, nonce, signature)
    assert linked(link.app) is None


def test_card_login_over_https_with_the_link_page(link: Link, card: Card) -> None:
    from bot.link_page import LinkPage
    from cli.card import link_over_https
    from tests.support.processes import free_port

    port = free_port()
    app = link.app
    app.settings = dataclasses.replace(app.settings, link_listen=("127.0.0.1", port),
                                       public_url=f"https://127.0.0.1:{port}")
    with app.unit_of_work() as uow:
        url = links.issue(uow, "slack", "T1", "U1")
    page = LinkPage(app).start()
    try:
        with pytest.raises(CommandError, match="certificate verify failed"):
            link_over_https(card, url)  # the self-signed test certificate is not trusted
        message = link_over_https(card, url, insecure=True)
        with pytest.raises(CommandError, match=r"(?i)used"):
            link_over_https(card, url, insecure=True)
    finally:
        page.stop()
    assert message == f"slack T1:U1 linked to {OFFICER_NAME}"
    identity = linked(app)
    assert identity is not None and identity.linked_via == "eid"


# --- OCSP on the card path (finding B) -----------------------------------------------------------


def _card_serial(card: Card) -> int:
    cert_pem, _ = card.certificate_and_signature(b"serial, please")
    return x509.load_pem_x509_certificate(cert_pem).serial_number


@pytest.fixture
def responder(ca: TestPKI) -> Iterator[pki.OcspServer]:
    with pki.OcspServer(ca.ec_citizen_ca, now=NOW) as server:
        yield server


def _configure(link: Link, trust_dir: Path, **extra: str) -> None:
    link.app.settings = dataclasses.replace(
        link.app.settings, eid_trust_dir=trust_dir, **extra)


def test_revoked_card_is_refused_in_process(link: Link, card: Card, trust_dir: Path,
                                            responder: pki.OcspServer) -> None:
    """No ITMA_EID_OCSP: soft by default, so `link card --direct` asks the responder too."""
    responder.statuses[_card_serial(card)] = "revoked"
    _configure(link, trust_dir, eid_ocsp_url=responder.url)
    with pytest.raises(CommandError, match="revoked"):
        link_with_card(link.app, link.verifier, card, link.url)
    assert linked(link.app) is None
    assert len(responder.requests) == 1


@pytest.mark.parametrize(("mode", "accepted"), [("soft", True), ("hard", False)])
def test_unreachable_responder_on_the_card_path(
        link: Link, card: Card, trust_dir: Path, mode: str, accepted: bool,
        caplog: pytest.LogCaptureFixture) -> None:
    """The card's certificate names a closed port as its responder."""
    _configure(link, trust_dir, eid_ocsp=mode)
    if accepted:
        with caplog.at_level(logging.WARNING, logger="core.eid"):
            link_with_card(link.app, link.verifier, card, link.url)
        assert "revocation status unknown" in caplog.text
        assert OFFICER_NRN not in caplog.text
    else:
        with pytest.raises(CommandError, match="revocation status"):
            link_with_card(link.app, link.verifier, card, link.url)
    assert (linked(link.app) is not None) == accepted


def test_card_api_of_the_link_page_checks_ocsp(link: Link, card: Card, trust_dir: Path,
                                               responder: pki.OcspServer) -> None:
    """POST …/challenge and …/card use the page's verifier, built once from the settings."""
    from bot.link_page import LinkPage
    from cli.card import link_over_https

    _configure(link, trust_dir, eid_ocsp_url=responder.url)
    link.app.settings = dataclasses.replace(link.app.settings, link_listen=("127.0.0.1", 0))
    serial = _card_serial(card)
    responder.statuses[serial] = "revoked"
    page = LinkPage(link.app).start()
    try:
        url = f"https://127.0.0.1:{page.address[1]}/link/{link.token}"
        with pytest.raises(CommandError, match="revoked"):
            link_over_https(card, url, insecure=True)
        assert linked(link.app) is None
        responder.statuses[serial] = "good"
        assert link_over_https(card, url, insecure=True) == f"slack T1:U1 linked to {OFFICER_NAME}"
    finally:
        page.stop()
    assert len(responder.requests) == 2
    with link.app.unit_of_work(readonly=True) as uow:
        event = uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "link.certificate")).one()
        assert event.details["ocsp"] == "good"
