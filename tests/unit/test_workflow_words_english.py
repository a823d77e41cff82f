"""The words workflows/ hand the chat carry their English where they live (issue #9): commitment types,
fulfilment states, the reason a subject is barred, listed matters, objection reasons, fulfilment methods,
regime names, driver grade labels and the provisional-rule note. Every one has English without Chinese."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.app import App
from models import CreditRecord, Fulfilment, RecordKind, RecordStatus, Severity, Subject, SubjectKind
from workflows import rules
from workflows.commitments import COMMITMENT_TYPES, FULFILMENT_LABELS, FULFILMENT_LABELS_EN, barred_reason

CJK = re.compile(r"[\u4e00-\u9fff]")


def workflow_words() -> list[tuple[str, str]]:
    """(Chinese, English) of every word workflows/ give the chat in both languages."""
    return [
        *(
            pair
            for t in COMMITMENT_TYPES.values()
            for pair in (
                (t.name, t.name_en),
                (t.meaning, t.meaning_en),
                (t.obligation, t.obligation_en),
                (t.breach, t.breach_en),
            )
        ),
        *((label, FULFILMENT_LABELS_EN[state]) for state, label in FULFILMENT_LABELS.items()),
        *((m.name, m.name_en) for m in rules.COMMITMENT_MATTERS),
        *rules.OBJECTION_REASONS_EN.items(),
        *rules.FULFILMENT_METHODS_EN.items(),
        *((r.key, r.key_en) for r in rules.REGIMES),
        *((b.label, b.label_en) for b in rules.DRIVER_GRADE_BANDS),
        (rules.UNVERIFIED_NOTE, rules.UNVERIFIED_NOTE_EN),
    ]


def test_every_word_workflows_give_the_chat_has_english_without_chinese() -> None:
    words = workflow_words()
    assert len(words) == 6 * 4 + 4 + 4 + 8 + 3 + 3 + 4 + 1
    assert [zh for zh, en in words if not CJK.search(zh) or not en.strip() or CJK.search(en)] == []


def test_the_english_tables_name_exactly_the_stored_values() -> None:
    assert set(FULFILMENT_LABELS_EN) == set(FULFILMENT_LABELS) == set(Fulfilment)
    assert tuple(rules.OBJECTION_REASONS_EN) == rules.OBJECTION_REASONS
    assert tuple(rules.FULFILMENT_METHODS_EN) == rules.FULFILMENT_METHODS
    # The exact wording the catalogs used for the note before workflows/ carried it.
    assert rules.UNVERIFIED_NOTE_EN == "subject to the issuing unit's answer"


def test_stored_names_lead_back_to_their_english() -> None:
    """Commitments and repair applications store the Chinese name; the chat finds the English by it."""
    for m in rules.COMMITMENT_MATTERS:
        assert rules.matter_named(m.name) == m
    assert rules.matter_named("参加市道路运输协会诚信经营承诺活动") is None  # a typed 承诺事由
    for r in rules.REGIMES:
        assert rules.regime_by_key(r.key) == r
    assert rules.regime_by_key("令99号") is None


@pytest.mark.parametrize(
    ("kind", "zh", "en"),
    [
        (
            RecordKind.PENALTY,
            "存在未修复的严重失信记录（枣交罚〔2026〕9号）",
            "you have an unrepaired serious dishonesty record (枣交罚〔2026〕9号)",
        ),
        (
            RecordKind.COMMITMENT_BREACH,
            "存在未修复的违背承诺记录（2026-06-01）",
            "you have an unrepaired record of a breached commitment (2026-06-01)",
        ),
    ],
)
async def test_the_reason_a_subject_is_barred_comes_in_both_languages(
    app: App, kind: RecordKind, zh: str, en: str
) -> None:
    async with app.sessions() as s, s.begin():
        subject = Subject(
            kind=SubjectKind.ENTERPRISE, name="枣庄市顺达运输有限公司", uscc="91370400MA3C5X7K2L"
        )
        s.add(subject)
        await s.flush()
        assert subject.id is not None
        subject_id = subject.id
        s.add(
            CreditRecord(
                subject_id=subject_id,
                kind=kind,
                severity=Severity.SERIOUS,
                status=RecordStatus.PUBLISHED,
                decision_no="枣交罚〔2026〕9号",
                decision_date=date(2026, 6, 1),
                authority="枣庄市交通运输局",
            )
        )
    async with app.sessions() as s:
        reason = await barred_reason(s, subject_id)
    assert reason is not None
    assert (reason.text("zh"), reason.text("en")) == (zh, en)
