"""Read an officer's decision from a reply to a notification e-mail.

Officers approve or refuse a registration request by replying to the notification. Their mail
client wraps the few words they typed in MIME structure, HTML, quoted history, attribution lines
and signatures, in four languages and a dozen clients. This module peels all of that away and
reads only the first words the sender wrote on top.

The guiding rule is caution: a reply that is not clearly one of the listed words is "not
understood" and gets a help answer, because approving or refusing on a guess would act on a
colleague's registration without the officer having decided it.

Standard library only, so the gateway can run it wherever Python runs.
"""

from __future__ import annotations

import email.message
import email.utils
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser

__all__ = [
    "APPROVE_WORDS",
    "QUOTE_MARKER",
    "REFUSE_WORDS",
    "Verdict",
    "body_text",
    "first_words",
    "html_to_text",
    "read_verdict",
    "reply_part",
]

QUOTE_MARKER = "\x00QUOTE\x00"
"""Line emitted by the HTML conversion where quoted history starts; a NUL never occurs in mail
text, so the marker cannot be confused with anything the sender typed."""

APPROVE_WORDS: frozenset[str] = frozenset(
    {"ok", "oui", "approuver", "accepter", "ja", "akkoord", "goedkeuren", "yes", "approve",
     "genehmigen"}
)
"""First words that approve, folded (lower case, no accents). Deliberately short: "okay",
"d'accord" and the like are left out so that only an unmistakable word acts."""

REFUSE_WORDS: frozenset[str] = frozenset(
    {"non", "refuser", "nee", "weigeren", "no", "refuse", "nein", "ablehnen"})
"""First words that refuse, folded; the rest of the line is the reason shown to the requester."""

MAX_FIRST_LINE = 500
"""The first line is stored and echoed back in answers; a pasted essay should not be."""

MAX_TEXT = 64 * 1024
"""Characters of a body read at all. The verdict is in the first words; the rest is quoted
history, and HTML or line rules over megabytes of it only cost time."""

MAX_LINES = 300
"""Lines of the body searched for the end of what the sender wrote."""


# --------------------------------------------------------------------------------------------
# MIME: find and decode the text the sender wrote


def body_text(message: email.message.EmailMessage) -> str:
    """Return the reply's text, from its text/plain part or, failing that, its HTML converted.

    The plain part is preferred because every client that sends both keeps the same words in
    it and converting HTML is lossy. Attachments are skipped (``get_body`` ignores them) so a
    forwarded ``.txt`` cannot speak for the sender. Broken or unknown charsets never raise: a
    reply we cannot fully decode should still get an answer rather than crash the gateway.
    """
    part = message.get_body(preferencelist=("plain", "html")) or _partless(message)
    if part is None:
        return ""
    text = _normalise_newlines(_decoded_text(part)[:MAX_TEXT])
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    if _param(part, "format") == "flowed":
        text = _unflow(text, delsp=_param(part, "delsp") == "yes")
    if not text.strip():
        # Some clients send an empty plain alternative next to the real HTML body.
        html = message.get_body(preferencelist=("html",))
        if html is not None:
            return html_to_text(_normalise_newlines(_decoded_text(html)[:MAX_TEXT]))
    return text


def _partless(message: email.message.EmailMessage) -> email.message.EmailMessage | None:
    """A multipart message whose body holds no parts at all, to be read as plain text.

    Some clients declare multipart/alternative and then write the reply as bare text, with
    no boundary line; the parser keeps that text as the payload of the multipart itself.
    """
    if message.get_content_maintype() == "multipart" and isinstance(message.get_payload(), str):
        return message
    return None


def _param(part: email.message.Message, name: str) -> str:
    """A Content-Type parameter as lower-case text ("" when absent), whatever its encoding."""
    value = part.get_param(name)
    if isinstance(value, tuple):  # RFC 2231 encoded parameter
        value = email.utils.collapse_rfc2231_value(value)
    return str(value or "").strip().lower()


