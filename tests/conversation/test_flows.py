"""Complete dialogues through the same core path the chat adapters use (Engine.handle)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.conversation import Engine, Inbound, Reply
from core.models import ConversationState, Enrollment, EnrollmentState, OutboxMessage
from core.services import catalog
from tests.conftest import World


class Chat:
    def __init__(self, world: World, email: str, channel: str = "console") -> None:
        self.engine = Engine(world.app)
        self.world = world
        self.email = email
        self.channel = channel

    def __call__(self, text: str | None = None, action: str | None = None) -> Reply:
        return self.engine.handle(Inbound(self.channel, self.email, text=text, action=action))


def free_seats(world: World, key: str) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return catalog.session_view(uow, world.sessions[key]).free


def count(world: World, model: type) -> int:
    with world.app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_enroll_in_french_walks_session_person_and_confirmation(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("inscrire Peeters BOSA-101")
    assert reply.language == "fr" and not reply.done
    assert "quelle session" in reply.text
    assert [c.label.split(" — ")[0] for c in reply.choices] == ["12/03/2027", "20/04/2027"]
    assert "3 places libres" in reply.choices[0].label
    reply = chat("1")
    assert reply.actions == ["confirm", "cancel"]
    assert "Peeters Jan" in reply.text and "3 places restantes" in reply.text
    assert count(world, Enrollment) == 0  # nothing before the confirmation
    reply = chat("oui")
    assert reply.done
    assert reply.text == ("Peeters Jan est inscrit à BOSA-101 (12/03/2027, Bruxelles) — "
                          "2 places restantes.")
    assert free_seats(world, "BOSA-101/a") == 2
    assert count(world, OutboxMessage) == 1
    assert count(world, ConversationState) == 0


def test_homonyms_are_a_numbered_choice_with_distinguishing_details(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("inscrire dupont BOSA-101 20/04")
    assert "Plusieurs personnes" in reply.text
    labels = [c.label for c in reply.choices]
    assert len(labels) == 2
    assert any("Dupont Marie" in label and "1985" in label and "85.03.14-xxx.xx" in label
               for label in labels)
    assert any("Dupont Jean" in label and "1971" in label for label in labels)
    assert all("BOSA" in label and "DG Test" in label for label in labels)
    marie = next(c.key for c in reply.choices if "Marie" in c.label)
    reply = chat(action=f"choose:{marie}")
    assert "Dupont Marie" in reply.text and reply.actions == ["confirm", "cancel"]
    reply = chat(action="confirm")
    assert reply.text.startswith("Dupont Marie est inscrite à BOSA-101 (20/04/2027, Gent)")


def test_enroll_in_dutch_and_english_answers_in_that_language(world: World) -> None:
    chat = Chat(world, world.officer)  # a French-speaking officer typing Dutch
    reply = chat("inschrijven Peeters BOSA-101 12/03")
    assert reply.language == "nl"
    reply = chat("ja")
    assert "is ingeschreven" in reply.text and "BOSA-101" in reply.text
    chat = Chat(world, world.en_officer)
    reply = chat("enroll lambrechts BOSA-101 12/03")
    assert reply.language == "en"
    assert "Lambrechts Sofie" in reply.text
    reply = chat("yes")
    assert reply.text == ("Lambrechts Sofie is enrolled in BOSA-101 (12/03/2027, Bruxelles) — "
                          "1 seat left.")


def test_accents_case_and_particles_are_forgiven(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("INSCRIRE van den bossche bosa-101 12/03")
    assert "Van den Bossche Els" in reply.text
    chat("annuler")
    reply = chat("Inscrire muller BOSA-101 12/03")
    assert "Müller Jürgen" in reply.text


def test_wrong_code_unknown_surname_other_organisation_expired_access(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("inscrire Peeters BOSA-1O1")
    assert "Je ne connais pas de formation" in reply.text and not reply.done
    reply = chat("BOSA-101")  # the flow waits for a correct code
    assert "quelle session" in reply.text
    chat("annuler")
    reply = chat("inscrire Xyzzywx DIG-101")
    assert "Je ne trouve personne du nom de « Xyzzywx »" in reply.text
    chat("annuler")
    reply = chat("inscrire Vermeulen DIG-101")  # works at FIN, not for a BOSA-only officer
    assert "Je ne trouve personne" in reply.text
    expired = Chat(world, world.expired_officer)
    reply = expired("inscrire Peeters DIG-101")
    assert "n'est plus valable" in reply.text and "23/11/2026" in reply.text
    assert reply.done
    assert count(world, Enrollment) == 0


def test_cancel_and_nothing_pending(world: World) -> None:
    chat = Chat(world, world.officer)
    chat("inscrire Peeters BOSA-101")
    reply = chat("annuler")
    assert "annulé" in reply.text
    reply = chat("oui")
    assert "rien en cours" in reply.text
    reply = chat("7")
    assert "rien en cours" in reply.text


def test_bad_choice_repeats_the_choices(world: World) -> None:
    chat = Chat(world, world.officer)
    chat("inscrire Peeters BOSA-101")
    reply = chat("9")
    assert "ne fait pas partie des choix" in reply.text
    assert len(reply.choices) == 2


def test_state_survives_a_new_engine_and_is_per_user(world: World) -> None:
    Chat(world, world.officer)("inscrire Peeters BOSA-101")
    other = Chat(world, world.en_officer)
    assert "nothing waiting" in other("1").text
    reply = Chat(world, world.officer)("2")  # a new Engine, as after a restart
    assert "20/04/2027" in reply.text and reply.actions == ["confirm", "cancel"]


def test_full_session_offers_the_waiting_list(world: World) -> None:
    chat = Chat(world, world.officer)
    for name in ("Claes", "Janssens", "Lambrechts"):
        chat(f"inscrire {name} BOSA-101 12/03")
        assert "inscrit" in chat("oui").text
    reply = chat("inscrire Peeters BOSA-101 12/03")
    assert "est complète" in reply.text and "liste d'attente" in reply.text
    reply = chat("oui")
    assert "en liste d'attente" in reply.text
    with world.app.unit_of_work(readonly=True) as uow:
        state = uow.session.scalar(select(Enrollment.state).where(
            Enrollment.collaborator_id == world.people["peeters"]))
    assert state == EnrollmentState.WAITLISTED


def test_unenroll_seats_participants_and_report(world: World) -> None:
    chat = Chat(world, world.officer)
    chat("inscrire Peeters BOSA-101 12/03")
    chat("oui")
    reply = chat("places BOSA-101")
    assert "12/03/2027 — Bruxelles — 2 places libres" in reply.text
    reply = chat("inscrits BOSA-101 12/03")
    assert "Peeters Jan (BOSA) — inscrit·e" in reply.text
    reply = chat("rapport peeters")
    assert "Inscriptions (1)" in reply.text and "BOSA-101" in reply.text
    reply = chat("désinscrire Peeters")
    assert reply.actions == ["confirm", "cancel"] and "12/03/2027" in reply.text
    reply = chat("oui")
    assert reply.text.startswith("Peeters Jan est désinscrit de BOSA-101 (12/03/2027)")
    assert free_seats(world, "BOSA-101/a") == 3
    reply = chat("rapport peeters")
    assert "Annulations (1)" in reply.text


def test_overview_help_and_not_understood(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("formations")
    assert "DIG-101" in reply.text and "BOSA-101" in reply.text
    assert "FIN-201" not in reply.text  # reserved to FIN
    assert "inscrire Dupont BOSA-101" in chat("aide").text
    assert "Je n'ai pas compris" in chat("blabla").text
    assert "enroll Dupont BOSA-101" in Chat(world, world.en_officer)("help").text


def test_add_collaborator_guided(world: World) -> None:
    import random

    from tests.conftest import make_nrn

    number = make_nrn(random.Random(99), 1992, "F")
    chat = Chat(world, world.officer)
    reply = chat(f"ajouter {number[:6]}-{number[6:9]}.{number[9:]}")
    assert reply.text == "Nom de famille ?"
    chat("Vandamme")
    chat("Lotte")
    chat("lotte.vandamme@example.be")
    reply = chat("2")  # néerlandais
    assert "Service" in reply.text
    reply = chat("DG Digital")
    assert "Vandamme Lotte" in reply.text and number not in reply.text
    assert "92.03.14-xxx.xx" in reply.text
    reply = chat("oui")
    assert reply.text.startswith("Vandamme Lotte est ajoutée à BOSA")
    reply = chat(f"ajouter {number}")
    assert "déjà connu" in reply.text


def test_invalid_nrn_is_explained(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("ajouter 12345678901")
    assert "chiffres de contrôle" in reply.text or "date de naissance" in reply.text
    assert not reply.done


@pytest.mark.parametrize("platform", ["slack:T1", "teams:tenant"])
def test_unlinked_chat_user_only_gets_link_instructions(world: World, platform: str) -> None:
    reply = Chat(world, "U123", channel=platform)("inscrire Peeters BOSA-101")
    assert "n'est pas encore lié" in reply.text
    assert count(world, ConversationState) == 0


def test_typo_and_given_name_first_still_find_the_person(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("inscrire janssenz BOSA-101 12/03")
    assert "Janssens Tom" in reply.text and reply.actions == ["confirm", "cancel"]
    chat("annuler")
    reply = chat("inscrire Marie Dupont BOSA-101 12/03")
    assert "Dupont Marie" in reply.text and reply.actions == ["confirm", "cancel"]


def test_nothing_good_offers_the_closest_names(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("rapport Lambertini")
    assert "Je ne trouve personne du nom de « Lambertini »" in reply.text
    assert "Noms proches" in reply.text and "Lambrechts Sofie" in reply.text
