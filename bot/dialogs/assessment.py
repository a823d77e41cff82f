"""Driver: 我的诚信考核 — the current cycle, points, grade, violations, past grades."""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import in_lang, require_subject, unverified_note
from workflows.assessment import driver_assessment, violations_under_objection
from workflows.validation import mask_id_number, mask_name


@registry.action("driver.assessment")
async def show_assessment(ctx: Ctx, _: dict) -> None:
    subject = require_subject(ctx, "driver")
    report = await driver_assessment(ctx.session, subject, ctx.today)
    g = report.grade
    lines = [
        ctx._("🚗 我的诚信考核"),
        ctx._(
            "驾驶员：{name}（从业资格证 {cert_no}）",
            name=mask_name(subject.name),
            cert_no=mask_id_number(subject.cert_no or ""),
        ),
        ctx._("本考核周期：{start} 至 {end}", start=report.cycle.start, end=report.cycle.end),
        ctx._(
            "已扣分：{points} / {ceiling}（剩余 {left} 分）",
            points=report.points,
            ceiling=report.ceiling,
            left=report.points_left,
        ),
        ctx._(
            "按目前扣分，本周期考核等级为：{grade}（{label}）",
            grade=g.grade,
            label=in_lang(ctx, g.label, g.label_en),
        ),
    ]
    if not report.bands_verified:
        lines.append(ctx._("※ 等级分档为暂定参数，{note}。", note=unverified_note(ctx)))
    lines.append("")
    if report.deductions:
        disputed = await violations_under_objection(
            ctx.session, [d.violation_id for d in report.deductions if d.violation_id is not None]
        )
        lines.append(ctx._("本周期违章记录："))
        for i, d in enumerate(report.deductions, 1):
            if d.authority:
                line = ctx._(
                    "{n}. {day} {item}，扣 {points} 分（{authority}）",
                    n=i,
                    day=d.occurred_on,
                    item=d.item,
                    points=d.points,
                    authority=d.authority,
                )
            else:
                line = ctx._(
                    "{n}. {day} {item}，扣 {points} 分", n=i, day=d.occurred_on, item=d.item, points=d.points
                )
            if d.violation_id in disputed:
                line += ctx._(" · ⚖️ 异议处理中")
            lines.append(line)
        if disputed:
            lines.append(ctx._("※ 异议处理期间扣分照常计入；异议成立的，按核查结果更正或撤销该项扣分。"))
    else:
        lines.append(ctx._("本周期暂无违章扣分。"))
    if report.past:
        lines += ["", ctx._("往期等级：")]
        for c in report.past:
            lines.append(
                ctx._(
                    "{start} 至 {end}：{grade}（扣 {points} 分）",
                    start=c.start,
                    end=c.end,
                    grade=c.grade,
                    points=c.points,
                )
            )
    rows = [
        [
            ctx.button(ctx._("⚖️ 对第{n}条提出异议", n=i), "objection.start", violation_id=d.violation_id)
            for i, d in enumerate(report.deductions, 1)
        ][j : j + 2]
        for j in range(0, len(report.deductions), 2)
    ]
    rows.append([ctx.button(ctx._("⬅️ 主菜单"), "menu.show")])
    ctx.say("\n".join(lines), rows, edit=True)
