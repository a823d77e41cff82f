"""Channel-neutral values: what comes in from a chat, what goes back. Channels only translate these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class IncomingFile:
    file_name: str | None
    mime_type: str | None
    size: int | None
    fetch: Callable[[], Awaitable[bytes]] | None = None  # downloads the bytes when a step wants them


@dataclass(frozen=True)
class Event:
    channel: str  # telegram | console
    chat_id: str
    user_id: str
    text: str | None = None  # typed text, including /commands
    callback: str | None = None  # button data (an opaque token)
    file: IncomingFile | None = None
    other: str | None = None  # sticker, voice, location, ... (never asked for)
    language_code: str | None = None
    user_name: str | None = None
    # private | group | supergroup | channel. Identity and data live in private chats only (issue #9).
    chat_type: str = "private"
    chat_title: str | None = None

    @property
    def private(self) -> bool:
        return self.chat_type == "private"


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # ≤ 64 bytes (Telegram's callback_data limit)


@dataclass(frozen=True)
class Document:
    file_name: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass
class Reply:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    document: Document | None = None
    edit: bool = False  # replace the message whose button was pressed, where the channel can


@dataclass
class Outcome:
    """What one event produced: the replies, and the short notice for the pressed button (Telegram's
    answerCallbackQuery toast; every callback is answered, with this text or empty)."""

    replies: list[Reply] = field(default_factory=list)
    callback_notice: str | None = None
    # The chat now waits for typed text (a fine, a reason): a console reads "3" as text, not button 3.
    expects_text: bool = False
