"""An enterprise's credit records: publicity windows and when (or why not) each can be repaired.
Periods and regimes: rules.REGIMES (domain-rules §4). `repair_standing` is what a repair application
would meet today (repair.start's checks, in its order), so the list never promises what start refuses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ApplicationStatus, CreditRecord, RecordKind, RecordStatus, RepairApplication, Severity
from workflows import rules
from workflows.applications import status_label
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
    waits_for_date_only: bool = False  # nothing but the minimum period stands in the way
    application_id: int | None = None  # a repair application already open for the record


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
        if record.kind == RecordKind.PENALTY:
            zh = "须先履行行政处罚决定的义务（如缴纳罚款、完成整改）"
            en = "The penalty's obligations (fine, rectification) must be fulfilled first"
        else:  # 严重失信主体名单, 违背信用承诺: §4.3 condition (2), the behaviour corrected
            zh = "须先纠正失信行为、履行相关法定义务，并经认定单位登记"
            en = "The behaviour must be corrected and the obligations fulfilled (recorded by the authority) first"
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
            waits_for_date_only=True,
        )
    return RepairEligibility(
        True,
        from_date,
        accepted_on,
        f"现在即可申请修复{note_zh}。",
        f"You can apply for repair now{note_en}.",
    )


def repair_standing(
    record: CreditRecord,
    today: date,
    calendar: WorkdayCalendar,
    *,
    application: RepairApplication | None,
    refusal: str | None,
) -> RepairEligibility:
    """Pure: what a repair application for this record meets today, checked in repair.start's order —
    an application already open for it, the record's own eligibility, then the subject's refusal
    grounds (rules.REPAIR_*: local rules [F]/[S], so the text carries UNVERIFIED_NOTE)."""
    if application is not None and application.status == ApplicationStatus.DRAFT:
        # repair.start resumes a draft whatever else holds.
        return RepairEligibility(
            True,
            None,
            None,
            "已有未提交的修复申请草稿，可继续填写。",
            "A repair draft is waiting; continue it.",
        )
    if application is not None:
        label = status_label(application.status)
        if application.status == ApplicationStatus.NEEDS_MORE:
            zh = f"修复申请待补正（{application.ref_no}），请在「我的申请」中上传补正材料。"
        else:
            zh = f"修复申请审核中（{application.ref_no}，{label}），请勿重复申请。"
        en = f"Repair application {application.ref_no} is {status_label(application.status, 'en')}."
        return RepairEligibility(False, None, None, zh, en, application_id=application.id)
    elig = repair_eligibility(record, today, calendar)
    if refusal is None or elig.from_date is None:
        return elig
    refused_zh = f"{refusal}，不予受理修复申请（{rules.UNVERIFIED_NOTE}）"
    refused_en = "a configured refusal ground applies (the deciding authority's answer prevails)"
    if elig.eligible_now:
        return replace(elig, eligible_now=False, zh=f"{refused_zh}。", en=f"Refused: {refused_en}.")
    return replace(
        elig,
        waits_for_date_only=False,
        zh=f"目前{refused_zh}；另，{elig.zh}",
        en=f"Refused now: {refused_en}. Also: {elig.en}",
    )


async def repair_standings(
    session: AsyncSession, records: Sequence[CreditRecord], today: date, calendar: WorkdayCalendar
) -> dict[int, RepairEligibility]:
    """repair_standing for each record (by id), with the same queries repair.start runs."""
    from workflows import repair  # imported here: repair imports this module

    grounds: dict[int, str | None] = {}
    standings: dict[int, RepairEligibility] = {}
    for record in records:
        if record.id is None:
            continue
        if record.subject_id not in grounds:  # the refusal grounds are the subject's, not the record's
            grounds[record.subject_id] = await repair.refusal_ground(session, record.subject_id, today)
        standings[record.id] = repair_standing(
            record,
            today,
            calendar,
            application=await repair.open_application(session, record.id),
            refusal=grounds[record.subject_id],
        )
    return standings


async def published_records(session: AsyncSession, subject_id: int) -> list[CreditRecord]:
    """The subject's records still 公示中: what its credit class is read from (lookup.credit_class)."""
    stmt = select(CreditRecord).where(
        CreditRecord.subject_id == subject_id, CreditRecord.status == RecordStatus.PUBLISHED
    )
    return list((await session.exec(stmt)).all())


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
