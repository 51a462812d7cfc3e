"""PRO Academy tracks in one sentence each, then one confirmation.

`inscrire Dupont PRO-MGT` (enroll with a track code) lists every module's session of the
cohort the candidate would get; `désinscrire Dupont PRO-MGT` lists the modules it frees;
`pause Dupont PRO-MGT`, `reprendre Dupont PRO-MGT` (a later cohort) and `changer Dupont PRM-201
15/05` (one module in another cohort's session) likewise. The confirmation only shows: every
rule is enforced again, under the locks, by core.services.tracks when the officer says yes.
"""

from __future__ import annotations

from core.conversation.context import Turn
from core.conversation.flows.base import Answer, person_answer, pick_person
from core.conversation.flows.sessions import keep_when, stored_when
from core.conversation.parser import Parsed
from core.conversation.types import Reply
from core.errors import DomainError
from core.models import Collaborator, Enrollment, Track, TrackEnrollment, TrainingSession
from core.services import tracks
from core.services.access import require_active, require_collaborator

ENROLL, UNENROLL, PAUSE, RESUME, CHANGE = ("track_enroll", "track_unenroll", "track_pause",
                                           "track_resume", "track_change")
ROUTED = {"enroll": ENROLL, "unenroll": UNENROLL}
"""Enroll and unenroll with a track's code (PRO-MGT) are the track's, not a training's."""


def route(intent: str, code: str | None) -> str:
    """The flow for an intent: a track's own when the code is a track's."""
    return ROUTED.get(intent, intent) if tracks.is_track_code(code) else intent


class TrackFlow:
    """One of the five track changes; the person first, then one confirmation."""

    def __init__(self, name: str) -> None:
        self.name = name

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        turn.data["code"] = parsed.code
        keep_when(turn, parsed)
        if not parsed.code:
            return turn.done(turn.t("track.code_needed"))
        person = parsed.persons[0] if parsed.persons else None
        return pick_person(turn, self.name, person.text if person else "", self._with_person,
                           person.sex if person else None)

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        reply = person_answer(turn, self.name, step, answer, self._with_person)
        if reply is not None:
            return reply
        if step == "session" and answer.value is not None:
            return self._confirm_change(turn, int(answer.value))
        if step == "confirm" and answer.confirmed:
            return self._apply(turn)
        return turn.confirm(self.name, "confirm", turn.t("flow.yes_or_no"))

    # -- the person known: what would happen --------------------------------------------------

    def _with_person(self, turn: Turn, person: Collaborator) -> Reply:
        require_collaborator(turn.officer, person)
        turn.data["person_id"] = person.id
        code = str(turn.data["code"])
        uow, officer = turn.uow, turn.officer
        who = turn.person_label(person)
        if self.name == ENROLL:
            cohort = tracks.plan(uow, officer, person.id, code)
            track = tracks.track_by_code(uow, code)
            return self._ask(turn, "track.confirm_enroll", who, track, cohort.number,
                             [s for _m, s in tracks.module_sessions(track, cohort)])
        placed = tracks.holding(uow, officer, person.id, code)
        turn.data["track_enrollment_id"] = placed.id
        number = placed.cohort.number if placed.cohort else "-"
        if self.name == UNENROLL:
            return self._ask(turn, "track.confirm_unenroll", who, placed.track, number,
                             [e.session for e in tracks.future_modules(uow, placed)])
        if self.name == PAUSE:
            if placed.state != "active":
                raise DomainError("track_paused", name=person.display_name,
                                  code=placed.track.code)
            return self._ask(turn, "track.confirm_pause", who, placed.track, number,
                             [e.session for e in tracks.future_modules(uow, placed)])
        if self.name == RESUME:
            _placed, cohort, pairs = tracks.resume_plan(uow, officer, placed.id)
            return self._ask(turn, "track.confirm_resume", who, placed.track, cohort.number,
                             [s for _m, s in pairs])
        return self._choose_session(turn, placed, code)

    def _choose_session(self, turn: Turn, placed: TrackEnrollment, code: str) -> Reply:
        if tracks.is_track_code(code):
            return turn.done(turn.t("track.module_needed", code=placed.track.code,
                                    modules=", ".join(m.training.code
                                                      for m in placed.track.modules)))
        current, others = tracks.alternatives(turn.uow, placed, code)
        turn.data["current"] = current.id
        when = stored_when(turn)
        if when is not None:
            others = [s for s in others if when.start <= s.starts_on <= when.end] or others
        if not others:
            return turn.done(turn.t("track.no_other_session", code=code,
                                    date=turn.day(current.session.starts_on)))
        if len(others) == 1:
            return self._confirm_change(turn, others[0].id)
        return turn.choose(self.name, "session", turn.t(
            "track.which_session", code=code, date=turn.day(current.session.starts_on)),
            [(s.id, self._line(turn, s)) for s in others])

    def _confirm_change(self, turn: Turn, session_id: int) -> Reply:
        session = turn.uow.session.get_one(TrainingSession, session_id)
        current = turn.uow.session.get_one(Enrollment, int(turn.data["current"]))
        turn.data["session_id"] = session_id
        return turn.confirm(self.name, "confirm", turn.t(
            "track.confirm_change", person=turn.person_label(current.collaborator),
            code=session.training.code, old=turn.day(current.session.starts_on),
            new=self._line(turn, session)))

    def _ask(self, turn: Turn, key: str, who: str, track: Track, cohort: object,
             sessions: list[TrainingSession]) -> Reply:
        lines = "\n".join(f"• {self._line(turn, s)}" for s in sessions) or turn.t("track.none")
        return turn.confirm(self.name, "confirm", turn.t(
            key, person=who, code=track.code, title=track.title(turn.language), cohort=cohort,
            count=len(sessions)) + "\n" + lines)

    @staticmethod
    def _line(turn: Turn, session: TrainingSession) -> str:
        return turn.t("track.module_line", code=session.training.code,
                      title=session.training.title(turn.language),
                      date=turn.day(session.starts_on), place=session.place or "-")

    # -- yes: the service decides, under its locks --------------------------------------------

    def _apply(self, turn: Turn) -> Reply:
        require_active(turn.officer)
        uow, officer = turn.uow, turn.officer
        if self.name == ENROLL:
            done = tracks.enroll(uow, officer, int(turn.data["person_id"]),
                                 str(turn.data["code"]))
        else:
            placed_id = int(turn.data["track_enrollment_id"])
            if self.name == UNENROLL:
                done = tracks.withdraw(uow, officer, placed_id)
            elif self.name == PAUSE:
                done = tracks.pause(uow, officer, placed_id)
            elif self.name == RESUME:
                done = tracks.resume(uow, officer, placed_id)
            else:
                done = tracks.change_session(uow, officer, placed_id,
                                             int(turn.data["session_id"]))
        placed = done.track_enrollment
        person = placed.collaborator
        lines = "\n".join(f"• {self._line(turn, e.session)}" for e in done.modules)
        text = turn.t(f"track.done_{self.name.removeprefix('track_')}", person.sex,
                      name=person.display_name, code=placed.track.code,
                      cohort=placed.cohort.number if placed.cohort else "-",
                      count=len(done.modules))
        return turn.done(text + ("\n" + lines if lines else ""))


