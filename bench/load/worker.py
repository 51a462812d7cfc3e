"""One load worker, run in its own spawned process: its own App, one connection, a fixed mix.

``run(spec, conn)`` builds ``core.app.App`` from the bench settings, plays a few untimed
operations (warm-up: connection, SQL compilation caches), says ``ready`` on ``conn``, receives
the start instant (``time.monotonic()``, system-wide on Linux) and then loops until start +
seconds over the mix, one operation after another (closed loop, no think time):

* enroll (ENROLL_SHARE): a random collaborator of the officer's organisations in a random
  upcoming session the officer may book — ``enrollment.enroll`` in one unit of work;
* unenroll (UNENROLL_SHARE): a random still-active enrollment this worker made —
  ``enrollment.unenroll`` in one unit of work (an enroll instead while it has made none);
* request (the rest): ``requests.submit`` of a new person asking for one of the officer's
  sessions, then ``requests.approve`` by that officer — two units of work, two transactions.
  With ``intake_url`` in the spec the submit goes through ``POST /intake/registrations`` of an
  ``itma-assistant serve`` process instead (HMAC-signed, one keep-alive connection), the only
  one of these operations with an HTTP endpoint of its own.

The officer is drawn per operation among the officers with valid access and their
authorisation loaded inside the unit of work, once (``authority.load``: one statement), as
every front end loads its officer once per turn. A ``DomainError`` (already enrolled, in
another session of the training, full…) is a completed business transaction, recorded as
``refused:<code>``; anything else is an error. Every transaction is one record
``(kind, outcome, started_s, latency_ms, statements, cpu_ms)`` (cpu_ms: this process's CPU
time during the transaction), sent back with the worker's CPU time.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import random
import resource
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event

from core import nrn
from core.demo import names
from core.errors import DomainError
from core.services import authority, enrollment, requests

ENROLL_SHARE, UNENROLL_SHARE = 0.60, 0.25  # the rest: submit + approve
WARMUP_OPERATIONS = 12
BYE_TIMEOUT_S = 60.0

Record = tuple[str, str, float, float, int, float]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Worker:
    def __init__(self, spec: dict[str, Any]) -> None:
        from bench.load.world import make_app  # spawned: import in the child

        self.spec = spec
        self.rng = random.Random(spec["seed"])
        self.app = make_app(Path(spec["home"]), spec["url"])
        self.officers: list[dict[str, Any]] = spec["plan"]
        self.made: list[tuple[int, int]] = []  # (officer id, enrollment id), still active
        self.records: list[Record] = []
        self.serial = 0
        self.statements = 0
        self.origin = 0.0
        self.taken: set[str] = set()
        self.errors: list[str] = []  # the first few unexpected tracebacks
        self.intake: http.client.HTTPConnection | None = None
        if spec.get("intake_url"):  # submit through the HTTP endpoint, keep-alive
            url = urlsplit(spec["intake_url"])
            self.intake = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port,
                                                     timeout=30)
            self.intake_path = url.path
            self.intake_secret = spec["intake_secret"].encode()

        @event.listens_for(self.app.db.engine, "before_cursor_execute")
        def _count(*_args: Any) -> None:
            self.statements += 1

    # -- one transaction, timed ---------------------------------------------------------------

    def _timed(self, kind: str, work: Any) -> Any:
        before = self.statements
        cpu = time.thread_time()
        start = time.perf_counter()
        result = None
        try:
            result, outcome = work()
        except DomainError as exc:
            outcome = f"refused:{exc.code}"
        except Exception as exc:
            outcome = f"error:{type(exc).__name__}"
            if len(self.errors) < 5:
                self.errors.append(traceback.format_exc(limit=3))
        end = time.perf_counter()
        self.records.append((kind, outcome, start - self.origin, (end - start) * 1000,
                             self.statements - before, (time.thread_time() - cpu) * 1000))
        return result

    @staticmethod
    def _authority(uow: Any, officer_id: int) -> authority.Authority:
        found = authority.load(uow, officer_id)
        if found is None:
            raise RuntimeError(f"officer {officer_id} is gone")
        return found

    def enroll(self, officer: dict[str, Any]) -> None:
        person = self.rng.choice(officer["collaborators"])
        session_id = self.rng.choice(officer["sessions"])[0]

        def work() -> tuple[int, str]:
            with self.app.unit_of_work() as uow:
                found = self._authority(uow, officer["id"])
                outcome = enrollment.enroll(uow, found, person, session_id)
                made = outcome.enrollment.id, str(outcome.enrollment.state)
            return made[0], made[1]

        made = self._timed("enroll", work)
        if made is not None:
            self.made.append((officer["id"], made))

    def unenroll(self) -> None:
        index = self.rng.randrange(len(self.made))
        self.made[index], self.made[-1] = self.made[-1], self.made[index]
        officer_id, enrollment_id = self.made.pop()

        def work() -> tuple[None, str]:
            with self.app.unit_of_work() as uow:
                found = self._authority(uow, officer_id)
                outcome = enrollment.unenroll(uow, found, enrollment_id, reason="bench")
                state = str(outcome.enrollment.state)
                if outcome.promoted is not None:
                    state += "+promoted"
            return None, state

        self._timed("unenroll", work)

    def request(self, officer: dict[str, Any]) -> None:
        payload = self._payload(officer)

        def submit() -> tuple[int, str]:
            with self.app.unit_of_work() as uow:
                found, created = requests.submit(uow, payload)
                request_id = found.id
            return request_id, "submitted" if created else "duplicate"

        request_id = self._timed("submit", self._http_submit(payload) if self.intake else submit)
        if request_id is None:
            return

        def approve() -> tuple[int | None, str]:
            with self.app.unit_of_work() as uow:
                found = self._authority(uow, officer["id"])
                _request, outcome = requests.approve(uow, found, request_id)
                made = (outcome.enrollment.id, str(outcome.enrollment.state)) if outcome \
                    else (None, "subscribed")
            return made[0], f"approved:{made[1]}"

        made = self._timed("approve", approve)
        if made is not None:
            self.made.append((officer["id"], made))

    def _http_submit(self, payload: dict[str, Any]) -> Any:
        """POST /intake/registrations of the serve process, signed like the public site."""
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(self.intake_secret, body, hashlib.sha256).hexdigest()

        def submit() -> tuple[int, str]:
            assert self.intake is not None
            try:
                self.intake.request("POST", self.intake_path, body, {
                    "content-type": "application/json", "x-itma-signature": signature})
                answer = self.intake.getresponse()
                data = answer.read()
            except (OSError, http.client.HTTPException):
                self.intake.close()  # reconnects on the next request
                raise
            if answer.status in (200, 201):
                return int(json.loads(data)["id"]), ("http:submitted" if answer.status == 201
                                                      else "http:duplicate")
            if answer.status == 422:
                raise DomainError("http_422")
            raise RuntimeError(f"intake answered {answer.status}: {data[:200]!r}")

        return submit

    def _payload(self, officer: dict[str, Any]) -> dict[str, Any]:
        self.serial += 1
        person = names.people(self.rng, 1, homonym_rate=0.0)[0]
        organisation = self.rng.choice(officer["organisations"])
        number = nrn.generate(self.rng, birth_date=person.birth_date, sex=person.sex)
        _sid, code, start = self.rng.choice(officer["sessions"])
        return {
            "external_id": f"bench-load-{self.spec['tag']}-{self.serial}",
            "person": {"surname": person.surname, "given_names": person.given_names,
                       "email": names.email_for(person, "example.be", self.taken),
                       "language": person.language, "organisation": organisation,
                       "national_register_number": number},
            "wants": {"kind": "session", "training_code": code, "session_start": start}}

    # -- the mix --------------------------------------------------------------------------------

    def operation(self) -> None:
        officer = self.rng.choice(self.officers)
        draw = self.rng.random()
        if draw < ENROLL_SHARE or (draw < ENROLL_SHARE + UNENROLL_SHARE and not self.made):
            self.enroll(officer)
        elif draw < ENROLL_SHARE + UNENROLL_SHARE:
            self.unenroll()
        else:
            self.request(officer)


    def close(self) -> None:
        self.app.close()
        if self.intake is not None:
            self.intake.close()


def run(spec: dict[str, Any], conn: Connection, make: Any = Worker) -> None:
    """The process target: warm up, report ready, wait for the start, loop, send the records.
    `make`: the worker class (Worker, or raw.RawWorker for the plain-SQL side)."""
    worker = None
    try:
        worker = make(spec)
        for _ in range(WARMUP_OPERATIONS):
            worker.operation()
        warm = len(worker.records)
        worker.records.clear()
        conn.send({"ready": True, "warmup_transactions": warm})
        start = conn.recv()
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        worker.origin = start
        end = start + float(spec["seconds"])
        cpu_before, statements_before = cpu_seconds(), worker.statements
        while time.monotonic() < end:
            worker.operation()
        finished = time.monotonic()
        conn.send({"records": worker.records, "cpu_s": cpu_seconds() - cpu_before,
                   "statements": worker.statements - statements_before,
                   "finished_s": finished - start, "errors": worker.errors})
        # Keep the connection (and its server backend) until the parent has read the server's
        # CPU time: a backend that exits meanwhile would blur that account.
        with contextlib.suppress(EOFError, OSError):
            if conn.poll(BYE_TIMEOUT_S):
                conn.recv()
    except EOFError:
        pass  # the parent gave up (and closed its end) before the start
    except Exception:
        with contextlib.suppress(OSError):
            conn.send({"error": traceback.format_exc(limit=8)})
    finally:
        if worker is not None:
            worker.close()
        conn.close()
