"""Text as users type it, made safe to store: control characters removed before anything is written."""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the noncharacters U+FFFE/U+FFFF. PostgreSQL
# refuses U+0000 in text outright; the others corrupt logs, spreadsheets and notices.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")


def clean_text(text: str) -> str:
    """Drop control characters; a carriage return becomes nothing (\\r\\n → \\n)."""
    return _CONTROL.sub("", text)


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean_text(text)