class TracksFlow:
    """parcours pro / trajecten / tracks: every track, its cohorts and their free seats."""

    name = "tracks"

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        lines = []
        for track in tracks.all_tracks(turn.uow):
            if parsed.code and track.code != parsed.code:
                continue
            lines.append(turn.t("track.list_item", code=track.code,
                                title=track.title(turn.language),
                                modules=", ".join(m.training.code for m in track.modules),
                                requires=track.requires_track.code if track.requires_track
                                else track.requires_test.code if track.requires_test else "-"))
            lines += [turn.t("track.list_cohort", number=cohort.number,
                             date=turn.day(cohort.starts_on), free=free)
                      for cohort, free in tracks.open_cohorts(turn.uow, track)]
        if not lines:
            return turn.done(turn.t("track.list_none"))
        return turn.done(turn.t("track.list_header") + "\n" + "\n".join(lines))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        return self.start(turn, Parsed(None, None))


FLOWS = (TrackFlow(ENROLL), TrackFlow(UNENROLL), TrackFlow(PAUSE), TrackFlow(RESUME),
         TrackFlow(CHANGE), TracksFlow())


def progress_lines(turn: Turn, collaborator_id: int) -> list[str]:
    """The report's track section: per track, its state, modules done, results, next module."""
    rows = tracks.progress(turn.uow, collaborator_id)
    if not rows:
        return []
    lines = [turn.t("track.report_header")]
    for row in rows:
        results = row["results"]
        following = row["next"]
        lines.append(turn.t(
            "track.report_line", code=row["track"], state=turn.t(f"track.state_{row['state']}"),
            cohort=row["cohort"] or "-", done=row["done"], modules=row["modules"],
            results=turn.t("track.report_results", results=", ".join(
                f"{code} {score}" for code, score in results.items()))
            if isinstance(results, dict) and results else "",
            next=turn.t("track.report_next", code=following["code"],
                        date=turn.day(following["start"]))
            if isinstance(following, dict) else ""))
    return lines
