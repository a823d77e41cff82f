"""约谈 and 信用核查 on the demo data, through the real database (SQLite, and PostgreSQL when set):
the notice with its confirm button, confirmation by the subject only, the outcome and its rectification
deadline, non-attendance counted, notice periods (holiday week, year end), a stale second recording
refused, and the logged look-up with its supervision tier."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import col, func, select

from bot.app import App
from models import (
    AuditEntry,
    ChatBinding,
    Deadline,
    Interview,
    InterviewStatus,
    OutboxMessage,
    Staff,
    Subject,
)
from notifications.render import default_renderer
from workflows import interviews, lookup
from workflows.clock import SHANGHAI, FrozenClock
from workflows.errors import ForgedAttempt, UserError

LUNAN = "91370403168734521M"  # 山东鲁南客运集团有限公司, chat "enterprise-b"
ANDA = "91370402MA3C4K7D2E"  # 枣庄市安达货物运输有限公司, chat "enterprise"
THURSDAY_0930 = datetime(2026, 11, 26, 9, 30, tzinfo=SHANGHAI)
AFTER_IT = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 11:00 Beijing, the same Thursday


async def _subject(app: App, uscc: str) -> Subject:
    async with app.sessions() as s:
        return (await s.exec(select(Subject).where(Subject.uscc == uscc))).one()


async def _staff(app: App, name: str = "陈科员") -> Staff:
    async with app.sessions() as s:
        return (await s.exec(select(Staff).where(Staff.name == name))).one()


async def _schedule(app: App, clock: FrozenClock, uscc: str = LUNAN, **kw: Any) -> Interview:
    subject, staff = await _subject(app, uscc), await _staff(app)
    args: dict[str, Any] = {
        "reason": "一年内多次受到行政处罚，存在信用风险",
        "scheduled_at": THURSDAY_0930,
        "place": "市交通运输局 305 会议室",
        "online": False,
        "attendees": ["陈科员", "刘主任"],
    } | kw
    async with app.sessions() as s, s.begin():
        return await interviews.schedule(
            s,
            subject_id=subject.id,
            staff=staff,
            now=clock.now(),
            calendar=app.engine.services.calendar,
            **args,
        )


async def _record(
    app: App, interview: Interview, *, version: int | None = None, recorder: str = "陈科员", **kw: Any
) -> Interview:
    """Staff record the outcome; by default as held, on the interview's day after it took place."""
    staff = await _staff(
        app, recorder
    )  # read before the transaction: SQLite allows one open writer at a time
    args: dict[str, Any] = {
        "attended": True,
        "issues": "",
        "rectification_items": [],
        "rectification_due": None,
        "commitment_signed": False,
        "today": date(2026, 11, 26),
        "now": AFTER_IT,
    } | kw
    async with app.sessions() as s, s.begin():
        return await interviews.record_outcome(
            s,
            interview.id,
            staff=staff,
            expected_version=interview.version if version is None else version,
            calendar=app.engine.services.calendar,
            **args,
        )


async def _outbox(app: App, template: str) -> list[OutboxMessage]:
    async with app.sessions() as s:
        stmt = select(OutboxMessage).where(OutboxMessage.template == template).order_by(col(OutboxMessage.id))
        return list((await s.exec(stmt)).all())


async def _interview(app: App, interview_id: int) -> Interview:
    async with app.sessions() as s:
        row = await s.get(Interview, interview_id)
        assert row is not None
        return row


# -- schedule ----------------------------------------------------------------------------------------


