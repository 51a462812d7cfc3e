"""Reading a received mail without trusting it: the sender, Authentication-Results, bounded
MIME, automatic subjects and the cost of reading the verdict."""

from __future__ import annotations

import time
from email import message_from_bytes, policy

import pytest

from mail_gateway import authentication
from mail_gateway.automatic import automatic_reason
from mail_gateway.headers import Headers, clean
from mail_gateway.parsing import MAX_DEPTH, Malformed, parse
from mail_gateway.quoting import read_verdict


def headers(*lines: bytes, body: bytes = b"OK\r\n") -> Headers:
    raw = b"\r\n".join([*lines, b"To: reply+x@itma.localhost"]) + b"\r\n\r\n" + body
    return Headers(parse(raw))


@pytest.mark.parametrize("from_lines", [
    [b"From: officer@jus.example (Officer) <attacker@evil.example>"],
    [b"From: officer@jus.example <attacker@evil.example>"],
    [b"From: officer@jus.example, attacker@evil.example"],
    [b"From: Officer <officer@jus.example>", b"From: attacker@evil.example"],
    [b'From: "officer@jus.example" <attacker@evil.example>'],
    [b"From: =?utf-8?q?officer=40jus.example?= <attacker@evil.example>"],
    [b"From: officer\xef\xbc\xa0jus.example <attacker@evil.example>"],  # full-width at sign
    [b"From: Officer <attacker@evil.example> (officer@jus.example)"],
    [b"From: <@jus.example:attacker@evil.example>"],
    [b"From: Team: officer@jus.example;"],
    [b"From: officer"],
    [b"From: Officer <officer@jus.ex\xe9ample>"],
    [],
])
def test_a_sender_that_could_be_read_two_ways_is_not_read(from_lines: list[bytes]) -> None:
    sender, why = headers(*from_lines).sender()
    assert sender is None and why


@pytest.mark.parametrize(("line", "expected"), [
    (b"From: Officer <Officer@Jus.Example>", "officer@jus.example"),
    (b"From: officer@jus.example", "officer@jus.example"),
    (b"From: officer@jus.example (Officer)", "officer@jus.example"),
    (b"From: John Q. Public <officer@jus.example>", "officer@jus.example"),
    (b"From: =?utf-8?q?Sophie_L=C3=A9onard?= <officer@jus.example>", "officer@jus.example"),
    (b"From: Sophie L\xe9onard <officer@jus.example>", "officer@jus.example"),
    (b"From: \"Lambert, Sophie\"\r\n <officer@jus.example>", "officer@jus.example"),
])
def test_a_plain_sender_is_read(line: bytes, expected: str) -> None:
    assert headers(line).sender() == (expected, "")


def test_header_bytes_are_decoded_or_replaced_never_kept_as_surrogates() -> None:
    read = headers(b"From: a@b.example", b"Message-ID: <x.\xff\xfe@b.example>",
                   b"Subject: R\xe9ponse automatique", b"X-Nul: a\x00b")
    assert read.get("Message-ID") == "<x.ÿþ@b.example>"
    assert read.subject() == "Réponse automatique"
    assert read.get("X-Nul") == "a\ufffdb"
    for value in (read.get("Message-ID"), read.subject(), read.get("X-Nul")):
        value.encode("utf-8")
    assert clean("caf\udcc3\udca9") == "café"


AUTHSERV = "mx.itma.localhost"


@pytest.mark.parametrize(("results", "authenticated"), [
    ([f"{AUTHSERV}; dmarc=pass (p=reject) header.from=jus.example"], True),
    ([f"{AUTHSERV}; dkim=pass header.d=jus.example header.s=s1"], True),
    ([f"{AUTHSERV}; dkim=pass header.d=mail.jus.example"], True),  # relaxed alignment
    ([f"{AUTHSERV}; dkim=pass header.i=@jus.example"], True),
    ([f"(comment) {AUTHSERV.upper()} 1; dmarc=pass header.from=jus.example"], True),
    ([f"{AUTHSERV}; dkim=pass header.d=example"], False),  # a top-level domain never aligns
    ([f"{AUTHSERV}; dkim=pass header.d=evil.example"], False),
    ([f"{AUTHSERV}; dmarc=pass header.from=evil.example"], False),
    ([f"{AUTHSERV}; dmarc=fail header.from=jus.example"], False),
    ([f"{AUTHSERV}; spf=pass smtp.mailfrom=jus.example"], False),
    ([f"{AUTHSERV}; none"], False),
    ([f"{AUTHSERV}; dmarc=pass header.from=jus.example ;;; ===="], False),  # unreadable
    (["mx.evil.example; dmarc=pass header.from=jus.example"], False),  # not our MTA
    ([f"{AUTHSERV}.evil.example; dmarc=pass header.from=jus.example"], False),
    ([f"{AUTHSERV}; dmarc=fail header.from=jus.example",  # ours on top; a forged one below
      f"{AUTHSERV}; dmarc=pass header.from=jus.example"], False),
    ([], False),
])
def test_only_our_topmost_authentication_results_count(results: list[str],
                                                        authenticated: bool) -> None:
    read = headers(b"From: Officer <officer@jus.example>",
                   *[f"Authentication-Results: {value}".encode() for value in results])
    problem = authentication.problem(read, AUTHSERV, "officer@jus.example")
    assert (problem is None) == authenticated, problem


def test_without_an_authserv_id_nothing_is_required() -> None:
    assert authentication.problem(headers(b"From: a@jus.example"), None, "a@jus.example") is None


