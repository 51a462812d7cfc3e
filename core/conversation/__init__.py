"""Platform-neutral dialogue: an Inbound in, a Reply out; adapters only render and route."""

from core.conversation.engine import Engine
from core.conversation.types import Choice, Inbound, Reply

__all__ = ["Choice", "Engine", "Inbound", "Reply"]
