"""Logging for every entry point (issue #10): one line per problem, not per update, and never a bot token or
an ID number, whatever a library puts into a message, its arguments or a traceback.

Text by default; `--log-format json` writes one JSON object per line with the chat, event and outbox ids a
caller passes as `extra={"chat_id": ..., "event": ..., "outbox_id": ...}`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from workflows.validation import mask_id_number

LogFormat = Literal["text", "json"]

OUR_PACKAGES = ("bot", "models", "notifications", "workflows")
# Libraries that log per update or per request at INFO: aiogram.event says "Update id=... is handled" for
# every update, aiohttp.access every HTTP request (each webhook call), httpx every Bot API call (with the
# token in its URL), apscheduler every job run. Their warnings and errors still come through.
NOISY_LIBRARIES = ("aiogram.event", "aiohttp.access", "apscheduler", "httpx", "httpcore", "telegram.ext")
# The ids a caller may attach with `extra=`; JSON lines carry them as fields.
EXTRA_FIELDS = ("chat_id", "event", "outbox_id")

# "123456789:AAH...": digits, a colon, 35 URL-safe characters (also inside /bot<token>/ in a URL).
TOKEN = re.compile(r"(?<![0-9])[0-9]{6,}:[A-Za-z0-9_-]{30,}")
# 居民身份证号码 (GB 11643): 17 digits and a check character, not part of a longer number or code.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text: str) -> str:
    """Bot tokens become <token>; ID numbers are masked as the chat shows them (110***********001X)."""
    text = TOKEN.sub("<token>", text)
    return ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """On a handler: rewrites each record's message, arguments, traceback and stack before formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call (wrong argument count): leave it to logging's own error report
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)  # formatters use exc_text when it is set
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One object per line: time (UTC, ISO 8601), level, logger, message, the ids given, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value if isinstance(value, int | float | bool) else redact(str(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(*, verbose: bool = False, fmt: LogFormat = "text") -> None:
    """Configure the root logger once per process (a second call replaces what the first installed)."""
    if fmt not in ("text", "json"):
        raise ValueError(f"log format {fmt!r}: expected 'text' or 'json'")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_credit_bot", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler._credit_bot = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # libraries' start and stop lines; the per-update ones are silenced below
    for name in OUR_PACKAGES:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
