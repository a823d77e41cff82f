"""异议申诉 — an enterprise on a record, or a driver on one deduction.

record / deduction → 提出异议 → reason (buttons) → description (text) → evidence (files, then 完成)
                   → 异议申诉信用承诺书 confirm → review (redo any step) → submit → status (withdraw)
"""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row, read_upload, require_subject, timeline_lines
from bot.replies import Button, IncomingFile
from models import ApplicationStatus, CreditRecord, DriverViolation, Objection
from notifications.letters import objection_letter
from workflows import objections, rules
from workflows.applications import OPEN_STATUSES, status_label
from workflows.clock import utc_now
from workflows.errors import UserError
from workflows.validation import mask_id_number


async def _obj(ctx: Ctx, obj_id: int) -> Objection:
    subject = require_subject(ctx)
    obj = await objections.objection_of_subject(ctx.session, subject.id or 0, int(obj_id))
    if obj is None:
        raise UserError("找不到该异议。", "No such objection.")
    return obj


async def _target_text(ctx: Ctx, obj: Objection) -> str:
    if obj.record_id is not None:
        record = await ctx.session.get(CreditRecord, obj.record_id)
        return (
            f"信用记录 {record.decision_no or record.decision_date}（{record.authority}）"
            if record
            else "信用记录"
        )
    v = await ctx.session.get(DriverViolation, obj.violation_id)
    return f"违章扣分 {v.occurred_on} {v.item}（{v.points} 分）" if v else "违章扣分"


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
        ctx.t(
            f"对「{await _target_text(ctx, obj)}」提出异议。可随时 /cancel，草稿会保留。",
            "Objection started; /cancel keeps the draft.",
        ),
    )


async def ask_next(ctx: Ctx, obj: Objection, intro: str = "") -> None:
    step = objections.next_step(obj.draft)
    head = f"{intro}\n\n" if intro else ""
    later = [ctx.button(ctx.t("保存草稿，稍后继续", "Save and continue later"), "menu.show")]
    if step == "reason":
        ctx.goto("objection.reason", obj_id=obj.id)
        reasons = [
            ctx.button(r, "objection.reason", obj_id=obj.id, reason=r) for r in rules.OBJECTION_REASONS
        ]
        ctx.say(
            head + ctx.t("第 1 步（共 4 步）：请选择异议理由：", "Step 1 of 4: choose the reason:"),
            [reasons[i : i + 2] for i in range(0, len(reasons), 2)] + [later],
        )
    elif step == "description":
        ctx.goto("objection.await_description", obj_id=obj.id)
        ctx.say(
            head
            + ctx.t(
                f"第 2 步（共 4 步）：请说明具体情况：哪里有误、应当是什么（文字，{rules.MAX_TEXT_LENGTH} 字以内）。",
                "Step 2 of 4: describe what is wrong and what is right.",
            ),
            [later],
        )
    elif step == "evidence":
        ctx.goto("objection.await_evidence", obj_id=obj.id)
        n = len(obj.draft.get("evidence", []))
        ctx.say(
            head
            + ctx.t(
                f"第 3 步（共 4 步）：请上传证据（决定书、撤销或变更决定、复议决定、判决书等；PDF、JPG 或 PNG），"
                f"可上传多个。已上传 {n} 个。传完或没有证据时点「完成」。",
                f"Step 3 of 4: upload evidence files ({n} so far), then press Done.",
            ),
            [[ctx.button(ctx.t("完成", "Done"), "objection.evidence_done", obj_id=obj.id)], later],
        )
    elif step == "commitment":
        ctx.goto("objection.commitment", obj_id=obj.id)
        ctx.say(
            head
            + ctx.t(
                "第 4 步（共 4 步）：请阅读并确认《异议申诉信用承诺书》：\n\n",
                "Step 4 of 4: read and confirm the letter:\n\n",
            )
            + await _letter(ctx, obj),
            [[ctx.button(ctx.t("✅ 确认承诺书", "✅ Confirm"), "objection.confirm", obj_id=obj.id)], later],
        )
    else:
        await review(ctx, obj, head)


async def _letter(ctx: Ctx, obj: Objection) -> str:
    subject = require_subject(ctx)
    code_label, code = (
        ("统一社会信用代码", subject.uscc)
        if subject.uscc
        else ("从业资格证号", mask_id_number(subject.cert_no or ""))
    )
    return objection_letter(
        subject_name=subject.name,
        code_label=code_label,
        code=code or "",
        target=await _target_text(ctx, obj),
        reason=obj.reason,
        today=ctx.today,
    )


