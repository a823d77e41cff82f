"""Where a department's alerts go besides its staff's own chats (issues #9 and #11): its Telegram alert
groups, for the kinds groups carry (rules.ALERT_GROUP_KINDS), and its working group robots (企业微信 / 钉钉 /
飞书), for the kinds each robot was set to carry. Sweeps ask workflows.reminders.Directory, which reads
the same tables once per sweep; single events (a no-show, an undeliverable notice) ask here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AlertGroup, Robot
from workflows import rules
from workflows.notices import enqueue_many, rows_for_chats
from workflows.robots import robot_targets


def targets(
    groups: list[tuple[str, str]], robots: list[Robot], department: str | None, kind: str
) -> list[tuple[str, str]]:
    """The (channel, chat) pairs a department's alert of this kind goes to."""
    chosen = list(groups) if kind in rules.ALERT_GROUP_KINDS else []
    return chosen + robot_targets(robots, department, kind)


async def department_targets(
    session: AsyncSession, department: str | None, kind: str
) -> list[tuple[str, str]]:
    if not department:
        return []
    groups = await session.exec(
        select(AlertGroup).where(AlertGroup.department == department, col(AlertGroup.active).is_(True))
    )
    robots = await session.exec(select(Robot).where(Robot.department == department))
    return targets([(g.channel, g.chat_id) for g in groups.all()], list(robots.all()), department, kind)


async def alert_department(
    session: AsyncSession,
    department: str | None,
    *,
    kind: str,
    event_key: str,
    template: str,
    context: dict[str, Any],
    now: datetime,
) -> int:
    """The alert, without buttons (groups and robots only carry notices), to each of the department's
    alert targets; keyed per target, so a repeat writes nothing."""
    chats = await department_targets(session, department, kind)
    if not chats:
        return 0
    return await enqueue_many(
        session,
        rows_for_chats(
            chats, event_key=f"{event_key}:group", template=template, context=context, kind=kind, now=now
        ),
    )
