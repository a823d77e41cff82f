"""Driver: 我的诚信考核 — the current cycle, points, grade, violations, past grades."""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import require_subject
from workflows import rules
from workflows.assessment import driver_assessment, violations_under_objection
from workflows.validation import mask_id_number, mask_name


@registry.action("driver.assessment")
async def show_assessment(ctx: Ctx, _: dict) -> None:
    subject = require_subject(ctx, "driver")
    report = await driver_assessment(ctx.session, subject, ctx.today)
    g = report.grade
    lines = [
        ctx.t("🚗 我的诚信考核", "🚗 My integrity assessment"),
        ctx.t(
            f"驾驶员：{mask_name(subject.name)}（从业资格证 {mask_id_number(subject.cert_no or '')}）",
            f"Driver: {mask_name(subject.name)} (certificate {mask_id_number(subject.cert_no or '')})",
        ),
        ctx.t(
            f"本考核周期：{report.cycle.start} 至 {report.cycle.end}",
            f"Current cycle: {report.cycle.start} to {report.cycle.end}",
        ),
        ctx.t(
            f"已扣分：{report.points} / {report.ceiling}（剩余 {report.points_left} 分）",
            f"Points deducted: {report.points} / {report.ceiling} ({report.points_left} left)",
        ),
        ctx.t(
            f"按目前扣分，本周期考核等级为：{g.grade}（{g.label}）",
            f"At these points the cycle's grade is: {g.grade}",
        ),
    ]
    if not report.bands_verified:
        lines.append(
            ctx.t(
                f"※ 等级分档为暂定参数，{rules.UNVERIFIED_NOTE}。",
                "※ Grade bands are provisional; the assessing authority's answer prevails.",
            )
        )
    lines.append("")
    if report.deductions:
        disputed = await violations_under_objection(
            ctx.session, [d.violation_id for d in report.deductions if d.violation_id is not None]
        )
        lines.append(ctx.t("本周期违章记录：", "Violations this cycle:"))
        for i, d in enumerate(report.deductions, 1):
            by = f"（{d.authority}）" if d.authority else ""
            by_en = f" ({d.authority})" if d.authority else ""
            line = ctx.t(
                f"{i}. {d.occurred_on} {d.item}，扣 {d.points} 分{by}",
                f"{i}. {d.occurred_on} {d.item}: {d.points} points{by_en}",
            )
            if d.violation_id in disputed:
                line += ctx.t(" · ⚖️ 异议处理中", " · ⚖️ under objection")
            lines.append(line)
        if disputed:
            lines.append(
                ctx.t(
                    "※ 异议处理期间扣分照常计入；异议成立的，按核查结果更正或撤销该项扣分。",
                    "※ Points under objection count until the objection is decided.",
                )
            )
    else:
        lines.append(ctx.t("本周期暂无违章扣分。", "No deductions this cycle."))
    if report.past:
        lines += ["", ctx.t("往期等级：", "Past cycles:")]
        for c in report.past:
            lines.append(
                ctx.t(
                    f"{c.start} 至 {c.end}：{c.grade}（扣 {c.points} 分）",
                    f"{c.start} to {c.end}: {c.grade} ({c.points} points)",
                )
            )
    rows = [
        [
            ctx.button(
                ctx.t(f"⚖️ 对第{i}条提出异议", f"⚖️ Object to {i}"),
                "objection.start",
                violation_id=d.violation_id,
            )
            for i, d in enumerate(report.deductions, 1)
        ][j : j + 2]
        for j in range(0, len(report.deductions), 2)
    ]
    rows.append([ctx.button(ctx.t("⬅️ 主菜单", "⬅️ Menu"), "menu.show")])
    ctx.say("\n".join(lines), rows, edit=True)
