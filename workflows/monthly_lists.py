"""联合奖惩 by list: the monthly 对象清单 (subjects newly designated for 守信激励 or 失信惩戒) and 成效清单
(what the credit work achieved), domain-rules §18 (Zaozhuang 2021 #9, Tianjin 2023 #9, Wenshui 2024 #9).

Months are Beijing months: date columns hold local dates; stored datetimes (aware UTC) are compared
with the month's bounds converted to UTC. One query per category over the date range, with the subject
joined; the year so far is read in the same queries so the chart needs no extra round trips.
File formats live in workflows/monthly_report.py."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

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
    ObligationFulfilment,
    RecordKind,
    RecordStatus,
    RepairApplication,
    RiskWarning,
    Severity,
    Subject,
    SubjectKind,
)
from workflows.clock import SHANGHAI, to_local
from workflows.commitments import COMMITMENT_TYPES, FULFILMENT_LABELS
from workflows.errors import UserError
from workflows.labels import RECORD_KIND, label
from workflows.reminders import KIND_LABELS
from workflows.risk import load_rules
from workflows.validation import mask_id_number

# 对象清单 categories
REWARD = "守信激励"
PUNISH = "失信惩戒"
# 成效清单 categories
REPAIRED = "信用修复通过"
CORRECTED = "异议更正"
INTERVIEWED = "约谈已开展"
KEPT = "承诺践诺"
BROKEN = "承诺违诺"
ON_TIME = "期限按时办结"
LATE = "期限超期办结"
OVERDUE = "期限超期未办"

DESIGNATION_CATEGORIES: tuple[str, ...] = (REWARD, PUNISH)
RESULT_CATEGORIES: tuple[str, ...] = (REPAIRED, CORRECTED, INTERVIEWED, KEPT, BROKEN, ON_TIME, LATE, OVERDUE)
SUMMARY_CATEGORIES: tuple[str, ...] = DESIGNATION_CATEGORIES + RESULT_CATEGORIES
CHART_SERIES: tuple[str, ...] = (REWARD, PUNISH, REPAIRED, CORRECTED, INTERVIEWED, BROKEN)

REWARD_GRADE, PUNISH_GRADE = "AAA", "B"  # 优良 / 不合格 (domain-rules §12 D5, §13)
CORRECTED_OUTCOME = "更正"  # Objection.outcome as workflows/objections.decide stores it
NONE_SHOWN = "—"
SUBJECT_TYPES = {SubjectKind.ENTERPRISE: "企业", SubjectKind.DRIVER: "驾驶员"}


@dataclass(frozen=True)
class DesignationRow:
    """One row of the 对象清单: a subject and one reason it was designated in the month."""

    HEADERS: ClassVar[tuple[str, ...]] = (
        "类别",
        "主体名称",
        "统一社会信用代码或从业资格证号",
        "主体类型",
        "认定事由",
        "认定日期",
        "认定单位",
        "主管部门",
    )

    category: str  # 守信激励 / 失信惩戒
    subject_name: str
    code: str  # USCC, or the driver's certificate number masked: the list leaves the system
    subject_type: str  # 企业 / 驾驶员
    reason: str
    day: date  # Beijing date
    authority: str
    department: str

    def cells(self) -> tuple[str | date, ...]:
        return (
            self.category,
            self.subject_name,
            self.code,
            self.subject_type,
            self.reason,
            self.day,
            self.authority,
            self.department,
        )


@dataclass(frozen=True)
class ResultRow:
    """One row of the 成效清单: one item of credit work completed (or overdue) in the month."""

    HEADERS: ClassVar[tuple[str, ...]] = ("类别", "编号", "主体名称", "事项", "日期", "说明")

    category: str
    number: str  # 申请编号 / 承诺编码 / 决定书文号; never an internal id
    subject_name: str
    matter: str
    day: date  # Beijing date
    note: str

    def cells(self) -> tuple[str | date, ...]:
        return (self.category, self.number, self.subject_name, self.matter, self.day, self.note)


@dataclass(frozen=True)
class MonthlyLists:
    year: int
    month: int
    as_of: date  # the day the lists were drawn up; deadlines are judged overdue up to counted_to
    designations: list[DesignationRow]
    results: list[ResultRow]
    summary: dict[str, int]  # SUMMARY_CATEGORIES → count, in that order
    by_month: dict[str, list[int]]  # CHART_SERIES → 12 counts (months after `month` are 0)

    @property
    def counted_to(self) -> date:
        """Deadlines still open are 超期 when due before this day: the month's last day, or as_of."""
        return min(month_days(self.year, self.month)[1], self.as_of)


