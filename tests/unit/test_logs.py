"""Log lines: the two formats, the request id, and the filter that keeps NRNs, tokens, secrets
and mail text out of every line whatever the call site passes."""

from __future__ import annotations

import base64
import io
import json
import logging
import quopri
import random
import secrets
import threading
from collections.abc import Iterator

import pytest

from core import logs, nrn
from core.services import reply_tokens


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    """A logger of its own with one handler set up as setup_logging sets up the file's."""
    stream = io.StringIO()
    handler = logs.install(logging.StreamHandler(stream), "text")
    logger = logging.getLogger(f"itma.test.{secrets.token_hex(4)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream, handler
    logger.removeHandler(handler)


def numbers(count: int = 6) -> list[str]:
    rng = random.Random(17)
    return [nrn.generate(rng, bis=i % 3 == 2) for i in range(count)]


def spellings(number: str) -> list[str]:
    d = "".join(ch for ch in number if ch.isdigit())
    return [d, f"{d[:2]}.{d[2:4]}.{d[4:6]}-{d[6:9]}.{d[9:]}", f"{d[:2]} {d[2:4]} {d[4:6]} "
            f"{d[6:9]} {d[9:]}", f"{d[:6]}-{d[6:9]}-{d[9:]}", f"{d[:2]}/{d[2:4]}/{d[4:6]}-{d[6:]}",
            f"{d[:6]} {d[6:]}", f"{d[:2]}.{d[2:4]}.{d[4:6]}. {d[6:9]}.{d[9:]}"]


def test_every_spelling_of_a_national_number_is_masked(capture) -> None:
    logger, stream, _ = capture
    for number in numbers():
        for spelled in spellings(number):
            logger.info("collaborator %s (nrn=%s) added; raw:%s.", spelled, spelled, spelled)
    text = stream.getvalue()
    assert text.count("[nrn]") == len(numbers()) * 7 * 3
    for number in numbers():
        for spelled in spellings(number):
            assert spelled not in text
    for line in text.splitlines():
        assert line.split(" INFO ", 1)[1].endswith(
            "collaborator [nrn] (nrn=[nrn]) added; raw:[nrn].")


def test_tokens_and_secrets_are_masked(capture) -> None:
    logger, stream, _ = capture
    reply = reply_tokens.new_token()
    link = secrets.token_urlsafe(32)
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl"
    said = [f"reply to reply+{reply}@itma.localhost", f"<0123456789abcdef.{reply.upper()}@x>",
            f"GET /link/{link} from 10.0.0.1", f"link token {link}",
            "bot token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "app token xapp-1-A0123456789-1234567890-abcdef0123456789",
            f"Authorization: Bearer {link}", f"teams said {jwt}",
            "postgresql+psycopg://itma:s3cr3t-pass@db.example:5432/itma",
            "ITMA_SLACK_SIGNING_SECRET=0123abcd0123abcd signing_secret: 'hunter22hunter'",
            "password=correct-horse-battery"]
    for line in said:
        logger.warning(line)
    text = stream.getvalue()
    for secret in (reply, reply.upper(), link, "AbCdEfGhIjKlMnOpQrStUvWx",
                   "A0123456789-1234567890", jwt[:20], "s3cr3t-pass", "0123abcd0123abcd",
                   "hunter22hunter", "correct-horse-battery"):
        assert secret not in text, secret
    assert "reply+[token]@itma.localhost" in text and "/link/[token]" in text
    assert "xoxb-[secret]" in text and "Bearer [secret]" in text and "[jwt]" in text
    assert "itma:[secret]@db.example" in text


def test_fields_and_tracebacks_are_cleaned_too(capture) -> None:
    logger, stream, _ = capture
    number = numbers(1)[0]
    token = reply_tokens.new_token()
    try:
        raise ValueError(f"bad row {number} for token {token}")
    except ValueError:
        logger.exception("import failed", extra={"row": f"{number};Dupont", "code": 3})
    text = stream.getvalue()
    assert "ValueError: bad row [nrn] for token [token]" in text
    assert number not in text and token not in text
    assert 'row="[nrn];Dupont"' not in text and "row=[nrn];Dupont" in text


def test_the_mail_being_handled_never_gets_into_a_line(capture) -> None:
    logger, stream, _ = capture
    plain = "Je refuse car la formation tombe pendant mes congés de printemps"
    accented = "Merci de réserver une place à Émilie pour la session de décembre"
    encoded = (b"Content-Type: text/plain; charset=utf-8\r\n"
               b"Content-Transfer-Encoding: quoted-printable\r\n\r\n") + \
        quopri.encodestring(accented.encode())
    raw_plain = b"From: a@b.example\r\nSubject: Re: demande #12\r\n\r\n" + plain.encode() + \
        b"\r\n\r\n> quoted notification\r\n"
    secret_line = "Bonjour, voici le texte de la piece jointe confidentielle"
    raw_b64 = ("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + base64.encodebytes(secret_line.encode()).decode()).encode()
    for raw, text in ((raw_plain, plain), (encoded, accented), (raw_b64, secret_line)):
        with logs.bound(logs.mail_id(raw), mail=raw):
            logger.info("mail <x@y> via smtp: not_understood %s", text[:80])
            logger.info("whole body: %r", text)
            logger.info("first words only: %s", text[:30])
    out = stream.getvalue()
    for text in (plain, accented, secret_line):
        assert text[:30] not in out, text
    assert out.count("[mail text]") == 9
    with logs.bound("after"):  # outside the mail's context nothing is taken out
        logger.info("%s", plain[:40])
    assert plain[:40] in stream.getvalue()


def test_json_lines_carry_the_request_id_and_the_fields() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("itma.test.json")
    logger.propagate = False
    handler = logs.install(logging.StreamHandler(stream), "json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with logs.bound("abc123") as rid:
            logger.info("turn", extra={"platform": "slack", "intent": "enroll", "ms": 3.2})
            try:
                1 / 0  # noqa: B018
            except ZeroDivisionError:
                logger.exception("boom %s", "x")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert rid == "abc123"
    assert set(first) == {"ts", "level", "logger", "message", "request_id", "platform",
                          "intent", "ms"}
    assert first["ts"].endswith("Z") and first["level"] == "info"
    assert (first["logger"], first["message"], first["request_id"]) == (
        "itma.test.json", "turn", "abc123")
    assert (first["platform"], first["intent"], first["ms"]) == ("slack", "enroll", 3.2)
    assert second["message"] == "boom x" and "ZeroDivisionError" in second["exc"]
    assert third["request_id"] is None and third["level"] == "warning"


def test_text_lines_keep_the_format_and_add_the_id(capture) -> None:
    logger, stream, _ = capture
    logger.info("plain %s", "line")
    with logs.bound("feedc0de"):
        logger.info("with id", extra={"channel": "mail", "note": "two words"})
    first, second = stream.getvalue().splitlines()
    assert first.split(" ", 3)[2:] == ["INFO", f"{logger.name} plain line"]
    assert second.endswith('with id request_id=feedc0de channel=mail note="two words"')


def test_an_id_is_kept_by_nested_front_ends_and_not_shared_between_threads() -> None:
    assert logs.current() is None
    with logs.bound() as outer:
        with logs.bound() as inner:
            assert inner == outer
        with logs.bound("explicit"):
            assert logs.current() == "explicit"
        seen: list[str | None] = []
        thread = threading.Thread(target=lambda: seen.append(logs.current()))
        thread.start()
        thread.join()
        assert seen == [None]
        assert logs.current() == outer
    assert logs.current() is None


def test_a_mail_door_binds_the_same_id_for_the_same_message() -> None:
    seen: list[str | None] = []

    @logs.for_mail
    def process(_app: object, raw: bytes, *, via: str) -> None:
        seen.append(logs.current())

    process(None, b"Subject: x\r\n\r\nbody", via="smtp")
    process(None, raw=b"Subject: x\r\n\r\nbody", via="imap")
    process(None, b"Subject: y\r\n\r\nbody", via="smtp")
    assert seen[0] == seen[1] == logs.mail_id(b"Subject: x\r\n\r\nbody") != seen[2]
    assert logs.current() is None


def test_the_console_after_the_file_handler_prints_the_cleaned_record(capture) -> None:
    logger, _stream, _ = capture
    console = io.StringIO()
    plain = logging.StreamHandler(console)  # as log_to_console adds it: no filter of its own
    logger.addHandler(plain)
    try:
        number = numbers(1)[0]
        logger.warning("refused %s", number)
    finally:
        logger.removeHandler(plain)
    assert console.getvalue().strip() == "refused [nrn]"
