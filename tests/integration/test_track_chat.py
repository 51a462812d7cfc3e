"""PRO Academy tracks from chat: enroll, change one module's session, pause, resume in a later
cohort and withdraw, each one sentence plus one confirmation, in French, Dutch and English;
and the rules the core service enforces on every one of them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from core import clock
from core.conversation import Engine, Inbound, Reply
from core.errors import DomainError
from core.models import Enrollment, EnrollmentState, TrackEnrollment, TrainingSession
from core.services import access, enrollment, exports, tracks
from tests.conftest import NOW, World
from tests.integration.test_tracks import make_track


def say(world: World, email: str, text: str) -> Reply:
    return Engine(world.app).handle(Inbound("console", email, text=text))


def placed(world: World, key: str = "peeters") -> TrackEnrollment:
    with world.app.unit_of_work(readonly=True) as uow:
        found = uow.session.scalars(select(TrackEnrollment).where(
            TrackEnrollment.collaborator_id == world.people[key])
            .order_by(TrackEnrollment.id)).all()[-1]
        _ = found.cohort, found.track
        uow.session.expunge_all()
        return found


def module_dates(world: World, key: str = "peeters") -> dict[str, date]:
    """The candidate's enrolled module sessions: code → start."""
    with world.app.unit_of_work(readonly=True) as uow:
        rows = uow.session.scalars(select(Enrollment).join(Enrollment.session).where(
            Enrollment.collaborator_id == world.people[key],
            Enrollment.state == EnrollmentState.ENROLLED)
            .order_by(TrainingSession.starts_on)).all()
        return {e.session.training.code: e.session.starts_on for e in rows}


def test_enroll_change_and_withdraw_in_french(world: World) -> None:
    make_track(world, prefix="PRM")
    asked = say(world, world.officer, "Peux-tu inscrire Peeters à PRO-MGT ?")
    assert "Inscrire Peeters" in asked.text and "PRO-MGT" in asked.text, asked.text
    assert "cohorte 1, dans ces 3 modules" in asked.text and "confirm" in asked.actions
    assert all(code in asked.text for code in ("PRM-101", "PRM-201", "PRM-301")), asked.text
    assert "11/01/2027" in asked.text
    done = say(world, world.officer, "oui")
    assert "inscrit·e au parcours PRO-MGT, cohorte 1 : 3 modules" in done.text, done.text
    assert module_dates(world) == {"PRM-101": date(2027, 1, 11), "PRM-201": date(2027, 1, 25),
                                   "PRM-301": date(2027, 2, 8)}

    asked = say(world, world.officer, "changer Peeters PRM-201 05/04/2027")
    assert "du 25/01/2027 vers : PRM-201" in asked.text and "05/04/2027" in asked.text
    assert "Module déplacé" in say(world, world.officer, "oui").text
    assert module_dates(world)["PRM-201"] == date(2027, 4, 5)

    asked = say(world, world.officer, "désinscrire Peeters PRO-MGT")
    assert "Retirer Peeters" in asked.text and asked.text.count("•") == 3
    done = say(world, world.officer, "oui")
    assert "retiré·e du parcours PRO-MGT : 3 modules à venir libérés" in done.text
    assert module_dates(world) == {} and placed(world).state == "cancelled"


def test_pause_and_resume_in_a_later_cohort_in_dutch(world: World) -> None:
    make_track(world, prefix="PRM")
    say(world, world.nl_officer, "inschrijven Peeters PRO-MGT")
    assert "groep 1: 3 modules" in say(world, world.nl_officer, "ja").text
    asked = say(world, world.nl_officer, "kan je Peeters voor PRO-MGT pauzeren?")
    assert "Traject PRO-MGT van Peeters" in asked.text and "pauzeren" in asked.text, asked.text
    assert "gepauzeerd: 3 komende modules vrijgegeven" in say(world, world.nl_officer, "ja").text
    assert placed(world).state == "paused" and module_dates(world) == {}
    refused = say(world, world.nl_officer, "inschrijven Peeters PRO-MGT")
    assert "al ingeschreven" in refused.text and not refused.actions
    asked = say(world, world.nl_officer, "hervatten Peeters PRO-MGT")
    assert "in groep 2, voor deze 3 modules" in asked.text, asked.text
    done = say(world, world.nl_officer, "ja")
    assert "hervat traject PRO-MGT in groep 2: 3 modules" in done.text
    assert placed(world).state == "active" and placed(world).cohort.number == 2
    assert min(module_dates(world).values()) == date(2027, 3, 22)


