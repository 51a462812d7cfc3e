"""eID Authentication certificate validation against a PKI and OCSP responder made by the tests.

Every national register number here comes from ``core.nrn.generate``; each refusal is checked
for its ``reason`` and for not leaking the number in its message.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from core import eid, nrn
from core.config import ConfigError, Settings, load_settings
from core.eid import (
    Identity,
    OcspChecker,
    Refusal,
    TrustStore,
    Verifier,
    sign_challenge_verify,
    validate,
)
from tests.support import pki
from tests.support.pki import CertAndKey, OcspServer, TestPKI

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
NRN = nrn.generate(random.Random(6))
OTHER_NRN = nrn.generate(random.Random(7), birth_date=datetime(2003, 2, 1).date())

# A module's tests run on one worker, in order (`make test` runs pytest-xdist with `--dist
# loadfile`), so the last one sees every reason the others tested.
TESTED_REASONS: set[str] = set()
"""Filled by :func:`refused`; the last test checks that every reason was exercised."""


@pytest.fixture(scope="module")
def ca() -> TestPKI:
    return pki.build_pki(NOW)


@pytest.fixture(scope="module")
def trust(ca: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> TrustStore:
    return TrustStore.from_dir(pki.write_trust_dir(tmp_path_factory.mktemp("trust"),
                                                   ca.trust_pems()))


@pytest.fixture(scope="module")
def roots_only(ca: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> TrustStore:
    """Roots without the Citizen CAs: the client must then send its intermediate."""
    pems = {"root-rsa.pem": ca.root.pem, "root-ec.pem": ca.ec_root.pem}
    return TrustStore.from_dir(pki.write_trust_dir(tmp_path_factory.mktemp("roots"), pems))


def refused(chain: bytes | list[bytes] | str, trust: TrustStore, reason: str,
            **kwargs: object) -> Refusal:
    """Asserts the refusal reason and that neither message nor repr reveals any NRN."""
    with pytest.raises(Refusal) as info:
        validate(chain, trust, now=kwargs.pop("now", NOW), **kwargs)  # type: ignore[arg-type]
    refusal = info.value
    assert refusal.reason == reason, str(refusal)
    for number in (NRN, OTHER_NRN):
        assert number not in str(refusal)
        assert number not in repr(refusal)
    assert str(refusal).endswith(".") and str(refusal)[0].isupper()
    TESTED_REASONS.add(reason)
    return refusal


def assert_identity(identity: Identity, leaf: CertAndKey, issuer: CertAndKey, number: str) -> None:
    assert identity.nrn == number
    assert identity.surname == "Peeters"
    assert identity.given_names == "Anne Marie"
    assert identity.common_name == "Anne Marie Peeters (Authentication)"
    assert identity.fingerprint_sha256 == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert identity.issuer == issuer.cert.subject.rfc4514_string()
    assert identity.serial == format(leaf.cert.serial_number, "x")
    assert number not in repr(identity) and number not in str(identity)
    assert nrn.mask(number) in repr(identity)


# --- accepted certificates -----------------------------------------------------------------------


def test_valid_rsa_leaf_is_accepted(ca: TestPKI, trust: TrustStore) -> None:
    leaf = ca.citizen(NRN)
    identity = validate(leaf.pem, trust, now=NOW)
    assert_identity(identity, leaf, ca.citizen_ca, NRN)
    assert identity.ocsp is None and identity.ocsp_response is None


def test_valid_ec_leaf_is_accepted(ca: TestPKI, trust: TrustStore) -> None:
    leaf = ca.citizen(OTHER_NRN, key_type="ec")
    assert isinstance(leaf.cert.public_key(), ec.EllipticCurvePublicKey)
    identity = validate(leaf.pem, trust, now=NOW)
    assert_identity(identity, leaf, ca.ec_citizen_ca, OTHER_NRN)


def test_der_text_and_list_inputs_are_accepted(
    ca: TestPKI, trust: TrustStore, roots_only: TrustStore
) -> None:
    leaf = ca.citizen(NRN)
    assert validate(leaf.der, trust, now=NOW).nrn == NRN
    assert validate(leaf.pem.decode(), trust, now=NOW).nrn == NRN
    # Intermediates sent by the client complete the path when the store lacks them.
    assert validate([leaf.pem, ca.citizen_ca.der], roots_only, now=NOW).nrn == NRN
    assert validate(leaf.pem + ca.citizen_ca.pem, roots_only, now=NOW).nrn == NRN


def test_default_time_comes_from_core_clock(ca: TestPKI, trust: TrustStore) -> None:
    """The suite's autouse fixture pins core.clock to the same NOW."""
    assert validate(ca.citizen(NRN).pem, trust).nrn == NRN


