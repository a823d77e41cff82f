"""What both Telegram channels share: the channel name and text splitting (limits: notifications.limits)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.i18n import N_
from notifications.limits import MAX_MESSAGE_LENGTH
from workflows.errors import UserError

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# Edited messages and channel posts are not something a user asked now (issue #9): not even fetched.
ALLOWED_UPDATES = ["message", "callback_query"]


@dataclass(frozen=True)
class Webhook:
    """WEBHOOK_URL as Telegram calls it, the secret it sends back, and the path this server answers."""

    url: str
    secret: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


def split_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """Split on line breaks so no piece exceeds Telegram's limit; a single overlong line is cut hard."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


UNREADABLE_FILE = UserError(N_("文件无法读取，请重新发送（Telegram 机器人只能下载 20 MB 以内的文件）。"))


async def download(fetch: Callable[[], Awaitable[bytes]]) -> bytes:
    """A file Telegram will not serve (too big, gone, network trouble) is the user's to resend, not a crash."""
    try:
        return await fetch()
    except Exception as err:  # each library raises its own errors; all mean "could not download"
        log.info("file download failed: %s", type(err).__name__)
        raise UNREADABLE_FILE from err
