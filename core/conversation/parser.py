"""Reading what officers type, as commands or as sentences, in French, Dutch, English, German.

The intent may be anywhere ("Peux-tu inscrire …", "kun je … inschrijven", "wie viele Plätze
hat …", "show me Didier's report"); the slots come from the rest: training code, date or
month, persons (titles, particles, given names, several at once), a request number. Every word
comes from the catalogues (see understanding/vocabulary.py); adding a phrase adds no Python.

When two intents fit about as well, `intent` is None and `readings` lists them, best first:
the engine then asks which one was meant instead of guessing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rapidfuzz.distance import OSA

from core import clock
from core.conversation.understanding import dates, persons
from core.conversation.understanding.dates import When
from core.conversation.understanding.persons import PersonQuery
from core.conversation.understanding.tokens import Token, strip_chunk, tokenize
from core.conversation.understanding.vocabulary import (
    INTENTS,
    MAX_GAP,
    STRONG,
    Phrase,
    Vocabulary,
    vocabulary,
)

__all__ = ["INTENTS", "Parsed", "PersonQuery", "When", "parse", "warm_up"]

AMBIGUITY = 0.25
"""Two intents closer than this are both offered."""
UNUSED_SLOT = 0.5
"""An intent that cannot use a slot the sentence has (a name for 'places') is less likely;
half as much when that 'name' is one lower-case word, maybe just a word we do not know."""
MISSING_SLOT = 0.3
NUMBER_FITS = 0.3
SLOTS: dict[str, frozenset[str]] = {
    "enroll": frozenset({"persons", "code", "when"}),
    "unenroll": frozenset({"persons", "code", "when"}),
    "seats": frozenset({"code", "when"}),
    "participants": frozenset({"code", "when"}),
    "report": frozenset({"persons"}),
    "overview": frozenset({"when"}),
    "requests": frozenset(),
    "approve": frozenset({"number"}),
    "refuse": frozenset({"number"}),
    "add": frozenset({"raw"}),
    "link": frozenset(),
    "help": frozenset(),
    "renew": frozenset(),
    "access": frozenset(),
    "tracks": frozenset({"code"}),
    "track_pause": frozenset({"persons", "code"}),
    "track_resume": frozenset({"persons", "code"}),
    "track_change": frozenset({"persons", "code", "when"}),
}
NEEDS: dict[str, str] = {"seats": "code", "participants": "code", "report": "persons",
                         "unenroll": "persons", "approve": "number", "refuse": "number"}
TYPO_INTENTS = frozenset({"enroll", "unenroll", "seats", "participants", "report", "requests",
                          "overview"})
USED_BY_INTENT = frozenset({"intent", "hint", "code", "date", "number", "format"})


@dataclass
class Parsed:
    intent: str | None
    language: str | None
    code: str | None = None
    when: When | None = None
    number: int | None = None
    words: list[str] = field(default_factory=list)
    """What is left of the text once intent, code, date and number are taken out."""
    text: str = ""
    persons: list[PersonQuery] = field(default_factory=list)
    readings: list[str] = field(default_factory=list)
    """When unsure: the intents that fit, best first."""
    fuzzy: bool = False
    """The intent was read from a mistyped word."""
    reason: str = ""
    """What follows the number ("refuser 12 session complète" → "session complète")."""
    format: str | None = None
    """A file asked for ("rapport Dupont xlsx", "inscrits BOSA-101 en csv"): csv or xlsx."""

    @property
    def day(self) -> date | None:
        return self.when.day if self.when else None

    @property
    def rest(self) -> str:
        return " ".join(self.words)

    @property
    def query(self) -> str:
        """The first person named, as typed."""
        return self.persons[0].text if self.persons else ""

    def as_json(self) -> dict[str, Any]:
        """What a clarifying question keeps of a reading, to start its flow once chosen."""
        return {"intent": self.intent, "language": self.language, "code": self.code,
                "when": [self.when.start.isoformat(), self.when.end.isoformat(),
                         self.when.kind] if self.when else None,
                "number": self.number, "words": self.words, "text": self.text,
                "reason": self.reason, "format": self.format,
                "persons": [[p.text, p.sex] for p in self.persons]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Parsed:
        when = data.get("when")
        return cls(intent=data.get("intent"), language=data.get("language"),
                   code=data.get("code"),
                   when=When(date.fromisoformat(when[0]), date.fromisoformat(when[1]),
                             when[2]) if when else None,
                   number=data.get("number"), words=list(data.get("words") or []),
                   text=data.get("text") or "", reason=data.get("reason") or "",
                   format=data.get("format"),
                   persons=[PersonQuery(t, s) for t, s in data.get("persons") or []])


@dataclass(frozen=True)
class _Match:
    phrase: Phrase
    indexes: tuple[int, ...]

    @property
    def score(self) -> float:
        phrase = self.phrase
        return phrase.weight * (1 + 0.5 * (len(phrase.words) - 1))


def _flow_answer(tokens: list[Token], v: Vocabulary) -> tuple[str, int | None] | None:
    """'oui', 'non merci', 'ok go', '2': an answer to a pending question, nothing else."""
    words = [t.key for t in tokens if t.kind == "word" and t.key not in v.polite]
    numbers = [t for t in tokens if t.kind == "number"]
    if any(t.kind not in ("word", "number") for t in tokens):
        return None
    if numbers:
        return ("number", int(numbers[0].key)) if len(numbers) == 1 and not words else None
    if not words:
        return None
    whole = v.flow_words.get(" ".join(words))
    if whole:
        return whole, None
    found = {v.flow_words.get(word) for word in words}
    if None in found:
        return None
    return ("cancel" if "cancel" in found else "confirm"), None


def _phrases(tokens: list[Token], v: Vocabulary, kind: str) -> list[_Match]:
    """One pass over the free words for one kind of phrase: 'several' words in a row, with
    a 'gap', or 'single' words."""
    free = [i for i, t in enumerate(tokens) if not t.used and t.kind in ("word", "sep")]
    found: list[_Match] = []
    position = 0
    while position < len(free):
        start = tokens[free[position]]
        match = None
        if not start.used:
            for phrase in v.phrases.get(start.key, ()):
                if kind != ("gap" if phrase.gap is not None else
                            "several" if len(phrase.words) > 1 else "single"):
                    continue
                indexes = _match(phrase, tokens, free, position)
                if indexes is not None:
                    match = _Match(phrase, indexes)
                    break
        if match is None:
            position += 1
            continue
        for index in match.indexes:
            tokens[index].used = "intent" if match.phrase.strong else "hint"
        found.append(match)
        position += 1
    return found


def _match(phrase: Phrase, tokens: list[Token], free: list[int],
           position: int) -> tuple[int, ...] | None:
    head = phrase.words[:phrase.gap] if phrase.gap is not None else phrase.words
    indexes = []
    for offset, word in enumerate(head):
        at = position + offset
        if at >= len(free) or tokens[free[at]].used or tokens[free[at]].key != word:
            return None
        indexes.append(free[at])
    if phrase.gap is None:
        return tuple(indexes)
    tail = phrase.words[phrase.gap:]
    after = position + len(head)
    for start in range(after, min(after + MAX_GAP + 1, len(free))):
        if all(start + k < len(free) and not tokens[free[start + k]].used
               and tokens[free[start + k]].key == word for k, word in enumerate(tail)):
            return (*indexes, *(free[start + k] for k in range(len(tail))))
    return None


def _typo(tokens: list[Token], v: Vocabulary) -> _Match | None:
    """A mistyped verb (inscirre, inschrijfen, anmleden): one edit away, two for long words.

    Only words of five letters or more that the vocabulary does not know, not a word written
    with a capital inside the sentence (that is a name), only verbs of intents that act on
    something, and only in a sentence that says something else we know (a code, a date, a
    word of the vocabulary)."""
    best: tuple[int, int, str, int, str] | None = None
    context = [t for t in tokens if t.kind in ("code", "date", "day") or t.used == "date"
               or (t.kind == "word" and v.known(t.key))]
    if not context:
        return None  # "Hilde Coppens" is a name, not a mistyped "hilfe"
    for index, token in enumerate(tokens):
        if (token.used or token.kind != "word" or len(token.key) < 5 or v.known(token.key)
                or (token.capital and index > 0)):
            continue
        limit = 2 if len(token.key) >= 9 else 1
        for keyword, intent in v.keywords.items():
            if intent not in TYPO_INTENTS or abs(len(keyword) - len(token.key)) > limit:
                continue
            distance = OSA.distance(token.key, keyword, score_cutoff=limit)
            if distance <= limit and (best is None or (distance, -len(keyword)) < best[:2]):
                best = (distance, -len(keyword), intent, index, keyword)
    if best is None:
        return None
    _distance, _length, intent, index, keyword = best
    tokens[index].used = "intent"
    phrase = Phrase(intent, (keyword,), None, STRONG, frozenset(v.languages.get(keyword, ())))
    return _Match(phrase, (index,))


def _fit(intent: str, slots: set[str]) -> float:
    uses = SLOTS.get(intent, frozenset())
    score = -UNUSED_SLOT * len(slots - uses - {"when", "a word"})
    if "a word" in slots and "persons" not in uses:
        score -= UNUSED_SLOT / 2
    needed = NEEDS.get(intent)
    if needed and needed not in slots:
        score -= UNUSED_SLOT if needed == "number" else MISSING_SLOT
    if needed == "number" and "number" in slots:
        score += NUMBER_FITS
    return score


def _language(tokens: list[Token], matches: list[_Match], v: Vocabulary) -> str | None:
    votes: dict[str, float] = defaultdict(float)
    in_phrases = {i for m in matches for i in m.indexes}
    for match in matches:
        for language in match.phrase.languages:
            votes[language] += 2.0 * len(match.indexes) / len(match.phrase.languages)
    for index, token in enumerate(tokens):
        if index in in_phrases or token.used in ("person", "code", "number", "format"):
            continue
        languages = v.languages.get(token.key)
        if languages:
            for language in languages:
                votes[language] += 1.0 / len(languages)
    if not votes:
        return None
    ranked = sorted(votes.items(), key=lambda item: -item[1])
    if len(ranked) > 1 and ranked[1][1] >= ranked[0][1]:
        return None
    return ranked[0][0]


def warm_up() -> None:
    """Read the vocabulary and load dateparser now, at start-up, not on the first message."""
    vocabulary()
    dates.warm_up()


def parse(text: str) -> Parsed:
    v = vocabulary()
    stripped = text.strip()
    tokens = tokenize(stripped, v.languages)
    parsed = Parsed(intent=None, language=None, text=stripped)
    if stripped == "?":
        parsed.intent = "help"
        return parsed
    flow = _flow_answer(tokens, v)
    if flow is not None:
        parsed.intent, parsed.number = flow
        parsed.language = _language(tokens, [], v)
        return parsed
    for token in tokens:
        if token.kind == "code" and not token.used:
            parsed.code = parsed.code or token.key
            token.used = "code"
        elif token.kind == "word" and not token.used and token.key in v.formats:
            parsed.format = parsed.format or v.formats[token.key]
            token.used = "format"
    matches = _phrases(tokens, v, "gap") + _phrases(tokens, v, "several")
    parsed.when = dates.read(tokens, v, clock.today())
    matches += _phrases(tokens, v, "single")
    for token in tokens:
        if token.kind == "number" and not token.used and parsed.number is None:
            parsed.number = int(token.key)
            token.used = "number"
    if not any(m.phrase.strong for m in matches):
        typo = _typo(tokens, v)
        if typo is not None:
            matches.append(typo)
            parsed.fuzzy = True
    parsed.persons = persons.read(tokens, v)
    parsed.words = _left_over(stripped, tokens)
    parsed.reason = _after_number(stripped, tokens)
    parsed.language = _language(tokens, matches, v)
    _decide(parsed, matches, tokens)
    return parsed


def _left_over(text: str, tokens: list[Token]) -> list[str]:
    keep = {t.chunk for t in tokens if t.used not in USED_BY_INTENT}
    return [word for index, chunk in enumerate(text.split()) if index in keep
            and (word := strip_chunk(chunk)[0])]


def _after_number(text: str, tokens: list[Token]) -> str:
    """The words typed after the request number: a refusal's reason."""
    number = next((t for t in tokens if t.used == "number"), None)
    if number is None:
        return ""
    return " ".join(text.split()[number.chunk + 1:]).strip(" ,;:-")


def _decide(parsed: Parsed, matches: list[_Match], tokens: list[Token]) -> None:
    scores: dict[str, float] = defaultdict(float)
    for match in matches:
        scores[match.phrase.intent] += match.score
    if not scores:
        return
    weak = bool(parsed.persons) and all(" " not in p.text and p.text.islower()
                                        for p in parsed.persons)
    slots = {name for name, present in (
        ("persons", bool(parsed.persons) and not weak), ("a word", weak),
        ("code", parsed.code is not None),
        ("when", parsed.when is not None), ("number", parsed.number is not None),
        ("raw", any(t.kind == "raw" for t in tokens))) if present}
    ranked = sorted(((score + _fit(intent, slots), intent) for intent, score in scores.items()),
                    key=lambda item: (-item[0], INTENTS.index(item[1])))
    best = ranked[0][0]
    if best <= 0:
        return  # a greeting beside a code and a name decides nothing: ask from the slots
    close = [intent for score, intent in ranked if score > best - AMBIGUITY and score > 0]
    if len(close) == 1:
        parsed.intent = close[0]
    else:
        parsed.readings = close[:3]
