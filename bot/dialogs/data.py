"""Staff: the bureau's data in chat — import a spreadsheet, get a template, the monthly lists.

数据管理 → 导入数据 → kind → send the .xlsx/.csv → checked (summary, first errors, errors file)
        → clean: 确认导入 (penalties: or 导入并送达三书) → imported
        → 下载模板 → kind → template file
        → 月度清单 → month → workbook + chart
A spreadsheet sent to the main menu by an admin or 审核 is recognised by its headers.
"""

from __future__ import annotations

import io
from datetime import date

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row
from bot.i18n import N_
from bot.replies import Button, Document, IncomingFile
from workflows import rules
from workflows.clock import utc_now
from workflows.errors import UserError
from workflows.imports import KINDS, ImportResult, detect_kind, kind_label, kind_named
from workflows.imports.runner import file_sha256
from workflows.monthly_lists import monthly_lists, parse_month, previous_month
from workflows.monthly_report import chart_png, file_name, summary_text, workbook_bytes
from workflows.staff import allowed, require
from workflows.transfers import import_checked, import_file, record_transfer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt")


@registry.action("data.menu")
async def data_menu(ctx: Ctx, _: dict) -> None:
    staff = ctx.identity.staff
    rows: list[list[Button]] = []
    if allowed(staff, "data.import"):
        rows.append(
            [
                ctx.button(ctx._("📤 导入数据"), "data.pick", purpose="import"),
                ctx.button(ctx._("📄 下载模板"), "data.pick", purpose="template"),
            ]
        )
    if allowed(staff, "subject.manage"):
        rows.append([ctx.button(ctx._("➕ 登记主体"), "subjects.add")])
    if allowed(staff, "lists.monthly"):
        rows.append([ctx.button(ctx._("📊 月度清单"), "lists.pick")])
    if not rows:
        require(staff, "data.import")
    ctx.goto("menu")
    ctx.say(
        ctx._(
            "📦 数据管理：批量导入主体、行政处罚、驾驶员扣分、考核结果和履行情况（.xlsx 或 .csv），"
            "下载导入模板，或生成月度对象清单与成效清单。"
        ),
        rows + [menu_row(ctx)],
        edit=True,
    )


@registry.action("data.pick")
async def pick_kind(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "data.import")
    purpose = payload["purpose"]
    action = "data.await" if purpose == "import" else "data.template"
    rows = [[ctx.button(kind_label(kind, ctx.lang), action, kind=name)] for name, kind in KINDS.items()]
    ctx.say(ctx._("请选择数据类型："), rows + [menu_row(ctx)], edit=True)


@registry.action("data.template")
async def template(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "data.import")
    kind = kind_named(str(payload["kind"]))
    from workflows.dataio.write import write_template  # openpyxl (numpy, Pillow) loads on first use

    buffer = io.BytesIO()
    write_template(buffer, kind.label, [c.template() for c in kind.columns])
    label = kind_label(kind, ctx.lang)
    ctx.say(
        ctx._(
            "📄 {label}导入模板：第一页为表头和示例行，第二页「填写说明」逐列说明必填、格式和可选值。",
            label=label,
        ),
        [menu_row(ctx)],
        document=Document(ctx._("{label}导入模板.xlsx", label=label), buffer.getvalue(), XLSX),
    )


@registry.action("data.await")
async def await_file(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "data.import")
    kind = kind_named(str(payload["kind"]))
    ctx.goto("data.await_file", kind=kind.name)
    ctx.say(
        ctx._(
            "请把{label}数据作为文件发送（.xlsx，或 UTF-8 / GBK 编码的 .csv，不超过 {mb} MB）。"
            "表头按模板，列顺序不限。系统先检查全部行，确认后才写入。",
            label=kind_label(kind, ctx.lang),
            mb=rules.IMPORT_CHAT_MAX_BYTES // 1048576,
        ),
        [[ctx.button(ctx._("📄 先下载模板"), "data.template", kind=kind.name)], menu_row(ctx)],
    )


