"""异议申诉 — an enterprise on a record, or a driver on one deduction.

record / deduction → 提出异议 → reason (buttons) → description (text) → evidence (files, then 完成)
                   → 异议申诉信用承诺书 confirm → review (redo any step) → submit → status (withdraw)
"""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import (
    in_lang,
    menu_row,
    read_upload,
    ref_of,
    require_subject,
    timeline_lines,
    unverified_note,
)
from bot.i18n import N_, SOURCE_LANG, gettext, translate
from bot.replies import Button, IncomingFile
from models import ApplicationStatus, CreditRecord, DriverViolation, Objection
from notifications.letters import objection_letter
from workflows import objections, rules
from workflows.applications import OPEN_STATUSES, status_label
from workflows.clock import utc_now
from workflows.errors import UserError
from workflows.validation import mask_id_number

# The outcomes workflows/objections.py stores, worded as whole lines: the bare words 更正/维持 are the
# staff's decision buttons in the catalog (staff_queue), which read wrong as a result.
OUTCOME_LINES = {
    "更正": (N_("结果：更正"), N_("结果：更正（{reason}）")),  # not UI: the key is the stored outcome
    "维持": (N_("结果：维持"), N_("结果：维持（{reason}）")),  # not UI: the key is the stored outcome
}


async def _obj(ctx: Ctx, obj_id: int) -> Objection:
    subject = require_subject(ctx)
    obj = await objections.objection_of_subject(ctx.session, subject.id or 0, int(obj_id))
    if obj is None:
        raise UserError(N_("找不到该异议。"))
    return obj


def _reason(ctx: Ctx, reason: str) -> str:
    """A reason of rules.OBJECTION_REASONS (stored in Chinese) in the chat's language."""
    return in_lang(ctx, reason, rules.OBJECTION_REASONS_EN.get(reason, reason))


async def _target_text(ctx: Ctx, obj: Objection, lang: str | None = None) -> str:
    """What the objection is about, in the chat's language, or in `lang` (the letter is Chinese)."""
    lang = lang or ctx.lang
    if obj.record_id is not None:
        record = await ctx.session.get(CreditRecord, obj.record_id)
        if record is None:
            return gettext(N_("信用记录"), lang)
        return gettext(
            N_("信用记录 {no}（{authority}）"),
            lang,
            no=record.decision_no or record.decision_date,
            authority=record.authority,
        )
    v = await ctx.session.get(DriverViolation, obj.violation_id)
    if v is None:
        return gettext(N_("违章扣分"), lang)
    return gettext(
        N_("违章扣分 {day} {item}（{points} 分）"), lang, day=v.occurred_on, item=v.item, points=v.points
    )


@registry.action("objection.start")
async def start(ctx: Ctx, payload: dict) -> None:
    subject = require_subject(ctx)
    obj = await objections.start(
        ctx.session,
        subject=subject,
        actor=ctx.actor,
        record_id=payload.get("record_id"),
        violation_id=payload.get("violation_id"),
    )
    await ask_next(
        ctx,
        obj,
        ctx._("对「{target}」提出异议。可随时 /cancel，草稿会保留。", target=await _target_text(ctx, obj)),
    )


