"""约谈 (credit interview): staff serve a 约谈通知书 at least N working days ahead, the subject confirms,
staff record the outcome (held, or not attended), and agreed rectification items become a working-day
deadline. Rules: domain-rules §8 [R]; numbers in rules.INTERVIEW_NOTICE_MIN_WORKDAYS and
rules.RECTIFICATION_DEFAULT_WORKDAYS."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Deadline, Interview, RiskWarning, Staff, Subject, SubjectKind
from models import InterviewStatus as I
from workflows import rules
from workflows.alert_routing import alert_department
from workflows.applications import close_deadlines
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar
from workflows.clock import SHANGHAI, to_local
from workflows.errors import ForgedAttempt, UserError
from workflows.notices import notice_button, notify_staff, notify_subject

ENTITY = "interview"
RECTIFICATION = "rectification"  # Deadline.kind of the follow-up on agreed rectification items

# action → (statuses it may start from, status it leads to). Read top to bottom as the flow chart.
TRANSITIONS: dict[str, tuple[frozenset[I], I]] = {
    "confirm": (frozenset({I.SCHEDULED}), I.CONFIRMED),  # subject, from the notice's button
    "held": (frozenset({I.SCHEDULED, I.CONFIRMED}), I.HELD),  # staff record what was agreed
    "no_show": (frozenset({I.SCHEDULED, I.CONFIRMED}), I.NO_SHOW),  # staff: the subject did not come
    "cancel": (frozenset({I.SCHEDULED, I.CONFIRMED}), I.CANCELLED),  # staff; a new time is a new interview
}
OPEN_STATUSES = frozenset({I.SCHEDULED, I.CONFIRMED})

STATUS_LABELS: dict[I, tuple[str, str]] = {
    I.SCHEDULED: ("已通知，待确认", "notified, awaiting confirmation"),
    I.CONFIRMED: ("已确认参加", "attendance confirmed"),
    I.HELD: ("已约谈", "held"),
    I.NO_SHOW: ("未到场", "did not attend"),
    I.CANCELLED: ("已取消", "cancelled"),
}
ACTION_LABELS = {"confirm": "确认参加", "held": "记录约谈结果", "no_show": "记录未到场", "cancel": "取消约谈"}

# What the 约谈通知书 asks the subject to bring (product text, not a rule number).
BRING: dict[SubjectKind, tuple[str, ...]] = {
    SubjectKind.ENTERPRISE: (
        "营业执照副本复印件（加盖公章）",
        "法定代表人身份证明；委托他人参加的，另带授权委托书和受托人身份证",
        "与约谈事由有关的情况说明、整改材料",
    ),
    SubjectKind.DRIVER: ("本人身份证", "道路运输从业资格证", "与约谈事由有关的情况说明"),
}
WEEKDAYS = "一二三四五六日"


def status_label(status: str, lang: str = "zh") -> str:
    zh, en = STATUS_LABELS[I(status)]
    return en if lang == "en" else zh


def transition(interview: Interview, action: str, *, expected_version: int | None = None) -> I:
    """Move the interview by `action`, or refuse with what happened instead (stale screen, someone else)."""
    allowed, target = TRANSITIONS[action]
    if expected_version is not None and interview.version != expected_version:
        raise UserError(
            f"该约谈已被处理，当前状态：{status_label(interview.status)}。请刷新后再操作。",
            f"This interview changed meanwhile; it is now {status_label(interview.status, 'en')}.",
        )
    if I(interview.status) not in allowed:
        raise UserError(
            f"约谈当前状态为「{status_label(interview.status)}」，不能{ACTION_LABELS[action]}。",
            f"The interview is {status_label(interview.status, 'en')}; that is not possible now.",
        )
    before = I(interview.status)
    interview.status = target
    interview.version += 1
    return before


# -- pure rules ------------------------------------------------------------------------------------


def earliest_day(today: date, calendar: WorkdayCalendar) -> date:
    """The first Beijing date an interview may be held when the notice is served `today`."""
    return calendar.add_workdays(today, rules.INTERVIEW_NOTICE_MIN_WORKDAYS)


def check_time(scheduled_at: datetime, now: datetime, calendar: WorkdayCalendar) -> None:
    """Refuse a past time, too short a notice (working days, Beijing dates) or a non-working day."""
    if scheduled_at.tzinfo is None:
        raise ValueError("scheduled_at must be timezone-aware")
    local = to_local(scheduled_at)
    if scheduled_at <= now:
        raise UserError(
            f"约谈时间 {local:%Y-%m-%d %H:%M} 已过，请选择将来的时间。",
            f"{local:%Y-%m-%d %H:%M} is in the past; choose a future time.",
        )
    earliest = earliest_day(to_local(now).date(), calendar)
    if local.date() < earliest:
        raise UserError(
            f"约谈通知书须至少提前 {rules.INTERVIEW_NOTICE_MIN_WORKDAYS} 个工作日送达（本系统默认设置，"
            f"{rules.UNVERIFIED_NOTE}），"
            f"最早可安排在 {earliest}（星期{WEEKDAYS[earliest.weekday()]}）。",
            f"The notice must be served {rules.INTERVIEW_NOTICE_MIN_WORKDAYS} working day(s) ahead: "
            f"the earliest date is {earliest}.",
        )
    if not calendar.is_workday(local.date()):
        name = calendar.holiday_name(local.date()) or "休息日"
        raise UserError(
            f"{local.date()} 是{name}，不是工作日，请另选日期。",
            f"{local.date()} is not a working day; choose another date.",
        )


def when(scheduled_at: datetime) -> dict[str, str]:
    """Beijing date, weekday and time as the notices print them."""
    local = to_local(scheduled_at)
    return {
        "date": local.date().isoformat(),
        "weekday": f"星期{WEEKDAYS[local.weekday()]}",
        "time": f"{local:%H:%M}",
    }


def place_text(interview: Interview) -> str:
    if interview.online:
        return f"线上（{interview.place}）" if interview.place else "线上"
    return interview.place


def _notice_context(interview: Interview, subject: Subject, organiser: str) -> dict[str, Any]:
    return {
        "interview_id": interview.id,
        "subject_name": subject.name,
        "addressee": "贵单位" if subject.kind == SubjectKind.ENTERPRISE else "您",
        "reason": interview.reason,
        **when(interview.scheduled_at),
        "place": place_text(interview),
        "online": interview.online,
        "attendees": list(interview.attendees),
        "bring": list(BRING[SubjectKind(subject.kind)]),
        "organiser": organiser,
        "cancelled": False,
        "cancel_reason": "",
    }


def _require_active(staff: Staff) -> None:
    if not staff.active:
        raise UserError("您的工作人员账号已停用，不能办理约谈。", "Your staff account is inactive.")


async def _load(session: AsyncSession, interview_id: int) -> Interview:
    # populate_existing: the locked row's current version, even if this session saw an older one.
    interview = await session.get(Interview, interview_id, with_for_update=True, populate_existing=True)
    if interview is None:
        raise UserError("找不到该约谈。", "No such interview.")
    return interview


async def _subject(session: AsyncSession, subject_id: int) -> Subject:
    subject = await session.get(Subject, subject_id)
    if subject is None:
        raise UserError("找不到该主体。", "No such subject.")
    return subject


# -- staff schedule; the subject confirms -------------------------------------------------------------


async def schedule(
    session: AsyncSession,
    *,
    subject_id: int,
    staff: Staff,
    reason: str,
    scheduled_at: datetime,
    place: str,
    online: bool,
    attendees: list[str],
    now: datetime,
    calendar: WorkdayCalendar,
    warning_id: int | None = None,
) -> Interview:
    """Write the interview and serve the 约谈通知书 to every bound chat of the subject (legally required)."""
    _require_active(staff)
    subject = await _subject(session, subject_id)
    reason, place = reason.strip(), place.strip()
    if not reason:
        raise UserError("请写明约谈事由。", "Give the reason for the interview.")
    if not online and not place:
        raise UserError("请填写约谈地点，或选择线上约谈。", "Give a place, or choose an online interview.")
    check_time(scheduled_at, now, calendar)
    if warning_id is not None:
        warning = await session.get(RiskWarning, warning_id)
        if warning is None or warning.subject_id != subject_id:
            raise UserError("该风险预警不属于此主体。", "That risk warning is not this subject's.")
    if open_ := await open_interviews(session, subject_id):
        raise UserError(
            f"该主体已有待进行的约谈（{to_local(open_[0].scheduled_at):%Y-%m-%d %H:%M}），如需改期请先取消。",
            "This subject already has an open interview; cancel it first to reschedule.",
        )
    interview = Interview(
        subject_id=subject_id,
        warning_id=warning_id,
        reason=reason,
        scheduled_at=scheduled_at.astimezone(UTC),
        place=place,
        online=online,
        attendees=[a.strip() for a in attendees if a.strip()] or [staff.name],
        created_by=staff.id,
    )
    session.add(interview)
    await session.flush()
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action="interview.schedule",
        entity=ENTITY,
        entity_id=interview.id,
        subject_id=subject_id,
        after={
            "scheduled_at": interview.scheduled_at.isoformat(),
            "place": place_text(interview),
            "reason": reason,
            "warning_id": warning_id,
        },
    )
    context = _notice_context(interview, subject, staff.department)
    button = notice_button("✅ 确认参加", "✅ I will attend", "interview.confirm", interview_id=interview.id)
    served = await notify_subject(
        session,
        subject_id,
        event_key=f"interview:{interview.id}:notice",
        template="interview_notice",
        context=context,
        kind="interview",
        buttons=[[button]],
        legally_required=True,
        now=now,
    )
    # The scheduler learns whether the notice reached a chat: if not, it must be served on paper.
    await notify_staff(
        session,
        staff,
        event_key=f"interview:{interview.id}:scheduled",
        template="interview_scheduled_staff",
        context={**context, "served_chats": served},
        kind="interview",
        now=now,
    )
    return interview


async def confirm(
    session: AsyncSession, interview_id: int, *, subject_id: int, now: datetime, actor: str | None = None
) -> Interview:
    """The subject confirms attendance (idempotent: a second press changes nothing)."""
    interview = await _load(session, interview_id)
    if interview.subject_id != subject_id:
        raise ForgedAttempt(
            "找不到该约谈，或它不属于您。",
            "Interview not found for you.",
            action="interview.forged",
            entity=ENTITY,
            entity_id=interview_id,
        )
    if interview.status == I.CONFIRMED:
        return interview
    if interview.status == I.SCHEDULED and interview.scheduled_at <= now:
        raise UserError("约谈时间已过，无需再确认。", "The interview time has passed.")
    before = transition(interview, "confirm")
    interview.confirmed_at = now
    await log_change(
        session,
        actor=actor or f"subject:{subject_id}",
        action="interview.confirm",
        entity=ENTITY,
        entity_id=interview.id,
        subject_id=subject_id,
        before={"status": before},
        after={"status": interview.status},
    )
    scheduler = await session.get(Staff, interview.created_by) if interview.created_by else None
    if scheduler is not None:
        subject = await _subject(session, subject_id)
        await notify_staff(
            session,
            scheduler,
            event_key=f"interview:{interview.id}:confirmed",
            template="interview_confirmed",
            context={
                "subject_name": subject.name,
                **when(interview.scheduled_at),
                "place": place_text(interview),
            },
            kind="interview",
            now=now,
        )
    return interview


# -- staff record the outcome, or cancel --------------------------------------------------------------


async def record_outcome(
    session: AsyncSession,
    interview_id: int,
    *,
    staff: Staff,
    attended: bool,
    issues: str,
    rectification_items: list[str],
    rectification_due: date | None,
    commitment_signed: bool,
    expected_version: int,
    today: date,
    calendar: WorkdayCalendar,
    now: datetime,
) -> Interview:
    """Held (with issues, rectification items and their deadline) or not attended (a fact the risk-warning
    rules read through `no_shows`). Exactly one of two concurrent recordings wins (row lock + version)."""
    _require_active(staff)
    interview = await _load(session, interview_id)
    items = [item.strip() for item in rectification_items if item.strip()]
    if commitment_signed and not attended:
        raise UserError(
            "未到场的主体不能在约谈中签署承诺书。", "A subject who did not attend signed nothing."
        )
    if rectification_due is not None and not items:
        raise UserError("没有整改事项时无需整改期限。", "A deadline needs rectification items.")
    if rectification_due is not None and rectification_due <= today:
        raise UserError(f"整改期限须晚于今天（{today}）。", "The deadline must be after today.")
    if interview.scheduled_at > now:
        raise UserError(
            f"约谈时间 {to_local(interview.scheduled_at):%Y-%m-%d %H:%M} 未到，不能记录结果。",
            "The interview has not taken place yet.",
        )
    before = transition(interview, "held" if attended else "no_show", expected_version=expected_version)
    due = (
        (rectification_due or calendar.add_workdays(today, rules.RECTIFICATION_DEFAULT_WORKDAYS))
        if items
        else None
    )
    interview.outcome = {
        "attended": attended,
        "issues": issues.strip(),
        "rectification_items": items,
        "rectification_due": due.isoformat() if due else None,
        "commitment_signed": commitment_signed,
        "recorded_by": staff.id,
        "recorded_on": today.isoformat(),
    }
    if due is not None:
        session.add(
            Deadline(
                kind=RECTIFICATION,
                ref_kind=ENTITY,
                ref_id=interview_id,
                subject_id=interview.subject_id,
                responsible_staff_id=staff.id,
                due_on=due,
            )
        )
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action=f"interview.{interview.status}",
        entity=ENTITY,
        entity_id=interview_id,
        subject_id=interview.subject_id,
        before={"status": before},
        after={"status": interview.status, **interview.outcome},
    )
    subject = await _subject(session, interview.subject_id)
    scheduler = await session.get(Staff, interview.created_by) if interview.created_by else None
    if not attended and scheduler is not None and scheduler.id != staff.id and scheduler.active:
        # Whoever called the interview hears that nobody came, when someone else recorded it.
        await notify_staff(
            session,
            scheduler,
            event_key=f"interview:{interview_id}:no_show",
            template="interview_no_show",
            context={"subject_name": subject.name, **when(interview.scheduled_at), "recorded_by": staff.name},
            kind="interview",
            now=now,
        )
    if not attended:  # the department's alert groups and robots (issue #11)
        await alert_department(
            session,
            subject.department,
            kind="interview",
            event_key=f"interview:{interview_id}:no_show",
            template="interview_no_show",
            context={"subject_name": subject.name, **when(interview.scheduled_at), "recorded_by": staff.name},
            now=now,
        )
    # Where the subject reports on the rectification (workflows/follow_up.py): the notice's own button.
    report = notice_button(
        "📤 报送整改情况",
        "📤 Report on rectification",
        "follow_up.start",
        kind=RECTIFICATION,
        ref_id=interview_id,
    )
    await notify_subject(
        session,
        interview.subject_id,
        event_key=f"interview:{interview_id}:outcome",
        template="interview_outcome",
        context={"subject_name": subject.name, **when(interview.scheduled_at), **interview.outcome},
        kind="interview",
        buttons=[[report]] if due is not None else None,
        legally_required=True,
        now=now,
    )
    return interview


async def rectification_done(
    session: AsyncSession, interview_id: int, *, staff: Staff, now: datetime, report_ref: str = ""
) -> None:
    """Staff verified the rectification (from the subject's report `report_ref`, or on their own): the
    follow-up deadline closes (the loop of §8 ends here)."""
    _require_active(staff)
    interview = await _load(session, interview_id)
    await close_deadlines(session, ENTITY, interview_id, now, kind=RECTIFICATION)
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action="interview.rectified",
        entity=ENTITY,
        entity_id=interview_id,
        subject_id=interview.subject_id,
        after={"report": report_ref} if report_ref else None,
    )


def title(interview: Interview) -> str:
    """How people name an interview: by its Beijing date and time."""
    return f"{to_local(interview.scheduled_at):%Y-%m-%d %H:%M} 的约谈"


async def cancel(
    session: AsyncSession,
    interview_id: int,
    *,
    staff: Staff,
    reason: str,
    expected_version: int,
    now: datetime,
) -> Interview:
    """Withdraw the notice; the subject is told (interview_notice, cancelled), rescheduling is a new interview."""
    _require_active(staff)
    interview = await _load(session, interview_id)
    before = transition(interview, "cancel", expected_version=expected_version)
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action="interview.cancel",
        entity=ENTITY,
        entity_id=interview_id,
        subject_id=interview.subject_id,
        before={"status": before},
        after={"status": interview.status, "note": reason.strip()},
    )
    subject = await _subject(session, interview.subject_id)
    context = _notice_context(interview, subject, staff.department)
    await notify_subject(
        session,
        interview.subject_id,
        event_key=f"interview:{interview_id}:cancelled",
        template="interview_notice",
        context={**context, "cancelled": True, "cancel_reason": reason.strip()},
        kind="interview",
        legally_required=True,
        now=now,
    )
    return interview


# -- queries -----------------------------------------------------------------------------------------


async def interview_of_subject(session: AsyncSession, subject_id: int, interview_id: int) -> Interview | None:
    """An interview only if it is this subject's: nobody sees what is not theirs."""
    interview = await session.get(Interview, interview_id)
    return interview if interview is not None and interview.subject_id == subject_id else None


async def interviews_of_subject(session: AsyncSession, subject_id: int, limit: int = 20) -> list[Interview]:
    stmt = (
        select(Interview)
        .where(Interview.subject_id == subject_id)
        .order_by(col(Interview.scheduled_at).desc(), col(Interview.id).desc())
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def open_interviews(session: AsyncSession, subject_id: int) -> list[Interview]:
    """Scheduled or confirmed, soonest first."""
    stmt = (
        select(Interview)
        .where(Interview.subject_id == subject_id, col(Interview.status).in_(list(OPEN_STATUSES)))
        .order_by(col(Interview.scheduled_at))
    )
    return list((await session.exec(stmt)).all())


async def upcoming_for_staff(session: AsyncSession, staff_id: int, limit: int = 20) -> list[Interview]:
    """The interviews a staff member scheduled that are still open, soonest first; past ones stay listed
    until their outcome is recorded (that is the staff member's to-do)."""
    stmt = (
        select(Interview)
        .where(Interview.created_by == staff_id, col(Interview.status).in_(list(OPEN_STATUSES)))
        .order_by(col(Interview.scheduled_at))
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def no_shows(session: AsyncSession, subject_id: int, since: date) -> int:
    """Interviews not attended that were set for `since` (a Beijing date) or later."""
    start = datetime.combine(since, time(), SHANGHAI).astimezone(UTC)
    stmt = select(func.count()).where(
        Interview.subject_id == subject_id, Interview.status == I.NO_SHOW, Interview.scheduled_at >= start
    )
    return int((await session.exec(stmt)).one())
