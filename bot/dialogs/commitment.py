"""Enterprise: 信用承诺 — pick a type, read what it means, give what it needs, confirm the letter.

menu → type → explanation → matter (from the list, or typed) → [容缺: missing materials → deadline]
     → letter preview → confirm → code + letter document
我的承诺 → [容缺, materials owed: 📤 补齐材料 → bot/dialogs/follow_up.py → 待办 for staff]
"""

from __future__ import annotations

from datetime import date

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row, require_subject
from bot.replies import Document
from models import ApplicationStatus, Commitment, CommitmentKind
from notifications.letters import as_document, commitment_text
from workflows import follow_up, rules
from workflows.commitments import (
    COMMITMENT_TYPES,
    FULFILMENT_LABELS,
    MENU_KINDS,
    barred_reason,
    make_commitment,
    subject_commitments,
    tolerance_limit,
)
from workflows.errors import UserError

DUE_OPTIONS = (3, 5, 10, 20)  # working days offered as buttons, capped by the matter's limit


@registry.action("commit.menu")
async def show_types(ctx: Ctx, _: dict) -> None:
    subject = require_subject(ctx, "enterprise")
    barred = await barred_reason(ctx.session, subject.id or 0)
    rows = []
    for kind in MENU_KINDS:
        t = COMMITMENT_TYPES[kind]
        if t.restricted and barred:
            continue  # not offered at all (§7.4); the note below says why
        rows.append([ctx.button(ctx.t(t.name, t.name_en), "commit.type", kind=kind)])
    rows.append([ctx.button(ctx.t("📄 我的承诺", "📄 My commitments"), "commit.list")])
    rows.append(menu_row(ctx))
    text = ctx.t(
        "✍️ 信用承诺：请选择承诺类型（信用修复型承诺在申请修复时作出）。",
        "✍️ Credit commitments: choose a type (repair commitments are made inside a repair application).",
    )
    if barred:
        text += ctx.t(
            f"\n\n⚠️ 因{barred}，暂不能选择告知承诺和容缺受理，完成信用修复后可再使用。",
            "\n\n⚠️ Approval-by-commitment and tolerance acceptance are unavailable until your records are repaired.",
        )
    ctx.goto("menu")
    ctx.say(text, rows, edit=True)


@registry.action("commit.type")
async def explain(ctx: Ctx, payload: dict) -> None:
    require_subject(ctx, "enterprise")
    t = COMMITMENT_TYPES[CommitmentKind(payload["kind"])]
    ctx.say(
        f"{t.name}\n\n含义：{t.meaning}\n\n承诺后须：{t.obligation}\n\n违诺后果：{t.breach}",
        [
            [
                ctx.button(ctx.t("继续", "Continue"), "commit.begin", kind=t.kind),
                ctx.button(ctx.t("⬅️ 返回", "⬅️ Back"), "commit.menu"),
            ]
        ],
        edit=True,
    )


@registry.action("commit.begin")
async def begin(ctx: Ctx, payload: dict) -> None:
    subject = require_subject(ctx, "enterprise")
    t = COMMITMENT_TYPES[CommitmentKind(payload["kind"])]
    if t.restricted and (barred := await barred_reason(ctx.session, subject.id or 0)):
        raise UserError(
            f"暂不能作出「{t.name}」承诺：{barred}。", "Not available until your records are repaired."
        )
    if t.matter_from_list:
        ctx.goto("commit.pick_matter", kind=t.kind)
        rows = [
            [ctx.button(m.name, "commit.matter", kind=t.kind, matter=m.key)] for m in rules.COMMITMENT_MATTERS
        ]
        rows.append([ctx.button(ctx.t("取消", "Cancel"), "commit.menu")])
        ctx.say(ctx.t("请选择办理的事项：", "Choose the matter:"), rows, edit=True)
    else:
        ctx.goto("commit.await_matter", kind=t.kind)
        ctx.say(
            ctx.t(
                "请输入承诺事由（例如：参加市道路运输协会诚信经营承诺活动），200 字以内：",
                "Type the matter of the commitment (at most 200 characters):",
            ),
            [[ctx.button(ctx.t("取消", "Cancel"), "commit.menu")]],
        )


@registry.on_text("commit.await_matter")
async def on_matter_text(ctx: Ctx, text: str) -> None:
    if len(text) > 200:
        raise UserError(f"承诺事由太长（{len(text)} 字），请控制在 200 字以内。", "At most 200 characters.")
    await preview(ctx, {**ctx.state.data, "matter": text})


