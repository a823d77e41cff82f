"""Enterprise: 信用修复 — eligibility, then the materials one by one, review, submit, follow the status.

record → 申请修复 → [1] proof upload → [2] legal representative? (no → authorisation upload)
       → [3] 信用修复承诺书 confirm → review (redo any step) → submit → status (withdraw / 补正)
"""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import (
    in_lang,
    listing,
    menu_row,
    read_upload,
    ref_of,
    require_subject,
    timeline_lines,
)
from bot.i18n import N_
from bot.replies import Button, IncomingFile
from models import ApplicationStatus, CommitmentKind, CreditRecord, RepairApplication
from notifications.letters import commitment_text
from workflows import repair, rules
from workflows.applications import OPEN_STATUSES, status_label
from workflows.clock import utc_now
from workflows.commitments import COMMITMENT_TYPES, make_commitment
from workflows.errors import UserError
from workflows.materials import materials_of


def _file_hint(ctx: Ctx) -> str:
    return ctx._(
        "{types}，照片或扫描件均可，不超过 {mb} MB",
        types=listing(ctx, rules.MATERIAL_TYPES.values()),
        mb=rules.MATERIAL_MAX_BYTES // 1048576,
    )


def _regime(ctx: Ctx, key: str) -> str:
    """The regime an application stored by its short name, in the chat's language."""
    regime = rules.regime_by_key(key)
    return in_lang(ctx, regime.key, regime.key_en) if regime else key


async def _app(ctx: Ctx, app_id: int) -> RepairApplication:
    subject = require_subject(ctx, "enterprise")
    app = await repair.application_of_subject(ctx.session, subject.id or 0, int(app_id))
    if app is None:
        raise UserError(N_("找不到该申请。"))
    return app


@registry.action("repair.start")
async def start(ctx: Ctx, payload: dict) -> None:
    subject = require_subject(ctx, "enterprise")
    started = await repair.start(
        ctx.session,
        subject=subject,
        record_id=int(payload["record_id"]),
        today=ctx.today,
        calendar=ctx.services.calendar,
        actor=ctx.actor,
    )
    intro = (
        ctx._("继续填写上次保存的草稿。")
        if started.resumed
        else ctx._(
            "✅ 符合申请条件（适用{regime}程序）。需要 3 步材料，可随时 /cancel，草稿会保留。",
            regime=_regime(ctx, started.application.regime),
        )
    )
    await ask_next(ctx, started.application, intro)


async def ask_next(ctx: Ctx, app: RepairApplication, intro: str = "") -> None:
    step = repair.next_step(app.draft)
    head = f"{intro}\n\n" if intro else ""
    cancel = [ctx.button(ctx._("保存草稿，稍后继续"), "menu.show")]
    if step == "proof":
        ctx.goto("repair.await_proof", app_id=app.id)
        ctx.say(
            head
            + ctx._(
                "第 1 步（共 3 步）：请上传履行义务的证明（罚款缴纳凭证或整改证明，{hint}）。",
                hint=_file_hint(ctx),
            ),
            [cancel],
        )
    elif step == "authorisation":
        ctx.goto("repair.legal_rep", app_id=app.id)
        ctx.say(
            head + ctx._("第 2 步（共 3 步）：您是企业法定代表人本人办理吗？"),
            [
                [
                    ctx.button(ctx._("是，本人办理"), "repair.legal_rep", app_id=app.id, yes=True),
                    ctx.button(ctx._("否，受托办理"), "repair.legal_rep", app_id=app.id, yes=False),
                ],
                cancel,
            ],
        )
    elif step == "commitment":
        ctx.goto("repair.commitment", app_id=app.id)
        ctx.say(
            head
            + ctx._("第 3 步（共 3 步）：请阅读《信用修复承诺书》，确认后即作出信用修复型承诺：\n\n")
            + (await _letter(ctx, app)).letter,
            [[ctx.button(ctx._("✅ 确认承诺书"), "repair.confirm_commitment", app_id=app.id)], cancel],
        )
    else:
        await review(ctx, app, head)


async def _letter(ctx: Ctx, app: RepairApplication):  # type: ignore[no-untyped-def]
    subject = require_subject(ctx, "enterprise")
    record = await ctx.session.get(CreditRecord, app.record_id)
    assert record is not None
    t = COMMITMENT_TYPES[CommitmentKind.REPAIR]
    return commitment_text(
        kind=t.kind,
        kind_name=t.name,
        subject_name=subject.name,
        uscc=subject.uscc or "",
        matter=record.decision_no or str(record.decision_date),
        made_on=ctx.today,
    )


