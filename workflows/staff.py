"""Staff work: who may do what (roles × actions), which department's items they may decide, the review
queue with working-day deadlines, and two-step decisions (经办 proposes, 审核 approves)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    ApplicationStatus,
    BindingRequest,
    Commitment,
    CreditRecord,
    Deadline,
    DeadlineStatus,
    FollowUpReport,
    Fulfilment,
    Objection,
    ObligationFulfilment,
    RecordStatus,
    RepairApplication,
    Staff,
    StaffRole,
    Subject,
    SubjectKind,
)
from workflows import binding, commitments, follow_up, fulfilment, objections, repair, rules
from workflows.applications import OPEN_STATUSES, status_label
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar
from workflows.clock import SHANGHAI
from workflows.errors import ForgedAttempt, UserError
from workflows.penalties import mark_published
from workflows.validation import mask_id_number

H, R, S, A = StaffRole.HANDLER, StaffRole.REVIEWER, StaffRole.SUPERVISOR, StaffRole.ADMIN
ALL_STAFF = frozenset({H, R, S, A})
# Every staff action and the roles that may take it (issue #4: "every staff action checks the role").
PERMISSIONS: dict[str, frozenset[StaffRole]] = {
    "queue.view": ALL_STAFF,
    "decide.propose": ALL_STAFF,  # a handler's decision on a two-step item becomes a proposal
    "decide.final": frozenset({R, S, A}),  # approve a proposal, or decide a two-step item directly
    "lookup": ALL_STAFF,
    "record.create": ALL_STAFF,
    "fulfilment.record": ALL_STAFF,  # 履行: fine paid / rectified, with the date (issue #8)
    "subject.manage": frozenset({A}),  # the subject registry: add and edit enterprises and drivers
    "data.import": frozenset({R, A}),  # bulk import (审核 and admins, issue #8)
    "lists.monthly": frozenset({S, A}),  # the monthly 对象清单 / 成效清单
    "interview.schedule": ALL_STAFF,
    "interview.outcome": ALL_STAFF,
    "code.subject": ALL_STAFF,
    "code.staff": frozenset({A}),
    "staff.manage": frozenset({A}),
    "alerts.manage": frozenset({A}),  # register a group chat as a department's alert group (issue #9)
    "audit.view": frozenset({A, S}),
    "department.any": frozenset({A}),  # decide items of every department
}
ROLE_LABELS = {H: "经办", R: "审核", S: "负责人", A: "管理员"}


def allowed(staff: Staff | None, action: str) -> bool:
    return staff is not None and staff.active and StaffRole(staff.role) in PERMISSIONS[action]


def require(staff: Staff | None, action: str) -> Staff:
    """Refuse (and have the refusal audited) when this chat's staff role does not allow `action`."""
    if staff is None or not allowed(staff, action):
        raise ForgedAttempt(
            "此操作仅限具有相应权限的工作人员。",
            "Your role does not allow this.",
            action="staff.refused",
            entity="action",
            entity_id=action,
        )
    return staff


def require_department(staff: Staff, subject: Subject) -> None:
    if subject.department and subject.department != staff.department and not allowed(staff, "department.any"):
        raise ForgedAttempt(
            f"该事项属于「{subject.department}」，不在您所在部门（{staff.department}）的办理范围内。",
            "This item belongs to another department.",
            action="staff.refused",
            entity="subject",
            entity_id=subject.id,
        )


# -- the queue -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    kind: str  # repair | objection | commitment | fulfilment | binding | rectification |
    # tolerance_materials (reports, workflows/follow_up.py) | publication (双公示 of a penalty)
    item_id: int
    ref: str
    subject: Subject
    asked: str
    status: str
    due_on: date | None
    workdays_left: int | None  # negative when overdue
    version: int
    proposal: dict[str, Any] | None

    @property
    def urgency(self) -> str:
        if self.workdays_left is None:
            return "none"
        if self.workdays_left < 0:
            return "overdue"
        return "soon" if self.workdays_left <= rules.DUE_SOON_WORKDAYS else "ok"


