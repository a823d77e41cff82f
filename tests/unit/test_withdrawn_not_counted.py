"""A withdrawn (撤销 / 更正撤回) penalty, evaluation or driver deduction never counts: not in the risk scan,
not as a repair refusal ground, not as a bar to 告知承诺 / 容缺受理, not in the staff credit check.
Each case runs with the record published too, so the test shows the record would have counted."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.app import App
from models import (
    CreditRecord,
    DriverViolation,
    RecordKind,
    RecordStatus,
    Severity,
    Staff,
    StaffRole,
    Subject,
    SubjectKind,
)
from workflows import rules
from workflows.clock import FrozenClock, local_today
from workflows.commitments import barred_reason
from workflows.lookup import credit_summary
from workflows.repair import refusal_ground
from workflows.risk import RiskRule, scan

WITHDRAWN, PUBLISHED = RecordStatus.WITHDRAWN, RecordStatus.PUBLISHED
AUTHORITIES = ("枣庄市交通运输局", "枣庄市公安局交通警察支队", "枣庄市市场监督管理局")


def _rule(kind: str, threshold: int) -> RiskRule:
    return RiskRule(
        id=f"test_{kind}", name=kind, kind=kind, threshold=threshold, window_days=365, period="year",
        source="test",
    )  # fmt: skip


async def _subject(app: App, kind: SubjectKind = SubjectKind.ENTERPRISE) -> int:
    async with app.sessions() as s, s.begin():
        subject = (
            Subject(kind=kind, name="枣庄市顺达运输有限公司", uscc="91370400MA3C5X7K2L")
            if kind == SubjectKind.ENTERPRISE
            else Subject(
                kind=kind, name="张三", cert_no="370402198801011234", cert_first_issued=date(2020, 3, 1)
            )
        )
        s.add(subject)
        await s.flush()
        assert subject.id is not None
        return subject.id


async def _records(app: App, subject_id: int, today: date, *specs: tuple[RecordStatus, dict]) -> None:
    async with app.sessions() as s, s.begin():
        for n, (status, fields) in enumerate(specs):
            values = {
                "kind": RecordKind.PENALTY,
                "severity": Severity.GENERAL,
                "decision_no": f"枣交罚〔2026〕{n + 1}号",
                "decision_date": today - timedelta(days=30 + n),
                "authority": AUTHORITIES[n % len(AUTHORITIES)],
                **fields,
            }
            s.add(CreditRecord(subject_id=subject_id, status=status, **values))


async def _warned(app: App, clock: FrozenClock, rule: RiskRule) -> bool:
    async with app.sessions() as s, s.begin():
        return bool(await scan(s, today=local_today(clock), now=clock.now(), rules=[rule]))


@pytest.mark.parametrize("last", [WITHDRAWN, PUBLISHED])
async def test_a_withdrawn_penalty_does_not_count_toward_the_penalty_count_warning(
    app: App, clock: FrozenClock, last: RecordStatus
) -> None:
    today = local_today(clock)
    subject_id = await _subject(app)
    await _records(app, subject_id, today, (PUBLISHED, {}), (PUBLISHED, {}), (last, {}))
    assert await _warned(app, clock, _rule("penalty_count", 3)) is (last == PUBLISHED)


@pytest.mark.parametrize("last", [WITHDRAWN, PUBLISHED])
async def test_a_withdrawn_penalty_does_not_make_a_third_department(
    app: App, clock: FrozenClock, last: RecordStatus
) -> None:
    today = local_today(clock)
    subject_id = await _subject(app)
    # Three departments; the third one's only penalty is withdrawn.
    await _records(app, subject_id, today, (PUBLISHED, {}), (PUBLISHED, {}), (last, {}))
    assert await _warned(app, clock, _rule("distinct_authorities", 3)) is (last == PUBLISHED)


@pytest.mark.parametrize("status", [WITHDRAWN, PUBLISHED])
async def test_a_withdrawn_b_grade_raises_no_warning(
    app: App, clock: FrozenClock, status: RecordStatus
) -> None:
    subject_id = await _subject(app)
    evaluation = {"kind": RecordKind.EVALUATION, "grade": "B"}
    await _records(app, subject_id, local_today(clock), (status, evaluation))
    assert await _warned(app, clock, _rule("grade_b", 1)) is (status == PUBLISHED)


@pytest.mark.parametrize("status", [WITHDRAWN, PUBLISHED])
async def test_a_withdrawn_list_entry_raises_no_warning(
    app: App, clock: FrozenClock, status: RecordStatus
) -> None:
    subject_id = await _subject(app)
    listed = {"kind": RecordKind.DISHONESTY_LIST, "severity": Severity.SERIOUS}
    await _records(app, subject_id, local_today(clock), (PUBLISHED, listed), (status, listed))
    assert await _warned(app, clock, _rule("serious_lists", 2)) is (status == PUBLISHED)


@pytest.mark.parametrize("last", [WITHDRAWN, PUBLISHED])
async def test_a_withdrawn_penalty_is_not_a_repair_refusal_ground(
    app: App, clock: FrozenClock, last: RecordStatus
) -> None:
    today = local_today(clock)
    subject_id = await _subject(app)
    count = rules.REPAIR_REPEAT_OFFENCE_COUNT
    await _records(app, subject_id, today, *([(PUBLISHED, {})] * (count - 1)), (last, {}))
    async with app.sessions() as s:
        ground = await refusal_ground(s, subject_id, today)
    if last == WITHDRAWN:
        assert ground is None
    else:
        assert ground is not None and f"{count} 次" in ground


@pytest.mark.parametrize("status", [WITHDRAWN, PUBLISHED])
async def test_a_withdrawn_serious_penalty_does_not_bar_a_commitment(
    app: App, clock: FrozenClock, status: RecordStatus
) -> None:
    subject_id = await _subject(app)
    await _records(app, subject_id, local_today(clock), (status, {"severity": Severity.SERIOUS}))
    async with app.sessions() as s:
        reason = await barred_reason(s, subject_id)
    assert (reason is None) is (status == WITHDRAWN)


@pytest.mark.parametrize("status", [WITHDRAWN, PUBLISHED])
async def test_the_staff_credit_check_ignores_a_withdrawn_serious_penalty(
    app: App, clock: FrozenClock, status: RecordStatus
) -> None:
    subject_id = await _subject(app)
    await _records(app, subject_id, local_today(clock), (status, {"severity": Severity.SERIOUS}))
    summary = await _check(app, clock, subject_id)
    assert summary.credit_class == ("守信" if status == WITHDRAWN else "失信")
    assert summary.published_by_kind.get(RecordKind.PENALTY, 0) == (status == PUBLISHED)


@pytest.mark.parametrize("withdrawn", [True, False])
async def test_the_staff_credit_check_ignores_a_withdrawn_driver_deduction(
    app: App, clock: FrozenClock, withdrawn: bool
) -> None:
    subject_id = await _subject(app, SubjectKind.DRIVER)
    async with app.sessions() as s, s.begin():
        s.add(
            DriverViolation(
                subject_id=subject_id, occurred_on=local_today(clock) - timedelta(days=10),
                item="驾驶营运客车超速", points=20, withdrawn=withdrawn,
            )
        )  # fmt: skip
    summary = await _check(app, clock, subject_id)
    assert (summary.latest_grade, summary.credit_class) == (("AAA", "守信") if withdrawn else ("B", "警示"))


async def _check(app: App, clock: FrozenClock, subject_id: int):  # type: ignore[no-untyped-def]
    async with app.sessions() as s, s.begin():
        staff = Staff(name="核查员", department="信用科", role=StaffRole.REVIEWER)
        s.add(staff)
        await s.flush()
        return await credit_summary(s, subject_id, today=local_today(clock), staff=staff, purpose="选企")