async def review(ctx: Ctx, app: RepairApplication, head: str = "") -> None:
    ctx.goto("repair.review", app_id=app.id)
    files = {m.id: m for m in await materials_of(ctx.session, repair.ENTITY, app.id or 0)}
    proof = files.get(app.draft.get("proof"))
    auth = files.get(app.draft.get("authorisation"))
    lines = [
        ctx._("请核对材料："),
        ctx._("1. 履行义务证明：{file}", file=proof.file_name if proof else "—"),
        ctx._("2. 办理人：法定代表人本人")
        if app.draft.get("is_legal_rep")
        else ctx._("2. 办理人：受托人（授权委托书：{file}）", file=auth.file_name if auth else "—"),
        ctx._("3. 信用修复承诺书：已确认"),
    ]
    ctx.say(
        head + "\n".join(lines),
        [
            [ctx.button(ctx._("📨 提交申请"), "repair.submit", app_id=app.id)],
            [
                ctx.button(ctx._("重做第{n}步", n=i), "repair.redo", app_id=app.id, step=step)
                for i, step in enumerate(("proof", "authorisation", "commitment"), 1)
            ],
            [ctx.button(ctx._("保存草稿，稍后继续"), "menu.show")],
        ],
    )


@registry.on_file("repair.await_proof")
async def on_proof(ctx: Ctx, file: IncomingFile) -> None:
    app = await _app(ctx, ctx.state.data["app_id"])
    await repair.save_proof(ctx.session, app, await read_upload(file), ctx.actor)
    await ask_next(ctx, app, ctx._("✅ 已收到履行义务证明。"))


@registry.on_text("repair.await_proof")
@registry.on_text("repair.await_authorisation")
@registry.on_text("repair.await_supplement")
async def text_instead_of_file(ctx: Ctx, _: str) -> None:
    raise UserError(ctx._("这一步需要上传文件（{hint}），请直接发送文件或照片。", hint=_file_hint(ctx)))


@registry.action("repair.legal_rep")
async def on_legal_rep(ctx: Ctx, payload: dict) -> None:
    app = await _app(ctx, payload["app_id"])
    await repair.set_legal_rep(app, bool(payload["yes"]))
    if payload["yes"]:
        await ask_next(ctx, app)
        return
    ctx.goto("repair.await_authorisation", app_id=app.id)
    ctx.say(
        ctx._("请上传法定代表人签署的授权委托书（{hint}）。", hint=_file_hint(ctx)),
        [[ctx.button(ctx._("改为本人办理"), "repair.legal_rep", app_id=app.id, yes=True)]],
    )


@registry.on_file("repair.await_authorisation")
async def on_authorisation(ctx: Ctx, file: IncomingFile) -> None:
    app = await _app(ctx, ctx.state.data["app_id"])
    await repair.save_authorisation(ctx.session, app, await read_upload(file), ctx.actor)
    await ask_next(ctx, app, ctx._("✅ 已收到授权委托书。"))


@registry.action("repair.confirm_commitment")
async def on_confirm_commitment(ctx: Ctx, payload: dict) -> None:
    subject = require_subject(ctx, "enterprise")
    app = await _app(ctx, payload["app_id"])
    if app.draft.get("commitment_id"):
        await ask_next(ctx, app)
        return
    text = await _letter(ctx, app)
    record = await ctx.session.get(CreditRecord, app.record_id)
    assert record is not None
    row = await make_commitment(
        ctx.session,
        subject=subject,
        kind=CommitmentKind.REPAIR,
        matter=record.decision_no or "信用修复",  # not UI: stored as the commitment's matter
        content=text.content,
        liability=text.liability,
        letter=text.letter,
        made_on=ctx.today,
        region=ctx.services.settings.region_code,
        actor=ctx.actor,
        calendar=ctx.services.calendar,
        repair_application_id=app.id,
    )
    app.draft = {**app.draft, "commitment_id": row.id}
    await ask_next(ctx, app, ctx._("✅ 已作出信用修复承诺（{code}）。", code=row.code))


@registry.action("repair.redo")
async def on_redo(ctx: Ctx, payload: dict) -> None:
    app = await _app(ctx, payload["app_id"])
    repair.redo(app, payload["step"])
    await ask_next(ctx, app)


@registry.action("repair.submit")
@registry.action("repair.resubmit")
async def on_submit(ctx: Ctx, payload: dict) -> None:
    app = await _app(ctx, payload["app_id"])
    await repair.submit(
        ctx.session,
        app,
        today=ctx.today,
        now=utc_now(ctx.services.clock),
        calendar=ctx.services.calendar,
        actor=ctx.actor,
    )
    ctx.goto("menu")
    ctx.say(
        ctx._(
            "📨 申请已提交，编号 {ref_no}。工作人员将在 {due} 前作出决定，结果会在这里通知您。",
            ref_no=ref_of(ctx, app.ref_no),
            due=app.due_on,
        ),
        [[ctx.button(ctx._("查看进度"), "repair.status", app_id=app.id)], menu_row(ctx)],
    )


