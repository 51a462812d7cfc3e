"""ajouter 85073003328: a guided form for a new collaborator, confirmed before it is saved."""

from __future__ import annotations

from core import nrn
from core.conversation.context import Turn
from core.conversation.flows.base import Answer
from core.conversation.parser import Parsed
from core.conversation.types import Reply
from core.services.access import require_active, responsible_for
from core.services.collaborators import NewCollaborator, add_collaborator, find_by_nrn

NAME = "add"
LANGUAGES = ("fr", "nl", "de", "en")
FIELDS = ("surname", "given_names", "email", "language", "department", "organisation")
SKIP = {"-", "/", "skip", "passer", "overslaan"}


class AddFlow:
    name = NAME

    def start(self, turn: Turn, parsed: Parsed) -> Reply:
        require_active(turn.officer)
        candidate = "".join(w for w in parsed.words if any(ch.isdigit() for ch in w))
        return self._nrn(turn, candidate)

    def _nrn(self, turn: Turn, text: str) -> Reply:
        if not text.strip():
            return turn.ask(NAME, "nrn", turn.t("add.ask_nrn"))
        try:
            number = nrn.parse(text)
        except nrn.InvalidNRN as exc:
            return turn.ask(NAME, "nrn", turn.t(f"add.nrn_{exc.reason}"))
        existing = find_by_nrn(turn.uow, number.digits)
        if existing is not None:
            if responsible_for(turn.officer, existing.organisation_id):
                return turn.done(turn.t("add.exists", name=existing.display_name,
                                        organisation=existing.organisation.code))
            turn.uow.audit("collaborator.add_known_elsewhere", "collaborator", None,
                           turn.officer)
            return turn.done(turn.t("add.exists_elsewhere"))
        turn.data["nrn"] = turn.uow.app.vault.encrypt(number).hex()
        turn.data["masked"] = nrn.mask(number)
        return self._next(turn)

    def _next(self, turn: Turn) -> Reply:
        for field in FIELDS:
            if field in turn.data:
                continue
            if field == "language":
                return turn.choose(NAME, field, turn.t("add.ask_language"),
                                   [(code, turn.t(f"language.{code}")) for code in LANGUAGES])
            if field == "organisation":
                organisations = turn.officer.organisations
                if len(organisations) == 1:
                    turn.data[field] = organisations[0].code
                    continue
                return turn.choose(NAME, field, turn.t("add.ask_organisation"),
                                   [(o.code, o.name(turn.language)) for o in organisations])
            return turn.ask(NAME, field, turn.t(f"add.ask_{field}"))
        data = turn.data
        return turn.confirm(NAME, "confirm", turn.t(
            "add.confirm", nrn=data["masked"], surname=data["surname"],
            given_names=data["given_names"], email=data["email"] or "-",
            language=turn.t(f"language.{data['language']}"),
            department=data["department"] or "-", organisation=data["organisation"]))

    def resume(self, turn: Turn, step: str, answer: Answer) -> Reply:
        text = answer.text.strip()
        if step == "nrn":
            return self._nrn(turn, text)
        if step == "confirm":
            return self._save(turn) if answer.confirmed else turn.confirm(
                NAME, "confirm", turn.t("flow.yes_or_no"))
        if step in ("language", "organisation"):
            value = answer.value or (text.lower() if step == "language" else text.upper())
            if step == "language" and value not in LANGUAGES:
                return turn.choose(NAME, step, turn.t("add.ask_language"),
                                   [(code, turn.t(f"language.{code}")) for code in LANGUAGES])
            turn.data[step] = value
        elif step == "email":
            if text.lower() in SKIP:
                turn.data[step] = None
            elif "@" not in text or " " in text:
                return turn.ask(NAME, step, turn.t("add.bad_email"))
            else:
                turn.data[step] = text
        elif step in ("surname", "given_names"):
            if not text:
                return turn.ask(NAME, step, turn.t(f"add.ask_{step}"))
            turn.data[step] = text
        else:
            turn.data[step] = None if text.lower() in SKIP else text
        return self._next(turn)

    def _save(self, turn: Turn) -> Reply:
        data = turn.data
        number = turn.uow.app.vault.decrypt(bytes.fromhex(data["nrn"]))
        person = add_collaborator(turn.uow, turn.officer, NewCollaborator(
            nrn=number, surname=data["surname"], given_names=data["given_names"],
            email=data["email"], language=data["language"], organisation=data["organisation"],
            department=data["department"]))
        return turn.done(turn.t("add.done", person.sex, name=person.display_name,
                                organisation=person.organisation.code))