@registry.action("commit.matter")
async def on_matter(ctx: Ctx, payload: dict) -> None:
    require_subject(ctx, "enterprise")
    m = rules.matter(payload["matter"])
    draft = {"kind": payload["kind"], "matter": m.name, "matter_key": m.key}
    if payload["kind"] == CommitmentKind.TOLERANCE:
        ctx.goto("commit.await_missing", **draft)
        ctx.say(
            ctx.t(
                f"「{m.name}」容缺受理：请列出暂缺的次要材料（例如：车辆技术等级评定证明），200 字以内：",
                "List the missing materials (at most 200 characters):",
            ),
            [[ctx.button(ctx.t("取消", "Cancel"), "commit.menu")]],
        )
        return
    await preview(ctx, draft)


@registry.on_text("commit.await_missing")
async def on_missing(ctx: Ctx, text: str) -> None:
    if len(text) > 200:
        raise UserError(f"材料清单太长（{len(text)} 字），请控制在 200 字以内。", "At most 200 characters.")
    draft = {**ctx.state.data, "missing": text}
    limit = tolerance_limit(ctx.services.calendar, ctx.today, draft["matter_key"])
    promised = rules.matter(draft["matter_key"]).promised_workdays
    options = sorted({d for d in DUE_OPTIONS if d < promised} | {promised})
    rows = [
        [
            ctx.button(
                ctx.t(
                    f"{d} 个工作日内（{ctx.services.calendar.add_workdays(ctx.today, d)} 前）",
                    f"Within {d} working days",
                ),
                "commit.due",
                days=d,
            )
        ]
        for d in options
    ]
    ctx.goto("commit.await_due", **draft)
    ctx.say(
        ctx.t(
            f"请选择补齐期限，或输入日期（如 {limit}）。最晚不超过 {limit}（该事项承诺办结时限 {promised} 个工作日）。",
            f"Choose the deadline or type a date; at the latest {limit}.",
        ),
        rows,
    )


@registry.action("commit.due")
async def on_due_button(ctx: Ctx, payload: dict) -> None:
    due = ctx.services.calendar.add_workdays(ctx.today, int(payload["days"]))
    await preview(ctx, {**ctx.state.data, "due": due.isoformat()})


@registry.on_text("commit.await_due")
async def on_due_text(ctx: Ctx, text: str) -> None:
    try:
        due = date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise UserError(
            "日期格式不对，请按 2026-12-08 这样的格式输入，或点按钮选择。", "Use the format 2026-12-08."
        ) from None
    limit = tolerance_limit(ctx.services.calendar, ctx.today, ctx.state.data["matter_key"])
    if not ctx.today < due <= limit:
        raise UserError(
            f"补齐期限须在今天之后、不晚于 {limit}。", f"The deadline must be after today and by {limit}."
        )
    await preview(ctx, {**ctx.state.data, "due": due.isoformat()})


def _text(ctx: Ctx, draft: dict, code: str = ""):  # type: ignore[no-untyped-def]
    subject = require_subject(ctx, "enterprise")
    t = COMMITMENT_TYPES[CommitmentKind(draft["kind"])]
    return commitment_text(
        kind=t.kind,
        kind_name=t.name,
        subject_name=subject.name,
        uscc=subject.uscc or "",
        matter=draft["matter"],
        made_on=ctx.today,
        code=code,
        missing_materials=draft.get("missing", ""),
        materials_due=date.fromisoformat(draft["due"]) if draft.get("due") else None,
    )


async def preview(ctx: Ctx, draft: dict) -> None:
    ctx.goto("commit.preview", **draft)
    ctx.say(
        ctx.t("请阅读承诺书，确认无误后点击「确认承诺」：\n\n", "Read the letter, then confirm:\n\n")
        + _text(ctx, draft).letter,
        [
            [ctx.button(ctx.t("✅ 确认承诺", "✅ Confirm"), "commit.confirm")],
            [
                ctx.button(ctx.t("✏️ 重新填写", "✏️ Start over"), "commit.begin", kind=draft["kind"]),
                ctx.button(ctx.t("取消", "Cancel"), "commit.menu"),
            ],
        ],
    )


