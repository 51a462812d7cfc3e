"""Belgian eID Authentication certificate validation, for linking chat accounts to officers.

An officer proves who they are once with the card's Authentication certificate (through TLS
client authentication or a nonce signed on the card); the national register number (NRN) in that
certificate is what links them. So the checks here are deliberately narrow and each failure has a
precise, user-presentable reason:

* the chain must end at one of *our* pinned Belgian roots, never the system store, because any
  publicly trusted CA could otherwise mint a certificate carrying someone's NRN;
* the card also holds a Signature certificate (qualified, nonRepudiation) that must never be used
  to log in — people do pick it by mistake, so it gets its own reason;
* the NRN is personal data: it never appears in exception messages, ``repr`` or logs. Note that
  ``cryptography``'s own verification errors embed the certificate subject (hence the NRN), so
  their text is deliberately dropped here.

Revocation is checked by OCSP (cryptography's verifier does none). Every path that accepts a
card — the TLS link page, the proxy header, the card API, ``link card --direct`` — validates
through one :class:`Verifier` built once from the settings (:meth:`Verifier.from_settings`), so
none of them can forget the trust store or the OCSP mode.
No web or database code lives here: callers turn an :class:`Identity` into a link.
"""

from __future__ import annotations

import http.client
import logging
import os
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal, cast, get_args
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509 import ocsp as x509_ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from core import clock
from core.config import EID_OCSP_DEFAULT, ConfigError, Settings
from core.nrn import InvalidNRN, mask
from core.nrn import parse as parse_nrn

__all__ = [
    "DEFAULT_ROOTS_DIR",
    "REASONS",
    "Fetch",
    "Identity",
    "OcspChecker",
    "OcspError",
    "OcspMode",
    "OcspResult",
    "Reason",
    "Refusal",
    "TrustStore",
    "Verifier",
    "sign_challenge_verify",
    "validate",
]

log = logging.getLogger(__name__)

Reason = Literal[
    "malformed",
    "untrusted",
    "expired",
    "not_yet_valid",
    "signature_certificate",
    "key_usage",
    "eku",
    "country",
    "nrn_missing",
    "nrn_invalid",
    "revoked",
    "revocation_unknown",
    "signature",
]

REASONS: Final[tuple[Reason, ...]] = get_args(Reason)

_MESSAGES: Final[dict[str, str]] = {
    "malformed": "The certificate could not be read.",
    "untrusted": "The certificate was not issued by a trusted Belgian eID authority.",
    "expired": "The certificate has expired; a renewed eID card is needed.",
    "not_yet_valid": "The certificate is not valid yet; check the computer's date and time.",
    "signature_certificate": (
        "This is the card's signature certificate; please choose the authentication "
        "certificate instead."
    ),
    "key_usage": "The certificate is not allowed to be used for authentication.",
    "eku": "The certificate is not allowed to be used for client authentication.",
    "country": "The certificate was not issued for Belgium.",
    "nrn_missing": "The certificate does not contain a national register number.",
    "nrn_invalid": "The national register number in the certificate is not valid.",
    "revoked": "The certificate has been revoked.",
    "revocation_unknown": "The revocation status of the certificate could not be checked.",
    "signature": "The signature could not be verified with the certificate.",
}

DEFAULT_ROOTS_DIR: Final = Path(__file__).resolve().with_name("eid_roots")
"""The public Belgian roots (and the Citizen CA) shipped with the project as its trust store."""

_MAX_CHAIN_CERTS: Final = 10
_MAX_OCSP_RESPONSE: Final = 1 << 20
_NRN_LENGTH: Final = 11


class Refusal(Exception):
    """A certificate or signature that must not be accepted.

    ``reason`` (one of :data:`REASONS`) lets the page pick a translated explanation; ``str()`` is
    an English sentence safe to log, because it never contains the NRN.
    """

    reason: Reason

    def __init__(self, reason: Reason, message: str | None = None) -> None:
        if reason not in _MESSAGES:
            raise ValueError(f"unknown eID refusal reason: {reason!r}")
        self.reason = reason
        super().__init__(message or _MESSAGES[reason])


