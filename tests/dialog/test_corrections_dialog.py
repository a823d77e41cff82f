"""更正 in chat: each typed value goes through the validator penalty entry uses, the fields offered follow
the record's kind, derived dates are recomputed and shown as before → after, a handler's correction reaches
the reviewer as that diff, and the applicant is told the change in words (never about the deliberation)."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from bot.app import App
from models import (
    AuditEntry,
    CreditRecord,
    DriverViolation,
    Objection,
    OutboxMessage,
    RecordKind,
    Severity,
    StaffRole,
    Subject,
)
from notifications.render import Renderer
from tests.dialog.test_staff_review import _submitted_objection
from tests.support.chat import ChatUser, staff_chat
from workflows import objections
from workflows.calendar import default_calendar
from workflows.clock import utc_now

LEAKS = (
    "fine_wan",
    "severity",
    "decision_date",
    "publicity_end",
    "general",
    "serious",
    "None",
    "提议",
    "经办",
)


# 山东鲁南 objects to 枣交罚〔2026〕1033号 (2026-09-25, 罚款 0.2 万元, 一般, 公示截止 2027-09-25).
_object_to_the_fine = _submitted_objection


async def _record(app: App, no: str = "1033号") -> CreditRecord:
    async with app.sessions() as s:
        return (await s.exec(select(CreditRecord).where(col(CreditRecord.decision_no).contains(no)))).one()


async def _notices(app: App, chat: str) -> list[OutboxMessage]:
    async with app.sessions() as s:
        return list(
            (
                await s.exec(
                    select(OutboxMessage).where(OutboxMessage.chat_id == chat).order_by(OutboxMessage.id)
                )
            ).all()
        )


def _rendered(message: OutboxMessage) -> str:
    return Renderer().render(message.template, "zh", message.context)


async def test_reviewer_correction_refuses_a_negative_fine_and_recomputes_the_dates(demo: App) -> None:
    await _object_to_the_fine(demo)
    reviewer = await staff_chat(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("待办")
    await reviewer.press("处理 1")
    assert "罚款（万元）：0.2" in reviewer.text and "失信程度：一般" in reviewer.text
    assert "None" not in reviewer.text
    await reviewer.press("更正")
    labels = [b.label for b in reviewer.buttons]
    assert {"决定书文号", "决定日期", "处罚机关", "罚款（万元）", "违法事实", "失信程度", "程序"} <= set(
        labels
    )
    await reviewer.press("罚款（万元）")
    assert "现为：0.2" in reviewer.text
    await reviewer.send("-5")
    assert "不能为负数" in reviewer.text
    await reviewer.send("0.1")
    assert "罚款（万元）：0.2 → 0.1" in reviewer.text
    await reviewer.press("失信程度")
    await reviewer.press("严重")
    text = reviewer.text
    assert "失信程度：一般 → 严重" in text and "公示截止期：2027-09-25 → 2029-09-25" in text
    assert "可申请修复日期：2026-12-26 → 2027-09-26" in text
    await reviewer.press("完成更正")
    assert "已更正" in reviewer.text
    record = await _record(demo)
    assert record.fine_wan == 0.1 and record.severity == Severity.SERIOUS
    assert record.publicity_end == date(2029, 9, 25)
    async with demo.sessions() as s:
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "record.corrected"))).one()
    assert audit.before["publicity_end"] == "2027-09-25" and audit.after["publicity_end"] == "2029-09-25"
    assert audit.after["repair_from"] == "2027-09-26" and audit.after["fine_wan"] == "0.1"
    notice = next(m for m in await _notices(demo, "entb") if m.template == "objection_approve")
    shown = _rendered(notice)
    assert "罚款（万元）：0.2 → 0.1" in shown and "失信程度：一般 → 严重" in shown
    assert "公示截止期：2027-09-25 → 2029-09-25" in shown
    assert not [leak for leak in LEAKS if leak in shown]


async def test_handler_correction_reaches_the_reviewer_as_a_diff(demo: App) -> None:
    await _object_to_the_fine(demo)
    handler = await staff_chat(demo, "经办员", StaffRole.HANDLER, "h")
    await handler.press("待办")
    await handler.press("处理 1")
    await handler.press("更正")
    await handler.press("决定日期")
    await handler.send("2026年9月15日")
    assert "决定日期：2026-09-25 → 2026-09-15" in handler.text
    await handler.press("罚款（万元）")
    await handler.send("0.1")
    await handler.press("完成更正")
    assert "已提议「更正」" in handler.text
    assert (await _record(demo)).decision_date == date(2026, 9, 25)  # nothing written before review

    reviewer = await staff_chat(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("待办")
    await reviewer.press("处理 1")
    text = reviewer.text
    assert "经办员 提议「更正」" in text and "提议的更正（原 → 新）" in text
    assert "· 决定日期：2026-09-25 → 2026-09-15" in text and "· 罚款（万元）：0.2 → 0.1" in text
    assert "· 公示截止期：2027-09-25 → 2027-09-15" in text
    await reviewer.press("同意提议")
    record = await _record(demo)
    assert record.decision_date == date(2026, 9, 15) and record.publicity_end == date(2027, 9, 15)
    assert record.fine_wan == 0.1
    notice = next(m for m in await _notices(demo, "entb") if m.template == "objection_approve")
    shown = _rendered(notice)
    assert "决定日期：2026-09-25 → 2026-09-15" in shown
    assert not [leak for leak in LEAKS if leak in shown]


async def test_a_rejected_proposal_tells_the_applicant_nothing(demo: App) -> None:
    await _object_to_the_fine(demo)
    before = len(await _notices(demo, "entb"))
    handler = await staff_chat(demo, "经办员", StaffRole.HANDLER, "h")
    await handler.press("待办")
    await handler.press("处理 1")
    await handler.press("更正")
    await handler.press("撤销该记录")
    assert "已提议「更正」" in handler.text
    reviewer = await staff_chat(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("待办")
    await reviewer.press("处理 1")
    assert "· 状态：公示中 → 已撤销" in reviewer.text
    await reviewer.press("驳回提议")
    assert "已驳回该提议" in reviewer.text
    assert len(await _notices(demo, "entb")) == before
    assert (await _record(demo)).status == "published"


async def test_driver_deduction_offers_its_points_or_withdrawal(demo: App) -> None:
    driver = ChatUser(demo.engine, "d")
    await driver.send("/start DRVA2468")
    await driver.press("我的诚信考核")
    await driver.press("对第2条提出异议")  # 超速 3 points
    await driver.press("信息错误")
    await driver.send("该次超速应扣 1 分，处罚决定已变更。")
    await driver.press("完成")
    await driver.press("确认承诺书")
    await driver.press("提交异议")
    reviewer = await staff_chat(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("待办")
    await reviewer.press("处理 1")
    await reviewer.press("更正")
    labels = {b.label for b in reviewer.buttons}
    assert "扣分" in labels and "🗑 撤销该扣分" in labels and "罚款（万元）" not in labels
    await reviewer.press("扣分")
    assert {"20", "10", "5", "3", "1"} <= {b.label for b in reviewer.buttons}
    await reviewer.send("4")
    assert "应为 20、10、5、3、1 之一" in reviewer.text
    await reviewer.send("1")
    assert "扣分：3 → 1" in reviewer.text
    await reviewer.press("完成更正")
    async with demo.sessions() as s:
        v = (await s.exec(select(DriverViolation).where(col(DriverViolation.item).contains("超速")))).one()
    assert v.points == 1 and not v.withdrawn
    notice = next(m for m in await _notices(demo, "d") if m.template == "objection_approve")
    assert "扣分：3 → 1" in _rendered(notice)


async def test_evaluation_record_offers_its_grade(demo: App) -> None:
    async with demo.sessions() as s, s.begin():
        subject = (await s.exec(select(Subject).where(Subject.name == "山东鲁南客运集团有限公司"))).one()
        grade = (
            await s.exec(
                select(CreditRecord).where(
                    CreditRecord.subject_id == subject.id, CreditRecord.kind == RecordKind.EVALUATION
                )
            )
        ).one()
        obj = await objections.start(s, subject=subject, actor="test", record_id=grade.id)
        objections.set_reason(obj, "信息错误")
        objections.set_description(obj, "2025年度考核等级应为 B 以外的结果，请核实。")
        objections.finish_evidence(obj)
        objections.confirm_commitment(obj, "承诺书")
        clock = demo.engine.services.clock
        await objections.submit(
            s, obj, today=date(2026, 11, 24), now=utc_now(clock), calendar=default_calendar(), actor="test"
        )
    reviewer = await staff_chat(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("待办")
    await reviewer.press("处理 1")
    assert "记录：评价等级：AAA" in reviewer.text
    await reviewer.press("更正")
    labels = {b.label for b in reviewer.buttons}
    assert "评价等级" in labels and "罚款（万元）" not in labels and "决定日期" not in labels
    await reviewer.press("评价等级")
    await reviewer.press("B")
    assert "评价等级：AAA → B" in reviewer.text and "公示截止期" not in reviewer.text
    await reviewer.press("完成更正")
    async with demo.sessions() as s:
        assert (await s.get(CreditRecord, grade.id)).grade == "B"
        assert (await s.exec(select(Objection))).one().outcome == "更正"


async def test_penalty_entry_uses_the_same_validators(demo: App) -> None:
    staff = ChatUser(demo.engine, "clerk")
    await staff.send("/start STAF2468")
    await staff.press("信用核查")
    await staff.send("91370402MA3C4K7D2E")
    await staff.press("录入处罚")
    await staff.send("枣交罚〔2026〕1301号")
    await staff.send("2026-12-01")
    assert "不能晚于今天" in staff.text
    await staff.send("2026年11月20日")
    await staff.press("罚款")
    await staff.send("-5")
    assert "不能为负数" in staff.text
    await staff.send("0")
    assert "罚款金额应大于 0" in staff.text
    await staff.send("0.5")
    await staff.send("超限运输")
    text = staff.text
    assert "决定书文号：枣交罚〔2026〕1301号" in text and "决定日期：2026-11-20" in text
    assert "罚款（万元）：0.5" in text and "公示截止期：2027-11-20" in text
    assert "decision_no" not in text and "fine_wan" not in text and "None" not in text
    await staff.press("确认录入")
    record = await _record(demo, "1301号")
    assert record.fine_wan == 0.5 and record.decision_date == date(2026, 11, 20)
    assert record.publicity_end == date(2027, 11, 20) and record.content == "罚款 0.5 万元"
