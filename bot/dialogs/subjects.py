"""Admins keep the subject registry in chat: add an enterprise or a driver, change a field (the same
checkers as `credit-bot subjects`, workflows/subjects.py).

添加主体 → 企业 | 驾驶员 → one field per message (选填 ones can be skipped) → confirm → added
信用核查 → 修改主体信息 → field → value → changed (before → after in the audit log)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row
from bot.i18n import N_, translate
from bot.replies import Button
from models import Staff, Subject, SubjectKind
from workflows import subjects as reg
from workflows.dataio.values import parse_date
from workflows.errors import UserError
from workflows.staff import require
from workflows.validation import (
    mask_id_number,
    validate_id_number,
    validate_qualification_cert,
    validate_uscc,
)


@dataclass(frozen=True)
class Step:
    key: str
    prompt: str
    optional: bool = False


STEPS: dict[str, tuple[Step, ...]] = {
    SubjectKind.ENTERPRISE: (
        Step("uscc", N_("请输入统一社会信用代码（18 位）：")),
        Step("name", N_("请输入企业名称：")),
        Step("legal_rep", N_("请输入法定代表人姓名（选填）："), optional=True),
        Step("department", N_("请输入主管部门（科室或支队，选填）："), optional=True),
    ),
    SubjectKind.DRIVER: (
        Step("id_number", N_("请输入驾驶员的身份证号码（18 位）：")),
        Step("name", N_("请输入姓名：")),
        Step("cert", N_("请输入从业资格证号（与身份证号相同的可点「同身份证号」）：")),
        Step("first_issued", N_("请输入从业资格证初次领证日期（如 2015-06-01）：")),
        Step("department", N_("请输入主管部门（科室或支队，选填）："), optional=True),
    ),
}
LABELS = {
    "uscc": N_("统一社会信用代码"),
    "name": N_("名称"),
    "legal_rep": N_("法定代表人"),
    "department": N_("主管部门"),
    "id_number": N_("身份证号码"),
    "cert": N_("从业资格证号"),
    "first_issued": N_("初次领证日期"),
}


@registry.action("subjects.add")
async def add(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "subject.manage")
    ctx.say(
        ctx._("➕ 登记主体：请选择类型"),
        [
            [
                ctx.button(ctx._("🏢 企业"), "subjects.add_kind", kind=SubjectKind.ENTERPRISE),
                ctx.button(ctx._("🚗 驾驶员"), "subjects.add_kind", kind=SubjectKind.DRIVER),
            ],
            menu_row(ctx),
        ],
    )


@registry.action("subjects.add_kind")
async def add_kind(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "subject.manage")
    kind = SubjectKind(payload["kind"])
    ctx.goto("subjects.await_field", kind=kind, answers={})
    await _ask(ctx)


def _step(ctx: Ctx) -> Step | None:
    answers = ctx.state.data.get("answers", {})
    return next((s for s in STEPS[ctx.state.data["kind"]] if s.key not in answers), None)


async def _departments(ctx: Ctx) -> list[str]:
    rows = await ctx.session.exec(select(Staff.department).where(col(Staff.active).is_(True)).distinct())
    return sorted(d for d in rows.all() if d)[:6]


async def _ask(ctx: Ctx) -> None:
    step = _step(ctx)
    if step is None:
        answers = ctx.state.data["answers"]
        lines = [ctx._("请确认：")] + [
            ctx._(
                "{label}：{value}",
                label=translate(LABELS[k], ctx.lang),
                value=_shown(k, v) or ctx._("（未填）"),
            )
            for k, v in answers.items()
        ]
        ctx.say(
            "\n".join(lines),
            [[ctx.button(ctx._("✅ 确认登记"), "subjects.save"), ctx.button(ctx._("取消"), "menu.show")]],
        )
        return
    rows: list[list[Button]] = []
    if step.key == "cert":
        rows.append(
            [ctx.button(ctx._("同身份证号"), "subjects.value", value=ctx.state.data["answers"]["id_number"])]
        )
    if step.key == "department":
        rows += [[ctx.button(d, "subjects.value", value=d)] for d in await _departments(ctx)]
    if step.optional:
        rows.append([ctx.button(ctx._("跳过"), "subjects.value", value="")])
    rows.append([ctx.button(ctx._("取消"), "menu.show")])
    ctx.say(translate(step.prompt, ctx.lang), rows)


def _shown(key: str, value: str) -> str:
    return mask_id_number(value) if key in ("id_number", "cert") and value else value


def _check(ctx: Ctx, key: str, text: str) -> str:
    """Each answer is checked as it is typed, with the registry's own checkers."""
    if key == "uscc":
        return validate_uscc(text)
    if key == "id_number":
        return validate_id_number(text, today=ctx.today)
    if key == "cert":
        return validate_qualification_cert(text, today=ctx.today)[0]
    if key == "first_issued":
        try:
            return reg.check_first_issued(parse_date(text), ctx.today).isoformat()
        except ValueError as err:
            reason = err.text(ctx.lang) if isinstance(err, UserError) else str(err)
            raise UserError(ctx._("初次领证日期：{error}", error=reason)) from None
    if key == "name":
        return reg.check_name(text)
    return reg.check_short_text(text, LABELS[key], translate(LABELS[key], "en"))


