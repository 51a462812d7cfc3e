"""One lock holder per job across instances; takeover when the holder goes away."""

from __future__ import annotations

from core.app import App
from core.leader import Leadership


def test_one_holder_and_takeover(app: App) -> None:
    other = App(app.settings)  # a second instance on the same database
    try:
        first, second = Leadership(app, "imap:test"), Leadership(other, "imap:test")
        assert first.acquire() and first.alive()
        assert not second.acquire()
        assert Leadership(other, "imap:another").acquire()
        first.release()  # as when the holder dies: its connection / file closes
        assert second.acquire() and second.alive()
        assert not first.acquire()
        second.release()
    finally:
        other.close()
