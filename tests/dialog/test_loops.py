"""Loops that end (issue 9), through the engine on the demo data (SQLite, and PostgreSQL when set):
an interview's 整改 reported in chat and accepted or sent back from 待办; the missing materials of a 容缺
commitment handed in from 「我的承诺」 and confirmed; a penalty's 双公示 listed in 待办 and marked 已公示
there. Every screen and notice the test chats get is scanned for internal names (tests/support/chat.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import col, select

from bot.app import App
from models import (
    AuditEntry,
    ButtonToken,
    Commitment,
    ConversationState,
    CreditRecord,
    Deadline,
    DeadlineStatus,
    FollowUpReport,
    Fulfilment,
    Interview,
    OutboxMessage,
    Staff,
    Subject,
)
from notifications.render import default_renderer
from notifications.sweeps import sweep_deadlines
from tests.support.chat import JPEG, PDF, ChatUser, Inbox, upload
from workflows import follow_up, interviews
from workflows.clock import SHANGHAI, FrozenClock
from workflows.commitments import decide_fulfilment
from workflows.materials import Upload
from workflows.staff import queue

LUNAN = "91370403168734521M"  # 山东鲁南客运集团有限公司 (信用科), not barred from 容缺


def at(day: date, hour: int = 9) -> datetime:
    """A Beijing hour on `day`, as the injected clock holds it (UTC)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)


async def _bound(app: App, chat: str, code: str) -> ChatUser:
    user = ChatUser(app.engine, chat)
    await user.send(f"/start {code}")
    return user


def _number(text: str, ref: str) -> str:
    """An item's number in 待办 ("3. ZG… · name")."""
    line = next(x for x in text.split("\n") if ref in x)
    return line.split(".")[0].strip()


async def _open_item(staff: ChatUser, ref: str) -> None:
    await staff.send("/menu")
    await staff.press("待办")
    assert ref in staff.text, staff.text
    await staff.press(f"处理 {_number(staff.text, ref)}")


async def _one(app: App, model: Any, *where: Any) -> Any:
    async with app.sessions() as s:
        return (await s.exec(select(model).where(*where))).one()


async def _outbox(app: App, template: str, chat: str | None = None) -> list[OutboxMessage]:
    async with app.sessions() as s:
        stmt = select(OutboxMessage).where(OutboxMessage.template == template)
        if chat is not None:
            stmt = stmt.where(OutboxMessage.chat_id == chat)
        return list((await s.exec(stmt.order_by(col(OutboxMessage.id)))).all())


async def _held_interview(app: App, clock: FrozenClock) -> Interview:
    """A 约谈 with 鲁南 on Thursday 2026-11-26 09:30, held, two rectification items due 2026-12-17."""
    async with app.sessions() as s:
        subject = (await s.exec(select(Subject).where(Subject.uscc == LUNAN))).one()
        clerk = (await s.exec(select(Staff).where(Staff.name == "陈科员"))).one()
    calendar = app.engine.services.calendar
    async with app.sessions() as s, s.begin():
        iv = await interviews.schedule(
            s,
            subject_id=subject.id,
            staff=clerk,
            reason="一年内多次受到行政处罚",
            scheduled_at=datetime(2026, 11, 26, 9, 30, tzinfo=SHANGHAI),
            place="市交通运输局 305 会议室",
            online=False,
            attendees=["陈科员"],
            now=clock.now(),
            calendar=calendar,
        )
    clock.current = at(date(2026, 11, 26), 12)
    async with app.sessions() as s, s.begin():
        return await interviews.record_outcome(
            s,
            iv.id,
            staff=clerk,
            attended=True,
            issues="车辆维护记录不全",
            rectification_items=["补齐车辆维护档案", "开展安全教育培训"],
            rectification_due=None,
            commitment_signed=False,
            expected_version=iv.version,
            today=date(2026, 11, 26),
            calendar=calendar,
            now=clock.now(),
        )


# -- 1. 约谈整改: reported in chat, sent back, reported again, accepted ------------------------------


