"""Rules as data: regimes by decision date, publicity windows, repair eligibility, driver grades."""

from __future__ import annotations

from datetime import date

import pytest

from models import CreditRecord, RecordKind, RecordStatus, Severity
from workflows import rules
from workflows.assessment import Deduction, assess, cycle_containing
from workflows.calendar import WorkdayCalendar
from workflows.errors import UserError
from workflows.records import publicity_window, repair_eligibility

CAL = WorkdayCalendar()


@pytest.mark.parametrize(
    ("day", "key"),
    [
        (date(2018, 1, 1), "527号"),
        (date(2023, 4, 30), "527号"),
        (date(2023, 5, 1), "令58号"),
        (date(2026, 3, 31), "令58号"),
        (date(2026, 4, 1), "令36号"),
        (date(2030, 1, 1), "令36号"),
    ],
)
def test_regime_by_decision_date(day: date, key: str) -> None:
    assert rules.regime_for(day).key == key


def test_every_period_names_its_source() -> None:
    for regime in rules.REGIMES:
        assert regime.source.document and regime.source.mark
        for period in regime.periods.values():
            assert period.source.document
            assert period.min_months <= period.max_months


@pytest.mark.parametrize(
    ("severity", "decided", "min_end", "max_end"),
    [
        # 令36号: 一般 3 months–1 year; month end rule (民法典 第二百零二条): 11-30 + 3 months = 02-28
        (Severity.GENERAL, date(2026, 11, 30), date(2027, 2, 28), date(2027, 11, 30)),
        (Severity.SERIOUS, date(2026, 4, 1), date(2027, 4, 1), date(2029, 4, 1)),
        (Severity.MINOR, date(2026, 5, 10), date(2026, 5, 10), date(2026, 8, 10)),
        # the day before the switch: 令58号, 严重 1–3 years
        (Severity.SERIOUS, date(2026, 3, 31), date(2027, 3, 31), date(2029, 3, 31)),
        # 527号: 严重 6 months–3 years
        (Severity.SERIOUS, date(2022, 8, 31), date(2023, 2, 28), date(2025, 8, 31)),
    ],
)
def test_publicity_window(severity: Severity, decided: date, min_end: date, max_end: date) -> None:
    w = publicity_window(RecordKind.PENALTY, severity, decided)
    assert w is not None
    assert (w.min_end, w.max_end) == (min_end, max_end)
    assert w.published == (not (severity == Severity.MINOR and decided >= date(2026, 4, 1)))


def test_stored_publicity_end_wins_and_evaluations_have_no_window() -> None:
    w = publicity_window(RecordKind.PENALTY, Severity.GENERAL, date(2026, 5, 1), date(2026, 12, 31))
    assert w is not None and w.max_end == date(2026, 12, 31)
    assert publicity_window(RecordKind.EVALUATION, Severity.GENERAL, date(2026, 5, 1)) is None


def _record(**kw: object) -> CreditRecord:
    base: dict[str, object] = {
        "subject_id": 1,
        "kind": RecordKind.PENALTY,
        "severity": Severity.GENERAL,
        "decision_date": date(2026, 6, 30),
        "authority": "局",
        "obligations_fulfilled_on": date(2026, 7, 10),
    }
    base.update(kw)
    return CreditRecord(**base)  # type: ignore[arg-type]


def test_repair_before_minimum_period_says_the_date() -> None:
    e = repair_eligibility(_record(), date(2026, 9, 29), CAL)
    # 06-30 + 3 months = 09-30; apply from 10-01, which is 国庆: accepted on 10-08 (2026 schedule)
    assert not e.eligible_now and e.from_date == date(2026, 10, 1)
    assert e.accepted_on == date(2026, 10, 8)
    assert "2026-10-01 起可申请" in e.zh and "顺延至 2026-10-08 受理" in e.zh


