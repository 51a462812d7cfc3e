"""The pydantic schema of a registration request: intake.py imports it on the first parse."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from core import nrn
from core.services.intake import (
    EMAIL,
    EMAIL_LOCAL_MAX,
    EMAIL_MAX,
    EXTERNAL_ID_MAX,
    ISO_DATE,
    KINDS,
    NAME_MAX,
    NRN_MAX,
    ORGANISATION,
    ORGANISATION_MAX,
    TRAINING_CODE,
    TRAINING_CODE_MAX,
    FieldError,
    InvalidRequest,
    has_control_characters,
)


def _fail(kind: str, reason: str) -> PydanticCustomError:
    return PydanticCustomError(kind, reason)


def _text(max_length: int, pattern: re.Pattern[str] | None = None,
          expected: str = "") -> Callable[[str], str]:
    def check(value: str) -> str:
        if has_control_characters(value):
            raise _fail("control_character", "control characters are not allowed")
        value = value.strip()
        if not value:
            raise _fail("blank", "required")
        if len(value) > max_length:
            raise _fail("too_long", f"at most {max_length} characters")
        if pattern is not None and not pattern.fullmatch(value):
            raise _fail("pattern", expected)
        return value

    return check


def _optional(check: Callable[[str], str]) -> Callable[[str | None], str | None]:
    """Absent, null and blank are the same: not given."""

    def optional(value: str | None) -> str | None:
        if value is None or (not value.strip() and not has_control_characters(value)):
            return None
        return check(value)

    return optional


def _email(value: str) -> str:
    value = _text(EMAIL_MAX, EMAIL, "not an e-mail address")(value)
    if len(value.split("@", 1)[0]) > EMAIL_LOCAL_MAX:
        raise _fail("pattern", "not an e-mail address")
    return value


def _national_number(value: str) -> str:
    value = _text(NRN_MAX)(value)
    if not nrn.is_valid(value):
        raise _fail("nrn", "not a valid number")  # never the number itself
    return nrn.parse(value).digits


def _iso_date(value: str) -> str:
    value = _text(10, ISO_DATE, "expected YYYY-MM-DD")(value)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _fail("date", "expected YYYY-MM-DD, an existing day") from None
    return value


Name = Annotated[str, AfterValidator(_text(NAME_MAX))]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Person(_Strict):
    surname: Name
    given_names: Name
    email: Annotated[str, AfterValidator(_email)]
    national_register_number: Annotated[
        str | None, AfterValidator(_optional(_national_number))] = None
    language: Literal["fr", "nl", "en", "de"]
    organisation: Annotated[str, AfterValidator(_text(
        ORGANISATION_MAX, ORGANISATION, "not an organisation code"))]


class SessionWish(_Strict):
    kind: Literal["session"]
    training_code: Annotated[str, AfterValidator(_text(
        TRAINING_CODE_MAX, TRAINING_CODE, "expected a training code such as BOSA-101"))]
    session_start: Annotated[str, AfterValidator(_iso_date)]


class MailingListWish(_Strict):
    kind: Literal["mailing_list"]


class Registration(_Strict):
    external_id: Annotated[str | None, AfterValidator(_optional(_text(EXTERNAL_ID_MAX)))] = None
    person: Person
    wants: Annotated[SessionWish | MailingListWish, Field(discriminator="kind")]

    def person_record(self) -> dict[str, str]:
        """What is stored as typed (the national number is stored apart, encrypted)."""
        return self.person.model_dump(exclude={"national_register_number"})

    def wants_record(self) -> dict[str, str]:
        """Only the kind, the training code and the date: titles and places are the catalogue's."""
        if isinstance(self.wants, SessionWish):
            return {"kind": "session", "training_code": self.wants.training_code.upper(),
                    "session_start": self.wants.session_start}
        return {"kind": "mailing_list"}


_REASONS = {
    "missing": "required",
    "extra_forbidden": "not an allowed field",
    "string_type": "expected a string",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "union_tag_invalid": "expected 'session' or 'mailing_list'",
    "union_tag_not_found": "required: 'session' or 'mailing_list'",
}


def _field(location: tuple[int | str, ...], kind: str) -> str:
    parts = [str(p) for p in location]
    if parts[:1] == ["wants"]:
        if kind.startswith("union_tag"):
            return "wants.kind"
        if parts[1:2] and parts[1] in KINDS:  # the discriminator pydantic puts in the path
            del parts[1]
    return ".".join(parts) or "body"


def parse(payload: Any) -> Registration:
    """The validated request, or InvalidRequest with every field error (never a typed value)."""
    try:
        return Registration.model_validate(payload)
    except ValidationError as exc:
        errors: list[FieldError] = []
        for error in exc.errors(include_input=False, include_url=False):
            reason = _REASONS.get(error["type"], error["msg"])
            if error["type"] == "model_type" and not error["loc"]:
                reason = "expected a JSON object"
            found = FieldError(_field(error["loc"], error["type"]), reason)
            if found not in errors:
                errors.append(found)
        raise InvalidRequest(errors) from None
