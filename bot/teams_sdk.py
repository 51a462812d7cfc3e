"""Microsoft's Teams SDK (microsoft-teams-apps), imported so that only ITMA_TEAMS_* configure it.

`microsoft_teams.apps` calls `load_dotenv()` when it is imported: a `.env` file found anywhere
from the working directory up would be copied into the process environment, where the SDK
then reads CLIENT_ID, CLIENT_SECRET, TENANT_ID, CLOUD, SERVICE_URL, OAUTH_URL and
DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS. Here the import runs with python-dotenv switched off
and the environment is put back exactly as it was; `clean_environment()` hides those variables
while the SDK app is built, and every option is passed explicitly. Every other module imports
the SDK from here.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

SDK_VARIABLES = ("CLIENT_ID", "CLIENT_SECRET", "TENANT_ID", "MANAGED_IDENTITY_CLIENT_ID",
                 "CLOUD", "SERVICE_URL", "OAUTH_URL", "DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS")


def _restore(saved: dict[str, str]) -> None:
    for name in set(os.environ) - set(saved):
        del os.environ[name]
    for name, value in saved.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


@contextmanager
def clean_environment() -> Iterator[None]:
    """The SDK sees none of the variables it would read on its own (and no .env is loaded)."""
    saved = dict(os.environ)
    os.environ["PYTHON_DOTENV_DISABLED"] = "1"
    for name in SDK_VARIABLES:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        _restore(saved)


@contextmanager
def quiet_setup() -> Iterator[None]:
    """The SDK's start-up warnings name its own variables (CLIENT_ID, TENANT_ID…), which are not
    ours: `serve` says in its own words what is configured."""
    loggers = [logging.getLogger(name) for name in ("microsoft_teams.apps.app",
                                                     "microsoft_teams.apps.http.http_server")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


HTTP_LOGGER = "microsoft_teams.common.http.client"
"""Each SDK HTTP client copies this logger's level onto httpx's: at WARNING, httpx no longer
logs an INFO line (URL and status) for every answer posted, a cost paid per message in serve's
log files that said nothing the outbox and metrics do not."""
logging.getLogger(HTTP_LOGGER).setLevel(logging.WARNING)

with clean_environment(), warnings.catch_warnings():
    warnings.simplefilter("ignore")  # preview-feature warnings printed at import
    from microsoft_teams.api import (
        Account,
        ActivityParams,
        ActivityTypeAdapter,
        ApiClient,
        ApiClientSettings,
        Attachment,
        ConversationAccount,
        CreateConversationParams,
        InvokeResponse,
        MessageActivity,
        MessageActivityInput,
    )
    from microsoft_teams.api.activities.conversation import ConversationUpdateActivity
    from microsoft_teams.api.activities.install_update import InstalledActivity
    from microsoft_teams.api.activities.invoke.adaptive_card import AdaptiveCardInvokeActivity
    from microsoft_teams.api.activities.invoke.file_consent import FileConsentInvokeActivity
    from microsoft_teams.api.auth.cloud_environment import (
        PUBLIC,
        CloudEnvironment,
        with_overrides,
    )
    from microsoft_teams.api.models.adaptive_card import (
        AdaptiveCardActionCardResponse,
        AdaptiveCardActionMessageResponse,
    )
    from microsoft_teams.apps import ActivityContext
    from microsoft_teams.apps import App as SdkApp
    from microsoft_teams.apps.app import USER_AGENT
    from microsoft_teams.apps.events import ActivityEvent
    from microsoft_teams.apps.http import FastAPIAdapter
    from microsoft_teams.apps.http.adapter import HttpRequest, HttpResponse, HttpRouteHandler
    from microsoft_teams.cards import (
        ActionSet,
        AdaptiveCard,
        Choice,
        ChoiceSetInput,
        ExecuteAction,
        OpenUrlAction,
        SubmitAction,
        TextBlock,
        TextInput,
    )

__all__ = [
    "PUBLIC",
    "USER_AGENT",
    "Account",
    "ActionSet",
    "ActivityContext",
    "ActivityEvent",
    "ActivityParams",
    "ActivityTypeAdapter",
    "AdaptiveCard",
    "AdaptiveCardActionCardResponse",
    "AdaptiveCardActionMessageResponse",
    "AdaptiveCardInvokeActivity",
    "ApiClient",
    "ApiClientSettings",
    "Attachment",
    "Choice",
    "ChoiceSetInput",
    "CloudEnvironment",
    "ConversationAccount",
    "ConversationUpdateActivity",
    "CreateConversationParams",
    "ExecuteAction",
    "FastAPIAdapter",
    "FileConsentInvokeActivity",
    "HttpRequest",
    "HttpResponse",
    "HttpRouteHandler",
    "InstalledActivity",
    "InvokeResponse",
    "MessageActivity",
    "MessageActivityInput",
    "OpenUrlAction",
    "SdkApp",
    "SubmitAction",
    "TextBlock",
    "TextInput",
    "clean_environment",
    "quiet_setup",
    "with_overrides",
]