async def _answer(ctx: Ctx, text: str) -> None:
    require(ctx.identity.staff, "subject.manage")
    if ctx.state.state != "subjects.await_field":
        raise UserError(N_("请重新开始登记。"))
    step = _step(ctx)
    if step is None:
        raise UserError(N_("请点「确认登记」或「取消」。"))
    value = _check(ctx, step.key, text) if text.strip() else ""
    if not value and not step.optional:
        raise UserError(ctx._("{label}不能为空。", label=translate(LABELS[step.key], ctx.lang)))
    answers = {**ctx.state.data["answers"], step.key: value}
    ctx.goto("subjects.await_field", kind=ctx.state.data["kind"], answers=answers)
    await _ask(ctx)


@registry.on_text("subjects.await_field")
async def on_text(ctx: Ctx, text: str) -> None:
    await _answer(ctx, text)


@registry.action("subjects.value")
async def on_value_button(ctx: Ctx, payload: dict) -> None:
    await _answer(ctx, str(payload["value"]))


@registry.action("subjects.save")
async def save(ctx: Ctx, _: dict) -> None:
    require(ctx.identity.staff, "subject.manage")
    data = ctx.state.data
    if ctx.state.state != "subjects.await_field" or _step(ctx) is not None:
        raise UserError(N_("登记信息不完整，请重新开始。"))
    a = data["answers"]
    if data["kind"] == SubjectKind.ENTERPRISE:
        subject = await reg.add_enterprise(
            ctx.session,
            uscc=a["uscc"],
            name=a["name"],
            legal_rep=a.get("legal_rep", ""),
            department=a.get("department", ""),
            actor=ctx.actor,
        )
    else:
        subject = await reg.add_driver(
            ctx.session,
            id_number=a["id_number"],
            name=a["name"],
            cert_no=a["cert"],
            first_issued=parse_date(a["first_issued"]),
            department=a.get("department", ""),
            actor=ctx.actor,
            today=ctx.today,
        )
    ctx.goto("menu")
    ctx.say(
        ctx._(
            "✅ 已登记：\n{card}\n\n可在主菜单「签发绑定码」为其签发绑定码。",
            card="\n".join(reg.subject_card(subject, ctx.lang)),
        ),
        [[ctx.button(ctx._("🔑 签发绑定码"), "subjects.code", subject_id=subject.id)], menu_row(ctx)],
    )


@registry.action("subjects.code")
async def code_for(ctx: Ctx, payload: dict) -> None:
    from bot.dialogs.staff import issue_for_subject

    require(ctx.identity.staff, "code.subject")
    await issue_for_subject(ctx, int(payload["subject_id"]))


# -- editing ---------------------------------------------------------------------------------------


async def _subject(ctx: Ctx, subject_id: int) -> Subject:
    require(ctx.identity.staff, "subject.manage")
    subject = await ctx.session.get(Subject, subject_id)
    if subject is None:
        raise UserError(N_("找不到该主体。"))
    return subject


@registry.action("subjects.edit")
async def edit(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "subject.manage")
    subject = await _subject(ctx, int(payload["subject_id"]))
    fields = [(key, f) for key, f in reg.EDITABLE.items() if SubjectKind(subject.kind) in f.kinds]
    rows = [
        [ctx.button(_field_label(ctx, f), "subjects.field", subject_id=subject.id, field=key)]
        for key, f in fields
    ]
    ctx.goto("menu")
    ctx.say(
        "\n".join(
            [ctx._("✏️ 修改主体信息"), *reg.subject_card(subject, ctx.lang), "", ctx._("请选择要修改的项目：")]
        ),
        rows + [menu_row(ctx)],
    )


def _field_label(ctx: Ctx, field: reg.EditableField) -> str:
    return field.label_en if ctx.lang == "en" else field.label


@registry.action("subjects.field")
async def pick_field(ctx: Ctx, payload: dict) -> None:
    require(ctx.identity.staff, "subject.manage")
    subject = await _subject(ctx, int(payload["subject_id"]))
    field = str(payload["field"])
    if field not in reg.EDITABLE:
        raise UserError(N_("无法修改该项目。"))
    ctx.goto("subjects.await_value", subject_id=subject.id, field=field)
    ctx.say(
        ctx._("请输入新的「{label}」：", label=_field_label(ctx, reg.EDITABLE[field])),
        [[ctx.button(ctx._("取消"), "menu.show")]],
    )


@registry.on_text("subjects.await_value")
async def on_new_value(ctx: Ctx, text: str) -> None:
    subject = await _subject(ctx, int(ctx.state.data["subject_id"]))
    field = ctx.state.data["field"]
    before, after = await reg.edit_subject(
        ctx.session, subject, field, text, actor=ctx.actor, today=ctx.today
    )
    ctx.goto("menu")
    label = _field_label(ctx, reg.EDITABLE[field])
    masked = field == "cert"
    empty = ctx._("（空）")
    shown_before = mask_id_number(str(before)) if masked and before else before or empty
    shown_after = mask_id_number(str(after)) if masked and after else after or empty
    change = (
        ctx._("{label}：{before} → {after}", label=label, before=shown_before, after=shown_after)
        if before != after
        else ctx._("{label}未变。", label=label)
    )
    ctx.say(f"✅ {change}\n\n" + "\n".join(reg.subject_card(subject, ctx.lang)), [menu_row(ctx)])
