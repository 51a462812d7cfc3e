"""The registration request as the public site may send it: one strict schema at the boundary.

Both ways in (POST /intake/registrations and `requests submit`) go through `parse`, so what is
stored is always of the documented shape: known keys only, strings only, bounded lengths, no
control characters, an e-mail address, a language we speak, a national number with a valid
checksum, a training code and an ISO date. Anything else is a list of field errors (422).

The pydantic schema itself is in intake_schema.py, imported by the first `parse`: the
processes that only meet InvalidRequest or the patterns below (`say`, `mail process`) do not
build it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from core.errors import DomainError

if TYPE_CHECKING:
    from core.services.intake_schema import Registration

NAME_MAX = 100
EMAIL_MAX = 254
EMAIL_LOCAL_MAX = 64
EXTERNAL_ID_MAX = 100
TRAINING_CODE_MAX = 20
ORGANISATION_MAX = 20
NRN_MAX = 20
LANGUAGES = ("fr", "nl", "en", "de")
KINDS = ("session", "mailing_list")

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")
TRAINING_CODE = re.compile(r"[A-Z]{2,6}-[A-Z0-9]{1,6}", re.IGNORECASE)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ORGANISATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_INVISIBLE = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                       "\u2066\u2067\u2068\u2069\ufeff")


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class InvalidRequest(DomainError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("invalid_request", fields=", ".join(e.field for e in errors))
        self.errors = errors


def has_control_characters(text: str) -> bool:
    """C0/C1 controls (CR, LF, NUL, tab …), line separators, lone surrogates, bidi overrides."""
    return any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch in _INVISIBLE
               for ch in text)


_SCHEMA = frozenset({"Name", "Person", "SessionWish", "MailingListWish", "Registration"})


def parse(payload: Any) -> Registration:
    """The validated request, or InvalidRequest with every field error (never a typed value)."""
    from core.services import intake_schema

    return intake_schema.parse(payload)


def __getattr__(name: str) -> Any:
    if name not in _SCHEMA:
        raise AttributeError(f"module 'core.services.intake' has no attribute {name!r}")
    return getattr(import_module("core.services.intake_schema"), name)
