"""What both Telegram channels share: the channel name and text splitting (limits: notifications.limits)."""

from __future__ import annotations

from notifications.limits import MAX_MESSAGE_LENGTH

CHANNEL = "telegram"


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
