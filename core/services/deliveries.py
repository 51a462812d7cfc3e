"""Exactly-once handling of deliveries that platforms may repeat (retries, redeliveries)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from core import clock
from core.app import App
from core.models import ProcessedDelivery

KEEP = timedelta(days=2)


def first_time(app: App, key: str) -> bool:
    """True for the first delivery with this key, False for every repeat, on any instance."""
    try:
        with app.unit_of_work() as uow:
            uow.session.add(ProcessedDelivery(key=key[:200]))
            uow.session.flush()
    except IntegrityError:
        return False
    return True


def purge(app: App) -> int:
    with app.unit_of_work() as uow:
        result = uow.session.execute(
            delete(ProcessedDelivery).where(ProcessedDelivery.at < clock.now() - KEEP))
        return result.rowcount or 0
