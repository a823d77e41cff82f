"""报送: what a subject owes by a working-day deadline, handed in through chat and checked by staff.

Two loops share it: the 整改情况 after a 约谈 whose outcome set rectification items (deadline kind
"rectification", domain-rules §8 [R]: "rectification follow-up → close"), and the missing materials of a
容缺受理 commitment (deadline kind "tolerance_materials", §7.4).

report: draft (description, files) ──submit──▶ submitted ──approve──▶ approved (deadline done; 容缺: the
                                                  │                   commitment's materials received)
                                                  └─reject──▶ rejected (reason; the deadline is open again
                                                              and the subject may report again)

While a report waits for staff the subject's deadline is closed: it handed in, and counting is by arrival
(§7.4), so it is not reminded or called overdue for staff's time. Sending it back opens the deadline again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    ApplicationStatus,
    Commitment,
    CommitmentKind,
    Deadline,
    DeadlineStatus,
    FollowUpReport,
    Interview,
    Staff,
    Subject,
)
from workflows import commitments, interviews, rules
from workflows.applications import close_deadlines, next_ref, set_deadline, transition
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar
from workflows.clock import to_local
from workflows.errors import ForgedAttempt, UserError
from workflows.materials import Upload, materials_of, store
from workflows.notices import notice_button, notify_staff, notify_subject

ENTITY = "follow_up_report"
RECTIFICATION = interviews.RECTIFICATION
TOLERANCE = commitments.TOLERANCE_MATERIALS

# Numbers: rules.FOLLOW_UP_REVIEW_WORKDAYS, rules.RECTIFICATION_CONTINUE_WORKDAYS. 容缺 gets no extension:
# its deadline may not exceed the matter's promised time (§7.4).
REVIEW_WORKDAYS = rules.FOLLOW_UP_REVIEW_WORKDAYS
CONTINUE_RECTIFICATION_WORKDAYS = rules.RECTIFICATION_CONTINUE_WORKDAYS
DESCRIPTION_MAX = 1000


@dataclass(frozen=True)
class ReportKind:
    """What one kind of report is called, and what staff may answer."""

    kind: str  # the Deadline.kind it answers
    ref_kind: str
    prefix: str  # of the 编号 people read out
    name: str
    name_en: str
    approve: str  # staff's two answers, as the buttons say them
    reject: str
    needs_description: bool


KINDS: dict[str, ReportKind] = {
    RECTIFICATION: ReportKind(
        RECTIFICATION,
        interviews.ENTITY,
        "ZG",
        "整改情况报告",
        "rectification report",
        "验收通过",
        "要求继续整改",
        True,
    ),
    TOLERANCE: ReportKind(
        TOLERANCE, "commitment", "BQ", "容缺补齐材料", "missing materials", "确认收齐", "要求补交", False
    ),
}
STATUS_LABELS = {
    ApplicationStatus.DRAFT: ("未提交", "not sent"),
    ApplicationStatus.SUBMITTED: ("待工作人员确认", "waiting for staff"),
    ApplicationStatus.APPROVED: ("已通过", "accepted"),
    ApplicationStatus.REJECTED: ("已退回", "sent back"),
}


def kind_of(kind: str) -> ReportKind:
    if kind not in KINDS:
        raise UserError("无法识别的报送事项。", "Unknown report.")
    return KINDS[kind]


@dataclass(frozen=True)
class Owed:
    """One thing a subject owes, as it reads it: what, about which interview or commitment, by when."""

    kind: ReportKind
    ref_id: int
    subject_id: int
    title: str  # "2026-11-26 09:30 的约谈" / "承诺 370402…"
    title_en: str
    items: tuple[str, ...]  # the rectification items, or the missing materials
    due_on: date | None  # None while a report waits for staff
    responsible_staff_id: int | None
    waiting: FollowUpReport | None  # a submitted report staff have not answered yet


def reminder_buttons(deadline_kind: str, ref_id: int) -> list[list[dict[str, Any]]] | None:
    """The button a subject's deadline reminder carries to where it reports (for the deadline sweep)."""
    if deadline_kind not in KINDS:
        return None
    label = "📤 报送整改情况" if deadline_kind == RECTIFICATION else "📤 补齐材料"
    label_en = "📤 Report on rectification" if deadline_kind == RECTIFICATION else "📤 Hand in materials"
    return [[notice_button(label, label_en, "follow_up.start", kind=deadline_kind, ref_id=ref_id)]]


# -- what is owed --------------------------------------------------------------------------------------