@dataclass(frozen=True, repr=False)
class Identity:
    """What a valid Authentication certificate says about its holder, plus what a link must record
    (fingerprint, issuer, serial, OCSP outcome) to be auditable later."""

    nrn: str
    surname: str
    given_names: str
    common_name: str
    fingerprint_sha256: str
    issuer: str
    serial: str
    ocsp: str | None
    ocsp_response: bytes | None = field(default=None, compare=False)
    """The verified DER OCSP response when one was obtained, so it can be stored as evidence."""

    def __repr__(self) -> str:
        """Masked like ``core.nrn`` so an Identity can be logged or shown in a traceback."""
        evidence = "None" if self.ocsp_response is None else f"<{len(self.ocsp_response)} bytes>"
        return (
            f"Identity(nrn={mask(self.nrn)!r}, surname={self.surname!r}, "
            f"given_names={self.given_names!r}, common_name={self.common_name!r}, "
            f"fingerprint_sha256={self.fingerprint_sha256!r}, issuer={self.issuer!r}, "
            f"serial={self.serial!r}, ocsp={self.ocsp!r}, ocsp_response={evidence})"
        )

    __str__ = __repr__


# --- trust store ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustStore:
    """Pinned roots plus known intermediates.

    Only ``roots`` are trust anchors. Intermediates are mere path-building candidates (browsers
    often send the leaf alone), so adding one can never make an unrelated hierarchy trusted.
    """

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not self.roots:
            raise ValueError("an eID trust store needs at least one self-signed root certificate")

    @classmethod
    def from_certificates(cls, certificates: Iterable[x509.Certificate]) -> TrustStore:
        """Sorts certificates by whether they are self-signed, so a directory needs no layout."""
        roots: list[x509.Certificate] = []
        intermediates: list[x509.Certificate] = []
        for cert in certificates:
            (roots if _is_self_signed(cert) else intermediates).append(cert)
        return cls(tuple(roots), tuple(intermediates))

    @classmethod
    def from_dir(cls, path: Path | None = None) -> TrustStore:
        """Loads every ``*.pem`` of ``path`` (default: the shipped ``core/eid_roots``).

        A missing or empty directory is a configuration error and is reported as such, rather
        than silently producing a store that refuses every officer.
        """
        folder = Path(path) if path is not None else DEFAULT_ROOTS_DIR
        if not folder.is_dir():
            raise ValueError(f"eID trust store directory does not exist: {folder}")
        certificates: list[x509.Certificate] = []
        for pem_file in sorted(folder.glob("*.pem")):
            try:
                certificates.extend(x509.load_pem_x509_certificates(pem_file.read_bytes()))
            except ValueError as exc:
                message = f"eID trust store file is not a PEM certificate: {pem_file}"
                raise ValueError(message) from exc
        if not certificates:
            raise ValueError(f"eID trust store directory contains no *.pem certificate: {folder}")
        return cls.from_certificates(certificates)


def _is_self_signed(cert: x509.Certificate) -> bool:
    """Name equality alone is not enough: a certificate that claims to be its own issuer but
    whose signature does not verify is corrupt, and must not silently become an anchor."""
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
        raise ValueError(
            f"trust store certificate {cert.subject.rfc4514_string()} names itself as issuer "
            "but is not validly self-signed"
        ) from exc
    return True


# --- parsing -------------------------------------------------------------------------------------


def _load_chain(chain: bytes | str | Sequence[bytes]) -> list[x509.Certificate]:
    """Leaf first, then whatever intermediates the client sent; PEM or DER, as web servers and
    proxies hand over either."""
    if isinstance(chain, str):
        try:
            blobs: list[bytes] = [chain.encode("ascii")]
        except UnicodeEncodeError:
            raise Refusal("malformed") from None
    elif isinstance(chain, bytes | bytearray):
        blobs = [bytes(chain)]
    elif isinstance(chain, Sequence):
        blobs = list(chain)
    else:
        raise Refusal("malformed")
    certificates: list[x509.Certificate] = []
    for blob in blobs:
        certificates.extend(_load_blob(blob))
    if not certificates or len(certificates) > _MAX_CHAIN_CERTS:
        raise Refusal("malformed")
    for cert in certificates:
        _check_parsable(cert)
    return certificates


def _load_blob(blob: object) -> list[x509.Certificate]:
    if not isinstance(blob, bytes | bytearray) or not blob.strip():
        raise Refusal("malformed")
    data = bytes(blob)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise Refusal("malformed") from None


def _check_parsable(cert: x509.Certificate) -> None:
    """cryptography parses names and extensions lazily; touching them here turns a corrupt
    extension into "malformed" instead of an unexpected exception in a later rule."""
    try:
        _ = cert.subject, cert.issuer, cert.extensions, cert.serial_number
        _ = cert.not_valid_before_utc, cert.not_valid_after_utc
        cert.public_key()
    except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension,
            x509.UnsupportedGeneralNameType):
        raise Refusal("malformed") from None