def test_bis_number_is_accepted(ca: TestPKI, trust: TrustStore) -> None:
    bis = nrn.generate(random.Random(8), bis=True)
    assert validate(ca.citizen(bis).pem, trust, now=NOW).nrn == bis


# --- refusals, one per reason --------------------------------------------------------------------


@pytest.mark.parametrize("chain", [
    b"",
    b"not a certificate",
    b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    "caf\u00e9",
    [],
    [b"\x30\x03\x02\x01\x01"],
])
def test_malformed(chain: bytes | str | list[bytes], trust: TrustStore) -> None:
    refused(chain, trust, "malformed")


def test_untrusted_root(ca: TestPKI, trust: TrustStore) -> None:
    """Another root with the very same name as ours but its own key: name matching is no trust."""
    leaf = ca.untrusted(NRN)
    refused([leaf.pem, ca.other_ca.pem, ca.other_root.pem], trust, "untrusted")


def test_untrusted_when_intermediate_unknown(ca: TestPKI, roots_only: TrustStore) -> None:
    refused(ca.citizen(NRN).pem, roots_only, "untrusted")


def test_untrusted_when_a_ca_certificate_is_presented(ca: TestPKI, trust: TrustStore) -> None:
    refused(ca.citizen_ca.pem, trust, "untrusted")


def test_expired(ca: TestPKI, trust: TrustStore) -> None:
    refused(ca.expired(NRN).pem, trust, "expired")


def test_not_yet_valid(ca: TestPKI, trust: TrustStore) -> None:
    refused(ca.not_yet_valid(NRN).pem, trust, "not_yet_valid")


def test_dates_are_reported_before_trust(ca: TestPKI, trust: TrustStore) -> None:
    leaf = ca.citizen(NRN, issuer=ca.other_ca, valid_from=timedelta(days=-800),
                      valid_for=timedelta(days=400))
    refused(leaf.pem, trust, "expired")


def test_signature_certificate(ca: TestPKI, trust: TrustStore) -> None:
    refusal = refused(ca.signature_certificate(NRN).pem, trust, "signature_certificate")
    assert "authentication certificate" in str(refusal)


def test_signature_certificate_even_with_digital_signature(ca: TestPKI, trust: TrustStore) -> None:
    usage = pki.make_key_usage(digital_signature=True, content_commitment=True)
    refused(ca.citizen(NRN, key_usage=usage).pem, trust, "signature_certificate")


@pytest.mark.parametrize("flags", [
    {"key_encipherment": True},
    {"digital_signature": True, "key_encipherment": True},
    {"digital_signature": True, "key_cert_sign": True},
    {"key_agreement": True},
])
def test_key_usage(flags: dict[str, bool], ca: TestPKI, trust: TrustStore) -> None:
    refused(ca.citizen(NRN, key_usage=pki.make_key_usage(**flags)).pem, trust, "key_usage")


def test_eku_without_client_auth(ca: TestPKI, trust: TrustStore) -> None:
    leaf = ca.citizen(NRN, eku=[ExtendedKeyUsageOID.SERVER_AUTH,
                                ExtendedKeyUsageOID.EMAIL_PROTECTION])
    refused(leaf.pem, trust, "eku")


def test_eku_absent_is_fine(ca: TestPKI, trust: TrustStore) -> None:
    assert validate(ca.citizen(NRN, eku=None).pem, trust, now=NOW).nrn == NRN