async def _deadline(session: AsyncSession, kind: ReportKind, ref_id: int) -> Deadline | None:
    stmt = select(Deadline).where(
        Deadline.ref_kind == kind.ref_kind, Deadline.ref_id == ref_id, Deadline.kind == kind.kind
    )
    return (await session.exec(stmt)).first()


async def waiting_report(session: AsyncSession, kind: str, ref_id: int) -> FollowUpReport | None:
    stmt = select(FollowUpReport).where(
        FollowUpReport.kind == kind,
        FollowUpReport.ref_id == ref_id,
        FollowUpReport.status == ApplicationStatus.SUBMITTED,
    )
    return (await session.exec(stmt)).first()


async def latest_report(session: AsyncSession, kind: str, ref_id: int) -> FollowUpReport | None:
    """The last report sent (drafts aside), for the subject's view: waiting, accepted or sent back."""
    stmt = (
        select(FollowUpReport)
        .where(
            FollowUpReport.kind == kind,
            FollowUpReport.ref_id == ref_id,
            FollowUpReport.status != ApplicationStatus.DRAFT,
        )
        .order_by(col(FollowUpReport.id).desc())
    )
    return (await session.exec(stmt.limit(1))).first()


async def owed(session: AsyncSession, kind: str, ref_id: int, *, subject_id: int) -> Owed:
    """What the subject owes on this interview or commitment; refused when it is not the subject's, or
    when nothing is owed any more (accepted, decided, or never asked)."""
    rk = kind_of(kind)
    if rk.kind == RECTIFICATION:
        interview = await session.get(Interview, ref_id)
        owner = interview.subject_id if interview is not None else None
    else:
        commitment = await session.get(Commitment, ref_id)
        owner = commitment.subject_id if commitment is not None else None
    if owner != subject_id:
        raise ForgedAttempt(
            "找不到该事项，或它不属于您。",
            "Not found for you.",
            action="follow_up.forged",
            entity=rk.ref_kind,
            entity_id=ref_id,
        )
    deadline = await _deadline(session, rk, ref_id)
    waiting = await waiting_report(session, rk.kind, ref_id)
    if deadline is None or (deadline.status != DeadlineStatus.OPEN and waiting is None):
        raise UserError(
            f"该事项已办结，无需再{'报送整改情况' if rk.kind == RECTIFICATION else '补交材料'}。",
            "Nothing is owed here any more.",
        )
    if rk.kind == RECTIFICATION:
        assert interview is not None
        shown = to_local(interview.scheduled_at)
        title, title_en = interviews.title(interview), f"the interview of {shown:%Y-%m-%d %H:%M}"
        items = tuple(interview.outcome.get("rectification_items") or ())
    else:
        assert commitment is not None
        title, title_en = f"承诺 {commitment.code}", f"commitment {commitment.code}"
        items = (commitment.missing_materials or "",)
    return Owed(
        rk,
        ref_id,
        subject_id,
        title,
        title_en,
        items,
        deadline.due_on if deadline.status == DeadlineStatus.OPEN else None,
        deadline.responsible_staff_id,
        waiting,
    )


async def open_tolerance_commitments(session: AsyncSession, subject_id: int) -> set[int]:
    """The subject's 容缺 commitments whose materials may be handed in now (deadline open)."""
    stmt = select(Deadline.ref_id).where(
        Deadline.kind == TOLERANCE,
        Deadline.ref_kind == "commitment",
        Deadline.subject_id == subject_id,
        Deadline.status == DeadlineStatus.OPEN,
    )
    return set((await session.exec(stmt)).all())


# -- the subject reports ---------------------------------------------------------------------------------


async def start(
    session: AsyncSession, kind: str, ref_id: int, *, subject_id: int, actor: str, today: date
) -> FollowUpReport:
    """The subject's draft for this interview or commitment (kept across /cancel), or a new one."""
    due = await owed(session, kind, ref_id, subject_id=subject_id)
    if due.waiting is not None:
        raise UserError(
            f"您报送的{due.kind.name}（{due.waiting.ref_no}）正在等待工作人员确认，结果会通知您。",
            "Your report is waiting for staff; you will be told the result.",
        )
    stmt = select(FollowUpReport).where(
        FollowUpReport.kind == kind,
        FollowUpReport.ref_id == ref_id,
        FollowUpReport.status == ApplicationStatus.DRAFT,
    )
    row = (await session.exec(stmt)).first()
    if row is not None:
        return row
    row = FollowUpReport(
        ref_no=await next_ref(session, FollowUpReport, due.kind.prefix, today),
        kind=kind,
        ref_kind=due.kind.ref_kind,
        ref_id=ref_id,
        subject_id=subject_id,
    )
    session.add(row)
    await session.flush()
    await log_change(
        session,
        actor=actor,
        action="follow_up.create",
        entity=ENTITY,
        entity_id=row.id,
        subject_id=subject_id,
        after={"ref_no": row.ref_no, "kind": kind, "ref_id": ref_id},
    )
    return row


