"""A message's headers read once, as clean strings: the interpretation asks for them often.

The email package's modern policy parses a header anew on every access; for a decision that
looks at a dozen headers, that parsing was the largest cost of handling a reply.

Values are cleaned here, once: raw 8-bit bytes (which the parser keeps as surrogates) are
decoded as UTF-8 or Windows-1252, and control characters become U+FFFD, so nothing a sender
puts in a header can break a database write or a log line further on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email import policy
from email.errors import InvalidHeaderDefect
from email.header import decode_header, make_header
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.utils import getaddresses
from functools import lru_cache

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")
_AT_SIGNS = ("@", "\uff20", "\ufe6b")
"""The at sign and its look-alikes (full-width, small): address-like text in a display name."""
MAX_FROM = 998
"""One mailbox fits on one line; the header parser takes seconds over a long list of them."""
MAX_ADDRESS_LIST = 64 * 1024
MAX_SUBJECT = 2000


def clean(value: str) -> str:
    """The text with undecodable bytes decoded or replaced and control characters replaced."""
    if any("\udc80" <= char <= "\udcff" for char in value):
        data = value.encode("utf-8", "surrogateescape")
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError:
            value = data.decode("cp1252", "replace")
    return _UNSAFE.sub("\ufffd", value)


def unfold(value: str) -> str:
    return _FOLD.sub("", value)


def _at_signs(text: str) -> int:
    return sum(text.count(sign) for sign in _AT_SIGNS)


class Headers:
    def __init__(self, message: EmailMessage) -> None:
        self._values: dict[str, list[str]] = {}
        self._from: list[str] = []
        for name, value in message.raw_items():
            raw = unfold(str(value))
            if name.lower() == "from":
                self._from.append(raw)
            self._values.setdefault(name.lower(), []).append(clean(raw).strip())
        self.content_type = message.get_content_type()

    def get(self, name: str, default: str = "") -> str:
        values = self._values.get(name.lower())
        return values[0] if values else default

    def has(self, name: str) -> bool:
        return name.lower() in self._values

    def all(self, name: str) -> list[str]:
        return self._values.get(name.lower(), [])

    def addresses(self, names: Iterable[str]) -> list[str]:
        """Every address in these headers, read leniently: to recognise, never to trust."""
        raw = tuple(v[:MAX_ADDRESS_LIST] for n in names for v in self.all(n))
        if sum(map(len, raw)) <= _CACHED_ADDRESSES:
            return list(_addresses(raw))
        return list(_addresses.__wrapped__(raw))

    def sender(self) -> tuple[str | None, str]:
        """(address, "") when From names one mailbox beyond doubt, else (None, why not).

        A lenient reader takes the first address it sees, so `officer@x (Officer)
        <attacker@y>` or `officer@x, attacker@y` would read as the officer. Only one From
        header with one mailbox and no other address-like text (display name, comments,
        encoded words) is read at all.
        """
        if len(self._from) != 1:
            return None, f"{len(self._from)} From headers"
        return _sender(self._from[0])

    def subject(self) -> str:
        raw = self.get("Subject")[:MAX_SUBJECT]
        if "=?" not in raw:
            return " ".join(raw.split())
        try:
            return " ".join(clean(str(make_header(decode_header(raw)))).split())
        except (ValueError, LookupError, UnicodeError):
            return raw


_CACHED_ADDRESSES = 2000
"""Address lists up to this length are remembered (a few MB at most), longer ones read anew."""


@lru_cache(maxsize=1024)
def _addresses(raw: tuple[str, ...]) -> tuple[str, ...]:
    """Headers.addresses for these values: a pure function of them, and the same From is read
    by three checks of every reply, and is the same in each reply of an officer (the address
    parser is slow: a third of reading a reply was there)."""
    return tuple(address.strip() for _name, address in getaddresses(list(raw)) if address)


@lru_cache(maxsize=1024)
def _sender(raw: str) -> tuple[str | None, str]:
    """Headers.sender for one From value: a pure function of it, and an officer's From is the
    same in every reply, so it is read once (the header parser is slow)."""
    if len(raw) > MAX_FROM:
        return None, "From too long"
    try:
        header = policy.default.header_factory("From", raw)
    except Exception:  # the registry is lenient; anything it cannot take is ambiguous
        return None, "unreadable From"
    assert isinstance(header, AddressHeader)
    if len(header.groups) != 1 or header.groups[0].display_name is not None:
        return None, "From is a group or a list"
    if len(header.addresses) != 1:
        return None, "From holds several mailboxes"
    if any(isinstance(defect, InvalidHeaderDefect) for defect in header.defects):
        return None, "From is not a valid mailbox"
    address = header.addresses[0]
    if not address.username or not address.domain:
        return None, "From has no complete address"
    text = clean(raw)
    try:
        decoded = str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeError):
        decoded = text
    if _at_signs(text) > 1 or _at_signs(decoded) > 1 or _at_signs(
            clean(address.display_name)):
        return None, "address-like text beside the From address"
    spec = address.addr_spec
    if clean(spec) != spec:
        return None, "undecodable From address"
    return spec.lower(), ""
