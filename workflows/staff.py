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
    Interview,
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
from workflows.clock import SHANGHAI, to_local
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
ROLE_LABELS = {
    H: ("经办", "Handler"),
    R: ("审核", "Reviewer"),
    S: ("负责人", "Chief"),
    A: ("管理员", "Admin"),
}


def role_label(role: StaffRole, lang: str = "zh") -> str:
    zh, en = ROLE_LABELS[StaffRole(role)]
    return en if lang == "en" else zh


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

Words = tuple[str, str]  # (Chinese, English): what staff read, in either language of their chat


def in_lang(words: Words, lang: str) -> str:
    zh, en = words
    return en if lang == "en" else zh


@dataclass(frozen=True)
class QueueItem:
    kind: str  # repair | objection | commitment | fulfilment | binding | rectification |
    # tolerance_materials (reports, workflows/follow_up.py) | publication (双公示 of a penalty)
    item_id: int
    ref: str  # how the item is named, in Chinese (the staff digest shows it too)
    ref_en: str
    subject: Subject
    asked: str  # what the item asks of staff, in Chinese
    asked_en: str
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

    def ref_in(self, lang: str) -> str:
        return in_lang((self.ref, self.ref_en), lang)

    def asked_in(self, lang: str) -> str:
        return in_lang((self.asked, self.asked_en), lang)

    def subject_name(self, lang: str) -> str:
        """A registered subject's name is data; the stand-in for an unregistered code is words."""
        return self.subject.name if self.subject.id is not None else in_lang(UNREGISTERED, lang)


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

    def add(
        kind: str,
        item_id: int | None,
        subject: Subject,
        ref: Words,
        asked: Words,
        status: str,
        due: date | None,
        version: int,
        proposal: dict[str, Any] | None = None,
    ) -> None:
        items.append(
            QueueItem(
                kind,
                item_id or 0,
                ref[0],
                ref[1],
                subject,
                asked[0],
                asked[1],
                status,
                due,
                left(due),
                version,
                proposal,
            )
        )

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
            no = record.decision_no
            asked = (
                f"信用修复：{no}（{status_label(app.status)}）",
                f"Credit repair: {no} ({status_label(app.status, 'en')})",
            )
            add(
                "repair",
                app.id,
                subject,
                (app.ref_no, app.ref_no),
                asked,
                app.status,
                app.due_on,
                app.version,
                app.draft.get("proposal"),
            )
    for obj, subject in (
        await session.exec(
            select(Objection, Subject)
            .join(Subject, col(Subject.id) == col(Objection.subject_id))
            .where(col(Objection.status).in_([ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED]))
        )
    ).all():
        if mine(subject):
            reason_en = rules.OBJECTION_REASONS_EN.get(obj.reason, obj.reason)
            asked = (
                f"异议（{obj.reason}）：{obj.description[:40]}",
                f"Objection ({reason_en}): {obj.description[:40]}",
            )
            add(
                "objection",
                obj.id,
                subject,
                (obj.ref_no, obj.ref_no),
                asked,
                obj.status,
                obj.due_on,
                obj.version,
                obj.draft.get("proposal"),
            )
    reported: set[int] = set()  # 容缺 commitments whose materials wait for staff as a report item
    for waiting in await follow_up.waiting_reports(session):
        report = waiting.report
        if report.kind == follow_up.TOLERANCE:
            reported.add(report.ref_id)
        if mine(waiting.subject):
            asked = (waiting.asked, await _report_asked_en(session, report))
            add(
                report.kind,
                report.id,
                waiting.subject,
                (report.ref_no, report.ref_no),
                asked,
                report.status,
                report.due_on,
                report.version,
            )
    for c, subject in (
        await session.exec(
            select(Commitment, Subject)
            .join(Subject, col(Subject.id) == col(Commitment.subject_id))
            .where(Commitment.fulfilment == Fulfilment.PENDING, col(Commitment.materials_due).is_not(None))
        )
    ).all():
        if mine(subject) and c.id not in reported:
            day = c.materials_received_on
            asked = (
                f"容缺承诺履行核查：{c.missing_materials}" + (f"（材料已于 {day} 收到）" if day else ""),
                f"Commitment check (missing materials): {c.missing_materials}"
                + (f" (materials received {day})" if day else ""),
            )
            add(
                "commitment",
                c.id,
                subject,
                (c.code, c.code),
                asked,
                Fulfilment.PENDING,
                c.materials_due,
                c.version,
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
            method_en = rules.FULFILMENT_METHODS_EN.get(f.method, f.method)
            asked = (
                f"履行申报：{record.decision_no}（{f.method}，{f.fulfilled_on}）",
                f"Fulfilment report: {record.decision_no} ({method_en}, {f.fulfilled_on})",
            )
            add("fulfilment", f.id, subject, (f.ref_no, f.ref_no), asked, f.status, f.due_on, f.version)
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
            day, due = record.decision_date, deadline.due_on
            ref = (
                record.decision_no or f"{day} 的处罚决定",
                record.decision_no or f"penalty decision of {day}",
            )
            asked = (
                f"双公示：行政处罚信息须于 {due} 前公示（决定日期 {day}）",
                f"Dual publicity: publish the administrative penalty by {due} (decided {day})",
            )
            add(PUBLICATION, record.id, subject, ref, asked, DeadlineStatus.OPEN, due, 0)
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
            when = req.created_at.astimezone(SHANGHAI)
            ref = (f"绑定申请（{when:%m-%d %H:%M}）", f"Binding request ({when:%m-%d %H:%M})")
            asked = (binding_request_text(req), binding_request_text(req, "en"))
            add(
                "binding",
                req.id,
                subject or unregistered_subject(req),
                ref,
                asked,
                "pending",
                None,
                req.version,
            )
    order = {"overdue": 0, "soon": 1, "ok": 2, "none": 3}
    return sorted(items, key=lambda i: (order[i.urgency], i.due_on or date.max, i.item_id))


async def _report_asked_en(session: AsyncSession, report: FollowUpReport) -> str:
    """What a report answers, in English (follow_up.waiting_reports words it in Chinese only). The
    interview or commitment is already in the session: waiting_reports read it, so get() reads no row."""
    if report.kind == follow_up.RECTIFICATION:
        iv = await session.get(Interview, report.ref_id)
        assert iv is not None  # waiting_reports lists only reports whose interview it found
        return f"Rectification after the interview of {to_local(iv.scheduled_at):%Y-%m-%d %H:%M}"
    c = await session.get(Commitment, report.ref_id)
    assert c is not None  # likewise its commitment
    return f"Missing materials: commitment {c.code}, {c.missing_materials or ''} (due {c.materials_due})"


UNREGISTERED: Words = ("（未登记主体）", "(unregistered subject)")


def unregistered_subject(req: BindingRequest) -> Subject:
    """Stands in (unsaved) for the subject of a binding request whose code is not registered."""
    return Subject(kind=SubjectKind.ENTERPRISE, name=UNREGISTERED[0], department=None)


def binding_request_text(req: BindingRequest, lang: str = "zh") -> str:
    """What staff check a request against: what was typed, and who typed it (as the messenger shows)."""
    typed = (mask_id_number(req.typed_code) if req.typed_code[:17].isdigit() else req.typed_code) or "—"
    if lang == "en":
        who = f" (chat name: {req.requester_name})" if req.requester_name else ""
        registered = "" if req.subject_id is not None else "; this code is not registered"
        return f"Binding request: {req.applicant}{who}; code typed: {typed}{registered}"
    who = f"（聊天昵称：{req.requester_name}）" if req.requester_name else ""
    registered = "" if req.subject_id is not None else "；该代码尚未登记"
    return f"绑定申请：{req.applicant}{who}；输入的代码：{typed}{registered}"


# -- decisions -------------------------------------------------------------------------------------

PUBLICATION = "publication"  # the Deadline.kind of 双公示 and the queue kind that lists it

# Which decisions each item kind knows, as the buttons say them; NEEDS_TEXT: which need a reason.
DECISIONS: dict[str, dict[str, Words]] = {
    "repair": {
        "accept": ("受理", "Accept"),
        "request_more": ("补正", "Request more materials"),
        "approve": ("通过", "Approve"),
        "reject": ("不予修复", "Refuse repair"),
    },
    "objection": {
        "accept": ("受理", "Accept"),
        "approve": ("更正", "Correct the record"),
        "reject": ("维持", "Uphold"),
    },
    "commitment": {
        Fulfilment.FULL: ("全部履行", "Fully kept"),
        Fulfilment.PARTIAL: ("部分履行", "Partly kept"),
        Fulfilment.NONE: ("全部未履行", "Not kept"),
    },
    "binding": {"approve": ("同意绑定", "Approve binding"), "reject": ("不同意", "Refuse")},
    "fulfilment": {"approve": ("确认履行", "Confirm fulfilment"), "reject": ("不予确认", "Do not confirm")},
    follow_up.RECTIFICATION: {
        "approve": (follow_up.KINDS[follow_up.RECTIFICATION].approve, "Accept rectification"),
        "reject": (follow_up.KINDS[follow_up.RECTIFICATION].reject, "Ask for more rectification"),
    },
    follow_up.TOLERANCE: {
        "approve": (follow_up.KINDS[follow_up.TOLERANCE].approve, "Confirm received"),
        "reject": (follow_up.KINDS[follow_up.TOLERANCE].reject, "Ask for more materials"),
    },
    "publication": {"publish": ("已公示", "Published")},
}


def decision_label(kind: str, action: str, lang: str = "zh") -> str:
    return in_lang(DECISIONS[kind][action], lang)


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
    text: str  # what happened, in Chinese
    text_en: str

    def text_in(self, lang: str) -> str:
        return in_lang((self.text, self.text_en), lang)


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
    label, label_en = DECISIONS[kind][action]
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
        return DecisionResult(
            False, f"已提议「{label}」，等待审核人员确认。", f"Proposed “{label_en}”; waiting for a reviewer."
        )
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
    if label.startswith("已"):  # 已公示: a state marked, not a verdict given
        return DecisionResult(True, f"已标记为「{label}」。", f"Marked “{label_en}”.")
    return DecisionResult(True, f"已{label}。", f"Decision recorded: “{label_en}”.")


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
        return DecisionResult(
            False, "已驳回该提议，事项退回待办。", "Proposal rejected; the item is back in To do."
        )
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
