"""Files waiting for a chat user's click, kept in the database so any instance serves the click.

A Teams export goes out behind a file-consent card: the bytes wait here until the officer
allows the upload. A P-data file waits here while its officer picks the organisation it is
for. Each is bound to the chat account (channel + user) that may take it, encrypted under a
key of its own, found by the hash of a random token (the token itself is never stored), single
use and short-lived; expired ones are swept whenever a new one is held.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete

from core import clock
from core.app import UnitOfWork
from core.models import HeldFile

TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Held:
    filename: str
    mime: str
    content: bytes


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aead(uow: UnitOfWork) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"itma held file").derive(uow.app.settings.secret_key)
    return AESGCM(key)


def hold(uow: UnitOfWork, channel: str, user_ref: str, filename: str, mime: str,
         content: bytes, ttl: timedelta = TTL) -> str:
    """Keep the file for that chat user; returns the token their click carries."""
    now = clock.now()
    uow.session.execute(delete(HeldFile).where(HeldFile.expires_at < now))
    token = secrets.token_urlsafe(24)
    digest = _hash(token)
    nonce = os.urandom(12)
    sealed = nonce + _aead(uow).encrypt(nonce, content, digest.encode())
    uow.session.add(HeldFile(token_hash=digest, channel=channel, user_ref=user_ref,
                             filename=filename[:255], mime=mime[:100], size=len(content),
                             content=sealed, created_at=now, expires_at=now + ttl))
    return token


def take(uow: UnitOfWork, channel: str, user_ref: str, token: str) -> Held | None:
    """The file, once, for the chat user it was held for; None when it is gone, expired or
    someone else's (the row stays for its owner in that last case)."""
    if not token or len(token) > 100:
        return None
    row = uow.session.get(HeldFile, _hash(token), with_for_update=True)
    if row is None or row.channel != channel or row.user_ref != user_ref:
        return None
    uow.session.delete(row)
    if row.expires_at < clock.now():
        return None
    try:
        content = _aead(uow).decrypt(row.content[:12], row.content[12:], row.token_hash.encode())
    except InvalidTag:
        return None
    return Held(row.filename, row.mime, content)


def drop(uow: UnitOfWork, channel: str, user_ref: str, token: str) -> None:
    """Forget a held file (declined, cancelled) without reading it."""
    if not token or len(token) > 100:
        return
    row = uow.session.get(HeldFile, _hash(token))
    if row is not None and row.channel == channel and row.user_ref == user_ref:
        uow.session.delete(row)