# --- the rules -----------------------------------------------------------------------------------


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _check_dates(leaf: x509.Certificate, now: datetime) -> None:
    """Done before path building, whose error would only say "not valid at validation time"."""
    if now > leaf.not_valid_after_utc:
        raise Refusal("expired")
    if now < leaf.not_valid_before_utc:
        raise Refusal("not_yet_valid")


def _ee_policy() -> ExtensionPolicy:
    """Web PKI leaf rules, minus three the eID needs relaxed.

    The card's certificate has no SubjectAltName (it names a person, not a host). KeyUsage and
    ExtendedKeyUsage are relaxed only here because :func:`validate` checks them itself, more
    strictly, after the path is known — so a Signature certificate gets its own reason instead of
    a generic path failure.
    """
    agnostic = Criticality.AGNOSTIC
    return (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.SubjectAlternativeName, agnostic, None)
        .may_be_present(x509.KeyUsage, agnostic, None)
        .may_be_present(x509.ExtendedKeyUsage, agnostic, None)
    )


def _build_path(
    leaf: x509.Certificate, sent: Sequence[x509.Certificate], trust: TrustStore, now: datetime
) -> list[x509.Certificate]:
    verifier = (
        PolicyBuilder()
        .store(Store(list(trust.roots)))
        .time(now)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_ee_policy())
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(leaf, [*trust.intermediates, *sent])
    except VerificationError:
        # The error text names the leaf's subject, i.e. the NRN: never pass it on.
        raise Refusal("untrusted") from None
    return list(verified.chain)


def _check_key_usage(leaf: x509.Certificate) -> None:
    """digitalSignature only, as on the card's Authentication certificate. nonRepudiation marks
    the qualified Signature certificate, which must never serve to log in."""
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise Refusal("key_usage") from None
    if usage.content_commitment:
        raise Refusal("signature_certificate")
    extra = (usage.key_encipherment, usage.data_encipherment, usage.key_agreement,
             usage.key_cert_sign, usage.crl_sign)
    if not usage.digital_signature or any(extra):
        raise Refusal("key_usage")


def _check_eku(leaf: x509.Certificate) -> None:
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
        raise Refusal("eku")


