"""What a helpdesk mail is about, and in which language it is written: rules read from data.

Officers write to the helpdesk in French, Dutch, English or German, about a handful of things
(their access, the eID card, enrollments, "Nouvelle inscription" requests, personnel data,
PRO Academy tracks, reports). A mail names its subject with a few telling words in any of
the four languages; the words, their weights and the function words of each language live in
templates/helpdesk/triage.toml, so staff can teach the triage a phrase without touching code.

Two readers, combined. The rules: weighted phrases of templates/helpdesk/triage.toml (points per
category, "other" when no category reaches the threshold). The model: over the words and the
letter 4-grams of the mail (which survive typos, a missing accent, a new compound), a
multinomial naive Bayes and a multinomial logistic regression, averaged, trained on our own
labelled mails (templates/helpdesk/model.json, written by `python -m bench.helpdesk.train`; no
download, no cloud). Each gives a distribution over the eight categories; the mail's is their
weighted mean (the rules count `rules_weight` times, the model once), so the rules decide when
they are sure and the model when they are not (no phrase found, a tie, two categories close);
the confidence is the winner's share of that mean. Without model.json the rules decide alone.
The weights were chosen by leave-one-set-out cross-validation (bench/helpdesk/crossval.py).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from core.config import TEMPLATES_DIR, ConfigError
from core.text import fold

CATEGORIES = ("access", "eid", "enrollment", "registration", "pdata", "certification", "report",
              "other")
LANGUAGES = ("fr", "nl", "en", "de")
WEIGHTS = {"strong": 3.0, "normal": 2.0, "weak": 1.0}
MAX_TEXT = 8000
"""Characters read: the subject and the first lines say what a mail is about."""
_WORD = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*'?")
_LETTERS = {"de": "äöüß", "fr": "éèêàçùœ", "nl": "ĳ"}
MODEL_FILE = "model.json"


@dataclass(frozen=True)
class _Pattern:
    parts: tuple[tuple[str, str], ...]
    """(kind, text) per word: 'word', 'prefix', 'suffix', 'inner'."""
    weight: float
    category: str


@dataclass(frozen=True)
class Triage:
    category: str
    confidence: float
    language: str
    language_confidence: float
    scores: dict[str, float]


@dataclass(frozen=True)
class _Rules:
    patterns: dict[str, list[_Pattern]]
    languages: dict[str, frozenset[str]]
    threshold: float
    subject_bonus: float
    drafts: dict[str, frozenset[str]]
    by_word: dict[str, list[_Pattern]]
    """Patterns whose first word is a whole word, by that word: looked up, not scanned."""
    scanned: list[_Pattern]
    """Patterns starting with a part of a word: tried on every word."""


def _word_pattern(text: str) -> tuple[str, str]:
    if text.startswith("*") and text.endswith("*") and len(text) > 2:
        return "inner", text.strip("*")
    if text.startswith("*"):
        return "suffix", text[1:]
    if text.endswith("*"):
        return "prefix", text[:-1]
    return "word", text


@cache
def rules() -> _Rules:
    """The vocabulary, read once; a file that cannot be read stops whoever asks (start-up, or
    the mail being triaged, which is then retried rather than recorded as unreadable)."""
    path = TEMPLATES_DIR / "helpdesk" / "triage.toml"
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    model()
    return vocabulary(data)


def vocabulary(data: dict[str, Any]) -> _Rules:
    """The rules of a parsed triage.toml (the shipped one, or an older one the bench replays)."""
    patterns: dict[str, list[_Pattern]] = {}
    for category in CATEGORIES:
        table = data.get("categories", {}).get(category, {})
        found: dict[tuple[tuple[str, str], ...], float] = {}
        for strength, weight in WEIGHTS.items():
            for phrase in table.get(strength, []):
                parts = tuple(_word_pattern(w) for w in fold(phrase).split())
                found[parts] = max(weight, found.get(parts, 0.0))
        patterns[category] = [_Pattern(p, w, category) for p, w in found.items()]
    languages = {lang: frozenset(fold(w) for w in data.get("languages", {}).get(lang, []))
                 for lang in LANGUAGES}
    drafts = {kind: frozenset(fold(w) for w in found_words)
              for kind, found_words in data.get("drafts", {}).items()}
    by_word: dict[str, list[_Pattern]] = {}
    scanned = []
    for pattern in (p for found_patterns in patterns.values() for p in found_patterns):
        kind, text = pattern.parts[0]
        if kind == "word":
            by_word.setdefault(text, []).append(pattern)
        else:
            scanned.append(pattern)
    return _Rules(patterns, languages, float(data.get("threshold", 2.0)),
                  float(data.get("subject_bonus", 0.5)), drafts, by_word, scanned)


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text[:MAX_TEXT]))


def _matches(part: tuple[str, str], word: str) -> bool:
    kind, text = part
    if kind == "word":
        return word == text
    if kind == "prefix":
        return word.startswith(text)
    if kind == "suffix":
        return word.endswith(text)
    return text in word


def _follows(pattern: _Pattern, tokens: list[str], start: int) -> bool:
    return all(start + i < len(tokens) and _matches(part, tokens[start + i])
               for i, part in enumerate(pattern.parts[1:], 1))


def _found(pattern: _Pattern, tokens: list[str]) -> bool:
    return any(_matches(pattern.parts[0], word) and _follows(pattern, tokens, start)
               for start, word in enumerate(tokens))


def _hits(tokens: list[str], found: _Rules) -> set[_Pattern]:
    """The patterns found; a hyphenated word's parts count as words for one-word patterns
    (CSV-import holds import), not inside phrases (tenez-moi au courant stays one phrase)."""
    hits = {pattern for start, word in enumerate(tokens)
            for pattern in found.by_word.get(word, ()) if _follows(pattern, tokens, start)}
    parts = {part for word in tokens if "-" in word for part in word.split("-") if part}
    hits.update(p for part in parts for p in found.by_word.get(part, ()) if len(p.parts) == 1)
    words_seen = set(tokens)
    hits.update(p for p in found.scanned if any(_matches(p.parts[0], w) for w in words_seen)
                and _found(p, tokens))
    hits.update(p for p in found.scanned if len(p.parts) == 1
                and any(_matches(p.parts[0], part) for part in parts))
    return hits


def scores(subject: str, body: str, found: _Rules | None = None) -> dict[str, float]:
    """Points per category: each pattern found once, more when the subject names it."""
    found = found or rules()
    bonus = found.subject_bonus
    in_subject = _hits(words(subject), found)
    points = dict.fromkeys(CATEGORIES, 0.0)
    for pattern in in_subject | _hits(words(body), found):
        points[pattern.category] += pattern.weight * (1 + bonus * (pattern in in_subject))
    return points


def classify(subject: str, body: str) -> tuple[str, float, dict[str, float]]:
    """The category, how sure (0–1), and the rules' points behind it."""
    points = scores(subject, body)
    found = model()
    if found is None:
        return (*_rules_choice(points), points)
    return (*combine(points, found.distribution(subject, body), found.rules_weight), points)


