"""Belgian national register numbers (NRN, rijksregisternummer / numéro de registre national).

The number is personal data: everything here is built so that it does not leak by accident
(``repr``/``str`` and error messages only ever show the masked form) and so that it can be
stored as a keyed lookup hash plus an authenticated ciphertext instead of in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "NRN",
    "InvalidNRN",
    "NRNVault",
    "VaultError",
    "format_nrn",
    "generate",
    "is_valid",
    "mask",
    "normalise",
    "parse",
]

Reason = Literal["format", "checksum", "date"]

_REASONS: Final = frozenset({"format", "checksum", "date"})
_DIGITS: Final = frozenset("0123456789")
_SEPARATORS: Final = frozenset(".-")
_LENGTH: Final = 11
_SERIAL_MIN: Final = 1
_SERIAL_MAX: Final = 997
_BIS_SEX_UNKNOWN: Final = 20
_BIS_SEX_KNOWN: Final = 40
_GENERATE_FIRST: Final = date(1950, 1, 1)
_GENERATE_LAST: Final = date(2005, 12, 31)

_LOOKUP_INFO: Final = b"itma nrn lookup"
_ENCRYPTION_INFO: Final = b"itma nrn encryption"
_AAD: Final = b"itma-nrn-v1"
_NONCE_LEN: Final = 12
_TAG_LEN: Final = 16


class InvalidNRN(ValueError):
    """Raised for any unusable number; ``reason`` lets callers pick a user-facing message
    without parsing text, and the message never carries the number itself."""

    reason: Reason

    def __init__(self, reason: Reason, message: str | None = None) -> None:
        if reason not in _REASONS:
            raise ValueError(f"unknown InvalidNRN reason: {reason!r}")
        self.reason = reason
        super().__init__(message or f"invalid national register number ({reason})")


class VaultError(ValueError):
    """Raised when a stored blob cannot be authenticated (tampered, truncated or wrong key)."""


@dataclass(frozen=True, repr=False)
class NRN:
    """A parsed, validated number; obtain it through :func:`parse` rather than directly."""

    digits: str
    birth_date: date | None
    birth_year: int | None
    is_bis: bool
    sex: str | None

    def __post_init__(self) -> None:
        if len(self.digits) != _LENGTH or not set(self.digits) <= _DIGITS:
            raise InvalidNRN("format", "NRN.digits must be exactly 11 digits")

    def __repr__(self) -> str:
        return f"NRN({_mask_digits(self.digits)})"

    def __str__(self) -> str:
        return _mask_digits(self.digits)


def normalise(text: str) -> str:
    """Accept the ways people type the number (``85.07.30-033.28``, spaces) but nothing else,
    so a stray letter is reported rather than silently dropped."""
    out: list[str] = []
    for ch in text:
        if ch in _DIGITS:
            out.append(ch)
        elif ch in _SEPARATORS or ch.isspace():
            continue
        else:
            raise InvalidNRN("format", "national register number may only contain digits")
    return "".join(out)


def _eleven_digits(value: NRN | str) -> str:
    if isinstance(value, NRN):
        return value.digits
    digits = normalise(value)
    if len(digits) != _LENGTH:
        raise InvalidNRN("format", "national register number must have 11 digits")
    return digits


def _check_digits(first9: str, *, born_2000_or_later: bool) -> int:
    base = int(("2" + first9) if born_2000_or_later else first9)
    return 97 - base % 97


def _sex_from_serial(serial: int) -> str:
    return "M" if serial % 2 else "F"


def parse(text: str) -> NRN:
    """Single validation point: the century is not in the number, so the checksum decides it,
    and the date is checked afterwards because leap years depend on that century."""
    digits = _eleven_digits(text)
    first9, check = digits[:9], int(digits[9:])
    yy, raw_month, day, serial = (int(digits[i:j]) for i, j in ((0, 2), (2, 4), (4, 6), (6, 9)))

    if _check_digits(first9, born_2000_or_later=False) == check:
        year = 1900 + yy
    elif _check_digits(first9, born_2000_or_later=True) == check:
        year = 2000 + yy
    else:
        raise InvalidNRN("checksum", "national register number check digits do not match")

    if not _SERIAL_MIN <= serial <= _SERIAL_MAX:
        raise InvalidNRN("format", "national register number serial must be 001-997")

    if raw_month >= _BIS_SEX_KNOWN:
        month, is_bis, sex = raw_month - _BIS_SEX_KNOWN, True, _sex_from_serial(serial)
    elif raw_month >= _BIS_SEX_UNKNOWN:
        month, is_bis, sex = raw_month - _BIS_SEX_UNKNOWN, True, None
    else:
        month, is_bis, sex = raw_month, False, _sex_from_serial(serial)

    if month > 12 or day > 31:
        raise InvalidNRN("date", "national register number contains an impossible birth date")
    birth_date: date | None = None
    if month and day:
        if day > monthrange(year, month)[1]:
            raise InvalidNRN("date", "national register number contains an impossible birth date")
        birth_date = date(year, month, day)

    return NRN(digits=digits, birth_date=birth_date, birth_year=year, is_bis=is_bis, sex=sex)


def is_valid(text: str) -> bool:
    """Convenience for form checks where the reason does not matter."""
    try:
        parse(text)
    except InvalidNRN:
        return False
    return True


def _format_digits(d: str) -> str:
    return f"{d[0:2]}.{d[2:4]}.{d[4:6]}-{d[6:9]}.{d[9:11]}"


def _mask_digits(d: str) -> str:
    return f"{d[0:2]}.{d[2:4]}.{d[4:6]}-xxx.xx"


def format_nrn(nrn: NRN | str) -> str:
    """Display form; strings only need 11 digits so already-stored data can always be shown."""
    return _format_digits(_eleven_digits(nrn))


def mask(nrn: NRN | str) -> str:
    """Log-safe form: the birth part helps support staff, the serial and check identify the person.
    Strings only need 11 digits so masking never fails on imperfect data."""
    return _mask_digits(_eleven_digits(nrn))


_IN_TEXT = re.compile(r"(?<![\w.])(\d{2})[. ]?(\d{2})[. ]?(\d{2})[-. ]?(\d{3})[. ]?(\d{2})(?![\w])")


def redact(text: str) -> str:
    """Free text with every national-register-shaped number masked, checksum or not.

    What officers type is echoed ("I did not understand …") and kept in conversation state;
    a mistyped number is as personal as a valid one, so only the shape is required.
    """
    if not any(ch.isdigit() for ch in text):
        return text
    return _IN_TEXT.sub(lambda m: _mask_digits("".join(m.groups())), text)


def generate(
    rng: random.Random,
    *,
    birth_date: date | None = None,
    sex: str | None = None,
    bis: bool = False,
) -> str:
    """Synthetic numbers for tests and demos, so no real person's number is ever needed.
    Taking the rng makes fixtures reproducible."""
    if sex not in ("M", "F", None):
        raise ValueError("sex must be 'M', 'F' or None")
    if birth_date is None:
        span = (_GENERATE_LAST - _GENERATE_FIRST).days
        birth_date = _GENERATE_FIRST + timedelta(days=rng.randint(0, span))
    if not 1900 <= birth_date.year <= 2099:
        raise ValueError("birth_date must be in 1900-2099: the number only encodes two centuries")

    if sex == "M":
        serial = rng.randrange(1, _SERIAL_MAX + 1, 2)
    elif sex == "F":
        serial = rng.randrange(2, _SERIAL_MAX, 2)
    else:
        serial = rng.randint(_SERIAL_MIN, _SERIAL_MAX)

    month = birth_date.month + (_BIS_SEX_KNOWN if bis else 0)
    first9 = f"{birth_date.year % 100:02d}{month:02d}{birth_date.day:02d}{serial:03d}"
    check = _check_digits(first9, born_2000_or_later=birth_date.year >= 2000)
    return f"{first9}{check:02d}"


class NRNVault:
    """Keyed hash for lookup and authenticated encryption at rest.

    Two keys are derived so that the lookup hash (which must be deterministic) can never be used
    to attack the ciphertexts and vice versa; the secret itself is not kept.
    """

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes | bytearray) or not secret:
            raise ValueError("NRNVault secret must be non-empty bytes")
        self._lookup_key = _derive(bytes(secret), _LOOKUP_INFO)
        self._aead = AESGCM(_derive(bytes(secret), _ENCRYPTION_INFO))

    def __repr__(self) -> str:
        return "NRNVault(<keys hidden>)"

    def lookup_hash(self, nrn: NRN | str) -> str:
        """Deterministic so a person can be found by number without storing it in clear;
        keyed so the 11-digit space cannot simply be brute-forced from a database dump."""
        digits = _eleven_digits(nrn)
        return hmac.new(self._lookup_key, digits.encode("ascii"), hashlib.sha256).hexdigest()

    def encrypt(self, nrn: NRN | str) -> bytes:
        """Fresh nonce per call, so equal numbers do not produce equal ciphertexts."""
        digits = _eleven_digits(nrn)
        nonce = os.urandom(_NONCE_LEN)
        return nonce + self._aead.encrypt(nonce, digits.encode("ascii"), _AAD)

    def decrypt(self, blob: bytes) -> str:
        """Returns the 11 digits; any tampering or key mismatch is a VaultError, never garbage."""
        if not isinstance(blob, bytes | bytearray) or len(blob) < _NONCE_LEN + _TAG_LEN:
            raise VaultError("encrypted NRN blob is too short")
        nonce, ciphertext = bytes(blob[:_NONCE_LEN]), bytes(blob[_NONCE_LEN:])
        try:
            plain = self._aead.decrypt(nonce, ciphertext, _AAD)
        except InvalidTag:
            raise VaultError("encrypted NRN could not be authenticated") from None
        text = plain.decode("ascii", errors="replace")
        if len(text) != _LENGTH or not set(text) <= _DIGITS:
            raise VaultError("encrypted NRN does not contain 11 digits")
        return text


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