async def queue(
    session: AsyncSession, staff: Staff, *, today: date, calendar: WorkdayCalendar
) -> list[QueueItem]:
    """Open items of the staff member's department (all departments for admins), most urgent first."""

    def left(due: date | None) -> int | None:
        return (
            None
            if due is None
            else calendar.workdays_between(today, due)
            if due >= today
            else -calendar.workdays_between(due, today)
        )

    def mine(subject: Subject) -> bool:
        return (
            allowed(staff, "department.any")
            or not subject.department
            or subject.department == staff.department
        )

    items: list[QueueItem] = []
    rows = (
        await session.exec(
            select(RepairApplication, Subject, CreditRecord)
            .join(Subject, col(Subject.id) == col(RepairApplication.subject_id))
            .join(CreditRecord, col(CreditRecord.id) == col(RepairApplication.record_id))
            .where(
                col(RepairApplication.status).in_([ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED])
            )
        )
    ).all()
    for app, subject, record in rows:
        if mine(subject):
            items.append(
                QueueItem(
                    "repair",
                    app.id or 0,
                    app.ref_no,
                    subject,
                    f"信用修复：{record.decision_no}（{status_label(app.status)}）",
                    app.status,
                    app.due_on,
                    left(app.due_on),
                    app.version,
                    app.draft.get("proposal"),
                )
            )
    for obj, subject in (
        await session.exec(
            select(Objection, Subject)
            .join(Subject, col(Subject.id) == col(Objection.subject_id))
            .where(col(Objection.status).in_([ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED]))
        )
    ).all():
        if mine(subject):
            items.append(
                QueueItem(
                    "objection",
                    obj.id or 0,
                    obj.ref_no,
                    subject,
                    f"异议（{obj.reason}）：{obj.description[:40]}",
                    obj.status,
                    obj.due_on,
                    left(obj.due_on),
                    obj.version,
                    obj.draft.get("proposal"),
                )
            )
    reported: set[int] = set()  # 容缺 commitments whose materials wait for staff as a report item
    for waiting in await follow_up.waiting_reports(session):
        report = waiting.report
        if report.kind == follow_up.TOLERANCE:
            reported.add(report.ref_id)
        if mine(waiting.subject):
            items.append(
                QueueItem(
                    report.kind,
                    report.id or 0,
                    report.ref_no,
                    waiting.subject,
                    waiting.asked,
                    report.status,
                    report.due_on,
                    left(report.due_on),
                    report.version,
                    None,
                )
            )
    for c, subject in (
        await session.exec(
            select(Commitment, Subject)
            .join(Subject, col(Subject.id) == col(Commitment.subject_id))
            .where(Commitment.fulfilment == Fulfilment.PENDING, col(Commitment.materials_due).is_not(None))
        )
    ).all():
        if mine(subject) and c.id not in reported:
            received = f"（材料已于 {c.materials_received_on} 收到）" if c.materials_received_on else ""
            items.append(
                QueueItem(
                    "commitment",
                    c.id or 0,
                    c.code,
                    subject,
                    f"容缺承诺履行核查：{c.missing_materials}{received}",
                    Fulfilment.PENDING,
                    c.materials_due,
                    left(c.materials_due),
                    c.version,
                    None,
                )
            )
    for f, subject, record in (
        await session.exec(
            select(ObligationFulfilment, Subject, CreditRecord)
            .join(Subject, col(Subject.id) == col(ObligationFulfilment.subject_id))
            .join(CreditRecord, col(CreditRecord.id) == col(ObligationFulfilment.record_id))
            .where(ObligationFulfilment.status == ApplicationStatus.SUBMITTED)
        )
    ).all():
        if mine(subject):
            items.append(
                QueueItem(
                    "fulfilment",
                    f.id or 0,
                    f.ref_no,
                    subject,
                    f"履行申报：{record.decision_no}（{f.method}，{f.fulfilled_on}）",
                    f.status,
                    f.due_on,
                    left(f.due_on),
                    f.version,
                    None,
                )
            )
    # 双公示: a penalty not yet published within its 7 working days (§2 P1); staff mark it 已公示 here.
    for deadline, record, subject in (
        await session.exec(
            select(Deadline, CreditRecord, Subject)
            .join(CreditRecord, col(CreditRecord.id) == col(Deadline.ref_id))
            .join(Subject, col(Subject.id) == col(CreditRecord.subject_id))
            .where(
                Deadline.kind == PUBLICATION,
                Deadline.ref_kind == "credit_record",
                Deadline.status == DeadlineStatus.OPEN,
                col(CreditRecord.published_at).is_(None),
                CreditRecord.status != RecordStatus.WITHDRAWN,
            )
        )
    ).all():
        if mine(subject):
            items.append(
                QueueItem(
                    PUBLICATION,
                    record.id or 0,
                    record.decision_no or f"{record.decision_date} 的处罚决定",
                    subject,
                    f"双公示：行政处罚信息须于 {deadline.due_on} 前公示（决定日期 {record.decision_date}）",
                    DeadlineStatus.OPEN,
                    deadline.due_on,
                    left(deadline.due_on),
                    0,
                    None,
                )
            )
    for req, subject in (
        await session.exec(
            select(BindingRequest, Subject)
            .join(Subject, col(Subject.id) == col(BindingRequest.subject_id), isouter=True)
            .where(BindingRequest.status == "pending")
        )
    ).all():
        # A code nobody registered: only those who can register subjects can act on it.
        if subject is None and not allowed(staff, "subject.manage"):
            continue
        if subject is None or mine(subject):
            items.append(
                QueueItem(
                    "binding",
                    req.id or 0,
                    f"绑定申请（{req.created_at.astimezone(SHANGHAI):%m-%d %H:%M}）",
                    subject or unregistered_subject(req),
                    binding_request_text(req),
                    "pending",
                    None,
                    None,
                    req.version,
                    None,
                )
            )
    order = {"overdue": 0, "soon": 1, "ok": 2, "none": 3}
    return sorted(items, key=lambda i: (order[i.urgency], i.due_on or date.max, i.item_id))


