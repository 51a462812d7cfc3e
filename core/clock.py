"""The one clock: every rule that depends on time asks here, so tests can move time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Brussels")

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Aware UTC time."""
    return _now()


def today() -> date:
    """Today in Belgium: access validity and session dates are Belgian calendar days."""
    return now().astimezone(LOCAL_TZ).date()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); None restores the system clock."""
    global _now
    _now = fn or (lambda: datetime.now(UTC))