async def ask_next(ctx: Ctx, obj: Objection, intro: str = "") -> None:
    step = objections.next_step(obj.draft)
    head = f"{intro}\n\n" if intro else ""
    later = [ctx.button(ctx._("保存草稿，稍后继续"), "menu.show")]
    if step == "reason":
        ctx.goto("objection.reason", obj_id=obj.id)
        reasons = [
            ctx.button(_reason(ctx, r), "objection.reason", obj_id=obj.id, reason=r)
            for r in rules.OBJECTION_REASONS
        ]
        ctx.say(
            head + ctx._("第 1 步（共 4 步）：请选择异议理由："),
            [reasons[i : i + 2] for i in range(0, len(reasons), 2)] + [later],
        )
    elif step == "description":
        ctx.goto("objection.await_description", obj_id=obj.id)
        ctx.say(
            head
            + ctx._(
                "第 2 步（共 4 步）：请说明具体情况：哪里有误、应当是什么（文字，{max} 字以内）。",
                max=rules.MAX_TEXT_LENGTH,
            ),
            [later],
        )
    elif step == "evidence":
        ctx.goto("objection.await_evidence", obj_id=obj.id)
        n = len(obj.draft.get("evidence", []))
        ctx.say(
            head
            + ctx._(
                "第 3 步（共 4 步）：请上传证据（决定书、撤销或变更决定、复议决定、判决书等；PDF、JPG 或 PNG），"
                "可上传多个。已上传 {n} 个。传完或没有证据时点「完成」。",
                n=n,
            ),
            [[ctx.button(ctx._("完成"), "objection.evidence_done", obj_id=obj.id)], later],
        )
    elif step == "commitment":
        ctx.goto("objection.commitment", obj_id=obj.id)
        ctx.say(
            head
            + ctx._("第 4 步（共 4 步）：请阅读并确认《异议申诉信用承诺书》：\n\n")
            + await _letter(ctx, obj),
            [[ctx.button(ctx._("✅ 确认承诺书"), "objection.confirm", obj_id=obj.id)], later],
        )
    else:
        await review(ctx, obj, head)


async def _letter(ctx: Ctx, obj: Objection) -> str:
    subject = require_subject(ctx)
    code_label, code = (
        ("统一社会信用代码", subject.uscc)  # not UI: a line of the Chinese letter
        if subject.uscc
        else ("从业资格证号", mask_id_number(subject.cert_no or ""))  # not UI: a line of the Chinese letter
    )
    return objection_letter(
        subject_name=subject.name,
        code_label=code_label,
        code=code or "",
        target=await _target_text(ctx, obj, SOURCE_LANG),
        reason=obj.reason,
        today=ctx.today,
    )


async def review(ctx: Ctx, obj: Objection, head: str = "") -> None:
    ctx.goto("objection.review", obj_id=obj.id)
    lines = [
        ctx._("请核对异议内容："),
        ctx._("对象：{target}", target=await _target_text(ctx, obj)),
        ctx._("1. 理由：{reason}", reason=_reason(ctx, obj.reason or "")),
        ctx._("2. 说明：{description}", description=obj.description),
        ctx._("3. 证据：{n} 个文件", n=len(obj.draft.get("evidence", []))),
        ctx._("4. 异议申诉信用承诺书：已确认"),
    ]
    ctx.say(
        head + "\n".join(lines),
        [
            [ctx.button(ctx._("📨 提交异议"), "objection.submit", obj_id=obj.id)],
            [
                ctx.button(ctx._("重做第{n}步", n=i), "objection.redo", obj_id=obj.id, step=step)
                for i, step in enumerate(("reason", "description", "evidence", "commitment"), 1)
            ],
            [ctx.button(ctx._("保存草稿，稍后继续"), "menu.show")],
        ],
    )


@registry.action("objection.reason")
async def on_reason(ctx: Ctx, payload: dict) -> None:
    obj = await _obj(ctx, payload["obj_id"])
    objections.set_reason(obj, payload["reason"])
    await ask_next(ctx, obj)


@registry.on_text("objection.reason")
async def reason_as_text(ctx: Ctx, _: str) -> None:
    raise UserError(N_("请点按钮选择异议理由（其他情况选「其他」，下一步再具体说明）。"))


@registry.on_text("objection.await_description")
async def on_description(ctx: Ctx, text: str) -> None:
    obj = await _obj(ctx, ctx.state.data["obj_id"])
    objections.set_description(obj, text)
    await ask_next(ctx, obj)


@registry.on_file("objection.await_evidence")
async def on_evidence(ctx: Ctx, file: IncomingFile) -> None:
    obj = await _obj(ctx, ctx.state.data["obj_id"])
    n = await objections.add_evidence(ctx.session, obj, await read_upload(file), ctx.actor)
    ctx.say(
        ctx._("✅ 已收到第 {n} 个证据文件。可继续上传，或点「完成」。", n=n),
        [[ctx.button(ctx._("完成"), "objection.evidence_done", obj_id=obj.id)]],
    )


