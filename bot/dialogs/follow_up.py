"""报送 in chat: the subject hands in what it owes by a deadline — 整改情况 after a 约谈 (from the outcome
notice's button) or the missing materials of a 容缺受理 commitment (from 「我的承诺」) — and staff answer it
from 待办 (bot/dialogs/staff_queue.py).

start → [text: the account (replaces the last one) | file: one more file]* → 提交 → 待办 for staff
"""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row, read_upload, require_subject
from bot.replies import Button, IncomingFile
from models import FollowUpReport
from workflows import follow_up, rules
from workflows.clock import utc_now
from workflows.errors import UserError

STATE = "follow_up.await"
FILE_HINT = f"{'、'.join(rules.MATERIAL_TYPES.values())}，单个不超过 {rules.MATERIAL_MAX_BYTES // 1048576} MB"
FILE_HINT_EN = (
    f"{', '.join(rules.MATERIAL_TYPES.values())}, at most {rules.MATERIAL_MAX_BYTES // 1048576} MB each"
)


def _buttons(ctx: Ctx) -> list[list[Button]]:
    return [[ctx.button(ctx.t("📨 提交报送", "📨 Send"), "follow_up.submit")], menu_row(ctx)]


async def _draft(ctx: Ctx) -> FollowUpReport:
    subject = require_subject(ctx)
    if ctx.state.state != STATE or "report_id" not in ctx.state.data:
        raise UserError("请从通知或「我的承诺」重新开始报送。", "Start the report again from the notice.")
    return await follow_up.draft_of(ctx.session, int(ctx.state.data["report_id"]), subject_id=subject.id or 0)


async def _so_far(ctx: Ctx, row: FollowUpReport) -> str:
    files = len(await follow_up.files_of(ctx.session, row.id or 0))
    said = ctx.t("已填写", "given") if row.description else ctx.t("未填写", "not yet")
    return ctx.t(f"目前：文字说明{said}，材料 {files} 份。", f"So far: description {said}, {files} file(s).")


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
    if kind == follow_up.RECTIFICATION:
        items = "\n".join(f"{n}. {item}" for n, item in enumerate(due.items, 1))
        text = ctx.t(
            f"📤 报送整改情况 · {due.title}\n整改事项：\n{items}\n整改期限：{due.due_on}\n\n"
            f"请发送：① 一段文字，简要说明整改情况；② 整改材料（照片或扫描件，{FILE_HINT}），可发多份。"
            "发完点「提交报送」。",
            f"📤 Rectification report · {due.title_en}\nItems:\n{items}\nDue: {due.due_on}\n\n"
            f"Send a short description of what was done, and the evidence ({FILE_HINT_EN}); then press Send.",
        )
    else:
        text = ctx.t(
            f"📤 补齐材料 · {due.title}\n欠缺的材料：{due.items[0]}\n补齐期限：{due.due_on}\n\n"
            f"请上传所缺材料（照片或扫描件，{FILE_HINT}），可发多份；如需说明，可另发一段文字。"
            "发完点「提交报送」。",
            f"📤 Missing materials · {due.title_en}\nMissing: {due.items[0]}\nDue: {due.due_on}\n\n"
            f"Upload the missing materials ({FILE_HINT_EN}); add a note as text if needed; then press Send.",
        )
    ctx.say(f"{text}\n{await _so_far(ctx, row)}", _buttons(ctx))


@registry.on_text(STATE)
async def on_text(ctx: Ctx, text: str) -> None:
    row = await _draft(ctx)
    follow_up.describe(row, text)
    ctx.say(
        ctx.t("已记录文字说明（再发一段会替换它）。", "Description saved (a new one replaces it).")
        + "\n"
        + await _so_far(ctx, row),
        _buttons(ctx),
    )


@registry.on_file(STATE)
async def on_file(ctx: Ctx, file: IncomingFile) -> None:
    row = await _draft(ctx)
    count = await follow_up.add_file(ctx.session, row, await read_upload(file))
    ctx.say(
        ctx.t(
            f"已收到第 {count} 份材料（{file.file_name or '文件'}）。可继续上传，或点「提交报送」。",
            f"Got file {count}. Upload more, or press Send.",
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
        ctx.t(
            f"✅ 已报送，编号 {row.ref_no}。工作人员将于 {row.due_on} 前确认，结果会通知您。",
            f"✅ Sent as {row.ref_no}; staff will answer by {row.due_on} and you will be told.",
        ),
        [menu_row(ctx)],
    )
