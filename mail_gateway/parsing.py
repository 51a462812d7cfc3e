"""Parse a received message with bounds, so that no message can exhaust the gateway.

The email package recurses once per nested MIME entity: a message nested 2,000 levels deep
raises RecursionError, and every later walk over it would too. The parser below counts
entities and depth as it creates them and stops before descending any further.
"""

from __future__ import annotations

from email.feedparser import BytesFeedParser
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any

MAX_DEPTH = 24
"""Real replies nest a few levels (alternative in related in mixed); a chain of forwards
attached as messages adds two or three per forward."""
MAX_PARTS = 400


MAX_CACHED_VALUE = 1000
MAX_CACHED = 4096


class _CachingPolicy(EmailPolicy):
    """The email package's modern policy, but a header value is parsed once, not on every
    access: reading a reply asks for its Content-Type seven times (body, parts, charset), and
    each ask ran the header parser anew — the largest cost of reading a reply. Parsed headers
    are read-only, and the same values (`text/plain; charset="utf-8"`) recur from mail to mail,
    so they are kept for every message, bounded in size and number."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or len(value) > MAX_CACHED_VALUE:
            return super().header_fetch_parse(name, value)
        key = (name, value)
        found = _PARSED.get(key)
        if found is None:
            if len(_PARSED) >= MAX_CACHED:
                _PARSED.clear()
            found = _PARSED[key] = super().header_fetch_parse(name, value)
        return found


_PARSED: dict[tuple[str, str], Any] = {}
POLICY = _CachingPolicy()


class Malformed(Exception):
    """The message cannot be read as mail; the reason is a short name, kept in the audit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _BoundedParser(BytesFeedParser):
    def __init__(self) -> None:
        super().__init__(policy=POLICY)
        self._entities = 0

    def _new_message(self) -> None:
        """Called for every entity, before the parser goes into it (FeedParser's hook)."""
        self._entities += 1
        if self._entities > MAX_PARTS:
            raise Malformed("mime_too_many_parts")
        if len(self._msgstack) >= MAX_DEPTH:  # type: ignore[attr-defined]
            raise Malformed("mime_too_deep")
        super()._new_message()  # type: ignore[misc]


def parse(raw: bytes) -> EmailMessage:
    parser = _BoundedParser()
    parser.feed(raw)
    message = parser.close()
    if not isinstance(message, EmailMessage):
        raise Malformed("not_a_message")
    return message
