"""Staff tools in chat: 信用核查 (logged, with the supervision tier), 信用记录录入 (三书同达 and the
双公示 deadline follow), marking a record published, and an interview scheduled, confirmed by the
enterprise from the notice, held, and followed up with a rectification deadline."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from bot.app import App
from models import AuditEntry, CreditRecord, Deadline, DeadlineStatus, Interview, InterviewStatus
from tests.support.chat import ChatUser, Inbox


async def _staff(app: App) -> ChatUser:
    staff = ChatUser(app.engine, "clerk")
    await staff.send("/start STAF2468")
    return staff


async def test_lookup_shows_tier_and_is_logged(demo: App) -> None:
    staff = await _staff(demo)
    await staff.press("信用核查")
    await staff.send("顺通")
    text = staff.text
    assert "薛城区顺通危险货物运输有限公司" in text and "严重失信主体名单 1" in text
    assert "信用分类：严重失信" in text and "抽查比例 80%" in text and "以认定单位答复为准" in text
    await staff.send("/menu")
    await staff.press("信用核查")
    await staff.send("公司")  # several matches: pick one
    assert "请选择" in staff.text
    async with demo.sessions() as s:
        logged = (await s.exec(select(AuditEntry).where(AuditEntry.action == "lookup.subject"))).all()
    assert len(logged) == 1 and logged[0].actor.startswith("staff:")


async def test_penalty_entry_serves_notices_and_opens_the_publication_deadline(demo: App) -> None:
    staff = await _staff(demo)
    await staff.press("信用核查")
    await staff.send("91370402MA3C4K7D2E")
    await staff.press("录入处罚")
    await staff.send("枣交罚〔2026〕1300号")
    await staff.send("2026-13-40")
    assert "日期不存在" in staff.text  # refused with the reason, the step stays
    await staff.send("2026/11/20")  # as people write it
    await staff.send("罚款")
    assert "请点按钮选择处罚类别" in staff.text
    await staff.press("罚款")
    await staff.send("0.5")
    await staff.send("超限运输")
    assert "失信程度（按配置表）：一般" in staff.text
    await staff.press("确认录入")
    assert "三书已发往" in staff.text and "2026-12-01 前完成双公示" in staff.text
    async with demo.sessions() as s:
        record = (
            await s.exec(select(CreditRecord).where(CreditRecord.decision_no == "枣交罚〔2026〕1300号"))
        ).one()
        deadline = (
            await s.exec(select(Deadline).where(Deadline.ref_id == record.id, Deadline.kind == "publication"))
        ).one()
    # served once delivered (the dispatcher sets it), not when queued
    assert record.notices_served_at is None and deadline.due_on == date(2026, 12, 1)
    await staff.send("/menu")
    await staff.press("信用核查")
    await staff.send("91370402MA3C4K7D2E")
    await staff.press("枣交罚〔2026〕1300号 已公示")
    async with demo.sessions() as s:
        assert (await s.get(Deadline, deadline.id)).status == DeadlineStatus.DONE
        assert (await s.get(CreditRecord, record.id)).published_at is not None


async def test_interview_scheduled_confirmed_held_and_followed_up(demo: App) -> None:
    inbox = Inbox()
    deliver = demo.dispatcher({"test": inbox})
    enterprise = ChatUser(demo.engine, "anda")
    await enterprise.send("/start ENTA2468")
    staff = await _staff(demo)
    await staff.press("信用核查")
    await staff.send("安达")
    await staff.press("安排约谈")
    await staff.send("一年内多次违反道路运输管理规定")
    await staff.send("2026-11-24 09:00")
    assert "已过" in staff.text
    await staff.send("2026-11-24 16:00")  # later today: the notice must be served a working day ahead
    assert "最早可安排在 2026-11-25" in staff.text
    await staff.send("2026-11-28 10:00")
    assert "不是工作日" in staff.text
    await staff.send("2026-11-26 15:00")
    await staff.press("线上约谈")
    await staff.press("仅本人")
    await staff.press("发出约谈通知书")
    assert "已发出约谈通知书" in staff.text
    await deliver.drain()
    notice = next(m for m in inbox.to("anda") if "约谈" in m.text)
    assert "约谈" in notice.text and "2026-11-26" in notice.text
    await enterprise.press_data(inbox.button("anda", "确认参加"))
    assert "已确认参加 2026-11-26 15:00 的约谈" in enterprise.text
    await deliver.drain()
    assert any("确认" in m.text for m in inbox.to("clerk"))
    demo.engine.services.clock.advance(days=2, hours=6)  # after the slot: 2026-11-26 16:00 Beijing
    await staff.send("/menu")
    await staff.press("约谈")
    await staff.press("记录结果 1")
    await staff.press("已到场")
    await staff.send("车辆维护记录不全")
    await staff.send("补齐车辆维护档案\n开展安全教育培训")
    await staff.press("是")
    assert "整改期限：2026-12-17" in staff.text
    async with demo.sessions() as s:
        iv = (await s.exec(select(Interview))).one()
        follow_up = (await s.exec(select(Deadline).where(Deadline.kind == "rectification"))).one()
    assert iv.status == InterviewStatus.HELD and follow_up.due_on == date(2026, 12, 17)


async def test_staff_record_that_the_three_notices_were_served_in_writing(demo: App) -> None:
    staff = await _staff(demo)
    await staff.press("信用核查")
    await staff.send("91370402MA3C4K7D2E")
    assert "的三书尚未送达" in staff.text
    await staff.press("已书面送达")
    assert "三书已书面送达" in staff.text
    async with demo.sessions() as s:
        [entry] = (
            await s.exec(select(AuditEntry).where(AuditEntry.action == "record.served_in_writing"))
        ).all()
        record = await s.get(CreditRecord, int(entry.entity_id or 0))
    assert record is not None and record.notices_served_at is not None