def combine(points: dict[str, float], learned: dict[str, float],
            rules_weight: float) -> tuple[str, float]:
    """The rules' points and the model's distribution as one choice: the category with the
    largest weighted mean of the two distributions, and that mean as the confidence."""
    mixed = _mixture(_rules_distribution(points), learned, rules_weight)
    best = max(CATEGORIES, key=lambda c: (mixed[c], -CATEGORIES.index(c)))
    return best, round(mixed[best], 3)


def _rules_choice(points: dict[str, float]) -> tuple[str, float]:
    """The rules alone: the category with most points, "other" below the threshold."""
    threshold = rules().threshold
    topical = {c: p for c, p in points.items() if c != "other"}
    best = max(topical, key=lambda c: (topical[c], -CATEGORIES.index(c)))
    if topical[best] < threshold or points["other"] >= topical[best]:
        best = "other"
    return best, _confidence(points, best, threshold)


def _rules_distribution(points: dict[str, float]) -> dict[str, float]:
    """The rules' points as a distribution: a softmax (one strong word is a clear lead), where
    "other" is worth at least the threshold ("not enough" for any category)."""
    threshold = rules().threshold
    values = {c: (max(p, threshold) if c == "other" else p) for c, p in points.items()}
    top = max(values.values())
    exps = {c: math.exp((v - top) / 3) for c, v in values.items()}
    total = sum(exps.values())
    return {c: e / total for c, e in exps.items()}