async def draft_of(session: AsyncSession, report_id: int, *, subject_id: int) -> FollowUpReport:
    row = await session.get(FollowUpReport, report_id)
    if row is None or row.subject_id != subject_id:
        raise UserError("请重新开始报送。", "Please start the report again.")
    if row.status != ApplicationStatus.DRAFT:
        raise UserError(f"该报送（{row.ref_no}）已提交。", "This report was already sent.")
    return row


def describe(row: FollowUpReport, text: str) -> None:
    """The subject's account; a second message replaces the first (it is one statement, not a chat)."""
    text = text.strip()
    if len(text) > DESCRIPTION_MAX:
        raise UserError(
            f"说明太长（{len(text)} 字），请控制在 {DESCRIPTION_MAX} 字以内。",
            f"At most {DESCRIPTION_MAX} characters.",
        )
    row.description = text


async def add_file(session: AsyncSession, row: FollowUpReport, upload: Upload) -> int:
    """One more file on the draft; returns how many it has."""
    await store(session, owner_kind=ENTITY, owner_id=row.id or 0, step="report", upload=upload, replace=False)
    return len(await materials_of(session, ENTITY, row.id or 0))


async def submit(
    session: AsyncSession,
    row: FollowUpReport,
    *,
    actor: str,
    now: datetime,
    today: date,
    calendar: WorkdayCalendar,
) -> FollowUpReport:
    """Hand the report in: a 待办 item for staff (REVIEW_WORKDAYS), the subject's deadline paused."""
    due = await owed(session, row.kind, row.ref_id, subject_id=row.subject_id)
    if due.waiting is not None:
        raise UserError("已有一份报送正在等待工作人员确认。", "A report is already waiting for staff.")
    if due.kind.needs_description and not row.description:
        raise UserError("请先用文字简要说明整改情况，再提交。", "Describe what was rectified first.")
    files = await materials_of(session, ENTITY, row.id or 0)
    if not files:
        raise UserError(
            "请至少上传一份材料（照片、扫描件均可）。", "Upload at least one file (photo or scan)."
        )
    transition(row, "submit")
    row.submitted_at = now
    row.due_on = calendar.add_workdays(today, REVIEW_WORKDAYS)
    await close_deadlines(session, due.kind.ref_kind, row.ref_id, now, kind=row.kind)
    await log_change(
        session,
        actor=actor,
        action="follow_up.submit",
        entity=ENTITY,
        entity_id=row.id,
        subject_id=row.subject_id,
        before={"status": ApplicationStatus.DRAFT},
        after={"status": row.status, "ref_no": row.ref_no, "files": len(files), "deadline": str(due.due_on)},
    )
    # The staff member who set the deadline (the interview's recorder) hears of it at once; everyone
    # else of the department sees it in 待办 and the daily digest.
    responsible = await session.get(Staff, due.responsible_staff_id) if due.responsible_staff_id else None
    if responsible is not None and responsible.active:
        subject = await session.get(Subject, row.subject_id)
        await notify_staff(
            session,
            responsible,
            event_key=f"follow_up:{row.id}:submitted",
            template="follow_up_submitted",
            context={
                "subject_name": subject.name if subject else "",
                "what": due.kind.name,
                "what_en": due.kind.name_en,
                "ref_no": row.ref_no,
                "title": due.title,
                "files": len(files),
                "due_on": row.due_on,
            },
            kind="follow_up",
            now=now,
        )
    return row


# -- staff answer ------------------------------------------------------------------------------------------


