"""The load generator, run in its own (spawned) process: C persistent SMTP client connections.

Each client connects and says EHLO before the clock starts, then sends its share of the
messages one after the other over its connection (MAIL, RCPT, DATA; smtplib does not pipeline).
A "421" (aiosmtpd's per-connection command budget, `command_call_limit`) or a dropped
connection is handled the way an MTA does: reconnect and send the same message again — the
message was not accepted, so nothing is sent twice. Latency of a message: from its MAIL to the
reply to its DATA, reconnections included. Wall time: from the first MAIL to the last DATA reply.
"""

from __future__ import annotations

import smtplib
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

HELO = "bench.bosa.example"
MAX_RETRIES = 5


class Client:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.smtp: smtplib.SMTP | None = None
        self.connections = 0

    def connect(self) -> smtplib.SMTP:
        if self.smtp is not None:
            self.drop()
        smtp = smtplib.SMTP(self.host, self.port, local_hostname=HELO, timeout=self.timeout)
        smtp.ehlo()
        self.smtp = smtp
        self.connections += 1
        return smtp

    def drop(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.close()
            finally:
                self.smtp = None

    def send(self, sender: str, recipient: str, raw: bytes) -> tuple[int, str]:
        """One message; (code, text) of the final reply (DATA, or the refusal before it)."""
        last: tuple[int, str] = (0, "not sent")
        for _attempt in range(MAX_RETRIES):
            smtp = self.smtp or self.connect()
            try:
                code, text = smtp.mail(sender)
                if code == 250:
                    code, text = smtp.rcpt(recipient)
                    if code == 250:
                        code, text = smtp.data(raw)
                        return code, text.decode("utf-8", "replace")
                    smtp.rset()
                last = (code, text.decode("utf-8", "replace"))
                if code != 421:
                    return last
                self.drop()  # over the server's per-connection budget: a new session
            except smtplib.SMTPResponseException as exc:  # DATA not answered 354
                last = (exc.smtp_code, exc.smtp_error.decode("utf-8", "replace"))
                if exc.smtp_code != 421:
                    return last
                self.drop()
            except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError) as exc:
                last = (0, f"{type(exc).__name__}: {exc}")
                self.drop()
        return last


def _client(index: int, spec: dict[str, Any], share: list[tuple[int, str, str, bytes]],
            barrier: threading.Barrier, out: list[Any]) -> None:
    client = Client(spec["host"], spec["port"], spec["timeout"])
    records = []
    try:
        client.connect()
    finally:
        barrier.wait()
    for serial, sender, recipient, raw in share:
        start = time.perf_counter()
        code, text = client.send(sender, recipient, raw)
        end = time.perf_counter()
        records.append((serial, start, end, code, text))
    try:
        if client.smtp is not None:
            client.smtp.quit()
    except smtplib.SMTPException:
        pass
    client.drop()
    out[index] = {"records": records, "connections": client.connections}


def run(spec: dict[str, Any], messages: list[tuple[str, str, bytes]], pipe: Connection) -> None:
    """Entry point of the spawned process; sends one dict back through `pipe`."""
    clients = spec["clients"]
    numbered = [(i, *m) for i, m in enumerate(messages)]
    barrier = threading.Barrier(clients)
    out: list[Any] = [None] * clients
    threads = [threading.Thread(target=_client, args=(k, spec, numbered[k::clients], barrier, out),
                                name=f"smtp-client-{k}", daemon=True) for k in range(clients)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + spec["deadline"]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        done = [o for o in out if o is not None]
        records = [r for o in done for r in o["records"]]
        if len(done) < clients:
            pipe.send({"error": f"only {len(done)} of {clients} clients finished in time",
                       "records": records})
            return
        pipe.send({"records": records, "connections": sum(o["connections"] for o in done)})
    except Exception as exc:  # report anything to the parent, then stop
        pipe.send({"error": f"{type(exc).__name__}: {exc}", "records": []})
    finally:
        pipe.close()
