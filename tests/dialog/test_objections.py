"""异议申诉 through the engine: an enterprise's objection upheld (record corrected, change shown) and
one dismissed; a driver's objection to one deduction; the record flagged while under objection."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from bot.app import App
from models import ApplicationStatus, CreditRecord, DriverViolation, Objection, OutboxMessage, Staff
from tests.support.chat import PDF, ChatUser, upload
from workflows import objections

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


async def _object_to_first_record(app: App, chat: str = "b") -> ChatUser:
    user = ChatUser(app.engine, chat)
    await user.send("/start ENTB2468")
    await user.press("我的信用记录")
    await user.press("详情 1")
    await user.press("提出异议")
    assert "第 1 步" in user.text
    await user.send("我觉得不对")
    assert "请点按钮选择异议理由" in user.text
    await user.press("信息错误")
    await user.send("短")
    assert "至少 5 个字" in user.text
    await user.send("罚款金额应为 0.1 万元，决定书已变更，见附件。")
    await user.send_file(upload("变更决定书.pdf", PDF))
    await user.press("完成")
    assert "异议申诉信用承诺书" in user.text and "山东鲁南客运集团有限公司" in user.text
    await user.press("确认承诺书")
    assert "1 个文件" in user.text
    await user.press("提交异议")
    return user


async def _decide(app: App, action: str, **kw: object) -> Objection:
    async with app.sessions() as s, s.begin():
        obj = (await s.exec(select(Objection))).one()
        staff = (await s.exec(select(Staff).where(Staff.role == "handler"))).one()
        return await objections.decide(
            s,
            obj.id,
            action,
            staff=staff,
            expected_version=obj.version,
            today=date(2026, 11, 26),
            now=NOW,
            **kw,
        )


async def test_objection_upheld_corrects_the_record_and_shows_the_change(demo: App) -> None:
    user = await _object_to_first_record(demo)
    assert "YY202611240001" in user.text and "2026-12-14" in user.text  # 2 + 2 + 10 working days
    await user.send("/menu")
    await user.press("我的信用记录")
    assert "⚖️ 异议处理中" in user.text  # shown to the enterprise; the record stays published
    await _decide(demo, "approve", changes={"fine_wan": 0.1})
    async with demo.sessions() as s:
        record = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no.contains("1033号")))).one()
        notice = (
            await s.exec(
                select(OutboxMessage).where(
                    OutboxMessage.template == "objection_approve", OutboxMessage.chat_id == "b"
                )
            )
        ).one()
    assert record.fine_wan == 0.1
    assert [(c["label"], c["before"], c["after"]) for c in notice.context["changes"]] == [
        ("罚款（万元）", "0.2", "0.1")
    ]
    await user.send("/menu")
    await user.press("我的申请")
    await user.press("YY202611240001")
    assert "已通过" in user.text and "结果：更正" in user.text


async def test_objection_dismissed_keeps_the_record_with_the_reason(demo: App) -> None:
    await _object_to_first_record(demo)
    obj = await _decide(demo, "reject", reason="经核实，原决定书金额无误")
    assert obj.status == ApplicationStatus.REJECTED and obj.outcome == "维持"
    async with demo.sessions() as s:
        notice = (
            await s.exec(
                select(OutboxMessage).where(
                    OutboxMessage.template == "objection_reject", OutboxMessage.chat_id == "b"
                )
            )
        ).one()
        record = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no.contains("1033号")))).one()
    assert notice.context["reason"] == "经核实，原决定书金额无误" and record.fine_wan == 0.2


async def test_a_second_objection_on_the_same_record_is_refused(demo: App) -> None:
    user = await _object_to_first_record(demo)
    await user.send("/menu")
    await user.press("我的信用记录")
    await user.press("详情 1")
    await user.press("提出异议")
    assert "已有处理中的异议（YY202611240001" in user.text


async def test_driver_objects_to_one_deduction(demo: App) -> None:
    user = ChatUser(demo.engine, "d")
    await user.send("/start DRVA2468")
    await user.press("我的诚信考核")
    await user.press("对第2条提出异议")  # 超速 3 points
    await user.press("非本主体")
    await user.send("当天车辆由其他驾驶员驾驶，有排班表为证。")
    await user.press("完成")
    assert "从业资格证号：370***********3417" in user.text  # the letter masks the ID-based number
    await user.press("确认承诺书")
    await user.press("提交异议")
    await _decide(demo, "approve")
    async with demo.sessions() as s:
        v = (await s.exec(select(DriverViolation).where(DriverViolation.item.contains("超速")))).first()
    assert v is not None and v.withdrawn
    await user.send("/menu")
    await user.press("我的诚信考核")
    assert "已扣分：5 / 20" in user.text
