"""The contract between the dispatcher and a channel: a rendered message goes to a Sender, which
either delivers it or raises one of these errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OutgoingButton:
    label: str
    data: str  # an opaque ButtonToken (≤ 64 bytes)


@dataclass(frozen=True)
class OutgoingMessage:
    text: str
    buttons: list[list[OutgoingButton]] = field(default_factory=list)
    document_name: str | None = None
    document: bytes | None = None


class DeliveryError(Exception):
    pass


class RetryLater(DeliveryError):
    """The platform said "too many requests": wait `retry_after` seconds before sending anything more."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class TransientFailure(DeliveryError):
    """Network error or 5xx: retry with backoff."""


class PermanentFailure(DeliveryError):
    """Blocked by the user, chat not found, message rejected: never retried."""


class RecipientGone(PermanentFailure):
    """The chat cannot be written to any more (blocked the bot, deleted, bot removed): besides this
    message, the chat's bindings end, so nothing more is queued for it."""


class Sender(Protocol):
    channel: str

    async def send(self, chat_id: str, message: OutgoingMessage) -> None: ...
