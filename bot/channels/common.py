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
# Updates a polling process holds at once. Past this it stops fetching, and the rest wait on Telegram's
# server, which keeps them for 24 hours. Without a limit aiogram started a task for every update of a
# results-day flood: 3,000 pending tasks, each holding its parsed update and middleware frames, cost the
# bot 45 MiB more than the echo bot and 10-20 % more CPU per update (bench/throughput.py, issue #10).
# Updates waiting their chat's turn (ChatOrder) hold a place, so one chat's burst of 20 leaves 80 places
# to the others.
UPDATES_IN_FLIGHT = 100


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
