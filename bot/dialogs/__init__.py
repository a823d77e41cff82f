"""Each chat flow as a channel-neutral state machine over workflows/. Importing a module registers it."""

from __future__ import annotations

import importlib

MODULES = (
    "menu",
    "binding",
    "assessment",
    "records",
    "staff",
    "commitment",
    "repair",
    "objection",
    "applications",
    "staff_queue",
    "staff_lookup",
    "interviews",
    "fulfilment",
    "follow_up",
    "subjects",
    "data",
    "robots",
)


def load() -> None:
    for name in MODULES:
        importlib.import_module(f"bot.dialogs.{name}")
