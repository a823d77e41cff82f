"""Group robots (企业微信 / 钉钉 / 飞书) as a department's alert channel (issue #11): registering, listing,
removing, and what a broken robot means. Robots are one-way: they carry a department's alerts, routed like
Telegram alert groups (rules.ALERT_GROUP_KINDS, workflows.reminders.Directory.alert_groups)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Robot, RobotKind, Staff, StaffRole
from workflows import rules
from workflows.alert_groups import departments
from workflows.audit import log_change
from workflows.clock import to_local
from workflows.errors import UserError
from workflows.notices import notify_staff

ENTITY = "robot"
ROBOT_CHANNEL = "robot"  # the outbox channel of robot rows; their chat_id is the robot's id
BROKEN_TEMPLATE = "robot_broken"
TEST_TEMPLATE = "robot_test"

PLATFORM_NAMES: dict[RobotKind, tuple[str, str]] = {
    RobotKind.WECOM: ("企业微信", "WeCom"),
    RobotKind.DINGTALK: ("钉钉", "DingTalk"),
    RobotKind.FEISHU: ("飞书", "Feishu"),
}
# The notice kinds a robot can carry (rules.ALERT_GROUP_KINDS), in words.
KIND_WORDS: dict[str, tuple[str, str]] = {
    "warning": ("风险预警", "risk warnings"),
    "escalation": ("逾期督办", "overdue escalations"),
    "interview": ("约谈提醒", "interview reminders"),
    "digest": ("每日摘要", "daily digest"),
    "undeliverable": ("法定通知未送达", "undelivered legal notices"),
}
# The path each platform's webhook URL has, to catch a URL pasted under the wrong --kind.
WEBHOOK_PATHS: dict[RobotKind, str] = {
    RobotKind.WECOM: "/cgi-bin/webhook/send",
    RobotKind.DINGTALK: "/robot/send",
    RobotKind.FEISHU: "/open-apis/bot/v2/hook/",
}


@dataclass(frozen=True)
class RobotView:
    """What may be shown of a robot: never its key, token or secret."""

    name: str
    department: str
    platform: str
    host: str
    notice_kinds: list[str]
    signed: bool
    status: str


def masked_url(url: str) -> str:
    """scheme://host/… : enough to tell robots apart, nothing that lets anyone post to them."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def view(robot: Robot) -> RobotView:
    if robot.broken_at is not None:
        status = f"已停用：{robot.broken_reason or ''}"
    else:
        status = "正常" if robot.active else "已移除"
    return RobotView(
        name=robot.name,
        department=robot.department,
        platform=PLATFORM_NAMES[RobotKind(robot.kind)][0],
        host=masked_url(robot.webhook_url),
        notice_kinds=list(robot.notice_kinds),
        signed=bool(robot.secret),
        status=status,
    )


def parse_kinds(text: str | None) -> list[str]:
    """ "warning,escalation" → the kinds; None or empty → the default set (rules.ROBOT_DEFAULT_KINDS)."""
    if not text or not text.strip():
        return sorted(rules.ROBOT_DEFAULT_KINDS)
    kinds = [k.strip() for k in text.replace("，", ",").split(",") if k.strip()]
    unknown = [k for k in kinds if k not in rules.ALERT_GROUP_KINDS]
    if unknown:
        raise UserError(
            f"未知的通知类别：{'、'.join(unknown)}。可选：{', '.join(sorted(rules.ALERT_GROUP_KINDS))}",
            f"Unknown notice kinds: {', '.join(unknown)}. Known: {', '.join(sorted(rules.ALERT_GROUP_KINDS))}",
        )
    return sorted(set(kinds))


