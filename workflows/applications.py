"""What repair applications and objections share: the status machine, reference numbers, deadlines
and the timeline a user reads. Each process keeps its own steps (repair.py, objections.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ApplicationStatus as S
from models import AuditEntry, Deadline, DeadlineStatus
from workflows.audit import log_change
from workflows.errors import UserError

# action → (statuses it may start from, status it leads to). Read top to bottom as the flow chart.
TRANSITIONS: dict[str, tuple[frozenset[S], S]] = {
    "submit": (frozenset({S.DRAFT}), S.SUBMITTED),  # enterprise
    "accept": (frozenset({S.SUBMITTED}), S.ACCEPTED),  # staff 受理
    "request_more": (frozenset({S.SUBMITTED, S.ACCEPTED}), S.NEEDS_MORE),  # staff 补正
    "resubmit": (frozenset({S.NEEDS_MORE}), S.SUBMITTED),  # enterprise sends the missing materials
    "approve": (frozenset({S.SUBMITTED, S.ACCEPTED}), S.APPROVED),  # staff 通过 / 更正
    "reject": (frozenset({S.SUBMITTED, S.ACCEPTED}), S.REJECTED),  # staff 不予修复 / 维持
    "withdraw": (frozenset({S.DRAFT, S.SUBMITTED, S.ACCEPTED, S.NEEDS_MORE}), S.WITHDRAWN),  # enterprise
}
OPEN_STATUSES = frozenset({S.SUBMITTED, S.ACCEPTED, S.NEEDS_MORE})

STATUS_LABELS: dict[S, tuple[str, str]] = {
    S.DRAFT: ("草稿", "draft"),
    S.SUBMITTED: ("已提交", "submitted"),
    S.ACCEPTED: ("已受理", "accepted"),
    S.NEEDS_MORE: ("待补正", "more materials needed"),
    S.APPROVED: ("已通过", "approved"),
    S.REJECTED: ("未通过", "refused"),
    S.WITHDRAWN: ("已撤回", "withdrawn"),
}
ACTION_LABELS = {
    "create": ("创建草稿", "draft created"),
    "submit": ("提交申请", "submitted"),
    "accept": ("受理", "accepted"),
    "request_more": ("要求补正", "more materials asked for"),
    "resubmit": ("补正后重新提交", "resubmitted with more materials"),
    "approve": ("通过", "approved"),
    "reject": ("不予通过", "refused"),
    "withdraw": ("撤回申请", "withdrawn"),
    "upload": ("上传材料", "materials uploaded"),
    "upload_proof": ("上传履行义务证明", "proof of fulfilment uploaded"),
    "upload_authorisation": ("上传授权委托书", "letter of authorisation uploaded"),
    "upload_supplement": ("上传补正材料", "more materials uploaded"),
}
# Staff deliberation (a handler's proposal, a reviewer sending it back) and refused forgeries are the
# bureau's own business: the applicant's timeline shows decisions, not how they were reached.
STAFF_ONLY_ACTIONS = frozenset({"propose", "proposal_rejected", "forged"})


def status_label(status: str, lang: str = "zh") -> str:
    zh, en = STATUS_LABELS[S(status)]
    return en if lang == "en" else zh


def transition(app: Any, action: str, *, expected_version: int | None = None) -> S:
    """Move `app` by `action`, or refuse with what happened instead (stale message, someone else)."""
    allowed, target = TRANSITIONS[action]
    if expected_version is not None and app.version != expected_version:
        raise UserError(
            f"该申请已被处理，当前状态：{status_label(app.status)}。请刷新后再操作。",
            f"This application changed meanwhile; it is now {status_label(app.status, 'en')}.",
        )
    if S(app.status) not in allowed:
        raise UserError(
            f"当前状态为「{status_label(app.status)}」，不能{ACTION_LABELS[action][0]}。",
            f"The application is {status_label(app.status, 'en')}; that is not possible now.",
        )
    before = S(app.status)
    app.status = target
    app.version += 1
    return before


async def next_ref(session: AsyncSession, model: type[SQLModel], prefix: str, day: date) -> str:
    """Reference numbers people can read out: XF20261124 0001 (repair), YY… (objection)."""
    stem = f"{prefix}{day:%Y%m%d}"
    ref = model.ref_no
    count = (await session.exec(select(func.count()).where(col(ref).startswith(stem)))).one()
    return f"{stem}{int(count) + 1:04d}"


async def set_deadline(
    session: AsyncSession, *, kind: str, ref_kind: str, ref_id: int, subject_id: int, due_on: date
) -> None:
    """One deadline per (item, kind): a resubmission moves it instead of adding another."""
    row = (
        await session.exec(
            select(Deadline).where(
                Deadline.ref_kind == ref_kind, Deadline.ref_id == ref_id, Deadline.kind == kind
            )
        )
    ).first()
    if row is None:
        session.add(
            Deadline(kind=kind, ref_kind=ref_kind, ref_id=ref_id, subject_id=subject_id, due_on=due_on)
        )
    else:
        row.due_on = due_on
        row.status = DeadlineStatus.OPEN
        row.done_at = None


async def close_deadlines(
    session: AsyncSession, ref_kind: str, ref_id: int, now: datetime, kind: str | None = None
) -> None:
    stmt = select(Deadline).where(
        Deadline.ref_kind == ref_kind, Deadline.ref_id == ref_id, Deadline.status == DeadlineStatus.OPEN
    )
    if kind is not None:
        stmt = stmt.where(Deadline.kind == kind)
    for row in (await session.exec(stmt)).all():
        row.status = DeadlineStatus.DONE
        row.done_at = now


@dataclass(frozen=True)
class Step:
    at: datetime
    action: str
    note: str


async def timeline(session: AsyncSession, entity: str, entity_id: int, lang: str = "zh") -> list[Step]:
    """Every step with its date, from the audit log (the one record of what happened)."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
        .order_by(col(AuditEntry.id))
    )
    steps = []
    for e in (await session.exec(stmt)).all():
        action = e.action.rsplit(".", 1)[-1]
        if action in STAFF_ONLY_ACTIONS or action not in ACTION_LABELS:
            continue  # never a raw action name on a user's screen
        zh, en = ACTION_LABELS[action]
        steps.append(Step(e.at, en if lang == "en" else zh, str(e.after.get("note") or "")))
    return steps


async def withdraw(
    session: AsyncSession, app: Any, *, entity: str, action: str, now: datetime, actor: str
) -> None:
    """The applicant withdraws before a decision: its deadlines close and the audit log says so."""
    before = transition(app, "withdraw")
    await close_deadlines(session, entity, app.id or 0, now)
    await log_change(
        session,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=app.id,
        subject_id=app.subject_id,
        before={"status": before},
        after={"status": app.status},
    )
