"""Text folding shared by the parser and the matcher: case- and accent-insensitive forms."""

from __future__ import annotations

import unicodedata

_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})


def fold(text: str) -> str:
    """Lower case, accents removed, apostrophes and typographic variants unified."""
    text = unicodedata.normalize("NFKD", text.casefold().translate(_SPECIAL))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.replace("’", "'").replace("‘", "'").replace("`", "'")