@pytest.mark.parametrize("country", ["FR", "NL"])
def test_country(country: str, ca: TestPKI, trust: TrustStore) -> None:
    refused(ca.foreign(NRN, country).pem, trust, "country")


def test_nrn_missing(ca: TestPKI, trust: TrustStore) -> None:
    refused(ca.missing_nrn().pem, trust, "nrn_missing")


def test_nrn_bad_checksum(ca: TestPKI, trust: TrustStore) -> None:
    leaf = ca.bad_checksum(NRN)
    value = leaf.cert.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)[0].value
    assert value != NRN and not nrn.is_valid(str(value))
    refusal = refused(leaf.pem, trust, "nrn_invalid")
    assert str(value) not in str(refusal)


@pytest.mark.parametrize("value", [nrn.format_nrn(NRN), NRN[:10], "ABCDEFGHIJK"])
def test_nrn_not_eleven_digits(value: str, ca: TestPKI, trust: TrustStore) -> None:
    refused(ca.citizen(value).pem, trust, "nrn_invalid")


# --- OCSP over real HTTP -------------------------------------------------------------------------


def unknown_because(leaf: CertAndKey, trust: TrustStore, checker: OcspChecker, why: str,
                    caplog: pytest.LogCaptureFixture) -> None:
    """Hard fail refuses; soft fail accepts without a status and logs why (never the NRN)."""
    refused(leaf.pem, trust, "revocation_unknown", ocsp=checker, hard_fail=True)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="core.eid"):
        identity = validate(leaf.pem, trust, now=NOW, ocsp=checker)
    assert identity.ocsp is None and identity.ocsp_response is None
    assert "revocation status unknown" in caplog.text
    assert why in caplog.text
    assert NRN not in caplog.text and OTHER_NRN not in caplog.text


@pytest.fixture
def responder(ca: TestPKI) -> Iterator[OcspServer]:
    with OcspServer(ca.citizen_ca, now=NOW) as server:
        yield server


def test_ocsp_good_via_aia(ca: TestPKI, trust: TrustStore, responder: OcspServer) -> None:
    leaf = ca.citizen(NRN, ocsp_url=responder.url)
    responder.statuses[leaf.cert.serial_number] = "good"
    identity = validate(leaf.pem, trust, now=NOW, ocsp=OcspChecker(), hard_fail=True)
    assert_identity(identity, leaf, ca.citizen_ca, NRN)
    assert identity.ocsp == "good"
    assert identity.ocsp_response is not None
    assert ocsp.load_der_ocsp_response(identity.ocsp_response).serial_number == (
        leaf.cert.serial_number
    )
    (request,) = responder.requests
    assert responder.content_types == ["application/ocsp-request"]
    assert request.serial_number == leaf.cert.serial_number
    assert request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce


def test_ocsp_good_from_delegated_responder_via_override(ca: TestPKI, trust: TrustStore) -> None:
    signer = pki.make_ocsp_signer(ca.ec_citizen_ca, now=NOW)
    leaf = ca.citizen(OTHER_NRN, key_type="ec")  # its AIA URL points nowhere: override wins
    with OcspServer(ca.ec_citizen_ca, {leaf.cert.serial_number: "good"}, responder=signer,
                    now=NOW) as server:
        checker = OcspChecker(responder_url_override=server.url, timeout=2)
        identity = validate(leaf.pem, trust, now=NOW, ocsp=checker, hard_fail=True)
    assert identity.ocsp == "good"
    assert len(server.requests) == 1


@pytest.mark.parametrize("hard_fail", [False, True])
def test_ocsp_revoked(hard_fail: bool, ca: TestPKI, trust: TrustStore,
                      responder: OcspServer) -> None:
    leaf = ca.citizen(NRN, ocsp_url=responder.url)
    responder.statuses[leaf.cert.serial_number] = "revoked"
    refused(leaf.pem, trust, "revoked", ocsp=OcspChecker(), hard_fail=hard_fail)


