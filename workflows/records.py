"""An enterprise's credit records: publicity windows and when (or why not) each can be repaired.
Periods and regimes: rules.REGIMES (domain-rules §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CreditRecord, RecordKind, RecordStatus, Severity
from workflows import rules
from workflows.calendar import WorkdayCalendar, add_months


@dataclass(frozen=True)
class PublicityWindow:
    regime: rules.RepairRegime
    start: date
    min_end: date  # 最短公示期满之日
    max_end: date  # 公示截止期 (maximum)
    published: bool  # False: regime C 轻微, "原则上不公示"


def publicity_window(
    kind: RecordKind, severity: Severity, decision_date: date, stored_max_end: date | None = None
) -> PublicityWindow | None:
    """§4.2: periods run from the decision date (T1: that day not counted; T2: corresponding day).
    Evaluation grades are not 失信信息 and have no publicity window."""
    if kind == RecordKind.EVALUATION:
        return None
    regime = rules.regime_for(decision_date)
    period = regime.periods[severity]
    min_end = add_months(decision_date, period.min_months)
    max_end = stored_max_end or add_months(decision_date, period.max_months)
    return PublicityWindow(regime, decision_date, min_end, max_end, period.published)


@dataclass(frozen=True)
class RepairEligibility:
    eligible_now: bool
    from_date: date | None  # first day an application may be made; None when it never can
    accepted_on: date | None  # an application on a non-working day is accepted the next working day
    zh: str
    en: str


def repair_eligibility(record: CreditRecord, today: date, calendar: WorkdayCalendar) -> RepairEligibility:
    """Pure: the record's values and today's date decide it."""

    def never(zh: str, en: str) -> RepairEligibility:
        return RepairEligibility(False, None, None, zh, en)

    if record.kind == RecordKind.EVALUATION:
        return never(
            "信用评价等级不属于失信信息，无需修复；如认为评价有误，可提出异议。",
            "An evaluation grade is not negative information; object to it if it is wrong.",
        )
    if record.status == RecordStatus.REPAIRED:
        return never("已修复，已终止公示。", "Already repaired.")
    if record.status == RecordStatus.EXPIRED:
        return never("公示期已满并已撤下，无需申请。", "Publicity has ended; nothing to repair.")
    if record.status == RecordStatus.WITHDRAWN:
        return never("记录已撤销，无需修复。", "The record was withdrawn.")
    window = publicity_window(record.kind, record.severity, record.decision_date, record.publicity_end)
    assert window is not None
    if today > window.max_end:
        return never(
            f"最长公示期已于 {window.max_end} 届满，系统将自动撤下，无需申请。",
            f"The maximum period ended on {window.max_end}; it is taken down automatically.",
        )
    # §4.2: "最短公示期满后方可申请" — the day after min_end; 轻微 (min 0): once obligations are fulfilled.
    from_date = window.min_end + timedelta(days=1) if window.min_end > window.start else window.start
    fulfilled = record.obligations_fulfilled_on
    if fulfilled is None:
        zh = "须先履行行政处罚决定的义务（如缴纳罚款、完成整改）"
        en = "The penalty's obligations (fine, rectification) must be fulfilled first"
        if from_date > today:
            zh += f"；最短公示期 {window.min_end} 届满，{from_date} 起可申请。"
            en += f"; the minimum period ends {window.min_end}, apply from {from_date}."
        else:
            zh += "，之后即可申请。"
            en += ", then you may apply."
        return RepairEligibility(False, from_date, None, zh, en)
    from_date = max(from_date, fulfilled)
    accepted_on = calendar.next_workday(max(from_date, today))
    note_zh = "" if accepted_on == max(from_date, today) else f"（非工作日提交的，顺延至 {accepted_on} 受理）"
    note_en = "" if not note_zh else f" (accepted on the next working day, {accepted_on})"
    if from_date > today:
        return RepairEligibility(
            False,
            from_date,
            accepted_on,
            f"最短公示期 {window.min_end} 届满，{from_date} 起可申请修复{note_zh}。",
            f"The minimum period ends {window.min_end}; apply from {from_date}{note_en}.",
        )
    return RepairEligibility(
        True,
        from_date,
        accepted_on,
        f"现在即可申请修复{note_zh}。",
        f"You can apply for repair now{note_en}.",
    )


async def subject_records(
    session: AsyncSession, subject_id: int, *, offset: int = 0, limit: int = 5
) -> tuple[list[CreditRecord], int]:
    """One page of a subject's records, newest decision first, and the total."""
    base = select(CreditRecord).where(CreditRecord.subject_id == subject_id)
    total = (await session.exec(select(func.count()).select_from(base.subquery()))).one()
    page = (
        await session.exec(
            base.order_by(col(CreditRecord.decision_date).desc(), col(CreditRecord.id).desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    return list(page), int(total)


async def record_of_subject(session: AsyncSession, subject_id: int, record_id: int) -> CreditRecord | None:
    """A record only if it belongs to this subject: nobody sees what is not theirs."""
    record = await session.get(CreditRecord, record_id)
    if record is None or record.subject_id != subject_id:
        return None
    return record