def test_repair_eligible_after_minimum_period() -> None:
    e = repair_eligibility(_record(), date(2026, 11, 24), CAL)
    assert e.eligible_now and e.accepted_on == date(2026, 11, 24)


def test_repair_needs_obligations_fulfilled() -> None:
    e = repair_eligibility(_record(obligations_fulfilled_on=None), date(2026, 11, 24), CAL)
    assert not e.eligible_now and "须先履行" in e.zh


def test_minor_record_repairable_once_fulfilled() -> None:
    e = repair_eligibility(
        _record(
            severity=Severity.MINOR,
            decision_date=date(2026, 11, 2),
            obligations_fulfilled_on=date(2026, 11, 20),
        ),
        date(2026, 11, 24),
        CAL,
    )
    assert e.eligible_now and e.from_date == date(2026, 11, 20)


def test_repair_impossible_after_max_end_or_when_done() -> None:
    e = repair_eligibility(_record(decision_date=date(2025, 6, 30)), date(2026, 7, 1), CAL)
    assert not e.eligible_now and e.from_date is None and "自动撤下" in e.zh
    for status in (RecordStatus.REPAIRED, RecordStatus.EXPIRED, RecordStatus.WITHDRAWN):
        assert repair_eligibility(_record(status=status), date(2026, 11, 24), CAL).from_date is None


def test_year_boundary_repair_date_lands_on_a_workday_in_2027() -> None:
    # 严重 decided 2025-12-31 under 令58号: min 1 year → 2026-12-31; apply from 2027-01-01 (元旦)
    e = repair_eligibility(
        _record(severity=Severity.SERIOUS, decision_date=date(2025, 12, 31)), date(2026, 11, 24), CAL
    )
    assert e.from_date == date(2027, 1, 1)
    assert e.accepted_on is not None and e.accepted_on > date(2027, 1, 1) and CAL.is_workday(e.accepted_on)


@pytest.mark.parametrize(
    ("points", "grade"), [(0, "AAA"), (1, "AA"), (10, "AA"), (11, "A"), (19, "A"), (20, "B"), (35, "B")]
)
def test_driver_grade_bands(points: int, grade: str) -> None:
    assert rules.driver_grade(points).grade == grade


def test_driver_grade_bands_are_marked_unverified() -> None:
    assert not rules.DRIVER_GRADE_BANDS_SOURCE.verified


def test_driver_cycle_is_anchored_on_first_issue() -> None:
    c = cycle_containing(date(2019, 3, 15), date(2026, 3, 14))
    assert (c.start, c.end) == (date(2025, 3, 15), date(2026, 3, 14))
    c = cycle_containing(date(2019, 3, 15), date(2026, 3, 15))
    assert (c.start, c.end) == (date(2026, 3, 15), date(2027, 3, 14))
    with pytest.raises(UserError):
        cycle_containing(date(2027, 1, 1), date(2026, 11, 24))


def test_assess_adds_up_deductions_in_cycle() -> None:
    ds = [
        Deduction(None, date(2026, 4, 1), "a", 10, ""),
        Deduction(None, date(2026, 5, 1), "b", 10, ""),
        Deduction(None, date(2025, 1, 1), "old", 20, ""),
    ]
    cycle, points, grade = assess(date(2019, 3, 15), date(2026, 11, 24), ds)
    assert points == 20 and grade.grade == "B" and cycle.start == date(2026, 3, 15)


@pytest.mark.parametrize(
    ("ptype", "fine", "procedure", "severity"),
    [
        ("警告", None, "一般", Severity.MINOR),
        ("罚款", 0.01, "简易", Severity.MINOR),
        ("罚款", 0.5, "一般", Severity.GENERAL),
        ("罚款", 12.0, "一般", Severity.SERIOUS),
        ("吊销许可证件", None, "一般", Severity.SERIOUS),
    ],
)
def test_classify_penalty(ptype: str, fine: float | None, procedure: str, severity: Severity) -> None:
    assert rules.classify_penalty(ptype, fine, procedure) == severity
