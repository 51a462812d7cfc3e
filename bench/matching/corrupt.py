"""Realistic ways an officer mistypes a surname on a phone, from memory.

Every corruption in :data:`CORRUPTIONS` takes a surname as written in the personnel data
(``"Van den Bossche"``, ``"Müller"``, ``"D'Hondt"``, ``"Dupont-Martin"``) and a
``random.Random`` and returns what the officer types. Apart from ``exact`` the result is
lowercase, as typed on a phone. A corruption that does not apply to a name (``particle_split``
on ``"Peeters"``) falls back to a related corruption that does, or to the lowercase name; the
result is never empty and keeps at least two letters. :func:`applies` tells whether a kind
really applies, so that a benchmark can label its queries honestly.

The module also offers the folding used to decide what counts as "the same surname"
(:func:`fold`) and case-preserving variant helpers (:func:`respell`, :func:`reparticle`) that
the dataset uses to grow realistic families of surnames (De Smet / Desmet / De Smedt).

Pure standard library and deterministic for a given ``random.Random`` state.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

__all__ = [
    "CORRUPTIONS",
    "KIND_WEIGHTS",
    "applies",
    "fold",
    "reparticle",
    "respell",
    "split_particles",
    "strip_accents",
]

Corruption = Callable[[str, random.Random], str]

# --------------------------------------------------------------------------------------------
# Folding
# --------------------------------------------------------------------------------------------

_SPECIAL = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "ı": "i",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "þ": "th",
        "’": "'",
        "‘": "'",
    }
)
_NOT_LETTER = re.compile(r"[^a-z]")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def strip_accents(text: str) -> str:
    """Remove diacritics (``Lefèvre`` → ``Lefevre``, ``Łukasz`` → ``Lukasz``); keep the rest."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1 << 18)
def fold(text: str) -> str:
    """Matching key: lowercase ASCII letters only (no accents, spaces, hyphens, apostrophes)."""
    return _NOT_LETTER.sub("", strip_accents(text).lower())


# --------------------------------------------------------------------------------------------
# Particles
# --------------------------------------------------------------------------------------------

# Particles that may stand apart in front of the surname core (compared lowercase).
_APART = frozenset(
    {
        "van", "vanden", "vander", "vande", "de", "den", "der", "het", "'t", "op", "ten", "ter",
        "in", "le", "la", "les", "du", "des", "del", "della", "dello", "di", "da", "do", "dos",
        "das", "lo", "el", "al", "ben", "bou", "ait", "von", "vom", "zu", "zum",
    }
)  # fmt: skip

# Joined prefixes, longest first, with the words they split into and whether the rest may
# start with a vowel (Vanacker = Van Acker, but "Leonard" is not "Le Onard").
_JOINED: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("vanden", ("van", "den"), True),
    ("vander", ("van", "der"), True),
    ("vande", ("van", "de"), False),
    ("van", ("van",), True),
    ("opde", ("op", "de"), False),
    ("dela", ("de", "la"), False),
    ("des", ("des",), False),
    ("de", ("de",), False),
    ("du", ("du",), False),
    ("le", ("le",), False),
    ("la", ("la",), False),
    ("di", ("di",), False),
    ("ben", ("ben",), True),
)
_DUTCH_JOINED = frozenset({"vanden", "vander", "vande", "van", "opde"})

# Consonant clusters that can start a word in Dutch or French.
_ONSETS = frozenset(
    {
        "bl", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gh", "gl", "gr", "kl", "kn", "kr",
        "ph", "pl", "pr", "sch", "schr", "sl", "sm", "sn", "sp", "st", "str", "th", "tr", "vl",
        "vr", "wr", "zw", "sw", "sh", "ts", "tsh",
    }
)  # fmt: skip
_VOWELS = frozenset("aeiouyéèêëàâäîïôöûüù")