# ---------------------------------------------------------------------------------------------------
# Months
# ---------------------------------------------------------------------------------------------------

_MONTH_FORMS = (
    re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})"),  # 2026-10, 2026/10, 2026.10
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月?份?"),  # 2026年10月
    re.compile(r"(\d{4})(\d{2})"),  # 202610
)


def parse_month(text: str) -> tuple[int, int]:
    """ "2026-10", "2026/10", "202610", "2026年10月" (full-width digits too) → (2026, 10)."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    for form in _MONTH_FORMS:
        if m := form.fullmatch(cleaned):
            year, month = int(m.group(1)), int(m.group(2))
            if not 1 <= month <= 12:
                raise UserError(
                    f"月份应在 1 到 12 之间：「{text.strip()}」。",
                    f"The month must be 1 to 12: {text.strip()!r}.",
                )
            if not 2000 <= year <= 2099:
                raise UserError(f"年份「{year}」超出范围。", f"Year {year} is out of range.")
            return year, month
    raise UserError(
        f"无法识别月份「{text.strip()}」，请按 2026-10 或 2026年10月 的格式输入。",
        f"Unrecognised month {text.strip()!r}; write it as 2026-10.",
    )


def previous_month(day: date) -> tuple[int, int]:
    """The month before the one `day` falls in (the monthly lists are drawn up for the month just ended)."""
    last = day.replace(day=1) - timedelta(days=1)
    return last.year, last.month


def month_days(year: int, month: int) -> tuple[date, date]:
    """The first and the last day of a month."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _utc_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00) in Beijing time, as aware UTC for the stored columns."""
    start = datetime.combine(first, time(), SHANGHAI).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)
    return start, end


def _local_day(stored: datetime) -> date:
    return to_local(stored).date()


def _text(value: str | None) -> str:
    return (value or "").strip() or NONE_SHOWN


def _subject_code(subject: Subject) -> str:
    if subject.kind == SubjectKind.DRIVER:
        return mask_id_number(subject.cert_no) if subject.cert_no else NONE_SHOWN
    return _text(subject.uscc)


def _subject_name(subject: Subject | None) -> str:
    return _text(subject.name) if subject is not None else NONE_SHOWN


def _real_ref_no(ref_no: str | None) -> str | None:
    """Drafts carry a placeholder number built from internal ids; it is not shown."""
    return None if not ref_no or ref_no.startswith("DRAFT-") else ref_no


# ---------------------------------------------------------------------------------------------------
# 对象清单: one query per category over [first, last]
# ---------------------------------------------------------------------------------------------------


def _designation(
    category: str, subject: Subject, reason: str, day: date, authority: str | None
) -> DesignationRow:
    return DesignationRow(
        category=category,
        subject_name=_subject_name(subject),
        code=_subject_code(subject),
        subject_type=SUBJECT_TYPES.get(SubjectKind(subject.kind), NONE_SHOWN),
        reason=reason,
        day=day,
        authority=_text(authority),
        department=_text(subject.department),
    )


async def _records(
    session: AsyncSession, first: date, last: date, kind: RecordKind, *conditions: Any
) -> list[tuple[CreditRecord, Subject]]:
    """Records of one kind decided in [first, last]; withdrawn (revoked or corrected away) ones never count."""
    stmt = (
        select(CreditRecord, Subject)
        .join(Subject, col(Subject.id) == col(CreditRecord.subject_id))
        .where(
            CreditRecord.kind == kind,
            col(CreditRecord.decision_date) >= first,
            col(CreditRecord.decision_date) <= last,
            CreditRecord.status != RecordStatus.WITHDRAWN,
            *conditions,
        )
    )
    return list((await session.exec(stmt)).all())