async def test_schedule_serves_the_notice_with_a_confirm_button_to_each_bound_chat(
    demo: App, clock: FrozenClock
) -> None:
    lunan = await _subject(demo, LUNAN)
    async with demo.sessions() as s, s.begin():  # a second chat of the same enterprise (Telegram)
        s.add(ChatBinding(channel="telegram", chat_id="9001", user_id="9001", subject_id=lunan.id))
    interview = await _schedule(demo, clock)
    assert interview.status == InterviewStatus.SCHEDULED
    assert interview.scheduled_at == THURSDAY_0930.astimezone(UTC)

    notices = await _outbox(demo, "interview_notice")
    assert sorted((n.channel, n.chat_id) for n in notices) == [
        ("console", "enterprise-b"),
        ("telegram", "9001"),
    ]
    for n in notices:
        assert n.legally_required and n.kind == "interview" and n.subject_id == lunan.id
        [[button]] = n.buttons
        assert button["label"] == "✅ 确认参加" and button["action"] == "interview.confirm"
        assert button["payload"] == {"interview_id": interview.id}
    text = default_renderer().render("interview_notice", "zh", notices[0].context)
    assert "【约谈通知书】" in text and "山东鲁南客运集团有限公司" in text
    assert "2026-11-26（星期四）09:30（北京时间）" in text and "市交通运输局 305 会议室" in text
    assert "陈科员、刘主任" in text and "营业执照副本" in text and "记录在案" in text

    [staff_notice] = await _outbox(demo, "interview_scheduled_staff")
    assert staff_notice.chat_id == "staff" and staff_notice.context["served_chats"] == 2
    assert "已推送至该主体的 2 个已绑定聊天" in default_renderer().render(
        "interview_scheduled_staff", "zh", staff_notice.context
    )
    async with demo.sessions() as s:
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "interview.schedule"))).one()
    staff = await _staff(demo)
    assert audit.actor == f"staff:{staff.id}" and audit.subject_id == lunan.id


async def test_an_online_interview_for_a_driver_needs_no_place(demo: App, clock: FrozenClock) -> None:
    async with demo.sessions() as s:
        driver = (await s.exec(select(Subject).where(Subject.name == "李娜"))).one()
    staff = await _staff(demo)
    async with demo.sessions() as s, s.begin():
        await interviews.schedule(
            s,
            subject_id=driver.id,
            staff=staff,
            reason="疲劳驾驶扣满 20 分",
            scheduled_at=THURSDAY_0930,
            place="",
            online=True,
            attendees=[],
            now=clock.now(),
            calendar=demo.engine.services.calendar,
        )
    [notice] = await _outbox(demo, "interview_notice")
    text = default_renderer().render("interview_notice", "zh", notice.context)
    assert "地点：线上" in text and "道路运输从业资格证" in text and "约谈人员：陈科员" in text


async def test_a_subject_without_a_chat_is_flagged_for_paper_service(demo: App, clock: FrozenClock) -> None:
    async with demo.sessions() as s, s.begin():
        s.add(Subject(kind="enterprise", name="台儿庄区新星物流有限公司", uscc="91370405MA3N0K1X7B"))
    await _schedule(demo, clock, uscc="91370405MA3N0K1X7B")
    assert await _outbox(demo, "interview_notice") == []
    [staff_notice] = await _outbox(demo, "interview_scheduled_staff")
    text = default_renderer().render("interview_scheduled_staff", "zh", staff_notice.context)
    assert "请另行书面送达" in text


@pytest.mark.parametrize(
    ("now", "at", "message"),
    [
        (None, datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI), "已过"),
        (None, datetime(2026, 11, 24, 15, 0, tzinfo=SHANGHAI), "最早可安排在 2026-11-25（星期三）"),
        (None, datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI), "不是工作日"),
        # Holiday week: served on the eve of 国庆, the first working day after it is the earliest.
        (datetime(2026, 9, 30, 2, 0, tzinfo=UTC), datetime(2026, 10, 5, 9, 0, tzinfo=SHANGHAI), "2026-10-08"),
        # Year end: 2027-01-01 is 元旦, the weekend follows.
        (datetime(2026, 12, 31, 2, 0, tzinfo=UTC), datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI), "2027-01-04"),
    ],
    ids=["past", "same-day", "saturday", "holiday-week", "year-end"],
)
async def test_too_early_or_past_times_are_refused(
    demo: App, clock: FrozenClock, now: datetime | None, at: datetime, message: str
) -> None:
    if now is not None:
        clock.current = now
    with pytest.raises(UserError, match=message):
        await _schedule(demo, clock, scheduled_at=at)
    async with demo.sessions() as s:
        assert (await s.exec(select(func.count()).select_from(Interview))).one() == 0
        assert (await s.exec(select(func.count()).select_from(OutboxMessage))).one() == 0


