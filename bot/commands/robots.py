"""`credit-bot robots add | list | test | remove`: 企业微信 / 钉钉 / 飞书 group robots for a department's alerts
(issue #11). Keys and secrets are taken once and never printed again."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.app import App
from bot.commands.common import cli_actor, fail, with_app
from models import RobotKind
from notifications.delivery import DeliveryError, OutgoingMessage, RetryLater
from notifications.render import default_renderer
from notifications.robots import RobotBroken, RobotSender
from workflows import robots as registry
from workflows.clock import SystemClock, utc_now
from workflows.errors import UserError

app = typer.Typer(
    help="Group robots (企业微信 / 钉钉 / 飞书) that carry a department's alerts.", no_args_is_help=True
)


def _run(work) -> None:  # type: ignore[no-untyped-def]
    try:
        typer.echo(asyncio.run(with_app(work)))
    except UserError as err:
        raise fail(err) from None


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="机器人名称（自取，用于 list / test / remove）")],
    department: Annotated[str, typer.Option(help="接收提醒的部门，例如 信用科")],
    kind: Annotated[RobotKind, typer.Option(help="wecom（企业微信）| dingtalk（钉钉）| feishu（飞书）")],
    webhook: Annotated[str, typer.Option(help="群机器人设置里显示的完整 webhook 地址")],
    secret: Annotated[str | None, typer.Option(help="加签 / 签名校验的密钥（钉钉 SEC…，飞书）")] = None,
    kinds: Annotated[
        str | None,
        typer.Option(
            help="发哪些提醒（逗号分隔）：warning,escalation,interview,digest,undeliverable；默认全部"
        ),
    ] = None,
) -> None:
    """Register a robot for a department (the same name again replaces it, e.g. with a new secret)."""

    async def work(built: App) -> str:
        async with built.sessions() as session, session.begin():
            robot = await registry.add_robot(
                session,
                name=name,
                department=department,
                kind=kind.value,
                webhook_url=webhook,
                secret=secret,
                notice_kinds=registry.parse_kinds(kinds),
                actor=cli_actor(),
                now=utc_now(SystemClock()),
            )
            shown = registry.view(robot)
        return (
            f"已登记 / added: {shown.name} · {shown.platform} · {shown.department} · {shown.host}"
            f"{' · 已加签' if shown.signed else ''}\n"
            f"提醒类别 / notice kinds: {', '.join(shown.notice_kinds)}\n"
            f"试发一条：credit-bot robots test {shown.name}"
        )

    _run(work)


@app.command("list")
def list_() -> None:
    """The robots, by department (never their keys or secrets)."""

    async def work(built: App) -> str:
        async with built.sessions() as session:
            rows = [registry.view(r) for r in await registry.robots(session)]
        if not rows:
            return "还没有群机器人。/ No robots yet: credit-bot robots add --help"
        return "\n".join(
            f"{r.department} · {r.name} · {r.platform} · {r.host}{' · 已加签' if r.signed else ''} · "
            f"{', '.join(r.notice_kinds)} · {r.status}"
            for r in rows
        )

    _run(work)


@app.command("test")
def test(name: Annotated[str, typer.Argument(help="机器人名称")]) -> None:
    """Send a test message now and say whether the platform took it."""

    async def work(built: App) -> str:
        async with built.sessions() as session:
            robot = await registry.robot_named(session, name)
        now = utc_now(built.engine.services.clock)
        text = default_renderer().render(registry.TEST_TEMPLATE, "zh", registry.test_context(robot, now))
        sender = RobotSender(built.sessions, action_link=f"https://t.me/{built.settings.bot_username}")
        try:
            await sender.send(str(robot.id), OutgoingMessage(text))
        except RobotBroken as err:
            async with built.sessions() as session, session.begin():
                await registry.mark_broken(
                    session, robot.id or 0, reason=str(err), now=utc_now(SystemClock())
                )
            raise UserError(
                f"平台拒绝了这个机器人：{registry.broken_reason_words(str(err))}（{err}）。已停用并通知管理员；"
                "检查地址和密钥后用 robots add 重新登记。"
            ) from err
        except RetryLater as err:
            raise UserError(f"平台限流，请 {err.retry_after:.0f} 秒后再试。") from err
        except DeliveryError as err:
            raise UserError(f"没有发出去：{err}") from err
        finally:
            await sender.close()
        return f"已发送 / sent: {robot.name}"

    _run(work)


@app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="机器人名称")]) -> None:
    """Remove a robot: nothing more is sent to it."""

    async def work(built: App) -> str:
        async with built.sessions() as session, session.begin():
            await registry.remove_robot(session, name, actor=cli_actor())
        return f"已移除 / removed: {name}"

    _run(work)