def _with_no(prefix: str, number: str | None) -> str:
    return f"{prefix} {number.strip()}" if number and number.strip() else prefix


def _evaluation_reason(record: CreditRecord, subject: Subject) -> str:
    scheme = "质量信誉考核" if subject.kind == SubjectKind.ENTERPRISE else "信用评价"
    period = (
        f"{record.assessment_year}年度"
        if record.assessment_year
        else (record.decision_no or "").replace(scheme, "").strip()  # "2025年度质量信誉考核" → "2025年度"
    )
    return f"{scheme} {record.grade}（{period}）" if period else f"{scheme} {record.grade}"


async def _evaluations(session: AsyncSession, first: date, last: date) -> list[DesignationRow]:
    """信用评价 / 质量信誉考核: AAA → 守信激励, B → 失信惩戒."""
    rows = await _records(
        session,
        first,
        last,
        RecordKind.EVALUATION,
        col(CreditRecord.grade).in_([REWARD_GRADE, PUNISH_GRADE]),
    )
    return [
        _designation(
            REWARD if record.grade == REWARD_GRADE else PUNISH,
            subject,
            _evaluation_reason(record, subject),
            record.decision_date,
            record.authority,
        )
        for record, subject in rows
    ]


async def _driver_cycles(session: AsyncSession, first: date, last: date) -> list[DesignationRow]:
    """诚信考核 cycles endorsed (签注) in the range: AAA → 守信激励, B → 失信惩戒."""
    stmt = (
        select(AssessmentCycle, Subject)
        .join(Subject, col(Subject.id) == col(AssessmentCycle.subject_id))
        .where(
            col(AssessmentCycle.endorsed_on) >= first,
            col(AssessmentCycle.endorsed_on) <= last,
            col(AssessmentCycle.grade).in_([REWARD_GRADE, PUNISH_GRADE]),
        )
    )
    out = []
    for cycle, subject in (await session.exec(stmt)).all():
        assert cycle.endorsed_on is not None  # the range excludes NULL
        reason = f"诚信考核 {cycle.grade}（考核周期 {cycle.start} 至 {cycle.end}，扣 {cycle.points} 分）"
        category = REWARD if cycle.grade == REWARD_GRADE else PUNISH
        out.append(_designation(category, subject, reason, cycle.endorsed_on, None))
    return out


async def _serious_penalties(session: AsyncSession, first: date, last: date) -> list[DesignationRow]:
    rows = await _records(session, first, last, RecordKind.PENALTY, CreditRecord.severity == Severity.SERIOUS)
    out = []
    for record, subject in rows:
        reason = _with_no("严重失信行政处罚", record.decision_no)
        if record.penalty_type:
            reason += f"（{record.penalty_type}）"
        out.append(_designation(PUNISH, subject, reason, record.decision_date, record.authority))
    return out


async def _dishonesty_lists(session: AsyncSession, first: date, last: date) -> list[DesignationRow]:
    rows = await _records(session, first, last, RecordKind.DISHONESTY_LIST)
    return [
        _designation(
            PUNISH,
            subject,
            _with_no("列入严重失信主体名单", record.decision_no),
            record.decision_date,
            record.authority,
        )
        for record, subject in rows
    ]


async def _commitment_breaches(session: AsyncSession, first: date, last: date) -> list[DesignationRow]:
    rows = await _records(session, first, last, RecordKind.COMMITMENT_BREACH)
    return [
        _designation(
            PUNISH,
            subject,
            f"违背信用承诺（{record.decision_no.strip()}）" if record.decision_no.strip() else "违背信用承诺",
            record.decision_date,
            record.authority,
        )
        for record, subject in rows
    ]


async def _risk_warnings(session: AsyncSession, first: date, last: date) -> list[DesignationRow]:
    """Warnings raised in the range, named by the rule they were raised under."""
    start, end = _utc_bounds(first, last)
    stmt = (
        select(RiskWarning, Subject)
        .join(Subject, col(Subject.id) == col(RiskWarning.subject_id))
        .where(col(RiskWarning.raised_at) >= start, col(RiskWarning.raised_at) < end)
    )
    rows = list((await session.exec(stmt)).all())
    names: dict[str, str] | None = None
    out = []
    for warning, subject in rows:
        name = str(warning.details.get("rule") or "").strip()  # the rule's name when it was raised
        if not name:
            if names is None:
                names = {rule.id: rule.name for rule in load_rules()}
            name = names.get(warning.rule_id, warning.rule_id)
        out.append(_designation(PUNISH, subject, f"风险预警：{name}", _local_day(warning.raised_at), None))
    return out