# Real names that merely look like a joined particle.
_NOT_JOINED = frozenset(
    {
        "denis", "demir", "lenaerts", "leruth", "dumitru", "didier", "benedetti", "benoit",
        "detry", "dekker", "dilbeek", "dinant", "diels", "lesniak", "lewicki",
    }
)  # fmt: skip
# Polish, Turkish, Romanian... names never carry a Dutch or French particle.
_FOREIGN_ENDINGS = ("ski", "cki", "ska", "cka", "wicz", "oglu", "oğlu", "escu", "eanu", "czyk")


def _word_start_ok(rest: str, vowel_ok: bool) -> bool:
    if len(rest) < 3 or not any(ch in _VOWELS for ch in rest):
        return False
    if rest[0] in _VOWELS:
        return vowel_ok
    for size in (4, 3, 2):
        if rest[:size] in _ONSETS and len(rest) > size and rest[size] in _VOWELS:
            return True
    return rest[1] in _VOWELS


def _split_joined(word: str) -> tuple[tuple[str, ...], str] | None:
    """Split a lowercase joined-particle word: ``vandenbossche`` → (("van", "den"), "bossche")."""
    if word in _NOT_JOINED or word.endswith(_FOREIGN_ENDINGS):
        return None
    for prefix, parts, vowel_ok in _JOINED:
        if not word.startswith(prefix):
            continue
        rest = word[len(prefix) :]
        if prefix == "des":
            # Deschamps = des champs, but Desmet = de smet.
            if rest.endswith(("s", "x")) and _word_start_ok(rest, False):
                return parts, rest
            continue
        if prefix == "ben" and len(rest) < 3:
            continue
        if _word_start_ok(rest, vowel_ok):
            return parts, rest
    return None


def split_particles(name: str) -> tuple[list[str], str]:
    """Split a surname into its leading particles written apart and the core, both as written.

    ``"Van den Bossche"`` → (["Van", "den"], "Bossche"); ``"Peeters"`` → ([], "Peeters").
    """
    tokens = name.split()
    particles: list[str] = []
    while len(tokens) > 1 and tokens[0].lower() in _APART:
        particles.append(tokens.pop(0))
    return particles, " ".join(tokens)


def _joined_parts(name: str) -> tuple[tuple[str, ...], str] | None:
    """For a name with a joined particle and no particle apart: (particles, core), lowercase."""
    particles, core = split_particles(name)
    if particles or " " in core:
        return None
    head, sep, tail = core.partition("-")
    split = _split_joined(head.lower())
    if split is None:
        return None
    parts, rest = split
    return parts, rest + sep + tail.lower()


# --------------------------------------------------------------------------------------------
# Spelling variants (Dutch and French spelling habits)
# --------------------------------------------------------------------------------------------

_FLEMISH_MARKS = (
    "ae", "ck", "ij", "uy", "ey", "oe", "ee", "oo", "sch", "gh", "aa", "kx", "dt", "cht", "uw",
)  # fmt: skip


def _flemish(word: str) -> bool:
    return any(mark in word for mark in _FLEMISH_MARKS) or word.startswith(
        ("v", "w", "z", "sm", "sch", "h")
    )


Rule = tuple[re.Pattern[str], Callable[[re.Match[str], random.Random], str], bool]


def _rule(pattern: str, repl: str | list[str], flemish_only: bool = False) -> Rule:
    options = [repl] if isinstance(repl, str) else repl

    def replace(match: re.Match[str], rng: random.Random) -> str:
        return match.expand(rng.choice(options))

    return re.compile(pattern), replace, flemish_only


