"""An in-memory surname index, kept up to date row by row, searched per organisation.

Blocking: exact phonetic keys (whole name and particle-less cores) of every span of the query
answer in O(1). Only when that yields no convincing person does rapidfuzz scan the *distinct*
keys of the organisations in scope (far fewer than people), and only for the spans that had
no exact key. Scoring is per distinct surname, then per person only for the given-name part,
so a common surname costs one comparison, not thousands.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from rapidfuzz import fuzz, process

from core.matching.normalise import PARTICLES, compact, core_forms, phonetic, words

CLEAN_SCORE = 99.5
FUZZY_KEY_CUTOFF = 72.0
FUZZY_PER_PROBE = 10
MAX_SPAN = 4
GIVEN_WEIGHT = 0.25
MAX_HOMONYMS = 20


@dataclass(frozen=True)
class Candidate:
    id: int
    surname: str
    given_names: str
    organisation_id: int
    score: float


@dataclass(frozen=True)
class _Surname:
    text: str
    compact: str
    key: str
    cores: tuple[tuple[str, str], ...]


class _Person(NamedTuple):  # a tuple: 20,000 of them load from the cache in a few ms
    surname_id: int
    organisation_id: int
    given: tuple[str, ...]
    given_names: str


@dataclass(frozen=True)
class _Span:
    compact: str
    key: str
    rest: tuple[str, ...]
    particle_only: bool


def _spans(tokens: list[str]) -> list[_Span]:
    """Every run of consecutive words may be the surname; the other words, the given names."""
    found = []
    for start in range(len(tokens)):
        for end in range(start + 1, min(len(tokens), start + MAX_SPAN) + 1):
            joined = "".join(tokens[start:end])
            if len(joined) < 2 or (end - start > 1 and any(
                    len(t) == 1 and t not in PARTICLES for t in tokens[start:end])):
                continue  # an initial ("Dupont M.") is a given name, never part of a surname
            found.append(_Span(joined, phonetic(joined), tuple(tokens[:start] + tokens[end:]),
                               all(t in PARTICLES for t in tokens[start:end])))
    return found


def surname_score(span: _Span, entry: _Surname) -> float:
    """0–100: equal letters 100; same sound ≈ 85–100 by letters; particle dropped just below."""
    if span.compact == entry.compact:
        return 100.0
    letters = fuzz.ratio(span.compact, entry.compact)
    score = max(letters, fuzz.ratio(span.key, entry.key) * 0.95)
    if span.key == entry.key:
        score = max(score, 85.0 + 0.15 * letters)
    for core, core_key in entry.cores:
        near = fuzz.ratio(span.compact, core)
        if span.key == core_key:
            near = max(near, 84.0 + 0.15 * near)
        score = max(score, near * 0.98)
    return score


def given_score(rest: tuple[str, ...], given: tuple[str, ...]) -> float:
    if not given:
        return 0.0
    total = 0.0
    for token in rest:
        if len(token) == 1:
            total += 100.0 if any(g.startswith(token) for g in given) else 0.0
        else:
            total += max(fuzz.ratio(token, g) for g in given)
    return total / len(rest)


class NameIndex:
    """Surnames → people, scoped by organisation; upsert/remove keep it current."""

    def __init__(self) -> None:
        self._surnames: list[_Surname] = []
        self._surname_ids: dict[str, int] = {}
        self._by_key: dict[str, set[int]] = defaultdict(set)
        self._by_compact: dict[str, set[int]] = defaultdict(set)
        self._people: dict[int, _Person] = {}
        self._members: dict[tuple[int, int], set[int]] = defaultdict(set)
        self._org_forms: dict[int, set[str]] = defaultdict(set)
        self._org_buckets: dict[int, dict[str, list[str]]] = defaultdict(
            lambda: defaultdict(list))

    def __len__(self) -> int:
        return len(self._people)

    # Maintenance --------------------------------------------------------------------------
    def _surname_id(self, text: str) -> int:
        found = self._surname_ids.get(text)
        if found is not None:
            return found
        entry = _Surname(text, compact(text), phonetic(compact(text)), core_forms(text))
        sid = len(self._surnames)
        self._surnames.append(entry)
        self._surname_ids[text] = sid
        for key in {entry.key, *(core_key for _core, core_key in entry.cores)}:
            self._by_key[key].add(sid)
        self._by_compact[entry.compact].add(sid)
        return sid

    def upsert(self, person_id: int, surname: str, given_names: str, organisation_id: int,
               active: bool = True) -> None:
        self.remove(person_id)
        if not active:
            return
        sid = self._surname_id(surname)
        self._people[person_id] = _Person(sid, organisation_id, tuple(words(given_names)),
                                          given_names)
        self._members[(sid, organisation_id)].add(person_id)
        entry = self._surnames[sid]
        forms = self._org_forms[organisation_id]
        for form in (entry.compact, entry.key):
            if form not in forms:
                forms.add(form)
                buckets = self._org_buckets[organisation_id]
                for bucket in _bucket_names(form, filing=True):
                    buckets[bucket].append(form)

    def remove(self, person_id: int) -> None:
        person = self._people.pop(person_id, None)
        if person is None:
            return
        members = self._members[(person.surname_id, person.organisation_id)]
        members.discard(person_id)
        if not members:
            del self._members[(person.surname_id, person.organisation_id)]

    def bulk_load(self, rows: Iterable[tuple[int, str, str, int, bool]]) -> None:
        for person_id, surname, given_names, organisation_id, active in rows:
            self.upsert(person_id, surname, given_names, organisation_id, active)

    # State, for the on-disk cache ---------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """What the index holds, as JSON values, in its own order: an index rebuilt from it
        ranks exactly as this one (ties in the fuzzy scan follow the buckets' order)."""
        return {
            "surnames": [[e.text, e.compact, e.key, [list(c) for c in e.cores]]
                         for e in self._surnames],
            "people": [[person_id, p.surname_id, p.organisation_id, p.given_names,
                        list(p.given)] for person_id, p in self._people.items()],
            "buckets": [[organisation_id, list(buckets.items())]
                        for organisation_id, buckets in self._org_buckets.items()],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> NameIndex:
        """The index `state()` described; raises ValueError, TypeError, KeyError or
        IndexError on anything malformed (the caller then builds from the database)."""
        index = cls()
        for text, compact_form, key, cores in state["surnames"]:
            entry = _Surname(_text(text), _text(compact_form), _text(key),
                             tuple((_text(c), _text(k)) for c, k in cores))
            sid = len(index._surnames)
            index._surnames.append(entry)
            index._surname_ids[entry.text] = sid
            for form in {entry.key, *(core_key for _core, core_key in entry.cores)}:
                index._by_key[form].add(sid)
            index._by_compact[entry.compact].add(sid)
        surnames = len(index._surnames)
        people, members = index._people, index._members
        for person_id, sid, organisation_id, given_names, given in state["people"]:
            if not (0 <= sid < surnames and type(person_id) is type(organisation_id) is int
                    and type(given_names) is str and all(type(g) is str for g in given)):
                raise ValueError(f"malformed person {person_id!r}")
            people[person_id] = _Person(sid, organisation_id, tuple(given), given_names)
            members[(sid, organisation_id)].add(person_id)
        for organisation_id, buckets in state["buckets"]:
            filed = index._org_buckets[int(organisation_id)]
            forms = index._org_forms[int(organisation_id)]
            for bucket, bucket_forms in buckets:
                filed[_text(bucket)] = [_text(f) for f in bucket_forms]
                forms.update(filed[bucket])
        return index

    # Search -------------------------------------------------------------------------------
    def search(self, query: str, organisation_ids: Collection[int], limit: int = 5,
               min_score: float = 0.0) -> list[Candidate]:
        tokens = words(query)
        if not tokens or not organisation_ids:
            return []
        spans = _spans(tokens)
        exact = self._exact_candidates(spans)
        scores = self._score_surnames(spans, exact)
        ranked = self._people_ranked(scores, organisation_ids, limit, min_score)
        if ranked and ranked[0].score >= CLEAN_SCORE:
            return ranked
        cutoff = FUZZY_KEY_CUTOFF if min_score >= FUZZY_KEY_CUTOFF - 5 else max(min_score, 50.0)
        fuzzy = self._fuzzy_candidates(spans, organisation_ids, cutoff) - exact
        scores.update(self._score_surnames(spans, fuzzy))
        return self._people_ranked(scores, organisation_ids, limit, min_score)

    def _exact_candidates(self, spans: list[_Span]) -> set[int]:
        found: set[int] = set()
        for span in spans:
            if not span.particle_only:
                found |= self._by_key.get(span.key, set())
        return found

    def _fuzzy_candidates(self, spans: list[_Span], organisation_ids: Collection[int],
                          cutoff: float) -> set[int]:
        probes = {probe for s in spans if len(s.compact) >= 3 and not s.particle_only
                  for probe in (s.compact, s.key)}
        found: set[int] = set()
        for organisation_id in organisation_ids:
            buckets = self._org_buckets.get(organisation_id, {})
            for probe in probes:
                for bucket in _bucket_names(probe, filing=False):
                    for form, _score, _index in process.extract(
                            probe, buckets.get(bucket, ()), scorer=fuzz.ratio,
                            limit=FUZZY_PER_PROBE, score_cutoff=cutoff):
                        found |= self._by_compact.get(form, set()) | self._by_key.get(form, set())
        return found

    def _score_surnames(self, spans: list[_Span],
                        candidates: Iterable[int]) -> dict[int, list[tuple[float, _Span]]]:
        """Per surname, the readings of the query that could still win once given names count.

        A reading (which words are the surname) loses to the best one unless its surname score
        is within what the given names can add (GIVEN_WEIGHT × 100).
        """
        scored: dict[int, list[tuple[float, _Span]]] = {}
        reach = 100.0 * GIVEN_WEIGHT / (1 - GIVEN_WEIGHT)
        for sid in candidates:
            entry = self._surnames[sid]
            readings = sorted(((surname_score(span, entry), span) for span in spans
                               if not span.particle_only),
                              key=lambda r: (-r[0], len(r[1].rest)))
            if readings:
                top = readings[0][0]
                scored[sid] = [r for r in readings if r[0] >= top - reach and
                               (r[1].rest or r is readings[0])][:4]
        return scored

    def _people_ranked(self, scores: dict[int, tuple[float, _Span]],
                       organisation_ids: Collection[int], limit: int,
                       min_score: float) -> list[Candidate]:
        groups: list[list[_Row]] = []
        best: list[float] = []
        for sid, readings in sorted(scores.items(), key=lambda item: -item[1][0][0]):
            ceiling = max((1 - GIVEN_WEIGHT) * score + GIVEN_WEIGHT * 100 if span.rest
                          else score for score, span in readings)
            if len(best) >= limit and len(groups) >= MIN_GROUPS and ceiling < best[limit - 1]:
                break
            members = self._members_scored(sid, readings, organisation_ids, min_score)
            if members:
                groups.append(members[:limit])
                best = sorted([*best, *(m[0] for m in members[:limit])], reverse=True)[:limit]
        return [Candidate(r[3], r[1], r[2], r[4], round(r[0], 1))
                for r in _diverse(groups, limit)]

    def _members_scored(self, sid: int, readings: list[tuple[float, _Span]],
                        organisation_ids: Collection[int], min_score: float) -> list[_Row]:
        surname = self._surnames[sid].text
        if not any(span.rest for _score, span in readings):
            score = readings[0][0]
            if score < min_score:
                return []
            people = [(person_id, organisation_id) for organisation_id in organisation_ids
                      for person_id in self._members.get((sid, organisation_id), ())]
            return [(score, surname, self._people[person_id].given_names, person_id, org)
                    for person_id, org in heapq.nsmallest(
                        MAX_HOMONYMS, people,
                        key=lambda p: (self._people[p[0]].given_names, p[0]))]
        rows = []
        for organisation_id in organisation_ids:
            for person_id in self._members.get((sid, organisation_id), ()):
                person = self._people[person_id]
                total = max((1 - GIVEN_WEIGHT) * score
                            + GIVEN_WEIGHT * given_score(span.rest, person.given)
                            if span.rest else score for score, span in readings)
                if total >= min_score:
                    rows.append((total, surname, person.given_names, person_id, organisation_id))
        rows.sort(key=lambda r: (-r[0], r[2], r[3]))
        return rows


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, found {type(value).__name__}")
    return value


_Row = tuple[float, str, str, int, int]
LONG_FORM = 5


def _bucket_names(form: str, filing: bool) -> tuple[str, ...]:
    """Where a surname form is filed (filing) or looked for (probing).

    Forms are filed by their first two letters and their last two. One typo (a letter
    dropped, doubled, swapped or mistyped) cannot change both ends of a name of five letters
    or more, so scanning a probe's two buckets finds what a scan of every form of the
    organisation would, at a fraction of the cost. Short forms are also filed under one letter
    for short probes. Forms are never removed: a stale one only costs a comparison.
    """
    long_buckets = ("^" + form[:2], form[-2:] + "$")
    short_buckets = ("^" + form[0], form[-1] + "$")
    if len(form) >= LONG_FORM:
        return long_buckets + (short_buckets if filing and len(form) <= LONG_FORM + 1 else ())
    return short_buckets
MIN_GROUPS = 3


def _diverse(groups: list[list[_Row]], limit: int) -> list[_Row]:
    """Best first, but a crowd of homonyms leaves room for other spellings of the name.

    When 40 people are called Peters, five of them tell the officer less than three Peters
    and the Peeters and Pieters they may have meant.
    """
    groups = sorted(groups, key=lambda g: -g[0][0])
    if not groups:
        return []
    chosen = list(groups[0][:max(1, limit - 2)])
    chosen += [g[0] for g in groups[1:limit]][:limit - len(chosen)]
    if len(chosen) < limit:
        taken = {r[3] for r in chosen}
        spare = sorted((r for g in groups for r in g if r[3] not in taken),
                       key=lambda r: (-r[0], r[1], r[2]))
        chosen += spare[:limit - len(chosen)]
    return sorted(chosen, key=lambda r: (-r[0], r[1], r[2], r[3]))
