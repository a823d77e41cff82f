"""Admins register 企业微信 / 钉钉 / 飞书 group robots for a department in chat, as `credit-bot robots` does
(issue #11): platform, department, webhook address, signing secret, name. Keys and secrets are never
shown back."""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row
from bot.i18n import N_
from models import Robot, RobotKind
from workflows import robots
from workflows.alert_groups import departments
from workflows.clock import utc_now
from workflows.errors import UserError
from workflows.notices import enqueue
from workflows.staff import require

PERMISSION = "alerts.manage"  # the admins, who register Telegram alert groups too


def _platform(ctx: Ctx, kind: str) -> str:
    zh, en = robots.PLATFORM_NAMES[RobotKind(kind)]
    return en if ctx.lang == "en" else zh


def _kinds(ctx: Ctx, kinds: list[str]) -> str:
    # In the order of KIND_WORDS (warnings first), not the stored (alphabetical) one.
    words = [words[1 if ctx.lang == "en" else 0] for k, words in robots.KIND_WORDS.items() if k in kinds]
    return (", " if ctx.lang == "en" else "、").join(words)


@registry.action("admin.robots")
async def robot_list(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, PERMISSION)
    lines = [ctx._("🤖 群机器人（企业微信 / 钉钉 / 飞书）：部门的提醒发到工作群，只发不收。")]
    buttons = []
    found = await robots.robots(ctx.session)
    if not found:
        lines.append(ctx._("还没有群机器人。"))
    for robot in found:
        shown = robots.view(robot)
        state = ctx._("已停用（平台拒绝）") if robot.broken_at is not None else ctx._("正常")
        lines.append(
            ctx._(
                "· {name}：{platform} · {department} · {kinds} · {state}",
                name=shown.name,
                platform=_platform(ctx, robot.kind),
                department=shown.department,
                kinds=_kinds(ctx, shown.notice_kinds),
                state=state,
            )
        )
        buttons.append(
            [
                ctx.button(ctx._("🔔 测试 {name}", name=shown.name), "admin.robot_test", robot_id=robot.id),
                ctx.button(ctx._("🗑 移除 {name}", name=shown.name), "admin.robot_remove", robot_id=robot.id),
            ]
        )
    buttons.append([ctx.button(ctx._("➕ 添加群机器人"), "admin.robot_add")])
    buttons.append(menu_row(ctx))
    ctx.say("\n".join(lines), buttons, edit=True)


@registry.action("admin.robot_test")
async def robot_test(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, PERMISSION)
    robot = await ctx.session.get(Robot, int(payload["robot_id"]))
    if robot is None:
        raise UserError(N_("这个群机器人已被移除。"))
    now = utc_now(ctx.services.clock)
    await enqueue(
        ctx.session,
        channel=robots.ROBOT_CHANNEL,
        chat_id=str(robot.id),
        template=robots.TEST_TEMPLATE,
        context=robots.test_context(robot, now),
        dedupe_key=f"robot_test:{robot.id}:{now.isoformat()}",
        kind="test",
        now=now,
    )
    ctx.notice(ctx._("已发出测试消息"))
    ctx.say(
        ctx._(
            "测试消息已排队发往「{name}」，请到群里查看。如果平台拒绝，您会收到停用通知。", name=robot.name
        ),
        [[ctx.button(ctx._("↩ 群机器人"), "admin.robots")], menu_row(ctx)],
    )


@registry.action("admin.robot_remove")
async def robot_remove(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, PERMISSION)
    robot = await ctx.session.get(Robot, int(payload["robot_id"]))
    if robot is not None:
        await robots.remove_robot(ctx.session, robot.name, actor=ctx.actor)
    await robot_list(ctx, {})


@registry.action("admin.robot_add")
async def robot_add(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, PERMISSION)
    ctx.goto("admin.robot_kind")
    ctx.say(
        ctx._("添加群机器人：先选平台。"),
        [
            [ctx.button(_platform(ctx, kind), "admin.robot_kind", kind=kind.value) for kind in RobotKind],
            [ctx.button(ctx._("取消"), "admin.robots")],
        ],
    )


