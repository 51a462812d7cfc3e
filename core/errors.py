"""Refusals that users read: a code and its parameters, rendered from the catalogues."""

from __future__ import annotations

from typing import Any

from core import i18n


class DomainError(Exception):
    """A rule refused the action; `message(language)` says why, politely."""

    def __init__(self, code: str, /, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def message(self, language: str) -> str:
        params = dict(self.params)
        variant = params.pop("variant", None)
        return i18n.t(language, f"error.{self.code}", variant, **params)

    def __str__(self) -> str:
        return self.message("en")
