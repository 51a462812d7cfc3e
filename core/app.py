"""The core's composition: settings, database and NRN vault, and the unit of work they give."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core import i18n
from core.config import Settings, load_settings
from core.db import Database
from core.matching.store import IndexedCollaborators
from core.models import AuditEvent, Officer, OutboxMessage
from core.nrn import NRNVault


@dataclass
class UnitOfWork:
    """One transaction, plus the two side effects every change owes: audit and notification."""

    session: Session
    app: App

    def audit(self, action: str, subject_type: str, subject_id: int | None,
              officer: Officer | None = None, actor: str | None = None, **details: Any) -> None:
        self.session.add(AuditEvent(
            officer_id=officer.id if officer else None,
            actor=actor or (officer.email if officer else "system"),
            action=action, subject_type=subject_type, subject_id=subject_id, details=details))

    def enqueue_mail(self, to: str, language: str, template: str, context: dict[str, Any],
                     token: str | None = None) -> OutboxMessage:
        """Queue a mail in this transaction, as facts: the mail sender renders subject and body.

        A reply token, when given, goes into the Message-ID as well as the Reply-To address:
        mail systems that rewrite plus-addresses still carry it back in References.
        """
        local = f"{uuid.uuid4().hex[:16]}.{token}" if token else uuid.uuid4().hex
        message = OutboxMessage(
            channel="mail", to_address=to, language=i18n.language_or_default(language),
            template=template, subject="",
            context={**context, **({"reply_token": token} if token else {})},
            message_id=f"<{local}@{self.app.settings.mail_domain}>")
        self.session.add(message)
        return message

    def enqueue_chat(self, platform: str, to: str, language: str, template: str,
                     context: dict[str, Any]) -> OutboxMessage | None:
        """Queue a chat message (Slack, Teams) as facts, if this deployment has that platform:
        a row no sender will ever take is never written."""
        if platform not in self.app.channels:
            return None
        message = OutboxMessage(
            channel=platform, to_address=to, language=i18n.language_or_default(language),
            template=template, subject="", context=context,
            message_id=f"<{uuid.uuid4().hex}@{self.app.settings.mail_domain}>")
        self.session.add(message)
        return message


class App:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.vault = NRNVault(settings.secret_key)
        self.collaborators = IndexedCollaborators()

    @property
    def channels(self) -> frozenset[str]:
        """The outbox channels this deployment delivers: mail always, chat when configured."""
        return frozenset({"mail"} | ({"slack"} if self.settings.slack_enabled else set())
                         | ({"teams"} if self.settings.teams_enabled else set()))

    @classmethod
    def from_environment(cls) -> App:
        return cls(load_settings())

    @contextmanager
    def unit_of_work(self, *, readonly: bool = False) -> Iterator[UnitOfWork]:
        with self.db.transaction(readonly=readonly) as session:
            yield UnitOfWork(session, self)

    def close(self) -> None:
        self.db.dispose()
