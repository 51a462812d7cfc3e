"""A message's headers read once, as plain strings: the interpretation asks for them often.

The email package's modern policy parses a header anew on every access; for a decision that
looks at a dozen headers, that parsing was the largest cost of handling a reply.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr


class Headers:
    def __init__(self, message: EmailMessage) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in message.raw_items():
            self._values.setdefault(name.lower(), []).append(str(value).strip())
        self.content_type = message.get_content_type()

    def get(self, name: str, default: str = "") -> str:
        values = self._values.get(name.lower())
        return values[0] if values else default

    def has(self, name: str) -> bool:
        return name.lower() in self._values

    def all(self, name: str) -> list[str]:
        return self._values.get(name.lower(), [])

    def addresses(self, names: Iterable[str]) -> list[str]:
        raw = [v for n in names for v in self.all(n)]
        return [address.strip() for _name, address in getaddresses(raw) if address]

    def sender(self) -> str:
        return parseaddr(self.get("From"))[1].strip().lower()

    def subject(self) -> str:
        raw = self.get("Subject")
        if "=?" not in raw:
            return " ".join(raw.split())
        try:
            return " ".join(str(make_header(decode_header(raw))).split())
        except (ValueError, LookupError):
            return raw
