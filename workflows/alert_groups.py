"""Alert groups: a group chat an admin registered for one department receives that department's alerts
(notices only: no identity, no data beyond the alert). Issue #9. Which notices reach them:
rules.ALERT_GROUP_KINDS, routed by workflows.reminders.Directory.alert_groups."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AlertGroup, Staff, Subject
from workflows.audit import log_change
from workflows.errors import UserError

ENTITY = "alert_group"


async def alert_group_of(session: AsyncSession, channel: str, chat_id: str) -> AlertGroup | None:
    stmt = select(AlertGroup).where(
        AlertGroup.channel == channel, AlertGroup.chat_id == chat_id, col(AlertGroup.active).is_(True)
    )
    return (await session.exec(stmt)).first()


async def departments(session: AsyncSession) -> list[str]:
    """The departments staff work in or subjects are supervised by: the names a group can be registered for."""
    staff = select(Staff.department).where(col(Staff.active).is_(True)).distinct()
    supervising = select(Subject.department).where(col(Subject.department).is_not(None)).distinct()
    names = set((await session.exec(staff)).all()) | set((await session.exec(supervising)).all())
    return sorted(d for d in names if d)


async def register(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    title: str,
    department: str,
    staff: Staff,
    now: datetime,
) -> AlertGroup:
    department = department.strip()
    known = await departments(session)
    if department not in known:
        raise UserError(
            f"没有名为「{department[:20]}」的部门。可选：{'、'.join(known) or '（暂无）'}",
            f"No department called '{department[:20]}'. Known: {', '.join(known) or '(none)'}",
        )
    row = (
        await session.exec(
            select(AlertGroup).where(AlertGroup.channel == channel, AlertGroup.chat_id == chat_id)
        )
    ).first()
    before = {"department": row.department, "active": row.active} if row is not None else {}
    if row is None:
        row = AlertGroup(channel=channel, chat_id=chat_id, department=department, created_at=now)
    row.department, row.title, row.active, row.registered_by = department, title[:128], True, staff.id
    session.add(row)
    await session.flush()
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action="alert_group.register",
        entity=ENTITY,
        entity_id=row.id,
        before=before,
        after={"department": department, "chat": f"{channel}:{chat_id}", "title": row.title},
    )
    return row


async def unregister(session: AsyncSession, *, channel: str, chat_id: str, staff: Staff) -> AlertGroup | None:
    row = await alert_group_of(session, channel, chat_id)
    if row is None:
        return None
    row.active = False
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action="alert_group.unregister",
        entity=ENTITY,
        entity_id=row.id,
        before={"department": row.department, "active": True},
        after={"active": False},
    )
    return row