def _decoded_text(part: email.message.Message) -> str:
    """Decode a text part's payload, tolerating wrong, missing or unknown charset labels.

    The email package undoes base64 and quoted-printable; charset errors are ours to handle.
    Labels are often wrong in practice: "iso-8859-1" usually means Windows-1252 (curly quotes
    in 0x80-0x9F), and "us-ascii" or no label at all often hides UTF-8.
    """
    # The payload as the parser stored it: get_payload() without decode would already have
    # decoded 8-bit bytes with the declared charset, hiding the bytes we want to sniff.
    raw = getattr(part, "_payload", None)
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    already_text = (
        isinstance(raw, str)
        and cte not in ("base64", "quoted-printable")
        and not raw.isascii()
        and not any("\udc80" <= char <= "\udcff" for char in raw)
    )
    if already_text:
        # Parsed from a str (message_from_string): the payload is already decoded text.
        return str(raw)
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a defective payload must not stop the reply from being answered
        payload = None
    if not isinstance(payload, bytes):
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    charset = (part.get_content_charset() or "").strip().lower()
    if not charset or charset in _ASCII_LABELS:
        order = ["utf-8", "cp1252"]
    elif charset in _LATIN1_LABELS:
        order = ["cp1252", "utf-8"]
    else:
        order = [charset, "utf-8"]
    for name in order:
        try:
            return payload.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    for name in (*order, "cp1252"):
        try:
            return payload.decode(name, errors="replace")
        except LookupError:
            continue
    return payload.decode("latin-1")  # unreachable in practice: every byte maps


_ASCII_LABELS = frozenset({"us-ascii", "ascii", "ansi_x3.4-1968", "us"})
_LATIN1_LABELS = frozenset({"iso-8859-1", "iso8859-1", "iso_8859-1", "latin-1", "latin1", "l1"})


