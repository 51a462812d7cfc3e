"""eID account linking: a one-time URL for a chat account, completed by a validated certificate.

The token has 256 bits, lives 10 minutes, is used once and is bound to the platform, workspace
and user that asked. The officer is the one whose national register number is in the
certificate; a chat account belongs to one officer, an officer may link several accounts, and
a renewed card links again because the match is on the number, not the certificate.

Confirming is bound to the certificate: the page's form carries :attr:`Preview.confirmation`,
computed from the link and the SHA-256 fingerprint of the certificate the page was shown with,
and the POST is checked against the certificate presented with the POST. A value read by one
officer with their own card is worthless with anyone else's (the cross-site form attack).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from core import clock
from core.app import UnitOfWork
from core.errors import DomainError
from core.models import AccessRequest, LinkToken, Officer, Organisation
from core.services import access
from core.services.access import link_identity, require_active

if TYPE_CHECKING:  # the X.509 stack stays out of processes that never see a certificate
    from core.eid import Identity

VALIDITY = timedelta(minutes=10)
PLATFORMS = ("slack", "teams")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(uow: UnitOfWork, platform: str, workspace: str, user_ref: str) -> str:
    """A new one-time URL for that chat account."""
    if platform not in PLATFORMS or not workspace or not user_ref:
        raise DomainError("link_bad_account")
    token = secrets.token_urlsafe(32)
    uow.session.add(LinkToken(token_hash=_hash(token), platform=platform, workspace=workspace,
                              user_ref=user_ref, csrf=secrets.token_urlsafe(24),
                              expires_at=clock.now() + VALIDITY))
    uow.audit("link.issued", "chat", None, actor=f"{platform}:{workspace}:{user_ref}")
    return f"{uow.app.settings.public_url}/link/{token}"


def pending(uow: UnitOfWork, token: str) -> LinkToken:
    found = uow.session.get(LinkToken, _hash(token)) if token else None
    if found is None:
        raise DomainError("link_unknown")
    if found.used_at is not None:
        raise DomainError("link_used")
    if found.expires_at <= clock.now():
        raise DomainError("link_expired")
    return found


_CONFIRMATION_DOMAIN = b"itma-link-confirmation\x00"


def _confirmation(secret: bytes, token: str, link: LinkToken, fingerprint_sha256: str) -> str:
    message = b"\x00".join((_CONFIRMATION_DOMAIN, _hash(token).encode(), link.csrf.encode(),
                            fingerprint_sha256.lower().encode()))
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Preview:
    link: LinkToken
    officer: Officer
    confirmation: str
    """The confirmation form's value: an HMAC of the link and of the certificate that was shown
    the page, so a value read with one card cannot confirm with another (nor be forged)."""

    @property
    def account(self) -> str:
        return f"{self.link.platform} {self.link.workspace}:{self.link.user_ref}"

    def confirms(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.confirmation.encode())


def preview(uow: UnitOfWork, token: str, identity: Identity) -> Preview:
    """Who the certificate is, and what would be linked; nothing changes yet."""
    link = pending(uow, token)
    officer = uow.session.scalar(select(Officer).where(
        Officer.nrn_hash == uow.app.vault.lookup_hash(identity.nrn)))
    if officer is None:
        raise DomainError("link_no_officer")
    require_active(officer)
    return Preview(link, officer, _confirmation(uow.app.settings.secret_key, token, link,
                                                identity.fingerprint_sha256))


def complete(uow: UnitOfWork, token: str, identity: Identity) -> Preview:
    """Link the chat account to the certificate's officer, once, and tell them in the chat."""
    found = preview(uow, token, identity)
    found.link.used_at = clock.now()
    chat = link_identity(uow, found.officer, found.link.platform, found.link.workspace,
                         found.link.user_ref, via="eid",
                         actor=f"eid:{identity.fingerprint_sha256[:16]}")
    chat.cert_fingerprint = identity.fingerprint_sha256
    chat.cert_issuer = identity.issuer[:400]
    chat.cert_serial = identity.serial[:80]
    uow.audit("link.certificate", "officer", found.officer.id,
              actor=f"eid:{identity.fingerprint_sha256[:16]}", issuer=identity.issuer[:200],
              serial=identity.serial, ocsp=identity.ocsp,
              ocsp_response=base64.b64encode(identity.ocsp_response).decode()
              if identity.ocsp_response else None)
    language = found.officer.language.value
    uow.enqueue_chat(found.link.platform, f"{found.link.workspace}:{found.link.user_ref}",
                     language, "linked", {"name": found.officer.display_name})
    return found


# --- A certificate holder who is no officer yet: the short access request form --------------

_ACCESS_DOMAIN = b"itma-access-request\x00"


@dataclass(frozen=True)
class AccessForm:
    """The access request form for a valid certificate whose number is no officer's."""

    link: LinkToken
    confirmation: str
    """As for the link confirmation, an HMAC of the link and of the certificate shown the page
    (another domain, so neither value works for the other form)."""
    organisations: list[Organisation]

    def confirms(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.confirmation.encode())


def access_form(uow: UnitOfWork, token: str, identity: Identity) -> AccessForm:
    """The form a certificate holder who is not an officer gets; an officer gets the link."""
    link = pending(uow, token)
    if uow.session.scalar(select(Officer.id).where(
            Officer.nrn_hash == uow.app.vault.lookup_hash(identity.nrn))) is not None:
        raise DomainError("access_already_officer")
    digest = hmac.new(uow.app.settings.secret_key, b"\x00".join((
        _ACCESS_DOMAIN, _hash(token).encode(), link.csrf.encode(),
        identity.fingerprint_sha256.lower().encode())), hashlib.sha256).digest()
    return AccessForm(link, base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
                      list(uow.session.scalars(select(Organisation).order_by(Organisation.code))))


@dataclass(frozen=True)
class AccessAnswers:
    """What the form asks: nothing the certificate already says."""

    organisation: str
    function: str
    email: str
    language: str


def request_access(uow: UnitOfWork, token: str, identity: Identity, given: str,
                   answers: AccessAnswers) -> tuple[AccessRequest, bool]:
    """The form's POST: checked against the certificate presented with it, the request stored
    for the administrators (the chat account that asked is linked when it is approved)."""
    form = access_form(uow, token, identity)
    if not form.confirms(given):
        raise DomainError("access_form_invalid")
    request, created = access.request_access(uow, access.NewAccessRequest(
        nrn=identity.nrn, given_names=identity.given_names, surname=identity.surname,
        email=answers.email, function=answers.function, language=answers.language,
        organisations=[answers.organisation],
        chat_account=f"{form.link.platform}:{form.link.workspace}:{form.link.user_ref}"))
    form.link.used_at = clock.now()
    return request, created