_RULES: tuple[Rule, ...] = (
    _rule(r"dt\b", ["t", "d"]),
    _rule(r"(?<=[aeiounrl])t\b", "dt", flemish_only=True),
    _rule(r"(?<=[aeiounrl])d\b", ["dt", "t"], flemish_only=True),
    _rule(r"ae", ["aa", "a"]),
    _rule(r"(?<=[^aeiou])aa", "ae"),
    _rule(r"ij", "y"),
    _rule(r"(?<=[^aeiou])y(?=[^aeiou]|\b)", "ij", flemish_only=True),
    _rule(r"uy", "ui"),
    _rule(r"ui", "uy"),
    _rule(r"ey", "ei"),
    _rule(r"ei", "ey"),
    _rule(r"ckx\b", ["kx", "cks", "x"]),
    _rule(r"ck(?!x\b)", "k"),
    _rule(r"(?<=[aeiourln])k(?=[aeioux])", "ck"),
    _rule(r"ph", "f"),
    _rule(r"\bf(?=[ilr])", "ph"),
    _rule(r"\bc(?=[aoulr])", "k"),
    _rule(r"\bk(?=[aoulr])", "c"),
    _rule(r"([bcdfgklmnprstz])\1", r"\1"),
    _rule(r"(?<![aeiou])([aeiou])([lnmrst])(?=[aeiou])", r"\1\2\2"),
    _rule(r"(?<![aeiou])([aeou])\1", r"\1"),
    _rule(r"(?<![aeiou])([aeo])(?=[bdfgklmnprstv][aeiou])", r"\1\1", flemish_only=True),
    _rule(r"gh(?=[ei])", "g"),
    _rule(r"(?<=[aeiourn])g(?=e)", "gh"),
    _rule(r"th", "t"),
    _rule(r"\bt(?=[aeiouy])", "th", flemish_only=True),
    _rule(r"(?<=[tnrkpml])s\b", ""),
    _rule(r"(cht|aert|ert|er|en)\b", r"\1s"),
    _rule(r"cq\b", ["ck", "c"]),
    _rule(r"rck\b", "rcq"),
    _rule(r"(?<=[rmnl])y\b", "i"),
    _rule(r"fèvre", "febvre"),
    _rule(r"febvre", ["fèvre", "fevre"]),
)


def _core_variants(core: str) -> list[tuple[Rule, re.Match[str]]]:
    flemish = _flemish(core)
    found: list[tuple[Rule, re.Match[str]]] = []
    for rule in _RULES:
        pattern, _, flemish_only = rule
        if flemish_only and not flemish:
            continue
        found.extend((rule, m) for m in pattern.finditer(core))
    return found


def _respell_core(core: str, rng: random.Random) -> str | None:
    """Apply one spelling swap to a lowercase core; None when none fits."""
    options = [
        (rule, m)
        for rule, m in _core_variants(core)
        if len(core) - (m.end() - m.start()) >= 2  # keep at least two letters
    ]
    rng.shuffle(options)
    for (_, replace, _), match in options:
        new = core[: match.start()] + replace(match, rng) + core[match.end() :]
        if new != core and len(fold(new)) >= 2:
            return new
    return None


def _recase(words: list[str]) -> str:
    """Capitalise like Belgian registers: first word and the core, inner particles lowercase."""
    out: list[str] = []
    for i, word in enumerate(words):
        inner_particle = 0 < i < len(words) - 1 and word in _APART
        out.append(word if inner_particle else _capitalise(word))
    return " ".join(out)


def _capitalise(word: str) -> str:
    """``d'hondt`` → ``D'Hondt``, ``dupont-martin`` → ``Dupont-Martin``."""
    return re.sub(r"(^|[-' ])(\w)", lambda m: m.group(1) + m.group(2).upper(), word)


def respell(name: str, rng: random.Random) -> str | None:
    """A spelling variant of ``name`` written like a real surname, or None if none fits.

    ``"De Smet"`` → ``"De Smedt"``, ``"Verhaeghe"`` → ``"Verhaege"``, ``"Peeters"`` →
    ``"Peters"``.
    """
    particles, core = split_particles(name)
    new = _respell_core(core.lower(), rng)
    if new is None:
        return None
    return _recase([p.lower() for p in particles] + [new])


def reparticle(name: str, rng: random.Random) -> str | None:
    """The same surname with its particle written the other way, or None.

    ``"Van den Bossche"`` → ``"Vandenbossche"`` or ``"Vanden Bossche"``; ``"Desmet"`` →
    ``"De Smet"``.
    """
    particles, core = split_particles(name)
    if particles:
        words = [p.lower() for p in particles]
        joined = "".join(words)
        if len(words) > 1 and rng.random() < 0.3:
            return _recase([joined, core.lower()])
        return _capitalise(joined + core.lower())
    parts = _joined_parts(name)
    if parts is None:
        return None
    return _recase([*parts[0], parts[1]])