async def _fetch(ctx: Ctx, file: IncomingFile) -> tuple[str, bytes]:
    name = file.file_name or "upload"
    if not name.lower().endswith(SUFFIXES):
        hint = ctx._("（旧版 .xls 请在 Excel 中另存为 .xlsx）") if name.lower().endswith(".xls") else ""
        raise UserError(ctx._("请发送 .xlsx 或 .csv 文件{hint}，收到的是「{name}」。", hint=hint, name=name))
    if file.size is not None and file.size > rules.IMPORT_CHAT_MAX_BYTES:
        raise UserError(
            ctx._(
                "文件太大（{size:.1f} MB），聊天中导入的文件不能超过 {mb} MB；"
                "更大的文件请用命令行 credit-bot import。",
                size=file.size / 1048576,
                mb=rules.IMPORT_CHAT_MAX_BYTES // 1048576,
            )
        )
    if file.fetch is None:
        raise UserError(N_("无法读取这个文件，请重新发送。"))
    content = await file.fetch()
    if not content:
        raise UserError(N_("文件是空的，请检查后重新发送。"))
    return name, content


@registry.on_file("data.await_file")
async def on_file(ctx: Ctx, file: IncomingFile) -> None:
    require(ctx.identity.staff, "data.import")
    await check_upload(ctx, str(ctx.state.data["kind"]), *await _fetch(ctx, file))


@registry.on_file("menu")
async def on_menu_file(ctx: Ctx, file: IncomingFile) -> None:
    """A spreadsheet sent to the menu by someone who may import: recognised by its headers."""
    if not allowed(ctx.identity.staff, "data.import") or not (file.file_name or "").lower().endswith(
        SUFFIXES
    ):
        raise UserError(N_("这里不需要发送文件。请使用按钮，或输入 /menu 返回主菜单。"))
    name, content = await _fetch(ctx, file)
    from workflows.dataio.read import open_table  # openpyxl (numpy, Pillow) loads on first use

    with open_table(content, name) as table:
        kind = detect_kind(table.headers)
    if kind is None:
        raise UserError(
            N_(
                "没能从表头识别数据类型（缺少必填列）。请在「数据管理 → 导入数据」中选择类型后重新发送，"
                "或下载模板对照表头。"
            )
        )
    await check_upload(ctx, kind.name, name, content)


async def check_upload(ctx: Ctx, kind: str, name: str, content: bytes) -> None:
    result, transfer = await import_file(
        ctx.session,
        kind,
        content,
        name,
        actor=ctx.actor,
        now=utc_now(ctx.services.clock),
        today=ctx.today,
        calendar=ctx.services.calendar,
        dry_run=True,
        keep_content=True,
    )
    # Refused: the next file sent is taken as the same kind (the corrected one); checked: back to the menu.
    ctx.goto("menu" if result.ok else "data.await_file", kind=kind)
    # In chat a dry run is the check before 确认导入 (the CLI's title says 试运行).
    summary = ctx._(
        "{label}导入检查：{details}", label=result.label_in(ctx.lang), details=result.details(ctx.lang)
    )
    lines = [summary, *(ctx._("提示：{warning}", warning=w) for w in result.warnings_in(ctx.lang))]
    if not result.ok:
        shown = result.problems[: rules.IMPORT_CHAT_ERRORS_SHOWN]
        lines += [
            "",
            ctx._("问题（前 {count} 处，全部见错误文件）：", count=len(shown)),
            *(f"· {p.line(ctx.lang)}" for p in shown),
        ]
        ctx.say(
            "\n".join(lines), [[ctx.button(ctx._("📤 重新上传"), "data.await", kind=kind)], menu_row(ctx)]
        )
        document = _errors_document(result, name, content)
        if document is not None:
            ctx.say(ctx._("错误文件：原数据加「错误说明」列，改好后可直接重新上传。"), document=document)
        return
    lines.append(ctx._("检查通过，尚未写入。确认后导入："))
    buttons = [ctx.button(ctx._("✅ 确认导入"), "data.confirm", transfer_id=transfer.id, notify=False)]
    if kind == "penalties":
        buttons.append(
            ctx.button(ctx._("✅ 导入并送达三书"), "data.confirm", transfer_id=transfer.id, notify=True)
        )
        lines.append(
            ctx._(
                "（「导入并送达三书」只送达近 {days} 个工作日内作出的决定，历史记录不打扰企业。）",
                days=rules.IMPORT_RECENT_WORKDAYS,
            )
        )
    ctx.say("\n".join(lines), [buttons, [ctx.button(ctx._("取消"), "menu.show")]])