def test_ocsp_responder_down(ca: TestPKI, trust: TrustStore,
                             caplog: pytest.LogCaptureFixture) -> None:
    """Soft fail (default) accepts with ocsp=None and a warning; hard fail refuses."""
    server = OcspServer(ca.citizen_ca, now=NOW).start()
    url = server.url
    server.stop()  # the port now refuses connections
    leaf = ca.citizen(NRN, ocsp_url=url)
    unknown_because(leaf, trust, OcspChecker(timeout=2), "unreachable", caplog)


@pytest.mark.parametrize(("mode", "why"), [
    ("garbage", "unreadable response"),
    ("wrong_signer", "signature does not verify"),
    ("try_later", "TRY_LATER"),
    ("wrong_nonce", "nonce does not match"),
])
def test_ocsp_unusable_answers(mode: pki.OcspMode, why: str, ca: TestPKI, trust: TrustStore,
                               responder: OcspServer, caplog: pytest.LogCaptureFixture) -> None:
    leaf = ca.citizen(NRN, ocsp_url=responder.url)
    responder.statuses[leaf.cert.serial_number] = "good"
    responder.mode = mode
    unknown_because(leaf, trust, OcspChecker(), why, caplog)


def test_ocsp_unknown_serial(ca: TestPKI, trust: TrustStore, responder: OcspServer,
                             caplog: pytest.LogCaptureFixture) -> None:
    leaf = ca.citizen(NRN, ocsp_url=responder.url)  # not in responder.statuses
    unknown_because(leaf, trust, OcspChecker(), "does not know the certificate", caplog)


