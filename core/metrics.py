"""What an operator watches (GET /metrics, Prometheus text format): counted where things happen,
safe across processes, free for commands that do not serve.

Why lazy: `prometheus_client` is imported only by a process that calls `enable` (serve, and the
MTA-pipe doors `mail process` / `helpdesk process`); before that every recording function is a
no-op, so the CLI pays nothing at start-up.
Why files: serve may run as several processes on one host and an MTA pipe is one process per
mail; in prometheus_client's multiprocess mode each process writes its values to files under
PROMETHEUS_MULTIPROC_DIR (default `$ITMA_HOME/metrics`) and /metrics adds them up. What dead
processes counted is folded into one archive file at start-up, so counters never go back and
the directory does not grow with every restart.
Why fixed label values: a label is never a person, an address, a token or a number. Every
label takes its values from a list below; anything else is counted as "other".
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from core.config import ConfigError

log = logging.getLogger("itma.metrics")
turn_log = logging.getLogger("itma.turn")

FRONTS = ("slack", "teams", "intake")
HTTP_OUTCOMES = ("ok", "invalid", "unauthorized", "not_configured", "too_large", "error")
PLATFORMS = ("slack", "teams", "console", "mail", "cli")
INTENTS = (
    "enroll", "unenroll", "seats", "overview", "participants", "report", "requests", "approve",
    "refuse", "add", "link", "help", "renew", "access", "tracks", "track_pause", "track_resume",
    "track_change", "track_enroll", "track_unenroll", "helpdesk_tickets", "helpdesk_ticket",
    "helpdesk_take", "helpdesk_close", "helpdesk_reply", "confirm", "cancel", "number",
    "clarify", "unknown", "file", "card", "home", "unlinked")
"""The parser's intents, the answers to a pending question, and what is not text."""
ENROLLMENT_STATES = ("option", "enrolled", "waitlisted", "offered", "cancelled", "attended",
                     "no_show")
DECISIONS = ("approved", "refused")
VIA = ("slack", "teams", "console", "mail", "cli", "auto", "eid")
CHANNELS = ("mail", "slack", "teams")
MAILBOXES = ("replies", "helpdesk")
MAIL_OUTCOMES = (
    "approved", "refused", "already_decided", "refused_by_rules", "not_for_us", "automatic",
    "own_mail_loop", "sender_ambiguous", "duplicate", "token_unknown", "sender_not_token_owner",
    "sender_not_authenticated", "not_in_thread", "not_understood", "token_expired",
    "token_used", "token_revoked", "malformed", "ticket_opened", "ticket_updated")
CATEGORIES = ("access", "eid", "enrollment", "registration", "pdata", "certification", "report",
              "other")
LINK_OUTCOMES = (
    "shown", "linked", "access_form", "access_requested", "no_certificate", "cross_site",
    "confirmation_invalid", "access_form_invalid", "not_found",
    # core.eid.REASONS
    "malformed", "untrusted", "expired", "not_yet_valid", "signature_certificate", "key_usage",
    "eku", "country", "nrn_missing", "nrn_invalid", "revoked", "revocation_unknown",
    "signature",
    # the links service's refusals
    "link_unknown", "link_used", "link_expired", "link_no_officer", "access_expired",
    "access_already_officer", "link_bad_account")
BACKENDS = ("sqlite", "postgresql")
OTHER = "other"


def _one_of(value: object, allowed: tuple[str, ...]) -> str:
    text = str(value) if value is not None else ""
    return text if text in allowed else OTHER


class _Metrics:
    """The metric objects, built once `enable` has pointed prometheus_client at the files."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge

        self.http = Counter("itma_http_requests", "Requests to the HTTP front ends, by outcome",
                            ["front", "outcome"], registry=None)
        self.turns = Counter("itma_conversation_turns", "Conversation turns (Engine.handle), "
                             "by the intent read", ["platform", "intent"], registry=None)
        self.enrollments = Counter("itma_enrollments", "Enrollment state changes committed, by "
                                   "the state reached", ["state"], registry=None)
        self.unenrollments = Counter("itma_unenrollments", "Enrollments cancelled (committed)",
                                     registry=None)
        self.decisions = Counter("itma_decisions", "Registration and access requests decided "
                                 "(committed)", ["kind", "decision", "via"], registry=None)
        self.deliveries = Counter("itma_outbox_deliveries", "Outbox messages delivered",
                                  ["channel"], registry=None)
        self.delivery_failures = Counter("itma_outbox_delivery_failures", "Outbox deliveries "
                                         "that failed: deferred (retried) or permanent",
                                         ["channel", "kind"], registry=None)
        self.mails = Counter("itma_inbound_mails", "Mails received, by outcome",
                             ["mailbox", "outcome"], registry=None)
        self.tickets = Counter("itma_helpdesk_tickets", "Helpdesk tickets opened, by category",
                               ["category"], registry=None)
        self.links = Counter("itma_link_attempts", "Requests to the eID link page, by outcome "
                             "or refusal reason", ["outcome"], registry=None)
        self.database_errors = Counter("itma_database_errors", "Transactions that failed "
                                       "because the database could not be used", ["backend"],
                                       registry=None)
        self.imap_polled = Gauge("itma_imap_last_poll_timestamp_seconds", "When the mailbox "
                                 "was last read successfully", ["mailbox"],
                                 multiprocess_mode="mostrecent", registry=None)
        self.imap_waiting = Gauge("itma_imap_messages_waiting", "Messages above the checkpoint "
                                  "at the last successful read", ["mailbox"],
                                  multiprocess_mode="mostrecent", registry=None)


_metrics: _Metrics | None = None
_directory: Path | None = None


def enabled() -> bool:
    return _metrics is not None


def directory_for(home: Path) -> Path:
    """PROMETHEUS_MULTIPROC_DIR when the operator set it, else `$ITMA_HOME/metrics`."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(given) if given else home / "metrics"