def unregistered_subject(req: BindingRequest) -> Subject:
    """Stands in (unsaved) for the subject of a binding request whose code is not registered."""
    return Subject(kind=SubjectKind.ENTERPRISE, name="（未登记主体）", department=None)


def binding_request_text(req: BindingRequest) -> str:
    """What staff check a request against: what was typed, and who typed it (as the messenger shows)."""
    typed = mask_id_number(req.typed_code) if req.typed_code[:17].isdigit() else req.typed_code
    who = f"（聊天昵称：{req.requester_name}）" if req.requester_name else ""
    registered = "" if req.subject_id is not None else "；该代码尚未登记"
    return f"绑定申请：{req.applicant}{who}；输入的代码：{typed or '—'}{registered}"


# -- decisions -------------------------------------------------------------------------------------

PUBLICATION = "publication"  # the Deadline.kind of 双公示 and the queue kind that lists it

# Which decisions each item kind knows, and whether it needs a reason.
DECISIONS: dict[str, dict[str, str]] = {
    "repair": {"accept": "受理", "request_more": "补正", "approve": "通过", "reject": "不予修复"},
    "objection": {"accept": "受理", "approve": "更正", "reject": "维持"},
    "commitment": {
        Fulfilment.FULL: "全部履行",
        Fulfilment.PARTIAL: "部分履行",
        Fulfilment.NONE: "全部未履行",
    },
    "binding": {"approve": "同意绑定", "reject": "不同意"},
    "fulfilment": {"approve": "确认履行", "reject": "不予确认"},
    **{
        kind: {"approve": rk.approve, "reject": rk.reject}  # 验收通过 / 要求继续整改, 确认收齐 / 要求补交
        for kind, rk in follow_up.KINDS.items()
    },
    "publication": {"publish": "已公示"},
}
NEEDS_TEXT = {
    ("repair", "request_more"),
    ("repair", "reject"),
    ("objection", "reject"),
    ("commitment", Fulfilment.PARTIAL),
    ("commitment", Fulfilment.NONE),
    ("binding", "reject"),
    ("fulfilment", "reject"),
    *((kind, "reject") for kind in follow_up.KINDS),
}
FINAL = {"approve", "reject", Fulfilment.FULL, Fulfilment.PARTIAL, Fulfilment.NONE}


async def load_item(
    session: AsyncSession, kind: str, item_id: int, *, lock: bool = False
) -> tuple[Any, Subject]:
    """`lock`: row-lock and re-read (PostgreSQL), for the read-check-write of a decision."""
    model = {
        "repair": RepairApplication,
        "objection": Objection,
        "commitment": Commitment,
        "binding": BindingRequest,
        "fulfilment": ObligationFulfilment,
        follow_up.RECTIFICATION: FollowUpReport,
        follow_up.TOLERANCE: FollowUpReport,
        PUBLICATION: CreditRecord,
    }[kind]
    row = await session.get(model, item_id, with_for_update=lock or None, populate_existing=lock)
    if row is None:
        raise UserError("找不到该事项。", "No such item.")
    if row.subject_id is None and kind == "binding":
        return row, unregistered_subject(row)
    subject = await session.get(Subject, row.subject_id)
    assert subject is not None
    return row, subject


@dataclass(frozen=True)
class DecisionResult:
    done: bool  # False: recorded as a proposal waiting for a reviewer
    text: str


