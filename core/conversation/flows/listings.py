"""Read-only answers: seats of a training, overview, who is enrolled, a collaborator's report.

The last three also come as a file ("rapport Dupont xlsx", "inscrits BOSA-101 csv",
"formations xlsx"): the format word anywhere in the sentence attaches the export instead.
"""

from __future__ import annotations

from core.conversation.context import Turn
from core.conversation.flows.base import Answer, person_answer, pick_person
from core.conversation.flows.sessions import (
    keep_when,
    pick_training,
    session_answer,
    stored_when,
    within,
)
from core.conversation.flows.tracks import progress_lines
from core.conversation.parser import Parsed
from core.conversation.types import Attachment, Reply
from core.errors import DomainError
from core.models import Collaborator
from core.services import catalog, exports, reports
from core.services.access import require_active, require_collaborator, require_training

OVERVIEW_LIMIT = 15


class SeatsFlow:
    name = "seats"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        keep_when(turn, parsed)
        return self._show(turn, parsed.code)

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        parsed = answer.parsed
        if parsed is not None and parsed.when is not None:
            keep_when(turn, parsed)
        return self._show(turn, parsed.code if parsed is not None and parsed.code
                          else answer.text.strip())

    def _show(self, turn: Turn, code: str | None) -> Reply:
        if not code:
            return turn.ask(self.name, "code", turn.t("training.ask_code"))
        try:
            training = catalog.training_by_code(turn.uow, code, turn.officer)
        except DomainError as exc:
            return turn.ask(self.name, "code", exc.message(turn.language))
        require_training(turn.officer, training)
        views = catalog.upcoming_sessions(turn.uow, training, turn.officer)
        title = turn.title(training.titles, training.code)
        if not views:
            return turn.done(turn.t("training.no_session", code=training.code, title=title))
        when = stored_when(turn)
        views = (within(views, when) or views) if when is not None else views
        lines = [turn.t("seats.header", code=training.code, title=title)]
        lines += [f"• {turn.session_label(v)}" for v in views]
        return turn.done("\n".join(lines))


def keep_format(turn: Turn, parsed: Parsed) -> None:
    if parsed.format:
        turn.data["format"] = parsed.format


def attached(turn: Turn, export: tuple[str, bytes]) -> Reply:
    """An export as the reply: one line naming it, the file attached."""
    filename, content = export
    reply = turn.done(turn.t("exports.attached", filename=filename))
    reply.attachments = [Attachment.of(filename, content)]
    return reply


class OverviewFlow:
    name = "overview"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        require_active(turn.officer)
        if parsed.format:
            when = parsed.when
            return attached(turn, exports.overview(turn.uow, turn.officer, parsed.format,
                                                   when.start if when else None,
                                                   when.end if when else None))
        views = [v for v in catalog.upcoming_sessions(turn.uow, officer=turn.officer)
                 if v.free > 0]
        if parsed.when is not None:
            views = within(views, parsed.when)
        views = views[:OVERVIEW_LIMIT]
        if not views:
            return turn.done(turn.t("overview.empty"))
        lines = [turn.t("overview.header", count=len(views))]
        lines += [turn.t("overview.line", code=v.training, title=turn.title(v.titles, v.training),
                         session=turn.session_label(v)) for v in views]
        return turn.done("\n".join(lines))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(None, None))


class ParticipantsFlow:
    name = "participants"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        keep_when(turn, parsed)
        keep_format(turn, parsed)
        return pick_training(turn, self.name, parsed.code, _participants)

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        reply = session_answer(turn, self.name, step, answer.text, answer.value, _participants,
                               answer.parsed)
        return reply or turn.done(turn.t("flow.lost"))


def _participants(turn: Turn, view: catalog.SessionView) -> Reply:
    fmt = turn.data.get("format")
    if fmt:
        return attached(turn, exports.participants(turn.uow, turn.officer, view.id, fmt))
    items = reports.participants(turn.uow, turn.officer, view.id)
    header = turn.t("participants.header", code=view.training, date=turn.day(view.starts_on),
                    place=view.place, seats=turn.session_label(view))
    if not items:
        return turn.done(header + "\n" + turn.t("participants.none"))
    lines = [header] + [turn.t("participants.line", name=e.collaborator.display_name,
                               organisation=e.collaborator.organisation.code,
                               state=turn.t(f"state.{e.state}")) for e in items]
    return turn.done("\n".join(lines))


class ReportFlow:
    name = "report"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        require_active(turn.officer)
        keep_format(turn, parsed)
        person = parsed.persons[0] if parsed.persons else None
        return pick_person(turn, self.name, person.text if person else "", _report,
                           person.sex if person else None)

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return (person_answer(turn, self.name, step, answer, _report)
                or turn.done(turn.t("flow.lost")))


def _report(turn: Turn, person: Collaborator) -> Reply:
    require_collaborator(turn.officer, person)
    fmt = turn.data.get("format")
    if fmt:
        return attached(turn, exports.collaborator_report(turn.uow, turn.officer, person.id,
                                                          fmt))
    report = reports.collaborator_report(turn.uow, turn.officer, person.id)
    lines = [turn.t("report.header", person=turn.person_label(person))]
    sections = (("report.options", report.options), ("report.enrolled", report.enrolled),
                ("report.waitlisted", report.waitlisted), ("report.attended", report.attended),
                ("report.cancelled", report.cancelled))
    for key, items in sections:
        if not items:
            continue
        lines.append(turn.t(key, count=len(items)))
        lines += [turn.t("report.item", code=e.session.training.code,
                         title=turn.title(e.session.training.titles, e.session.training.code),
                         date=turn.day(e.session.starts_on), state=turn.t(f"state.{e.state}"))
                  for e in items]
    if report.results:
        lines.append(turn.t("report.results", count=len(report.results)))
    lines += [turn.t("report.result", code=r.training.code, date=turn.day(r.taken_on),
                     score=r.score, max=r.max_score,
                     outcome=turn.t("report.passed" if r.passed else "report.failed"))
              for r in report.results]
    lines += progress_lines(turn, person.id)
    if len(lines) == 1:
        lines.append(turn.t("report.empty"))
    return turn.done("\n".join(lines))
