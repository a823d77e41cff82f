"""`credit-bot subjects add | show | edit`: the subject registry from the command line (issue #8)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated

import typer

from bot.app import App
from bot.commands.common import cli_actor, fail, with_app
from workflows import subjects as registry
from workflows.clock import SystemClock, local_today
from workflows.dataio.values import parse_date
from workflows.errors import UserError

app = typer.Typer(help="The subject registry: enterprises and drivers.", no_args_is_help=True)
add_app = typer.Typer(help="Add an enterprise or a driver.", no_args_is_help=True)
app.add_typer(add_app, name="add")


def _date(raw: str, what: str) -> date:
    try:
        return parse_date(raw)
    except ValueError as err:
        raise UserError(f"{what}：{err}") from None


def _run(work) -> None:  # type: ignore[no-untyped-def]
    try:
        typer.echo(asyncio.run(with_app(work)))
    except UserError as err:
        raise fail(err) from None


@add_app.command("enterprise")
def add_enterprise(
    uscc: Annotated[str, typer.Option(help="统一社会信用代码")],
    name: Annotated[str, typer.Option(help="企业名称")],
    legal_rep: Annotated[str, typer.Option(help="法定代表人")] = "",
    department: Annotated[str, typer.Option(help="主管部门（科室 / 支队）")] = "",
) -> None:
    """Add an enterprise by its 统一社会信用代码."""

    async def work(built: App) -> str:
        async with built.sessions() as session, session.begin():
            s = await registry.add_enterprise(
                session, uscc=uscc, name=name, legal_rep=legal_rep, department=department, actor=cli_actor()
            )
            return "已登记 / added:\n" + "\n".join(registry.subject_card(s))

    _run(work)


@add_app.command("driver")
def add_driver(
    id_number: Annotated[str, typer.Option(help="身份证号码")],
    name: Annotated[str, typer.Option(help="姓名")],
    cert: Annotated[str, typer.Option(help="从业资格证号")],
    first_issued: Annotated[str, typer.Option(help="初次领证日期 YYYY-MM-DD")],
    department: Annotated[str, typer.Option(help="主管部门")] = "",
) -> None:
    """Add a driver by ID number, with the qualification certificate and its first-issue date."""

    async def work(built: App) -> str:
        today = local_today(SystemClock())
        async with built.sessions() as session, session.begin():
            s = await registry.add_driver(
                session,
                id_number=id_number,
                name=name,
                cert_no=cert,
                first_issued=_date(first_issued, "初次领证日期"),
                department=department,
                actor=cli_actor(),
                today=today,
            )
            return "已登记 / added:\n" + "\n".join(registry.subject_card(s))

    _run(work)


async def _find(built: App, code: str):  # type: ignore[no-untyped-def]
    async with built.sessions() as session:
        s = await registry.subject_by_code(session, code)
    if s is None:
        raise UserError("主体库中没有这个代码（统一社会信用代码、从业资格证号或身份证号码）。")
    return s


@app.command("show")
def show(code: Annotated[str, typer.Argument(help="统一社会信用代码、从业资格证号或身份证号码")]) -> None:
    """Show one subject (ID numbers masked)."""

    async def work(built: App) -> str:
        return "\n".join(registry.subject_card(await _find(built, code)))

    _run(work)


@app.command("edit")
def edit(
    code: Annotated[str, typer.Argument(help="统一社会信用代码、从业资格证号或身份证号码")],
    name: Annotated[str | None, typer.Option(help="名称")] = None,
    legal_rep: Annotated[str | None, typer.Option(help="法定代表人")] = None,
    department: Annotated[str | None, typer.Option(help="主管部门")] = None,
    category: Annotated[str | None, typer.Option(help="行政相对人类别")] = None,
    cert: Annotated[str | None, typer.Option(help="从业资格证号")] = None,
    first_issued: Annotated[str | None, typer.Option(help="初次领证日期")] = None,
) -> None:
    """Change fields of a subject; each change is written to the audit log with before and after."""
    changes = {
        "name": name,
        "legal-rep": legal_rep,
        "department": department,
        "category": category,
        "cert": cert,
        "first-issued": first_issued,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise fail(UserError("请给出要修改的项目，例如 --department 执法支队（可用 --help 查看全部）。"))

    async def work(built: App) -> str:
        today = local_today(SystemClock())
        async with built.sessions() as session, session.begin():
            s = await registry.subject_by_code(session, code)
            if s is None:
                raise UserError("主体库中没有这个代码。")
            lines = []
            for field, raw in changes.items():
                before, after = await registry.edit_subject(
                    session, s, field, raw, actor=cli_actor(), today=today
                )
                label = registry.EDITABLE[field].label
                lines.append(
                    f"{label}：{before or '（空）'} → {after or '（空）'}"
                    if before != after
                    else f"{label}：未变"
                )
            return "\n".join(lines + ["", *registry.subject_card(s)])

    _run(work)
