"""Cutting what an officer typed into tokens the rules can read.

A training code (IFA-103, ifa103, "IFA 103"), a numeric date (15/03, 14.01., 15-12-2026), a
day with its ordinal (1er, 2nd, 15.), a number, or a word. Words are folded (case, accents),
French elisions and inversions are cut (l'inscription → l' inscription, peux-tu → peux tu,
y a-t-il → y a il) and English possessives dropped (Didier's → Didier); hyphenated names stay
whole (Jean-Pierre). Commas are remembered: they separate persons.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from core.text import fold

CODE = re.compile(r"^([A-Za-z]{2,6})[-_]?(\d{2,4})$")
CODE_LIKE = re.compile(r"^[A-Za-z]{2,6}[-_][A-Za-z0-9]{2,5}$")
"""Looks like a mistyped code (BOSA-1O1): kept as a code so the answer can suggest one."""
TRACK_CODE = re.compile(r"^(PRO)[-_]([A-Za-z]{2,8})$", re.IGNORECASE)
"""A PRO Academy certification track (PRO-MGT): letters after PRO, where a training has digits."""
NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?\.?$")
ORDINAL_DAY = re.compile(r"^(\d{1,2})(?:\.|([a-zèé]{1,3}))$")
YEAR = re.compile(r"^20\d\d$")
_LEADING = "\"'«»“”„‘’([{¿¡<#"
_TRAILING = "\"»“”)]}?!,;:…<>"
_ELISION = re.compile(r"^(l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)['’](.+)$", re.IGNORECASE)
_POSSESSIVE = re.compile(r"^(.{2,})['’]s?$", re.IGNORECASE)
_INVERSION = re.compile(
    r"^(.+?)(?:-t)?-(il|elle|on|ils|elles|tu|vous|je|nous|moi|toi|le|la|les|lui|ce|y|en)$",
    re.IGNORECASE)
_CONTRACTION = re.compile(r"['’](t|d|m|re|ve|ll)$", re.IGNORECASE)


@dataclass
class Token:
    text: str
    """As typed, without the punctuation around it."""
    key: str
    """Folded: lower case, no accents; a code in its canonical form (IFA-103)."""
    kind: str
    """word, code, date (numeric), day (ordinal day), number, raw (other digits), sep."""
    chunk: int
    """Which whitespace-separated piece of the text it came from."""
    comma: bool = False
    capital: bool = False
    used: str = ""
    """What consumed it: intent, hint, date, code, number, filler, … ('' while free)."""


def _capital(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and letters[0].isupper() and not (len(letters) > 1 and all(
        c.isupper() for c in letters))


def _words(text: str) -> list[str]:
    """One chunk of letters → its words: inversions cut, possessive dropped."""
    if _ELISION.match(text + "x") and text[-1] in "'’":
        return [text]  # a lone elision: "qu'", "d'"
    if not _CONTRACTION.search(text):
        match = _POSSESSIVE.match(text)
        if match and ("'" in text or "’" in text):
            text = match.group(1)
    parts: list[str] = []
    while (match := _INVERSION.match(text)) is not None:
        parts.insert(0, match.group(2))
        text = match.group(1)
    return [text, *parts]


def strip_chunk(chunk: str) -> tuple[str, bool]:
    """Punctuation around a chunk off; True when a comma (or ; or :) followed it."""
    comma = bool(re.search(r"[,;]\W*$", chunk))
    chunk = chunk.lstrip(_LEADING)
    chunk = re.sub(r"^[nN][°º](?=\d)", "", chunk)  # n°12, #12
    while chunk and chunk[-1] in _TRAILING:
        chunk = chunk[:-1]
    if chunk.endswith(".") and not re.search(r"\d\.$", chunk) and not re.fullmatch(
            r"[A-Za-zÀ-ÿ]{1,5}\.", chunk):
        chunk = chunk.rstrip(".")
    return chunk, comma


def tokenize(text: str, vocabulary: Collection[str] = ()) -> list[Token]:
    """`vocabulary`: words that are never the letters of a spaced code ('le 15')."""
    chunks = text.split()
    tokens: list[Token] = []
    for index, raw in enumerate(chunks):
        chunk, comma = strip_chunk(raw)
        if not chunk:
            if comma and tokens:
                tokens[-1].comma = True
            continue
        tokens.extend(_chunk_tokens(chunk, index))
        if comma and tokens:
            tokens[-1].comma = True
    if sum(c.isupper() for c in text) > sum(c.islower() for c in text):
        for token in tokens:  # a sentence typed in capitals says nothing by its capitals
            token.capital = False
    _join_spaced_codes(tokens, vocabulary)
    return tokens


def _chunk_tokens(chunk: str, index: int) -> list[Token]:
    if chunk in ("&", "+"):
        return [Token(chunk, chunk, "sep", index)]
    match = _ELISION.match(chunk)
    if match:  # d'IFA-107, l'inscription, qu'a
        elided = match.group(1)
        return [Token(elided + "'", fold(elided) + "'", "word", index, capital=_capital(elided)),
                *_chunk_tokens(match.group(2), index)]
    if match := CODE.match(chunk):
        return [Token(chunk, f"{match.group(1).upper()}-{match.group(2)}", "code", index)]
    if match := TRACK_CODE.match(chunk):
        return [Token(chunk, f"PRO-{match.group(2).upper()}", "code", index)]
    if CODE_LIKE.match(chunk) and any(ch.isdigit() for ch in chunk):
        return [Token(chunk, chunk, "code", index)]
    if NUMERIC_DATE.match(chunk):
        return [Token(chunk, chunk, "date", index)]
    if match := ORDINAL_DAY.match(fold(chunk)):
        return [Token(chunk, fold(chunk), "day", index)]
    if chunk.isdigit():
        return [Token(chunk, chunk, "number" if len(chunk) < 6 else "raw", index)]
    if any(ch.isdigit() for ch in chunk):
        return [Token(chunk, chunk, "raw", index)]
    found = []
    for word in _words(chunk):
        key = fold(word).rstrip(".")
        if key.strip("'-"):
            found.append(Token(word, key, "word", index, capital=_capital(word)))
    return found


def _join_spaced_codes(tokens: list[Token], vocabulary: Collection[str]) -> None:
    """'IFA 103': a short word in capitals (or any case before three digits) then a number."""
    for i in range(len(tokens) - 1):
        first, second = tokens[i], tokens[i + 1]
        if (first.kind == "word" and second.kind == "number" and 2 <= len(first.text) <= 6
                and first.text.isalpha() and first.text.isascii()
                and (first.text.isupper() or len(second.text) == 3)
                and 2 <= len(second.text) <= 4 and second.chunk == first.chunk + 1
                and first.key not in vocabulary):
            first.kind, first.key = "code", f"{first.text.upper()}-{second.text}"
            first.text = f"{first.text} {second.text}"
            second.kind, second.used = "code", "code"
