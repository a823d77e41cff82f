"""`credit-bot import KIND FILE` and `credit-bot import template KIND`, `credit-bot export penalties |
lists`: the bureau's data in and out from the command line (issue #8). Exit 0 when done, 1 when refused."""

from __future__ import annotations

import asyncio
import sys
import time
import unicodedata
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.app import App
from bot.commands.common import cli_actor, fail, with_app
from workflows.clock import SystemClock, local_today, utc_now
from workflows.dataio.values import parse_date
from workflows.errors import UserError
from workflows.exports import export_penalties
from workflows.imports import KINDS, ImportResult, kind_named
from workflows.imports.runner import file_sha256
from workflows.transfers import import_file, record_transfer

import_app = typer.Typer(
    help="Import a file: " + ", ".join(KINDS) + "; or `import template KIND -o FILE.xlsx`.",
    no_args_is_help=True,
)
ERRORS_PRINTED = 50  # the rest are in the errors file


class Progress:
    """A bar on a terminal (rich); plain counts every 10,000 rows otherwise (logs, CI)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self._bar = None
        if self.tty:
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed} 行"),
                TimeElapsedColumn(),
                transient=True,
            )
            self._task = self._bar.add_task(label, total=None)
            self._bar.start()

    def __call__(self, rows: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=rows)
        elif rows % 10_000 == 0:
            typer.echo(f"{self.label}：已读 {rows} 行（{time.monotonic() - self.started:.0f} 秒）", err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def pad(text: str, width: int) -> str:
    """Left-aligned in terminal columns: a Chinese character takes two."""
    out, used = "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width:
            break
        out, used = out + ch, used + w
    return out + " " * (width - used)


def errors_path(source: Path) -> Path:
    """FILE.errors.xlsx next to FILE.xlsx (FILE.errors.csv for a CSV)."""
    suffix = ".csv" if source.suffix.lower() in (".csv", ".txt") else ".xlsx"
    return source.with_name(source.stem.removesuffix(".errors") + ".errors" + suffix)


def print_result(result: ImportResult) -> None:
    for warning in result.warnings:
        typer.echo(f"提示：{warning}", err=True)
    if result.problems:
        typer.echo(f"{pad('行', 6)}  {pad('列', 24)}  {pad('值', 22)}  原因", err=True)
        for p in result.problems[:ERRORS_PRINTED]:
            row = pad(str(p.row or "—"), 6)
            typer.echo(f"{row}  {pad(p.column, 24)}  {pad(p.value, 22)}  {p.reason}", err=True)
        if len(result.problems) > ERRORS_PRINTED:
            typer.echo(f"… 另有 {len(result.problems) - ERRORS_PRINTED} 处问题，见错误文件。", err=True)
    typer.echo(result.summary())


def _import_command(kind: str) -> Callable[..., None]:
    def command(
        file: Annotated[
            Path, typer.Argument(exists=True, dir_okay=False, readable=True, help=".xlsx or .csv")
        ],
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Check and report only; write nothing.")
        ] = False,
        notify: Annotated[
            bool, typer.Option("--notify", help="Serve 三书同达 for recent decisions (penalties).")
        ] = False,
    ) -> None:
        if not file.is_file():
            raise fail(UserError(f"找不到文件 {file}。"))

        async def work(built: App) -> ImportResult:
            clock = SystemClock()
            progress = Progress(f"导入 {file.name}")
            try:
                async with built.sessions() as session, session.begin():
                    result, _ = await import_file(
                        session,
                        kind,
                        file,
                        file.name,
                        actor=cli_actor(),
                        now=utc_now(clock),
                        today=local_today(clock),
                        calendar=built.engine.services.calendar,
                        notify=notify,
                        dry_run=dry_run,
                        progress=progress,
                    )
            finally:
                progress.close()
            return result

        result = asyncio.run(with_app(work))
        print_result(result)
        if not result.ok:
            if any(p.row for p in result.problems):
                from workflows.dataio.read import open_table
                from workflows.dataio.write import write_errors_file

                target = errors_path(file)
                with open_table(file) as table:
                    errors: dict[int, list[str]] = {}
                    for p in result.problems:
                        errors.setdefault(p.row, []).append(
                            f"「{p.column}」{p.reason}" if p.column else p.reason
                        )
                    write_errors_file(table, errors, target, "csv" if target.suffix == ".csv" else "xlsx")
                typer.echo(f"错误文件：{target}（原数据加「错误说明」列，改好后可直接重新导入）", err=True)
            raise typer.Exit(1)

    command.__doc__ = (
        f"Import {kind_named(kind).label} rows (all or nothing; the same file twice changes nothing)."
    )
    return command


for _kind in KINDS:
    import_app.command(_kind)(_import_command(_kind))


@import_app.command("template")
def template(
    kind: Annotated[str, typer.Argument(help=", ".join(KINDS))],
    output: Annotated[Path, typer.Option("-o", "--output", help="FILE.xlsx")],
) -> None:
    """Write a template: headers, one example row, and a sheet explaining every column."""
    try:
        spec = kind_named(kind)
    except UserError as err:
        raise fail(err) from None
    from workflows.dataio.write import write_template  # openpyxl (numpy, Pillow): only when writing one

    write_template(output, spec.label, [c.template() for c in spec.columns])
    typer.echo(f"模板已写入 {output}")


export_app = typer.Typer(help="Export: penalties (双公示 layout) or the monthly lists.", no_args_is_help=True)


def writable(output: Path) -> None:
    if not output.parent.is_dir():
        raise UserError(f"输出文件夹 {output.parent} 不存在，请先创建或换一个位置。")


def _day(raw: str, what: str) -> date:
    try:
        return parse_date(raw)
    except ValueError as err:
        raise UserError(f"{what}：{err}") from None


@export_app.command("penalties")
def export_penalties_cmd(
    from_: Annotated[str, typer.Option("--from", help="处罚决定日期起 YYYY-MM-DD")],
    to: Annotated[str, typer.Option("--to", help="处罚决定日期止 YYYY-MM-DD")],
    output: Annotated[Path, typer.Option("-o", "--output", help="FILE.xlsx or FILE.csv")],
    status: Annotated[str, typer.Option(help="all, published, repaired, expired or withdrawn")] = "all",
    encoding: Annotated[str, typer.Option(help="CSV only: utf-8-sig (Excel) or gb18030")] = "utf-8-sig",
) -> None:
    """Penalty decisions in the national 双公示 layout (the import's own columns: a round trip is exact)."""

    async def work(built: App) -> str:
        clock = SystemClock()
        start, end = _day(from_, "--from"), _day(to, "--to")
        writable(output)
        async with built.sessions() as session, session.begin():
            rows = await export_penalties(
                session, output, start=start, end=end, status=status, encoding=encoding
            )
            await record_transfer(
                session,
                direction="export",
                kind="penalties",
                file_name=output.name,
                sha256=file_sha256(output),
                status="exported",
                counts={"rows": rows, "from": start.isoformat(), "to": end.isoformat(), "status": status},
                actor=cli_actor(),
                now=utc_now(clock),
            )
        return f"已导出 {rows} 条行政处罚信息到 {output}"

    try:
        typer.echo(asyncio.run(with_app(work)))
    except UserError as err:
        raise fail(err) from None


@export_app.command("lists")
def export_lists_cmd(
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    output: Annotated[Path, typer.Option("-o", "--output", help="FILE.xlsx")],
) -> None:
    """The monthly 对象清单 and 成效清单 (Zaozhuang #9), with a summary sheet and a chart."""
    from workflows.monthly_lists import monthly_lists, parse_month
    from workflows.monthly_report import summary_text, workbook_bytes

    async def work(built: App) -> str:
        clock = SystemClock()
        year, number = parse_month(month)
        if output.suffix.lower() != ".xlsx":
            raise UserError("月度清单是 Excel 工作簿：输出文件名应以 .xlsx 结尾。")
        writable(output)
        async with built.sessions() as session, session.begin():
            lists = await monthly_lists(session, year, number, as_of=local_today(clock))
            content = workbook_bytes(lists, made_at=clock.now())
            output.write_bytes(content)
            await record_transfer(
                session,
                direction="export",
                kind="lists",
                file_name=output.name,
                sha256=file_sha256(content),
                status="exported",
                counts={"month": f"{year}-{number:02d}", **lists.summary},
                actor=cli_actor(),
                now=utc_now(clock),
            )
        return summary_text(lists) + f"\n已写入 {output}"

    try:
        typer.echo(asyncio.run(with_app(work)))
    except UserError as err:
        raise fail(err) from None
