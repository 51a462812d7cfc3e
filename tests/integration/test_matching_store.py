"""The index follows the database: additions and changes by this or another instance."""

from __future__ import annotations

import random

from sqlalchemy import select

from core.app import App
from core.models import Collaborator
from core.services import collaborators
from core.services.access import organisation_by_code
from tests.conftest import World, make_nrn


def names(app: App, query: str, org: str = "BOSA") -> list[str]:
    with app.unit_of_work(readonly=True) as uow:
        ids = [organisation_by_code(uow, org).id]
        return [f.collaborator.display_name for f in collaborators.search(uow, query, ids)]


def test_new_and_changed_collaborators_are_found_by_every_instance(world: World) -> None:
    other = App(world.app.settings)  # a second instance on the same database
    try:
        assert names(other, "peeters")[0] == "Peeters Jan"
        assert names(world.app, "vandamme") == []
        with world.app.unit_of_work() as uow:
            collaborators.add_collaborator(uow, None, collaborators.NewCollaborator(
                make_nrn(random.Random(1), 1990), "Van Damme", "Jef", None, "nl", "BOSA"))
        assert names(world.app, "vandamme") == ["Van Damme Jef"]
        assert names(other, "vandamme") == ["Van Damme Jef"]
        with world.app.unit_of_work() as uow:
            person = uow.session.scalars(
                select(Collaborator).where(Collaborator.surname == "Peeters")).one()
            person.surname = "Peeters-Maes"
        assert names(other, "peeters maes") == ["Peeters-Maes Jan"]
        with world.app.unit_of_work() as uow:
            person = uow.session.scalars(
                select(Collaborator).where(Collaborator.surname == "Peeters-Maes")).one()
            person.active = False
        assert "Peeters-Maes Jan" not in names(other, "peeters maes")
    finally:
        other.close()


def test_search_is_scoped_to_the_organisations_given(world: World) -> None:
    assert names(world.app, "vermeulen", "FIN") == ["Vermeulen Katrien"]
    assert names(world.app, "vermeulen", "BOSA") == []
