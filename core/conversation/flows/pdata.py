"""A personnel data file dropped into the conversation: the validation module, one click away.

The terms of use come first, once per officer. Then the file is checked (every row, against
the database) and either every error is listed — the first ones in the reply, all of them in a
CSV file beside it — and nothing is applied, or the summary is shown with Confirm / Cancel:
the file waits encrypted (`pdata.stage`) and only its upload id stays in the conversation
state; the click validates it again and applies it (`pdata.apply_staged`). An officer of
several organisations whose file adds people without an organisation column is asked which
organisation it is for. Files reach this flow through `Inbound.files`, never through text.
"""

from __future__ import annotations

import logging
import time

from core import i18n
from core.conversation.context import Turn
from core.conversation.flows.base import Answer, repeat_choices
from core.conversation.parser import Parsed
from core.conversation.types import TOO_LARGE, Attachment, InboundFile, Reply
from core.services import held_files, helpdesk, pdata
from core.services.access import require_active
from core.services.spreadsheet import MAX_BYTES

log = logging.getLogger(__name__)
NAME = "pdata"
SHOWN_ERRORS = 15
"""Errors listed in the reply itself; the attached CSV file has them all."""
PROGRESS_FROM_ROWS = 2_000
"""Files longer than this get a progress line, updated in place."""
PROGRESS_EVERY_SECONDS = 1.0


class PdataFlow:
    name = NAME

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        """Not an intent: a file starts this flow (`receive`)."""
        return turn.done(turn.t("flow.lost"))

    def receive(self, turn: Turn, files: tuple[InboundFile, ...]) -> Reply:
        """The officer dropped a file (the first one counts; one at a time)."""
        require_active(turn.officer)
        file = files[0]
        notice = (turn.t("pdata.chat.one_at_a_time", filename=file.name) + "\n"
                  if len(files) > 1 else "")
        if file.content is None:
            if file.problem == TOO_LARGE:
                size = round((file.size or MAX_BYTES + 1) / 1_048_576, 1)
                return turn.done(notice + turn.t("pdata.error.file_too_large", size=size,
                                                 max=MAX_BYTES // 1_048_576))
            return turn.done(notice + turn.t("pdata.chat.unavailable", filename=file.name))
        if not pdata.accepted(turn.uow, turn.officer):
            return turn.confirm(NAME, "terms", notice + turn.t("pdata.terms.needed") + "\n\n"
                                + pdata.terms(turn.language))
        reply = self._check(turn, file.name, file.content, None)
        reply.text = notice + reply.text
        return reply

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        if step == "terms":
            if not answer.confirmed:
                return turn.confirm(NAME, step, turn.t("flow.yes_or_no"))
            pdata.accept(turn.uow, turn.officer)
            return turn.done(turn.t("pdata.terms.accepted"))
        if step == "organisation":
            if answer.value is None:
                return repeat_choices(turn)
            held = held_files.take(turn.uow, turn.channel, turn.user_ref,
                                   str(turn.data.pop("held", "")))
            if held is None:
                return turn.done(turn.t("pdata.chat.gone"))
            return self._check(turn, held.filename, held.content, str(answer.value))
        if step == "confirm":
            if not answer.confirmed:
                return turn.confirm(NAME, step, turn.t("flow.yes_or_no"))
            upload_id = int(turn.data["upload"])
            report, summary = pdata.apply_staged(turn.uow, turn.officer, upload_id,
                                                 _progress(turn))
            if summary is None:
                return _errors(turn, report)
            return turn.done(turn.t("pdata.applied", filename=report.filename,
                                    **summary.as_dict()))
        return turn.done(turn.t("flow.lost"))

    def abandon(self, turn: Turn) -> None:
        """Cancelled or interrupted: the staged or held file is dropped at once."""
        if "upload" in turn.data:
            pdata.discard(turn.uow, turn.officer, int(turn.data["upload"]))
        if "held" in turn.data:
            held_files.drop(turn.uow, turn.channel, turn.user_ref, str(turn.data["held"]))

    def _check(self, turn: Turn, filename: str, content: bytes,
               organisation: str | None) -> Reply:
        report = pdata.validate(turn.uow, turn.officer, content, filename, turn.language,
                                _progress(turn), organisation=organisation)
        organisations = turn.officer.organisations
        if organisation is None and len(organisations) > 1 and any(
                e.code == "organisation_needed" for e in report.errors):
            turn.data["held"] = held_files.hold(turn.uow, turn.channel, turn.user_ref, filename,
                                                "application/octet-stream", content)
            return turn.choose(NAME, "organisation", turn.t("pdata.chat.ask_organisation"),
                               [(o.code, f"{o.code} — {o.name(turn.language)}")
                                for o in organisations])
        if not report.ok:
            helpdesk.remember_rejected_import(  # so the helpdesk sees them if they write in
                turn.uow, turn.officer, filename, report.rows,
                [{"line": e.line, "column": e.letter or e.label, "code": e.code,
                  "reason": e.reason} for e in report.errors])
            return _errors(turn, report)
        turn.data["upload"] = pdata.stage(turn.uow, turn.officer, content, report, organisation)
        return turn.confirm(NAME, "confirm", report.message(turn.language) + "\n" + turn.t(
            "pdata.confirm", organisations=", ".join(report.organisations)))


def _errors(turn: Turn, report: pdata.Report) -> Reply:
    """Nothing applied: the first errors in the reply, every one in the CSV file beside it."""
    lines = [report.message(turn.language)]
    lines += [_error_line(turn, e) for e in report.errors[:SHOWN_ERRORS]]
    if len(report.errors) > SHOWN_ERRORS:
        lines.append(turn.t("pdata.more_errors", count=len(report.errors) - SHOWN_ERRORS))
    reply = turn.done("\n".join(lines))
    if any(e.line is not None for e in report.errors):
        reply.attachments = [Attachment.of(pdata.errors_filename(report, turn.language),
                                           pdata.errors_csv(report, turn.language))]
    return reply


def _error_line(turn: Turn, error: pdata.RowError) -> str:
    where = []
    if error.line is not None:
        where.append(turn.t("pdata.chat.line", line=error.line))
    if error.letter:
        where.append(turn.t("pdata.chat.column", letter=error.letter, label=error.label))
    if not where:
        return f"• {error.reason}"
    if error.value:
        return turn.t("pdata.chat.item_value", where=", ".join(where), value=error.value,
                      reason=error.reason)
    return turn.t("pdata.chat.item", where=", ".join(where), reason=error.reason)


def _progress(turn: Turn) -> pdata.Progress | None:
    """pdata's progress(phase, done, total) as a line for the adapter, for long files only,
    at most once a second (and always the last): a chat message updated in place."""
    show = turn.progress
    if show is None:
        return None
    language = turn.language
    last = 0.0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if total < PROGRESS_FROM_ROWS or (done < total and now - last < PROGRESS_EVERY_SECONDS):
            return
        last = now
        try:
            show(i18n.t(language, f"pdata.progress.{phase}", done=done, total=total))
        except Exception as exc:  # a progress line that cannot be shown stops nothing
            log.warning("progress not shown: %r", exc)

    return progress
