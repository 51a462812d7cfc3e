"""Dates as officers write them: 15/03, 15-03-2027, 15 mars, 15 maart, March 15, 15. März,
mardi prochain, volgende week dinsdag, next week, en avril, le mois prochain, demain.

Our own rules find the fragment that is a date (they know the month and weekday names of the
four languages from the catalogues) and read numeric and relative dates themselves.
A day with a month name ("1er mars", "March 15th", "15. März") is read by dateparser,
restricted to the four languages and called on that fragment only — never on the whole
sentence, which it cannot search (and which would cost its ~1.5 ms on every message).
It is loaded once per language, on first need, or for all four by `warm_up()` when a
long-running process starts (serve, the console chat); never when the CLI starts.

A date without a year is the next one to come (today included); a month alone is its next
occurrence (the current month included); a weekday is the next one after today; "next week"
and "volgende week dinsdag" are in the calendar week after this one.
"""

from __future__ import annotations

import calendar
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.conversation.understanding.tokens import NUMERIC_DATE, ORDINAL_DAY, YEAR, Token
from core.conversation.understanding.vocabulary import Vocabulary

LANGUAGES = ["fr", "nl", "en", "de"]
WINDOW = 4


@dataclass(frozen=True)
class When:
    """A day, or a period (a month, a week) that picks the sessions starting in it."""

    start: date
    end: date
    kind: str
    """'day', 'month' or 'week'."""

    @property
    def day(self) -> date | None:
        return self.start if self.kind == "day" else None

    def label(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "month":
            return self.start.strftime("%Y-%m")
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


_parsers: dict[str, Any] = {}
_lock = threading.Lock()
SAMPLES = {"fr": "15 mars", "nl": "15 maart", "en": "March 15", "de": "15. März"}


def _parser(language: str) -> Any:
    """dateparser restricted to one language (the month name says which ones to try)."""
    found = _parsers.get(language)
    if found is not None:
        return found
    with _lock:
        if language not in _parsers:
            from dateparser.date import DateDataParser

            parser = DateDataParser(languages=[language], settings={
                "DATE_ORDER": "DMY", "PREFER_DAY_OF_MONTH": "first",
                "REQUIRE_PARTS": ["day", "month"]})
            parser.get_date_data(SAMPLES[language])
            _parsers[language] = parser
        return _parsers[language]


def warm_up() -> None:
    """Load dateparser and its four languages once (about 250 ms), before the first message."""
    for language in LANGUAGES:
        _parser(language)


def _languages_of(word: str, vocabulary: Vocabulary) -> tuple[str, ...]:
    return tuple(lang for lang in LANGUAGES if lang in vocabulary.languages.get(word, ())) or (
        tuple(LANGUAGES))


def _dateparser_day_month(fragment: str, languages: tuple[str, ...]) -> tuple[int, int] | None:
    for language in languages:
        try:
            found = _parser(language).get_date_data(fragment)
        except (ValueError, OverflowError):
            continue
        if found is not None and found.date_obj is not None:
            return found.date_obj.day, found.date_obj.month
    return None


def _anchored(day: int, month: int, year: int | None, today: date) -> date | None:
    """The day itself with an explicit year, else the next such day from today."""
    try:
        if year is not None:
            return date(year, month, day)
        guess = date(today.year, month, day)
        return guess if guess >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _month(month: int, year: int | None, today: date) -> When:
    if year is None:
        year = today.year if month >= today.month else today.year + 1
    last = calendar.monthrange(year, month)[1]
    return When(date(year, month, 1), date(year, month, last), "month")


def _week(monday: date) -> When:
    return When(monday, monday + timedelta(days=6), "week")


def _day_number(token: Token, vocabulary: Vocabulary) -> int | None:
    if token.kind == "number" and token.key.isdigit() and 1 <= int(token.key) <= 31:
        return int(token.key)
    if token.kind == "day":
        match = ORDINAL_DAY.match(token.key)
        if match and (match.group(2) is None or match.group(2) in vocabulary.ordinals):
            value = int(match.group(1))
            return value if 1 <= value <= 31 else None
    return None


def _year(token: Token | None) -> int | None:
    if token is not None and token.kind == "number" and YEAR.match(token.key):
        return int(token.key)
    return None


class _Reader:
    def __init__(self, tokens: list[Token], vocabulary: Vocabulary, today: date) -> None:
        self.tokens = tokens
        self.v = vocabulary
        self.today = today

    def free(self, index: int) -> Token | None:
        if 0 <= index < len(self.tokens) and not self.tokens[index].used:
            return self.tokens[index]
        return None

    def take(self, *indexes: int) -> None:
        for index in indexes:
            self.tokens[index].used = "date"

    def read(self) -> When | None:
        for rule in (self.numeric, self.day_month, self.month_day, self.relative_weekday,
                     self.relative_period, self.relative_day, self.month_alone,
                     self.day_alone):
            found = rule()
            if found is not None:
                return found
        return None

    # 15/03, 14.01., 15-12-2026 ---------------------------------------------------------------
    def numeric(self) -> When | None:
        for i, token in enumerate(self.tokens):
            if token.kind != "date" or token.used:
                continue
            match = NUMERIC_DATE.match(token.key)
            assert match is not None
            day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
            full = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
            found = _anchored(day, month, full, self.today) if 1 <= month <= 12 else None
            if found is not None:
                self.take(i)
                self.take_weekday_before(i)
                return When(found, found, "day")
        return None

    def take_weekday_before(self, index: int) -> None:
        for back in (1, 2):
            token = self.free(index - back)
            if token is None:
                return
            if token.key in self.v.weekdays:
                self.take(index - back)
                return
            if token.key not in self.v.date_glue:
                return

    # 15 mars, 1er février 2027, 15. März, 2 of February ------------------------------------
    def day_month(self) -> When | None:
        for i, token in enumerate(self.tokens):
            day = _day_number(token, self.v) if not token.used else None
            if day is None:
                continue
            j = i + 1
            glue = self.free(j)
            if glue is not None and glue.key in self.v.date_glue:
                j += 1
            name = self.free(j)
            if name is None or (name.key not in self.v.months
                                and name.key not in self.v.short_months):
                continue
            year = _year(self.free(j + 1))
            used = [*range(i, j + 1), *([j + 1] if year else [])]
            return self.absolute(used, day, self.v.months.get(name.key)
                                 or self.v.short_months[name.key], year, name.key)
        return None

    # March 15, feb 19, April 16th, 2027 ------------------------------------------------------
    def month_day(self) -> When | None:
        for i, token in enumerate(self.tokens):
            if token.used or (token.key not in self.v.months
                              and token.key not in self.v.short_months):
                continue
            following = self.free(i + 1)
            day = _day_number(following, self.v) if following is not None else None
            if day is None:
                continue
            year = _year(self.free(i + 2))
            used = [i, i + 1, *([i + 2] if year else [])]
            return self.absolute(used, day, self.v.months.get(token.key)
                                 or self.v.short_months[token.key], year, token.key)
        return None

    def absolute(self, used: list[int], day: int, month: int, year: int | None,
                 name: str) -> When | None:
        fragment = " ".join(self.tokens[i].text for i in used)
        read = _dateparser_day_month(fragment, _languages_of(name, self.v))
        if read is not None:
            day, month = read
        found = _anchored(day, month, year, self.today)
        if found is None:
            return None
        self.take(*used)
        self.take_weekday_before(min(used))
        return When(found, found, "day")

    # mardi prochain, volgende week dinsdag, Tuesday next week, nächsten Mittwoch -------------
    def relative_weekday(self) -> When | None:
        for i, token in enumerate(self.tokens):
            if token.used or token.key not in self.v.weekdays:
                continue
            weekday = self.v.weekdays[token.key] - 1
            near = self.near(i)
            next_at = [k for k in near if self.tokens[k].key in self.v.next_words]
            week_at = [k for k in near if self.tokens[k].key in self.v.week_words]
            if next_at and week_at:
                monday = self.today - timedelta(days=self.today.weekday()) + timedelta(days=7)
                found = monday + timedelta(days=weekday)
                self.take_span(i, *next_at[:1], *week_at[:1])
            elif (day := self.day_after(i)) is not None:
                found = self.weekday_on(weekday, day)  # "mercredi 9", "Wednesday the 9th"
                self.take(i)
                return When(found, found, "day")
            else:
                ahead = (weekday - self.today.weekday() - 1) % 7 + 1
                found = self.today + timedelta(days=ahead)
                this_at = [k for k in near if self.tokens[k].key in self.v.this_words
                           and abs(k - i) == 1]
                self.take_span(i, *next_at[:1], *this_at[:1])
            return When(found, found, "day")
        return None

    def day_after(self, index: int) -> int | None:
        """The day number right after a weekday (glue allowed), taken; None if there is none."""
        for k in (index + 1, index + 2):
            token = self.free(k)
            if token is None:
                return None
            day = _day_number(token, self.v)
            if day is not None:
                self.take(k)
                return day
            if token.key not in self.v.date_glue:
                return None
        return None

    def weekday_on(self, weekday: int, day: int) -> date:
        """The next date (from today) that is that day of the month and that weekday, or else
        simply the next date with that day of the month."""
        fallback = None
        month, year = self.today.month, self.today.year
        for _ in range(12):
            try:
                found = date(year, month, day)
            except ValueError:
                found = None
            if found is not None and found >= self.today:
                if found.weekday() == weekday:
                    return found
                fallback = fallback or found
            month, year = (1, year + 1) if month == 12 else (month + 1, year)
        return fallback or self.today

    def near(self, index: int) -> list[int]:
        """Free tokens within a few words, not across a word that is no date glue."""
        found = []
        for step in (-1, 1):
            k = index + step
            while 0 <= k < len(self.tokens) and abs(k - index) <= WINDOW:
                token = self.tokens[k]
                if token.used:
                    break
                if (token.key in self.v.next_words or token.key in self.v.week_words
                        or token.key in self.v.this_words):
                    found.append(k)
                elif token.key not in self.v.date_glue:
                    break
                k += step
        return found

    def take_span(self, *indexes: int) -> None:
        low, high = min(indexes), max(indexes)
        self.take(*[k for k in range(low, high + 1) if not self.tokens[k].used])

    # la semaine prochaine, next month, volgende maand, diesen Monat --------------------------
    def relative_period(self) -> When | None:
        for i, token in enumerate(self.tokens):
            if token.used or (token.key not in self.v.week_words
                              and token.key not in self.v.month_words):
                continue
            near = [k for k in self.near(i) if self.tokens[k].key in self.v.next_words
                    or self.tokens[k].key in self.v.this_words]
            if not near:
                continue
            ahead = self.tokens[near[0]].key in self.v.next_words
            self.take_span(i, near[0])
            if token.key in self.v.week_words:
                monday = self.today - timedelta(days=self.today.weekday())
                return _week(monday + timedelta(days=7 if ahead else 0))
            month = self.today.month + (1 if ahead else 0)
            year = self.today.year + (month - 1) // 12
            return _month((month - 1) % 12 + 1, year, self.today)
        return None

    # aujourd'hui, morgen, tomorrow, übermorgen ----------------------------------------------
    def relative_day(self) -> When | None:
        for i, token in enumerate(self.tokens):
            if not token.used and token.key in self.v.relative_days:
                self.take(i)
                found = self.today + timedelta(days=self.v.relative_days[token.key])
                return When(found, found, "day")
        return None

    # en avril, in april, im April, session de mai, avril 2027 --------------------------------
    def month_alone(self) -> When | None:
        for i, token in enumerate(self.tokens):
            if token.used or token.key not in {**self.v.months, **self.v.short_months}:
                continue
            year = _year(self.free(i + 1))
            before = self.tokens[i - 1] if i > 0 else None
            if token.key not in self.v.months and year is None:
                continue
            if year is None and (before is None or before.key not in self.v.before_month):
                continue
            self.take(i, *([i + 1] if year else []))
            month = self.v.months.get(token.key) or self.v.short_months[token.key]
            return _month(month, year, self.today)
        return None

    # le 15, op de 15de, on the 15th, am 15. ------------------------------------------------
    def day_alone(self) -> When | None:
        for i, token in enumerate(self.tokens):
            before = self.free(i - 1)
            day = _day_number(token, self.v) if not token.used else None
            if day is None or before is None or before.key not in self.v.before_day:
                continue
            month, year = self.today.month, self.today.year
            for _ in range(3):
                try:
                    found = date(year, month, day)
                except ValueError:
                    found = None
                if found is not None and found >= self.today:
                    self.take(i)
                    return When(found, found, "day")
                month, year = (1, year + 1) if month == 12 else (month + 1, year)
        return None


def read(tokens: list[Token], vocabulary: Vocabulary, today: date) -> When | None:
    """The first date or period in the tokens; its tokens are marked used ('date')."""
    return _Reader(tokens, vocabulary, today).read()
