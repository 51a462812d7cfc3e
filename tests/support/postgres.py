"""A throwaway real PostgreSQL server, for tests and benchmarks.

    with postgres() as server:
        url = server.create_database("itma")      # postgresql+psycopg://postgres@127.0.0.1:PORT/itma

The server is a private cluster (``initdb``) listening on 127.0.0.1 and on a unix socket in its
own directory, with ``trust`` authentication and durability switched off for speed (unless
``fsync=True``). Nothing happens at import time.

Permissions. PostgreSQL refuses to run as root, so when this runs as root every server binary is
run through ``runuser -u postgres`` and the server directory is chowned to ``postgres``. That
directory and every parent must then be traversable by ``postgres``; pytest's ``tmp_path``
(under ``/tmp/pytest-of-root/``, mode 0o700) is not, so in that case the server directory is
created instead with ``tempfile.mkdtemp(prefix="itma-pg-")`` under ``/tmp`` (mode 0o755) and
``server.base_dir`` tells where it went. Run as ``postgres`` or any other non-root user that
owns ``base_dir``, the binaries are run directly. In every case the database superuser is
``postgres``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import LiveServers, free_port, tmp_root

DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
PG_BIN_ENV = "ITMA_PG_BIN"  # optional override: a directory containing initdb and pg_ctl
OS_USER = "postgres"
DB_SUPERUSER = "postgres"
HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
INITDB_TIMEOUT_S = 120.0
CONF_FILE = "itma-test.conf"
LOG_FILE = "postgres.log"
# sun_path is 108 bytes; the socket is DIR/.s.PGSQL.PORT and its lock DIR/.s.PGSQL.PORT.lock.
_SOCKET_PATH_MAX = 107
_PORT_ATTEMPTS = 5


class PostgresError(RuntimeError):
    """The throwaway server could not be provided; the message says why, in one line."""


class _PortInUse(PostgresError):
    """Another process listens on the port (start_postgres retries on another free port)."""


# -- binaries and the user that runs them -------------------------------------------------------


def find_pg_bin() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` containing ``initdb``.

    ``$ITMA_PG_BIN`` overrides the search; ``initdb`` on ``PATH`` is the last resort.
    """
    override = os.environ.get(PG_BIN_ENV)
    if override:
        if _executable(Path(override) / "initdb"):
            return Path(override)
        raise PostgresError(f"{PG_BIN_ENV}={override} does not contain an executable initdb")
    found: list[tuple[tuple[int, ...], Path]] = []
    for bin_dir in DEBIAN_PG_ROOT.glob("*/bin"):
        version = _version_key(bin_dir.parent.name)
        if version is not None and _executable(bin_dir / "initdb"):
            found.append((version, bin_dir))
    if found:
        return max(found)[1]
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise PostgresError(
        f"PostgreSQL server binaries not found (no initdb in {DEBIAN_PG_ROOT}/*/bin nor on PATH):"
        " install the Debian package 'postgresql' (apt-get install postgresql)"
    )


def _version_key(name: str) -> tuple[int, ...] | None:
    if not re.fullmatch(r"\d+(\.\d+)*", name):
        return None
    return tuple(int(part) for part in name.split("."))


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@dataclass(frozen=True)
class _Runner:
    """Runs server binaries as the OS user that owns the cluster."""

    via_runuser: bool
    uid: int
    gid: int
    gids: frozenset[int]

    def argv(self, argv: Sequence[str]) -> list[str]:
        if self.via_runuser:
            return ["runuser", "-u", OS_USER, "--", *argv]
        return list(argv)

    def give(self, path: Path) -> None:
        """Hand ``path`` to the cluster's owner (only needed, and only possible, as root)."""
        if self.via_runuser:
            os.chown(path, self.uid, self.gid)


def _runner() -> _Runner:
    if os.geteuid() != 0:
        uid, gid = os.geteuid(), os.getegid()
        return _Runner(False, uid, gid, frozenset({gid, *os.getgroups()}))
    try:
        entry = pwd.getpwnam(OS_USER)
    except KeyError:
        raise PostgresError(
            f"running as root needs the OS user {OS_USER!r} (install the Debian package"
            " 'postgresql') or run as a non-root user"
        ) from None
    if shutil.which("runuser") is None:
        raise PostgresError("running as root needs runuser (Debian package 'util-linux')")
    gids = frozenset(os.getgrouplist(OS_USER, entry.pw_gid))
    return _Runner(True, entry.pw_uid, entry.pw_gid, gids)


