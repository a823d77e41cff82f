"""workflows/corrections.py: one validator per fact (shared by penalty entry and 更正), the facts each kind of
record offers, and a correction's before → after with every derived date recomputed as on entry."""

from __future__ import annotations

from datetime import date

import pytest

from models import CreditRecord, DriverViolation, RecordKind, RecordStatus, Severity
from notifications.render import Renderer
from workflows import corrections
from workflows.calendar import WorkdayCalendar, add_months
from workflows.errors import UserError
from workflows.penalties import penalty_terms

TODAY = date(2026, 11, 24)
CAL = WorkdayCalendar()


def _penalty(**kw: object) -> CreditRecord:
    fields: dict = {
        "id": 7,
        "subject_id": 1,
        "kind": RecordKind.PENALTY,
        "severity": Severity.GENERAL,
        "decision_no": "枣交罚〔2026〕1033号",
        "decision_date": date(2026, 9, 25),
        "authority": "枣庄市交通运输局",
        "penalty_type": "罚款",
        "fine_wan": 0.2,
        "procedure": "一般",
        "facts": "未按规定公布服务价格",
        "publicity_end": date(2027, 9, 25),
    }
    fields.update(kw)
    return CreditRecord(**fields)


# -- validators ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["2026-03-05", "2026/3/5", "2026年3月5日", "20260305", " 2026-03-05 "])
def test_decision_date_accepts_the_ways_staff_type_it(typed: str) -> None:
    assert corrections.decision_date(typed, TODAY) == date(2026, 3, 5)


def test_decision_date_in_the_future_is_refused() -> None:
    with pytest.raises(UserError, match="不能晚于今天（2026-11-24）"):
        corrections.decision_date("2026-11-25", TODAY)


@pytest.mark.parametrize("typed", ["上周三", "2026-02-30", ""])
def test_decision_date_unreadable_is_refused_in_chinese(typed: str) -> None:
    with pytest.raises(UserError) as err:
        corrections.decision_date(typed, TODAY)
    assert err.value.zh.startswith("「决定日期」")


def test_negative_fine_is_refused() -> None:
    with pytest.raises(UserError, match="不能为负数"):
        corrections.fine_wan("-5")


@pytest.mark.parametrize(
    ("typed", "value"), [("0.5", 0.5), ("0", None), ("无", None), ("1,000", 1000.0), ("０.３", 0.3)]
)
def test_fine_is_read_in_wan(typed: str, value: float | None) -> None:
    assert corrections.fine_wan(typed) == value


@pytest.mark.parametrize(
    ("typed", "reason"), [("零点一", "格式不对"), ("0.1234567", "小数位数"), ("200000", "不合理")]
)
def test_fine_refusals_say_why(typed: str, reason: str) -> None:
    with pytest.raises(UserError, match=reason):
        corrections.fine_wan(typed)


@pytest.mark.parametrize(
    ("typed", "value"), [("轻微", Severity.MINOR), ("一般失信", Severity.GENERAL), ("严重", Severity.SERIOUS)]
)
def test_severity_in_chinese(typed: str, value: Severity) -> None:
    assert corrections.severity(typed) == value


def test_severity_enum_value_is_not_accepted_as_typed_text() -> None:
    with pytest.raises(UserError, match="轻微、一般 或 严重"):
        corrections.severity("general")


@pytest.mark.parametrize(
    ("typed", "value"),
    [("简易程序", "简易"), ("一般程序", "一般"), ("普通程序", "一般"), ("01", "简易"), ("02", "一般")],
)
def test_procedure_names_and_codes(typed: str, value: str) -> None:
    assert corrections.procedure(typed) == value


def test_unknown_procedure_is_refused() -> None:
    with pytest.raises(UserError, match="「程序」"):
        corrections.procedure("快速程序")


def test_penalty_types_by_name_and_code() -> None:
    assert corrections.penalty_type("警告；02") == "警告、罚款"
    with pytest.raises(UserError, match="未知的处罚类别"):
        corrections.penalty_type("批评教育")


def test_text_facts_have_limits() -> None:
    with pytest.raises(UserError, match="不能为空"):
        corrections.decision_no("  ")
    with pytest.raises(UserError, match="最多 128 字"):
        corrections.decision_no("号" * 129)
    assert corrections.facts(" 超限运输 ") == "超限运输"


