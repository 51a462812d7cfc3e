"""Reply-by-e-mail tokens: ≥128 bits, bound to one officer and one request, single use.

The token is a secret (whoever holds it may answer in the officer's name, once the sender
checks pass): only its SHA-256 is stored, and it is never written to a log or a listing.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from core import clock
from core.app import UnitOfWork
from core.models import AccessRequest, Officer, RegistrationRequest, ReplyToken

VALIDITY = timedelta(days=30)
TOKEN = re.compile(r"^[a-z2-7]{26}$")
"""Lower-case base32 of 16 random bytes: survives mail systems that fold address case."""
_IN_TEXT = re.compile(r"(?<=[.+])[a-z2-7]{26}(?=@)", re.IGNORECASE)
"""A token where the contract puts one: `reply+TOKEN@…` and `<hex16.TOKEN@…>`."""
REDACTED = "[token]"


def new_token() -> str:
    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.lower().encode()).hexdigest()


def redact(text: str) -> str:
    """The text with every reply token replaced, for listings and logs."""
    return _IN_TEXT.sub(REDACTED, text)


INSERT = insert(ReplyToken.__table__).inline()
"""Nothing read back (the key is the token's hash), so it may go in a pipeline (core.db)."""


def issued_row(officer_id: int, request_id: int) -> tuple[str, dict[str, Any]]:
    """(a new token, the row `issue` writes for it) for a caller that inserts rows itself."""
    token = new_token()
    return token, {"token_hash": token_hash(token), "officer_id": officer_id,
                   "request_id": request_id, "kind": "registration", "access_request_id": None,
                   "created_at": clock.now(), "expires_at": clock.now() + VALIDITY,
                   "used_at": None}


def issue(uow: UnitOfWork, officer: Officer, request: RegistrationRequest) -> str:
    token = new_token()
    uow.session.add(ReplyToken(token_hash=token_hash(token), officer_id=officer.id,
                               request_id=request.id, expires_at=clock.now() + VALIDITY))
    return token


def issue_access(uow: UnitOfWork, admin: Officer, request: AccessRequest) -> str:
    """A token for an administrator to decide an access request by replying."""
    token = new_token()
    uow.session.add(ReplyToken(token_hash=token_hash(token), officer_id=admin.id, kind="access",
                               access_request_id=request.id,
                               expires_at=clock.now() + VALIDITY))
    return token


def check(uow: UnitOfWork, token: str) -> tuple[ReplyToken | None, str | None]:
    """(the token, None) when usable, else (token or None, 'unknown' | 'expired' | 'used')."""
    if not TOKEN.match(token):
        return None, "unknown"
    found = uow.session.get(ReplyToken, token_hash(token))
    if found is None:
        return None, "unknown"
    if found.used_at is not None:
        return found, "used"
    if found.expires_at <= clock.now():
        return found, "expired"
    return found, None


def use(token: ReplyToken) -> None:
    token.used_at = clock.now()
