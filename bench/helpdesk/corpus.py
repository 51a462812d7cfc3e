"""The labelled helpdesk mails of bench/helpdesk/corpus/LANG.txt, split into two halves.

A block starts with `### CATEGORY TOPIC`, then `Subject: …`, an empty line and the body. The
topic names one problem written in several languages: every version of a topic falls in the
same half, so that no test mail has its translation among the development mails. Within each
category the topics are taken in the order of their hash and each goes to the half that holds
fewer mails of that category so far: two halves of about the same size, chosen blind. The
development half is the one the vocabulary was tuned on; the test half is only measured.

Both halves were written before the vocabulary, by the person who then wrote it: the test half
was never measured while tuning, but its words were known. `blind` (corpus/blind/) holds mails
written after the vocabulary was frozen and measured once, as a check on that; its errors
then taught the vocabulary a few synonyms, so `blind2` was written after that and measured once,
and `blind3` after the correction `blind2` led to. All of these (both halves, blind–blind3) are
development data: the vocabulary was broadened on them and the model (bench/helpdesk/train.py)
is trained on them. `blind4` (176 mails) was written and committed before that and measured
once as it came out (89.8 %); it then became training data too, with `extra` (corpus/extra/:
mails written only to teach the model concepts it lacked, never measured). `blind5`, written by
someone who never saw the classifier, was measured once as it came out (90.1 %,
bench/results/helpdesk-blind5-first.json) and then joined the training data too. The held-out
set is `blind6`, written by another independent writer while the model was being changed and
copied into corpus/blind6/ only after the model was frozen. Any directory of corpus/ holding
LANG.txt files is a set `load` can read.

Besides the eight triage categories a mail may be labelled `no-ticket`: a mail the gateway
should open no ticket for (an out-of-office reply). It is right when the gateway refuses it,
and the model never learns from it (the triage never sees such mail). blind5 had no such
label when it was written, so its four out-of-office replies are labelled `other` in its files,
which stay as first measured; `load(..., corrected=True)` (training and cross-validation) reads
them as `no-ticket` (CORRECTIONS).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "corpus"
LANGUAGES = ("fr", "nl", "en", "de")
HALVES = ("dev", "test")
BLIND = "blind"
BLIND2 = "blind2"
BLIND3 = "blind3"
BLIND4 = "blind4"
BLIND5 = "blind5"
EXTRA = "extra"
BLIND6 = "blind6"
BLINDS = (BLIND, BLIND2, BLIND3, BLIND4, BLIND5)
HELD_OUT = BLIND6
NO_TICKET = "no-ticket"
"""The label of a mail that should make no ticket (automatic mail)."""
CORRECTIONS = {BLIND5: {f"b5-{lang}-oth-3": NO_TICKET for lang in LANGUAGES}}
"""Labels a set's files got wrong only because the label did not exist yet: blind5's
out-of-office replies (written as `other`, before `no-ticket` was a label)."""


@dataclass(frozen=True)
class Mail:
    language: str
    category: str
    topic: str
    subject: str
    body: str

    @property
    def key(self) -> str:
        return f"{self.language}/{self.topic}"


def _halves(mails: list[Mail]) -> dict[str, str]:
    """Topic → half, balanced per category."""
    sizes: dict[tuple[str, str], int] = {}
    topics: dict[str, tuple[str, int]] = {}
    for mail in mails:
        category, count = topics.get(mail.topic, (mail.category, 0))
        topics[mail.topic] = (category, count + 1)
    chosen = {}
    for topic in sorted(topics, key=lambda t: hashlib.sha256(t.encode()).hexdigest()):
        category, count = topics[topic]
        half = min(HALVES, key=lambda h: (sizes.get((category, h), 0), HALVES.index(h)))
        sizes[(category, half)] = sizes.get((category, half), 0) + count
        chosen[topic] = half
    return chosen


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("### "):
            found.append((line[4:].strip(), []))
        elif found:
            found[-1][1].append(line)
    return found


def _mail(language: str, header: str, lines: list[str], index: int) -> Mail:
    """A block of a set: `### CATEGORY TOPIC` (without a topic, its rank names it), Subject:,
    an empty line, the body."""
    category, _, topic = header.partition(" ")
    subject = lines[0].removeprefix("Subject:").strip() if lines else ""
    return Mail(language, category, topic.strip() or f"{category}-{index}", subject,
                "\n".join(lines[1:]).strip())


def load(halves: tuple[str, ...] = HALVES,
         languages: tuple[str, ...] = LANGUAGES, *, corrected: bool = False) -> list[Mail]:
    """The mails of one set (a directory of corpus/) or of the named halves; `corrected`
    applies CORRECTIONS (for training, never when a set is measured as first written)."""
    if len(halves) == 1 and halves[0] not in HALVES:
        files = [(lang, ROOT / halves[0] / f"{lang}.txt") for lang in languages]
        if not any(path.exists() for _lang, path in files):
            raise FileNotFoundError(f"{ROOT / halves[0]}: no {'/'.join(languages)}.txt")
        found = [_mail(language, header, lines, index) for language, path in files
                 if path.exists()
                 for index, (header, lines) in enumerate(_blocks(path.read_text("utf-8")))
                 if header.split()]
        relabel = CORRECTIONS.get(halves[0], {}) if corrected else {}
        return [replace(m, category=relabel[m.topic]) if m.topic in relabel else m
                for m in found]
    mails = []
    for language in LANGUAGES:
        for header, lines in _blocks((ROOT / f"{language}.txt").read_text("utf-8")):
            category, topic = header.split()
            subject = lines[0].removeprefix("Subject:").strip()
            body = "\n".join(lines[1:]).strip()
            mails.append(Mail(language, category, topic, subject, body))
    chosen = _halves(mails)
    return [m for m in mails if chosen[m.topic] in halves and m.language in languages]


def sets() -> tuple[str, ...]:
    """Every set of the corpus: the two halves, then each directory of LANG.txt files."""
    found = sorted(d.name for d in ROOT.iterdir()
                   if d.is_dir() and any((d / f"{lang}.txt").exists() for lang in LANGUAGES))
    return (*HALVES, *found)


def half_of(mail: Mail) -> str:
    return _halves(load())[mail.topic]
