"""One-time binding codes: staff (or the CLI) issue them, a chat redeems one and may then see that
subject's data (or act as that staff member). Numbers: rules.BINDING_*."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import BindingCode, BindingRequest, ChatBinding, ConversationState, Staff, Subject
from workflows import rules
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar
from workflows.clock import SHANGHAI, Clock, local_today, utc_now
from workflows.errors import UserError
from workflows.notices import enqueue
from workflows.penalties import serve_pending_notices
from workflows.security import note_wrong_code
from workflows.subjects import subject_by_code
from workflows.validation import normalize_code, validate_id_number, validate_uscc

# No 0/O, 1/I/L: codes are read aloud over the phone and typed from paper.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(rules.BINDING_CODE_LENGTH))


def looks_like_code(text: str) -> bool:
    code = normalize_code(text)
    return len(code) == rules.BINDING_CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


async def issue_code(
    session: AsyncSession,
    *,
    issued_by: str,
    clock: Clock,
    subject_id: int | None = None,
    staff_id: int | None = None,
    code: str | None = None,
) -> BindingCode:
    """`code` is only given by the demo loader, which prints fixed codes people can type from the README."""
    if (subject_id is None) == (staff_id is None):
        raise ValueError("a binding code is for exactly one subject or one staff member")
    row = BindingCode(
        code=code or new_code(),
        subject_id=subject_id,
        staff_id=staff_id,
        issued_by=issued_by,
        issued_at=utc_now(clock),
        expires_at=utc_now(clock) + timedelta(hours=rules.BINDING_CODE_TTL_HOURS),
    )
    session.add(row)
    await session.flush()
    await log_change(
        session,
        actor=issued_by,
        action="binding_code.issue",
        entity="binding_code",
        entity_id=row.id,
        subject_id=subject_id,
        after={"staff_id": staff_id, "expires_at": row.expires_at.isoformat()},
    )
    return row


@dataclass(frozen=True)
class BindOutcome:
    binding: ChatBinding | None
    error: UserError | None = None
    subject: Subject | None = None
    staff: Staff | None = None


def _locked_error(state: ConversationState) -> UserError:
    until = state.locked_until
    assert until is not None
    return UserError(
        f"绑定码错误次数过多，已暂停 {rules.BINDING_LOCKOUT_MINUTES} 分钟。请稍后再试，或联系发码的工作人员。",
        f"Too many wrong codes: binding is paused for {rules.BINDING_LOCKOUT_MINUTES} minutes.",
    )


def locked_out(state: ConversationState, clock: Clock) -> UserError | None:
    if state.locked_until is not None and state.locked_until > utc_now(clock):
        return _locked_error(state)
    return None


async def redeem(
    session: AsyncSession,
    state: ConversationState,
    *,
    user_id: str,
    raw_code: str,
    clock: Clock,
    calendar: WorkdayCalendar,
) -> BindOutcome:
    """Returns an outcome instead of raising: a wrong try must still be counted (and committed)."""
    if (err := locked_out(state, clock)) is not None:
        return BindOutcome(None, err)
    now = utc_now(clock)
    code = normalize_code(raw_code)
    row = (await session.exec(select(BindingCode).where(BindingCode.code == code))).first()
    problem: UserError | None = None
    if row is None:
        problem = UserError(
            "绑定码不正确，请核对后重新输入（8位字母数字）。", "That binding code is not valid."
        )
    elif row.used_at is not None:
        problem = UserError(
            "这个绑定码已经用过了，每个码只能用一次。请向工作人员申请新码。",
            "This code has already been used; ask for a new one.",
        )
    elif row.expires_at <= now:
        problem = UserError(
            "这个绑定码已过期，请向工作人员申请新码。", "This code has expired; ask for a new one."
        )
    if problem is not None:
        await note_wrong_code(session, now=now)
        state.failed_codes += 1
        left = rules.BINDING_MAX_WRONG_CODES - state.failed_codes
        if left <= 0:
            state.failed_codes = 0
            state.locked_until = now + timedelta(minutes=rules.BINDING_LOCKOUT_MINUTES)
            await log_change(
                session,
                actor=f"chat:{state.channel}:{state.chat_id}",
                action="binding.lockout",
                entity="conversation_state",
                entity_id=state.id,
                after={"locked_until": state.locked_until.isoformat()},
            )
            return BindOutcome(None, _locked_error(state))
        return BindOutcome(
            None, UserError(f"{problem.zh}（还可尝试 {left} 次）", f"{problem.en} ({left} tries left)")
        )

    assert row is not None
    existing = (
        await session.exec(
            select(ChatBinding).where(
                ChatBinding.channel == state.channel,
                ChatBinding.chat_id == state.chat_id,
                ChatBinding.subject_id == row.subject_id,
                ChatBinding.staff_id == row.staff_id,
                ChatBinding.active,
            )
        )
    ).first()
    binding = existing or ChatBinding(
        channel=state.channel,
        chat_id=state.chat_id,
        user_id=user_id,
        subject_id=row.subject_id,
        staff_id=row.staff_id,
        created_at=now,
    )
    session.add(binding)
    row.used_at = now
    row.used_by_chat = f"{state.channel}:{state.chat_id}"
    state.failed_codes = 0
    state.locked_until = None
    await session.flush()
    state.active_binding_id = binding.id
    await log_change(
        session,
        actor=f"chat:{state.channel}:{state.chat_id}",
        action="binding.create",
        entity="chat_binding",
        entity_id=binding.id,
        subject_id=row.subject_id,
        after={"code_id": row.id, "staff_id": row.staff_id, "subject_id": row.subject_id},
    )
    if row.subject_id is not None:
        # 三书同达 for penalties that arrived before anyone was bound (domain-rules §6).
        await serve_pending_notices(
            session, row.subject_id, today=local_today(clock), now=now, calendar=calendar
        )
    subject = await session.get(Subject, row.subject_id) if row.subject_id else None
    staff = await session.get(Staff, row.staff_id) if row.staff_id else None
    return BindOutcome(binding, None, subject, staff)


# -- binding without a code: a request staff approve -----------------------------------------------

REQUEST_ENTITY = "binding_request"


def check_requested_code(raw: str) -> str:
    """What a stranger typed as a USCC or certificate number: the format is checked, and nothing else is
    said. Whether the code is registered, whose it is and which check character would be right are never
    told to an unbound chat (issue #9)."""
    code = normalize_code(raw)
    if not (6 <= len(code) <= 20 and code.isalnum() and code.isascii()):
        raise UserError(
            "请输入企业的统一社会信用代码（18 位）或驾驶员的从业资格证号。",
            "Enter the enterprise's 18-character USCC or the driver's certificate number.",
        )
    if len(code) == 18:
        try:
            (validate_id_number if code[:17].isdigit() else validate_uscc)(code)
        except UserError:
            raise UserError(
                "这个代码的格式或校验位不正确，请对照证照核对后重新输入。",
                "That code's format or check character is wrong; check it against the licence.",
            ) from None
    return code


async def check_can_request(session: AsyncSession, state: ConversationState, *, now: datetime) -> None:
    """One open request per chat, and rules.BINDING_REQUESTS_PER_DAY a day at most."""
    mine = (
        await session.exec(
            select(BindingRequest).where(
                BindingRequest.channel == state.channel, BindingRequest.chat_id == state.chat_id
            )
        )
    ).all()
    if any(r.status == "pending" for r in mine):
        raise UserError(
            "您已有一个待审核的绑定申请，请等待工作人员处理。", "A request is already waiting for review."
        )
    if sum(1 for r in mine if r.created_at > now - timedelta(days=1)) >= rules.BINDING_REQUESTS_PER_DAY:
        raise UserError(
            "今天的申请次数已用完，请明天再试或联系工作人员索取绑定码。", "Too many requests today."
        )


async def request_binding(
    session: AsyncSession,
    state: ConversationState,
    *,
    user_id: str,
    typed_code: str,
    requester_name: str,
    applicant: str,
    now: datetime,
) -> BindingRequest:
    """Queue a request for staff. The request is queued whether or not the code is registered, so the
    answer cannot be used to probe the registry."""
    await check_can_request(session, state, now=now)
    code = check_requested_code(typed_code)
    subject = await subject_by_code(session, code)
    row = BindingRequest(
        channel=state.channel,
        chat_id=state.chat_id,
        user_id=user_id,
        subject_id=subject.id if subject is not None else None,
        typed_code=code,
        requester_name=(requester_name or "")[:64],
        applicant=applicant[:100],
        created_at=now,
    )
    session.add(row)
    await session.flush()
    await log_change(
        session,
        actor=f"chat:{state.channel}:{state.chat_id}",
        action="binding_request.create",
        entity=REQUEST_ENTITY,
        entity_id=row.id,
        subject_id=row.subject_id,
        after={"applicant": row.applicant, "registered": subject is not None},
    )
    return row


async def decide_binding(
    session: AsyncSession,
    request_id: int,
    *,
    approve: bool,
    staff_id: int,
    version: int,
    reason: str,
    now: datetime,
    calendar: WorkdayCalendar,
) -> BindingRequest:
    """同意: the chat is bound (and gets any 三书同达 it missed); 不同意: it is told why."""
    row = await session.get(BindingRequest, request_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise UserError("找不到该绑定申请。", "No such request.")
    if row.version != version or row.status != "pending":
        raise UserError("该绑定申请已被处理，请刷新待办。", "This request was already handled.")
    if not approve and not reason.strip():
        raise UserError("不同意须写明理由。", "A reason is required.")
    if row.subject_id is None and approve:
        # Registered since the request came in (staff add the enterprise, then approve)?
        found = await subject_by_code(session, row.typed_code)
        if found is None:
            raise UserError(
                f"代码 {row.typed_code} 尚未登记。请先在「数据管理 → 登记主体」中登记，再同意绑定；"
                "或选择不同意。",
                "That code is not registered yet: register the subject first, or refuse.",
            )
        row.subject_id = found.id
    row.status = "approved" if approve else "rejected"
    row.reason = reason or None
    row.decided_by, row.decided_at = staff_id, now
    row.version += 1
    subject = await session.get(Subject, row.subject_id) if row.subject_id is not None else None
    if approve:
        assert row.subject_id is not None
        session.add(
            ChatBinding(
                channel=row.channel,
                chat_id=row.chat_id,
                user_id=row.user_id,
                subject_id=row.subject_id,
                created_at=now,
            )
        )
        await session.flush()
        await serve_pending_notices(
            session, row.subject_id, today=now.astimezone(SHANGHAI).date(), now=now, calendar=calendar
        )
    await log_change(
        session,
        actor=f"staff:{staff_id}",
        action=f"binding_request.{row.status}",
        entity=REQUEST_ENTITY,
        entity_id=row.id,
        subject_id=row.subject_id,
        before={"status": "pending"},
        after={"status": row.status, "note": reason},
    )
    await enqueue(
        session,
        channel=row.channel,
        chat_id=row.chat_id,
        template="binding_decided",
        # A refusal does not name the subject: the requester may not be who they said.
        context={
            "approved": approve,
            "subject_name": subject.name if subject and approve else "",
            "reason": reason,
        },
        dedupe_key=f"binding_request:{row.id}:decided",
        subject_id=row.subject_id,
        now=now,
        legally_required=True,
        kind="decision",
    )
    return row