@registry.action("repair.status")
async def show_status(ctx: Ctx, payload: dict) -> None:
    app = await _app(ctx, payload["app_id"])
    record = await ctx.session.get(CreditRecord, app.record_id)
    lines = [
        ctx._("🛠 信用修复申请 {ref_no}", ref_no=ref_of(ctx, app.ref_no)),
        ctx._("对应记录：{record}", record=record.decision_no if record else app.record_id),
        ctx._("状态：{status}", status=status_label(app.status, ctx.lang)),
    ]
    if app.due_on and app.status in OPEN_STATUSES:
        lines.append(ctx._("办理期限：{due}", due=app.due_on))
    if app.status == ApplicationStatus.NEEDS_MORE:
        lines.append(
            ctx._("需补正：{more}（{due} 前）", more=app.draft.get("more"), due=app.draft.get("more_due"))
        )
    if app.reason and app.status == ApplicationStatus.REJECTED:
        lines.append(ctx._("理由：{reason}", reason=app.reason))
    lines += await timeline_lines(ctx, repair.ENTITY, app.id or 0)
    rows: list[list[Button]] = []
    if app.status == ApplicationStatus.DRAFT:
        rows.append([ctx.button(ctx._("继续填写"), "repair.start", record_id=app.record_id)])
    if app.status == ApplicationStatus.NEEDS_MORE:
        rows.append([ctx.button(ctx._("📎 补正材料"), "repair.supplement", app_id=app.id)])
    if app.status in (*OPEN_STATUSES, ApplicationStatus.DRAFT):
        rows.append([ctx.button(ctx._("撤回申请"), "repair.withdraw", app_id=app.id)])
    rows.append([ctx.button(ctx._("📂 我的申请"), "apps.list"), *menu_row(ctx)])
    ctx.say("\n".join(lines), rows, edit=True)


@registry.action("repair.withdraw")
async def on_withdraw(ctx: Ctx, payload: dict) -> None:
    app = await _app(ctx, payload["app_id"])
    ctx.say(
        ctx._("确定撤回申请 {ref_no} 吗？撤回后如需修复须重新申请。", ref_no=ref_of(ctx, app.ref_no)),
        [
            [
                ctx.button(ctx._("确定撤回"), "repair.withdraw_confirm", app_id=app.id),
                ctx.button(ctx._("不撤回"), "repair.status", app_id=app.id),
            ]
        ],
        edit=True,
    )


@registry.action("repair.withdraw_confirm")
async def on_withdraw_confirm(ctx: Ctx, payload: dict) -> None:
    app = await _app(ctx, payload["app_id"])
    await repair.withdraw(ctx.session, app, now=utc_now(ctx.services.clock), actor=ctx.actor)
    ctx.goto("menu")
    ctx.say(ctx._("申请 {ref_no} 已撤回。", ref_no=ref_of(ctx, app.ref_no)), [menu_row(ctx)], edit=True)


@registry.action("repair.supplement")
async def on_supplement(ctx: Ctx, payload: dict) -> None:
    app = await _app(ctx, payload["app_id"])
    if app.status != ApplicationStatus.NEEDS_MORE:
        raise UserError(
            ctx._(
                "申请 {ref_no} 当前为「{status}」，无需补正。",
                ref_no=ref_of(ctx, app.ref_no),
                status=status_label(app.status, ctx.lang),
            )
        )
    ctx.goto("repair.await_supplement", app_id=app.id)
    ctx.say(
        ctx._(
            "请上传补正材料：{more}\n（{hint}，可上传多个，传完点「提交补正」）",
            more=app.draft.get("more"),
            hint=_file_hint(ctx),
        ),
        [[ctx.button(ctx._("📨 提交补正"), "repair.resubmit", app_id=app.id)]],
    )


@registry.on_file("repair.await_supplement")
async def on_supplement_file(ctx: Ctx, file: IncomingFile) -> None:
    app = await _app(ctx, ctx.state.data["app_id"])
    await repair.save_proof(ctx.session, app, await read_upload(file), ctx.actor)
    n = len(app.draft.get("supplements", []))
    ctx.say(
        ctx._("✅ 已收到第 {n} 个补正文件。可继续上传，或点「提交补正」。", n=n),
        [[ctx.button(ctx._("📨 提交补正"), "repair.resubmit", app_id=app.id)]],
    )
