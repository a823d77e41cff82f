"""Suspicious events counted across every chat and process: one row per kind and time window, incremented
in the database, and admins alerted once per window when the count reaches the configured level."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import SecurityTally, Staff, StaffRole
from workflows import rules
from workflows.clock import SHANGHAI
from workflows.notices import notify_staff

WRONG_CODES = "binding.wrong_code"


def window_start(now: datetime, minutes: int) -> datetime:
    """The start of the fixed window `now` falls in (windows are aligned to the hour's minutes)."""
    base = now.replace(minute=0, second=0, microsecond=0)
    return base + timedelta(minutes=(now.minute // minutes) * minutes) if minutes < 60 else base


async def count_event(session: AsyncSession, name: str, *, now: datetime, window_minutes: int) -> int:
    """Add one to this window's count and return the new count (one statement: safe across processes)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = SecurityTally.__table__  # type: ignore[attr-defined]
    stmt = dialect.insert(SecurityTally).values(
        name=name, window_start=window_start(now, window_minutes), count=1
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["name", "window_start"], set_={"count": table.c["count"] + 1}
    ).returning(table.c["count"])
    result = await (await session.connection()).execute(stmt)
    return int(result.scalar_one())


async def note_wrong_code(session: AsyncSession, *, now: datetime) -> None:
    """Wrong binding codes from all chats together: at the alert level, every admin hears once per window."""
    count = await count_event(
        session, WRONG_CODES, now=now, window_minutes=rules.BINDING_WRONG_CODES_WINDOW_MINUTES
    )
    if count != rules.BINDING_WRONG_CODES_ALERT_AT:
        return
    start = window_start(now, rules.BINDING_WRONG_CODES_WINDOW_MINUTES)
    admins = (
        await session.exec(select(Staff).where(Staff.role == StaffRole.ADMIN, col(Staff.active).is_(True)))
    ).all()
    for admin in admins:
        await notify_staff(
            session,
            admin,
            event_key=f"security:wrong_codes:{start.isoformat()}",
            template="security_wrong_codes",
            context={
                "count": count,
                "minutes": rules.BINDING_WRONG_CODES_WINDOW_MINUTES,
                "since": start.astimezone(SHANGHAI).strftime("%H:%M"),
            },
            kind="security",
            legally_required=False,
            now=now,
        )