async def decide(
    session: AsyncSession,
    report_id: int,
    approve: bool,
    *,
    staff: Staff,
    expected_version: int,
    reason: str,
    now: datetime,
    today: date,
    calendar: WorkdayCalendar,
) -> FollowUpReport:
    """验收通过 / 确认收齐 (the deadline is done; 容缺: materials received), or sent back with a reason
    (the deadline opens again); the subject is told either way."""
    row = await session.get(FollowUpReport, report_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise UserError("找不到该报送。", "No such report.")
    rk = kind_of(row.kind)
    if not approve and not reason.strip():
        raise UserError(f"{rk.reject}时请说明理由。", "Give the reason.")
    before = transition(row, "approve" if approve else "reject", expected_version=expected_version)
    row.decided_at, row.decided_by, row.reason = now, staff.id, reason.strip() or None
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action="follow_up.approve" if approve else "follow_up.reject",
        entity=ENTITY,
        entity_id=row.id,
        subject_id=row.subject_id,
        before={"status": before},
        after={"status": row.status, "reason": row.reason, "note": rk.approve if approve else rk.reject},
    )
    fulfilled = False
    new_due: date | None = None
    if approve and rk.kind == RECTIFICATION:
        await interviews.rectification_done(session, row.ref_id, staff=staff, now=now, report_ref=row.ref_no)
    elif approve:
        assert row.submitted_at is not None
        fulfilled = await commitments.materials_received(
            session,
            row.ref_id,
            received_on=to_local(row.submitted_at).date(),
            staff=staff,
            today=today,
            now=now,
        )
    else:
        new_due = await _reopen(session, row, rk, today=today, calendar=calendar)
    due = await owed_title(session, row)
    button = reminder_buttons(row.kind, row.ref_id) if not approve else None
    await notify_subject(
        session,
        row.subject_id,
        event_key=f"follow_up:{row.id}:{row.status}",
        template="follow_up_decided",
        context={
            "what": rk.name,
            "what_en": rk.name_en,
            "ref_no": row.ref_no,
            "title": due,
            "approved": approve,
            "verdict": rk.approve if approve else rk.reject,
            "reason": row.reason or "",
            "due_on": new_due,
            "tolerance": rk.kind == TOLERANCE,
            "fulfilled": fulfilled,
        },
        buttons=button,
        kind="decision",
        legally_required=True,  # a verdict on a statutory follow-up, with a deadline when sent back
        now=now,
    )
    return row


async def _reopen(
    session: AsyncSession, row: FollowUpReport, rk: ReportKind, *, today: date, calendar: WorkdayCalendar
) -> date:
    """The subject owes again: the same deadline, open; 继续整改 gets at least a few working days."""
    deadline = await _deadline(session, rk, row.ref_id)
    assert deadline is not None
    due = deadline.due_on
    if rk.kind == RECTIFICATION:
        due = max(due, calendar.add_workdays(today, CONTINUE_RECTIFICATION_WORKDAYS))
    await set_deadline(
        session, kind=rk.kind, ref_kind=rk.ref_kind, ref_id=row.ref_id, subject_id=row.subject_id, due_on=due
    )
    return due


async def owed_title(session: AsyncSession, row: FollowUpReport) -> str:
    """The interview's date or the commitment's code, as the subject and staff read it."""
    if row.kind == RECTIFICATION:
        interview = await session.get(Interview, row.ref_id)
        return interviews.title(interview) if interview is not None else "约谈"
    commitment = await session.get(Commitment, row.ref_id)
    return f"承诺 {commitment.code}" if commitment is not None else "容缺受理承诺"


# -- queries for 待办 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A submitted report as the queue lists it."""

    report: FollowUpReport
    subject: Subject
    asked: str


async def waiting_reports(session: AsyncSession) -> list[Waiting]:
    """Every report waiting for staff, with what it answers in words (one query per kind)."""
    rows = (
        await session.exec(
            select(FollowUpReport, Subject)
            .join(Subject, col(Subject.id) == col(FollowUpReport.subject_id))
            .where(FollowUpReport.status == ApplicationStatus.SUBMITTED)
        )
    ).all()
    interview_ids = [r.ref_id for r, _ in rows if r.kind == RECTIFICATION]
    commitment_ids = [r.ref_id for r, _ in rows if r.kind == TOLERANCE]
    ivs = {
        i.id: i
        for i in (await session.exec(select(Interview).where(col(Interview.id).in_(interview_ids)))).all()
    }
    cs = {
        c.id: c
        for c in (await session.exec(select(Commitment).where(col(Commitment.id).in_(commitment_ids)))).all()
    }
    out = []
    for report, subject in rows:
        if report.kind == RECTIFICATION and (iv := ivs.get(report.ref_id)) is not None:
            asked = f"约谈整改情况：{interviews.title(iv)}"
        elif (c := cs.get(report.ref_id)) is not None and c.kind == CommitmentKind.TOLERANCE:
            asked = f"容缺补齐材料：承诺 {c.code}，{c.missing_materials or ''}（补齐期限 {c.materials_due}）"
        else:
            continue
        out.append(Waiting(report, subject, asked))
    return out


async def files_of(session: AsyncSession, report_id: int) -> list:  # type: ignore[type-arg]
    return await materials_of(session, ENTITY, report_id)
