"""A throwaway real IMAP server (Dovecot 2.3), for tests.

    with dovecot() as server:
        uid = server.append("alice", b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
        server.url("alice")           # imap://alice:secret@127.0.0.1:PORT/INBOX
        server.messages("alice")      # {uid: ({b"\\\\Seen", ...}, raw message)}

Any user name logs in with the password ``secret`` (static passdb/userdb); each user gets a
maildir under ``base_dir/mail/USER``. Plain-text LOGIN over TCP on 127.0.0.1, no TLS. The
config is standalone (``dovecot -F -c base_dir/dovecot.conf``): the system's /etc/dovecot and
its service are never used. ``dovecot(idle=False)`` advertises the same capabilities without
IDLE, for exercising a client's polling path (Dovecot still answers an IDLE command sent anyway).
Folder hierarchy separator: ``.`` (Dovecot's maildir default).

Needs the Debian package ``dovecot-imapd``; ``$ITMA_DOVECOT_BIN`` overrides the ``dovecot``
binary. Nothing happens at import time and imapclient is imported only when a client is made.

Permissions. Dovecot refuses uid 0 for its login and mail processes. As root (CI), mail is owned
by the Debian package's ``dovecot`` user and logins run as ``dovenull``; both must traverse the
server directory, which pytest's ``tmp_path`` (under ``/tmp/pytest-of-root/``, mode 0o700) does
not allow. The server directory is therefore a fresh ``tempfile.mkdtemp(prefix="itma-dovecot-")``
(mode 0o755), under ``base_dir`` when given and traversable, else under ``/tmp``;
``server.base_dir`` tells where it went. As a non-root user every process runs as that user.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from tests.support.processes import LiveServers, free_port, tmp_root

if TYPE_CHECKING:
    import imapclient

BIN_ENV = "ITMA_DOVECOT_BIN"  # optional override: path of the dovecot binary
DEBIAN_PACKAGE = "dovecot-imapd"
HOST = "127.0.0.1"
PASSWORD = "secret"
MAIL_USER = "dovecot"  # as root: owner of the maildirs (created by the Debian package)
LOGIN_USER = "dovenull"  # as root: unprivileged imap-login processes
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
CLIENT_TIMEOUT_S = 10.0
CONF_FILE = "dovecot.conf"
LOG_FILE = "dovecot.log"
STDERR_FILE = "dovecot.stderr"
PROBE_USER = "itma-ready-probe"
_PORT_ATTEMPTS = 5

# What Dovecot 2.3.19 advertises after LOGIN with its default ``imap_capability``, minus IDLE.
# An explicit imap_capability replaces the whole list: Dovecot then appends neither LITERAL+
# nor NOTIFY itself, so they are listed here, in Dovecot's own order.
CAPABILITIES_WITHOUT_IDLE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT SORT=DISPLAY THREAD=REFERENCES"
    " THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN"
    " NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES"
    " WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW"
    " STATUS=SIZE SAVEDATE LITERAL+ NOTIFY"
)


class DovecotError(RuntimeError):
    """The throwaway server could not be provided; the message says why, in one line."""


class _PortInUse(DovecotError):
    """Another process listens on the port (start retries on another free port)."""


# -- binary and users ---------------------------------------------------------------------------


def find_dovecot() -> Path:
    """The ``dovecot`` binary: ``$ITMA_DOVECOT_BIN``, else PATH, else ``/usr/sbin/dovecot``."""
    override = os.environ.get(BIN_ENV)
    if override:
        if _executable(Path(override)):
            return Path(override)
        raise DovecotError(f"{BIN_ENV}={override} is not an executable dovecot binary"
                           f" (install the Debian package '{DEBIAN_PACKAGE}')")
    on_path = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin")
    if on_path:
        return Path(on_path)
    raise DovecotError(f"the dovecot binary was not found on PATH nor in /usr/sbin: install the"
                       f" Debian package '{DEBIAN_PACKAGE}' (apt-get install {DEBIAN_PACKAGE})")


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@dataclass(frozen=True)
class _Users:
    """Who Dovecot's processes run as: the mail owner and the login user."""

    mail: str
    mail_uid: int
    mail_gid: int
    mail_group: str
    login: str
    ids: tuple[tuple[int, frozenset[int]], ...]  # (uid, gids) of each, for traversal checks