def _errors_document(result: ImportResult, name: str, content: bytes) -> Document | None:
    errors: dict[int, list[str]] = {}
    for p in result.problems:
        if p.row:
            # The errors file is the bureau's Chinese spreadsheet: Chinese reasons whatever the chat's language.
            errors.setdefault(p.row, []).append(f"「{p.column}」{p.reason}" if p.column else p.reason)
    if not errors:
        return None
    csv = name.lower().endswith((".csv", ".txt"))
    from workflows.dataio.read import open_table
    from workflows.dataio.write import write_errors_file

    buffer = io.BytesIO()
    with open_table(content, name) as table:
        write_errors_file(table, errors, buffer, "csv" if csv else "xlsx")
    stem = name.rsplit(".", 1)[0].removesuffix(".errors")  # a re-uploaded errors file keeps one suffix
    return Document(f"{stem}.errors.{'csv' if csv else 'xlsx'}", buffer.getvalue(), CSV if csv else XLSX)


@registry.action("data.confirm")
async def confirm(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "data.import")
    result, _ = await import_checked(
        ctx.session,
        int(payload["transfer_id"]),
        actor=ctx.actor,
        now=utc_now(ctx.services.clock),
        today=ctx.today,
        calendar=ctx.services.calendar,
        notify=bool(payload.get("notify")),
    )
    ctx.goto("menu")
    if not result.ok:
        # The data moved on between the check and the press (someone imported meanwhile): nothing written.
        lines = [
            result.summary(ctx.lang),
            *(f"· {p.line(ctx.lang)}" for p in result.problems[: rules.IMPORT_CHAT_ERRORS_SHOWN]),
        ]
        ctx.say("\n".join(lines), [menu_row(ctx)])
        return
    ctx.say(
        f"✅ {result.summary(ctx.lang)}", [[ctx.button(ctx._("📦 数据管理"), "data.menu")], menu_row(ctx)]
    )


# -- monthly lists ----------------------------------------------------------------------------------


@registry.action("lists.pick")
async def pick_month(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "lists.monthly")
    months = []
    day = ctx.today
    for _i in range(4):
        year, month = (day.year, day.month) if not months else previous_month(day)
        months.append((year, month))
        day = date(year, month, 1)
    rows = [
        [
            ctx.button(ctx._("{year}年{month}月", year=y, month=m), "lists.month", year=y, month=m)
            for y, m in pair
        ]
        for pair in (months[:2], months[2:])
    ]
    ctx.goto("lists.await_month")
    ctx.say(ctx._("📊 月度清单：请选择月份，或输入月份（如 2026-10）："), rows + [menu_row(ctx)])


@registry.on_text("lists.await_month")
async def on_month(ctx: Ctx, text: str) -> None:
    year, month = parse_month(text)
    await send_lists(ctx, {"year": year, "month": month})


@registry.action("lists.month")
async def send_lists(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "lists.monthly")
    year, month = int(payload["year"]), int(payload["month"])
    lists = await monthly_lists(ctx.session, year, month, as_of=ctx.today)
    content = workbook_bytes(lists, made_at=ctx.services.clock.now())
    name = file_name(lists, ctx.lang)  # the workbook itself is the bureau's, in Chinese
    await record_transfer(
        ctx.session,
        direction="export",
        kind="lists",
        file_name=name,
        sha256=file_sha256(content),
        status="exported",
        counts={"month": f"{year}-{month:02d}", **lists.summary},
        actor=ctx.actor,
        now=utc_now(ctx.services.clock),
    )
    ctx.goto("menu")
    ctx.say(summary_text(lists, ctx.lang), document=Document(name, content, XLSX))
    ctx.say(
        ctx._("{year}年各月成效图", year=year),
        [menu_row(ctx)],
        document=Document(
            ctx._("信用工作月度成效_{year}年{month:02d}月.png", year=year, month=month),
            chart_png(lists),
            "image/png",
        ),
    )