def _attributes(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    return [a.value if isinstance(a.value, str) else "" for a in name.get_attributes_for_oid(oid)]


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = _attributes(name, oid)
    return values[0] if values else ""


def _check_country(leaf: x509.Certificate) -> None:
    if _attributes(leaf.subject, NameOID.COUNTRY_NAME) != ["BE"]:
        raise Refusal("country")


def _check_nrn(leaf: x509.Certificate) -> str:
    """Exactly one serialNumber of exactly 11 digits: the card never formats it, so separators
    (which ``core.nrn.parse`` would tolerate from humans) mean the certificate is not a card's."""
    values = _attributes(leaf.subject, NameOID.SERIAL_NUMBER)
    if not values:
        raise Refusal("nrn_missing")
    value = values[0]
    if len(values) != 1 or len(value) != _NRN_LENGTH or not value.isascii() or not value.isdigit():
        raise Refusal("nrn_invalid")
    try:
        return parse_nrn(value).digits
    except InvalidNRN:
        raise Refusal("nrn_invalid") from None


# --- OCSP ----------------------------------------------------------------------------------------

Fetch = Callable[[str, bytes], bytes]
"""POST ``body`` to ``url`` and return the response body; injectable for tests and proxies."""


class OcspError(Exception):
    """The revocation status could not be established (unreachable, invalid or unusable answer).
    Messages never contain the certificate subject."""


@dataclass(frozen=True)
class OcspResult:
    """A verified OCSP answer for one certificate, with the DER kept as evidence."""

    status: Literal["good", "revoked"]
    response_der: bytes
    produced_at: datetime
    responder_url: str


class OcspChecker:
    """Asks the leaf's OCSP responder (or a configured override) whether it is revoked.

    The response is trusted only if signed by the issuing CA itself or by a responder certificate
    that CA issued with the OCSPSigning EKU (RFC 6960 §4.2.2.2), names our certificate, carries our
    nonce when it echoes one, and is fresh — otherwise an attacker could replay an old "good".
    """

    def __init__(
        self,
        responder_url_override: str | None = None,
        timeout: float = 5.0,
        fetch: Fetch | None = None,
        *,
        clock_skew: timedelta = timedelta(minutes=5),
        max_age_without_next_update: timedelta = timedelta(hours=1),
        use_nonce: bool = True,
    ) -> None:
        self.responder_url_override = responder_url_override
        self.timeout = timeout
        self._fetch: Fetch = fetch or self._http_post
        self.clock_skew = clock_skew
        self.max_age_without_next_update = max_age_without_next_update
        self.use_nonce = use_nonce

    def responder_url(self, leaf: x509.Certificate) -> str | None:
        """The override wins (e.g. an internal relay); otherwise the leaf's AIA OCSP URL."""
        if self.responder_url_override:
            return self.responder_url_override
        try:
            aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        except x509.ExtensionNotFound:
            return None
        for description in aia:
            location = description.access_location
            if (description.access_method == AuthorityInformationAccessOID.OCSP
                    and isinstance(location, x509.UniformResourceIdentifier)):
                return location.value
        return None

    def check(
        self, leaf: x509.Certificate, issuer: x509.Certificate, *, now: datetime | None = None
    ) -> OcspResult:
        """Raises :class:`OcspError` whenever the answer cannot be relied on."""
        moment = _as_utc(now or clock.now())
        url = self.responder_url(leaf)
        if not url:
            raise OcspError("no OCSP responder URL for this certificate")
        nonce = os.urandom(16) if self.use_nonce else None
        builder = x509_ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1())
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        request_der = builder.build().public_bytes(serialization.Encoding.DER)
        try:
            body = self._fetch(url, request_der)
        except OcspError:
            raise
        except Exception as exc:  # any transport failure just means "status unknown"
            raise OcspError(f"OCSP responder {url} unreachable: {type(exc).__name__}") from exc
        try:
            response = x509_ocsp.load_der_ocsp_response(body)
        except ValueError as exc:
            raise OcspError(f"OCSP responder {url} sent an unreadable response") from exc
        if response.response_status != x509_ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise OcspError(f"OCSP responder {url} answered {response.response_status.name}")
        signer = _ocsp_signer(response, issuer, moment, self.clock_skew)
        _verify_ocsp_signature(response, signer)
        _check_ocsp_nonce(response, nonce)
        single = _matching_single_response(response, leaf, issuer)
        self._check_freshness(single, moment)
        status = single.certificate_status
        if status == x509_ocsp.OCSPCertStatus.UNKNOWN:
            raise OcspError("OCSP responder does not know the certificate")
        return OcspResult(
            status="good" if status == x509_ocsp.OCSPCertStatus.GOOD else "revoked",
            response_der=body,
            produced_at=response.produced_at_utc,
            responder_url=url,
        )

    def _check_freshness(self, single: x509_ocsp.OCSPSingleResponse, now: datetime) -> None:
        if single.this_update_utc > now + self.clock_skew:
            raise OcspError("OCSP response is dated in the future")
        next_update = single.next_update_utc
        if next_update is not None:
            if next_update < now - self.clock_skew:
                raise OcspError("OCSP response is stale (nextUpdate passed)")
        elif single.this_update_utc < now - self.max_age_without_next_update:
            raise OcspError("OCSP response is too old")

    def _http_post(self, url: str, body: bytes) -> bytes:
        """Plain HTTP POST (RFC 6960 appendix A); OCSP responses are signed, so no TLS needed."""
        if not url.lower().startswith(("http://", "https://")):
            raise OcspError("OCSP responder URL must be http(s)")
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/ocsp-request",
                "Accept": "application/ocsp-response",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                data: bytes = answer.read(_MAX_OCSP_RESPONSE + 1)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise OcspError(f"OCSP responder {url} unreachable: {type(exc).__name__}") from exc
        if len(data) > _MAX_OCSP_RESPONSE:
            raise OcspError(f"OCSP responder {url} sent an oversized response")
        return data