def _env() -> dict[str, str]:
    # PG* variables (PGDATA, PGPORT, PGOPTIONS...) of the caller must not leak into the cluster.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"  # English, parseable messages; the cluster's locale is set explicitly
    return env


def _run(runner: _Runner, argv: Sequence[str], *, cwd: Path,
         timeout: float) -> subprocess.CompletedProcess[str]:
    name = Path(argv[0]).name
    try:
        return subprocess.run(runner.argv(argv), cwd=cwd, env=_env(), capture_output=True,
                              text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise PostgresError(f"cannot run {name}: {exc}") from None
    except subprocess.TimeoutExpired:
        raise PostgresError(f"{name} did not finish within {timeout:.0f} s") from None


def _tail(text: str, lines: int = 3, width: int = 400) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    joined = " | ".join(kept) or "(no output)"
    return joined if len(joined) <= width else "..." + joined[-width:]


# -- the server ---------------------------------------------------------------------------------


@dataclass
class PostgresServer:
    """A running (or stopped) private cluster. ``user`` is the database superuser."""

    port: int
    host: str
    data_dir: Path
    socket_dir: Path
    user: str = DB_SUPERUSER
    base_dir: Path | None = None  # the server directory (may differ from the base_dir asked for)
    fsync: bool = False
    pg_bin: Path | None = field(default=None, repr=False)
    start_timeout: float = field(default=START_TIMEOUT_S, repr=False)
    _cleanup: list[Path] = field(default_factory=list, repr=False)
    _restore_owner: tuple[Path, int, int, int] | None = field(default=None, repr=False)

    # addresses

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5433/postgres``."""
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """libpq connection string, e.g. ``host=127.0.0.1 port=5433 user=postgres dbname=x``."""
        return (f"host={self.host} port={self.port} user={_dsn_value(self.user)}"
                f" dbname={_dsn_value(database)}")

    @property
    def log_file(self) -> Path:
        return (self.base_dir or self.data_dir.parent) / LOG_FILE

    # databases

    def create_database(self, name: str) -> str:
        """``CREATE DATABASE name`` (autocommit); returns its SQLAlchemy URL."""
        import psycopg  # imported here: the module stays importable without psycopg
        from psycopg import sql

        try:
            with psycopg.connect(self.dsn(), autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise PostgresError(f"CREATE DATABASE {name} failed: {_tail(str(exc), 1)}") from exc
        return self.url(name)

    # life cycle

    def is_running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def start(self) -> None:
        """Start on ``self.port`` and wait until it accepts TCP connections (idempotent)."""
        if self.is_running():
            return
        runner = _runner()
        pg_bin = self.pg_bin or find_pg_bin()
        self._write_conf(runner)
        cwd = self.base_dir or self.data_dir.parent
        timeout = self.start_timeout
        log_offset = len(self._read_log())
        result = _run(runner, [str(pg_bin / "pg_ctl"), "start", "-D", str(self.data_dir),
                               "-l", str(self.log_file), "-w", "-t", str(int(timeout))],
                      cwd=cwd, timeout=timeout + 10)
        if result.returncode != 0:
            log = self._read_log()[log_offset:]
            reason = _tail(log or result.stderr or result.stdout)
            if "address already in use" in log.lower():
                raise _PortInUse(f"PostgreSQL could not listen on {self.host}:{self.port},"
                                 f" address already in use: {reason}")
            raise PostgresError(f"PostgreSQL did not start on port {self.port}: {reason}")
        deadline = time.monotonic() + timeout
        while not _accepts(self.host, self.port):
            if time.monotonic() > deadline:
                raise PostgresError(f"port {self.port} not ready after {timeout:.0f} s")
            time.sleep(0.05)
        _track(self)

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; does nothing when the server is not running."""
        _untrack(self)
        if not self.is_running():
            return
        pg_bin = self.pg_bin or find_pg_bin()
        result = _run(_runner(), [str(pg_bin / "pg_ctl"), "stop", "-D", str(self.data_dir),
                                  "-m", "fast", "-w", "-t", str(int(STOP_TIMEOUT_S))],
                      cwd=self.base_dir or self.data_dir.parent, timeout=STOP_TIMEOUT_S + 10)
        if result.returncode != 0 and self.is_running():
            raise PostgresError(f"pg_ctl stop failed: {_tail(result.stderr or result.stdout)}")

    def restart(self) -> None:
        """Stop, then start again on the same port with the same data."""
        self.stop()
        self.start()

    def destroy(self) -> None:
        """Stop, then remove what ``start_postgres`` created (data, log, temporary dirs)."""
        self.stop()
        for path in self._cleanup:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        self._cleanup.clear()
        if self._restore_owner is not None:
            path, uid, gid, mode = self._restore_owner
            with suppress(OSError):
                os.chown(path, uid, gid)
                path.chmod(mode)
            self._restore_owner = None

    # internals

    def _write_conf(self, runner: _Runner) -> None:
        conf = self.data_dir / CONF_FILE
        conf.write_text(_settings_text(self.port, self.socket_dir, fsync=self.fsync))
        runner.give(conf)

    def _read_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""


def _dsn_value(value: str) -> str:
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _settings_text(port: int, socket_dir: Path, *, fsync: bool) -> str:
    durable = "on" if fsync else "off"
    socket_path = str(socket_dir).replace("'", "''")
    return "\n".join([
        "# written by tests/support/postgres.py",
        f"port = {port}",
        f"listen_addresses = '{HOST}'",
        f"unix_socket_directories = '{socket_path}'",
        "max_connections = 200",
        "shared_buffers = 128MB",
        f"fsync = {durable}",
        f"synchronous_commit = {durable}",
        f"full_page_writes = {durable}",
        "",
    ])


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


_free_port = free_port
_servers = LiveServers()
_track = _servers.track
_untrack = _servers.untrack


# -- directories --------------------------------------------------------------------------------


_tmp_root = tmp_root


def _searchable(directory: Path, runner: _Runner) -> bool:
    """Whether the cluster owner may traverse ``directory`` (True when it does not exist yet)."""
    try:
        st = directory.stat()
    except FileNotFoundError:
        return True  # created with mode 0o755
    except OSError:
        return False
    if st.st_uid == runner.uid:
        bit = stat.S_IXUSR
    elif st.st_gid in runner.gids:
        bit = stat.S_IXGRP
    else:
        bit = stat.S_IXOTH
    return bool(st.st_mode & bit)


def _traversable(path: Path, runner: _Runner) -> bool:
    """Whether the cluster owner can reach ``path``: every existing parent searchable."""
    return all(_searchable(parent, runner) for parent in path.parents)


def _mkdirs_0755(path: Path) -> Path | None:
    """Create ``path`` and missing parents with mode 0o755; return the topmost one created."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir()
        directory.chmod(0o755)
    return missing[-1] if missing else None


def _mkdtemp(prefix: str, runner: _Runner, parent: Path | None = None) -> Path:
    made = Path(tempfile.mkdtemp(prefix=prefix, dir=parent or _tmp_root()))
    made.chmod(0o755)
    runner.give(made)
    return made


# -- starting -----------------------------------------------------------------------------------


def start_postgres(base_dir: Path, *, port: int | None = None, fsync: bool = False,
                   start_timeout: float = START_TIMEOUT_S) -> PostgresServer:
    """initdb a cluster in ``base_dir / "data"`` and start it; a free port when ``port`` is None.

    ``base_dir`` is created when missing (mode 0o755) and becomes the server directory holding
    the data directory, the log and the unix socket — unless running as root and ``postgres``
    cannot traverse it, then a ``/tmp/itma-pg-*`` directory is used (see ``server.base_dir``).
    Call ``server.destroy()`` (or use ``postgres()``) to stop it and remove what was created.
    """
    pg_bin = find_pg_bin()
    runner = _runner()
    server = _prepare_dirs(Path(base_dir).absolute(), runner, pg_bin)
    server.start_timeout = start_timeout
    server.fsync = fsync
    try:
        _initdb(server, runner, pg_bin, fsync=fsync)
        _start_on_port(server, port)
    except BaseException:
        server.destroy()
        raise
    return server


def _prepare_dirs(base_dir: Path, runner: _Runner, pg_bin: Path) -> PostgresServer:
    cleanup: list[Path] = []
    restore: tuple[Path, int, int, int] | None = None
    if runner.via_runuser:
        root, cleanup, restore = _server_dir_as_root(base_dir, runner)
    else:
        created = _mkdirs_0755(base_dir)
        root = base_dir
        if created is not None:
            cleanup.append(created)
        if not os.access(root, os.W_OK | os.X_OK):
            raise PostgresError(f"{root} is not writable by uid {os.geteuid()}")
    data_dir = root / "data"
    if data_dir.exists():
        raise PostgresError(f"{data_dir} already exists: give start_postgres a fresh directory")
    if not cleanup:  # base_dir existed: remove only what we put there
        cleanup.extend([data_dir, root / LOG_FILE])
    socket_dir = root
    if len(str(root / ".s.PGSQL.65535.lock")) > _SOCKET_PATH_MAX:
        socket_dir = _mkdtemp("itma-pgsock-", runner)
        cleanup.append(socket_dir)
    return PostgresServer(port=0, host=HOST, data_dir=data_dir, socket_dir=socket_dir,
                          base_dir=root, pg_bin=pg_bin, _cleanup=cleanup,
                          _restore_owner=restore)


def _server_dir_as_root(
    base_dir: Path, runner: _Runner,
) -> tuple[Path, list[Path], tuple[Path, int, int, int] | None]:
    """Pick the server directory when running as root: (directory, to remove, owner to restore).

    - a parent of ``base_dir`` not traversable by ``postgres`` (pytest's ``tmp_path``):
      a fresh ``/tmp/itma-pg-*`` directory;
    - ``base_dir`` missing: created (with missing parents) mode 0o755, owned by ``postgres``;
    - ``base_dir`` owned by ``postgres``, or empty: used, chowned (owner restored by destroy());
    - otherwise (somebody else's non-empty directory, never chowned): ``base_dir/itma-pg-*``.
    """
    if not _traversable(base_dir, runner):
        made = _mkdtemp("itma-pg-", runner, _tmp_root())
        return made, [made], None
    created = _mkdirs_0755(base_dir)
    if created is not None:
        runner.give(base_dir)
        return base_dir, [created], None
    st = base_dir.stat()
    if st.st_uid == runner.uid:
        return base_dir, [], None
    if not any(base_dir.iterdir()):
        base_dir.chmod(0o755)
        runner.give(base_dir)
        return base_dir, [], (base_dir, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    parent = base_dir if _searchable(base_dir, runner) else _tmp_root()
    made = _mkdtemp("itma-pg-", runner, parent)
    return made, [made], None


def _initdb(server: PostgresServer, runner: _Runner, pg_bin: Path, *, fsync: bool) -> None:
    cwd = server.base_dir or server.data_dir.parent
    result: subprocess.CompletedProcess[str] | None = None
    for locale in ("C.UTF-8", "C"):
        argv = [str(pg_bin / "initdb"), "-D", str(server.data_dir), "-U", server.user,
                "--auth=trust", "-E", "UTF8", f"--locale={locale}", "--no-instructions"]
        if not fsync:
            argv.append("--no-sync")
        result = _run(runner, argv, cwd=cwd, timeout=INITDB_TIMEOUT_S)
        if result.returncode == 0:
            break
        shutil.rmtree(server.data_dir, ignore_errors=True)
        if "locale" not in (result.stderr + result.stdout).lower():
            break
    assert result is not None
    if result.returncode != 0:
        raise PostgresError(f"initdb failed (exit {result.returncode}): "
                            f"{_tail(result.stderr or result.stdout)}")
    # Our settings live in an included file that start() rewrites (with the port) every time.
    with (server.data_dir / "postgresql.conf").open("a") as conf:
        conf.write(f"\ninclude_if_exists = '{CONF_FILE}'\n")


def _start_on_port(server: PostgresServer, port: int | None) -> None:
    if port is not None:
        server.port = port
        server.start()
        return
    # A free port can be taken between probing and binding: retry with another one.
    for attempt in range(_PORT_ATTEMPTS):
        server.port = _free_port()
        try:
            server.start()
            return
        except _PortInUse:
            if attempt == _PORT_ATTEMPTS - 1:
                raise


@contextmanager
def postgres(base_dir: Path | None = None, *, port: int | None = None,
             fsync: bool = False) -> Iterator[PostgresServer]:
    """Start a throwaway server, yield it, then stop it and remove its directory.

    With ``base_dir=None`` the server lives in a fresh ``/tmp/itma-pg-*`` directory.
    """
    owned: Path | None = None
    if base_dir is None:
        owned = base_dir = _mkdtemp("itma-pg-", _runner())
    try:
        server = start_postgres(base_dir, port=port, fsync=fsync)
        try:
            yield server
        finally:
            server.destroy()
    finally:
        if owned is not None:
            shutil.rmtree(owned, ignore_errors=True)