DESIGNATION_QUERIES = (
    _evaluations,
    _driver_cycles,
    _serious_penalties,
    _dishonesty_lists,
    _commitment_breaches,
    _risk_warnings,
)


# ---------------------------------------------------------------------------------------------------
# 成效清单
# ---------------------------------------------------------------------------------------------------


def _record_title(record: CreditRecord | None) -> str:
    if record is None:
        return NONE_SHOWN
    return _with_no(label(RECORD_KIND, RecordKind(record.kind)), record.decision_no)


async def _approved_repairs(session: AsyncSession, first: date, last: date) -> list[ResultRow]:
    start, end = _utc_bounds(first, last)
    stmt = (
        select(RepairApplication, Subject, CreditRecord)
        .join(Subject, col(Subject.id) == col(RepairApplication.subject_id))
        .join(CreditRecord, col(CreditRecord.id) == col(RepairApplication.record_id))
        .where(
            RepairApplication.status == ApplicationStatus.APPROVED,
            col(RepairApplication.decided_at) >= start,
            col(RepairApplication.decided_at) < end,
        )
    )
    out = []
    for app, subject, record in (await session.exec(stmt)).all():
        assert app.decided_at is not None  # the range excludes NULL
        out.append(
            ResultRow(
                REPAIRED,
                _text(_real_ref_no(app.ref_no)),
                _subject_name(subject),
                f"信用修复：{_record_title(record)}",
                _local_day(app.decided_at),
                "准予修复，终止公示",
            )
        )
    return out


async def _corrected_objections(session: AsyncSession, first: date, last: date) -> list[ResultRow]:
    start, end = _utc_bounds(first, last)
    stmt = (
        select(Objection, Subject, CreditRecord, DriverViolation)
        .join(Subject, col(Subject.id) == col(Objection.subject_id))
        .outerjoin(CreditRecord, col(CreditRecord.id) == col(Objection.record_id))
        .outerjoin(DriverViolation, col(DriverViolation.id) == col(Objection.violation_id))
        .where(
            Objection.outcome == CORRECTED_OUTCOME,
            col(Objection.decided_at) >= start,
            col(Objection.decided_at) < end,
        )
    )
    out = []
    for obj, subject, record, violation in (await session.exec(stmt)).all():
        assert obj.decided_at is not None
        if violation is not None:
            about = f"驾驶员违章扣分：{violation.item}（{violation.occurred_on}，{violation.points} 分）"
        else:
            about = _record_title(record)
        note = f"异议理由：{_text(obj.reason)}"
        if obj.outcome_reason and obj.outcome_reason.strip():
            note += f"；处理说明：{obj.outcome_reason.strip()}"
        out.append(
            ResultRow(
                CORRECTED,
                _text(_real_ref_no(obj.ref_no)),
                _subject_name(subject),
                f"异议更正：{about}",
                _local_day(obj.decided_at),
                note,
            )
        )
    return out


def _interview_note(outcome: dict[str, Any]) -> str:
    parts = ["已约谈"]
    items = outcome.get("rectification_items") or []
    if items:
        parts.append(f"整改事项 {len(items)} 项")
    if due := outcome.get("rectification_due"):
        parts.append(f"整改期限 {due}")
    if outcome.get("commitment_signed"):
        parts.append("已签订信用承诺")
    return "；".join(parts)


async def _held_interviews(session: AsyncSession, first: date, last: date) -> list[ResultRow]:
    start, end = _utc_bounds(first, last)
    stmt = (
        select(Interview, Subject)
        .join(Subject, col(Subject.id) == col(Interview.subject_id))
        .where(
            Interview.status == InterviewStatus.HELD,
            col(Interview.scheduled_at) >= start,
            col(Interview.scheduled_at) < end,
        )
    )
    return [
        ResultRow(
            INTERVIEWED,
            NONE_SHOWN,  # interviews carry no document number
            _subject_name(subject),
            f"约谈：{interview.reason.strip()}" if interview.reason.strip() else "约谈",
            _local_day(interview.scheduled_at),
            _interview_note(interview.outcome or {}),
        )
        for interview, subject in (await session.exec(stmt)).all()
    ]