def enable(home: Path, *, short_lived: bool = False) -> Path:
    """Record from now on, into the multiprocess directory (made, and tidied of dead
    processes' files, first). Idempotent; returns the directory. A short-lived process (an
    MTA pipe: one per mail) folds its own file into the archive when it exits, so the
    directory does not fill with one file per mail."""
    global _metrics, _directory
    if _metrics is not None and _directory is not None:
        return _directory
    path = directory_for(home)
    try:
        path.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
        if not short_lived:  # a pipe folds at exit, its own file and the dead ones' alike
            tidy(path)
    except OSError as exc:
        if short_lived:  # an MTA pipe: the mail matters more than its count
            log.warning("metrics not recorded: %s: %s", path, exc.strerror)
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            return path
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR: cannot use {path} for the metrics: "
                          f"{exc.strerror}") from exc
    from prometheus_client import metrics as client_metrics
    from prometheus_client import values

    if not getattr(values.ValueClass, "_multiprocess", False):  # imported before the variable
        values.ValueClass = client_metrics.values.ValueClass = values.MultiProcessValue()
    _directory, _metrics = path, _Metrics()
    if short_lived:
        atexit.register(finish)
    return path


def finish() -> None:
    """Stop recording and fold this process's files into the archive now."""
    path = _directory
    disable()
    if path is not None:
        tidy(path)


def disable() -> None:
    """Stop recording and close the files (tests that enable metrics in-process)."""
    global _metrics, _directory
    if _metrics is None:
        return
    from prometheus_client import values

    close = getattr(values.ValueClass, "close_all_files", None)
    if close is not None:
        close()
    _metrics = _directory = None


# --- Dead processes' files ------------------------------------------------------------------