def _normalise_newlines(text: str) -> str:
    """Use "\\n" everywhere so line rules need not care about CRLF or lone CR."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _unflow(text: str, *, delsp: bool) -> str:
    """Join format=flowed soft line breaks (RFC 3676) so a wrapped reason reads as one line.

    Thunderbird wraps long lines at 72 columns with a trailing space; without joining them a
    refusal reason would be cut at the first wrap. Quote depth is kept so quoted lines still
    start with ">" and are cut by ``reply_part``.
    """
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        if pending is not None and depth == pending_depth:
            pending += content
        else:
            if pending is not None:
                out.append(_requote(pending, pending_depth))
            pending, pending_depth = content, depth
        if not soft:
            out.append(_requote(pending, pending_depth))
            pending = None
    if pending is not None:
        out.append(_requote(pending, pending_depth))
    return "\n".join(out)


def _requote(content: str, depth: int) -> str:
    """Put back the quote prefix removed while unflowing."""
    return (">" * depth + " " + content) if depth else content


# --------------------------------------------------------------------------------------------
# HTML to text


_SKIPPED_TAGS = frozenset({"head", "style", "script", "title", "template", "noscript"})
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "center", "dd", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody",
    "tfoot", "thead", "tr", "ul",
})
_CELL_TAGS = frozenset({"td", "th"})
_QUOTE_IDS = frozenset({
    "divrplyfwdmsg", "appendonsend", "olk_src_body_section",
    "mail-editor-reference-message-container",
})
"""Outlook (desktop, web, Mac) containers that hold the reply header and the quoted original."""
_QUOTE_CLASSES = frozenset({
    "gmail_quote", "gmail_quote_container", "gmail_signature", "moz-cite-prefix", "yahoo_quoted",
    "protonmail_quote",
})
"""Gmail, Thunderbird, Yahoo and Proton markers of quoted history (and Gmail's signature)."""


class _TextExtractor(HTMLParser):
    """Turn a mail's HTML into lines of text, marking where quoted history starts.

    Markup is structure, not words: block elements become line breaks so the first line of the
    HTML is the first paragraph the sender typed, and quote containers become ``QUOTE_MARKER``
    so history is cut even when the client writes no textual attribution line.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.at_line_start = True

    def _line_break(self, *, always: bool = False) -> None:
        """End the current line; blocks do it once, ``<br>`` every time (so <br><br> is a gap)."""
        if always or not self.at_line_start:
            self.chunks.append("\n")
        self.at_line_start = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.skip_depth = 0  # an unclosed <head> or <style> must not swallow the body
        if tag in _SKIPPED_TAGS:
            self.skip_depth += 1
            return
        if self.skip_depth:
            return
        if tag == "pre":
            self.pre_depth += 1
        if self._starts_quote(tag, dict(attrs)):
            self._line_break()
            self.chunks.append(QUOTE_MARKER)
            self._line_break(always=True)
        if tag == "br":
            self._line_break(always=True)
        elif tag in _BLOCK_TAGS:
            self._line_break()
        elif tag in _CELL_TAGS:
            self.chunks.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth:
            return
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if tag in _BLOCK_TAGS and tag != "br":
            self._line_break()
        elif tag in _CELL_TAGS:
            self.chunks.append(" ")

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if not self.pre_depth:
            data = re.sub(r"[ \t\n\f\r]+", " ", data)
        if data.strip():
            self.at_line_start = self.pre_depth > 0 and data.endswith("\n")
        self.chunks.append(data)

    @staticmethod
    def _starts_quote(tag: str, attrs: dict[str, str | None]) -> bool:
        """Whether this element opens quoted history (any blockquote, or a client's container)."""
        if tag == "blockquote":
            return True
        if (attrs.get("id") or "").lower() in _QUOTE_IDS:
            return True
        classes = (attrs.get("class") or "").lower().split()
        return any(name in _QUOTE_CLASSES for name in classes)

    def text(self) -> str:
        """The collected text: lines stripped, runs of blank lines collapsed to one."""
        joined = "".join(self.chunks)
        lines = [re.sub(r"[ \t]{2,}", " ", line).strip() for line in joined.split("\n")]
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip("\n")


_UNCLOSED_TAG = re.compile(r"<(?=[^<>]*(?:<|$))")
"""A "<" with no ">" before the next "<": html.parser rescans the rest of the document for
each one, so a run of them costs quadratic time. As text they cost nothing."""


def html_to_text(html: str) -> str:
    """Convert an HTML body to text for HTML-only replies (Outlook on the web, some phones)."""
    parser = _TextExtractor()
    try:
        parser.feed(_UNCLOSED_TAG.sub("&lt;", html[:MAX_TEXT]))
        parser.close()
    except Exception:  # html.parser is lenient, but a reply must never crash the gateway
        pass
    return parser.text()


# --------------------------------------------------------------------------------------------
# Cut quoted history and signatures


_ATTRIBUTION = re.compile(
    r"""^\s*(?=.*\d)(?:
        on\s.*\bwrote\s*:
      | le\s.*\ba\s+[ée]crit\s*:
      | op\s.*\bheeft\s.*\bhet\s+volgende\s+geschreven\s*:
      | op\s.*\bschreef\b.*:
      | am\s.*\bschrieb\b.*:
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
"""Attribution lines ("On <date>, <name> wrote:") in en, fr, nl and de. A digit (the date) is
required so an ordinary sentence such as "Op vrijdag schreef ik:" is not taken for one."""

_ATTRIBUTION_START = re.compile(r"^\s*(?:on|le|op|am)\s", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(
    r"""^\s*-{3,}\s*(?:
        original\s+message | mail\s+original | message\s+d['’]origine | oorspronkelijk\s+bericht
      | urspr[üu]ngliche\s+nachricht | forwarded\s+message | message\s+transf[ée]r[ée]
      | doorgestuurd\s+bericht | weitergeleitete\s+nachricht
    )\s*-{3,}""",
    re.IGNORECASE | re.VERBOSE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|de|van|von)\s*\*?\s*:", re.IGNORECASE)
_HEADER_KINDS = {
    "sent": re.compile(
        r"^\s*\*?(?:sent|date|envoy[ée]|verzonden|datum|gesendet)\s*\*?\s*:", re.IGNORECASE
    ),
    "to": re.compile(r"^\s*\*?(?:to|[àa]|aan|an)\s*\*?\s*:", re.IGNORECASE),
    "subject": re.compile(r"^\s*\*?(?:subject|objet|onderwerp|betreff)\s*\*?\s*:", re.IGNORECASE),
}
_MOBILE_SIGNATURE = re.compile(
    r"""(?:
        sent\s+from\s+my\b.* | sent\s+from\s+outlook\b.* | sent\s+from\s+mail\s+for\s+windows\b.*
      | get\s+outlook\s+for\b.*
      | envoy[ée]\s+(?:de|depuis)\s+(?:mon|outlook)\b.* | obtenir\s+outlook\s+pour\b.*
      | (?:verzonden|verstuurd)\s+vanaf\s+mijn\b.* | verzonden\s+(?:vanuit|met)\s+outlook\b.*
      | von\s+meinem\b.*\bgesendet\b.* | gesendet\s+von\s+meinem\b.*
    )""",
    re.IGNORECASE | re.VERBOSE,
)
"""Signatures that phones and Outlook apps append under the reply."""
_MAX_MARKER_LINE = 400
"""Attributions, separators and headers are short; longer lines are the sender's own text, and
not running the patterns on them keeps a hostile one-line megabyte from costing quadratic time."""


def reply_part(text: str) -> str:
    """Return only what the sender wrote on top, without quoted history or signature.

    Cutting at the first history line rather than removing quoted lines keeps the original
    notification (which itself says "reply OK to approve") from ever being read as the answer.
    The sender's own lines are returned as written; only leading and trailing blank lines go.
    """
    lines = _normalise_newlines(text).split("\n")
    cut = next((index for index in range(len(lines)) if _starts_history(lines, index)), len(lines))
    kept = lines[:cut]
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


def _starts_history(lines: list[str], index: int) -> bool:
    """Whether line ``index`` starts quoted history or a signature (see ``reply_part``)."""
    line = lines[index]
    if QUOTE_MARKER in line or line.lstrip().startswith(">") or line.rstrip() == "--":
        return True
    if len(line) > _MAX_MARKER_LINE:
        return False
    probe = unicodedata.normalize("NFC", line).replace("\u00a0", " ")
    if _ATTRIBUTION.match(probe) or _ORIGINAL_MESSAGE.match(probe):
        return True
    if _MOBILE_SIGNATURE.fullmatch(probe.strip()):
        return True
    following = [
        unicodedata.normalize("NFC", nxt).replace("\u00a0", " ")
        for nxt in lines[index + 1:index + 7]
        if len(nxt) <= _MAX_MARKER_LINE
    ]
    if _UNDERSCORES.match(probe):
        return any(_HEADER_FROM.match(nxt) for nxt in following[:2])
    if _HEADER_FROM.match(probe):
        kinds = {kind for nxt in following for kind, rx in _HEADER_KINDS.items() if rx.match(nxt)}
        if len(kinds) >= 2:
            return True
    # Gmail wraps a long attribution over two lines; the date (a digit) is on the first one.
    if following and following[0].strip() and _ATTRIBUTION_START.match(probe) and any(
        char.isdigit() for char in probe
    ):
        return not _ATTRIBUTION.match(following[0]) and bool(
            _ATTRIBUTION.match(probe.rstrip() + " " + following[0].strip())
        )
    return False


# --------------------------------------------------------------------------------------------
# Read the verdict


_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00ad"))
_LEADING_PUNCTUATION = re.compile(r"^[\W_]+")


def first_words(message: email.message.EmailMessage) -> str:
    """Return the first line the sender wrote, whitespace-normalised, at most 500 characters.

    Leading punctuation goes because rich-text clients render bold as "*OK*" in the plain part
    and bullets as "- ", which would otherwise hide the word.
    """
    lines = body_text(message).split("\n", MAX_LINES)[:MAX_LINES]
    for line in reply_part("\n".join(lines)).split("\n"):
        cleaned = " ".join(unicodedata.normalize("NFC", line).translate(_INVISIBLE).split())
        cleaned = _LEADING_PUNCTUATION.sub("", cleaned)
        if cleaned:
            return cleaned[:MAX_FIRST_LINE]
    return ""


@dataclass(frozen=True)
class Verdict:
    """What the first line of a reply decides.

    ``decision`` is "approve", "refuse" or None (not understood, answer with help);
    ``reason`` is the refusal reason from the rest of the line, None when there is none;
    ``first_line`` is what was read, kept to quote back in the help answer and the audit trail.
    """

    decision: str | None
    reason: str | None
    first_line: str


_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
"""A word, with its apostrophes and hyphens: "d'accord" and "ok-ish" are single words and so
never read as "d" or "ok"."""
_REASON_LEAD = " \t:;,.!-–—"
_AMBIGUOUS = re.compile(r"^no\s+(?:problem\w*|worries|objections?)\b")
"""English idioms that start with "no" but do not refuse; they are not understood instead."""


def read_verdict(message: email.message.EmailMessage) -> Verdict:
    """Read the decision from the first word the sender wrote on top of the reply.

    Only the first word counts ("Je pense que non" is not a refusal), compared without case or
    accents, with trailing punctuation tolerated. A word followed by a question mark ("OK ?") is
    a question, not a decision, and is not understood.
    """
    line = first_words(message)
    match = _WORD.match(line)
    if match is None:
        return Verdict(None, None, line)
    word = _fold(match.group())
    rest = line[match.end():]
    if rest.lstrip().startswith("?") or _AMBIGUOUS.match(_fold(line)):
        return Verdict(None, None, line)
    if word in APPROVE_WORDS:
        return Verdict("approve", None, line)
    if word in REFUSE_WORDS:
        reason = rest.lstrip(_REASON_LEAD).rstrip()
        return Verdict("refuse", reason or None, line)
    return Verdict(None, None, line)


def _fold(text: str) -> str:
    """Lower-case and drop accents, so "NON", "Non" and "nón" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