def _users() -> _Users:
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        group = _group_name(entry.pw_gid)
        ids = ((entry.pw_uid, frozenset({os.getegid(), *os.getgroups()})),)
        return _Users(entry.pw_name, entry.pw_uid, entry.pw_gid, group, entry.pw_name, ids)
    try:
        mail = pwd.getpwnam(MAIL_USER)
        login = pwd.getpwnam(LOGIN_USER)
    except KeyError as exc:
        raise DovecotError(f"running as root needs the OS user {exc.args[0].split(':')[-1]}"
                           f" (install the Debian package '{DEBIAN_PACKAGE}')") from None
    ids = tuple((entry.pw_uid, frozenset(os.getgrouplist(entry.pw_name, entry.pw_gid)))
                for entry in (mail, login))
    return _Users(MAIL_USER, mail.pw_uid, mail.pw_gid, _group_name(mail.pw_gid), LOGIN_USER,
                  ids)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


# -- the config ---------------------------------------------------------------------------------


def _config_text(root: Path, port: int, users: _Users, *, idle: bool) -> str:
    lines = [
        "# written by tests/support/dovecot.py",
        "protocols = imap",
        f"listen = {HOST}",
        f"base_dir = {root / 'run'}",
        f"state_dir = {root / 'state'}",
        f"log_path = {root / LOG_FILE}",
        "ssl = no",
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login",
        "auth_failure_delay = 0",
        f"mail_location = maildir:{root / 'mail'}/%u",
        "mail_fsync = never",
        "mailbox_idle_check_interval = 1 secs",  # IDLE falls back to polling without inotify
        "passdb {",
        "  driver = static",
        f"  args = password={PASSWORD}",
        "}",
        "userdb {",
        "  driver = static",
        f"  args = uid={users.mail_uid} gid={users.mail_gid} home={root / 'mail'}/%u",
        "}",
        "service imap-login {",
        "  inet_listener imap {",
        f"    port = {port}",
        "  }",
        "}",
        f"default_internal_user = {users.mail}",
        f"default_internal_group = {users.mail_group}",
        f"default_login_user = {users.login}",
        # Debian's dovecot user is a system account (uid < 500, Dovecot's default minimum).
        f"first_valid_uid = {max(users.mail_uid, 1)}",
        f"first_valid_gid = {max(users.mail_gid, 1)}",
    ]
    if os.geteuid() != 0:  # chroot needs root: run login and anvil processes unconfined
        lines += ["service imap-login {", "  chroot =", "}", "service anvil {", "  chroot =",
                  "}"]
    if not idle:
        lines.append(f"imap_capability = {CAPABILITIES_WITHOUT_IDLE}")
    return "\n".join([*lines, ""])


# -- the server ---------------------------------------------------------------------------------


