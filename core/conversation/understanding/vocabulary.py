"""What the parser knows of French, Dutch, English and German, read once from the catalogues.

Every word lives in templates/i18n/LANG.toml: the intents' phrases (`[intents]`), weaker hints,
the words that carry nothing (politeness, prepositions, articles, nouns like "formation"),
titles, separators between persons, and the words of dates. Adding a phrase adds no Python.

A phrase may hold a gap, written "…": "schrijf … in" matches "schrijf Peeters in".

Built once per process, and kept under $ITMA_HOME/cache (vocabulary_cache.py) so that a
one-shot command reads it back instead of tokenizing every catalogue again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from core import i18n
from core.conversation.understanding import vocabulary_cache
from core.conversation.understanding.tokens import tokenize

INTENTS = ("enroll", "unenroll", "seats", "overview", "participants", "report", "requests",
           "approve", "refuse", "add", "link", "help", "renew", "access", "tracks", "track_pause",
           "track_resume", "track_change")
FLOW_INTENTS = ("confirm", "cancel")
FORMATS = ("csv", "xlsx")
GAP = "…"
MAX_GAP = 8
STRONG, HINT = 1.0, 0.4


@dataclass(frozen=True)
class Phrase:
    intent: str
    words: tuple[str, ...]
    gap: int | None
    """Index of the first word after the gap, if the phrase has one."""
    weight: float
    languages: frozenset[str]

    @property
    def strong(self) -> bool:
        return self.weight >= STRONG


@dataclass
class Vocabulary:
    phrases: dict[str, list[Phrase]] = field(default_factory=lambda: defaultdict(list))
    """First word → phrases starting with it, the most specific first."""
    keywords: dict[str, str] = field(default_factory=dict)
    """Single-word strong phrases of five letters or more (for typos): word → intent."""
    flow_words: dict[str, str] = field(default_factory=dict)
    polite: set[str] = field(default_factory=set)
    fillers: set[str] = field(default_factory=set)
    separators: set[str] = field(default_factory=set)
    titles: dict[str, str] = field(default_factory=dict)
    """Folded title → 'F' or 'M'."""
    languages: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """Any word of the vocabulary → the languages it belongs to (evidence for the reply)."""
    phrase_only: set[str] = field(default_factory=set)
    """Words met only inside longer phrases ('an' of 'melde … an'): alone, maybe a name."""
    months: dict[str, int] = field(default_factory=dict)
    short_months: dict[str, int] = field(default_factory=dict)
    weekdays: dict[str, int] = field(default_factory=dict)
    next_words: set[str] = field(default_factory=set)
    this_words: set[str] = field(default_factory=set)
    week_words: set[str] = field(default_factory=set)
    month_words: set[str] = field(default_factory=set)
    relative_days: dict[str, int] = field(default_factory=dict)
    before_month: set[str] = field(default_factory=set)
    before_day: set[str] = field(default_factory=set)
    date_glue: set[str] = field(default_factory=set)
    ordinals: set[str] = field(default_factory=set)
    formats: dict[str, str] = field(default_factory=dict)
    """A file format asked for anywhere in the sentence ('xlsx', 'excel', 'csv') → csv | xlsx."""

    def known(self, word: str) -> bool:
        """A word of the vocabulary that is never, alone, part of a name."""
        return word in self.languages and word not in self.phrase_only


def _keys(text: str) -> tuple[str, ...]:
    return tuple(t.key for t in tokenize(text) if t.kind in ("word", "sep", "number"))


def _words(language: str, key: str) -> list[str]:
    return [w for w in i18n.words(language, key) if isinstance(w, str)]


def _add_phrase(vocabulary: Vocabulary, intent: str, text: str, weight: float,
                language: str) -> None:
    parts = [p.strip() for p in text.split(GAP)]
    before, after = _keys(parts[0]), _keys(parts[1]) if len(parts) > 1 else ()
    words = before + after
    if not words:
        return
    gap = len(before) if len(parts) > 1 else None
    found = next((p for p in vocabulary.phrases[words[0]] if p.words == words and p.gap == gap
                  and p.intent == intent), None)
    languages = frozenset({language} | (found.languages if found else set()))
    phrase = Phrase(intent, words, gap, max(weight, found.weight if found else 0), languages)
    bucket = vocabulary.phrases[words[0]]
    if found:
        bucket.remove(found)
    bucket.append(phrase)
    bucket.sort(key=lambda p: (-len(p.words), p.gap is None, -p.weight))
    for word in words:
        if len(words) > 1 and word not in vocabulary.languages:
            vocabulary.phrase_only.add(word)
        elif len(words) == 1:
            vocabulary.phrase_only.discard(word)
        vocabulary.languages[word].add(language)
    if weight >= STRONG and len(words) == 1 and len(words[0]) >= 5:
        vocabulary.keywords.setdefault(words[0], intent)


def _add_words(vocabulary: Vocabulary, target: set[str], language: str, key: str) -> None:
    for text in _words(language, key):
        for word in _keys(text):
            target.add(word)
            vocabulary.languages[word].add(language)
            vocabulary.phrase_only.discard(word)


def _add_numbered(vocabulary: Vocabulary, target: dict[str, int], language: str,
                  key: str) -> None:
    for number, names in enumerate(i18n.words(language, key), 1):
        for name in names:
            for word in _keys(name):
                target[word] = number
                vocabulary.languages[word].add(language)
                vocabulary.phrase_only.discard(word)


@cache
def vocabulary() -> Vocabulary:
    """The vocabulary from the disk cache when its key still fits, else built (and saved)."""
    file, key = vocabulary_cache.path(), None
    if file is not None and (key := vocabulary_cache.key()) is not None:
        data = vocabulary_cache.load(file, key)
        if data is not None:
            try:
                return vocabulary_cache.restore(data, Vocabulary(), Phrase)
            except (ValueError, TypeError):
                pass  # damaged: rebuilt and rewritten below
    found = build()
    if file is not None and key is not None:
        vocabulary_cache.save(file, key, vocabulary_cache.dump(found))
    return found


def build() -> Vocabulary:
    """Everything the parser knows, read from the catalogues."""
    found = Vocabulary()
    for language in i18n.LANGUAGES:
        for intent in INTENTS:
            for text in _words(language, f"intents.{intent}"):
                _add_phrase(found, intent, text, STRONG, language)
            for text in _words(language, f"understanding.hints.{intent}"):
                _add_phrase(found, intent, text, HINT, language)
        for intent in FLOW_INTENTS:
            for text in _words(language, f"intents.{intent}"):
                key = " ".join(_keys(text))
                if key:
                    found.flow_words.setdefault(key, intent)
                    for word in key.split():
                        found.languages[word].add(language)
                        found.phrase_only.discard(word)
        u = "understanding"
        _add_words(found, found.polite, language, f"{u}.polite")
        _add_words(found, found.fillers, language, f"{u}.fillers")
        _add_words(found, found.fillers, language, f"{u}.nouns")
        _add_words(found, found.fillers, language, f"{u}.verbs")
        _add_words(found, found.separators, language, f"{u}.separators")
        for sex, key in (("F", f"{u}.titles_female"), ("M", f"{u}.titles_male")):
            for text in _words(language, key):
                for word in _keys(text):
                    found.titles[word.rstrip(".")] = sex
                    found.languages[word].add(language)
                    found.phrase_only.discard(word)
        d = f"{u}.dates"
        _add_numbered(found, found.months, language, f"{d}.months")
        _add_numbered(found, found.short_months, language, f"{d}.short_months")
        _add_numbered(found, found.weekdays, language, f"{d}.weekdays")
        _add_words(found, found.next_words, language, f"{d}.next")
        _add_words(found, found.this_words, language, f"{d}.this")
        _add_words(found, found.week_words, language, f"{d}.week")
        _add_words(found, found.month_words, language, f"{d}.month")
        _add_words(found, found.before_month, language, f"{d}.before_month")
        _add_words(found, found.before_day, language, f"{d}.before_day")
        _add_words(found, found.date_glue, language, f"{d}.glue")
        _add_words(found, found.ordinals, language, f"{d}.ordinals")
        for fmt in FORMATS:
            for text in _words(language, f"{u}.formats.{fmt}"):
                for word in _keys(text):
                    found.formats[word] = fmt
                    found.languages[word].add(language)
                    found.phrase_only.discard(word)
        for offset, key in enumerate(("today", "tomorrow", "after_tomorrow")):
            for text in _words(language, f"{d}.{key}"):
                words = _keys(text)
                if len(words) == 1:
                    found.relative_days[words[0]] = offset
                    found.languages[words[0]].add(language)
                    found.phrase_only.discard(words[0])
    found.separators.update({"&", "+"})
    return found