@registry.action("commit.confirm")
async def confirm(ctx: Ctx, _: dict) -> None:
    subject = require_subject(ctx, "enterprise")
    draft = dict(ctx.state.data)
    if ctx.state.state != "commit.preview" or "kind" not in draft:
        raise UserError("没有待确认的承诺书，请重新开始。", "Nothing to confirm.")
    text = _text(ctx, draft)
    row = await make_commitment(
        ctx.session,
        subject=subject,
        kind=CommitmentKind(draft["kind"]),
        matter=draft["matter"],
        content=text.content,
        liability=text.liability,
        letter=text.letter,
        made_on=ctx.today,
        region=ctx.services.settings.region_code,
        actor=ctx.actor,
        calendar=ctx.services.calendar,
        matter_key=draft.get("matter_key"),
        missing_materials=draft.get("missing"),
        materials_due=date.fromisoformat(draft["due"]) if draft.get("due") else None,
    )
    row.letter = _text(ctx, draft, row.code).letter  # the stored letter carries its code
    ctx.goto("menu")
    due = (
        ctx.t(
            f"\n请于 {row.materials_due} 前补齐：{row.missing_materials}。"
            "材料备齐后点「补齐材料」上传，或在「我的承诺」中上传。",
            f"\nHand in the missing materials by {row.materials_due} (「补齐材料」 or My commitments).",
        )
        if row.materials_due
        else ""
    )
    rows = [
        [
            ctx.button(
                ctx.t("📥 下载承诺书", "📥 Download the letter"), "commit.download", commitment_id=row.id
            )
        ],
        [ctx.button(ctx.t("📄 我的承诺", "📄 My commitments"), "commit.list")],
        menu_row(ctx),
    ]
    if row.materials_due:
        rows.insert(0, [_upload_button(ctx, row.id or 0)])
    ctx.say(ctx.t(f"✅ 承诺已作出，承诺编码：{row.code}{due}", f"✅ Commitment made: {row.code}{due}"), rows)


def _upload_button(ctx: Ctx, commitment_id: int, n: int | None = None):  # type: ignore[no-untyped-def]
    label = ctx.t("📤 补齐材料", "📤 Hand in materials") + (f" {n}" if n is not None else "")
    return ctx.button(label, "follow_up.start", kind=follow_up.TOLERANCE, ref_id=commitment_id)


async def _own(ctx: Ctx, commitment_id: int) -> Commitment:
    subject = require_subject(ctx)
    row = await ctx.session.get(Commitment, commitment_id)
    if row is None or row.subject_id != subject.id:
        raise UserError("找不到该承诺。", "No such commitment.")
    return row


@registry.action("commit.download")
async def download(ctx: Ctx, payload: dict) -> None:
    row = await _own(ctx, int(payload["commitment_id"]))
    ctx.say(
        ctx.t(f"承诺书 {row.code}", f"Letter {row.code}"),
        document=Document(f"信用承诺书-{row.code}.txt", as_document(row.letter), "text/plain"),
    )


@registry.action("commit.list")
async def list_commitments(ctx: Ctx, _: dict) -> None:
    subject = require_subject(ctx)
    rows = await subject_commitments(ctx.session, subject.id or 0)
    if not rows:
        ctx.say(ctx.t("您还没有作出信用承诺。", "No commitments yet."), [menu_row(ctx)], edit=True)
        return
    owed = await follow_up.open_tolerance_commitments(ctx.session, subject.id or 0)
    lines = [ctx.t("📄 我的信用承诺", "📄 My commitments")]
    buttons, uploads = [], []
    for i, c in enumerate(rows, 1):
        t = COMMITMENT_TYPES[CommitmentKind(c.kind)]
        lines.append(
            f"{i}. {c.code} · {t.name} · {c.matter}\n   {c.made_on} 作出，履行状态：{FULFILMENT_LABELS[c.fulfilment]}"
            + await _materials_line(ctx, c)
        )
        buttons.append(ctx.button(f"📥 {i}", "commit.download", commitment_id=c.id))
        if c.id in owed:
            uploads.append(_upload_button(ctx, c.id or 0, i))
    ctx.say(
        "\n".join(lines),
        [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
        + [uploads[i : i + 3] for i in range(0, len(uploads), 3)]
        + [menu_row(ctx)],
        edit=True,
    )


async def _materials_line(ctx: Ctx, c: Commitment) -> str:
    """Where a 容缺 commitment's missing materials stand: owed by a day, waiting for staff, sent back,
    or received."""
    if c.materials_due is None:
        return ""
    if c.materials_received_on is not None:
        return f"\n   容缺材料已于 {c.materials_received_on} 收齐"
    last = await follow_up.latest_report(ctx.session, follow_up.TOLERANCE, c.id or 0)
    if last is not None and last.status == ApplicationStatus.SUBMITTED:
        return f"\n   容缺材料已报送（{last.ref_no}），待工作人员确认"
    line = f"，补齐期限 {c.materials_due}"
    if last is not None and last.status == ApplicationStatus.REJECTED:
        line += f"\n   上次报送（{last.ref_no}）被退回：{last.reason}"
    return line