def test_grade_and_points() -> None:
    assert corrections.grade("aa") == "AA"
    with pytest.raises(UserError, match="AAA / AA / A / B"):
        corrections.grade("C")
    assert corrections.points("3分") == 3
    for wrong in ("4", "0", "三"):
        with pytest.raises(UserError, match="撤销该扣分"):
            corrections.points(wrong)


def test_a_fine_type_without_a_fine_is_a_problem() -> None:
    problem = corrections.penalty_problem(penalty_type="罚款", fine_wan=None, procedure=None, severity=None)
    assert problem is not None and "罚款金额应大于 0" in problem.zh


def test_summary_procedure_with_a_general_class_is_a_problem() -> None:
    problem = corrections.penalty_problem(
        penalty_type="警告", fine_wan=None, procedure="简易", severity=Severity.GENERAL
    )
    assert problem is not None and "轻微" in problem.zh


# -- facts offered by kind -----------------------------------------------------------------------------


def test_facts_offered_depend_on_the_kind_of_record() -> None:
    def keys(target: CreditRecord | DriverViolation) -> list[str]:
        return [f.key for f in corrections.facts_for(target)]

    assert keys(_penalty()) == [
        "decision_no",
        "decision_date",
        "authority",
        "penalty_type",
        "fine_wan",
        "facts",
        "severity",
        "procedure",
    ]
    assert keys(_penalty(kind=RecordKind.EVALUATION, grade="AA")) == ["grade"]
    assert keys(_penalty(kind=RecordKind.DISHONESTY_LIST)) == [
        "decision_no",
        "decision_date",
        "authority",
        "facts",
    ]
    violation = DriverViolation(subject_id=1, occurred_on=date(2026, 5, 1), item="超速", points=3)
    assert keys(violation) == ["points"]
    with pytest.raises(UserError, match="可更正的项目：扣分"):
        corrections.read(violation, "fine_wan", "0.1", TODAY)


# -- a correction's changes ----------------------------------------------------------------------------


def test_severity_change_recomputes_the_publicity_end_as_entry_does() -> None:
    record = _penalty()
    planned = corrections.plan(record, {"severity": "严重"}, today=TODAY, calendar=CAL)
    expected = penalty_terms(RecordKind.PENALTY, date(2026, 9, 25), severity=Severity.SERIOUS).publicity_end
    assert expected == date(2029, 9, 25)
    assert planned.values == {"severity": Severity.SERIOUS, "publicity_end": expected}
    assert planned.lines() == [
        "失信程度：一般 → 严重",
        "公示截止期：2027-09-25 → 2029-09-25",
        "可申请修复日期：2026-12-26 → 2027-09-26",  # minimum 3 → 12 months, the day after
    ]


def test_decision_date_change_moves_every_derived_date() -> None:
    record = _penalty()
    planned = corrections.plan(record, {"decision_date": "2026年8月25日"}, today=TODAY, calendar=CAL)
    assert planned.values["publicity_end"] == add_months(date(2026, 8, 25), 12)
    assert planned.lines() == [
        "决定日期：2026-09-25 → 2026-08-25",
        "公示截止期：2027-09-25 → 2027-08-25",
        "可申请修复日期：2026-12-26 → 2026-11-26",
    ]


def test_a_fine_above_the_threshold_reclassifies_a_record_the_table_classified() -> None:
    planned = corrections.plan(_penalty(), {"fine_wan": "12"}, today=TODAY, calendar=CAL)
    assert planned.values["severity"] == Severity.SERIOUS
    assert planned.lines()[:2] == ["罚款（万元）：0.2 → 12", "失信程度：一般 → 严重"]


def test_a_class_the_authority_stated_is_kept_when_the_fine_changes() -> None:
    record = _penalty(severity=Severity.SERIOUS, publicity_end=date(2029, 9, 25))  # the table says 一般
    planned = corrections.plan(record, {"fine_wan": "0.1"}, today=TODAY, calendar=CAL)
    assert planned.values == {"fine_wan": 0.1}
    assert planned.lines() == ["罚款（万元）：0.2 → 0.1"]