@contextmanager
def _locked(path: Path, exclusive: bool) -> Iterator[None]:
    with (path / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tidy(path: Path) -> int:
    """Fold the files of processes that are gone (and any this pid left before) into
    `*_archive.db`: counters are added, most-recent gauges keep the latest value, live gauges
    go. Returns how many files were folded."""
    from prometheus_client.mmap_dict import MmapedDict

    folded = 0
    with _locked(path, exclusive=True):
        for file in sorted(path.glob("*.db")):
            name = file.name[:-3]
            kind, _, pid = name.rpartition("_")
            if not pid.isdigit() or (int(pid) != os.getpid() and _alive(int(pid))):
                continue
            if kind.startswith("gauge_live"):
                file.unlink()
            elif kind in ("counter", "histogram", "summary", "gauge_mostrecent"):
                archive = MmapedDict(str(path / f"{kind}_archive.db"))
                try:
                    for key, value, stamp, _ in MmapedDict.read_all_values_from_file(str(file)):
                        old, old_stamp = archive.read_value(key)
                        if kind == "gauge_mostrecent":
                            if stamp >= old_stamp:
                                archive.write_value(key, value, stamp)
                        else:
                            archive.write_value(key, old + value, 0.0)
                finally:
                    archive.close()
                file.unlink()
            else:
                continue
            folded += 1
    return folded


# --- Recording (no-ops until enabled) -------------------------------------------------------

def http_request(front: str, status: int) -> None:
    if _metrics is None:
        return
    outcome = ("ok" if status < 400 else "error" if status >= 500 else
               "unauthorized" if status in (401, 403) else "not_configured" if status == 404
               else "too_large" if status == 413 else "invalid")
    _metrics.http.labels(_one_of(front, FRONTS), outcome).inc()


def http_error(front: str) -> None:
    if _metrics is not None:
        _metrics.http.labels(_one_of(front, FRONTS), "error").inc()


_intent: ContextVar[list[str] | None] = ContextVar("itma_turn_intent", default=None)


class NotATurn(Exception):
    """Raised out of `turn` by what turned out to be no turn at all (a delivery handled
    before): neither counted nor logged."""


@contextmanager
def turn(platform: str, action: str | None = None) -> Iterator[None]:
    """Around one Engine.handle: counted once, by the intent `intent()` noted (a card action,
    the home tab, or an unlinked account otherwise), with one log line."""
    card = bool(action) and ":" in str(action) and not str(action).startswith("choose:")
    noted = ["card" if card else "home" if action == "home" else "unlinked"]
    token = _intent.set(noted)
    started = time.perf_counter()
    counted = True
    try:
        yield
    except NotATurn:
        counted = False
        raise
    finally:
        _intent.reset(token)
        if counted:
            _counted(platform, noted[0], started)


def _counted(platform: str, noted: str, started: float) -> None:
    intent = _one_of(noted, INTENTS)
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    turn_log.info("turn", extra={"platform": _one_of(platform, PLATFORMS), "intent": intent,
                                 "ms": elapsed})
    if _metrics is not None:
        _metrics.turns.labels(_one_of(platform, PLATFORMS), intent).inc()


def intent(name: object, action: str | None = None) -> None:
    """What the turn under way is about, for `turn`: the parser's intent, else the button
    pressed (a choice, confirm, cancel), else unknown."""
    noted = _intent.get()
    if noted is None:
        return
    if name is None and action:
        name = "number" if action.startswith("choose:") else action
    noted[0] = "unknown" if name is None else str(name)


def audited(actions: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Committed audit events: the one place every enrollment, unenrollment, decision and
    helpdesk ticket passes, whatever the path (chat, card, mail reply, CLI, jobs)."""
    if _metrics is None:
        return
    for action, details in actions:
        subject, _, what = action.partition(".")
        if subject == "enrollment":
            _metrics.enrollments.labels(_one_of(what, ENROLLMENT_STATES)).inc()
            if what == "cancelled":
                _metrics.unenrollments.inc()
        elif subject in ("request", "access") and what in DECISIONS:
            _metrics.decisions.labels(subject, what, _one_of(details.get("via"), VIA)).inc()
        elif action == "helpdesk.ticket_opened":
            _metrics.tickets.labels(_one_of(details.get("category"), CATEGORIES)).inc()


def delivered(channel: str) -> None:
    if _metrics is not None:
        _metrics.deliveries.labels(_one_of(channel, CHANNELS)).inc()


def delivery_failed(channel: str, permanent: bool) -> None:
    if _metrics is not None:
        _metrics.delivery_failures.labels(_one_of(channel, CHANNELS),
                                          "permanent" if permanent else "deferred").inc()


def inbound_mail(mailbox: str, outcome: str) -> None:
    if _metrics is not None:
        _metrics.mails.labels(_one_of(mailbox, MAILBOXES), _one_of(outcome, MAIL_OUTCOMES)).inc()


def link_attempt(outcome: str) -> None:
    if _metrics is not None:
        _metrics.links.labels(_one_of(outcome, LINK_OUTCOMES)).inc()


def database_error(backend: str) -> None:
    if _metrics is not None:
        _metrics.database_errors.labels(_one_of(backend, BACKENDS)).inc()


def imap_polled(mailbox: str, waiting: int) -> None:
    if _metrics is not None:
        label = _one_of(mailbox, MAILBOXES)
        _metrics.imap_polled.labels(label).set(time.time())
        _metrics.imap_waiting.labels(label).set(waiting)


# --- Scraping -------------------------------------------------------------------------------

Query = Callable[[], Iterable[tuple[str, int, float | None]] | None]
"""(channel, pending rows, age in seconds of the oldest) per channel, from the database; None
when it cannot be read now."""


def exposition(outbox: Query | None = None, channels: Iterable[str] = CHANNELS) -> bytes | None:
    """The text /metrics serves: every process's files, the outbox read now, the IMAP lag
    computed now; None when this process does not record metrics."""
    if _metrics is None or _directory is None:
        return None
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(_Scrape(_directory, outbox, tuple(channels)))
    with _locked(_directory, exclusive=False):
        return generate_latest(registry)


class _Scrape:
    """The files of every process, plus what is read at scrape time."""

    def __init__(self, path: Path, outbox: Query | None, channels: tuple[str, ...]) -> None:
        self.path, self.outbox, self.channels = path, outbox, channels

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily
        from prometheus_client.multiprocess import MultiProcessCollector

        lag = GaugeMetricFamily("itma_imap_lag_seconds", "Seconds since the mailbox was last "
                                "read successfully (by any process of this host)",
                                labels=["mailbox"])
        for family in MultiProcessCollector(None, str(self.path)).collect():
            if family.name == "itma_imap_last_poll_timestamp_seconds":
                for sample in family.samples:
                    lag.add_metric([sample.labels.get("mailbox", OTHER)],
                                   max(0.0, time.time() - sample.value))
            yield family
        yield lag
        rows = self.outbox() if self.outbox is not None else None
        if rows is None:
            return
        depth = GaugeMetricFamily("itma_outbox_pending", "Outbox messages waiting to be "
                                  "delivered (whole database)", labels=["channel"])
        age = GaugeMetricFamily("itma_outbox_oldest_pending_age_seconds", "Age of the oldest "
                                "message waiting (whole database)", labels=["channel"])
        found = {channel: (count, oldest) for channel, count, oldest in rows}
        for channel in sorted(set(self.channels) | set(found)):
            count, oldest = found.get(channel, (0, None))
            label = _one_of(channel, CHANNELS)
            depth.add_metric([label], count)
            age.add_metric([label], oldest or 0.0)
        yield depth
        yield age