@pytest.mark.parametrize("eku", [None, [ExtendedKeyUsageOID.CLIENT_AUTH]])
def test_ocsp_delegated_responder_needs_ocsp_signing_eku(
    eku: list[x509.ObjectIdentifier] | None, ca: TestPKI, trust: TrustStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    signer = pki.make_ocsp_signer(ca.citizen_ca, now=NOW, eku=eku)
    leaf = ca.citizen(NRN)
    with OcspServer(ca.citizen_ca, {leaf.cert.serial_number: "good"}, responder=signer,
                    now=NOW) as server:
        checker = OcspChecker(responder_url_override=server.url)
        unknown_because(leaf, trust, checker, "authorised responder", caplog)


@pytest.mark.parametrize("signer_ca", ["other_ca", "ec_citizen_ca"])
def test_ocsp_delegated_responder_of_another_ca_is_not_trusted(
    signer_ca: str, ca: TestPKI, trust: TrustStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A genuine OCSPSigning certificate, but from another CA — ``other_ca`` even bears our
    Citizen CA's exact name, so only the signature on the responder certificate tells."""
    signer = pki.make_ocsp_signer(getattr(ca, signer_ca), now=NOW)
    leaf = ca.citizen(NRN)
    answer = pki.ocsp_response(leaf.cert, ca.citizen_ca.cert, signer.key, "good",
                               responder_cert=signer.cert, now=NOW)
    checker = OcspChecker(fetch=lambda url, body: answer)
    unknown_because(leaf, trust, checker, "authorised responder", caplog)


def test_ocsp_expired_delegated_responder_is_not_trusted(
    ca: TestPKI, trust: TrustStore, caplog: pytest.LogCaptureFixture
) -> None:
    signer = pki.make_ocsp_signer(ca.citizen_ca, now=NOW, valid_from=timedelta(days=-60),
                                  valid_for=timedelta(days=30))
    leaf = ca.citizen(NRN)
    answer = pki.ocsp_response(leaf.cert, ca.citizen_ca.cert, signer.key, "good",
                               responder_cert=signer.cert, now=NOW)
    checker = OcspChecker(fetch=lambda url, body: answer)
    unknown_because(leaf, trust, checker, "authorised responder", caplog)


@pytest.mark.parametrize("by_name", [False, True])
def test_ocsp_delegated_responder_identified_by_key_or_name(
    by_name: bool, ca: TestPKI, trust: TrustStore
) -> None:
    signer = pki.make_ocsp_signer(ca.citizen_ca, now=NOW)
    leaf = ca.citizen(NRN)
    answer = pki.ocsp_response(leaf.cert, ca.citizen_ca.cert, signer.key, "good",
                               responder_cert=signer.cert, now=NOW, by_name=by_name)
    checker = OcspChecker(fetch=lambda url, body: answer)
    assert validate(leaf.pem, trust, now=NOW, ocsp=checker, hard_fail=True).ocsp == "good"


def test_ocsp_answer_for_same_serial_of_another_issuer(
    ca: TestPKI, trust: TrustStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Serial numbers are only unique per issuer: the CertID hashes must match as well."""
    leaf = ca.citizen(NRN)
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=bytes(20), issuer_key_hash=bytes(20),
        serial_number=leaf.cert.serial_number, algorithm=hashes.SHA1(),
        cert_status=ocsp.OCSPCertStatus.GOOD, this_update=NOW - timedelta(minutes=1),
        next_update=NOW + timedelta(hours=1), revocation_time=None, revocation_reason=None,
    )
    answer = (
        builder.responder_id(ocsp.OCSPResponderEncoding.HASH, ca.citizen_ca.cert)
        .sign(ca.citizen_ca.key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    checker = OcspChecker(fetch=lambda url, body: answer)
    unknown_because(leaf, trust, checker, "does not cover this certificate", caplog)


def fetch_answering(leaf: CertAndKey, issuer: CertAndKey, moment: datetime,
                    seen: list[str] | None = None) -> eid.Fetch:
    """An injected transport returning a response made at ``moment`` (no HTTP involved)."""
    def fetch(url: str, body: bytes) -> bytes:
        if seen is not None:
            seen.append(url)
        assert ocsp.load_der_ocsp_request(body).serial_number == leaf.cert.serial_number
        return pki.ocsp_response(leaf.cert, issuer.cert, issuer.key, "good", now=moment)
    return fetch


def test_ocsp_with_injected_fetch(ca: TestPKI, trust: TrustStore) -> None:
    leaf = ca.citizen(NRN)
    seen: list[str] = []
    checker = OcspChecker(fetch=fetch_answering(leaf, ca.citizen_ca, NOW, seen))
    assert validate(leaf.pem, trust, now=NOW, ocsp=checker, hard_fail=True).ocsp == "good"
    assert seen == [pki.DEFAULT_OCSP_URL]


@pytest.mark.parametrize(("shift", "why"), [
    (timedelta(days=-3), "stale"),
    (timedelta(days=1), "dated in the future"),
])
def test_ocsp_freshness(shift: timedelta, why: str, ca: TestPKI, trust: TrustStore,
                        caplog: pytest.LogCaptureFixture) -> None:
    """An old "good" could be replayed after the card was revoked."""
    leaf = ca.citizen(NRN)
    checker = OcspChecker(fetch=fetch_answering(leaf, ca.citizen_ca, NOW + shift))
    unknown_because(leaf, trust, checker, why, caplog)


def test_ocsp_response_about_another_certificate(
    ca: TestPKI, trust: TrustStore, caplog: pytest.LogCaptureFixture
) -> None:
    leaf, other = ca.citizen(NRN), ca.citizen(OTHER_NRN)
    answer = pki.ocsp_response(other.cert, ca.citizen_ca.cert, ca.citizen_ca.key, "good", now=NOW)
    checker = OcspChecker(fetch=lambda url, body: answer)
    unknown_because(leaf, trust, checker, "does not cover this certificate", caplog)


def test_ocsp_revoked_by_helper(ca: TestPKI, trust: TrustStore) -> None:
    leaf = ca.citizen(NRN)
    answer = pki.ocsp_response(leaf.cert, ca.citizen_ca.cert, ca.citizen_ca.key, "revoked",
                               now=NOW)
    refused(leaf.pem, trust, "revoked", ocsp=OcspChecker(fetch=lambda url, body: answer))


def test_ocsp_without_url_is_unknown(ca: TestPKI, trust: TrustStore,
                                     caplog: pytest.LogCaptureFixture) -> None:
    leaf = ca.citizen(NRN, ocsp_url=None)
    unknown_because(leaf, trust, OcspChecker(), "no OCSP responder URL", caplog)


# --- trust store ---------------------------------------------------------------------------------


def test_shipped_belgian_roots_load_by_default() -> None:
    store = TrustStore.from_dir()
    assert len(store.roots) == 2 and len(store.intermediates) == 1
    names = sorted(c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
                   for c in (*store.roots, *store.intermediates))
    assert names == ["Belgium Root CA4", "Belgium Root CA6", "Citizen CA"]
    (citizen_ca,) = store.intermediates
    ca4 = next(c for c in store.roots if c.subject == citizen_ca.issuer)
    citizen_ca.verify_directly_issued_by(ca4)


def test_trust_store_configuration_errors(ca: TestPKI, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        TrustStore.from_dir(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"no \*\.pem"):
        TrustStore.from_dir(tmp_path)
    (tmp_path / "ca.pem").write_bytes(ca.citizen_ca.pem)
    with pytest.raises(ValueError, match="self-signed root"):
        TrustStore.from_dir(tmp_path)
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n")
    with pytest.raises(ValueError, match="not a PEM"):
        TrustStore.from_dir(tmp_path)


def test_own_store_only(ca: TestPKI) -> None:
    """A store holding another hierarchy refuses ours: no fallback to any other trust."""
    other = TrustStore.from_certificates([ca.other_root.cert, ca.other_ca.cert])
    refused(ca.citizen(NRN).pem, other, "untrusted")


# --- one verifier from the settings --------------------------------------------------------------


def _settings(tmp_path: Path, trust_dir: Path | None = None, **env: str) -> Settings:
    base = {"ITMA_HOME": str(tmp_path), "ITMA_SECRET_KEY": "test-secret-key-0123456789"}
    if trust_dir is not None:
        base["ITMA_EID_TRUST_DIR"] = str(trust_dir)
    return load_settings({**base, **env})


@pytest.fixture(scope="module")
def trust_dir(ca: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pki.write_trust_dir(tmp_path_factory.mktemp("verifier-trust"), ca.trust_pems())


def test_ocsp_is_soft_by_default(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert settings.eid.ocsp == "soft"
    verifier = Verifier.from_settings(settings)
    assert verifier.mode == "soft" and not verifier.hard_fail
    assert verifier.ocsp is not None and verifier.ocsp.responder_url_override is None
    assert len(verifier.trust.roots) == 2  # the shipped Belgian roots


@pytest.mark.parametrize(("mode", "checks", "hard"), [
    ("off", False, False), ("soft", True, False), ("hard", True, True)])
def test_ocsp_modes_from_settings(tmp_path: Path, trust_dir: Path, mode: str, checks: bool,
                                  hard: bool) -> None:
    verifier = Verifier.from_settings(_settings(
        tmp_path, trust_dir, ITMA_EID_OCSP=mode, ITMA_EID_OCSP_URL="http://ocsp.example/relay"))
    assert (verifier.ocsp is not None) == checks and verifier.hard_fail == hard
    if verifier.ocsp is not None:
        assert verifier.ocsp.responder_url_override == "http://ocsp.example/relay"


@pytest.mark.parametrize(("env", "named"), [
    ({"ITMA_EID_OCSP": "sometimes"}, "ITMA_EID_OCSP"),
    ({"ITMA_EID_OCSP_URL": "ldap://ocsp.example"}, "ITMA_EID_OCSP_URL"),
    ({"ITMA_EID_TRUST_DIR": "/nonexistent/eid"}, "ITMA_EID_TRUST_DIR"),
])
def test_bad_verifier_settings_name_the_variable(tmp_path: Path, env: dict[str, str],
                                                 named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Verifier.from_settings(_settings(tmp_path, **env))


def test_verifier_needs_a_checker_exactly_when_checking(trust: TrustStore) -> None:
    with pytest.raises(ValueError, match="OCSP checker"):
        Verifier(trust, "soft", None)
    with pytest.raises(ValueError, match="OCSP checker"):
        Verifier(trust, "off", OcspChecker())


def test_soft_accepts_a_certificate_naming_no_responder_hard_refuses(
        ca: TestPKI, trust: TrustStore, caplog: pytest.LogCaptureFixture) -> None:
    leaf = ca.citizen(NRN, ocsp_url=None)
    with caplog.at_level(logging.WARNING, logger="core.eid"):
        identity = Verifier(trust, "soft", OcspChecker()).validate(leaf.pem, now=NOW)
    assert identity.ocsp is None and "no OCSP responder URL" in caplog.text
    with pytest.raises(Refusal) as refusal:
        Verifier(trust, "hard", OcspChecker()).validate(leaf.pem, now=NOW)
    assert refusal.value.reason == "revocation_unknown"
    assert Verifier(trust, "off").validate(leaf.pem, now=NOW).ocsp is None


def test_verifier_asks_the_responder(ca: TestPKI, trust: TrustStore,
                                     responder: OcspServer) -> None:
    leaf = ca.citizen(NRN, ocsp_url=responder.url)
    responder.statuses[leaf.cert.serial_number] = "revoked"
    for mode in ("soft", "hard"):
        with pytest.raises(Refusal) as refusal:
            Verifier(trust, mode, OcspChecker()).validate(leaf.pem, now=NOW)  # type: ignore[arg-type]
        assert refusal.value.reason == "revoked"
    assert Verifier(trust, "off").validate(leaf.pem, now=NOW).nrn == NRN
    assert len(responder.requests) == 2


# --- card login signatures -----------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_sign_challenge_accepts_card_signature(key_type: pki.KeyType, ca: TestPKI) -> None:
    leaf = ca.citizen(NRN, key_type=key_type)
    nonce = b"server nonce 0123456789abcdef"
    sign_challenge_verify(leaf.pem, nonce, pki.sign_nonce(leaf.key, nonce))


def test_sign_challenge_accepts_raw_ecdsa(ca: TestPKI) -> None:
    """PKCS#11 CKM_ECDSA returns r || s rather than DER."""
    leaf = ca.citizen(NRN, key_type="ec")
    nonce = b"raw nonce"
    r, s = decode_dss_signature(pki.sign_nonce(leaf.key, nonce))
    sign_challenge_verify(leaf.der, nonce, r.to_bytes(48, "big") + s.to_bytes(48, "big"))


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_sign_challenge_refuses_wrong_nonce(key_type: pki.KeyType, ca: TestPKI) -> None:
    leaf = ca.citizen(NRN, key_type=key_type)
    signature = pki.sign_nonce(leaf.key, b"the nonce we sent")
    with pytest.raises(Refusal) as info:
        sign_challenge_verify(leaf.pem, b"another nonce", signature)
    assert info.value.reason == "signature" and NRN not in str(info.value)
    TESTED_REASONS.add("signature")


def test_sign_challenge_refuses_other_key(ca: TestPKI) -> None:
    leaf = ca.citizen(NRN, key_type="rsa")
    nonce = b"nonce"
    with pytest.raises(Refusal) as info:
        sign_challenge_verify(leaf.pem, nonce, pki.sign_nonce(pki.new_key("rsa"), nonce))
    assert info.value.reason == "signature"
    with pytest.raises(Refusal) as info:
        sign_challenge_verify(b"garbage", nonce, b"sig")
    assert info.value.reason == "malformed"


# --- the contract itself -------------------------------------------------------------------------


def test_refusal_reasons_are_closed() -> None:
    with pytest.raises(ValueError, match="unknown eID refusal reason"):
        Refusal("nope")  # type: ignore[arg-type]
    assert set(eid.REASONS) == set(eid._MESSAGES)


def test_every_reason_was_tested(request: pytest.FixtureRequest) -> None:
    """Runs last in this module, so the issue's note can list exactly these; meaningless when
    only some tests were selected."""
    config = request.config
    if config.getoption("keyword") or config.getoption("markexpr") or any(
        "::" in arg for arg in config.args
    ):
        return  # only part of the module was selected: nothing to compare with
    assert set(eid.REASONS) == TESTED_REASONS
