"""报送 in chat: the subject hands in what it owes by a deadline — 整改情况 after a 约谈 (from the outcome
notice's button) or the missing materials of a 容缺受理 commitment (from 「我的承诺」) — and staff answer it
from 待办 (bot/dialogs/staff_queue.py).

start → [text: the account (replaces the last one) | file: one more file]* → 提交 → 待办 for staff
"""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import in_lang, listing, menu_row, read_upload, require_subject
from bot.i18n import N_
from bot.replies import Button, IncomingFile
from models import FollowUpReport
from workflows import follow_up, rules
from workflows.clock import utc_now
from workflows.errors import UserError

STATE = "follow_up.await"


def _file_hint(ctx: Ctx) -> str:
    return ctx._(
        "{types}，单个不超过 {mb} MB",
        types=listing(ctx, rules.MATERIAL_TYPES.values()),
        mb=rules.MATERIAL_MAX_BYTES // 1048576,
    )


def _buttons(ctx: Ctx) -> list[list[Button]]:
    return [[ctx.button(ctx._("📨 提交报送"), "follow_up.submit")], menu_row(ctx)]


async def _draft(ctx: Ctx) -> FollowUpReport:
    subject = require_subject(ctx)
    if ctx.state.state != STATE or "report_id" not in ctx.state.data:
        raise UserError(N_("请从通知或「我的承诺」重新开始报送。"))
    return await follow_up.draft_of(ctx.session, int(ctx.state.data["report_id"]), subject_id=subject.id or 0)


async def _so_far(ctx: Ctx, row: FollowUpReport) -> str:
    files = len(await follow_up.files_of(ctx.session, row.id or 0))
    said = ctx._("已填写") if row.description else ctx._("未填写")
    return ctx._("目前：文字说明{said}，材料 {n} 份。", said=said, n=files)


@registry.action("follow_up.start")
async def start(ctx: Ctx, payload: dict) -> None:
    """From the outcome notice, a deadline reminder or 「我的承诺」: what is owed, and how to hand it in."""
    subject = require_subject(ctx)
    kind, ref_id = str(payload["kind"]), int(payload["ref_id"])
    row = await follow_up.start(
        ctx.session, kind, ref_id, subject_id=subject.id or 0, actor=ctx.actor, today=ctx.today
    )
    due = await follow_up.owed(ctx.session, kind, ref_id, subject_id=subject.id or 0)
    ctx.goto(STATE, report_id=row.id)
    title = in_lang(ctx, due.title, due.title_en)
    if kind == follow_up.RECTIFICATION:
        items = "\n".join(f"{n}. {item}" for n, item in enumerate(due.items, 1))
        text = ctx._(
            "📤 报送整改情况 · {title}\n整改事项：\n{items}\n整改期限：{due}\n\n"
            "请发送：① 一段文字，简要说明整改情况；② 整改材料（照片或扫描件，{hint}），可发多份。"
            "发完点「提交报送」。",
            title=title,
            items=items,
            due=due.due_on,
            hint=_file_hint(ctx),
        )
    else:
        text = ctx._(
            "📤 补齐材料 · {title}\n欠缺的材料：{missing}\n补齐期限：{due}\n\n"
            "请上传所缺材料（照片或扫描件，{hint}），可发多份；如需说明，可另发一段文字。"
            "发完点「提交报送」。",
            title=title,
            missing=due.items[0],
            due=due.due_on,
            hint=_file_hint(ctx),
        )
    ctx.say(f"{text}\n{await _so_far(ctx, row)}", _buttons(ctx))


@registry.on_text(STATE)
async def on_text(ctx: Ctx, text: str) -> None:
    row = await _draft(ctx)
    follow_up.describe(row, text)
    ctx.say(
        ctx._("已记录文字说明（再发一段会替换它）。") + "\n" + await _so_far(ctx, row),
        _buttons(ctx),
    )


@registry.on_file(STATE)
async def on_file(ctx: Ctx, file: IncomingFile) -> None:
    row = await _draft(ctx)
    count = await follow_up.add_file(ctx.session, row, await read_upload(file))
    ctx.say(
        ctx._(
            "已收到第 {n} 份材料（{file}）。可继续上传，或点「提交报送」。",
            n=count,
            file=file.file_name or ctx._("文件"),
        ),
        _buttons(ctx),
    )


@registry.action("follow_up.submit")
async def submit(ctx: Ctx, _: dict) -> None:
    row = await _draft(ctx)
    await follow_up.submit(
        ctx.session,
        row,
        actor=ctx.actor,
        now=utc_now(ctx.services.clock),
        today=ctx.today,
        calendar=ctx.services.calendar,
    )
    ctx.goto("menu")
    ctx.say(
        ctx._(
            "✅ 已报送，编号 {ref_no}。工作人员将于 {due} 前确认，结果会通知您。",
            ref_no=row.ref_no,
            due=row.due_on,
        ),
        [menu_row(ctx)],
    )
