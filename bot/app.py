"""Wiring: settings → database → engine. Every entry point (CLI, tests, benches) builds through here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import Services
from bot.engine import Engine
from models import migrate
from models.db import make_engine, session_factory
from workflows.calendar import default_calendar
from workflows.clock import Clock, SystemClock
from workflows.settings import Settings, get_settings


@dataclass
class App:
    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    engine: Engine

    async def close(self) -> None:
        await self.db.dispose()


async def build_app(
    settings: Settings | None = None, *, clock: Clock | None = None, migrate_db: bool = True
) -> App:
    settings = settings or get_settings()
    if migrate_db:
        await asyncio.to_thread(migrate.upgrade, settings.database_url)
    db = make_engine(settings.database_url)
    sessions = session_factory(db)
    services = Services(clock=clock or SystemClock(), calendar=default_calendar(), settings=settings)
    return App(settings, db, sessions, Engine(sessions, services))
