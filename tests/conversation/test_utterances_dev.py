"""The development half of bench/utterances as a regression floor: a change that breaks how
sentences are understood fails here. (The test half is for the bench only: nothing is tuned
on it.) Floors sit a little under what the bench measures, so rewording a catalogue does not
fail for one sentence, but losing a language or a form of date does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.utterances.__main__ import engine_checks, ours
from bench.utterances.corpus import LANGUAGES, Utterance, bench_clock, load
from core import clock
from core.conversation.parser import warm_up

DEV = load(("dev",))
FLOOR_INTENT = 0.97
FLOOR_SLOTS = 0.95
FLOOR_ONE_SENTENCE = 0.95


@pytest.fixture(autouse=True)
def bench_day() -> Iterator[None]:
    warm_up()
    clock.set_clock(bench_clock)
    yield
    clock.set_clock(None)


@pytest.mark.parametrize("language", LANGUAGES)
def test_intent_and_slots_floor(language: str) -> None:
    chosen = [u for u in DEV if u.language == language]
    results = {u: ours(u) for u in chosen}
    intent = sum(r[0] for r in results.values()) / len(chosen)
    scored = [u for u in chosen if u.intent != "none"]
    slots = sum(results[u][1] for u in scored) / len(scored)
    wrong = [u.text for u, r in results.items() if not r[0] or (u.intent != "none" and not r[1])]
    assert intent >= FLOOR_INTENT and slots >= FLOOR_SLOTS, wrong


def test_one_sentence_floor_on_the_demo() -> None:
    """Fully specified sentences reach the right confirmation, listing or report at once;
    clarify sentences get a question, nonsense gets 'not understood'."""
    missed: list[str] = []
    counts = engine_checks(DEV, missed.append)
    total = {key: sum(counts[lang][key] for lang in LANGUAGES)
             for key in ("one_n", "one_ok", "clarify_n", "clarify_ok", "none_n", "none_ok")}
    assert total["one_n"] >= 150
    assert total["one_ok"] / total["one_n"] >= FLOOR_ONE_SENTENCE, missed
    assert total["clarify_ok"] == total["clarify_n"], missed
    assert total["none_ok"] >= total["none_n"] - 1, missed


def test_the_corpus_is_as_described() -> None:
    """At least 600 sentences, 150 per language, both halves present, labels well formed."""
    everything: list[Utterance] = load()
    assert len(everything) >= 600
    for language in LANGUAGES:
        assert sum(u.language == language for u in everything) >= 150
    assert {u.half for u in everything} == {"dev", "test"}
    intents = {u.intent for u in everything}
    assert intents <= {"enroll", "unenroll", "seats", "overview", "participants", "report",
                       "requests", "approve", "refuse", "add", "link", "help", "clarify",
                       "none"}
    assert sum(len(u.persons) > 1 for u in everything) >= 20
