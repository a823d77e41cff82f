"""Staff: binding codes, staff accounts (admin) and the audit log of a subject."""

from __future__ import annotations

from sqlmodel import col, or_, select

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row
from models import AuditEntry, Staff, StaffRole, Subject
from workflows import rules
from workflows.audit import log_change
from workflows.binding import issue_code
from workflows.clock import to_local
from workflows.errors import UserError
from workflows.staff import ROLE_LABELS, require
from workflows.validation import mask_id_number, normalize_code, validate_id_number, validate_uscc


def _code_text(ctx: Ctx, who: str, code: str) -> str:
    link = f"https://t.me/{ctx.services.settings.bot_username}?start={code}"
    return ctx.t(
        f"已为 {who} 签发绑定码：\n\n{code}\n\n{rules.BINDING_CODE_TTL_HOURS} 小时内有效，只能使用一次。"
        f"也可把链接发给对方：{link}",
        f"Binding code for {who}:\n\n{code}\n\nValid {rules.BINDING_CODE_TTL_HOURS} hours, single use. "
        f"Link: {link}",
    )


@registry.action("staff.issue_code")
async def start(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "code.subject")
    ctx.goto("staff.await_subject")
    ctx.say(
        ctx.t(
            "请输入企业的统一社会信用代码，或驾驶员的从业资格证号：",
            "Enter the enterprise's USCC or the driver's certificate number:",
        ),
        [[ctx.button(ctx.t("取消", "Cancel"), "menu.show")]],
    )


async def find_by_code(ctx: Ctx, text: str) -> Subject:
    key = normalize_code(text)
    subject = (
        await ctx.session.exec(select(Subject).where(or_(Subject.uscc == key, Subject.cert_no == key)))
    ).first()
    if subject is None:
        if len(key) == 18:
            # Say what is wrong with the code itself before saying it is unknown.
            (validate_id_number if key[:17].isdigit() else validate_uscc)(key)
        raise UserError(
            "没有找到这个代码对应的企业或驾驶员，请核对后重新输入。", "No enterprise or driver has that code."
        )
    return subject


@registry.on_text("staff.await_subject")
async def on_subject(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "code.subject")
    subject = await find_by_code(ctx, text)
    await issue_for_subject(ctx, subject.id or 0)


async def issue_for_subject(ctx: Ctx, subject_id: int) -> None:
    require(ctx.identity.staff, "code.subject")
    subject = await ctx.session.get(Subject, subject_id)
    if subject is None:
        raise UserError("找不到该主体。", "No such subject.")
    code = await issue_code(ctx.session, issued_by=ctx.actor, clock=ctx.services.clock, subject_id=subject.id)
    ctx.goto("menu")
    shown = subject.uscc or mask_id_number(subject.cert_no or "")
    ctx.say(_code_text(ctx, f"{subject.name}（{shown}）", code.code), [menu_row(ctx)])


# -- staff accounts (admin) ------------------------------------------------------------------------


@registry.action("admin.staff")
async def staff_list(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "staff.manage")
    rows = (await ctx.session.exec(select(Staff).order_by(col(Staff.id)))).all()
    lines = [ctx.t("👥 工作人员", "👥 Staff")]
    buttons = []
    for s in rows:
        state = "" if s.active else ctx.t("（已停用）", " (disabled)")
        lines.append(f"{s.id}. {s.name} · {s.department} · {ROLE_LABELS[StaffRole(s.role)]}{state}")
        if s.active and s.id != ctx.identity.staff.id:  # type: ignore[union-attr]
            buttons.append(
                ctx.button(ctx.t(f"停用 {s.name}", f"Disable {s.name}"), "admin.disable", staff_id=s.id)
            )
        if s.active:
            buttons.append(
                ctx.button(
                    ctx.t(f"🔑 {s.name} 绑定码", f"🔑 Code for {s.name}"), "admin.staff_code", staff_id=s.id
                )
            )
    rows_ = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows_.append([ctx.button(ctx.t("➕ 添加工作人员", "➕ Add staff"), "admin.add_staff")])
    rows_.append(menu_row(ctx))
    ctx.say("\n".join(lines), rows_, edit=True)


@registry.action("admin.staff_code")
async def staff_code(ctx: Ctx, payload: dict) -> None:
    admin = require(ctx.identity.staff, "code.staff")
    staff = await ctx.session.get(Staff, int(payload["staff_id"]))
    if staff is None or not staff.active:
        raise UserError("该工作人员不存在或已停用。", "No such active staff member.")
    code = await issue_code(
        ctx.session, issued_by=f"staff:{admin.id}", clock=ctx.services.clock, staff_id=staff.id
    )
    ctx.say(
        _code_text(ctx, ctx.t(f"工作人员 {staff.name}", f"staff member {staff.name}"), code.code),
        [menu_row(ctx)],
    )