# --------------------------------------------------------------------------------------------
# Keyboards
# --------------------------------------------------------------------------------------------


def _neighbours(rows: tuple[str, str, str]) -> dict[str, str]:
    """Keys touching each key, rows staggered as on a real keyboard."""
    offsets = (0.0, 0.25, 0.75)
    position = {
        key: (x + offsets[r], float(r)) for r, row in enumerate(rows) for x, key in enumerate(row)
    }
    return {
        key: "".join(
            other
            for other, (ox, oy) in position.items()
            if other != key and abs(ox - x) <= 1.0 and abs(oy - y) <= 1.0
        )
        for key, (x, y) in position.items()
    }


_QWERTY = _neighbours(("qwertyuiop", "asdfghjkl", "zxcvbnm"))
_AZERTY = _neighbours(("azertyuiop", "qsdfghjklm", "wxcvbn"))

# --------------------------------------------------------------------------------------------
# Corruptions
# --------------------------------------------------------------------------------------------


def _letters(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch.isalpha()]


def _n_letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _lower(name: str, rng: random.Random) -> str:
    return name.lower()


def _exact(name: str, rng: random.Random) -> str:
    return name


def _has_accents(name: str) -> bool:
    return strip_accents(name) != name.replace("’", "'").replace("‘", "'")


def _no_accents(name: str, rng: random.Random) -> str:
    return strip_accents(name).lower()


def _has_umlaut(name: str) -> bool:
    return any(ch in "äöüÄÖÜ" for ch in name)


def _umlaut_expanded(name: str, rng: random.Random) -> str:
    if not _has_umlaut(name):
        return _no_accents(name, rng)
    return strip_accents(name.translate(_UMLAUTS)).lower()


def _particle_joined(name: str, rng: random.Random) -> str:
    particles, core = split_particles(name)
    if not particles:
        parts = _joined_parts(name)
        return " ".join([*parts[0], parts[1]]) if parts else name.lower()
    return "".join(p.lower() for p in particles) + core.lower()


def _particle_split(name: str, rng: random.Random) -> str:
    parts = _joined_parts(name)
    if parts is None:
        return _particle_joined(name, rng)
    return " ".join([*parts[0], parts[1]])


def _droppable(name: str) -> str | None:
    particles, core = split_particles(name)
    if particles:
        return core.lower() if _n_letters(core) >= 2 else None
    parts = _joined_parts(name)
    if parts is not None and "".join(parts[0]) in _DUTCH_JOINED:
        return parts[1]
    return None


def _particle_dropped(name: str, rng: random.Random) -> str:
    dropped = _droppable(name)
    return dropped if dropped is not None else name.lower()


def _hyphen_to_space(name: str, rng: random.Random) -> str:
    return name.lower().replace("-", " ")


def _apostrophe_dropped(name: str, rng: random.Random) -> str:
    lowered = name.lower().replace("’", "'").replace("‘", "'")
    if "'" not in lowered:
        return lowered
    return lowered.replace("'", "" if rng.random() < 0.7 else " ").replace("  ", " ").strip()


def _spelling_variant(name: str, rng: random.Random) -> str:
    particles, core = split_particles(name)
    new = _respell_core(core.lower(), rng)
    if new is None:
        return name.lower()
    return " ".join([*(p.lower() for p in particles), new])


def _drop(text: str, rng: random.Random) -> str:
    letters = _letters(text)
    if len(letters) <= 2:
        return text
    # The first letter is rarely the one forgotten.
    i = rng.choice(letters[1:]) if rng.random() < 0.9 else letters[0]
    return text[:i] + text[i + 1 :]


def _duplicate(text: str, rng: random.Random) -> str:
    letters = _letters(text)
    if not letters:
        return text
    i = rng.choice(letters)
    return text[: i + 1] + text[i:]


