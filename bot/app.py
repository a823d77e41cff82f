"""Wiring: settings → database → engine. Every entry point (CLI, tests, benches) builds through here."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import Services
from bot.engine import Engine
from models import migrate
from models.db import make_engine, session_factory
from notifications.budget import SendBudget
from notifications.delivery import Sender
from notifications.dispatcher import Dispatcher
from notifications.render import default_renderer
from workflows.calendar import default_calendar
from workflows.clock import Clock, SystemClock
from workflows.settings import Settings, get_settings


@dataclass
class App:
    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    engine: Engine

    def dispatcher(
        self, senders: dict[str, Sender], *, chat_id: str | None = None, limiter: SendBudget | None = None
    ) -> Dispatcher:
        """The outbox dispatcher for these channels, under a name of its own: it takes up rows held in its
        name that it never got back from a claim (notifications/dispatcher.py), so no other dispatcher, in
        this process or a restarted one with the same pid, may share it."""
        return Dispatcher(
            self.sessions,
            senders,
            renderer=default_renderer(),
            clock=self.engine.services.clock,
            instance=f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}",
            chat_id=chat_id,
            limiter=limiter,
            lease_seconds=self.settings.outbox_lease_seconds,
        )

    async def close(self) -> None:
        await self.db.dispose()


async def build_app(
    settings: Settings | None = None, *, clock: Clock | None = None, migrate_db: bool = True
) -> App:
    settings = settings or get_settings()
    if migrate_db:
        await asyncio.to_thread(migrate.upgrade, settings.database_url)
    default_renderer().check_all()  # a broken template is refused at start, with its file and line
    db = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    sessions = session_factory(db)
    services = Services(clock=clock or SystemClock(), calendar=default_calendar(), settings=settings)
    return App(settings, db, sessions, Engine(sessions, services))