def _mixture(ruled: dict[str, float], learned: dict[str, float],
             weight: float) -> dict[str, float]:
    return {c: (weight * ruled[c] + learned[c]) / (weight + 1) for c in CATEGORIES}


def _confidence(points: dict[str, float], best: str, threshold: float) -> float:
    """A softmax over the points (scaled so that one strong word is a clear lead), with
    'not enough' as one more contender worth the threshold."""
    contenders = [*points.values(), threshold]
    scale = 1 / 3
    top = max(contenders)
    exps = [math.exp((v - top) * scale) for v in contenders]
    chosen = points[best] if best != "other" else max(points["other"], threshold)
    return round(math.exp((chosen - top) * scale) / sum(exps), 3)


def model_features(subject: str, body: str) -> list[str]:
    """What the model reads: the words (the subject's twice) and the letter 4-grams of each
    word, marked at its edges (`<imp`, `port`, `ort>`), so that a new compound, an inflection,
    a typo or a missing accent still shares most of its features with the words it was
    trained on."""
    tokens = words(subject) * 2 + words(body)
    found = [f"w:{w}" for w in tokens]
    for word in tokens:
        padded = f"<{word}>"
        found.extend(f"c:{padded[i:i + 4]}" for i in range(len(padded) - 3))
    return found


def logistic_input(features: list[str]) -> dict[str, float]:
    """The logistic model's input: each feature once, worth 1 + log(count), the whole scaled
    to length 1 (a long mail is not surer than a short one, a word said three times counts a
    little more than once)."""
    counted = {f: 1.0 + math.log(n) for f, n in Counter(features).items()}
    norm = math.sqrt(sum(v * v for v in counted.values())) or 1.0
    return {f: v / norm for f, v in counted.items()}


