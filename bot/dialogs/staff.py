"""Staff: binding codes, staff accounts (admin) and the audit log of a subject."""

from __future__ import annotations

from sqlmodel import col, or_, select

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row
from bot.i18n import N_, translate
from models import AuditEntry, Staff, StaffRole, Subject
from workflows import rules
from workflows.audit import log_change
from workflows.audit_words import action_words, actor_words
from workflows.binding import issue_code
from workflows.clock import to_local
from workflows.errors import UserError
from workflows.staff import ROLE_LABELS, require, role_label
from workflows.validation import mask_id_number, normalize_code, validate_id_number, validate_uscc


def _code_text(ctx: Ctx, who: str, code: str) -> str:
    link = f"https://t.me/{ctx.services.settings.bot_username}?start={code}"
    return ctx._(
        "已为 {who} 签发绑定码：\n\n{code}\n\n{hours} 小时内有效，只能使用一次。也可把链接发给对方：{link}",
        who=who,
        code=code,
        hours=rules.BINDING_CODE_TTL_HOURS,
        link=link,
    )


@registry.action("staff.issue_code")
async def start(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "code.subject")
    ctx.goto("staff.await_subject")
    ctx.say(
        ctx._("请输入企业的统一社会信用代码，或驾驶员的从业资格证号："),
        [[ctx.button(ctx._("取消"), "menu.show")]],
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
        raise UserError(N_("没有找到这个代码对应的企业或驾驶员，请核对后重新输入。"))
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
        raise UserError(N_("找不到该主体。"))
    code = await issue_code(ctx.session, issued_by=ctx.actor, clock=ctx.services.clock, subject_id=subject.id)
    ctx.goto("menu")
    shown = subject.uscc or mask_id_number(subject.cert_no or "")
    who = ctx._("{name}（{code}）", name=subject.name, code=shown)
    ctx.say(_code_text(ctx, who, code.code), [menu_row(ctx)])


# -- staff accounts (admin) ------------------------------------------------------------------------


@registry.action("admin.staff")
async def staff_list(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "staff.manage")
    rows = (await ctx.session.exec(select(Staff).order_by(col(Staff.id)))).all()
    lines = [ctx._("👥 工作人员")]
    buttons = []
    for s in rows:
        state = "" if s.active else ctx._("（已停用）")
        lines.append(f"{s.id}. {s.name} · {s.department} · {role_label(s.role, ctx.lang)}{state}")
        if s.active and s.id != ctx.identity.staff.id:  # type: ignore[union-attr]
            buttons.append(ctx.button(ctx._("停用 {name}", name=s.name), "admin.disable", staff_id=s.id))
        if s.active:
            buttons.append(
                ctx.button(ctx._("🔑 {name} 绑定码", name=s.name), "admin.staff_code", staff_id=s.id)
            )
    rows_ = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows_.append([ctx.button(ctx._("➕ 添加工作人员"), "admin.add_staff")])
    rows_.append(menu_row(ctx))
    ctx.say("\n".join(lines), rows_, edit=True)


@registry.action("admin.staff_code")
async def staff_code(ctx: Ctx, payload: dict) -> None:
    admin = require(ctx.identity.staff, "code.staff")
    staff = await ctx.session.get(Staff, int(payload["staff_id"]))
    if staff is None or not staff.active:
        raise UserError(N_("该工作人员不存在或已停用。"))
    code = await issue_code(
        ctx.session, issued_by=f"staff:{admin.id}", clock=ctx.services.clock, staff_id=staff.id
    )
    ctx.say(
        _code_text(ctx, ctx._("工作人员 {name}", name=staff.name), code.code),
        [menu_row(ctx)],
    )


@registry.action("admin.disable")
async def disable(ctx: Ctx, payload: dict) -> None:
    admin = require(ctx.identity.staff, "staff.manage")
    staff = await ctx.session.get(Staff, int(payload["staff_id"]))
    if staff is None or staff.id == admin.id:
        raise UserError(N_("不能停用该账号。"))
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
        ctx._("请输入：姓名 部门（用空格分开），例如：王五 执法支队"),
        [[ctx.button(ctx._("取消"), "admin.staff")]],
    )


@registry.on_text("admin.await_staff")
async def on_new_staff(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "staff.manage")
    parts = text.split()
    if len(parts) != 2 or not all(1 <= len(p) <= 32 for p in parts):
        raise UserError(N_("格式不对：请输入「姓名 部门」，中间一个空格。"))
    ctx.goto("admin.await_role", name=parts[0], department=parts[1])
    ctx.say(
        ctx._("{name}（{department}）的角色：", name=parts[0], department=parts[1]),
        [[ctx.button(role_label(role, ctx.lang), "admin.role", role=role) for role in ROLE_LABELS]],
    )


@registry.action("admin.role")
async def on_role(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "staff.manage")
    data = ctx.state.data
    if ctx.state.state != "admin.await_role" or "name" not in data:
        raise UserError(N_("请重新开始添加工作人员。"))
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
        _code_text(ctx, ctx._("新工作人员 {name}", name=staff.name), code.code),
        [menu_row(ctx)],
    )


# -- audit log of a subject ------------------------------------------------------------------------


@registry.action("admin.audit")
async def audit_of_subject(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "audit.view")
    subject = await ctx.session.get(Subject, int(payload["subject_id"]))
    if subject is None:
        raise UserError(N_("找不到该主体。"))
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
    lines = [ctx._("📜 {name} 的审计日志（最近 20 条）", name=subject.name)]
    staff_ids = {int(e.actor[6:]) for e in entries if e.actor.startswith("staff:") and e.actor[6:].isdigit()}
    names = {
        s.id or 0: s.name
        for s in (await ctx.session.exec(select(Staff).where(col(Staff.id).in_(staff_ids)))).all()
    }
    lines += [
        f"{to_local(e.at):%m-%d %H:%M} {actor_words(e.actor, names, ctx.lang)} {action_words(e.action, ctx.lang)}"
        for e in entries
    ]
    ctx.say("\n".join(lines), [menu_row(ctx)])


# -- muting non-urgent notices ---------------------------------------------------------------------

MUTABLE_KINDS = {
    "digest": N_("每日待办摘要"),
    "warning": N_("风险预警"),
    "deadline": N_("到期提醒（超期督办不可关闭）"),
}


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
        [
            ctx.button(
                ("🔕 " if k in staff.muted_kinds else "🔔 ") + translate(label, ctx.lang),
                "staff.mute",
                kind=k,
            )
        ]
        for k, label in MUTABLE_KINDS.items()
    ]
    ctx.say(
        ctx._("通知设置（点按切换）。约谈、超期督办、送达失败等紧急通知不能关闭。"),
        rows + [menu_row(ctx)],
        edit=True,
    )