async def add_robot(
    session: AsyncSession,
    *,
    name: str,
    department: str,
    kind: str,
    webhook_url: str,
    secret: str | None,
    notice_kinds: list[str] | None,
    actor: str,
    now: datetime,
) -> Robot:
    """Register a robot, or replace the one of that name (a new URL or secret mends a broken robot)."""
    name, department, webhook_url = name.strip(), department.strip(), webhook_url.strip()
    if not name or len(name) > 64:
        raise UserError("机器人名称须为 1-64 个字符。", "A robot's name must be 1-64 characters.")
    try:
        robot_kind = RobotKind(kind)
    except ValueError as err:
        raise UserError(
            "机器人类型须为 wecom（企业微信）、dingtalk（钉钉）或 feishu（飞书）。",
            "The kind must be wecom, dingtalk or feishu.",
        ) from err
    parts = urlsplit(webhook_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError("webhook 地址须是完整的 https:// 地址（从群机器人设置里复制）。",
                        "The webhook must be the whole https:// address shown in the robot's settings.")  # fmt: skip
    if WEBHOOK_PATHS[robot_kind] not in parts.path:
        name_zh = PLATFORM_NAMES[robot_kind][0]
        raise UserError(
            f"这不像{name_zh}机器人的 webhook 地址（应含 {WEBHOOK_PATHS[robot_kind]}）。请检查 --kind 与地址。",
            f"This does not look like a {PLATFORM_NAMES[robot_kind][1]} robot webhook "
            f"(it should contain {WEBHOOK_PATHS[robot_kind]}). Check --kind and the address.",
        )
    if robot_kind == RobotKind.WECOM and secret:
        raise UserError("企业微信群机器人没有签名密钥，请不要给 --secret。",
                        "WeCom group robots have no signing secret; leave out --secret.")  # fmt: skip
    known = await departments(session)
    if department not in known:
        raise UserError(
            f"没有名为「{department[:20]}」的部门。可选：{'、'.join(known) or '（暂无）'}",
            f"No department called '{department[:20]}'. Known: {', '.join(known) or '(none)'}",
        )
    robot = (await session.exec(select(Robot).where(Robot.name == name))).first()
    before = {"department": robot.department, "kind": robot.kind, "active": robot.active} if robot else None
    if robot is None:
        robot = Robot(name=name, department=department, kind=robot_kind, webhook_url=webhook_url)
    robot.department, robot.kind, robot.webhook_url, robot.secret = (
        department,
        robot_kind,
        webhook_url,
        secret,
    )
    robot.notice_kinds = notice_kinds if notice_kinds is not None else sorted(rules.ROBOT_DEFAULT_KINDS)
    robot.active, robot.broken_at, robot.broken_reason = True, None, None
    robot.created_by, robot.created_at = actor[:64], now
    session.add(robot)
    await session.flush()
    await log_change(
        session,
        actor=actor,
        action="robot.add",
        entity=ENTITY,
        entity_id=robot.id,
        before=before,
        # never the URL's key or the secret: the host and whether it signs
        after={"name": name, "department": department, "kind": robot_kind, "host": masked_url(webhook_url),
               "signed": bool(secret), "notice_kinds": robot.notice_kinds},
    )  # fmt: skip
    return robot


async def robots(session: AsyncSession) -> list[Robot]:
    return list((await session.exec(select(Robot).order_by(col(Robot.department), col(Robot.name)))).all())


async def robot_named(session: AsyncSession, name: str) -> Robot:
    robot = (await session.exec(select(Robot).where(Robot.name == name.strip()))).first()
    if robot is None:
        raise UserError(f"没有名为「{name[:64]}」的机器人。", f"No robot called '{name[:64]}'.")
    return robot


async def remove_robot(session: AsyncSession, name: str, *, actor: str) -> None:
    robot = await robot_named(session, name)
    await log_change(
        session,
        actor=actor,
        action="robot.remove",
        entity=ENTITY,
        entity_id=robot.id,
        before={"name": robot.name, "department": robot.department, "kind": robot.kind},
    )
    await session.delete(robot)


async def mark_broken(session: AsyncSession, robot_id: int, *, reason: str, now: datetime) -> None:
    """The platform refused the robot itself: stop sending to it and tell every active admin, once (the
    dispatcher calls this in the transaction that records the failed row)."""
    robot = await session.get(Robot, robot_id)
    if robot is None or robot.broken_at is not None:
        return
    robot.broken_at, robot.broken_reason = now, reason[:300]
    await log_change(
        session,
        actor="system",
        action="robot.broken",
        entity=ENTITY,
        entity_id=robot.id,
        after={"name": robot.name, "reason": reason[:300]},
    )
    zh, en = PLATFORM_NAMES[RobotKind(robot.kind)]
    context = {
        "robot_name": robot.name,
        "department": robot.department,
        "platform": zh,
        "platform_en": en,
        "reason": broken_reason_words(reason),
        "reason_en": reason[:200],
    }
    admins = await session.exec(
        select(Staff).where(Staff.role == StaffRole.ADMIN, col(Staff.active).is_(True))
    )
    for admin in admins.all():
        await notify_staff(
            session,
            admin,
            event_key=f"robot_broken:{robot.id}:{now.isoformat()}",
            template=BROKEN_TEMPLATE,
            context=context,
            kind=BROKEN_TEMPLATE,
            now=now,
        )


def broken_reason_words(reason: str) -> str:
    """The platform's refusal in words an admin can act on (the code stays in the audit log)."""
    low = reason.lower()
    if "sign" in low or "310000" in low or "19021" in low:
        return "签名或安全设置校验失败（密钥、关键词或 IP 白名单）"
    if "keyword" in low or "19024" in low:
        return "消息不含群机器人要求的关键词"
    if "http" in low and "not a robot" in low:
        return "webhook 地址不是有效的机器人地址"
    return "webhook 地址或令牌无效（机器人可能已被移除）"


def test_context(robot: Robot, now: datetime) -> dict[str, str]:
    """What the test message (TEST_TEMPLATE) says: the robot, its department, when (Beijing time)."""
    return {
        "robot_name": robot.name,
        "department": robot.department,
        "sent_at": to_local(now).strftime("%Y-%m-%d %H:%M"),
    }


def robot_targets(robot_list: list[Robot], department: str | None, kind: str) -> list[tuple[str, str]]:
    """The (channel, chat) pairs of a department's working robots that carry this kind of notice."""
    return [
        (ROBOT_CHANNEL, str(r.id))
        for r in robot_list
        if r.department == (department or "") and r.active and r.broken_at is None and kind in r.notice_kinds
    ]