@dataclass
class DovecotServer:
    """A running (or stopped) private Dovecot. Every user's password is ``password``."""

    host: str
    port: int
    base_dir: Path
    password: str = PASSWORD
    idle: bool = True
    binary: Path | None = field(default=None, repr=False)
    start_timeout: float = field(default=START_TIMEOUT_S, repr=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    # addresses and clients

    def url(self, user: str, folder: str = "INBOX") -> str:
        """``imap://USER:PASSWORD@HOST:PORT/FOLDER``, user, password and folder URL-quoted."""
        return (f"imap://{quote(user, safe='')}:{quote(self.password, safe='')}"
                f"@{self.host}:{self.port}/{quote(folder, safe='')}")

    def client(self, user: str) -> imapclient.IMAPClient:
        """An IMAPClient logged in as ``user``; the caller logs out."""
        import imapclient  # imported here: the module stays importable without imapclient

        try:
            conn = imapclient.IMAPClient(self.host, self.port, ssl=False,
                                         timeout=CLIENT_TIMEOUT_S)
        except OSError as exc:
            raise DovecotError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        try:
            conn.login(user, self.password)
        except BaseException:
            with suppress(Exception):
                conn.shutdown()
            raise
        return conn

    @contextmanager
    def session(self, user: str) -> Iterator[imapclient.IMAPClient]:
        """``with server.session(user) as imap:`` a logged-in client, logged out afterwards."""
        conn = self.client(user)
        try:
            yield conn
        finally:
            with suppress(Exception):
                conn.logout()

    # mailbox helpers (each opens its own connection)

    def append(self, user: str, message: bytes, folder: str = "INBOX",
               flags: Iterable[bytes | str] = ()) -> int:
        """APPEND ``message`` to ``folder``; returns its UID (from the APPENDUID response)."""
        with self.session(user) as imap:
            response = imap.append(folder, message, flags=tuple(flags))
        text = response.decode("ascii", "replace") if isinstance(response, bytes) else response
        match = re.search(r"\[APPENDUID \d+ (\d+)\]", str(text), re.IGNORECASE)
        if match is None:
            raise DovecotError(f"APPEND to {folder} gave no APPENDUID: {text!r}")
        return int(match.group(1))

    def messages(self, user: str,
                 folder: str = "INBOX") -> dict[int, tuple[set[bytes], bytes]]:
        """``{uid: (flags, raw message)}`` of ``folder``, read-only (flags are not changed).

        ``\\Recent`` is left out of the flags: it depends on which session looks first.
        """
        with self.session(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            if not uids:
                return {}
            fetched = imap.fetch(uids, ["FLAGS", "BODY.PEEK[]"])
        return {int(uid): ({bytes(flag) for flag in data[b"FLAGS"]} - {b"\\Recent"},
                           bytes(data[b"BODY[]"]))
                for uid, data in sorted(fetched.items())}

    def create_folder(self, user: str, folder: str) -> None:
        """CREATE ``folder`` (and subscribe to it)."""
        with self.session(user) as imap:
            imap.create_folder(folder)
            imap.subscribe_folder(folder)

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        """UIDVALIDITY of ``folder`` (STATUS)."""
        with self.session(user) as imap:
            return int(imap.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    # life cycle

    @property
    def log_file(self) -> Path:
        return self.base_dir / LOG_FILE

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Write the config and start ``dovecot -F`` on ``self.port``; wait until LOGIN works."""
        if self.is_running():
            return
        binary = self.binary or find_dovecot()
        users = _users()
        conf = self.base_dir / CONF_FILE
        conf.write_text(_config_text(self.base_dir, self.port, users, idle=self.idle))
        log_offset = len(self._read(LOG_FILE))
        with (self.base_dir / STDERR_FILE).open("wb") as err:
            try:
                self._proc = subprocess.Popen(
                    [str(binary), "-F", "-c", str(conf)], stdin=subprocess.DEVNULL,
                    stdout=err, stderr=subprocess.STDOUT, cwd=self.base_dir,
                    start_new_session=True)
            except OSError as exc:
                raise DovecotError(f"cannot run {binary}: {exc} (install the Debian package"
                                   f" '{DEBIAN_PACKAGE}')") from None
        _track(self)
        try:
            self._wait_ready(log_offset)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM the master's process group and wait; SIGKILL the group if stuck.

        The whole group, not only the master: a master told alone shuts down in ~1.1 s (it waits
        for its children), the group in a few ms. Appended mail is already on disk by then.
        """
        _untrack(self)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5)
        # Children still alive (the master died first) hold the port: end them too.
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            _signal_group(proc, signal.SIGKILL)
            time.sleep(0.02)

    def restart(self) -> None:
        """Stop, then start again on the same port with the same mail."""
        self.stop()
        self.start()

    # internals

    def _wait_ready(self, log_offset: int) -> None:
        deadline = time.monotonic() + self.start_timeout
        last = "no answer"
        while True:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                self._raise_exited(code, log_offset)
            last = _login_probe(self.host, self.port, self.password)
            if not last:
                return
            log = self._read(LOG_FILE)[log_offset:]
            if "startup failed, throttling" in log:  # a service dies at start: no use waiting
                raise DovecotError(f"Dovecot started but a service fails at start-up: "
                                   f"{_tail(_problems(log))}")
            if time.monotonic() > deadline:
                raise DovecotError(f"Dovecot port {self.host}:{self.port} not ready (LOGIN) after"
                                   f" {self.start_timeout:.0f} s: {last}; log: "
                                   f"{_tail(self._read(LOG_FILE)[log_offset:])}")
            time.sleep(0.05)

    def _raise_exited(self, code: int | None, log_offset: int) -> None:
        text = "\n".join([self._read(STDERR_FILE), self._read(LOG_FILE)[log_offset:]])
        reason = _tail(_problems(text))
        if "address already in use" in text.lower():
            raise _PortInUse(f"Dovecot could not listen on {self.host}:{self.port}, address"
                             f" already in use: {reason}")
        hint = ""
        if re.search(r"imap.*(doesn't exist|not found|no such file)", text, re.IGNORECASE):
            hint = f" (is the Debian package '{DEBIAN_PACKAGE}' installed?)"
        raise DovecotError(f"Dovecot exited (code {code}) at start-up, config {CONF_FILE}"
                           f" rejected?{hint}: {reason}")

    def _read(self, name: str) -> str:
        try:
            return (self.base_dir / name).read_text(errors="replace")
        except OSError:
            return ""


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # start_new_session=True made the master the leader of its own group (pgid == pid).
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _login_probe(host: str, port: int, password: str) -> str:
    """'' once a LOGIN succeeds, else why not (imap-login answers before auth is ready)."""
    try:
        conn = imaplib.IMAP4(host, port, timeout=2)
    except (imaplib.IMAP4.error, OSError) as exc:
        return f"connect: {exc}"
    try:
        conn.login(PROBE_USER, password)
        conn.noop()
        return ""
    except (imaplib.IMAP4.error, OSError) as exc:
        return f"LOGIN: {exc}"
    finally:
        with suppress(Exception):
            conn.logout()


def _problems(text: str) -> str:
    """The Fatal/Error lines of stderr + log, without timestamps and repeats (else all)."""
    kept: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^[A-Z][a-z]{2} +\d+ [\d:]{8} ", "", line.strip())
        if re.search(r"\b(Fatal|Error|Panic)\b", line) and line not in kept:
            kept.append(line)
    return "\n".join(kept) or text


def _tail(text: str, lines: int = 3, width: int = 400) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    joined = " | ".join(kept) or "(no output)"
    return joined if len(joined) <= width else "..." + joined[-width:]


_free_port = free_port
_servers = LiveServers()
_track = _servers.track
_untrack = _servers.untrack


# -- directories --------------------------------------------------------------------------------


_tmp_root = tmp_root


def _traversable(directory: Path, users: _Users) -> bool:
    """Whether Dovecot's users may reach ``directory``: it and every parent searchable."""
    for path in (directory, *directory.parents):
        try:
            st = path.stat()
        except OSError:
            return False
        for uid, gids in users.ids:
            if st.st_uid == uid:
                bit = stat.S_IXUSR
            elif st.st_gid in gids:
                bit = stat.S_IXGRP
            else:
                bit = stat.S_IXOTH
            if not st.st_mode & bit:
                return False
    return True


def _server_dir(base_dir: Path | None, users: _Users) -> Path:
    """A fresh 0o755 ``itma-dovecot-*`` directory under ``base_dir`` if usable, else /tmp."""
    parent = _tmp_root()
    if base_dir is not None:
        base_dir = Path(base_dir).absolute()
        base_dir.mkdir(parents=True, exist_ok=True)
        if _traversable(base_dir, users):
            parent = base_dir
    root = Path(tempfile.mkdtemp(prefix="itma-dovecot-", dir=parent))
    root.chmod(0o755)
    mail = root / "mail"
    mail.mkdir()
    if os.geteuid() == 0:
        os.chown(mail, users.mail_uid, users.mail_gid)
    return root


# -- starting -----------------------------------------------------------------------------------


def start_dovecot(base_dir: Path | None = None, *, idle: bool = True,
                  port: int | None = None) -> DovecotServer:
    """Start a server in a fresh directory (see ``_server_dir``); a free port when None.

    Call ``server.stop()`` and remove ``server.base_dir`` afterwards, or use ``dovecot()``.
    """
    binary = find_dovecot()
    users = _users()
    root = _server_dir(base_dir, users)
    server = DovecotServer(host=HOST, port=port or 0, base_dir=root, idle=idle, binary=binary)
    try:
        if port is not None:
            server.start()
            return server
        # A free port can be taken between probing and binding: retry with another one.
        for attempt in range(_PORT_ATTEMPTS):
            server.port = _free_port()
            try:
                server.start()
                return server
            except _PortInUse:
                if attempt == _PORT_ATTEMPTS - 1:
                    raise
    except BaseException:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    raise AssertionError("unreachable")


@contextmanager
def dovecot(base_dir: Path | None = None, *, idle: bool = True,
            port: int | None = None) -> Iterator[DovecotServer]:
    """Start a throwaway Dovecot, yield it, then stop it and remove its directory.

    ``idle=False`` advertises the default capabilities without IDLE.
    """
    server = start_dovecot(base_dir, idle=idle, port=port)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.base_dir, ignore_errors=True)