async def test_the_first_working_day_after_notice_is_accepted(demo: App, clock: FrozenClock) -> None:
    interview = await _schedule(demo, clock, scheduled_at=datetime(2026, 11, 25, 8, 30, tzinfo=SHANGHAI))
    assert interview.id is not None


async def test_a_second_open_interview_for_the_same_subject_is_refused(demo: App, clock: FrozenClock) -> None:
    await _schedule(demo, clock)
    with pytest.raises(UserError, match="已有待进行的约谈"):
        await _schedule(demo, clock, scheduled_at=datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI))


# -- confirm -----------------------------------------------------------------------------------------


async def test_the_subject_confirms_and_another_subject_is_refused(demo: App, clock: FrozenClock) -> None:
    interview = await _schedule(demo, clock)
    anda, lunan = await _subject(demo, ANDA), await _subject(demo, LUNAN)
    with pytest.raises(ForgedAttempt, match="不属于您"):
        async with demo.sessions() as s, s.begin():
            await interviews.confirm(s, interview.id, subject_id=anda.id, now=clock.now())
    assert (await _interview(demo, interview.id)).status == InterviewStatus.SCHEDULED

    for _press in range(2):  # a second press of the same button changes nothing
        async with demo.sessions() as s, s.begin():
            await interviews.confirm(s, interview.id, subject_id=lunan.id, now=clock.now())
    row = await _interview(demo, interview.id)
    assert row.status == InterviewStatus.CONFIRMED and row.confirmed_at == clock.now() and row.version == 1
    [notice] = await _outbox(demo, "interview_confirmed")
    assert notice.chat_id == "staff"
    text = default_renderer().render("interview_confirmed", "zh", notice.context)
    assert "山东鲁南客运集团有限公司 已确认参加 2026-11-26（星期四）09:30" in text


async def test_a_cancelled_interview_cannot_be_confirmed(demo: App, clock: FrozenClock) -> None:
    interview = await _schedule(demo, clock)
    staff, lunan = await _staff(demo), await _subject(demo, LUNAN)
    async with demo.sessions() as s, s.begin():
        await interviews.cancel(
            s, interview.id, staff=staff, reason="企业申请改期", expected_version=0, now=clock.now()
        )
    with pytest.raises(UserError, match="已取消"):
        async with demo.sessions() as s, s.begin():
            await interviews.confirm(s, interview.id, subject_id=lunan.id, now=clock.now())
    [cancelled] = [n for n in await _outbox(demo, "interview_notice") if n.context["cancelled"]]
    assert cancelled.legally_required and cancelled.buttons == []
    text = default_renderer().render("interview_notice", "zh", cancelled.context)
    assert "【约谈取消通知】" in text and "企业申请改期" in text


# -- outcome -----------------------------------------------------------------------------------------