@registry.on_text("objection.await_evidence")
async def evidence_as_text(ctx: Ctx, _: str) -> None:
    raise UserError(N_("这一步请上传证据文件；说明文字已在上一步填写。没有证据时点「完成」。"))


@registry.action("objection.evidence_done")
async def on_evidence_done(ctx: Ctx, payload: dict) -> None:
    obj = await _obj(ctx, payload["obj_id"])
    objections.finish_evidence(obj)
    await ask_next(ctx, obj)


@registry.action("objection.confirm")
async def on_confirm(ctx: Ctx, payload: dict) -> None:
    obj = await _obj(ctx, payload["obj_id"])
    objections.confirm_commitment(obj, await _letter(ctx, obj))
    await ask_next(ctx, obj)


@registry.action("objection.redo")
async def on_redo(ctx: Ctx, payload: dict) -> None:
    obj = await _obj(ctx, payload["obj_id"])
    objections.redo(obj, payload["step"])
    await ask_next(ctx, obj)


@registry.action("objection.submit")
async def on_submit(ctx: Ctx, payload: dict) -> None:
    obj = await _obj(ctx, payload["obj_id"])
    await objections.submit(
        ctx.session,
        obj,
        today=ctx.today,
        now=utc_now(ctx.services.clock),
        calendar=ctx.services.calendar,
        actor=ctx.actor,
    )
    ctx.goto("menu")
    ctx.say(
        ctx._(
            "📨 异议已提交，编号 {ref_no}。工作人员将在 {due} 前核查答复（时限参照地方示例，"
            "{note}）；期间该记录标注「异议处理中」。",
            ref_no=ref_of(ctx, obj.ref_no),
            due=obj.due_on,
            note=unverified_note(ctx),
        ),
        [[ctx.button(ctx._("查看进度"), "objection.status", obj_id=obj.id)], menu_row(ctx)],
    )


@registry.action("objection.status")
async def show_status(ctx: Ctx, payload: dict) -> None:
    obj = await _obj(ctx, payload["obj_id"])
    lines = [
        ctx._("⚖️ 异议 {ref_no}", ref_no=ref_of(ctx, obj.ref_no)),
        ctx._("对象：{target}", target=await _target_text(ctx, obj)),
        ctx._("状态：{status}", status=status_label(obj.status, ctx.lang)),
    ]
    if obj.outcome:
        line, line_with_reason = OUTCOME_LINES[obj.outcome]
        lines.append(
            gettext(line_with_reason, ctx.lang, reason=obj.outcome_reason)
            if obj.outcome_reason
            else translate(line, ctx.lang)
        )
    elif obj.due_on and obj.status in OPEN_STATUSES:
        lines.append(ctx._("答复期限：{due}", due=obj.due_on))
    lines += await timeline_lines(ctx, objections.ENTITY, obj.id or 0)
    rows: list[list[Button]] = []
    if obj.status == ApplicationStatus.DRAFT:
        rows.append([ctx.button(ctx._("继续填写"), "objection.resume", obj_id=obj.id)])
    if obj.status in (*OPEN_STATUSES, ApplicationStatus.DRAFT):
        rows.append([ctx.button(ctx._("撤回异议"), "objection.withdraw", obj_id=obj.id)])
    rows.append([ctx.button(ctx._("📂 我的申请"), "apps.list"), *menu_row(ctx)])
    ctx.say("\n".join(lines), rows, edit=True)


@registry.action("objection.resume")
async def on_resume(ctx: Ctx, payload: dict) -> None:
    await ask_next(ctx, await _obj(ctx, payload["obj_id"]))


@registry.action("objection.withdraw")
async def on_withdraw(ctx: Ctx, payload: dict) -> None:
    obj = await _obj(ctx, payload["obj_id"])
    await objections.withdraw(ctx.session, obj, now=utc_now(ctx.services.clock), actor=ctx.actor)
    ctx.goto("menu")
    ctx.say(ctx._("异议 {ref_no} 已撤回。", ref_no=ref_of(ctx, obj.ref_no)), [menu_row(ctx)], edit=True)