async def _decided_commitments(session: AsyncSession, first: date, last: date) -> list[ResultRow]:
    """承诺—践诺 closed loop: 全部履行 → 践诺; 部分履行 / 全部未履行 → 违诺."""
    stmt = (
        select(Commitment, Subject)
        .join(Subject, col(Subject.id) == col(Commitment.subject_id))
        .where(
            col(Commitment.fulfilment).in_([Fulfilment.FULL, Fulfilment.PARTIAL, Fulfilment.NONE]),
            col(Commitment.fulfilment_decided_on) >= first,
            col(Commitment.fulfilment_decided_on) <= last,
        )
    )
    out = []
    for commitment, subject in (await session.exec(stmt)).all():
        assert commitment.fulfilment_decided_on is not None
        kind = COMMITMENT_TYPES[CommitmentKind(commitment.kind)].name
        matter = f"{kind}：{commitment.matter.strip()}" if commitment.matter.strip() else kind
        fulfilment = Fulfilment(commitment.fulfilment)
        out.append(
            ResultRow(
                KEPT if fulfilment == Fulfilment.FULL else BROKEN,
                _text(commitment.code),
                _subject_name(subject),
                matter,
                commitment.fulfilment_decided_on,
                FULFILMENT_LABELS[fulfilment],
            )
        )
    return out


RESULT_QUERIES = (_approved_repairs, _corrected_objections, _held_interviews, _decided_commitments)


# Deadline.ref_kind → the column holding the number people know the item by.
_REF_NUMBERS: dict[str, tuple[Any, Any]] = {
    "repair_application": (RepairApplication.id, RepairApplication.ref_no),
    "objection": (Objection.id, Objection.ref_no),
    "commitment": (Commitment.id, Commitment.code),
    "credit_record": (CreditRecord.id, CreditRecord.decision_no),
    "obligation_fulfilment": (ObligationFulfilment.id, ObligationFulfilment.ref_no),
}


async def _ref_numbers(session: AsyncSession, deadlines: Iterable[Deadline]) -> dict[tuple[str, int], str]:
    """(ref_kind, ref_id) → the item's own number: one query per kind of item."""
    wanted: dict[str, set[int]] = {}
    for d in deadlines:
        if d.ref_kind in _REF_NUMBERS:
            wanted.setdefault(d.ref_kind, set()).add(d.ref_id)
    out: dict[tuple[str, int], str] = {}
    for ref_kind, ids in wanted.items():
        id_col, number_col = _REF_NUMBERS[ref_kind]
        for ref_id, number in (
            await session.exec(select(id_col, number_col).where(col(id_col).in_(ids)))
        ).all():
            if shown := _real_ref_no(number):
                out[(ref_kind, int(ref_id))] = shown.strip()
    return out


