"""信用修复: eligibility under the regime in force, the materials step by step, submission with a
working-day deadline for staff, and the staff outcomes (补正 / 通过 / 不予修复). Rules: domain-rules §4."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    ApplicationStatus,
    CreditRecord,
    RecordKind,
    RecordStatus,
    RepairApplication,
    Severity,
    Staff,
    Subject,
)
from workflows import applications, rules
from workflows.applications import (
    OPEN_STATUSES,
    close_deadlines,
    next_ref,
    set_deadline,
    status_label,
    transition,
)
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar
from workflows.errors import ForgedAttempt, UserError
from workflows.materials import Upload, store
from workflows.notices import notify_subject
from workflows.records import record_of_subject, repair_eligibility

ENTITY = "repair_application"

# The materials, in order (令36号 / 22号: proof of performance + 信用承诺书; an authorisation when an
# agent acts for the legal representative). A step is done when its draft key is set.
STEPS: tuple[str, ...] = ("proof", "authorisation", "commitment")


def next_step(draft: dict) -> str | None:
    if not draft.get("proof"):
        return "proof"
    if draft.get("is_legal_rep") is None or (
        draft["is_legal_rep"] is False and not draft.get("authorisation")
    ):
        return "authorisation"
    if not draft.get("commitment_id"):
        return "commitment"
    return None


async def refusal_ground(session: AsyncSession, subject_id: int, today: date) -> str | None:
    """Configured refusal grounds (rules.REPAIR_* — local rules, unverified)."""
    ban_from = today - timedelta(days=365 * rules.REPAIR_FALSE_MATERIALS_BAN_YEARS)
    false_before = (
        await session.exec(
            select(RepairApplication).where(
                RepairApplication.subject_id == subject_id,
                RepairApplication.status == ApplicationStatus.REJECTED,
                col(RepairApplication.decided_at) >= datetime.combine(ban_from, time(), UTC),
            )
        )
    ).all()
    if any(a.draft.get("false_materials") for a in false_before):
        return f"{rules.REPAIR_FALSE_MATERIALS_BAN_YEARS} 年内（年限暂定）曾提供虚假材料申请修复"
    since = today - timedelta(days=rules.REPAIR_REPEAT_OFFENCE_DAYS)
    count = (
        await session.exec(
            select(func.count()).where(
                CreditRecord.subject_id == subject_id,
                CreditRecord.kind == RecordKind.PENALTY,
                CreditRecord.severity != Severity.MINOR,
                CreditRecord.status != RecordStatus.WITHDRAWN,  # a revoked decision is no offence
                CreditRecord.decision_date >= since,
            )
        )
    ).one()
    if int(count) >= rules.REPAIR_REPEAT_OFFENCE_COUNT:
        return f"一年内受到 {count} 次一般及以上行政处罚（屡罚不改）"
    return None


async def open_application(session: AsyncSession, record_id: int) -> RepairApplication | None:
    stmt = select(RepairApplication).where(
        RepairApplication.record_id == record_id,
        col(RepairApplication.status).in_([*OPEN_STATUSES, ApplicationStatus.DRAFT]),
    )
    return (await session.exec(stmt)).first()


@dataclass(frozen=True)
class Started:
    application: RepairApplication
    resumed: bool


async def start(
    session: AsyncSession,
    *,
    subject: Subject,
    record_id: int,
    today: date,
    calendar: WorkdayCalendar,
    actor: str,
) -> Started:
    """Check eligibility and open a draft, or resume the draft already open for this record."""
    assert subject.id is not None
    record = await record_of_subject(session, subject.id, record_id)
    if record is None:
        raise ForgedAttempt(
            "找不到这条记录，或它不属于您绑定的企业。",
            "Record not found for your enterprise.",
            action="repair.forged",
            entity="credit_record",
            entity_id=record_id,
        )
    existing = await open_application(session, record.id or 0)
    if existing is not None and existing.status == ApplicationStatus.DRAFT:
        return Started(existing, True)
    if existing is not None:
        raise UserError(
            f"这条记录已有进行中的修复申请（{existing.ref_no}，{status_label(existing.status)}），"
            "请勿重复申请。",
            f"An application is already open ({existing.ref_no}).",
        )
    elig = repair_eligibility(record, today, calendar)
    if not elig.eligible_now:
        raise UserError(f"暂不能申请修复：{elig.zh}", f"Repair is not possible yet: {elig.en}")
    if (ground := await refusal_ground(session, subject.id, today)) is not None:
        raise UserError(
            f"不予受理修复申请：{ground}（{rules.UNVERIFIED_NOTE}）。", "Repair refused by a configured rule."
        )
    regime = rules.regime_for(today)  # procedure follows the application date (§4.1)
    app = RepairApplication(
        ref_no=f"DRAFT-{record.id}-{today:%Y%m%d}-{subject.id}",
        subject_id=subject.id,
        record_id=record.id or 0,
        regime=regime.key,
        draft={},
    )
    session.add(app)
    await session.flush()
    app.ref_no = f"DRAFT-{app.id}"  # a real number is given on submission
    await log_change(
        session,
        actor=actor,
        action="repair.create",
        entity=ENTITY,
        entity_id=app.id,
        subject_id=subject.id,
        after={"record_id": record.id, "regime": regime.key},
    )
    return Started(app, False)


def _editable(app: RepairApplication) -> None:
    if app.status not in (ApplicationStatus.DRAFT, ApplicationStatus.NEEDS_MORE):
        raise UserError(
            f"申请已{status_label(app.status)}，不能再修改材料。", "The application can no longer be changed."
        )


async def save_proof(session: AsyncSession, app: RepairApplication, upload: Upload, actor: str) -> None:
    _editable(app)
    step = "proof" if app.status == ApplicationStatus.DRAFT else "supplement"
    material = await store(
        session, owner_kind=ENTITY, owner_id=app.id or 0, step=step, upload=upload, replace=step == "proof"
    )
    app.draft = (
        {**app.draft, "proof": material.id}
        if step == "proof"
        else {**app.draft, "supplements": [*app.draft.get("supplements", []), material.id]}
    )
    await log_change(
        session,
        actor=actor,
        action=f"repair.upload_{step}",
        entity=ENTITY,
        entity_id=app.id,
        subject_id=app.subject_id,
        after={"material_id": material.id, "file": upload.file_name},
    )


async def set_legal_rep(app: RepairApplication, is_legal_rep: bool) -> None:
    _editable(app)
    draft = {**app.draft, "is_legal_rep": is_legal_rep}
    if is_legal_rep:
        draft.pop("authorisation", None)
    app.draft = draft


async def save_authorisation(
    session: AsyncSession, app: RepairApplication, upload: Upload, actor: str
) -> None:
    _editable(app)
    material = await store(
        session, owner_kind=ENTITY, owner_id=app.id or 0, step="authorisation", upload=upload
    )
    app.draft = {**app.draft, "is_legal_rep": False, "authorisation": material.id}
    await log_change(
        session,
        actor=actor,
        action="repair.upload_authorisation",
        entity=ENTITY,
        entity_id=app.id,
        subject_id=app.subject_id,
        after={"material_id": material.id},
    )


def redo(app: RepairApplication, step: str) -> None:
    """Each step can be redone before submission: forget its answer and ask again."""
    _editable(app)
    keys = {
        "proof": ("proof",),
        "authorisation": ("is_legal_rep", "authorisation"),
        "commitment": ("commitment_id",),
    }
    app.draft = {k: v for k, v in app.draft.items() if k not in keys[step]}


async def submit(
    session: AsyncSession,
    app: RepairApplication,
    *,
    today: date,
    now: datetime,
    calendar: WorkdayCalendar,
    actor: str,
) -> RepairApplication:
    if app.status == ApplicationStatus.DRAFT and (missing := next_step(app.draft)) is not None:
        raise UserError(
            f"材料还不完整（缺：{STEP_NAMES[missing]}），暂不能提交。", f"Materials incomplete: {missing}."
        )
    action = "resubmit" if app.status == ApplicationStatus.NEEDS_MORE else "submit"
    if action == "resubmit" and not app.draft.get("supplements"):
        raise UserError("请先上传补正材料，再提交。", "Upload the requested materials first.")
    transition(app, action)
    if action == "submit":
        app.ref_no = await next_ref(session, RepairApplication, "XF", today)
        app.submitted_at = now
    app.due_on = calendar.add_workdays(today, rules.REPAIR_DECIDE_WORKDAYS)
    await set_deadline(
        session,
        kind="repair_review",
        ref_kind=ENTITY,
        ref_id=app.id or 0,
        subject_id=app.subject_id,
        due_on=app.due_on,
    )
    await close_deadlines(session, ENTITY, app.id or 0, now, kind="repair_more_materials")
    await log_change(
        session,
        actor=actor,
        action=f"repair.{action}",
        entity=ENTITY,
        entity_id=app.id,
        subject_id=app.subject_id,
        after={"ref_no": app.ref_no, "due_on": app.due_on.isoformat()},
    )
    return app


async def withdraw(session: AsyncSession, app: RepairApplication, *, now: datetime, actor: str) -> None:
    await applications.withdraw(session, app, entity=ENTITY, action="repair.withdraw", now=now, actor=actor)


STEP_NAMES = {"proof": "履行义务证明", "authorisation": "授权委托书", "commitment": "信用修复承诺书"}


# -- staff outcomes --------------------------------------------------------------------------------


async def decide(
    session: AsyncSession,
    app_id: int,
    action: str,
    *,
    staff: Staff,
    expected_version: int,
    today: date,
    now: datetime,
    calendar: WorkdayCalendar,
    reason: str = "",
    false_materials: bool = False,
) -> RepairApplication:
    """受理 / 补正 / 通过 / 不予修复. Exactly one of two concurrent decisions wins (row lock + version)."""
    if action not in ("accept", "request_more", "approve", "reject"):
        raise ValueError(action)
    if action in ("request_more", "reject") and not reason.strip():
        raise UserError("请填写理由（补正须写明需要的材料）。", "A reason is required.")
    # Lock the row and re-read it: a copy loaded earlier in this transaction may be stale by now.
    app = await session.get(RepairApplication, app_id, with_for_update=True, populate_existing=True)
    if app is None:
        raise UserError("找不到该申请。", "No such application.")
    before = transition(app, action, expected_version=expected_version)
    app.decided_by = staff.id
    record = await session.get(CreditRecord, app.record_id)
    assert record is not None
    context = {
        "ref_no": app.ref_no,
        "decision_no": record.decision_no,
        "decision_date": record.decision_date,
        "reason": reason,
    }
    if action == "request_more":
        due = calendar.add_workdays(today, rules.REPAIR_MORE_MATERIALS_WORKDAYS)
        app.reason = reason
        app.draft = {**app.draft, "more": reason, "more_due": due.isoformat(), "supplements": []}
        await set_deadline(
            session,
            kind="repair_more_materials",
            ref_kind=ENTITY,
            ref_id=app.id or 0,
            subject_id=app.subject_id,
            due_on=due,
        )
        context["due_on"] = due
    elif action in ("approve", "reject"):
        app.decided_at = now
        app.reason = reason or None
        await close_deadlines(session, ENTITY, app.id or 0, now)
        if action == "reject" and false_materials:
            app.draft = {**app.draft, "false_materials": True}
        if action == "approve":
            # 令36号 第三条: 终止公示, stop sharing, lift the 失信惩戒 measures tied to this record.
            record.status = RecordStatus.REPAIRED
            record.status_changed_on = today
            await log_change(
                session,
                actor=f"staff:{staff.id}",
                action="record.repaired",
                entity="credit_record",
                entity_id=record.id,
                subject_id=record.subject_id,
                before={"status": RecordStatus.PUBLISHED},
                after={"status": RecordStatus.REPAIRED, "repair": app.ref_no, "measures": "lifted"},
            )
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action=f"repair.{action}",
        entity=ENTITY,
        entity_id=app.id,
        subject_id=app.subject_id,
        before={"status": before},
        after={"status": app.status, "note": reason},
    )
    await notify_subject(
        session,
        app.subject_id,
        event_key=f"repair:{app.id}:{action}:{app.version}",
        template=f"repair_{action}",
        context=context,
        legally_required=action != "accept",
        now=now,
        kind="decision",
        buttons=[
            [
                {
                    "label": "📎 补正材料",
                    "label_en": "📎 Send materials",
                    "action": "repair.supplement",
                    "payload": {"app_id": app.id},
                }
            ]
        ]
        if action == "request_more"
        else None,
    )
    return app


async def subject_applications(session: AsyncSession, subject_id: int) -> list[RepairApplication]:
    stmt = (
        select(RepairApplication)
        .where(RepairApplication.subject_id == subject_id)
        .order_by(col(RepairApplication.id).desc())
        .limit(20)
    )
    return list((await session.exec(stmt)).all())


async def application_of_subject(
    session: AsyncSession, subject_id: int, app_id: int
) -> RepairApplication | None:
    app = await session.get(RepairApplication, app_id)
    return app if app is not None and app.subject_id == subject_id else None
