"""The throwaway Dovecot IMAP server (tests/support/dovecot.py).

Runs a real server, also as root. Never skipped: without Dovecot the tests fail with the reason
given by DovecotError.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.dovecot import BIN_ENV, DovecotError, DovecotServer, dovecot

FIRST = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: first\r\n\r\nbody one\r\n"
SECOND = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: second\r\n\r\nbody two\r\n"


def _start(stack: ExitStack, **kwargs: bool) -> DovecotServer:
    try:
        return stack.enter_context(dovecot(**kwargs))
    except DovecotError as exc:
        pytest.fail(f"Dovecot test server: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def server() -> Iterator[DovecotServer]:
    with ExitStack() as stack:
        yield _start(stack)


def test_append_list_and_flag(server: DovecotServer) -> None:
    first = server.append("alice", FIRST)
    second = server.append("alice", SECOND, flags=(b"\\Flagged",))
    assert (first, second) == (1, 2)
    assert server.messages("alice") == {1: (set(), FIRST), 2: ({b"\\Flagged"}, SECOND)}

    with server.session("alice") as imap:
        imap.select_folder("INBOX")
        assert imap.search(["SUBJECT", "second"]) == [second]
        imap.add_flags([first], [b"\\Seen"])
        assert imap.search("UNSEEN") == [second]

    listed = server.messages("alice")
    assert {uid: flags for uid, (flags, _raw) in listed.items()} == {
        first: {b"\\Seen"}, second: {b"\\Flagged"}}
    assert server.messages("bob") == {}  # users are separate mailboxes


def test_folders_and_url(server: DovecotServer) -> None:
    server.create_folder("carol", "Helpdesk")
    assert server.append("carol", FIRST, folder="Helpdesk") == 1
    assert set(server.messages("carol", "Helpdesk")) == {1}
    assert server.messages("carol") == {}
    assert server.url("carol") == f"imap://carol:secret@127.0.0.1:{server.port}/INBOX"
    assert server.url("x@y.be", "Helpdesk") == (
        f"imap://x%40y.be:secret@127.0.0.1:{server.port}/Helpdesk")
    imap = server.client("x@y.be")  # any user logs in with the password
    try:
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0
    finally:
        imap.logout()


def test_uidvalidity_stable_across_restart(server: DovecotServer) -> None:
    uid = server.append("dave", FIRST, flags=(b"\\Seen",))
    before = server.uidvalidity("dave")
    port = server.port
    server.restart()
    assert server.port == port
    assert server.uidvalidity("dave") == before
    assert server.messages("dave") == {uid: ({b"\\Seen"}, FIRST)}
    assert server.append("dave", SECOND) == uid + 1  # UIDs go on, never reused


def test_idle_advertised_or_not(server: DovecotServer) -> None:
    with server.session("erin") as imap:
        assert imap.has_capability("IDLE")
        with_idle = set(imap.capabilities())
    with ExitStack() as stack:
        polling = _start(stack, idle=False)
        with polling.session("erin") as imap:
            without_idle = set(imap.capabilities())
            assert not imap.has_capability("IDLE")
        assert without_idle == with_idle - {b"IDLE"}  # nothing else lost (UIDPLUS, MOVE...)
        assert polling.append("erin", FIRST) == 1  # APPENDUID still given
    assert not polling.is_running()


def test_directory_removed_and_processes_gone() -> None:
    with ExitStack() as stack:
        started = _start(stack)
        base_dir = started.base_dir
        assert base_dir.parent == Path("/tmp") or os.geteuid() != 0
        assert (base_dir / "mail").stat().st_uid != 0 or os.geteuid() != 0
        started.append("frank", FIRST)
    assert not started.is_running()
    assert not base_dir.exists()


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BIN_ENV, "/nonexistent")
    with pytest.raises(DovecotError, match="dovecot-imapd") as caught, dovecot():
        pass
    assert "/nonexistent" in str(caught.value)
    assert "\n" not in str(caught.value)
