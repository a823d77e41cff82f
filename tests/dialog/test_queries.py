"""The first two flows: a driver's assessment and an enterprise's credit records, as a user reads them."""

from __future__ import annotations

from datetime import date

from bot.app import App
from models import CreditRecord, DriverViolation, RecordKind, Severity, Subject, SubjectKind
from tests.support.chat import ChatUser


async def _bound(app: App, code: str, chat: str) -> ChatUser:
    user = ChatUser(app.engine, chat)
    await user.send(f"/start {code}")
    return user


async def test_driver_reads_assessment_with_points_grade_violations_and_past(demo: App) -> None:
    user = await _bound(demo, "DRVA2468", "z")
    await user.press("我的诚信考核")
    text = user.text
    assert "已扣分：8 / 20（剩余 12 分）" in text
    assert "AA（合格）" in text
    assert "超速行驶" in text and "扣 3 分" in text and "扣 5 分" in text
    assert "往期等级" in text and "AAA（扣 0 分）" in text
    assert "暂定参数" in text  # grade bands are unverified placeholders [R]
    assert user.last.replies[0].edit  # navigation edits the menu message in place


async def test_driver_with_20_points_is_grade_b(demo: App) -> None:
    user = await _bound(demo, "DRVB2468", "l")
    await user.press("我的诚信考核")
    assert "已扣分：20 / 20（剩余 0 分）" in user.text and "B（不合格）" in user.text


async def test_driver_assessment_counts_only_the_current_cycle(app: App) -> None:
    async with app.sessions() as s, s.begin():
        d = Subject(
            kind=SubjectKind.DRIVER, name="赵六", cert_no="A1234567", cert_first_issued=date(2020, 2, 29)
        )
        s.add(d)
        await s.flush()
        s.add_all(
            [
                DriverViolation(subject_id=d.id, occurred_on=date(2026, 2, 27), item="旧周期", points=10),
                DriverViolation(
                    subject_id=d.id, occurred_on=date(2026, 2, 28), item="本周期第一天", points=3
                ),
                DriverViolation(
                    subject_id=d.id, occurred_on=date(2026, 6, 1), item="已撤销", points=5, withdrawn=True
                ),
            ]
        )
        from workflows.binding import issue_code

        code = await issue_code(s, issued_by="test", clock=app.engine.services.clock, subject_id=d.id)
    user = await _bound(app, code.code, "zl")
    await user.press("我的诚信考核")
    # Anchored on 2020-02-29: the 2026 anniversary is 2026-02-28 (民法典 第二百零二条, month end).
    assert "本考核周期：2026-02-28 至 2027-02-27" in user.text
    assert "已扣分：3 / 20" in user.text and "旧周期" not in user.text and "已撤销" not in user.text


async def test_enterprise_reads_records_with_repair_dates(demo: App) -> None:
    user = await _bound(demo, "ENTA2468", "a")
    await user.press("我的信用记录")
    text = user.text
    assert "共 4 条" in text
    # demo: 一般 penalty decided 190 days ago, fulfilled → repairable now under 令36号
    assert "行政处罚 · 一般 · 公示中" in text and "✅ 可申请修复" in text
    # 严重 penalty decided 2025-12-29 (330 days before 2026-11-24) under 令58号: min 1 year
    assert "令58号" in text and "⏳ 2026-12-30 起可申请修复" in text
    assert "原则上不公示" in text  # 轻微 under 令36号
    assert "信用评价 · " in text and "评价等级：AA" in text and "不属于失信信息" in text
    await user.press("详情 1")
    assert "违法事实" in user.text


async def test_enterprise_sees_only_its_own_records(demo: App) -> None:
    other = await _bound(demo, "ENTB2468", "b")
    await other.press("我的信用记录")
    assert "安达" not in other.text and "共 3 条" in other.text
    assert "⛔ 不可申请修复：最长公示期已于" in other.text  # the 420-day-old 一般 record passed its 1 year
    assert "须先履行行政处罚决定的义务" in other.text  # unpaid fine


async def test_records_are_paged(app: App) -> None:
    async with app.sessions() as s, s.begin():
        e = Subject(kind=SubjectKind.ENTERPRISE, name="多记录公司", uscc="91350100M000100Y43")
        s.add(e)
        await s.flush()
        for i in range(7):
            s.add(
                CreditRecord(
                    subject_id=e.id,
                    kind=RecordKind.PENALTY,
                    severity=Severity.GENERAL,
                    decision_no=f"第{i}号",
                    decision_date=date(2026, 5, 1 + i),
                    authority="局",
                )
            )
        from workflows.binding import issue_code

        code = await issue_code(s, issued_by="test", clock=app.engine.services.clock, subject_id=e.id)
    user = await _bound(app, code.code, "m")
    await user.press("我的信用记录")
    assert "第 1/2 页" in user.text and "第6号" in user.text and "第1号" not in user.text
    await user.press("下一页")
    assert "第 2/2 页" in user.text and "第1号" in user.text and "第0号" in user.text


async def test_english_is_available(demo: App) -> None:
    user = await _bound(demo, "DRVA2468", "en")
    await user.send("/lang en")
    await user.press("integrity assessment")
    assert "Points deducted: 8 / 20" in user.text