def _softmax(values: list[float], temperature: float = 1.0) -> list[float]:
    top = max(values)
    exps = [math.exp((v - top) / temperature) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


@dataclass(frozen=True)
class _Model:
    """Two learners over the same features, averaged: a multinomial naive Bayes (counts every
    occurrence as evidence; good with few examples) and a multinomial logistic regression
    (weighs features against each other, so words every category uses count for nothing)."""

    log_priors: tuple[float, ...]
    log_probs: dict[str, tuple[float, ...]]
    """Per feature, its log-probability in each category (CATEGORIES order)."""
    unseen: tuple[float, ...]
    temperature: float
    weights: dict[str, tuple[float, ...]]
    """The logistic model's weight of each feature per category."""
    bias: tuple[float, ...]
    rules_weight: float

    def distribution(self, subject: str, body: str) -> dict[str, float]:
        """The mean of the two learners' distributions. Naive Bayes counts every feature as
        independent evidence and would be sure of everything; its posterior divided by
        `temperature` says how sure it is on mails it never saw."""
        counted = Counter(model_features(subject, body))
        bayes = list(self.log_priors)
        logistic = list(self.bias)
        norm = math.sqrt(sum((1.0 + math.log(n)) ** 2 for n in counted.values())) or 1.0
        for feature, count in counted.items():
            for i, value in enumerate(self.log_probs.get(feature, self.unseen)):
                bayes[i] += count * value
            weights = self.weights.get(feature)
            if weights is not None:
                scaled = (1.0 + math.log(count)) / norm  # logistic_input, inlined
                for i, weight in enumerate(weights):
                    logistic[i] += weight * scaled
        mean = [(b + g) / 2 for b, g in zip(_softmax(bayes, self.temperature),
                                            _softmax(logistic), strict=True)]
        return dict(zip(CATEGORIES, mean, strict=True))


def model() -> _Model | None:
    """The trained model, read once; None when templates/helpdesk/model.json is absent (the
    rules decide alone); a file that cannot be read is a configuration error, like the rules
    (rules() reads it too, so that start-up stops on it)."""
    return _model_at(TEMPLATES_DIR / "helpdesk" / MODEL_FILE)


@cache
def _model_at(path: Path) -> _Model | None:
    if not path.exists():
        return None
    try:
        return trained(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def trained(data: dict[str, Any]) -> _Model:
    """The model of a parsed model.json (bench/helpdesk/train.py writes it): counts for the
    naive Bayes, weights for the logistic regression."""
    counts: dict[str, dict[str, int]] = data["counts"]
    documents: dict[str, int] = data["documents"]
    alpha, size = float(data["alpha"]), int(data["vocabulary_size"])
    totals = {c: sum(found.get(c, 0) for found in counts.values()) + data["dropped"].get(c, 0)
              for c in CATEGORIES}
    denominators = {c: math.log(totals[c] + alpha * size) for c in CATEGORIES}
    all_documents = sum(documents.values())
    logistic = data["logistic"]
    weights = {f: tuple(float(w) for w in found) for f, found in logistic["weights"].items()}
    if any(len(found) != len(CATEGORIES) for found in weights.values()):
        raise ValueError("a logistic weight per category expected")
    return _Model(
        log_priors=tuple(math.log(documents.get(c, 0) + 1) - math.log(all_documents + 8)
                         for c in CATEGORIES),
        log_probs={f: tuple(math.log(found.get(c, 0) + alpha) - denominators[c]
                            for c in CATEGORIES) for f, found in counts.items()},
        unseen=tuple(math.log(alpha) - denominators[c] for c in CATEGORIES),
        temperature=float(data["temperature"]), weights=weights,
        bias=tuple(float(b) for b in logistic["bias"]),
        rules_weight=float(data["rules_weight"]))


def detect_language(text: str, default: str | None = None) -> tuple[str, float]:
    """The language of a mail from its function words (and letters only one language uses);
    when they do not decide (a short subject, a tie), from the letters' trigrams, compared
    with the product's own texts in each language (the catalogues)."""
    sample = text[:MAX_TEXT]
    votes = dict.fromkeys(LANGUAGES, 0.0)
    seen = set(words(sample))
    for language, function_words in rules().languages.items():
        votes[language] += len(seen & function_words)
    lowered = sample.lower()
    for language, letters in _LETTERS.items():
        votes[language] += 0.5 * min(4, sum(lowered.count(ch) for ch in letters))
    if "ij" in lowered:
        votes["nl"] += 0.5
    ranked = sorted(votes.values(), reverse=True)
    if ranked[0] >= 2 and ranked[0] > ranked[1]:
        best = max(LANGUAGES, key=lambda lang: votes[lang])
        return best, round(votes[best] / sum(votes.values()), 3)
    likely = _trigram_language(sample, {lang for lang in LANGUAGES
                                        if votes[lang] == ranked[0]} if ranked[0] else None)
    if likely is None:
        return default or "fr", 0.0
    return likely, round(votes[likely] / sum(votes.values()), 3) if sum(votes.values()) else 0.3


def _trigrams(text: str) -> list[str]:
    padded = f" {' '.join(words(text))} "
    return [padded[i:i + 3] for i in range(len(padded) - 2)]


@cache
def _profiles() -> dict[str, tuple[dict[str, float], float]]:
    """Log-frequencies of letter trigrams in each catalogue's texts (add-one smoothed)."""
    from collections import Counter

    from core import i18n

    found = {}
    for language in LANGUAGES:
        texts = [v if isinstance(v, str) else " ".join(map(str, v))
                 for key, v in i18n.catalogue(language).items()
                 if isinstance(v, str | list) and not key.startswith("intents.")]
        counts = Counter(_trigrams(" ".join(texts)))
        total = sum(counts.values()) + len(counts) + 1
        found[language] = ({t: math.log((c + 1) / total) for t, c in counts.items()},
                           math.log(1 / total))
    return found


def _trigram_language(text: str, among: set[str] | None) -> str | None:
    grams = _trigrams(text)
    if len(grams) < 6:
        return None
    candidates = sorted(among or LANGUAGES)
    profiles = _profiles()

    def score(language: str) -> float:
        known, unseen = profiles[language]
        return sum(known.get(g, unseen) for g in grams)

    return max(candidates, key=score)


def triage(subject: str, body: str, default_language: str | None = None) -> Triage:
    category, confidence, points = classify(subject, body)
    language, language_confidence = detect_language(f"{subject}\n{body}", default_language)
    return Triage(category, confidence, language, language_confidence, points)


def explain(subject: str, body: str, category: str) -> Iterable[str]:
    """The phrases of a category found in a mail (for the bench's error listing)."""
    tokens = words(subject) + words(body)
    for pattern in rules().patterns.get(category, []):
        if _found(pattern, tokens):
            yield " ".join(text for _kind, text in pattern.parts)
