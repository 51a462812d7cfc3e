"""What every command shares: the App, the operator's language, output and clean errors.

Light to import, like cli.main: the App (SQLAlchemy, the models) is imported by make_app, and
`run` recognises the failures of modules a command imported without importing them itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import weakref
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from typing import TYPE_CHECKING, Any

from core import i18n
from core.config import ConfigError, Settings, load_settings
from core.errors import DomainError
from core.services.csvfile import ImportRejected

if TYPE_CHECKING:
    from core.app import App

log = logging.getLogger("itma")


class CommandError(Exception):
    """A one-line failure of a command; exit code 1 unless given."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def operator_language() -> str:
    for name in ("ITMA_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")[:2].lower()
        if value in i18n.LANGUAGES:
            return value
    return "en"


def setup_logging(settings: Settings) -> None:
    """Log to $ITMA_HOME/logs/itma.log; the console only shows the one-line errors."""
    root = logging.getLogger()
    if any(isinstance(h, RotatingFileHandler) for h in root.handlers):
        return
    try:
        (settings.home / "logs").mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(settings.home / "logs" / "itma.log",
                                      maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return
    from core import logs  # format (ITMA_LOG_FORMAT) and the redaction every line goes through

    # first, so its filter has cleaned the record before any other handler (the console) runs
    root.handlers.insert(0, logs.install(handler, settings.log_format))
    root.setLevel(logging.INFO)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: every command, address


class OneLine(logging.Formatter):
    """Console lines for operators: time, level, message — the traceback stays in the file."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.formatTime(record, '%H:%M:%S')} {record.levelname.lower()}: " \
               f"{record.getMessage()}"


def log_to_console(level: int = logging.WARNING) -> None:
    """Long-running commands (serve) also show warnings on stderr, one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(OneLine())
    logging.getLogger().addHandler(handler)


def private_files() -> None:
    """Everything this process creates — database, WAL, secret key, logs, Maildir, exports —
    is readable by its owner only: they hold personal data and secrets."""
    os.umask(0o077)


def secure_home(settings: Settings) -> None:
    """ITMA_HOME is 0700, so what an older version left group- or world-readable inside it
    is out of reach too."""
    try:
        settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        settings.home.chmod(0o700)
    except OSError as exc:
        raise ConfigError(f"ITMA_HOME: cannot create or protect {settings.home}: "
                          f"{exc.strerror}") from exc


_apps: weakref.WeakSet[App] = weakref.WeakSet()


def make_app(check_schema: bool = True) -> App:
    from core.app import App

    settings = load_settings()
    secure_home(settings)
    setup_logging(settings)
    app = App(settings)
    _apps.add(app)
    if check_schema:
        app.db.check_schema()
    return app


def close_apps() -> None:
    """Close the database connections of every App this process made and still holds (the
    console script's fast exit, cli.main.entry); a failure to close is no reason to fail."""
    for app in list(_apps):
        with contextlib.suppress(Exception):
            app.close()


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=None, default=str))


def run(handler: Callable[[], int | None]) -> int:
    """Run a command; every known failure becomes one line on stderr and a non-zero exit."""
    language = operator_language()
    try:
        return handler() or 0
    except ImportRejected as exc:
        print(f"error: {exc.message(language)}", file=sys.stderr)
        for error in exc.errors:
            print(f"  line {error.line}, column {error.column}: {error.reason}", file=sys.stderr)
        return 1
    except _loaded("core.services.intake", "InvalidRequest") as exc:
        print(f"error: {exc.message(language)}", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error.field}: {error.reason}", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"error: {exc.message(language)}", file=sys.stderr)
        return 1
    except (ConfigError, _loaded("core.db", "DatabaseError"), CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "code", 2) if isinstance(exc, CommandError) else 2
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except Exception as exc:  # the promise: never a traceback on the console
        log.exception("unexpected error")
        print(f"error: unexpected {type(exc).__name__}; details in $ITMA_HOME/logs/itma.log",
              file=sys.stderr)
        return 70


class _NotRaised(Exception):
    """Stands for the exception class of a module never imported: nothing raised one."""


def _loaded(module: str, name: str) -> type[Exception]:
    """An exception class of `module` if the command imported it (an except clause is only
    evaluated once something was raised, by then the command imported what it used)."""
    found = sys.modules.get(module)
    return getattr(found, name) if found is not None else _NotRaised
