"""我的申请: every repair application and objection of the bound subject, with its status."""

from __future__ import annotations

from bot.context import Ctx
from bot.dialogs import registry
from bot.dialogs.common import menu_row, ref_of, require_subject
from workflows.applications import status_label
from workflows.objections import subject_objections
from workflows.repair import subject_applications


@registry.action("apps.list")
async def list_applications(ctx: Ctx, _: dict) -> None:
    subject = require_subject(ctx)
    repairs = await subject_applications(ctx.session, subject.id or 0)
    objs = await subject_objections(ctx.session, subject.id or 0)
    if not repairs and not objs:
        ctx.say(ctx._("📂 您还没有修复申请或异议。"), [menu_row(ctx)], edit=True)
        return
    lines = [ctx._("📂 我的申请")]
    rows = []
    for a in repairs:
        name = ref_of(ctx, a.ref_no)
        lines.append(ctx._("🛠 信用修复 {name}：{status}", name=name, status=status_label(a.status, ctx.lang)))
        rows.append([ctx.button(f"🛠 {name}", "repair.status", app_id=a.id)])
    for o in objs:
        name = ref_of(ctx, o.ref_no)
        lines.append(ctx._("⚖️ 异议 {name}：{status}", name=name, status=status_label(o.status, ctx.lang)))
        rows.append([ctx.button(f"⚖️ {name}", "objection.status", obj_id=o.id)])
    ctx.say("\n".join(lines), rows[:12] + [menu_row(ctx)], edit=True)