async def test_rectification_reported_sent_back_then_accepted(demo: App, clock: FrozenClock) -> None:
    inbox = Inbox()
    deliver = demo.dispatcher({"test": inbox})
    ent = await _bound(demo, "lunan", "ENTB2468")
    staff = await _bound(demo, "clerk", "STAF2468")
    iv = await _held_interview(demo, clock)
    await deliver.drain()

    # The outcome notice carries the way to report.
    outcome = next(m for m in inbox.to("lunan") if "约谈结果告知" in m.text)
    assert "请在 2026-12-17 前完成以下整改" in outcome.text
    await ent.press_data(inbox.button("lunan", "报送整改情况"))
    assert "2026-11-26 09:30 的约谈" in ent.text and "2. 开展安全教育培训" in ent.text
    assert "整改期限：2026-12-17" in ent.text
    await ent.press("提交报送")
    assert "请先用文字简要说明整改情况" in ent.text
    await ent.send("已补齐 2026 年全部车辆维护档案")
    await ent.send_file(upload("维护档案.pdf", PDF))
    assert "已收到第 1 份材料" in ent.text
    await ent.press("提交报送")
    assert "已报送，编号 ZG202611260001" in ent.text and "2026-12-03 前确认" in ent.text
    deadline = await _one(demo, Deadline, Deadline.kind == "rectification")
    assert deadline.status == DeadlineStatus.DONE  # handed in: no reminders while staff check it

    # The staff member who set the deadline is told; the report is in 待办 with its files.
    await deliver.drain()
    assert any("已报送整改情况报告" in m.text and "ZG202611260001" in m.text for m in inbox.to("clerk"))
    await _open_item(staff, "ZG202611260001")
    assert "约谈整改情况：2026-11-26 09:30 的约谈" in staff.text and "约定整改期限：2026-12-17" in staff.text
    assert (
        "指出的问题：车辆维护记录不全" in staff.text
        and "1. 补齐车辆维护档案" in staff.text
        and "报送说明：已补齐" in staff.text
    )
    assert "维护档案.pdf" in " ".join(b.label for b in staff.buttons)
    await staff.press("维护档案.pdf")
    assert staff.last.replies[0].document is not None

    # Sent back after the agreed day: the enterprise gets a few more working days, not an overdue at once.
    clock.current = at(date(2026, 12, 18), 10)
    await _open_item(staff, "ZG202611260001")
    assert "已超期 2026-12-03" in staff.text
    await staff.press("要求继续整改")
    assert "需要继续整改的内容" in staff.text
    await staff.send("培训记录缺少签到表")
    assert "已要求继续整改。企业将收到通知。" in staff.text
    deadline = await _one(demo, Deadline, Deadline.kind == "rectification")
    assert deadline.status == DeadlineStatus.OPEN and deadline.due_on == date(2026, 12, 25)
    await deliver.drain()
    back = [m for m in inbox.to("lunan") if "未通过" in m.text]
    assert len(back) == 1 and "培训记录缺少签到表" in back[0].text and "2026-12-25" in back[0].text

    await ent.press_data(inbox.button("lunan", "报送整改情况"))
    assert "整改期限：2026-12-25" in ent.text
    await ent.send("已补签到表")
    await ent.send_file(upload("签到表.jpg", JPEG))
    await ent.press("提交报送")
    assert "ZG202612180001" in ent.text
    await _open_item(staff, "ZG202612180001")
    await staff.press("验收通过")
    assert "已验收通过。企业将收到通知。" in staff.text

    deadline = await _one(demo, Deadline, Deadline.kind == "rectification")
    assert deadline.status == DeadlineStatus.DONE
    async with demo.sessions() as s:
        reports = (await s.exec(select(FollowUpReport).order_by(col(FollowUpReport.id)))).all()
        actions = [a.action for a in (await s.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()]
    assert [r.status for r in reports] == ["rejected", "approved"]
    assert reports[0].reason == "培训记录缺少签到表"
    for action in ("follow_up.submit", "follow_up.reject", "follow_up.approve", "interview.rectified"):
        assert action in actions
    await deliver.drain()
    assert any("已验收通过" in m.text and "整改事项已办结" in m.text for m in inbox.to("lunan"))
    items = await _queue(demo, "陈科员")
    assert not any(i.kind == "rectification" for i in items)
    assert (await _one(demo, Interview, Interview.id == iv.id)).outcome["rectification_due"] == "2026-12-17"


async def _queue(app: App, name: str) -> list:  # type: ignore[type-arg]
    async with app.sessions() as s:
        staff = (await s.exec(select(Staff).where(Staff.name == name))).one()
        return await queue(
            s,
            staff,
            today=app.engine.services.clock.now().astimezone(SHANGHAI).date(),
            calendar=app.engine.services.calendar,
        )


async def test_rectification_reminders_stop_while_a_report_waits_and_resume_when_sent_back(
    demo: App, clock: FrozenClock
) -> None:
    """The sweep reminds the enterprise of its rectification deadline; a report handed in pauses it."""
    calendar = demo.engine.services.calendar
    iv = await _held_interview(demo, clock)
    await sweep_deadlines(demo.sessions, now=at(date(2026, 12, 15)), calendar=calendar)
    [before] = await _outbox(demo, "deadline_subject", "enterprise-b")
    assert before.context["kind"] == "约谈整改事项" and before.context["occasion"] == "before"

    subject = await _one(demo, Subject, Subject.uscc == LUNAN)
    clerk = await _one(demo, Staff, Staff.name == "陈科员")
    now = at(date(2026, 12, 16))
    async with demo.sessions() as s, s.begin():
        report = await follow_up.start(
            s, "rectification", iv.id, subject_id=subject.id, actor="test", today=date(2026, 12, 16)
        )
        follow_up.describe(report, "已整改")
        await follow_up.add_file(s, report, Upload("整改.pdf", PDF))
        await follow_up.submit(s, report, actor="test", now=now, today=date(2026, 12, 16), calendar=calendar)
    for day in (date(2026, 12, 17), date(2026, 12, 18)):  # due day and overdue: nothing while it waits
        await sweep_deadlines(demo.sessions, now=at(day), calendar=calendar)
    assert len(await _outbox(demo, "deadline_subject", "enterprise-b")) == 1

    async with demo.sessions() as s, s.begin():
        await follow_up.decide(
            s,
            report.id,
            False,
            staff=clerk,
            expected_version=report.version,
            reason="材料不全",
            now=at(date(2026, 12, 18)),
            today=date(2026, 12, 18),
            calendar=calendar,
        )
    await sweep_deadlines(demo.sessions, now=at(date(2026, 12, 23)), calendar=calendar)  # 2 days before 12-25
    reminders = await _outbox(demo, "deadline_subject", "enterprise-b")
    assert len(reminders) == 2 and reminders[-1].context["due_on"] == "2026-12-25"


# -- 2. 容缺: the missing materials handed in from 「我的承诺」 -----------------------------------------


async def _tolerance_commitment(ent: ChatUser) -> None:
    await ent.send("/menu")
    await ent.press("信用承诺")
    await ent.press("容缺受理型")
    await ent.press("继续")
    await ent.press("从业资格证换发")
    await ent.send("体检证明")
    await ent.send("2026-12-01")
    await ent.press("确认承诺")
    assert "请于 2026-12-01 前补齐：体检证明" in ent.text


async def test_tolerance_materials_handed_in_sent_back_then_confirmed(demo: App) -> None:
    ent = await _bound(demo, "lunan", "ENTB2468")
    staff = await _bound(demo, "clerk", "STAF2468")
    await _tolerance_commitment(ent)
    await ent.press("补齐材料")
    assert "欠缺的材料：体检证明" in ent.text and "补齐期限：2026-12-01" in ent.text
    await ent.press("提交报送")
    assert "请至少上传一份材料" in ent.text
    await ent.send_file(upload("体检证明.pdf", PDF))
    await ent.press("提交报送")
    assert "已报送，编号 BQ202611240001" in ent.text

    # The report stands in 待办 for the commitment (its 履行核查 item waits behind it).
    await staff.send("/menu")
    await staff.press("待办")
    assert "容缺补齐材料：承诺" in staff.text and "容缺承诺履行核查" not in staff.text
    await _open_item(staff, "BQ202611240001")
    assert "欠缺材料：体检证明" in staff.text
    await staff.press("要求补交")
    await staff.send("体检证明须加盖医院公章")
    assert "已要求补交" in staff.text
    commitment = await _one(demo, Commitment, Commitment.kind == "tolerance")
    deadline = await _one(demo, Deadline, Deadline.kind == "tolerance_materials")
    assert deadline.status == DeadlineStatus.OPEN and deadline.due_on == date(2026, 12, 1)  # not extended
    [back] = await _outbox(demo, "follow_up_decided", "lunan")
    assert back.context["approved"] is False and back.context["reason"] == "体检证明须加盖医院公章"
    assert back.legally_required and back.buttons[0][0]["action"] == "follow_up.start"

    await ent.send("/menu")
    await ent.press("信用承诺")
    await ent.press("我的承诺")
    assert "上次报送（BQ202611240001）被退回：体检证明须加盖医院公章" in ent.text
    await ent.press("补齐材料 1")
    await ent.send_file(upload("盖章体检证明.pdf", PDF))
    await ent.send("已加盖医院公章")
    await ent.press("提交报送")
    assert "BQ202611240002" in ent.text
    await _open_item(staff, "BQ202611240002")
    await staff.press("确认收齐")
    assert "已确认收齐" in staff.text

    commitment = await _one(demo, Commitment, Commitment.id == commitment.id)
    assert commitment.materials_received_on == date(2026, 11, 24)
    assert commitment.fulfilment == Fulfilment.FULL  # its one promise kept in time
    deadline = await _one(demo, Deadline, Deadline.kind == "tolerance_materials")
    assert deadline.status == DeadlineStatus.DONE
    done = (await _outbox(demo, "follow_up_decided", "lunan"))[-1]
    assert done.context["approved"] is True and done.context["fulfilled"] is True
    audit = await _one(demo, AuditEntry, AuditEntry.action == "commitment.materials_received")
    assert audit.after["fulfilment"] == "full" and audit.actor.startswith("staff:")
    assert not any(i.kind in ("commitment", "tolerance_materials") for i in await _queue(demo, "陈科员"))
    await ent.send("/menu")
    await ent.press("信用承诺")
    await ent.press("我的承诺")
    assert "容缺材料已于 2026-11-24 收齐" in ent.text and "全部履行" in ent.text
    assert not any("补齐材料" in b.label for b in ent.buttons)


async def test_late_materials_are_received_but_the_fulfilment_is_left_to_staff(
    demo: App, clock: FrozenClock
) -> None:
    ent = await _bound(demo, "lunan", "ENTB2468")
    staff = await _bound(demo, "clerk", "STAF2468")
    await _tolerance_commitment(ent)
    clock.current = at(date(2026, 12, 2))  # a day after the limit: still owed, overdue
    await ent.send("/menu")
    await ent.press("信用承诺")
    await ent.press("我的承诺")
    await ent.press("补齐材料 1")
    await ent.send_file(upload("体检证明.pdf", PDF))
    await ent.press("提交报送")
    await _open_item(staff, "BQ202612020001")
    await staff.press("确认收齐")
    commitment = await _one(demo, Commitment, Commitment.kind == "tolerance")
    assert commitment.materials_received_on == date(2026, 12, 2)
    assert commitment.fulfilment == Fulfilment.PENDING
    await staff.send("/menu")
    await staff.press("待办")
    assert "容缺承诺履行核查：体检证明（材料已于 2026-12-02 收到）" in staff.text
    [told] = await _outbox(demo, "follow_up_decided", "lunan")
    assert told.context["approved"] is True and told.context["fulfilled"] is False


async def test_deciding_a_tolerance_commitment_ends_its_materials_reminders(demo: App) -> None:
    """Regression: 全部未履行 left the 容缺 deadline open, so the enterprise was still reminded."""
    ent = await _bound(demo, "lunan", "ENTB2468")
    await _tolerance_commitment(ent)
    commitment = await _one(demo, Commitment, Commitment.kind == "tolerance")
    clerk = await _one(demo, Staff, Staff.name == "陈科员")
    async with demo.sessions() as s, s.begin():
        await decide_fulfilment(
            s,
            commitment.id,
            Fulfilment.NONE,
            staff=clerk,
            today=date(2026, 12, 2),
            expected_version=commitment.version,
            unfulfilled="逾期未补齐体检证明",
            now=at(date(2026, 12, 2)),
        )
    deadline = await _one(demo, Deadline, Deadline.kind == "tolerance_materials")
    assert deadline.status == DeadlineStatus.DONE
    await ent.press_data(
        await _token(demo, "lunan", "follow_up.start", kind="tolerance_materials", ref_id=commitment.id)
    )
    assert "该事项已办结" in ent.text


# -- 3. 双公示 in 待办 ------------------------------------------------------------------------------------


async def test_publication_deadline_is_listed_in_the_queue_and_marked_there(demo: App) -> None:
    staff = await _bound(demo, "clerk", "STAF2468")
    await staff.press("信用核查")
    await staff.send(LUNAN)
    await staff.press("录入处罚")
    await staff.send("枣交罚〔2026〕1600号")
    await staff.send("2026-11-20")
    await staff.press("罚款")
    await staff.send("0.2")
    await staff.send("未按规定公布服务价格")
    await staff.press("确认录入")
    await staff.send("/menu")
    await staff.press("待办")
    assert "枣交罚〔2026〕1600号 · 山东鲁南客运集团有限公司" in staff.text
    assert "双公示：行政处罚信息须于 2026-12-01 前公示（决定日期 2026-11-20）" in staff.text
    assert "🟢 2026-12-01（剩 5 个工作日）" in staff.text
    await staff.press(f"处理 {_number(staff.text, '1600号')}")
    assert [b.label for b in staff.buttons if "公示" in b.label] == ["已公示"]
    await staff.press("已公示")
    assert "已标记为「已公示」" in staff.text and "双公示提醒已停止" in staff.text
    record = await _one(demo, CreditRecord, CreditRecord.decision_no == "枣交罚〔2026〕1600号")
    deadline = await _one(demo, Deadline, Deadline.kind == "publication", Deadline.ref_id == record.id)
    assert record.published_at is not None and deadline.status == DeadlineStatus.DONE
    assert (await _one(demo, AuditEntry, AuditEntry.action == "record.published")).entity_id == str(record.id)
    await staff.send("/menu")
    await staff.press("待办")
    assert "1600号" not in staff.text


async def test_the_publication_reminder_points_to_an_item_the_queue_lists(demo: App) -> None:
    staff = await _bound(demo, "clerk", "STAF2468")
    await staff.press("信用核查")
    await staff.send(LUNAN)
    await staff.press("录入处罚")
    await staff.send("枣交罚〔2026〕1601号")
    await staff.send("2026-11-20")
    await staff.press("警告")
    await staff.send("0")
    await staff.send("未按规定公布服务价格")
    await staff.press("确认录入")
    calendar = demo.engine.services.calendar
    await sweep_deadlines(demo.sessions, now=at(date(2026, 12, 1)), calendar=calendar)  # the due day
    [reminder] = await _outbox(demo, "deadline_staff", "clerk")
    assert "请在「待办」中处理" in default_renderer().render("deadline_staff", "zh", reminder.context)
    clock = demo.engine.services.clock
    clock.current = at(date(2026, 12, 1))  # type: ignore[attr-defined]
    [item] = [i for i in await _queue(demo, "陈科员") if i.kind == "publication"]
    assert item.ref == "枣交罚〔2026〕1601号" and item.due_on == date(2026, 12, 1) and item.urgency == "soon"


# -- refusals ----------------------------------------------------------------------------------------


async def _token(app: App, chat: str, action: str, **payload: Any) -> str:
    """A button this chat never got, pointing at someone else's item (a forged or replayed press)."""
    async with app.sessions() as s, s.begin():
        state = (await s.exec(select(ConversationState).where(ConversationState.chat_id == chat))).one()
        token = ButtonToken(channel="test", chat_id=chat, action=action, payload=payload, screen=state.screen)
        s.add(token)
    return token.token


async def test_another_enterprise_cannot_report_on_an_interview_not_its_own(
    demo: App, clock: FrozenClock
) -> None:
    iv = await _held_interview(demo, clock)
    other = await _bound(demo, "anda", "ENTA2468")
    await other.press_data(await _token(demo, "anda", "follow_up.start", kind="rectification", ref_id=iv.id))
    assert "找不到该事项，或它不属于您" in other.text
    forged = await _one(demo, AuditEntry, AuditEntry.action == "follow_up.forged")
    assert forged.entity == "interview" and forged.entity_id == str(iv.id)
    async with demo.sessions() as s:
        assert (await s.exec(select(FollowUpReport))).all() == []
