"""The other imports (issue #8), on every backend: the subject registry, driver deductions, assessment
results and fulfilment — natural keys, idempotent re-import, changes audited, and the checks that need
the database (an unknown certificate, a certificate that belongs to someone else, an ambiguous 文号)."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from bot.app import App
from models import (
    AssessmentCycle,
    AuditEntry,
    CreditRecord,
    DriverViolation,
    RecordKind,
    Subject,
    SubjectKind,
)
from tests.unit.test_imports_penalties import ANDA, LUNAN, PERSON_ID, TODAY, count, csv_bytes, row, run
from workflows.assessment import driver_assessment
from workflows.records import repair_eligibility

DRIVER = {
    "主体类型": "驾驶员",
    "名称": "张伟",
    "身份证号码": PERSON_ID,
    "从业资格证号": PERSON_ID,
    "初次领证日期": "2015-06-01",
}
FIRM = {"主体类型": "企业", "名称": "枣庄市安达货物运输有限公司", "统一社会信用代码": ANDA, "法定代表人": "赵建国",
        "主管部门": "信用科"}  # fmt: skip


async def test_subjects_import_adds_updates_and_is_idempotent(app: App) -> None:
    rows = [
        FIRM | {"身份证号码": "", "从业资格证号": "", "初次领证日期": ""},
        DRIVER | {"统一社会信用代码": "", "法定代表人": "", "主管部门": ""},
    ]
    first = await run(app, csv_bytes(rows, "gbk"), kind="subjects")
    assert first.ok and first.counts.new == 2, [p.line() for p in first.problems]
    again = await run(app, csv_bytes(rows, "gbk"), kind="subjects")
    assert (again.counts.new, again.counts.changed, again.counts.unchanged) == (0, 0, 2)
    rows[0]["主管部门"] = "执法支队"
    changed = await run(app, csv_bytes(rows), kind="subjects")
    assert changed.counts.changed == 1
    async with app.sessions() as s:
        firm = (await s.exec(select(Subject).where(Subject.uscc == ANDA))).one()
        driver = (await s.exec(select(Subject).where(Subject.kind == SubjectKind.DRIVER))).one()
        entry = (await s.exec(select(AuditEntry).where(AuditEntry.action == "subject.import_update"))).one()
    assert firm.department == "执法支队" and entry.before == {"department": "信用科"}
    assert driver.cert_first_issued == date(2015, 6, 1) and driver.region_code == "370402"
    # A driver registered this way reads an assessment at once.
    async with app.sessions() as s:
        view = await driver_assessment(s, driver, TODAY)
    assert view.points == 0


async def test_subjects_import_reports_each_kind_of_problem(app: App) -> None:
    rows = [
        FIRM | {"统一社会信用代码": "91370402MA3C4K7D2X"},
        DRIVER | {"初次领证日期": ""},
        DRIVER | {"身份证号码": "370402198506123416", "名称": "李四"},
        {"名称": "没有代码的主体"},
    ]
    result = await run(app, csv_bytes(rows, headers=list(FIRM) + ["身份证号码", "从业资格证号", "初次领证日期"]),
                       kind="subjects")  # fmt: skip
    reasons = {(p.row, p.column): p.reason for p in result.problems}
    assert "应为E" in reasons[(2, "统一社会信用代码")]
    assert reasons[(3, "初次领证日期")] == "驾驶员的此项为必填"
    assert "校验位应为7" in reasons[(4, "身份证号码")]
    assert "企业填统一社会信用代码" in reasons[(5, "统一社会信用代码")]
    assert await count(app, Subject) == 0


async def test_a_certificate_of_another_driver_is_refused(app: App) -> None:
    await run(app, csv_bytes([DRIVER]), kind="subjects")
    other = DRIVER | {"身份证号码": "110101199003074514", "名称": "王五"}
    result = await run(app, csv_bytes([other]), kind="subjects")
    assert [p.reason for p in result.problems] == ["该从业资格证号已属于主体库中的另一名驾驶员"]


async def test_violations_need_a_registered_driver_and_add_up_in_the_assessment(app: App) -> None:
    deductions = [
        {
            "从业资格证号": PERSON_ID,
            "姓名": "张伟",
            "违章日期": "2026-10-08",
            "违章行为": "超速",
            "扣分": "3",
        },
        {
            "从业资格证号": PERSON_ID,
            "姓名": "张伟",
            "违章日期": "2026-10-09",
            "违章行为": "疲劳驾驶",
            "扣分": "10",
        },
    ]
    refused = await run(app, csv_bytes(deductions), kind="violations")
    assert {p.reason for p in refused.problems} == {"主体库中没有该从业资格证号的驾驶员，请先导入主体"}
    await run(app, csv_bytes([DRIVER]), kind="subjects")
    wrong = [deductions[0] | {"姓名": "张三"}, deductions[1] | {"扣分": "4"}]
    result = await run(app, csv_bytes(wrong), kind="violations")
    reasons = sorted(p.reason for p in result.problems)
    assert (
        reasons[0].startswith("姓名与主体库不一致（主体库为 张*）")
        and "扣分应为 20、10、5、3、1" in reasons[1]
    )
    ok = await run(app, csv_bytes(deductions), kind="violations")
    assert ok.counts.new == 2
    assert (await run(app, csv_bytes(deductions), kind="violations")).counts.unchanged == 2
    async with app.sessions() as s:
        driver = (await s.exec(select(Subject))).one()
        view = await driver_assessment(s, driver, TODAY)
        assert len((await s.exec(select(DriverViolation))).all()) == 2
    assert view.points == 13


async def test_grades_for_enterprises_and_drivers_in_one_file(app: App) -> None:
    await run(app, csv_bytes([FIRM, DRIVER], headers=list(FIRM) + ["身份证号码", "从业资格证号", "初次领证日期"]),
              kind="subjects")  # fmt: skip
    headers = [
        "统一社会信用代码",
        "从业资格证号",
        "考核等级",
        "考核年度",
        "考核得分",
        "认定日期",
        "认定机关",
        "周期起",
        "周期止",
        "扣分",
    ]
    rows = [
        {"统一社会信用代码": ANDA, "考核等级": "AAA", "考核年度": "2025", "考核得分": "912", "认定日期": "2026-03-10",
         "认定机关": "枣庄市交通运输局"},
        {"从业资格证号": PERSON_ID, "考核等级": "AA", "周期起": "2024-06-01", "周期止": "2025-05-31", "扣分": "6"},
        {"统一社会信用代码": LUNAN, "考核等级": "AA", "考核年度": "2025", "认定日期": "2026-03-10", "认定机关": "局"},
        {"统一社会信用代码": ANDA, "考核等级": "C", "考核年度": "2024", "认定日期": "2025-03-10", "认定机关": "局"},
    ]  # fmt: skip
    refused = await run(app, csv_bytes(rows, headers=headers), kind="grades")
    reasons = {(p.row, p.column): p.reason for p in refused.problems}
    assert reasons[(4, "统一社会信用代码")] == "主体库中没有该企业，请先导入主体"
    assert "应为 AAA、AA、A、B 之一" in reasons[(5, "考核等级")]
    ok = await run(app, csv_bytes(rows[:2], headers=headers), kind="grades")
    assert ok.counts.new == 2, [p.line() for p in ok.problems]
    again = await run(app, csv_bytes(rows[:2], headers=headers), kind="grades")
    assert again.counts.unchanged == 2
    async with app.sessions() as s:
        grade = (await s.exec(select(CreditRecord).where(CreditRecord.kind == RecordKind.EVALUATION))).one()
        cycle = (await s.exec(select(AssessmentCycle))).one()
    assert (grade.grade, grade.assessment_year, grade.score, grade.decision_no) == (
        "AAA",
        2025,
        912.0,
        "2025年度质量信誉考核",
    )
    assert (cycle.start, cycle.end, cycle.points, cycle.grade) == (
        date(2024, 6, 1),
        date(2025, 5, 31),
        6,
        "AA",
    )


async def test_fulfilment_import_opens_repair_and_runs_twice_without_change(app: App) -> None:
    await run(
        app,
        csv_bytes([row(), row(**{"行政相对人名称": "鲁南", "行政相对人代码_1（统一社会信用代码）": LUNAN})]),
    )
    done = [
        {
            "行政处罚决定书文号": "枣交罚〔2026〕0001号",
            "行政相对人代码": ANDA,
            "履行日期": "2026-06-01",
            "履行方式": "缴纳罚款",
        }
    ]
    ambiguous = [
        {"行政处罚决定书文号": "枣交罚〔2026〕0001号", "履行日期": "2026-06-01", "履行方式": "罚款已缴纳"}
    ]
    unknown = [{"行政处罚决定书文号": "无此文号", "履行日期": "2026-06-01", "履行方式": "罚款已缴纳"}]
    early = [done[0] | {"履行日期": "2026-01-01"}]
    for rows, reason in (
        (ambiguous, "该文号对应多个行政相对人，请填写行政相对人代码"),
        (unknown, "没有找到该决定书文号对应的处罚记录"),
        (early, "履行日期不能早于处罚决定日期（2026-05-20）。"),
    ):
        result = await run(app, csv_bytes(rows, headers=list(done[0])), kind="fulfilment")
        assert [p.reason for p in result.problems] == [reason]
    ok = await run(app, csv_bytes(done), kind="fulfilment")
    assert ok.counts.new == 1, [p.line() for p in ok.problems]
    assert (await run(app, csv_bytes(done), kind="fulfilment")).counts.unchanged == 1
    async with app.sessions() as s:
        record = (
            await s.exec(
                select(CreditRecord)
                .join(Subject, Subject.id == CreditRecord.subject_id)
                .where(Subject.uscc == ANDA)
            )
        ).one()
    assert record.obligations_fulfilled_on == date(2026, 6, 1) and record.fulfilment_method == "罚款已缴纳"
    assert repair_eligibility(record, TODAY, app.engine.services.calendar).eligible_now
