"""`itma-assistant link card`: link a chat account with the eID card through PKCS#11.

The card's Authentication key signs the server's nonce (RSA PKCS#1 v1.5 SHA-256, or ECDSA P-384
over a SHA-384 digest computed here, as SoftHSM 2 and eID applet 1.8 need) and the server checks
signature and certificate, over HTTPS with the link page (or ``--direct`` on the server):
it talks to the database through :mod:`core.services.card_login`, for operators on the server.
Either way the certificate goes through the server's one :class:`core.eid.Verifier`, OCSP
included (``ITMA_EID_OCSP``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cli.runtime import CommandError, make_app

if TYPE_CHECKING:
    from core.app import App
    from core.eid import Verifier

TOKEN_LABEL = "BELPIC"
KEY_LABEL = "Authentication"
DEFAULT_PIN_ENV = "ITMA_CARD_PIN"


@dataclass(frozen=True)
class Card:
    """The PKCS#11 module and the PIN; ``sign`` opens one session per call."""

    module: str
    pin: str

    def _open(self):  # type: ignore[no-untyped-def]
        import pkcs11
        from pkcs11 import exceptions as p11e

        try:
            lib = pkcs11.lib(self.module)
        except (OSError, RuntimeError, p11e.PKCS11Error) as exc:
            raise CommandError(f"cannot load the PKCS#11 module {self.module}: {exc}") from None
        try:
            token = lib.get_token(token_label=TOKEN_LABEL)
        except p11e.NoSuchToken:
            raise CommandError(f"no card found (no token labelled {TOKEN_LABEL})") from None
        try:
            return token.open(user_pin=self.pin)
        except (p11e.PinIncorrect, p11e.PinInvalid, p11e.PinLenRange):
            raise CommandError("the card refused the PIN: wrong PIN") from None
        except p11e.PinLocked:
            raise CommandError("the card's PIN is blocked") from None

    def certificate_and_signature(self, challenge: bytes) -> tuple[bytes, bytes]:
        """The Authentication certificate (PEM) and its key's signature over ``challenge``."""
        from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
        from pkcs11 import exceptions as p11e
        from pkcs11.util.ec import encode_ecdsa_signature

        with self._open() as session:
            try:
                certs = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE,
                                                  Attribute.LABEL: KEY_LABEL}))
                if not certs:
                    raise CommandError(f"no {KEY_LABEL} certificate on the card")
                der = certs[0][Attribute.VALUE]
                key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=KEY_LABEL)
                if key.key_type == KeyType.RSA:
                    signature = key.sign(challenge, mechanism=Mechanism.SHA256_RSA_PKCS)
                elif key.key_type == KeyType.EC:
                    digest = hashlib.sha384(challenge).digest()
                    signature = encode_ecdsa_signature(
                        key.sign(digest, mechanism=Mechanism.ECDSA))
                else:
                    raise CommandError("the card's Authentication key is neither RSA nor EC")
            except (p11e.NoSuchKey, p11e.MultipleObjectsReturned):
                raise CommandError(f"no single {KEY_LABEL} key on the card") from None
            except p11e.PKCS11Error as exc:
                raise CommandError(f"the card failed: {type(exc).__name__}") from None
        pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
        return pem, signature


def token_of(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    head, _, token = path.rpartition("/")
    if not head.endswith("/link") or not token:
        raise CommandError(f"--url: not a link URL: {url!r}")
    return token


def link_with_card(app: App, verifier: Verifier, card: Card, url: str) -> str:
    """The whole exchange, in process: nonce, card signature, server check (``verifier``: the
    server's trust store and OCSP mode). Returns the account linked; raises CommandError with
    the reason in plain words."""
    from core import eid
    from core.errors import DomainError
    from core.services import card_login

    token = token_of(url)
    try:
        nonce = card_login.challenge(app, token)
        cert_pem, signature = card.certificate_and_signature(nonce)
        done = card_login.card_login(app, verifier, token, cert_pem, nonce, signature)
    except eid.Refusal as exc:
        raise CommandError(f"refused: {exc}") from None
    except DomainError as exc:
        raise CommandError(exc.message("en")) from None
    return f"{done.account} linked to {done.officer.display_name}"


def link_over_https(card: Card, url: str, cafile: str | None = None,
                    insecure: bool = False) -> str:
    """The exchange with the link page: POST …/challenge, sign, POST …/card."""
    token_of(url)
    context = ssl.create_default_context(cafile=cafile)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    def post(step: str, payload: dict[str, str]) -> dict[str, str]:
        request = urllib.request.Request(f"{url}/{step}", data=json.dumps(payload).encode(),
                                         method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as answer:
                return dict(json.loads(answer.read()))
        except urllib.error.HTTPError as exc:
            try:
                reason = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                reason = exc.reason
            raise CommandError(f"refused: {reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise CommandError(f"cannot reach the link page: {exc}") from None

    nonce = bytes.fromhex(post("challenge", {})["nonce"])
    cert_pem, signature = card.certificate_and_signature(nonce)
    done = post("card", {"certificate": cert_pem.decode(), "nonce": nonce.hex(),
                         "signature": signature.hex()})
    return f"{done['linked']} linked to {done['officer']}"


def link_card(args: argparse.Namespace) -> int:
    pin = os.environ.get(args.pin_env)
    if not pin:
        raise CommandError(f"set the card PIN in ${args.pin_env}")
    card = Card(args.module, pin)
    if args.direct:
        from core.eid import Verifier

        app = make_app()
        print(link_with_card(app, Verifier.from_settings(app.settings), card, args.url))
    else:
        print(link_over_https(card, args.url, args.cafile, args.insecure))
    return 0


def register(link: argparse._SubParsersAction, command) -> None:  # type: ignore[no-untyped-def]
    p = command("card", "link a chat account with the eID card (PKCS#11)", link)
    p.add_argument("--module", required=True, metavar="PATH", help="PKCS#11 module (.so)")
    p.add_argument("--url", required=True, metavar="LINK_URL", help="the one-time link URL")
    p.add_argument("--pin-env", default=DEFAULT_PIN_ENV, metavar="VAR",
                   help=f"environment variable holding the PIN (default {DEFAULT_PIN_ENV})")
    p.add_argument("--direct", action="store_true",
                   help="talk to the database directly (operators on the server)")
    p.add_argument("--cafile", metavar="PEM", help="CA of the link page's TLS certificate")
    p.add_argument("--insecure", action="store_true",
                   help="accept a self-signed link page certificate (tests only)")
    p.set_defaults(func=link_card)
