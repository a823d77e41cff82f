"""信用核查: the credit class read off a subject's records (rules.CLASS_RULE_SOURCE) and its tier."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models import CreditRecord, RecordKind, RecordStatus, Severity
from workflows import rules
from workflows.lookup import credit_class, latest_grade

TODAY = date(2026, 11, 24)


def rec(
    kind: RecordKind = RecordKind.PENALTY,
    severity: Severity = Severity.GENERAL,
    days_ago: int = 30,
    status: RecordStatus = RecordStatus.PUBLISHED,
    grade: str | None = None,
) -> CreditRecord:
    return CreditRecord(
        subject_id=1,
        kind=kind,
        severity=severity,
        decision_date=TODAY - timedelta(days=days_ago),
        authority="枣庄市交通运输局",
        status=status,
        grade=grade,
    )


EVAL = RecordKind.EVALUATION
CASES = [
    ("no records", [], "守信"),
    ("list → 严重失信", [rec(RecordKind.DISHONESTY_LIST, Severity.SERIOUS, 900)], "严重失信"),
    ("list beats a good grade", [rec(RecordKind.DISHONESTY_LIST), rec(EVAL, grade="AAA")], "严重失信"),
    (
        "repaired list no longer counts",
        [rec(RecordKind.DISHONESTY_LIST, status=RecordStatus.REPAIRED)],
        "守信",
    ),
    ("serious penalty, any age while published", [rec(severity=Severity.SERIOUS, days_ago=700)], "失信"),
    ("commitment breach", [rec(RecordKind.COMMITMENT_BREACH)], "失信"),
    ("expired serious penalty", [rec(severity=Severity.SERIOUS, status=RecordStatus.EXPIRED)], "守信"),
    ("withdrawn breach", [rec(RecordKind.COMMITMENT_BREACH, status=RecordStatus.WITHDRAWN)], "守信"),
    ("general penalty yesterday", [rec(days_ago=1)], "警示"),
    ("general penalty on the window's last day", [rec(days_ago=rules.WARNING_LOOKBACK_DAYS - 1)], "警示"),
    ("general penalty just outside the window", [rec(days_ago=rules.WARNING_LOOKBACK_DAYS)], "守信"),
    ("minor penalty", [rec(severity=Severity.MINOR, days_ago=1)], "守信"),
    ("latest grade B", [rec(EVAL, days_ago=400, grade="AA"), rec(EVAL, days_ago=20, grade="B")], "警示"),
    (
        "an older B is superseded",
        [rec(EVAL, days_ago=400, grade="B"), rec(EVAL, days_ago=20, grade="A")],
        "守信",
    ),
    ("a withdrawn B does not count", [rec(EVAL, grade="B", status=RecordStatus.WITHDRAWN)], "守信"),
]


@pytest.mark.parametrize(("records", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_credit_class(records: list[CreditRecord], expected: str) -> None:
    assert credit_class(records, TODAY) == expected


def test_a_grade_given_from_outside_the_records_counts() -> None:
    """Drivers: the 诚信考核 grade is not a record; a B makes the driver 警示."""
    assert credit_class([], TODAY, grade="B") == "警示"
    assert credit_class([], TODAY, grade="AA") == "守信"


def test_latest_grade_is_the_newest_published_evaluation() -> None:
    assert latest_grade([rec(EVAL, days_ago=400, grade="B"), rec(EVAL, days_ago=20, grade="AA")]) == "AA"
    assert latest_grade([rec(days_ago=1)]) is None


@pytest.mark.parametrize("expected", ["守信", "警示", "失信", "严重失信"])
def test_every_class_has_a_supervision_tier(expected: str) -> None:
    tier = rules.supervision_tier(expected)
    assert tier.credit_class == expected and 0 < tier.sample_rate <= 1 and tier.measures


def test_the_class_rule_is_marked_unverified() -> None:
    assert not rules.CLASS_RULE_SOURCE.verified  # shown with rules.UNVERIFIED_NOTE