async def decide(
    session: AsyncSession,
    kind: str,
    item_id: int,
    action: str,
    *,
    staff: Staff,
    version: int,
    today: date,
    now: datetime,
    calendar: WorkdayCalendar,
    reason: str = "",
    changes: dict[str, Any] | None = None,
    withdraw_record: bool = False,
) -> DecisionResult:
    """One entry for every staff decision: role and department checks, two-step proposals, then the
    process's own decide() (which refuses a stale version: exactly one of two concurrent decisions wins)."""
    require(staff, "decide.propose")
    row, subject = await load_item(session, kind, item_id, lock=True)
    require_department(staff, subject)
    if kind == "binding" and row.subject_id is None:
        require(staff, "subject.manage")  # only those who can register the code may answer it
    if action not in DECISIONS[kind]:
        raise ValueError(action)
    label = DECISIONS[kind][action]
    two_step = rules.TWO_STEP_DECISIONS.get(kind, False) and action in FINAL
    if two_step and not allowed(staff, "decide.final"):
        if row.version != version:
            raise UserError("该事项已被他人处理，请刷新待办。", "Someone else handled this item; refresh.")
        if row.draft.get("proposal"):
            raise UserError("该事项已有待审核的提议。", "A proposal is already waiting for review.")
        proposal = {
            "action": action,
            "reason": reason,
            "by": staff.id,
            "by_name": staff.name,
            "changes": changes or {},
            "withdraw_record": withdraw_record,
            "at": now.isoformat(),
        }
        row.draft = {**row.draft, "proposal": proposal}
        row.version += 1
        await log_change(
            session,
            actor=f"staff:{staff.id}",
            action=f"{kind}.propose",
            entity=_entity(kind),
            entity_id=row.id,
            subject_id=row.subject_id,
            after={**proposal, "note": f"提议{label}"},
        )
        return DecisionResult(False, f"已提议「{label}」，等待审核人员确认。")
    if kind == "repair":
        await repair.decide(
            session,
            item_id,
            action,
            staff=staff,
            expected_version=version,
            today=today,
            now=now,
            calendar=calendar,
            reason=reason,
        )
    elif kind == "objection":
        await objections.decide(
            session,
            item_id,
            action,
            staff=staff,
            expected_version=version,
            today=today,
            now=now,
            reason=reason,
            changes=changes,
            withdraw_record=withdraw_record,
            calendar=calendar,
        )
    elif kind == "binding":
        await binding.decide_binding(
            session,
            item_id,
            approve=action == "approve",
            staff_id=staff.id or 0,
            version=version,
            reason=reason,
            now=now,
            calendar=calendar,
        )
    elif kind == "fulfilment":
        await fulfilment.decide(
            session,
            item_id,
            action == "approve",
            staff=staff,
            expected_version=version,
            reason=reason,
            now=now,
            today=today,
            calendar=calendar,
        )
    elif kind in follow_up.KINDS:
        await follow_up.decide(
            session,
            item_id,
            action == "approve",
            staff=staff,
            expected_version=version,
            reason=reason,
            now=now,
            today=today,
            calendar=calendar,
        )
    elif kind == PUBLICATION:
        if row.published_at is not None:  # another staff member was quicker
            raise UserError("该处罚决定已标记为已公示。", "This decision is already marked published.")
        await mark_published(session, item_id, staff=staff, now=now)
    else:
        await commitments.decide_fulfilment(
            session,
            item_id,
            Fulfilment(action),
            staff=staff,
            today=today,
            expected_version=version,
            unfulfilled=reason,
            now=now,
        )
    if kind in ("repair", "objection") and row.draft.get("proposal"):
        row.draft = {k: v for k, v in row.draft.items() if k != "proposal"}
    return DecisionResult(True, f"已标记为「{label}」。" if label.startswith("已") else f"已{label}。")


async def review_proposal(
    session: AsyncSession,
    kind: str,
    item_id: int,
    *,
    staff: Staff,
    version: int,
    approve: bool,
    today: date,
    now: datetime,
    calendar: WorkdayCalendar,
) -> DecisionResult:
    require(staff, "decide.final")
    row, subject = await load_item(session, kind, item_id, lock=True)
    require_department(staff, subject)
    proposal = row.draft.get("proposal")
    if not proposal or row.version != version:
        raise UserError("该提议已被处理，请刷新待办。", "This proposal was already handled.")
    if proposal["by"] == staff.id:
        raise UserError("不能审核自己的提议。", "You cannot review your own proposal.")
    if not approve:
        row.draft = {k: v for k, v in row.draft.items() if k != "proposal"}
        row.version += 1
        await log_change(
            session,
            actor=f"staff:{staff.id}",
            action=f"{kind}.proposal_rejected",
            entity=_entity(kind),
            entity_id=row.id,
            subject_id=row.subject_id,
            before={"proposal": proposal},
            after={"note": "驳回提议"},
        )
        return DecisionResult(False, "已驳回该提议，事项退回待办。")
    return await decide(
        session,
        kind,
        item_id,
        proposal["action"],
        staff=staff,
        version=row.version,
        today=today,
        now=now,
        calendar=calendar,
        reason=proposal.get("reason", ""),
        changes=proposal.get("changes") or None,
        withdraw_record=proposal.get("withdraw_record", False),
    )


def _entity(kind: str) -> str:
    return {
        "repair": repair.ENTITY,
        "objection": objections.ENTITY,
        "commitment": "commitment",
        "binding": binding.REQUEST_ENTITY,
        "fulfilment": fulfilment.ENTITY,
        follow_up.RECTIFICATION: follow_up.ENTITY,
        follow_up.TOLERANCE: follow_up.ENTITY,
        PUBLICATION: "credit_record",
    }[kind]


OPEN = OPEN_STATUSES  # re-exported for dialogs