async def test_an_outcome_with_rectification_items_opens_a_deadline(demo: App, clock: FrozenClock) -> None:
    interview = await _schedule(demo, clock)
    with pytest.raises(UserError, match="未到"):  # not before the interview took place
        await _record(demo, interview, today=date(2026, 11, 24), now=clock.now())
    held = await _record(
        demo,
        interview,
        issues="未按规定公布服务价格",
        rectification_items=["在售票窗口公布服务价格", " ", "报送整改情况"],
        commitment_signed=True,
    )
    assert held.status == InterviewStatus.HELD and held.version == 1
    assert held.outcome["rectification_items"] == ["在售票窗口公布服务价格", "报送整改情况"]
    async with demo.sessions() as s:
        deadline = (await s.exec(select(Deadline).where(Deadline.ref_kind == "interview"))).one()
    staff = await _staff(demo)
    # 15 working days after Thursday 2026-11-26 (rules.RECTIFICATION_DEFAULT_WORKDAYS).
    assert (deadline.kind, deadline.ref_id, deadline.due_on) == (
        "rectification",
        interview.id,
        date(2026, 12, 17),
    )
    assert deadline.responsible_staff_id == staff.id and deadline.subject_id == interview.subject_id
    [notice] = await _outbox(demo, "interview_outcome")
    assert notice.chat_id == "enterprise-b" and notice.legally_required
    text = default_renderer().render("interview_outcome", "zh", notice.context)
    assert "已举行" in text and "未按规定公布服务价格" in text
    assert "请在 2026-12-17 前完成以下整改" in text and "2. 报送整改情况" in text and "签署信用承诺书" in text

    async with demo.sessions() as s, s.begin():
        await interviews.rectification_done(s, interview.id, staff=staff, now=AFTER_IT)
    async with demo.sessions() as s:
        assert (await s.exec(select(Deadline))).one().status == "done"


async def test_a_chosen_rectification_deadline_is_kept(demo: App, clock: FrozenClock) -> None:
    interview = await _schedule(demo, clock)
    await _record(
        demo, interview, rectification_items=["更换破损灭火器"], rectification_due=date(2026, 12, 4)
    )
    async with demo.sessions() as s:
        assert (await s.exec(select(Deadline))).one().due_on == date(2026, 12, 4)


async def test_a_no_show_is_recorded_and_counted(demo: App, clock: FrozenClock) -> None:
    lunan = await _subject(demo, LUNAN)
    first = await _schedule(demo, clock)
    with pytest.raises(UserError, match="不能在约谈中签署"):
        await _record(demo, first, attended=False, commitment_signed=True)
    missed = await _record(demo, first, attended=False)
    assert missed.status == InterviewStatus.NO_SHOW and missed.outcome["attended"] is False
    assert await _outbox(demo, "interview_no_show") == []  # the scheduler recorded it: no need to tell
    [notice] = await _outbox(demo, "interview_outcome")
    assert "未参加 2026-11-26（星期四）09:30" in default_renderer().render(
        "interview_outcome", "zh", notice.context
    )

    clock.current = AFTER_IT  # a second interview, held this time, is not a no-show
    second = await _schedule(demo, clock, scheduled_at=datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))
    await _record(demo, second, today=date(2026, 11, 30), now=datetime(2026, 11, 30, 3, 0, tzinfo=UTC))
    anda = await _subject(demo, ANDA)
    async with demo.sessions() as s:
        assert await interviews.no_shows(s, lunan.id, since=date(2026, 1, 1)) == 1
        assert await interviews.no_shows(s, lunan.id, since=date(2026, 11, 26)) == 1  # Beijing date counts
        assert await interviews.no_shows(s, lunan.id, since=date(2026, 11, 27)) == 0
        assert await interviews.no_shows(s, anda.id, since=date(2026, 1, 1)) == 0


async def test_a_second_recording_with_a_stale_version_is_refused(demo: App, clock: FrozenClock) -> None:
    interview = await _schedule(demo, clock)
    seen = interview.version  # both staff opened the same screen
    await _record(demo, interview, version=seen, issues="第一位工作人员的记录")
    with pytest.raises(UserError, match="已被处理，当前状态：已约谈"):
        await _record(demo, interview, version=seen, attended=False)
    row = await _interview(demo, interview.id)
    assert row.status == InterviewStatus.HELD and row.outcome["issues"] == "第一位工作人员的记录"


async def test_two_concurrent_recordings_one_wins(demo: App, clock: FrozenClock) -> None:
    """Row lock on PostgreSQL, BEGIN IMMEDIATE on SQLite: the second waits, then sees the new version."""
    interview = await _schedule(demo, clock)
    results = await asyncio.gather(
        _record(demo, interview, issues="A"), _record(demo, interview, attended=False), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, UserError)]
    assert len(refused) == 1 and "已被处理" in refused[0].zh
    assert len(await _outbox(demo, "interview_outcome")) == 1


