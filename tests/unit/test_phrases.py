"""One wording source: services pass dates as dates; the catalogues write them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core import i18n
from core.errors import DomainError


def test_dates_in_parameters_are_written_by_the_catalogue() -> None:
    error = DomainError("session_full", code="BOSA-101", date=date(2027, 3, 12))
    for language in i18n.LANGUAGES:
        assert "12/03/2027" in error.message(language)
    assert i18n.day("nl", date(2027, 1, 5)) == "05/01/2027"


def test_moments_are_belgian_local_time() -> None:
    winter = datetime(2027, 1, 15, 13, 5, tzinfo=UTC)
    summer = datetime(2027, 7, 15, 13, 5, tzinfo=UTC)
    assert i18n.moment("fr", winter) == "15/01/2027 14:05"
    assert i18n.moment("de", summer) == "15/07/2027 15:05"
