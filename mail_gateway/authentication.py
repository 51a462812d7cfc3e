"""Did the receiving MTA authenticate the sender's domain? Read from Authentication-Results.

The assistant checks no DKIM signature itself: the MTA (OpenDKIM and OpenDMARC, rspamd, …)
does, and records the result in an `Authentication-Results` header (RFC 8601) under its own
authserv-id, `ITMA_MAIL_AUTHSERV_ID`. Anyone can write such a header into a mail, so only the
topmost one with that id counts: the MTA adds its own on top and must remove any that arrive
with its id. A reply passes with `dmarc=pass` for the From domain, or with `dkim=pass` for a
signing domain aligned with it.
"""

from __future__ import annotations

import re

from authres import AuthenticationResultsHeader

from mail_gateway.headers import Headers

_COMMENT = re.compile(r"\([^()]*\)")
MAX_RESULTS = 8192
"""An MTA's header for one message is a few hundred characters; a longer one is not read."""


def _authserv_id(value: str) -> str:
    """The authserv-id a header claims, read without the full parser (which may refuse it)."""
    value, previous = value[:1024], None
    while previous != value:
        previous, value = value, _COMMENT.sub(" ", value)
    words = value.split(";", 1)[0].split()
    return words[0].lower() if words else ""


def aligned(signer: str, author: str) -> bool:
    """Relaxed alignment, approximated: the same domain, or one a subdomain of the other.

    A signer of a single label (a top-level domain) never aligns.
    """
    signer, author = signer.lower().rstrip("."), author.lower().rstrip(".")
    if "." not in signer or "." not in author:
        return False
    return signer == author or author.endswith("." + signer) or signer.endswith("." + author)


def problem(headers: Headers, authserv_id: str | None, sender: str) -> str | None:
    """None when the sender's domain is authenticated (or no authserv-id is configured)."""
    if not authserv_id:
        return None
    ours = authserv_id.strip().lower()
    value = next((v for v in headers.all("Authentication-Results") if _authserv_id(v) == ours),
                 None)
    if value is None:
        return f"no Authentication-Results from {ours}"
    if len(value) > MAX_RESULTS:
        return "unreadable Authentication-Results"
    try:
        parsed = AuthenticationResultsHeader.parse_value(value)
    except Exception:  # the package raises its own SyntaxError and others
        return "unreadable Authentication-Results"
    author = sender.rsplit("@", 1)[-1]
    seen: list[str] = []
    for result in parsed.results:
        method, outcome = str(result.method).lower(), str(result.result).lower()
        properties = {f"{p.type}.{p.name}".lower(): str(p.value) for p in result.properties}
        seen.append(f"{method}={outcome}")
        if outcome != "pass":
            continue
        if method == "dmarc" and properties.get("header.from", "").lower() == author.lower():
            return None
        if method == "dkim":
            signer = properties.get("header.d") or properties.get("header.i", "").split("@")[-1]
            if signer and aligned(signer, author):
                return None
    return "not authenticated: " + (" ".join(seen) or "no results")