# -- queries and look-up -----------------------------------------------------------------------------


async def test_open_interviews_are_listed_for_their_staff(demo: App, clock: FrozenClock) -> None:
    interview = await _schedule(demo, clock)
    staff, chief, anda = await _staff(demo), await _staff(demo, "刘主任"), await _subject(demo, ANDA)
    async with demo.sessions() as s:
        assert [i.id for i in await interviews.upcoming_for_staff(s, staff.id)] == [interview.id]
        assert await interviews.upcoming_for_staff(s, chief.id) == []
        assert await interviews.interview_of_subject(s, anda.id, interview.id) is None


async def test_find_subjects_by_code_or_name(demo: App) -> None:
    async with demo.sessions() as s:
        [anda] = await lookup.find_subjects(s, " 91370402ma3c4k7d2e ")  # pasted with spaces, lower case
        [driver] = await lookup.find_subjects(s, "370403199002284525")
        by_name = await lookup.find_subjects(s, "有限公司")
        assert await lookup.find_subjects(s, "100%") == []  # LIKE wildcards are literal
        assert await lookup.find_subjects(s, "   ") == []
    assert anda.uscc == ANDA and driver.name == "李娜" and len(by_name) == 3


@pytest.mark.parametrize(
    ("name", "credit_class", "sample_rate"),
    [
        ("枣庄市安达货物运输有限公司", "失信", 0.50),  # a serious penalty still published
        ("山东鲁南客运集团有限公司", "警示", 0.10),  # a general penalty 60 days ago
        ("薛城区顺通危险货物运输有限公司", "严重失信", 0.80),  # on the 严重失信 list
        ("李娜", "警示", 0.10),  # 20 points this cycle: grade B
        ("王强", "守信", 0.01),
    ],
)
async def test_the_look_up_is_logged_and_returns_the_tier(
    demo: App, clock: FrozenClock, name: str, credit_class: str, sample_rate: float
) -> None:
    staff = await _staff(demo)
    async with demo.sessions() as s, s.begin():
        [subject] = await lookup.find_subjects(s, name)
        summary = await lookup.credit_summary(
            s, subject.id, today=date(2026, 11, 24), staff=staff, purpose="选企"
        )
    assert summary.credit_class == credit_class and summary.tier.sample_rate == sample_rate
    async with demo.sessions() as s:
        [entry] = (await s.exec(select(AuditEntry).where(AuditEntry.action == "lookup.subject"))).all()
    assert entry.actor == f"staff:{staff.id}" and entry.subject_id == subject.id
    assert entry.after == {"purpose": "选企", "credit_class": credit_class}


async def test_the_summary_shows_counts_grade_and_open_interviews(demo: App, clock: FrozenClock) -> None:
    interview = await _schedule(demo, clock)
    lunan, staff = await _subject(demo, LUNAN), await _staff(demo)
    async with demo.sessions() as s, s.begin():
        summary = await lookup.credit_summary(s, lunan.id, today=date(2026, 11, 24), staff=staff)
    assert summary.published_by_kind == {"penalty": 2, "evaluation": 1}
    assert summary.published_by_severity == {"general": 2}
    assert summary.latest_grade == "AAA" and summary.recent_no_shows == 0
    assert [i.id for i in summary.upcoming_interviews] == [interview.id]
    assert summary.open_repairs == () and summary.open_warnings == ()


async def test_the_scheduler_hears_of_a_no_show_someone_else_recorded(demo: App, clock: FrozenClock) -> None:
    interview = await _schedule(demo, clock)  # scheduled by 陈科员
    await _record(demo, interview, attended=False, recorder="刘主任")
    [notice] = await _outbox(demo, "interview_no_show")
    assert notice.staff_id == (await _staff(demo)).id
    text = default_renderer().render("interview_no_show", "zh", notice.context)
    assert "未参加 2026-11-26 09:30 的约谈" in text and "刘主任" in text
