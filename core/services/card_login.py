"""Linking a chat account with the eID card from the command line: a signed challenge.

The server hands out a nonce, the card signs it with its Authentication key, and the server checks
the signature with the certificate's key, validates that certificate with the very
:class:`core.eid.Verifier` the TLS link page uses (trust store and OCSP), and completes the link.
No database column holds the nonce: it is ``HMAC(secret_key, token hash || timestamp) ||
timestamp``, so whichever instance answers can check that it is ours, fresh (2 minutes) and bound
to this very link token. No confirmation form is needed here: a cross-site page cannot make the
card sign our nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from datetime import UTC, datetime, timedelta
from typing import Final

from core import clock, eid
from core.app import App
from core.services import links

__all__ = ["NONCE_VALIDITY", "card_login", "challenge"]

NONCE_VALIDITY: Final = timedelta(minutes=2)
_CLOCK_SKEW: Final = timedelta(seconds=5)
_DOMAIN: Final = b"itma-card-login-nonce\x00"
_MAC_LENGTH: Final = 32
_STAMP: Final = struct.Struct(">q")
NONCE_LENGTH: Final = _MAC_LENGTH + _STAMP.size


def _mac(app: App, token: str, stamp: bytes) -> bytes:
    token_hash = hashlib.sha256(token.encode()).digest()
    return hmac.new(app.settings.secret_key, _DOMAIN + token_hash + stamp, hashlib.sha256).digest()


def challenge(app: App, token: str, *, now: datetime | None = None) -> bytes:
    """A nonce for that pending link token (raises the link's DomainError if it is not usable)."""
    with app.unit_of_work(readonly=True) as uow:
        links.pending(uow, token)
    moment = now or clock.now()
    stamp = _STAMP.pack(int(moment.timestamp() * 1000))
    return _mac(app, token, stamp) + stamp


def _check_nonce(app: App, token: str, nonce: bytes) -> None:
    if len(nonce) != NONCE_LENGTH:
        raise eid.Refusal("signature", "The challenge is not one this server gave out.")
    mac, stamp = nonce[:_MAC_LENGTH], nonce[_MAC_LENGTH:]
    if not hmac.compare_digest(mac, _mac(app, token, stamp)):
        raise eid.Refusal("signature", "The challenge is not one this server gave out.")
    issued = datetime.fromtimestamp(_STAMP.unpack(stamp)[0] / 1000, UTC)
    now = clock.now()
    if issued > now + _CLOCK_SKEW or now - issued > NONCE_VALIDITY:
        raise eid.Refusal("signature", "The challenge has expired; please ask for a new one.")


def card_login(app: App, verifier: eid.Verifier, token: str, cert_pem: bytes, nonce: bytes,
               signature: bytes) -> links.Preview:
    """Checks the nonce, the card's signature over it and the certificate, then links.

    ``verifier`` is the one the link page uses (trust store and OCSP mode). Raises
    :class:`core.eid.Refusal` (nonce, signature or certificate) or the link's
    :class:`core.errors.DomainError`.
    """
    _check_nonce(app, token, nonce)
    eid.sign_challenge_verify(cert_pem, nonce, signature)
    identity = verifier.validate(cert_pem)
    with app.unit_of_work() as uow:
        return links.complete(uow, token, identity)
