"""The monthly 对象清单 / 成效清单 (domain-rules §18, Zaozhuang #9 / Tianjin #9), through the real database
(SQLite, and PostgreSQL when set): each category counts exactly the month's items in Beijing time (the 1st
00:00 and the last day 23:59 fall on the previous / same UTC day), withdrawn penalties never count, driver
certificate numbers are masked, the year-so-far series, the workbook and the chart (with and without a
CJK font), month parsing, and no internal values in what people read."""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from matplotlib.text import Text
from openpyxl import load_workbook
from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import App
from models import (
    ApplicationStatus,
    AssessmentCycle,
    Commitment,
    CommitmentKind,
    CreditRecord,
    Deadline,
    DeadlineStatus,
    DriverViolation,
    Fulfilment,
    Interview,
    InterviewStatus,
    Objection,
    RecordKind,
    RecordStatus,
    RepairApplication,
    RiskWarning,
    Severity,
    Subject,
    SubjectKind,
)
from workflows import monthly_report
from workflows.clock import SHANGHAI, FrozenClock
from workflows.errors import UserError
from workflows.monthly_lists import (
    CHART_SERIES,
    SUMMARY_CATEGORIES,
    DesignationRow,
    MonthlyLists,
    ResultRow,
    assemble,
    monthly_lists,
    parse_month,
    previous_month,
)
from workflows.validation import mask_id_number

AS_OF = date(2026, 11, 24)  # the clock fixture's day
AUTHORITY = "枣庄市交通运输局"
ZHANG_CERT = "370402198506123417"
LI_CERT = "370403199002284525"


