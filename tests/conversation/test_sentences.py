"""Sentences as officers type them in Slack or Teams, in four languages, through Engine.handle:
one sentence and one click where the portal takes twelve steps."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.conversation import Engine, Inbound, Reply
from core.models import ConversationState, Enrollment, EnrollmentState, OutboxMessage
from tests.conftest import World
from tests.conversation.test_flows import count, free_seats

CONFIRM = ["confirm", "cancel"]


class Chat:
    def __init__(self, world: World, email: str) -> None:
        self.engine = Engine(world.app)
        self.email = email

    def __call__(self, text: str | None = None, action: str | None = None) -> Reply:
        return self.engine.handle(Inbound("console", self.email, text=text, action=action))


@pytest.mark.parametrize(("text", "language", "words"), [
    ("Peux-tu inscrire Jan Peeters à BOSA-101 le 12 mars ?", "fr", "Inscrire Peeters Jan"),
    ("inscris Peeters à la formation BOSA-101 le 12/03 stp", "fr", "Inscrire Peeters Jan"),
    ("kun je Peeters inschrijven voor BOSA-101 op 12 maart", "nl", "Peeters Jan"),
    ("could you book Jan Peeters on BOSA-101 on March 12?", "en", "Enroll Peeters Jan"),
    ("Können Sie Herrn Peeters für BOSA-101 am 12. März anmelden?", "de", "Peeters Jan"),
])
def test_one_sentence_reaches_the_confirmation_in_its_language(
        world: World, text: str, language: str, words: str) -> None:
    reply = Chat(world, world.officer)(text)  # a French-speaking officer, any language
    assert reply.actions == CONFIRM, reply.text
    assert reply.language == language
    assert words in reply.text and "12/03/2027" in reply.text
    assert count(world, Enrollment) == 0


def test_the_examples_of_the_issue(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("combien de places pour BOSA-101 ?")
    assert reply.done and reply.text.startswith("BOSA-101 « Gestion du temps » — sessions")
    reply = chat("wie viele Plätze hat BOSA-101 noch")
    assert reply.language == "de" and "Termine" in reply.text and "Bruxelles" in reply.text
    reply = chat("Y a-t-il encore de la place en BOSA-101 ?")
    assert "12/03/2027 — Bruxelles — 3 places libres" in reply.text
    reply = chat("inscris Jan Peeters à la formation BOSA-101 stp")
    assert "quelle session" in reply.text
    reply = chat("1")
    assert reply.actions == CONFIRM and "Peeters Jan" in reply.text
    assert "Plusieurs personnes" not in reply.text
    chat("annuler")
    reply = chat("inscrire Peeters BOSA-101 le 20 avril")
    assert reply.actions == CONFIRM and "20/04/2027" in reply.text


def test_several_persons_one_confirmation_one_click(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("inscris Marie Dupont, Peeters et Lambrechts à BOSA-101 le 12/03")
    assert reply.actions == CONFIRM
    for name in ("Dupont Marie", "Peeters Jan", "Lambrechts Sofie"):
        assert name in reply.text
    assert "3 personnes" in reply.text and "3 places restantes" in reply.text
    reply = chat("oui")
    assert reply.done
    assert reply.text.count("est inscrit") == 3 and "plus aucune place libre" in reply.text
    assert free_seats(world, "BOSA-101/a") == 0
    assert count(world, OutboxMessage) == 3 and count(world, ConversationState) == 0


def test_homonyms_are_asked_one_by_one_then_one_confirmation(world: World) -> None:
    chat = Chat(world, world.en_officer)
    reply = chat("enroll Dupont and Peeters in BOSA-101 on 20 April")
    assert "Several people match “Dupont”" in reply.text and len(reply.choices) == 2
    jean = next(c.key for c in reply.choices if "Jean" in c.label)
    reply = chat(action=f"choose:{jean}")
    assert reply.actions == CONFIRM
    assert "Dupont Jean" in reply.text and "Peeters Jan" in reply.text


def test_one_refused_does_not_undo_the_others_and_is_named(world: World) -> None:
    chat = Chat(world, world.officer)
    chat("inscrire Peeters BOSA-101 le 12/03")
    chat("oui")
    reply = chat("inscris Peeters et Claes à BOSA-101 le 12 mars")
    assert "Peeters Jan" in reply.text and "Claes Hilde" in reply.text
    reply = chat("oui")
    assert "Claes Hilde est inscrite à BOSA-101" in reply.text
    assert "Peeters Jan n'est pas inscrit·e : Peeters Jan est déjà inscrit·e" in reply.text
    with world.app.unit_of_work(readonly=True) as uow:
        states = uow.session.scalars(select(Enrollment.state)).all()
    assert sorted(states) == [EnrollmentState.ENROLLED, EnrollmentState.ENROLLED]


def test_a_title_or_a_given_name_narrows_homonyms(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("inscrire Mme Dupont à BOSA-101 le 12/03")
    assert reply.actions == CONFIRM and "Dupont Marie" in reply.text
    reply = chat("inscrire Jean Dupont à BOSA-101 le 12/03")
    assert reply.actions == CONFIRM and "Dupont Jean" in reply.text


def test_a_month_picks_the_session_of_that_month(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("inscrire van den bossche à BOSA-101 en avril")
    assert reply.actions == CONFIRM and "Van den Bossche Els" in reply.text
    assert "20/04/2027" in reply.text
    reply = chat("qui est inscrit à BOSA-101 en mars ?")
    assert reply.done and reply.text.startswith("BOSA-101 le 12/03/2027")


def test_a_mistyped_verb_is_still_understood(world: World) -> None:
    reply = Chat(world, world.officer)("inscirre Peeters BOSA-101 12/03")
    assert reply.actions == CONFIRM and "Peeters Jan" in reply.text
    reply = Chat(world, world.en_officer)("enrool Peeters in BOSA-101 on 12/03")
    assert reply.actions == CONFIRM and reply.language == "en"


def test_unsure_means_a_question_with_the_likely_readings(world: World) -> None:
    chat = Chat(world, world.officer)
    reply = chat("Peeters BOSA-101")
    labels = [c.label for c in reply.choices]
    assert reply.text == "Voulez-vous :"
    assert labels[:2] == ["inscrire Peeters à BOSA-101", "voir les places de BOSA-101"]
    reply = chat("1")
    assert "quelle session" in reply.text
    reply = chat("le 20 avril")  # a date answers "which session?"
    assert reply.actions == CONFIRM and "20/04/2027" in reply.text


def test_a_code_alone_or_a_name_alone_is_asked_about(world: World) -> None:
    reply = Chat(world, world.nl_officer)("BOSA-101?")
    assert reply.choices[0].label == "de plaatsen van BOSA-101 bekijken"
    reply = Chat(world, world.officer)("Van den Bossche Els")
    assert reply.choices[0].label == "voir le rapport de Van den Bossche Els"


def test_not_understood_only_without_intent_code_or_known_name(world: World) -> None:
    reply = Chat(world, world.officer)("blabla truc")
    assert reply.text.startswith("Je n'ai pas compris « blabla truc »")
    assert "combien de places pour BOSA-101" in reply.text and not reply.choices
    reply = Chat(world, world.en_officer)("whatever")
    assert reply.text.startswith("I did not understand") and "how many seats" in reply.text


def test_a_new_request_where_a_number_was_expected_starts_afresh(world: World) -> None:
    chat = Chat(world, world.officer)
    assert "quelle session" in chat("inscrire Peeters BOSA-101").text
    reply = chat("Claes DIG-101")
    assert reply.text == "Voulez-vous :"
    reply = chat("Janssens")  # a new name where a reading was to be chosen: asked afresh
    assert [c.label for c in reply.choices] == [
        "voir le rapport de Janssens", "inscrire Janssens (à quelle formation ?)",
        "désinscrire Janssens"]


def test_a_typed_national_number_in_a_sentence_is_masked(world: World) -> None:
    number = "85073003328"
    chat = Chat(world, world.officer)
    reply = chat(f"Peux-tu inscrire {number} à BOSA-101 le 12/03 ?")
    assert number not in json.dumps(reply.as_json())
    reply = chat(f"{number} BOSA-101")
    assert number not in json.dumps(reply.as_json()) and "85.07.30-033.28" not in reply.text
    with world.app.unit_of_work(readonly=True) as uow:
        stored = [json.dumps(s.data) for s in uow.session.scalars(select(ConversationState))]
    assert not any(number in s or "033.28" in s for s in stored)


def test_lapsed_access_gets_no_reading_of_anyone(world: World) -> None:
    reply = Chat(world, world.expired_officer)("Peeters BOSA-101")
    assert "n'est plus valable" in reply.text and not reply.choices
    reply = Chat(world, world.expired_officer)("Lambrechts")  # no name looked up for them
    assert "n'est plus valable" in reply.text and "Lambrechts" not in reply.text