def test_summary_procedure_makes_a_table_classified_fine_minor() -> None:
    record = _penalty(fine_wan=0.02)  # the table's 一般 for a fine under 一般程序
    planned = corrections.plan(record, {"procedure": "简易程序"}, today=TODAY, calendar=CAL)
    assert planned.problem is None
    assert planned.values["severity"] == Severity.MINOR
    assert "程序：一般程序 → 简易程序" in planned.lines() and "失信程度：一般 → 轻微" in planned.lines()


def test_summary_procedure_against_a_stated_class_is_refused_on_apply() -> None:
    record = _penalty(severity=Severity.SERIOUS)
    planned = corrections.plan(record, {"procedure": "简易程序"}, today=TODAY, calendar=CAL)
    assert planned.problem is not None
    with pytest.raises(UserError, match="失信程度应为轻微"):
        corrections.apply(record, planned)
    assert record.procedure == "一般"


def test_removing_the_fine_of_a_fine_penalty_is_a_problem() -> None:
    planned = corrections.plan(_penalty(), {"fine_wan": "0"}, today=TODAY, calendar=CAL)
    assert planned.problem is not None and "罚款金额应大于 0" in planned.problem.zh


def test_the_negative_fine_bug_a_correction_can_no_longer_write() -> None:
    with pytest.raises(UserError, match="不能为负数"):
        corrections.plan(_penalty(), {"fine_wan": "-5"}, today=TODAY, calendar=CAL)


def test_a_stored_typed_value_is_checked_again() -> None:
    """Changes from a proposal or code (float, date, enum) pass the same validators as typed text."""
    planned = corrections.plan(
        _penalty(), {"fine_wan": 0.1, "severity": Severity.SERIOUS}, today=TODAY, calendar=CAL
    )
    assert planned.values["fine_wan"] == 0.1 and planned.values["severity"] == Severity.SERIOUS
    with pytest.raises(UserError, match="不能晚于今天"):
        corrections.plan(_penalty(), {"decision_date": date(2027, 1, 1)}, today=TODAY, calendar=CAL)


def test_withdrawal_shows_the_status_and_no_repair_date() -> None:
    planned = corrections.plan(_penalty(), {}, withdraw=True, today=TODAY, calendar=CAL)
    assert planned.lines() == ["状态：公示中 → 已撤销", "可申请修复日期：2026-12-26 → 无"]
    assert planned.values == {"status": RecordStatus.WITHDRAWN}


def test_driver_deduction_points_and_withdrawal() -> None:
    violation = DriverViolation(subject_id=1, occurred_on=date(2026, 5, 1), item="超速", points=3)
    assert corrections.plan(violation, {"points": "1"}, today=TODAY, calendar=CAL).lines() == ["扣分：3 → 1"]
    assert corrections.plan(violation, {}, withdraw=True, today=TODAY, calendar=CAL).lines() == [
        "状态：有效 → 已撤销"
    ]


def test_evaluation_grade_has_no_derived_dates() -> None:
    record = _penalty(kind=RecordKind.EVALUATION, grade="AA", publicity_end=None)
    planned = corrections.plan(record, {"grade": "A"}, today=TODAY, calendar=CAL)
    assert planned.lines() == ["评价等级：AA → A"]


def test_audit_values_include_the_derived_dates() -> None:
    planned = corrections.plan(_penalty(), {"severity": "严重"}, today=TODAY, calendar=CAL)
    after = corrections.audit_values(planned.after)
    assert after["publicity_end"] == "2029-09-25" and after["repair_from"] == "2027-09-26"
    assert corrections.audit_values(planned.before)["publicity_end"] == "2027-09-25"


def test_notice_says_the_change_in_words_never_field_names_or_enum_values() -> None:
    planned = corrections.plan(
        _penalty(), {"fine_wan": "0", "penalty_type": "警告", "severity": "轻微"}, today=TODAY, calendar=CAL
    )
    context = {
        "ref_no": "YY202611240001",
        "reason": "",
        "changes": [c.for_notice() for c in planned.changes],
        "withdrawn": False,
    }
    text = Renderer().render("objection_approve", "zh", context)
    assert "罚款（万元）：0.2 → 无" in text and "失信程度：一般 → 轻微" in text
    assert "公示截止期：2027-09-25 → 2026-12-25" in text
    for leak in ("fine_wan", "severity", "minor", "general", "None", "publicity_end"):
        assert leak not in text
    english = Renderer().render("objection_approve", "en", context)
    assert "fine (10k yuan): 0.2 → none" in english and "severity: general → minor" in english
