"""The people named in a sentence: what is left once the intent, code, date and the words that
carry nothing are taken out, cut into persons at commas and 'et / en / and / und / &'.

A title (Mme, Dhr., Mr, Frau) opens a person and tells their sex, which narrows homonyms.
A particle belongs to the name when a name follows it and it cannot be a preposition there:
'Van den Bossche', 'vander meulen', 'Jan van Damme', 'Op de Beeck' keep theirs; 'rapport de
Dupont', 'voor Peeters', 'in IFA-103' do not. A lone word of one or two letters is no person.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.conversation.understanding.tokens import Token
from core.conversation.understanding.vocabulary import Vocabulary
from core.matching.normalise import PARTICLES

PARTICLE_PAIRS = frozenset({
    ("van", "de"), ("van", "den"), ("van", "der"), ("van", "het"), ("van", "t"), ("de", "la"),
    ("de", "le"), ("de", "l'"), ("von", "der"), ("von", "dem"), ("op", "de"), ("op", "het"),
    ("op", "t"), ("in", "de"), ("in", "het"), ("in", "t"), ("ten", "de"), ("de", "los")})
"""Two particles that open a name together (van den, de la, op de); 'de van' is not one."""
_ELIDED_PARTICLES = {"d'": "d", "l'": "le"}


@dataclass(frozen=True)
class PersonQuery:
    text: str
    sex: str | None = None


def _particle(token: Token) -> str | None:
    key = _ELIDED_PARTICLES.get(token.key, token.key)
    return key if key in PARTICLES else None


class _Reader:
    def __init__(self, tokens: list[Token], vocabulary: Vocabulary) -> None:
        self.tokens = tokens
        self.v = vocabulary

    def free_word(self, index: int) -> Token | None:
        if 0 <= index < len(self.tokens):
            token = self.tokens[index]
            if not token.used and token.kind == "word":
                return token
        return None

    def carries_nothing(self, token: Token) -> bool:
        """A word of the vocabulary — but a month name no date took may be a name (Jan,
        April, June)."""
        key = token.key
        if key in self.v.months or key in self.v.short_months:
            return key in self.v.fillers or key in self.v.polite
        return (key in self.v.fillers or key in self.v.polite or key in self.v.separators
                or key in self.v.flow_words or self.v.known(key))

    def is_name(self, index: int) -> bool:
        token = self.free_word(index)
        return (token is not None and _particle(token) is None
                and token.key not in self.v.titles and not self.carries_nothing(token))

    def joins(self, index: int, after_name: bool) -> bool:
        """Does the particle at `index` belong to the name that follows it?"""
        token = self.tokens[index]
        particle = _particle(token)
        following = self.free_word(index + 1)
        if following is None or particle is None:
            return False
        second = _particle(following)
        if second is not None:
            return (particle, second) in PARTICLE_PAIRS and (
                self.is_name(index + 2) or self.joins(index + 1, True))
        if not self.is_name(index + 1):
            return False
        preposition = token.key in self.v.fillers or self.v.known(token.key)
        return not preposition or after_name or token.capital or self.after_preposition(index)

    def after_preposition(self, index: int) -> bool:
        """'historique de van Wesemael', 'Dupont en de Smet': a particle right after a
        preposition or a separator opens the name (two prepositions do not follow each other)."""
        if index == 0:
            return False
        before = self.tokens[index - 1]
        return before.kind == "sep" or (not before.used and (
            _particle(before) is not None or before.key in self.v.separators))

    def initial(self, index: int, current: list[Token]) -> bool:
        """'Dupont M.': a one- or two-letter title after a name, ending it, is an initial."""
        token = self.tokens[index]
        return bool(current) and len(token.key) <= 2 and not self.is_name(index + 1)

    def read(self) -> list[PersonQuery]:
        found: list[PersonQuery] = []
        current: list[Token] = []
        sex: str | None = None

        def close() -> None:
            nonlocal current, sex
            words = [t for t in current if _particle(t) is None]
            if words and not (len(current) == 1 and len(current[0].key) <= 2):
                for token in current:
                    token.used = "person"
                found.append(PersonQuery(" ".join(t.text for t in current), sex))
            current = []
            sex = None

        for index, token in enumerate(self.tokens):
            if token.used or token.kind != "word":
                close()
                continue
            key = token.key
            if key in self.v.titles and not self.initial(index, current):
                close()
                sex = self.v.titles[key]
                token.used = "title"
                continue
            if key in self.v.titles:
                current.append(token)
                close()
                continue
            if _particle(token) is not None and self.joins(index, bool(current)):
                current.append(token)
                continue
            if self.carries_nothing(token):
                title_sex = sex if not current else None
                close()
                sex = title_sex
                continue
            current.append(token)
            if token.comma:
                close()
        close()
        return found


def read(tokens: list[Token], vocabulary: Vocabulary) -> list[PersonQuery]:
    """Persons named in the free tokens, in order; their tokens are marked used ('person')."""
    return _Reader(tokens, vocabulary).read()