def bj(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    """A Beijing time, stored as aware UTC by the models."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


FIRST_0000 = bj(10, 1)  # = 2026-09-30 16:00 UTC: in October
BEFORE_FIRST = bj(9, 30, 23, 59)  # = 2026-09-30 15:59 UTC, the same UTC day: September
LAST_2359 = bj(10, 31, 23, 59)  # = 2026-10-31 15:59 UTC: in October
AFTER_LAST = bj(11, 1)  # = 2026-10-31 16:00 UTC, the same UTC day: November


def record(subject: Subject, kind: RecordKind, day: date, no: str, **kw: Any) -> CreditRecord:
    return CreditRecord(
        subject_id=subject.id, kind=kind, decision_date=day, decision_no=no, authority=AUTHORITY, **kw
    )


async def build_world(session: AsyncSession) -> dict[str, Any]:
    """Items in October 2026, and next to them the same kinds just outside it."""
    anda = Subject(
        kind=SubjectKind.ENTERPRISE,
        name="枣庄市安达货物运输有限公司",
        uscc="91370402MA3C4K7D2E",
        department="信用科",
    )
    lunan = Subject(kind=SubjectKind.ENTERPRISE, name="山东鲁南客运集团有限公司", uscc="91370403168734521M")
    shuntong = Subject(
        kind=SubjectKind.ENTERPRISE,
        name="薛城区顺通危险货物运输有限公司",
        uscc="91370403MA3M9RUX5H",
        department="执法支队",
    )
    zhang = Subject(kind=SubjectKind.DRIVER, name="张伟", cert_no=ZHANG_CERT, id_number=ZHANG_CERT)
    li = Subject(kind=SubjectKind.DRIVER, name="李娜", cert_no=LI_CERT, id_number=LI_CERT)
    session.add_all([anda, lunan, shuntong, zhang, li])
    await session.flush()

    E, P = RecordKind.EVALUATION, RecordKind.PENALTY
    serious = {"severity": Severity.SERIOUS}
    general_penalty = record(lunan, P, date(2026, 10, 12), "枣交罚〔2026〕5号")  # not serious: no designation
    penalty_1 = record(
        lunan, P, date(2026, 10, 15), "枣交罚〔2026〕1号", penalty_type="吊销许可证件", **serious
    )
    penalty_2 = record(lunan, P, date(2026, 9, 30), "枣交罚〔2026〕2号", **serious)
    session.add_all(
        [
            record(anda, E, date(2026, 10, 1), "2025年度质量信誉考核", grade="AAA"),
            record(anda, E, date(2026, 9, 30), "2024年度质量信誉考核", grade="AAA"),  # September
            record(anda, E, date(2026, 10, 5), "2025年度专项考核", grade="AA"),  # neither list
            record(lunan, E, date(2026, 10, 31), "2025年度质量信誉考核", grade="B"),
            penalty_1,
            penalty_2,
            record(lunan, P, date(2026, 11, 1), "枣交罚〔2026〕3号", **serious),  # November
            record(
                lunan, P, date(2026, 10, 10), "枣交罚〔2026〕4号", status=RecordStatus.WITHDRAWN, **serious
            ),
            general_penalty,
            record(
                shuntong,
                RecordKind.DISHONESTY_LIST,
                date(2026, 10, 20),
                "鲁交信〔2026〕17号",
                **serious,
            ),
            record(shuntong, RecordKind.COMMITMENT_BREACH, date(2026, 10, 5), "违诺认定 370402202609010002"),
            AssessmentCycle(
                subject_id=zhang.id,
                start=date(2025, 10, 1),
                end=date(2026, 9, 30),
                points=0,
                grade="AAA",
                endorsed_on=date(2026, 10, 31),
            ),
            AssessmentCycle(
                subject_id=zhang.id,
                start=date(2024, 10, 1),
                end=date(2025, 9, 30),
                points=0,
                grade="AAA",
                endorsed_on=date(2026, 11, 1),  # November
            ),
            AssessmentCycle(
                subject_id=li.id,
                start=date(2025, 9, 1),
                end=date(2026, 8, 31),
                points=20,
                grade="B",
                endorsed_on=date(2026, 10, 1),
            ),
            AssessmentCycle(
                subject_id=li.id,
                start=date(2024, 9, 1),
                end=date(2025, 8, 31),
                points=3,
                grade="AA",
                endorsed_on=date(2026, 10, 10),  # neither list
            ),
            RiskWarning(
                subject_id=shuntong.id,
                rule_id="xiamen_departments",
                period_key="2026",
                details={"rule": "一年内被 3 个及以上部门处罚"},
                raised_at=FIRST_0000,
            ),
            # No name stored with it: the name comes from the rules file.
            RiskWarning(
                subject_id=anda.id, rule_id="interview_no_show", period_key="2026-Q4", raised_at=LAST_2359
            ),
            RiskWarning(subject_id=lunan.id, rule_id="grade_b", period_key="2026", raised_at=BEFORE_FIRST),
        ]
    )
    await session.flush()

    def repair(no: str, status: ApplicationStatus, decided_at: datetime | None) -> RepairApplication:
        return RepairApplication(
            ref_no=no,
            subject_id=lunan.id,
            record_id=general_penalty.id,
            regime="令36号",
            status=status,
            decided_at=decided_at,
        )

    A = ApplicationStatus
    repairs = [
        repair("XF202610010001", A.APPROVED, FIRST_0000),
        repair("XF202610310001", A.APPROVED, LAST_2359),
        repair("XF202609300001", A.APPROVED, BEFORE_FIRST),  # September
        repair("XF202611010001", A.APPROVED, AFTER_LAST),  # November
        repair("XF202610150001", A.REJECTED, bj(10, 15, 10)),  # refused
        repair("XF202610160001", A.SUBMITTED, None),
    ]
    violation = DriverViolation(
        subject_id=zhang.id, occurred_on=date(2026, 9, 3), item="超速行驶（超过限速不足20%）", points=3
    )
    session.add_all([*repairs, violation])
    await session.flush()

    def objection(no: str, outcome: str, decided_at: datetime, **kw: Any) -> Objection:
        status = A.APPROVED if outcome == "更正" else A.REJECTED
        return Objection(ref_no=no, outcome=outcome, decided_at=decided_at, status=status, **kw)

    objections = [
        objection(
            "YY202610100001",
            "更正",
            bj(10, 10, 9),
            subject_id=lunan.id,
            record_id=general_penalty.id,
            reason="信息错误",
            outcome_reason="罚款金额录入有误，已更正",
        ),
        objection("YY202610110001", "维持", bj(10, 11, 9), subject_id=lunan.id, record_id=penalty_1.id),
        objection("YY202611010001", "更正", AFTER_LAST, subject_id=lunan.id, record_id=penalty_1.id),
        objection(
            "YY202610200001",
            "更正",
            bj(10, 20, 9),
            subject_id=zhang.id,
            violation_id=violation.id,
            reason="非本主体",
        ),
    ]

    def interview(when: datetime, status: InterviewStatus, **kw: Any) -> Interview:
        return Interview(
            subject_id=lunan.id, reason="一年内多次受到行政处罚", scheduled_at=when, status=status, **kw
        )

    IS = InterviewStatus
    held_last = interview(
        LAST_2359,
        IS.HELD,
        outcome={
            "rectification_items": ["完善车辆维护制度", "开展安全培训"],
            "rectification_due": "2026-11-20",
        },
    )
    interviews = [
        held_last,
        interview(FIRST_0000, IS.HELD),
        interview(BEFORE_FIRST, IS.HELD),  # September
        interview(bj(10, 15, 9, 30), IS.NO_SHOW),
    ]

    def commitment(serial: int, fulfilment: Fulfilment, decided: date | None) -> Commitment:
        return Commitment(
            code=f"370402202609{serial:08d}",
            subject_id=anda.id,
            kind=CommitmentKind.TOLERANCE,
            matter="道路货物运输经营许可",
            made_on=date(2026, 9, 1),
            fulfilment=fulfilment,
            fulfilment_decided_on=decided,
        )

    F = Fulfilment
    commitments = [
        commitment(1, F.FULL, date(2026, 10, 2)),
        commitment(2, F.PARTIAL, date(2026, 10, 3)),
        commitment(3, F.NONE, date(2026, 10, 31)),
        commitment(4, F.NONE, date(2026, 11, 1)),  # November
        commitment(5, F.PENDING, None),
        commitment(6, F.FULL, date(2026, 9, 30)),  # September
    ]
    session.add_all([*objections, *interviews, *commitments])
    await session.flush()

    def deadline(
        kind: str, ref: Any, due: date, status: DeadlineStatus, done_at: datetime | None = None
    ) -> Deadline:
        ref_kind = {
            RepairApplication: "repair_application",
            Objection: "objection",
            Commitment: "commitment",
            CreditRecord: "credit_record",
            Interview: "interview",
        }[type(ref)]
        return Deadline(
            kind=kind,
            ref_kind=ref_kind,
            ref_id=ref.id,
            subject_id=ref.subject_id,
            due_on=due,
            status=status,
            done_at=done_at,
        )

    D = DeadlineStatus
    session.add_all(
        [
            deadline("repair_review", repairs[0], date(2026, 10, 12), D.DONE, bj(10, 10, 9)),  # on time
            deadline("publication", penalty_1, date(2026, 10, 31), D.DONE, LAST_2359),  # on time, on the day
            deadline("objection_review", objections[0], date(2026, 10, 15), D.DONE, bj(10, 20, 9)),  # late
            deadline("repair_more_materials", repairs[3], date(2026, 9, 30), D.DONE, FIRST_0000),  # late
            # Open at the end of October, done only in November: overdue in October's list.
            deadline("tolerance_materials", commitments[1], date(2026, 10, 20), D.DONE, AFTER_LAST),
            deadline("rectification", held_last, date(2026, 10, 30), D.OPEN),  # overdue
            deadline("publication", penalty_2, date(2026, 9, 10), D.OPEN),  # overdue since September
            deadline("repair_review", repairs[1], date(2026, 10, 31), D.OPEN),  # due on the last day
            deadline("objection_review", objections[1], date(2026, 10, 5), D.CANCELLED),
            deadline("repair_more_materials", repairs[2], date(2026, 9, 29), D.DONE, BEFORE_FIRST),
        ]
    )
    await session.commit()
    return {"anda": anda, "lunan": lunan, "shuntong": shuntong, "zhang": zhang, "li": li}


@pytest.fixture
async def october(app: App) -> MonthlyLists:
    async with app.sessions() as session:
        await build_world(session)
    async with app.sessions() as session:
        return await monthly_lists(session, 2026, 10, as_of=AS_OF)


def of(rows: list[Any], category: str) -> list[Any]:
    return [r for r in rows if r.category == category]


# ---------------------------------------------------------------------------------------------------
# 对象清单
# ---------------------------------------------------------------------------------------------------


async def test_rewards_are_the_months_aaa_evaluations_and_driver_cycles(october: MonthlyLists) -> None:
    rewards = of(october.designations, "守信激励")
    assert [(r.subject_name, r.reason, r.day) for r in rewards] == [
        ("枣庄市安达货物运输有限公司", "质量信誉考核 AAA（2025年度）", date(2026, 10, 1)),
        ("张伟", "诚信考核 AAA（考核周期 2025-10-01 至 2026-09-30，扣 0 分）", date(2026, 10, 31)),
    ]
    assert [r.subject_type for r in rewards] == ["企业", "驾驶员"]
    assert rewards[0].authority == AUTHORITY and rewards[1].authority == "—"  # cycles name no authority
    assert rewards[0].department == "信用科" and rewards[1].department == "—"


async def test_punishments_count_the_months_designations_only(october: MonthlyLists) -> None:
    reasons = {(r.subject_name, r.reason) for r in of(october.designations, "失信惩戒")}
    assert reasons == {
        ("山东鲁南客运集团有限公司", "质量信誉考核 B（2025年度）"),
        ("山东鲁南客运集团有限公司", "严重失信行政处罚 枣交罚〔2026〕1号（吊销许可证件）"),
        ("薛城区顺通危险货物运输有限公司", "列入严重失信主体名单 鲁交信〔2026〕17号"),
        ("薛城区顺通危险货物运输有限公司", "违背信用承诺（违诺认定 370402202609010002）"),
        ("李娜", "诚信考核 B（考核周期 2025-09-01 至 2026-08-31，扣 20 分）"),
        ("薛城区顺通危险货物运输有限公司", "风险预警：一年内被 3 个及以上部门处罚"),
        ("枣庄市安达货物运输有限公司", "风险预警：无正当理由未参加约谈"),  # named from the rules file
    }
    text = " ".join(r.reason for r in october.designations)
    assert "2号" not in text and "3号" not in text  # 30 September and 1 November
    assert "4号" not in text  # withdrawn
    assert "5号" not in text  # a general penalty is not a designation
    assert "grade_b" not in text  # raised at 23:59 on 30 September


async def test_driver_certificate_numbers_are_masked(october: MonthlyLists) -> None:
    drivers = [r for r in october.designations if r.subject_type == "驾驶员"]
    assert {r.code for r in drivers} == {mask_id_number(ZHANG_CERT), mask_id_number(LI_CERT)}
    cells = [str(c) for r in october.designations for c in r.cells()]
    assert not any(ZHANG_CERT in c or LI_CERT in c for c in cells)
    enterprises = [r for r in october.designations if r.subject_type == "企业"]
    assert "91370402MA3C4K7D2E" in {r.code for r in enterprises}  # a USCC is public


# ---------------------------------------------------------------------------------------------------
# 成效清单
# ---------------------------------------------------------------------------------------------------


async def test_results_count_exactly_the_months_items(october: MonthlyLists) -> None:
    numbers = {c: sorted(r.number for r in of(october.results, c)) for c in SUMMARY_CATEGORIES[2:]}
    assert numbers == {
        "信用修复通过": ["XF202610010001", "XF202610310001"],
        "异议更正": ["YY202610100001", "YY202610200001"],
        "约谈已开展": ["—", "—"],
        "承诺践诺": ["370402202609" + "00000001"],
        "承诺违诺": ["370402202609" + "00000002", "370402202609" + "00000003"],
        "期限按时办结": ["XF202610010001", "枣交罚〔2026〕1号"],
        "期限超期办结": ["XF202611010001", "YY202610100001"],
        "期限超期未办": ["370402202609" + "00000002", "枣交罚〔2026〕2号", "约谈整改事项"],
    }
    assert october.summary == {
        "守信激励": 2,
        "失信惩戒": 7,
        "信用修复通过": 2,
        "异议更正": 2,
        "约谈已开展": 2,
        "承诺践诺": 1,
        "承诺违诺": 2,
        "期限按时办结": 2,
        "期限超期办结": 2,
        "期限超期未办": 3,
    }
    assert list(october.summary) == list(SUMMARY_CATEGORIES)


async def test_result_rows_say_what_happened(october: MonthlyLists) -> None:
    repair = of(october.results, "信用修复通过")[1]
    assert (repair.day, repair.matter) == (date(2026, 10, 31), "信用修复：行政处罚 枣交罚〔2026〕5号")
    by_number = {r.number: r for r in of(october.results, "异议更正")}
    assert by_number["YY202610100001"].note == "异议理由：信息错误；处理说明：罚款金额录入有误，已更正"
    assert "超速行驶" in by_number["YY202610200001"].matter
    held = of(october.results, "约谈已开展")
    assert [r.day for r in held] == [date(2026, 10, 1), date(2026, 10, 31)]
    assert held[1].note == "已约谈；整改事项 2 项；整改期限 2026-11-20"
    late = {r.number: r for r in of(october.results, "期限超期办结")}
    assert late["YY202610100001"].note == "应于 2026-10-15 前办结，2026-10-20 办结，超期 5 天（自然日）"
    assert late["YY202610100001"].matter == "异议核查答复"
    overdue = {r.number: r for r in of(october.results, "期限超期未办")}
    assert overdue["枣交罚〔2026〕2号"].note.startswith("应于 2026-09-10 前办结，截至 2026-10-31 仍未办结")
    assert overdue["约谈整改事项"].subject_name == "山东鲁南客运集团有限公司"


async def test_open_deadlines_of_the_current_month_are_overdue_as_of_today(app: App) -> None:
    async with app.sessions() as session:
        world = await build_world(session)
        lunan = world["lunan"]
        for n, due in enumerate((date(2026, 11, 23), date(2026, 11, 24)), 1):
            session.add(
                Deadline(kind="publication", ref_kind="extra", ref_id=n, subject_id=lunan.id, due_on=due)
            )
        await session.commit()
    async with app.sessions() as session:
        november = await monthly_lists(session, 2026, 11, as_of=AS_OF)
    overdue = {(r.day, r.number) for r in of(november.results, "期限超期未办")}
    assert (date(2026, 11, 23), "行政处罚信息双公示（7个工作日）") in overdue
    assert date(2026, 11, 24) not in {day for day, _ in overdue}  # due today: not yet overdue
    assert (date(2026, 10, 31), "XF202610310001") in overdue  # due on October's last day, still open
    late = {r.number for r in of(november.results, "期限超期办结")}
    assert "370402202609" + "00000002" in late  # done on 1 November, 12 days late
    assert november.counted_to == AS_OF


async def test_a_month_not_yet_begun_is_refused(app: App) -> None:
    async with app.sessions() as session:
        with pytest.raises(UserError) as err:
            await monthly_lists(session, 2026, 12, as_of=AS_OF)
    assert "尚未到来" in err.value.zh


async def test_december_lists_stop_at_the_year_boundary(app: App) -> None:
    async with app.sessions() as session:
        world = await build_world(session)
        anda = world["anda"]
        session.add_all(
            [
                record(anda, RecordKind.EVALUATION, date(2025, 12, 31), "2024年度质量信誉考核", grade="AAA"),
                RiskWarning(
                    subject_id=anda.id,
                    rule_id="grade_b",
                    period_key="2025",
                    raised_at=bj(12, 31, 23, 59, year=2025),
                ),
            ]
        )
        await session.commit()
    async with app.sessions() as session:
        december = await monthly_lists(session, *previous_month(date(2026, 1, 5)), as_of=date(2026, 1, 5))
    assert (december.year, december.month) == (2025, 12)
    assert december.summary["守信激励"] == 1 and december.summary["失信惩戒"] == 1
    assert december.by_month["守信激励"] == [0] * 11 + [1]


# ---------------------------------------------------------------------------------------------------
# The year so far, and the queries behind it
# ---------------------------------------------------------------------------------------------------


async def test_by_month_has_the_chart_series_for_the_year_so_far(october: MonthlyLists) -> None:
    assert list(october.by_month) == list(CHART_SERIES)
    assert all(len(counts) == 12 for counts in october.by_month.values())
    september, oct_, november = 8, 9, 10
    assert {s: c[oct_] for s, c in october.by_month.items()} == {
        "守信激励": 2,
        "失信惩戒": 7,
        "信用修复通过": 2,
        "异议更正": 2,
        "约谈已开展": 2,
        "承诺违诺": 2,
    }
    assert {s: c[september] for s, c in october.by_month.items()} == {
        "守信激励": 1,  # the AAA of 30 September
        "失信惩戒": 2,  # 枣交罚〔2026〕2号 and the warning at 23:59 on 30 September
        "信用修复通过": 1,
        "异议更正": 0,
        "约谈已开展": 1,
        "承诺违诺": 0,
    }
    # November has data, but the lists are October's: months after it are 0.
    assert all(c[november] == 0 and c[11] == 0 for c in october.by_month.values())


async def test_queries_are_per_category_not_per_subject(app: App) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    async def measure() -> int:
        statements.clear()
        event.listen(app.db.sync_engine, "before_cursor_execute", count)
        try:
            async with app.sessions() as session:
                await monthly_lists(session, 2026, 10, as_of=AS_OF)
        finally:
            event.remove(app.db.sync_engine, "before_cursor_execute", count)
        return len(statements)

    async with app.sessions() as session:
        await build_world(session)
    before = await measure()
    async with app.sessions() as session:
        for n in range(20):
            extra = Subject(kind=SubjectKind.ENTERPRISE, name=f"测试企业{n}", uscc=f"9137040000000{n:05d}")
            session.add(extra)
            await session.flush()
            session.add(
                record(
                    extra,
                    RecordKind.PENALTY,
                    date(2026, 10, 9),
                    f"枣交罚〔2026〕9{n}号",
                    severity=Severity.SERIOUS,
                )
            )
        await session.commit()
    assert await measure() == before <= 15


# ---------------------------------------------------------------------------------------------------
# Workbook, chart, chat text
# ---------------------------------------------------------------------------------------------------


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def workbook_values(data: bytes) -> Iterator[str]:
    wb = load_workbook(io.BytesIO(data))
    for ws in wb:
        for row in ws.iter_rows(values_only=True):
            yield from (str(v) for v in row if v is not None)


async def test_workbook_has_the_three_sheets_and_the_chart(october: MonthlyLists, clock: FrozenClock) -> None:
    data = monthly_report.workbook_bytes(october, made_at=clock.now())
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["汇总", "对象清单", "成效清单"]
    summary = wb["汇总"]
    assert len(summary._images) == 1  # type: ignore[attr-defined]
    assert "2026年10月" in str(summary["A2"].value) and "生成于 2026-11-24 10:00" in str(summary["A2"].value)
    counts = {r[1]: r[2] for r in summary.iter_rows(min_row=5, max_row=14, values_only=True)}
    assert counts == october.summary
    designations, results = wb["对象清单"], wb["成效清单"]
    assert [c.value for c in designations[1]] == list(DesignationRow.HEADERS)
    assert [c.value for c in results[1]] == list(ResultRow.HEADERS)
    assert all(c.font.bold for c in designations[1])
    assert designations.max_row == len(october.designations) + 1
    assert results.max_row == len(october.results) + 1
    assert designations["F2"].value.date() == october.designations[0].day  # a real date cell
    assert designations.column_dimensions["E"].width > 20  # 认定事由 is readable
    assert not any(ZHANG_CERT in v or LI_CERT in v for v in workbook_values(data))


def test_an_empty_month_still_makes_a_workbook() -> None:
    empty = assemble(2026, 3, AS_OF, [], [], [])
    wb = load_workbook(io.BytesIO(monthly_report.workbook_bytes(empty)))
    assert wb["对象清单"]["A2"].value == "本月无记录"
    assert set(empty.summary.values()) == {0}
    assert "本月没有需要列入清单的事项" in monthly_report.summary_text(empty)


def test_chart_is_a_png_with_chinese_labels_when_a_cjk_font_exists(october_lists: MonthlyLists) -> None:
    font = monthly_report.find_cjk_font()
    if font is None:
        pytest.skip("no CJK font on this machine (Debian: fonts-noto-cjk)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph (a tofu box) is a UserWarning
        png = monthly_report.chart_png(october_lists)
    assert png.startswith(PNG_SIGNATURE)
    texts = {t.get_text() for t in monthly_report.chart_figure(october_lists, font).findobj(Text)}
    assert {"2026年 信用工作月度成效", "守信激励", "承诺违诺", "10月"} <= texts


def test_without_a_cjk_font_the_chart_speaks_english_and_warns_once(
    october_lists: MonthlyLists, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(monthly_report, "find_cjk_font", lambda: None)
    monkeypatch.setattr(monthly_report, "_warned_no_cjk_font", False)
    with caplog.at_level(logging.WARNING, logger="workflows.monthly_report"), warnings.catch_warnings():
        warnings.simplefilter("error")
        first = monthly_report.chart_png(october_lists)
        second = monthly_report.chart_png(october_lists)
        workbook = monthly_report.workbook_bytes(october_lists)
    assert first.startswith(PNG_SIGNATURE) and second.startswith(PNG_SIGNATURE)
    assert load_workbook(io.BytesIO(workbook))["汇总"]._images  # type: ignore[attr-defined]
    warned = [r for r in caplog.records if r.name == "workflows.monthly_report"]
    assert len(warned) == 1 and "fonts-noto-cjk" in warned[0].getMessage()
    texts = [t.get_text() for t in monthly_report.chart_figure(october_lists, None).findobj(Text)]
    assert all(t.isascii() for t in texts)
    assert {"2026: monthly results of credit work", "Trust rewards", "Oct"} <= set(texts)


@pytest.fixture
def october_lists() -> MonthlyLists:
    """Lists without a database, for the file formats."""
    designations = [
        DesignationRow(
            "守信激励",
            "枣庄市安达货物运输有限公司",
            "91370402MA3C4K7D2E",
            "企业",
            "质量信誉考核 AAA（2025年度）",
            date(2026, m, 3),
            AUTHORITY,
            "信用科",
        )
        for m in (1, 4, 10)
    ]
    results = [
        ResultRow(
            "信用修复通过",
            "XF202610010001",
            "山东鲁南客运集团有限公司",
            "信用修复：行政处罚 枣交罚〔2026〕5号",
            date(2026, m, 5),
            "准予修复，终止公示",
        )
        for m in (2, 10)
    ]
    return assemble(2026, 10, AS_OF, designations, results, [])


async def test_summary_text_names_the_month_and_every_count(october: MonthlyLists) -> None:
    text = monthly_report.summary_text(october)
    assert text.splitlines()[0] == "2026年10月 信用工作月度清单"
    for part in (
        "守信激励 2 条",
        "失信惩戒 7 条",
        "信用修复通过 2 件",
        "约谈已开展 2 次",
        "承诺违诺 2 件",
        "按时办结 2 件",
        "超期办结 2 件",
        "超期未办 3 件（截至 2026-10-31）",
    ):
        assert part in text


INTERNAL = [
    re.compile("None"),
    re.compile(r"#\d"),
    re.compile(r"(?<![A-Za-z0-9])[a-z]+(?:_[a-z0-9]+)+"),  # snake_case: a field name or a rule id
]


async def test_nothing_people_read_shows_internal_values(october: MonthlyLists, clock: FrozenClock) -> None:
    shown = [str(c) for r in [*october.designations, *october.results] for c in r.cells()]
    shown += monthly_report.summary_text(october).splitlines()
    shown += list(workbook_values(monthly_report.workbook_bytes(october, made_at=clock.now())))
    font = monthly_report.find_cjk_font()
    shown += [t.get_text() for t in monthly_report.chart_figure(october, font).findobj(Text)]
    leaks = [s for s in shown if any(p.search(s) for p in INTERNAL)]
    assert leaks == []


# ---------------------------------------------------------------------------------------------------
# Months
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-10",
        "2026/10",
        "202610",
        "2026年10月",
        " 2026 - 10 ",
        "2026年10月份",
        "２０２６年１０月",
        "2026.10",
    ],
)
def test_parse_month_accepts(text: str) -> None:
    assert parse_month(text) == (2026, 10)


def test_parse_month_reads_single_digit_months() -> None:
    assert parse_month("2026-3") == parse_month("2026年3月") == parse_month("202603") == (2026, 3)


@pytest.mark.parametrize(
    "text", ["", "2026", "10月", "2026-13", "2026-00", "20261", "2026年13月", "1899-10", "十月", "2026-10-01"]
)
def test_parse_month_refuses_in_chinese(text: str) -> None:
    with pytest.raises(UserError) as err:
        parse_month(text)
    assert re.search(r"[\u4e00-\u9fff]", err.value.zh)


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2026, 11, 24), (2026, 10)), (date(2026, 1, 1), (2025, 12)), (date(2026, 3, 31), (2026, 2))],
)
def test_previous_month(day: date, expected: tuple[int, int]) -> None:
    assert previous_month(day) == expected