@pytest.mark.parametrize("subject", [
    "[AUTO GENERATED] RE: Nouvelle inscription : Mertens Julie (BOSA)",
    "Réponse automatique : Nouvelle inscription", "Automatisch antwoord: Nieuwe inschrijving",
    "Abwesenheitsnotiz: Neue Anmeldung", "Out of Office: New registration",
    "=?iso-8859-1?q?R=E9ponse_automatique=A0:_absent?=",
    "Afwezig: Nouvelle inscription : Mertens Julie (BOSA)", "Urlaub: Neue Anmeldung",
])
def test_a_subject_alone_can_show_a_machine(subject: str) -> None:
    read = headers(b"From: Officer <officer@jus.example>", b"Subject: " + subject.encode())
    assert automatic_reason(read) == "out-of-office subject"


@pytest.mark.parametrize("subject", [
    "Undeliverable: Your enrollment for DIG-105 has been confirmed",
    "Non remis : Votre accès gestionnaire expire dans 7 jours",
    "Onbestelbaar: Nieuwe inschrijving", "Unzustellbar: Ihre Einschreibung für IFA-107",
    "Undelivered Mail Returned to Sender", "Mail delivery failed: returning message to sender",
])
def test_a_bounce_subject_alone_shows_a_machine(subject: str) -> None:
    read = headers(b"From: Officer <officer@jus.example>", b"Subject: " + subject.encode())
    assert automatic_reason(read) == "delivery failure subject"


@pytest.mark.parametrize("subject", [
    "Why was my mail undeliverable?", "RE: Undeliverable: Nieuwe inschrijving",
])
def test_people_asking_about_a_bounce_are_people(subject: str) -> None:
    read = headers(b"From: Officer <officer@jus.example>", b"Subject: " + subject.encode())
    assert automatic_reason(read) is None


@pytest.mark.parametrize("subject", [
    "remplacement pendant mon congé", "Question about vacation days and the course",
    "Abwesenheit bis Montag – Frage zur Anmeldung", "afwezig op de sessie van 12/03",
])
def test_people_writing_about_their_leave_are_people(subject: str) -> None:
    """A helpdesk mail about a leave must become a ticket, not vanish as an auto-reply."""
    read = headers(b"From: Officer <officer@jus.example>", b"Subject: " + subject.encode())
    assert automatic_reason(read) is None


def test_a_reply_subject_is_not_taken_for_a_machine() -> None:
    read = headers(b"From: Officer <officer@jus.example>",
                   b"Subject: RE: Nouvelle inscription : Mertens Julie (BOSA)")
    assert automatic_reason(read) is None


def nested(levels: int) -> bytes:
    parts = [b"From: a@b.example\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"b0\"\r\n"]
    parts += [b"--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n" % (n - 1, n)
              for n in range(1, levels)]
    parts.append(b"--b%d\r\nContent-Type: text/plain\r\n\r\nOK\r\n" % (levels - 1))
    parts += [b"--b%d--\r\n" % n for n in reversed(range(levels))]
    return b"\r\n".join(parts)


def test_deep_mime_is_refused_before_the_parser_recurses() -> None:
    with pytest.raises(RecursionError):  # what the email package does on its own
        message_from_bytes(nested(2000), policy=policy.default).get_body()
    started = time.monotonic()
    with pytest.raises(Malformed, match="mime_too_deep"):
        parse(nested(2000))
    assert time.monotonic() - started < 1
    with pytest.raises(Malformed, match="mime_too_many_parts"):
        parse(b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
              + b"--x\r\n\r\npart\r\n" * 1000 + b"--x--\r\n")
    assert read_verdict(parse(nested(MAX_DEPTH - 2))).decision == "approve"


def test_a_multipart_body_without_parts_is_read_as_text() -> None:
    raw = (b"From: Pieter <pieter@fin.example>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/alternative;\r\n\tboundary=\"----=_NextPart_000_0001\"\r\n"
           b"\r\nAkkoord, dit is goed.\r\n\r\n"
           b"Op 18 juli 2013 10:23 schreef ITMA <noreply@itma.localhost>:\r\n> OK\r\n")
    verdict = read_verdict(parse(raw))
    assert (verdict.decision, verdict.first_line) == ("approve", "Akkoord, dit is goed.")


@pytest.mark.parametrize(("content_type", "body"), [
    (b"text/html", b"<a" * 200_000),
    (b"text/plain", b"\r\n".join([b"op 1 " + b"heeft " * 65] * 25_000)),
    (b"text/plain", b"OK " * 3_000_000),
])
def test_reading_a_verdict_takes_bounded_time(content_type: bytes, body: bytes) -> None:
    raw = b"From: a@b.example\r\nContent-Type: " + content_type + b"; charset=utf-8\r\n\r\n" + body
    message = parse(raw)
    started = time.monotonic()
    read_verdict(message)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("line", [
    b"From: " + b"a@b.example, " * 20_000,
    b"From: " + b"(" * 20_000 + b"a@b.example",
    b"To: " + b"someone@b.example, " * 500_000,
    b"Subject: " + b"=?utf-8?q?x?= " * 500_000,
    b"Authentication-Results: " + b"(" * 200_000 + b"mx.itma.localhost; dkim=pass",
    b"Authentication-Results: mx.itma.localhost; " + b"dkim=pass header.d=x.example; " * 9000,
])
def test_huge_headers_are_read_in_bounded_time(line: bytes) -> None:
    read = headers(b"From: Officer <officer@jus.example>" if not line.startswith(b"From")
                   else b"X-Empty: 1", line)
    started = time.monotonic()
    sender, _why = read.sender()
    read.subject()
    read.addresses(["To"])
    authentication.problem(read, AUTHSERV, sender or "officer@jus.example")
    assert time.monotonic() - started < 1
