"""The `credit-bot` command: run, chat, demo, migrate, code issue, staff add."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlmodel import or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import build_app
from bot.commands.robots import app as robots_app
from bot.commands.subjects import app as subjects_app
from bot.commands.transfer import export_app, import_app
from models import Staff, StaffRole, Subject, migrate
from models.db import drop_all, is_sqlite, make_engine, normalise_url
from workflows.binding import issue_code
from workflows.clock import SystemClock
from workflows.demo_data import load_demo
from workflows.settings import get_settings
from workflows.validation import normalize_code

app = typer.Typer(
    help="信用交通助手 (Credit Transport Assistant)", no_args_is_help=True, add_completion=False
)
code_app = typer.Typer(help="One-time binding codes.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(code_app, name="code")
app.add_typer(staff_app, name="staff")
app.add_typer(subjects_app, name="subjects")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(robots_app, name="robots")


def _logging(verbose: bool = False, fmt: str | None = None) -> None:
    from bot.logs import setup_logging

    setup_logging(verbose=verbose, fmt=fmt or get_settings().log_format)  # type: ignore[arg-type]


LogFormatOption = Annotated[
    str | None,
    typer.Option("--log-format", help="text (default; LOG_FORMAT) or json: one object per line."),
]


@app.command("migrate")
def migrate_cmd() -> None:
    """Create or upgrade the database schema (Alembic)."""
    migrate.upgrade(get_settings().database_url)
    typer.echo("数据库已是最新结构 / database is up to date")


async def _holds_data(session: AsyncSession) -> bool:
    for model in (Subject, Staff):
        if (await session.exec(select(model).limit(1))).first() is not None:
            return True
    return False


async def _demo(reset: bool, force: bool) -> int:
    """Load the demo set. Never destroys data by accident: a database with data is refused unless
    --reset, and only a SQLite file may be reset without --force (issue #8: one command wiped PostgreSQL)."""
    settings = get_settings()
    url = normalise_url(settings.database_url)
    if reset:
        if is_sqlite(url):
            path = make_url(url).database
            for suffix in ("", "-wal", "-shm"):
                if path and path != ":memory:":
                    Path(path + suffix).unlink(missing_ok=True)
        elif not force:
            typer.echo(
                f"拒绝重置：{make_url(settings.database_url).render_as_string(hide_password=True)} 不是 SQLite 文件。"
                "重置会删除其中全部数据；确需如此，请加 --force。\n"
                "Refusing to reset a database that is not a SQLite file; add --force if you really mean it.",
                err=True,
            )
            return 2
        else:
            db = make_engine(url)
            await drop_all(db)
            async with db.begin() as conn:
                await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            await db.dispose()
    built = await build_app(settings)
    try:
        async with built.sessions() as session, session.begin():
            if await _holds_data(session):
                typer.echo(
                    "数据库里已有数据，未载入演示数据（不会覆盖）。如需在演示数据库中重来，请加 --reset。\n"
                    "The database already holds data; nothing was loaded. Use --reset to start a demo over.",
                    err=True,
                )
                return 1
            logins = await load_demo(session, SystemClock())
    finally:
        await built.close()
    typer.echo("演示数据已载入 / demo data loaded.\n")
    typer.echo("已绑定的本地身份（credit-bot chat --as <身份>）/ pre-bound console personas:")
    for login in logins:
        typer.echo(f"  {login.persona:<13} {login.who}")
    typer.echo(
        "\n一次性绑定码（在任何新对话里输入，例如 credit-bot chat --as guest）/ one-time binding codes:"
    )
    for login in logins:
        typer.echo(f"  {login.code}  {login.who}")
    return 0


@app.command()
def demo(
    reset: Annotated[
        bool, typer.Option(help="Delete the database first (a SQLite file only, unless --force).")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Allow --reset to drop every table of a non-SQLite database.")
    ] = False,
) -> None:
    """Load the invented demo data set into an empty database and print personas and binding codes."""
    raise typer.Exit(asyncio.run(_demo(reset, force)))


async def _chat(persona: str) -> None:
    from bot.channels.console import chat as console_chat

    built = await build_app()
    try:
        await console_chat(built, persona)
    finally:
        await built.close()


@app.command()
def chat(
    as_: Annotated[
        str, typer.Option("--as", help="Persona = local chat id (see credit-bot demo).")
    ] = "guest",
    verbose: Annotated[bool, typer.Option(help="Show log messages (to stderr) in the chat.")] = False,
) -> None:
    """Chat in this terminal with the assistant (no Telegram token needed)."""
    if verbose:
        _logging(verbose=True)
    else:
        logging.disable(logging.CRITICAL)  # the chat shows what a user sees, nothing else
    try:
        asyncio.run(_chat(as_))
    except KeyboardInterrupt:
        typer.echo("\n再见 / Bye")


@app.command()
def run(
    verbose: bool = False,
    webhook: Annotated[
        bool,
        typer.Option(
            help="Receive updates at WEBHOOK_URL (WEBHOOK_SECRET, WEBHOOK_LISTEN) instead of polling."
        ),
    ] = False,
    log_format: LogFormatOption = None,
) -> None:
    """Run the Telegram bot with TELEGRAM_BOT_TOKEN: long polling (one process), or --webhook (many)."""
    _logging(verbose, log_format)
    settings = get_settings()
    if not settings.telegram_bot_token:
        typer.echo(
            "没有设置 TELEGRAM_BOT_TOKEN。请在 Telegram 里找 @BotFather 创建机器人并取得 token，\n"
            "然后 export TELEGRAM_BOT_TOKEN=...。不用 token 也可以先在本地试用：\n"
            "  credit-bot demo && credit-bot chat --as guest\n"
            "No TELEGRAM_BOT_TOKEN set: get one from @BotFather, or try locally with the commands above."
        )
        raise typer.Exit(2)
    from bot.runner import StartRefused, run_telegram

    try:
        asyncio.run(run_telegram(settings, webhook=webhook))
    except StartRefused as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("stopped")


@app.command()
def scheduler(verbose: bool = False, log_format: LogFormatOption = None) -> None:
    """Run the reminder / warning sweeps (and deliver notices when TELEGRAM_BOT_TOKEN is set)."""
    _logging(verbose, log_format)
    from bot.runner import run_scheduler

    try:
        asyncio.run(run_scheduler(get_settings()))
    except KeyboardInterrupt:
        typer.echo("stopped")


@app.command()
def deliver(verbose: bool = False, log_format: LogFormatOption = None) -> None:
    """Deliver outbox notices only (needs TELEGRAM_BOT_TOKEN); SEND_BUDGET=redis://… for several."""
    _logging(verbose, log_format)
    settings = get_settings()
    if not settings.telegram_bot_token:
        typer.echo("TELEGRAM_BOT_TOKEN is not set.")
        raise typer.Exit(2)
    from bot.runner import run_delivery

    try:
        asyncio.run(run_delivery(settings))
    except KeyboardInterrupt:
        typer.echo("stopped")


@app.command()
def sweep(daily: Annotated[bool, typer.Option(help="Also run the daily scan now.")] = False) -> None:
    """Run the sweeps once and print what they wrote (operations and checks)."""
    _logging(False)

    async def once() -> None:
        from notifications.scheduler import CreditScheduler

        built = await build_app()
        try:
            s = CreditScheduler(
                built.sessions, clock=built.engine.services.clock, calendar=built.engine.services.calendar
            )
            typer.echo(f"sweep: {(await s.sweep() or 'database unavailable')}")
            if daily:
                typer.echo(f"daily: {(await s.daily() or 'database unavailable')}")
        finally:
            await built.close()

    asyncio.run(once())


async def _issue(uscc: str | None, cert: str | None, staff_id: int | None) -> str:
    built = await build_app()
    try:
        async with built.sessions() as session, session.begin():
            if staff_id is not None:
                if await session.get(Staff, staff_id) is None:
                    raise typer.BadParameter(f"no staff member {staff_id}")
                row = await issue_code(session, issued_by="cli", clock=SystemClock(), staff_id=staff_id)
            else:
                key = normalize_code(uscc or cert or "")
                subject = (
                    await session.exec(
                        select(Subject).where(or_(Subject.uscc == key, Subject.cert_no == key))
                    )
                ).first()
                if subject is None:
                    raise typer.BadParameter(
                        "主体库中没有该代码；请先用 credit-bot subjects add 或 credit-bot import subjects 登记。"
                    )
                row = await issue_code(session, issued_by="cli", clock=SystemClock(), subject_id=subject.id)
            return row.code
    finally:
        await built.close()


@code_app.command("issue")
def code_issue(uscc: str | None = None, cert: str | None = None, staff_id: int | None = None) -> None:
    """Issue a one-time binding code for an enterprise (--uscc), a driver (--cert) or staff (--staff-id)."""
    if sum(x is not None for x in (uscc, cert, staff_id)) != 1:
        raise typer.BadParameter("请给出 --uscc、--cert、--staff-id 中的一项。")
    typer.echo(asyncio.run(_issue(uscc, cert, staff_id)))


async def _staff_add(name: str, department: str, role: StaffRole, supervisor_id: int | None) -> int:
    from workflows.audit import log_change

    built = await build_app()
    try:
        async with built.sessions() as session, session.begin():
            staff = Staff(name=name, department=department, role=role, supervisor_id=supervisor_id)
            session.add(staff)
            await session.flush()
            await log_change(
                session,
                actor="cli",
                action="staff.add",
                entity="staff",
                entity_id=staff.id,
                after={"name": name, "department": department, "role": role},
            )
            assert staff.id is not None
            return staff.id
    finally:
        await built.close()


@staff_app.command("add")
def staff_add(
    name: str, department: str, role: StaffRole = StaffRole.HANDLER, supervisor_id: int | None = None
) -> None:
    """Add a staff account; then `credit-bot code issue --staff-id N` to bind their chat."""
    typer.echo(asyncio.run(_staff_add(name, department, role, supervisor_id)))


def main() -> None:
    app()