def test_resume_skips_what_took_place_and_no_module_changes_once_it_took_place(
        world: World) -> None:
    """In English: a cohort under way, its first module past; the candidate resumes in the next
    cohort for the two modules left, and the past module can no longer move."""
    started = NOW.date() - timedelta(days=10)
    make_track(world, prefix="PRM", first=started)
    earlier = datetime.combine(started - timedelta(days=1), NOW.timetz())
    clock.set_clock(lambda: earlier)
    try:
        with world.app.unit_of_work() as uow:
            officer = access.officer_by_email(uow, world.en_officer)
            tracks.enroll(uow, officer, world.people["peeters"], "PRO-MGT")
    finally:
        clock.set_clock(lambda: NOW)
    moved = say(world, world.en_officer, "move Peeters PRM-101")
    assert "has taken place" in moved.text and not moved.actions, moved.text
    asked = say(world, world.en_officer, "pause Peeters PRO-MGT")
    assert "These upcoming modules are freed" in asked.text and asked.text.count("•") == 2
    say(world, world.en_officer, "yes")
    asked = say(world, world.en_officer, "resume Peeters PRO-MGT")
    assert "in cohort 2, for these 2 modules" in asked.text, asked.text
    assert "PRM-101" not in asked.text
    assert "resumes track PRO-MGT in cohort 2: 2 modules" in say(world, world.en_officer,
                                                                  "yes").text


def test_every_rule_holds_in_the_service(world: World) -> None:
    """Capacity of the target session, overlap, a session of another track, a paused track."""
    make_track(world, prefix="PRM", capacity=1)
    with world.app.unit_of_work() as uow:
        officer = access.officer_by_email(uow, world.officer)
        first = tracks.enroll(uow, officer, world.people["peeters"], "PRO-MGT")
        other = tracks.enroll(uow, officer, world.people["claes"], "PRO-MGT")
        assert other.track_enrollment.cohort.number == 2
        target = next(e.session_id for e in other.modules
                      if e.session.training.code == "PRM-201")
        ids = first.track_enrollment.id, other.track_enrollment.id

    def refused(change: object, *args: object) -> str:
        with world.app.unit_of_work() as uow:
            officer = access.officer_by_email(uow, world.officer)
            try:
                change(uow, officer, *args)  # type: ignore[operator]
            except DomainError as exc:
                return exc.code
        raise AssertionError("accepted")

    assert refused(tracks.change_session, ids[0], target) == "session_full"
    assert refused(tracks.resume, ids[0]) == "track_active"
    with world.app.unit_of_work() as uow:
        officer = access.officer_by_email(uow, world.officer)
        tracks.pause(uow, officer, ids[0])
    assert refused(tracks.change_session, ids[0], target) == "track_paused"
    assert refused(tracks.pause, ids[0]) == "track_paused"
    assert refused(tracks.resume, ids[0]) == "track_full"  # cohort 2's only seat is taken
    with world.app.unit_of_work() as uow:
        officer = access.officer_by_email(uow, world.officer)
        tracks.withdraw(uow, officer, ids[1])
        busy = uow.session.scalar(select(TrainingSession).where(
            TrainingSession.starts_on == date(2027, 3, 22)))
        assert busy is not None
        clash = TrainingSession(training=uow.session.scalars(select(TrainingSession)).first()
                                .training, starts_on=busy.starts_on, ends_on=busy.ends_on,
                                place="Elsewhere", capacity=5)
        uow.session.add(clash)
        uow.session.flush()
        enrollment.enroll(uow, officer, world.people["peeters"], clash.id)
    assert refused(tracks.resume, ids[0]) == "track_overlap"


def test_progress_in_the_report_and_its_exports(world: World) -> None:
    make_track(world, prefix="PRM")
    say(world, world.officer, "inscrire Peeters PRO-MGT")
    say(world, world.officer, "oui")
    report = say(world, world.officer, "rapport Peeters").text
    assert "Parcours certifiants :" in report, report
    assert ("PRO-MGT (en cours, cohorte 1) : 0/3 modules faits — prochain : PRM-101 le "
            "11/01/2027") in report
    dutch = say(world, world.nl_officer, "rapport Peeters").text
    assert "PRO-MGT (lopend, groep 1): 0/3 modules gedaan — volgende: PRM-101 op" in dutch
    with world.app.unit_of_work(readonly=True) as uow:
        officer = access.officer_by_email(uow, world.en_officer)
        _name, content = exports.collaborator_report(uow, officer, world.people["peeters"],
                                                     "csv")
    text = content.decode("utf-8-sig")
    assert ("certification track;PRO-MGT;Management;11/01/2027;;PRM-101;"
            "in progress, 0/3 modules done") in text, text