@registry.action("admin.disable")
async def disable(ctx: Ctx, payload: dict) -> None:
    admin = require(ctx.identity.staff, "staff.manage")
    staff = await ctx.session.get(Staff, int(payload["staff_id"]))
    if staff is None or staff.id == admin.id:
        raise UserError("不能停用该账号。", "That account cannot be disabled.")
    if staff.active:
        staff.active = False
        await log_change(
            ctx.session,
            actor=ctx.actor,
            action="staff.disable",
            entity="staff",
            entity_id=staff.id,
            before={"active": True},
            after={"active": False},
        )
    await staff_list(ctx, {})


@registry.action("admin.add_staff")
async def add_staff(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "staff.manage")
    ctx.goto("admin.await_staff")
    ctx.say(
        ctx.t(
            "请输入：姓名 部门（用空格分开），例如：王五 执法支队",
            "Type: name department, e.g. 王五 执法支队",
        ),
        [[ctx.button(ctx.t("取消", "Cancel"), "admin.staff")]],
    )


@registry.on_text("admin.await_staff")
async def on_new_staff(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "staff.manage")
    parts = text.split()
    if len(parts) != 2 or not all(1 <= len(p) <= 32 for p in parts):
        raise UserError("格式不对：请输入「姓名 部门」，中间一个空格。", "Format: name department")
    ctx.goto("admin.await_role", name=parts[0], department=parts[1])
    ctx.say(
        ctx.t(f"{parts[0]}（{parts[1]}）的角色：", f"Role of {parts[0]}:"),
        [[ctx.button(label, "admin.role", role=role) for role, label in ROLE_LABELS.items()]],
    )


@registry.action("admin.role")
async def on_role(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "staff.manage")
    data = ctx.state.data
    if ctx.state.state != "admin.await_role" or "name" not in data:
        raise UserError("请重新开始添加工作人员。", "Please start again.")
    staff = Staff(
        name=data["name"], department=data["department"], role=StaffRole(payload["role"]), supervisor_id=None
    )
    ctx.session.add(staff)
    await ctx.session.flush()
    await log_change(
        ctx.session,
        actor=ctx.actor,
        action="staff.add",
        entity="staff",
        entity_id=staff.id,
        after={"name": staff.name, "department": staff.department, "role": staff.role},
    )
    code = await issue_code(ctx.session, issued_by=ctx.actor, clock=ctx.services.clock, staff_id=staff.id)
    ctx.goto("menu")
    ctx.say(
        _code_text(ctx, ctx.t(f"新工作人员 {staff.name}", f"new staff member {staff.name}"), code.code),
        [menu_row(ctx)],
    )


# -- audit log of a subject ------------------------------------------------------------------------


@registry.action("admin.audit")
async def audit_of_subject(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "audit.view")
    subject = await ctx.session.get(Subject, int(payload["subject_id"]))
    if subject is None:
        raise UserError("找不到该主体。", "No such subject.")
    entries = (
        await ctx.session.exec(
            select(AuditEntry)
            .where(AuditEntry.subject_id == subject.id)
            .order_by(col(AuditEntry.id).desc())
            .limit(20)
        )
    ).all()
    await log_change(
        ctx.session,
        actor=ctx.actor,
        action="audit.view",
        entity="subject",
        entity_id=subject.id,
        subject_id=subject.id,
    )
    lines = [
        ctx.t(f"📜 {subject.name} 的审计日志（最近 20 条）", f"📜 Audit log of {subject.name} (last 20)")
    ]
    lines += [
        f"{to_local(e.at):%m-%d %H:%M} {e.actor} {e.action} {e.entity}#{e.entity_id or ''}" for e in entries
    ]
    ctx.say("\n".join(lines), [menu_row(ctx)])


# -- muting non-urgent notices ---------------------------------------------------------------------

MUTABLE_KINDS = {"digest": "每日待办摘要", "warning": "风险预警", "deadline": "到期提醒（超期督办不可关闭）"}


@registry.action("staff.mute")
async def mute_settings(ctx: Ctx, payload: dict) -> None:
    staff = require(ctx.identity.staff, "queue.view")
    kind = payload.get("kind")
    if kind in MUTABLE_KINDS:
        muted = set(staff.muted_kinds)
        muted ^= {kind}
        await log_change(
            ctx.session,
            actor=ctx.actor,
            action="staff.mute",
            entity="staff",
            entity_id=staff.id,
            before={"muted": staff.muted_kinds},
            after={"muted": sorted(muted)},
        )
        staff.muted_kinds = sorted(muted)
    rows = [
        [ctx.button(("🔕 " if k in staff.muted_kinds else "🔔 ") + label, "staff.mute", kind=k)]
        for k, label in MUTABLE_KINDS.items()
    ]
    ctx.say(
        "通知设置（点按切换）。约谈、超期督办、送达失败等紧急通知不能关闭。",
        rows + [menu_row(ctx)],
        edit=True,
    )