def _swap(text: str, rng: random.Random) -> str:
    pairs = [
        i
        for i in range(len(text) - 1)
        if text[i].isalpha() and text[i + 1].isalpha() and text[i] != text[i + 1]
    ]
    if not pairs:
        return _duplicate(text, rng)
    i = rng.choice(pairs)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _slip(text: str, rng: random.Random) -> str:
    layout = _AZERTY if rng.random() < 0.5 else _QWERTY
    positions = [i for i, ch in enumerate(text) if ch in layout]
    if not positions:
        return _duplicate(text, rng)
    i = rng.choice(positions)
    return text[:i] + rng.choice(layout[text[i]]) + text[i + 1 :]


_TYPOS: tuple[Callable[[str, random.Random], str], ...] = (_drop, _duplicate, _swap, _slip)


def _drop_letter(name: str, rng: random.Random) -> str:
    return _drop(name.lower(), rng)


def _duplicate_letter(name: str, rng: random.Random) -> str:
    return _duplicate(name.lower(), rng)


def _swap_neighbours(name: str, rng: random.Random) -> str:
    return _swap(name.lower(), rng)


def _keyboard_slip(name: str, rng: random.Random) -> str:
    return _slip(name.lower(), rng)


def _two_edits(name: str, rng: random.Random) -> str:
    original = name.lower()
    text = original
    for _ in range(8):
        text = original
        for edit in (rng.choice(_TYPOS), rng.choice(_TYPOS)):
            text = edit(text, rng)
        if text != original:
            break
    return text


CORRUPTIONS: dict[str, Corruption] = {
    "exact": _exact,
    "lowercase": _lower,
    "no_accents": _no_accents,
    "umlaut_expanded": _umlaut_expanded,
    "particle_joined": _particle_joined,
    "particle_split": _particle_split,
    "particle_dropped": _particle_dropped,
    "hyphen_to_space": _hyphen_to_space,
    "apostrophe_dropped": _apostrophe_dropped,
    "spelling_variant": _spelling_variant,
    "drop_letter": _drop_letter,
    "duplicate_letter": _duplicate_letter,
    "swap_neighbours": _swap_neighbours,
    "keyboard_slip": _keyboard_slip,
    "two_edits": _two_edits,
}

# Relative frequency of each kind in a benchmark: what officers do most, with enough of the
# rarer kinds for a per-kind score to mean something.
KIND_WEIGHTS: dict[str, float] = {
    "exact": 3.0,
    "lowercase": 3.0,
    "no_accents": 1.0,
    "umlaut_expanded": 0.5,
    "particle_joined": 1.0,
    "particle_split": 1.0,
    "particle_dropped": 1.0,
    "hyphen_to_space": 0.5,
    "apostrophe_dropped": 0.5,
    "spelling_variant": 2.0,
    "drop_letter": 1.5,
    "duplicate_letter": 1.0,
    "swap_neighbours": 1.5,
    "keyboard_slip": 1.5,
    "two_edits": 1.0,
}


def applies(kind: str, name: str) -> bool:
    """Whether ``kind`` really changes ``name`` the way its label says (no fallback)."""
    if kind not in CORRUPTIONS:
        raise KeyError(kind)
    if kind in ("exact", "lowercase"):
        return True
    if kind == "no_accents":
        return _has_accents(name)
    if kind == "umlaut_expanded":
        return _has_umlaut(name)
    if kind == "particle_joined":
        return bool(split_particles(name)[0])
    if kind == "particle_split":
        return _joined_parts(name) is not None
    if kind == "particle_dropped":
        return _droppable(name) is not None
    if kind == "hyphen_to_space":
        return "-" in name
    if kind == "apostrophe_dropped":
        return any(ch in name for ch in "'’‘")
    if kind == "spelling_variant":
        _, core = split_particles(name)
        return _respell_core(core.lower(), random.Random(0)) is not None
    if kind == "two_edits":
        return _n_letters(name) >= 4
    return _n_letters(name) >= 3
