"""Logging (bot/logs.py): never a bot token or an ID number, in text or JSON, in a message, its arguments or
a traceback; JSON lines carry the chat, event and outbox ids; per-update library chatter is silenced."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import redact, setup_logging

TOKEN = "123456789:" + "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # the shape of a real token, not a real one
ID_NUMBER = "11010519491231002X"  # GB 11643's sample number
MASKED_ID = "110***********002X"  # workflows.validation.mask_id_number, as the chat shows it
URL = f"https://api.telegram.org/bot{TOKEN}/sendMessage"


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """setup_logging() writes to the (captured) stderr; the root logger is put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("bot", "aiogram.event", "httpx")}
    yield capsys
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def _raise_with_secrets() -> None:
    raise RuntimeError(f"POST {URL} failed for id {ID_NUMBER}")


def test_redact_masks_token_and_id_number() -> None:
    assert redact(f"GET {URL}") == "GET https://api.telegram.org/bot<token>/sendMessage"
    assert redact(f"证号 {ID_NUMBER}。") == f"证号 {MASKED_ID}。"
    assert redact(f"id={ID_NUMBER.lower()}") == f"id={MASKED_ID[:-1]}x"


def test_redact_leaves_other_numbers_alone() -> None:
    # Telegram chat ids, a 19-digit number, a credit code with letters: not ID numbers.
    text = "chat -1001234567890, file 1234567890123456789, USCC 91370400MA3C5QXK2B"
    assert redact(text) == text


def test_text_log_has_neither_token_nor_id(logs: pytest.CaptureFixture[str]) -> None:
    setup_logging()
    log = logging.getLogger("bot.test")
    log.warning("request %s for %s", URL, ID_NUMBER)
    err = logs.readouterr().err
    assert TOKEN not in err and ID_NUMBER not in err
    assert "/bot<token>/sendMessage" in err and MASKED_ID in err and "WARNING bot.test:" in err


def test_traceback_is_redacted_in_text(logs: pytest.CaptureFixture[str]) -> None:
    setup_logging()
    try:
        _raise_with_secrets()
    except RuntimeError:
        logging.getLogger("notifications.test").exception("send failed")
    err = logs.readouterr().err
    assert "Traceback" in err and "_raise_with_secrets" in err
    assert TOKEN not in err and ID_NUMBER not in err
    assert "<token>" in err and MASKED_ID in err


def test_json_lines_carry_ids_and_are_redacted(logs: pytest.CaptureFixture[str]) -> None:
    setup_logging(fmt="json")
    log = logging.getLogger("notifications.dispatcher")
    log.info("sent to %s", "chat", extra={"chat_id": "42", "event": "deadline:7", "outbox_id": 9})
    try:
        _raise_with_secrets()
    except RuntimeError:
        log.error("outbox %s: failed (%s)", 9, TOKEN, exc_info=True, extra={"outbox_id": 9})
    lines = logs.readouterr().err.splitlines()
    assert len(lines) == 2  # one line per entry, traceback included
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "sent to chat" and first["level"] == "INFO"
    assert first["logger"] == "notifications.dispatcher" and first["time"].endswith("+00:00")
    assert (first["chat_id"], first["event"], first["outbox_id"]) == ("42", "deadline:7", 9)
    assert "exc" not in first
    assert second["message"] == "outbox 9: failed (<token>)" and second["outbox_id"] == 9
    assert "chat_id" not in second
    assert "Traceback" in second["exc"] and "<token>" in second["exc"] and MASKED_ID in second["exc"]
    assert TOKEN not in lines[1] and ID_NUMBER not in lines[1]


def test_one_line_per_problem_not_per_update(logs: pytest.CaptureFixture[str]) -> None:
    setup_logging()
    logging.getLogger("aiogram.event").info("Update id=1 is handled. Duration 3 ms by bot id=1")
    logging.getLogger("httpx").info("HTTP Request: POST %s", URL)
    logging.getLogger("bot.engine").info("our own line")
    logging.getLogger("aiogram.event").warning("a library's problem")
    err = logs.readouterr().err
    assert "Update id=1" not in err and "HTTP Request" not in err
    assert "our own line" in err and "a library's problem" in err


def test_verbose_shows_debug_and_library_info(logs: pytest.CaptureFixture[str]) -> None:
    setup_logging(verbose=True)
    logging.getLogger("bot.engine").debug("step detail")
    logging.getLogger("httpx").info("HTTP Request: POST %s", URL)
    err = logs.readouterr().err
    assert "step detail" in err and "HTTP Request: POST" in err and TOKEN not in err


def test_setting_up_twice_does_not_double_lines(logs: pytest.CaptureFixture[str]) -> None:
    setup_logging()
    setup_logging(fmt="json")
    logging.getLogger("bot.test").warning("once")
    lines = [line for line in logs.readouterr().err.splitlines() if "once" in line]
    assert len(lines) == 1 and json.loads(lines[0])["message"] == "once"