def _responder_matches(response: x509_ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    if response.responder_key_hash is not None:
        key_hash = x509.SubjectKeyIdentifier.from_public_key(
            cert.public_key()  # type: ignore[arg-type]
        ).digest
        return key_hash == response.responder_key_hash
    return response.responder_name == cert.subject


def _ocsp_signer(
    response: x509_ocsp.OCSPResponse, issuer: x509.Certificate, now: datetime, skew: timedelta
) -> x509.Certificate:
    """The issuer itself, or a delegated responder the issuer certified for OCSP signing."""
    if _responder_matches(response, issuer):
        return issuer
    for candidate in response.certificates:
        if not _responder_matches(response, candidate):
            continue
        try:
            candidate.verify_directly_issued_by(issuer)
            eku = candidate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm,
                x509.ExtensionNotFound):
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
            continue
        valid_from, valid_to = candidate.not_valid_before_utc, candidate.not_valid_after_utc
        if not valid_from - skew <= now <= valid_to + skew:
            continue
        return candidate
    raise OcspError("OCSP response is not signed by the issuer or an authorised responder")


def _verify_ocsp_signature(response: x509_ocsp.OCSPResponse, signer: x509.Certificate) -> None:
    key = signer.public_key()
    data, signature = response.tbs_response_bytes, response.signature
    try:
        algorithm = response.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            raise OcspError("OCSP response uses an unsupported signature algorithm")
    except (InvalidSignature, UnsupportedAlgorithm, ValueError) as exc:
        raise OcspError("OCSP response signature does not verify") from exc


def _check_ocsp_nonce(response: x509_ocsp.OCSPResponse, nonce: bytes | None) -> None:
    """A missing nonce is tolerated (many CA responders pre-sign answers; freshness covers
    replay), but an echoed nonce that differs is a replayed or misrouted answer."""
    if nonce is None:
        return
    try:
        echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return
    if echoed != nonce:
        raise OcspError("OCSP response nonce does not match the request")


def _matching_single_response(
    response: x509_ocsp.OCSPResponse, leaf: x509.Certificate, issuer: x509.Certificate
) -> x509_ocsp.OCSPSingleResponse:
    """The answer must be about *this* certificate of *this* issuer (serial and CertID hashes),
    or a responder could answer "good" about another certificate."""
    for single in response.responses:
        if single.serial_number != leaf.serial_number:
            continue
        try:
            expected = (
                x509_ocsp.OCSPRequestBuilder()
                .add_certificate(leaf, issuer, single.hash_algorithm)
                .build()
            )
        except (ValueError, UnsupportedAlgorithm):
            continue
        if (single.issuer_name_hash == expected.issuer_name_hash
                and single.issuer_key_hash == expected.issuer_key_hash):
            return single
    raise OcspError("OCSP response does not cover this certificate")


def _check_revocation(
    checker: OcspChecker,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime,
    hard_fail: bool,
) -> OcspResult | None:
    try:
        result = checker.check(leaf, issuer, now=now)
    except OcspError as exc:
        if hard_fail:
            raise Refusal("revocation_unknown") from None
        log.warning(
            "eID revocation status unknown, accepting without it (certificate serial %x, issuer "
            "%s): %s",
            leaf.serial_number,
            leaf.issuer.rfc4514_string(),
            exc,
        )
        return None
    if result.status == "revoked":
        raise Refusal("revoked")
    return result


# --- entry points --------------------------------------------------------------------------------


def validate(
    chain_pem: bytes | list[bytes] | str,
    trust: TrustStore,
    *,
    now: datetime | None = None,
    ocsp: OcspChecker | None = None,
    hard_fail: bool = False,
) -> Identity:
    """Accepts a Belgian eID Authentication certificate or raises :class:`Refusal`.

    Rules, first failure wins: readable (malformed) → dates (expired, not_yet_valid) → path to a
    pinned root of ``trust`` (untrusted) → key usage (signature_certificate, key_usage) → EKU
    clientAuth when present (eku) → C=BE (country) → serialNumber is a valid NRN (nrn_missing,
    nrn_invalid) → OCSP when ``ocsp`` is given (revoked; revocation_unknown only if
    ``hard_fail``, else accepted with ``ocsp=None`` and a warning). Dates come first so that an
    expired card is reported as such rather than as an untrusted chain.
    """
    certificates = _load_chain(chain_pem)
    leaf, sent = certificates[0], certificates[1:]
    moment = _as_utc(now or clock.now())
    _check_dates(leaf, moment)
    chain = _build_path(leaf, sent, trust, moment)
    _check_key_usage(leaf)
    _check_eku(leaf)
    _check_country(leaf)
    nrn = _check_nrn(leaf)
    result = None
    if ocsp is not None:
        result = _check_revocation(ocsp, leaf, chain[1], moment, hard_fail)
    subject = leaf.subject
    return Identity(
        nrn=nrn,
        surname=_first(subject, NameOID.SURNAME),
        given_names=_first(subject, NameOID.GIVEN_NAME),
        common_name=_first(subject, NameOID.COMMON_NAME),
        fingerprint_sha256=leaf.fingerprint(hashes.SHA256()).hex(),
        issuer=leaf.issuer.rfc4514_string(),
        serial=format(leaf.serial_number, "x"),
        ocsp=result.status if result is not None else None,
        ocsp_response=result.response_der if result is not None else None,
    )