async def _deadlines(session: AsyncSession, first: date, last: date, counted_to: date) -> list[ResultRow]:
    """Done in the month (on time: done on or before the due day; late: after it), and still open at
    `counted_to` though due before it. "Open at counted_to" includes deadlines done only later, so a
    month's list reads the same whether it is drawn up on its last day or weeks after."""
    start, end = _utc_bounds(first, last)
    _, open_until = _utc_bounds(counted_to, counted_to)
    stmt = (
        select(Deadline, Subject)
        .outerjoin(Subject, col(Subject.id) == col(Deadline.subject_id))
        .where(
            or_(
                (Deadline.status == DeadlineStatus.DONE)
                & (col(Deadline.done_at) >= start)
                & (col(Deadline.done_at) < end),
                (col(Deadline.due_on) < counted_to)
                & (
                    (Deadline.status == DeadlineStatus.OPEN)
                    | ((Deadline.status == DeadlineStatus.DONE) & (col(Deadline.done_at) >= open_until))
                ),
            )
        )
    )
    rows = list((await session.exec(stmt)).all())
    numbers = await _ref_numbers(session, (d for d, _ in rows))
    out = []
    for deadline, subject in rows:
        what = KIND_LABELS.get(deadline.kind, ("办理期限", "staff"))[0]
        number = numbers.get((deadline.ref_kind, deadline.ref_id), what)
        done_day = _local_day(deadline.done_at) if deadline.done_at is not None else None
        due = deadline.due_on
        if done_day is not None and first <= done_day <= last:
            late_days = (done_day - due).days
            category = ON_TIME if late_days <= 0 else LATE
            note = f"应于 {due} 前办结，{done_day} 办结"
            if late_days > 0:
                note += f"，超期 {late_days} 天（自然日）"
            out.append(ResultRow(category, number, _subject_name(subject), what, done_day, note))
        if due < counted_to and (done_day is None or done_day > counted_to):
            late_days = (counted_to - due).days
            note = f"应于 {due} 前办结，截至 {counted_to} 仍未办结，已超期 {late_days} 天（自然日）"
            out.append(ResultRow(OVERDUE, number, _subject_name(subject), what, due, note))
    return out


# ---------------------------------------------------------------------------------------------------
# Assembly (pure)
# ---------------------------------------------------------------------------------------------------


def _unique_designations(rows: Iterable[DesignationRow]) -> list[DesignationRow]:
    """One row per (category, subject, reason) and month: the earliest day is kept."""
    best: dict[tuple[str, str, str, str, int, int], DesignationRow] = {}
    for row in sorted(rows, key=lambda r: r.day):
        best.setdefault(
            (row.category, row.subject_name, row.code, row.reason, row.day.year, row.day.month), row
        )
    return list(best.values())


def _in(first: date, last: date, rows: Iterable[Any]) -> list[Any]:
    return [r for r in rows if first <= r.day <= last]


def assemble(
    year: int,
    month: int,
    as_of: date,
    year_designations: Sequence[DesignationRow],
    year_results: Sequence[ResultRow],
    deadline_rows: Sequence[ResultRow],
) -> MonthlyLists:
    """The lists of one month from the rows of the year so far (January to that month)."""
    first, last = month_days(year, month)
    designations = _unique_designations(year_designations)
    order = {c: i for i, c in enumerate(SUMMARY_CATEGORIES)}
    month_designations = sorted(
        _in(first, last, designations),
        key=lambda r: (order[r.category], r.day, r.subject_name, r.reason),
    )
    month_results = sorted(
        [*_in(first, last, year_results), *deadline_rows],
        key=lambda r: (order[r.category], r.day, r.number, r.subject_name),
    )
    counts = Counter(r.category for r in [*month_designations, *month_results])
    per_month = Counter(
        (r.category, r.day.month) for r in [*designations, *year_results] if r.day.year == year
    )
    return MonthlyLists(
        year=year,
        month=month,
        as_of=as_of,
        designations=month_designations,
        results=month_results,
        summary={category: counts[category] for category in SUMMARY_CATEGORIES},
        by_month={
            series: [per_month[(series, m)] if m <= month else 0 for m in range(1, 13)]
            for series in CHART_SERIES
        },
    )


async def monthly_lists(session: AsyncSession, year: int, month: int, *, as_of: date) -> MonthlyLists:
    """The 对象清单 and 成效清单 of a Beijing month, with the counts of the year so far for the chart.
    `as_of` is today: a month not yet begun is refused; for the current month, deadlines are judged
    overdue as of today."""
    if (year, month) > (as_of.year, as_of.month):
        raise UserError(
            f"{year}年{month}月尚未到来，不能生成该月清单。",
            f"{year}-{month:02d} has not begun yet.",
        )
    first, last = month_days(year, month)
    year_start = date(year, 1, 1)
    designations: list[DesignationRow] = []
    for designation_query in DESIGNATION_QUERIES:
        designations += await designation_query(session, year_start, last)
    results: list[ResultRow] = []
    for result_query in RESULT_QUERIES:
        results += await result_query(session, year_start, last)
    counted_to = min(last, as_of)
    deadline_rows = await _deadlines(session, first, last, counted_to)
    return assemble(year, month, as_of, designations, results, deadline_rows)
