"""Where dialog steps register: button actions by name, text and file handlers by conversation state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.context import Ctx
from bot.replies import IncomingFile

ActionHandler = Callable[[Ctx, dict[str, Any]], Awaitable[None]]
TextHandler = Callable[[Ctx, str], Awaitable[None]]
FileHandler = Callable[[Ctx, IncomingFile], Awaitable[None]]

actions: dict[str, ActionHandler] = {}
texts: dict[str, TextHandler] = {}
files: dict[str, FileHandler] = {}


def action(name: str) -> Callable[[ActionHandler], ActionHandler]:
    def register(fn: ActionHandler) -> ActionHandler:
        if name in actions:
            raise RuntimeError(f"button action {name!r} registered twice")
        actions[name] = fn
        return fn

    return register


def on_text(state: str) -> Callable[[TextHandler], TextHandler]:
    def register(fn: TextHandler) -> TextHandler:
        texts[state] = fn
        return fn

    return register


def on_file(state: str) -> Callable[[FileHandler], FileHandler]:
    def register(fn: FileHandler) -> FileHandler:
        files[state] = fn
        return fn

    return register