OcspMode = Literal["off", "soft", "hard"]
"""``off`` skips revocation; ``soft`` asks and accepts (with a logged warning) when no answer can
be relied on — unreachable responder, unusable answer, or a certificate naming no responder;
``hard`` refuses then. A "revoked" answer is refused in both."""

OCSP_MODES: Final[tuple[OcspMode, ...]] = get_args(OcspMode)


@dataclass(frozen=True)
class Verifier:
    """The trust store, the OCSP checker and the mode, together: what accepting a card means.

    Built once (:meth:`from_settings`) and handed to every path that accepts a certificate, so the
    link page, the proxy header and the card API cannot disagree about revocation.
    """

    trust: TrustStore
    mode: OcspMode = "soft"
    ocsp: OcspChecker | None = None

    def __post_init__(self) -> None:
        if self.mode not in OCSP_MODES:
            raise ValueError(f"unknown OCSP mode: {self.mode!r}")
        if (self.mode == "off") != (self.ocsp is None):
            raise ValueError("an OCSP checker is needed for soft and hard mode, and only then")

    @classmethod
    def from_settings(cls, settings: Settings) -> Verifier:
        """``ITMA_EID_TRUST_DIR``, ``ITMA_EID_OCSP`` (default soft) and ``ITMA_EID_OCSP_URL``;
        a bad value is a :class:`core.config.ConfigError` naming the variable."""
        given = settings.eid
        try:
            trust = TrustStore.from_dir(given.trust_dir)
        except ValueError as exc:
            raise ConfigError(f"ITMA_EID_TRUST_DIR: {exc}") from None
        raw_mode = given.ocsp or EID_OCSP_DEFAULT
        if raw_mode not in OCSP_MODES:
            raise ConfigError("ITMA_EID_OCSP: expected off, soft or hard")
        mode = cast(OcspMode, raw_mode)
        url = given.ocsp_url
        if url is not None and (urlsplit(url).scheme not in ("http", "https")
                                or not urlsplit(url).hostname):
            raise ConfigError(f"ITMA_EID_OCSP_URL: expected an http(s):// URL, got {url!r}")
        checker = OcspChecker(responder_url_override=url) if mode != "off" else None
        return cls(trust, mode, checker)

    @property
    def hard_fail(self) -> bool:
        return self.mode == "hard"

    def validate(self, chain: bytes | list[bytes] | str, *,
                 now: datetime | None = None) -> Identity:
        """:func:`validate` with this trust store and revocation policy."""
        return validate(chain, self.trust, now=now, ocsp=self.ocsp, hard_fail=self.hard_fail)


_ECDSA_P384_RAW_LENGTH: Final = 96


def sign_challenge_verify(identity_cert_pem: bytes, nonce: bytes, signature: bytes) -> None:
    """Proves possession of the card for the command-line login path: the card signed our nonce.

    RSA keys: PKCS#1 v1.5 with SHA-256. EC keys: P-384 with SHA-384, signature DER-encoded; the raw
    ``r || s`` form that PKCS#11 ``CKM_ECDSA`` returns is accepted too, since it carries the same
    two numbers. This checks the signature only: call :func:`validate` on the same certificate.
    """
    if not nonce:
        raise ValueError("the challenge nonce must not be empty")
    (cert,) = _load_chain(identity_cert_pem)[:1]
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        try:
            key.verify(signature, nonce, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise Refusal("signature") from None
        return
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1):
        for candidate in _ecdsa_encodings(signature):
            try:
                key.verify(candidate, nonce, ec.ECDSA(hashes.SHA384()))
            except (InvalidSignature, ValueError):
                continue
            return
        raise Refusal("signature")
    raise Refusal("signature", "The certificate's key type cannot be used for card login.")


def _ecdsa_encodings(signature: bytes) -> list[bytes]:
    encodings = [signature]
    if len(signature) == _ECDSA_P384_RAW_LENGTH:
        half = _ECDSA_P384_RAW_LENGTH // 2
        r, s = int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        encodings.append(encode_dss_signature(r, s))
    return encodings