@registry.action("admin.robot_kind")
async def robot_kind(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, PERMISSION)
    kind = RobotKind(payload["kind"])
    names = await departments(ctx.session)
    ctx.goto("admin.robot_department", kind=kind.value)
    rows = [ctx.button(name, "admin.robot_department", department=name) for name in names]
    ctx.say(
        ctx._("{platform}机器人发给哪个部门的提醒？", platform=_platform(ctx, kind)),
        [rows[i : i + 3] for i in range(0, len(rows), 3)] + [[ctx.button(ctx._("取消"), "admin.robots")]],
    )


@registry.action("admin.robot_department")
async def robot_department(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, PERMISSION)
    if "kind" not in ctx.state.data:
        raise UserError(N_("请重新开始添加群机器人。"))
    kind = ctx.state.data["kind"]
    ctx.goto("admin.await_robot_url", kind=kind, department=str(payload["department"]))
    ctx.say(
        ctx._(
            "请粘贴群机器人设置里显示的完整 webhook 地址（应含 {path}）。",
            path=robots.WEBHOOK_PATHS[RobotKind(kind)],
        ),
        [[ctx.button(ctx._("取消"), "admin.robots")]],
    )


@registry.on_text("admin.await_robot_url")
async def on_robot_url(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, PERMISSION)
    data = dict(ctx.state.data)
    kind = RobotKind(data["kind"])
    if robots.WEBHOOK_PATHS[kind] not in text or not text.startswith(("https://", "http://")):
        raise UserError(
            ctx._(
                "这不像{platform}机器人的 webhook 地址（应以 https:// 开头，含 {path}），请重新粘贴。",
                platform=_platform(ctx, kind),
                path=robots.WEBHOOK_PATHS[kind],
            )
        )
    if kind == RobotKind.WECOM:  # WeCom robots have no signing secret
        ctx.goto("admin.await_robot_name", **data, url=text.strip(), secret="")
        ctx.say(
            ctx._("最后，给这个机器人起个名字（例如：信用科工作群）。"),
            [[ctx.button(ctx._("取消"), "admin.robots")]],
        )
        return
    ctx.goto("admin.await_robot_secret", **data, url=text.strip())
    ctx.say(
        ctx._(
            "请粘贴安全设置里的签名密钥（钉钉「加签」以 SEC 开头；飞书「签名校验」）。没有开启签名就点「不加签」。"
        ),
        [[ctx.button(ctx._("不加签"), "admin.robot_no_secret")], [ctx.button(ctx._("取消"), "admin.robots")]],
    )


@registry.on_text("admin.await_robot_secret")
async def on_robot_secret(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, PERMISSION)
    secret = text.strip()
    if " " in secret or not 8 <= len(secret) <= 256:
        raise UserError(N_("签名密钥应是 8-256 个字符、不含空格，请重新粘贴。"))
    await _ask_name(ctx, secret)


@registry.action("admin.robot_no_secret")
async def robot_no_secret(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, PERMISSION)
    if ctx.state.state != "admin.await_robot_secret":
        raise UserError(N_("请重新开始添加群机器人。"))
    await _ask_name(ctx, "")


async def _ask_name(ctx: Ctx, secret: str) -> None:
    ctx.goto("admin.await_robot_name", **ctx.state.data, secret=secret)
    ctx.say(
        ctx._("最后，给这个机器人起个名字（例如：信用科工作群）。"),
        [[ctx.button(ctx._("取消"), "admin.robots")]],
    )


@registry.on_text("admin.await_robot_name")
async def on_robot_name(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, PERMISSION)
    data = ctx.state.data
    robot = await robots.add_robot(
        ctx.session,
        name=text,
        department=data["department"],
        kind=data["kind"],
        webhook_url=data["url"],
        secret=data.get("secret") or None,
        notice_kinds=None,
        actor=ctx.actor,
        now=utc_now(ctx.services.clock),
    )
    ctx.goto("menu")  # the address and secret leave the conversation state with this step
    ctx.say(
        ctx._(
            "✅ 已登记「{name}」（{platform} · {department}）：{kinds}会发到这个群。\n"
            "为安全起见，请删除您刚才发送的含地址和密钥的消息。",
            name=robot.name,
            platform=_platform(ctx, robot.kind),
            department=robot.department,
            kinds=_kinds(ctx, list(robot.notice_kinds)),
        ),
        [
            [ctx.button(ctx._("🔔 测试 {name}", name=robot.name), "admin.robot_test", robot_id=robot.id)],
            [ctx.button(ctx._("↩ 群机器人"), "admin.robots")],
            menu_row(ctx),
        ],
    )
