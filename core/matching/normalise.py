"""Belgian surnames as officers type them: folded, particles either way, spelling variants.

Three forms of a name feed the index and the scorer:
- compact: folded letters only ("Van den Bossche" → "vandenbossche", "D'Hondt" → "dhondt");
- core: compact without leading particles ("bossche", "hondt", "smet" from "Desmet");
- phonetic: compact with Dutch/French spelling variants unified (dt/d→t, ae/aa→a, ij/y/ei→i,
  ck/c→k, ph→f, gh→g, th→t, ue/oe→u/o, double letters single, final -en/-s/-e dropped), so that
  "Verhaege", "Verhaeghe"; "Desmedt", "De Smet"; "Peters", "Peeters"; "Lambrecht",
  "Lambrechts"; "Müller", "mueller" share a key.
"""

from __future__ import annotations

import re
from functools import lru_cache

from core.text import fold

PARTICLES = frozenset({
    "van", "vande", "vanden", "vander", "de", "den", "der", "d", "le", "la", "les", "du", "des",
    "di", "da", "del", "della", "dello", "dos", "das", "ten", "ter", "t", "von", "vom", "zu",
    "el", "al", "op", "het", "in", "mac", "mc", "o"})
JOINED_PARTICLES = ("vanden", "vander", "vande", "van", "della", "delle", "des", "del", "de",
                    "du", "di", "le", "la", "el", "d")
_WORD = re.compile(r"[a-z0-9]+")
_RULES = (
    (re.compile(r"ij"), "i"), (re.compile(r"[ey]i|y"), "i"), (re.compile(r"ph"), "f"),
    (re.compile(r"ck|qu|q"), "k"), (re.compile(r"c(?=[aouklrt]|$)"), "k"),
    (re.compile(r"dt|d$"), "t"), (re.compile(r"gh"), "g"), (re.compile(r"th"), "t"),
    (re.compile(r"ae|ue|oe"), lambda m: m.group(0)[0]), (re.compile(r"z"), "s"),
    (re.compile(r"(.)\1+"), r"\1"),
)
_ENDINGS = re.compile(r"(?<=...)(?:en|s|e)$")
"""Final -en, -s, -e come and go in Flemish names (Janssen/Janssens, Vermeule/Vermeulen)."""


def words(text: str) -> list[str]:
    """Folded words; apostrophes join ('D'Hondt' → ['d', 'hondt'])."""
    return _WORD.findall(fold(text).replace("'", " "))


def compact(text: str) -> str:
    return "".join(words(text))


@lru_cache(maxsize=200_000)
def phonetic(compact_form: str) -> str:
    key = compact_form
    for pattern, replacement in _RULES:
        key = pattern.sub(replacement, key)
    stripped = None
    while stripped != key:
        stripped = key
        key = _ENDINGS.sub("", key)
    return key or compact_form


def cores(tokens: list[str]) -> set[str]:
    """The name without its leading particles, written apart or together."""
    found = set()
    rest = list(tokens)
    while len(rest) > 1 and rest[0] in PARTICLES:
        rest = rest[1:]
        found.add("".join(rest))
    joined = "".join(tokens)
    for particle in JOINED_PARTICLES:
        rest = joined[len(particle):]
        if particle == "d" and rest[:1] not in ("a", "e", "i", "o", "u", "h"):
            continue
        if joined.startswith(particle) and len(rest) >= 3:
            found.add(rest)
    found.discard(joined)
    return found


def surname_keys(surname: str) -> tuple[str, set[str]]:
    """(phonetic key of the whole name, phonetic keys of its particle-less cores)."""
    tokens = words(surname)
    return phonetic("".join(tokens)), {phonetic(c) for c in cores(tokens)}


def core_forms(surname: str) -> tuple[tuple[str, str], ...]:
    """(compact, phonetic) of each particle-less core: 'Van Damme' → (('damme', 'dam'),)."""
    return tuple((c, phonetic(c)) for c in sorted(cores(words(surname))))


def search_key(surname: str, given_names: str = "") -> str:
    """The folded 'surname given names' stored beside each collaborator (for SQL and display)."""
    return " ".join(words(f"{surname} {given_names}"))