async def review(ctx: Ctx, obj: Objection, head: str = "") -> None:
    ctx.goto("objection.review", obj_id=obj.id)
    lines = [
        ctx.t("请核对异议内容：", "Check your objection:"),
        f"对象：{await _target_text(ctx, obj)}",
        f"1. 理由：{obj.reason}",
        f"2. 说明：{obj.description}",
        f"3. 证据：{len(obj.draft.get('evidence', []))} 个文件",
        "4. 异议申诉信用承诺书：已确认",
    ]
    ctx.say(
        head + "\n".join(lines),
        [
            [ctx.button(ctx.t("📨 提交异议", "📨 Submit"), "objection.submit", obj_id=obj.id)],
            [
                ctx.button(ctx.t(f"重做第{i}步", f"Redo {i}"), "objection.redo", obj_id=obj.id, step=step)
                for i, step in enumerate(("reason", "description", "evidence", "commitment"), 1)
            ],
            [ctx.button(ctx.t("保存草稿，稍后继续", "Save and continue later"), "menu.show")],
        ],
    )


@registry.action("objection.reason")
async def on_reason(ctx: Ctx, payload: dict) -> None:
    obj = await _obj(ctx, payload["obj_id"])
    objections.set_reason(obj, payload["reason"])
    await ask_next(ctx, obj)


@registry.on_text("objection.reason")
async def reason_as_text(ctx: Ctx, _: str) -> None:
    raise UserError(
        "请点按钮选择异议理由（其他情况选「其他」，下一步再具体说明）。", "Choose a reason with the buttons."
    )


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
        ctx.t(f"✅ 已收到第 {n} 个证据文件。可继续上传，或点「完成」。", f"✅ File {n} received."),
        [[ctx.button(ctx.t("完成", "Done"), "objection.evidence_done", obj_id=obj.id)]],
    )


@registry.on_text("objection.await_evidence")
async def evidence_as_text(ctx: Ctx, _: str) -> None:
    raise UserError(
        "这一步请上传证据文件；说明文字已在上一步填写。没有证据时点「完成」。", "Upload files, or press Done."
    )


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
        ctx.t(
            f"📨 异议已提交，编号 {obj.ref_no}。工作人员将在 {obj.due_on} 前核查答复（时限参照地方示例，"
            f"{rules.UNVERIFIED_NOTE}）；期间该记录标注「异议处理中」。",
            f"📨 Submitted as {obj.ref_no}; an answer is due by {obj.due_on} (a local example's time limit; "
            "the deciding authority's answer prevails).",
        ),
        [[ctx.button(ctx.t("查看进度", "Status"), "objection.status", obj_id=obj.id)], menu_row(ctx)],
    )


@registry.action("objection.status")
async def show_status(ctx: Ctx, payload: dict) -> None:
    obj = await _obj(ctx, payload["obj_id"])
    lines = [
        ctx.t(f"⚖️ 异议 {obj.ref_no}", f"⚖️ Objection {obj.ref_no}"),
        f"对象：{await _target_text(ctx, obj)}",
        ctx.t(f"状态：{status_label(obj.status)}", f"Status: {status_label(obj.status, 'en')}"),
    ]
    if obj.outcome:
        lines.append(
            ctx.t(
                f"结果：{obj.outcome}" + (f"（{obj.outcome_reason}）" if obj.outcome_reason else ""),
                f"Outcome: {obj.outcome}",
            )
        )
    elif obj.due_on and obj.status in OPEN_STATUSES:
        lines.append(ctx.t(f"答复期限：{obj.due_on}", f"Due: {obj.due_on}"))
    lines += await timeline_lines(ctx, objections.ENTITY, obj.id or 0)
    rows: list[list[Button]] = []
    if obj.status == ApplicationStatus.DRAFT:
        rows.append([ctx.button(ctx.t("继续填写", "Continue"), "objection.resume", obj_id=obj.id)])
    if obj.status in (*OPEN_STATUSES, ApplicationStatus.DRAFT):
        rows.append([ctx.button(ctx.t("撤回异议", "Withdraw"), "objection.withdraw", obj_id=obj.id)])
    rows.append([ctx.button(ctx.t("📂 我的申请", "📂 My applications"), "apps.list"), *menu_row(ctx)])
    ctx.say("\n".join(lines), rows, edit=True)


@registry.action("objection.resume")
async def on_resume(ctx: Ctx, payload: dict) -> None:
    await ask_next(ctx, await _obj(ctx, payload["obj_id"]))


@registry.action("objection.withdraw")
async def on_withdraw(ctx: Ctx, payload: dict) -> None:
    obj = await _obj(ctx, payload["obj_id"])
    await objections.withdraw(ctx.session, obj, now=utc_now(ctx.services.clock), actor=ctx.actor)
    ctx.goto("menu")
    ctx.say(ctx.t(f"异议 {obj.ref_no} 已撤回。", f"{obj.ref_no} withdrawn."), [menu_row(ctx)], edit=True)
