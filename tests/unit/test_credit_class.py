"""信用分类 as the subject sees it (workflows/credit_class.py): every class has a meaning and a tier, every
rule names its source with a legend mark, and only a trustworthy subject is offered the 信易+ benefits."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from models import CreditRecord, RecordKind, RecordStatus, Severity
from workflows import credit_class, rules
from workflows.credit_class import (
    BENEFIT_CLASSES,
    CLASS_MEANINGS,
    MEASURES_EN,
    TRUST_REWARDS,
    XINYI_PLUS,
    meaning_of,
    standing,
)
from workflows.lookup import DISHONEST, SERIOUSLY_DISHONEST, TRUSTWORTHY, WATCH

TODAY = date(2026, 11, 24)
MARKS = {"[V]", "[P]", "[S]", "[R]", "[F]"}  # domain-rules §0


def rec(
    kind: RecordKind = RecordKind.PENALTY, severity: Severity = Severity.GENERAL, **kw: object
) -> CreditRecord:
    base: dict[str, object] = {
        "subject_id": 1,
        "kind": kind,
        "severity": severity,
        "decision_date": TODAY - timedelta(days=30),
        "authority": "局",
    }
    base.update(kw)
    return CreditRecord(**base)  # type: ignore[arg-type]


def _marks(mark: str) -> set[str]:
    return set(mark.split("/"))


def test_every_supervision_class_has_a_meaning_and_back() -> None:
    tiers = {t.credit_class for t in rules.SUPERVISION_TIERS}
    assert {m.credit_class for m in CLASS_MEANINGS} == tiers
    assert tiers >= BENEFIT_CLASSES


def test_every_rule_in_the_module_names_its_source_with_a_legend_mark() -> None:
    sources = [m.source for m in CLASS_MEANINGS] + [b.source for b in (*XINYI_PLUS, *TRUST_REWARDS)]
    sources += [v for v in vars(credit_class).values() if isinstance(v, rules.Source)]
    for source in sources:
        assert source.document.strip(), source
        assert _marks(source.mark) <= MARKS, source


def test_every_source_written_in_the_module_carries_a_mark() -> None:
    """A scan of the text, as a reviewer reads it: each Source(...) ends with a legend mark."""
    text = Path(credit_class.__file__).read_text(encoding="utf-8")
    calls = re.findall(r"Source\(\s*\"[^\"]+\",\s*\"([^\"]+)\"\s*\)", text)
    assert calls and all(_marks(m) <= MARKS for m in calls)


def test_benefits_are_the_plans_names_without_invented_numbers() -> None:
    assert [b.name for b in XINYI_PLUS] == ["信易行", "信易贷", "信易修"]  # §18 Xiamen #19, Tianjin #10
    assert [b.name for b in TRUST_REWARDS] == ["优先办理", "重点宣传", "推优评优"]  # §18 Zaozhuang #9
    for b in (*XINYI_PLUS, *TRUST_REWARDS):
        assert b.source.mark == "[P]" and not re.search(r"\d", b.name + b.en)


def test_every_tier_measure_has_english() -> None:
    for tier in rules.SUPERVISION_TIERS:
        for measure in tier.measures:
            if "信易+" not in measure and measure not in {b.name for b in TRUST_REWARDS}:
                assert measure in MEASURES_EN, measure


@pytest.mark.parametrize(
    ("name", "records", "cls"),
    [
        ("no records", [], TRUSTWORTHY),
        ("a minor penalty", [rec(severity=Severity.MINOR)], TRUSTWORTHY),
        ("a general penalty this year", [rec()], WATCH),
        ("grade B", [rec(RecordKind.EVALUATION, grade="B")], WATCH),
        ("a serious penalty", [rec(severity=Severity.SERIOUS)], DISHONEST),
        ("a breached commitment", [rec(RecordKind.COMMITMENT_BREACH)], DISHONEST),
        ("on the serious list", [rec(RecordKind.DISHONESTY_LIST, Severity.SERIOUS)], SERIOUSLY_DISHONEST),
        (
            "a repaired serious penalty",
            [rec(severity=Severity.SERIOUS, status=RecordStatus.REPAIRED)],
            TRUSTWORTHY,
        ),
    ],
)
def test_standing_class_and_meaning(name: str, records: list[CreditRecord], cls: str) -> None:
    st = standing(records, TODAY)
    assert st.credit_class == cls and st.meaning == meaning_of(cls)
    assert st.sample_rate == rules.supervision_tier(cls).sample_rate


def test_only_a_trustworthy_subject_is_offered_benefits() -> None:
    good = standing([rec(RecordKind.EVALUATION, grade="AAA")], TODAY)
    assert good.xinyi == XINYI_PLUS and good.rewards == TRUST_REWARDS and good.grade == "AAA"
    # the tier's "信易+ 激励" and 优先办理 are spelled out as benefits, not repeated as supervision
    assert good.measures == ("减少检查频次",)
    for records in ([rec()], [rec(severity=Severity.SERIOUS)], [rec(RecordKind.DISHONESTY_LIST)]):
        st = standing(records, TODAY)
        assert st.xinyi == () and st.rewards == ()
        assert st.measures == rules.supervision_tier(st.credit_class).measures


def test_standing_is_unverified_while_the_class_rule_is_a_placeholder() -> None:
    """[R] rests under every class: the screen must add rules.UNVERIFIED_NOTE."""
    assert not rules.CLASS_RULE_SOURCE.verified
    assert not standing([], TODAY).verified
    assert rules.CLASS_RULE_SOURCE in standing([], TODAY).sources
