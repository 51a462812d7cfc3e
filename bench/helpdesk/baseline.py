"""The alternative the rules were measured against: multinomial naive Bayes, trained on the
development half (words of subject and body, add-one smoothing), for the category; and a
character-trigram naive Bayes, trained the same way, for the language. Pure Python, fitted in
the run, so the comparison is always on the same mails."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from core.services.triage import words


class NaiveBayes:
    def __init__(self, features: Callable[[str], Iterable[str]]) -> None:
        self.features = features
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.documents: Counter[str] = Counter()
        self.vocabulary: set[str] = set()

    def fit(self, samples: Iterable[tuple[str, str]]) -> NaiveBayes:
        for text, label in samples:
            found = list(self.features(text))
            self.counts[label].update(found)
            self.documents[label] += 1
            self.vocabulary.update(found)
        return self

    def predict(self, text: str) -> str:
        total = sum(self.documents.values())
        found = list(self.features(text))
        size = len(self.vocabulary) + 1

        def score(label: str) -> float:
            counts = self.counts[label]
            denominator = sum(counts.values()) + size
            return math.log(self.documents[label] / total) + sum(
                math.log((counts[f] + 1) / denominator) for f in found)

        return max(self.documents, key=score)


def word_features(text: str) -> list[str]:
    return words(text)


def trigram_features(text: str) -> list[str]:
    padded = f"  {' '.join(words(text))}  "
    return [padded[i:i + 3] for i in range(len(padded) - 2)]
