"""信用承诺: types, who may use them, the 承诺编码, recording a confirmed letter, and fulfilment (承诺—践诺
closed loop). Rules: domain-rules §7; numbers in rules.COMMITMENT_*."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Commitment,
    CommitmentKind,
    CreditRecord,
    Deadline,
    Fulfilment,
    RecordKind,
    RecordStatus,
    Severity,
    Staff,
    Subject,
    utcnow,
)
from workflows import rules
from workflows.applications import close_deadlines
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar
from workflows.errors import UserError
from workflows.notices import notify_subject


@dataclass(frozen=True)
class CommitmentType:
    kind: CommitmentKind
    name: str  # written in the letter (notifications/letters.py) and the monthly lists
    name_en: str
    meaning: str
    meaning_en: str
    obligation: str
    obligation_en: str
    breach: str
    breach_en: str
    matter_from_list: bool  # a licensing matter from rules.COMMITMENT_MATTERS, else a typed 承诺事由
    restricted: bool  # not for subjects with unrepaired 失信 records or a past false commitment (§7.4, §10)


COMMITMENT_TYPES: dict[CommitmentKind, CommitmentType] = {
    t.kind: t
    for t in (
        CommitmentType(
            kind=CommitmentKind.APPROVAL_SUBSTITUTE,
            name="审批替代型（告知承诺）",
            name_en="Approval by notification and commitment",
            meaning="行政机关书面告知办理条件和所需材料，您书面承诺已符合条件，即可不再提交相关证明材料、当场办理。",
            meaning_en=(
                "The authority tells you in writing the conditions and materials required; once you commit "
                "in writing that you meet them, you need not submit the supporting documents and the matter "
                "is handled on the spot."
            ),
            obligation="承诺内容真实，办理后接受核查；核查发现不符合条件的，按要求整改。",
            obligation_en=(
                "What you commit to is true and you accept checks afterwards; if a check finds the "
                "conditions unmet, you rectify as required."
            ),
            breach="承诺不实的，依法撤销相关许可决定，记入信用记录，一定期限内不再适用告知承诺。",
            breach_en=(
                "A false commitment means the licence is revoked according to law, a credit record is made, "
                "and approval by commitment is unavailable for a period."
            ),
            matter_from_list=True,
            restricted=True,
        ),
        CommitmentType(
            kind=CommitmentKind.TOLERANCE,
            name="容缺受理型",
            name_en="Acceptance with missing materials",
            meaning="主要材料齐全、次要材料欠缺时先行受理，欠缺材料在约定期限内补齐。",
            meaning_en=(
                "When the main materials are complete but secondary ones are missing, the application is "
                "accepted first and the missing materials are handed in by an agreed deadline."
            ),
            obligation="在约定期限内补齐所列材料；期限不超过该事项的承诺办结时限。",
            obligation_en=(
                "Hand in the listed materials by the agreed deadline, which may not exceed the matter's "
                "promised processing time."
            ),
            breach="逾期未补齐或材料不符合要求的，终止办理并记入信用记录。",
            breach_en=(
                "If the materials are late or do not meet the requirements, processing stops and a credit "
                "record is made."
            ),
            matter_from_list=True,
            restricted=True,
        ),
        CommitmentType(
            kind=CommitmentKind.CERTIFICATE,
            name="证明事项型",
            name_en="Commitment in place of a certificate",
            meaning="以书面承诺代替提交某项证明材料。",
            meaning_en="A written commitment takes the place of a certificate you would otherwise submit.",
            obligation="承诺所述事实真实，接受核查。",
            obligation_en="The facts you commit to are true, and you accept checks.",
            breach="承诺不实的，依法撤销相关证件或决定，并记入信用记录。",
            breach_en=(
                "A false commitment means the certificate or decision is revoked according to law and a "
                "credit record is made."
            ),
            matter_from_list=True,
            restricted=False,
        ),
        CommitmentType(
            kind=CommitmentKind.VOLUNTARY,
            name="主动公示型",
            name_en="Voluntary public commitment",
            meaning="主动向社会公开作出守法诚信经营的承诺。",
            meaning_en="A public commitment, made of your own accord, to operate lawfully and honestly.",
            obligation="遵守承诺内容，接受社会监督。",
            obligation_en="Keep to what you committed to and accept public scrutiny.",
            breach="违背承诺的，记入信用记录并向社会公示。",
            breach_en="A breach is entered in your credit records and published.",
            matter_from_list=False,
            restricted=False,
        ),
        CommitmentType(
            kind=CommitmentKind.SELF_REGULATION,
            name="行业自律型",
            name_en="Industry self-regulation",
            meaning="参加行业协会组织的自律承诺活动。",
            meaning_en="Taking part in a self-regulation commitment organised by an industry association.",
            obligation="遵守行业公约和自律规范。",
            obligation_en="Keep to the industry convention and self-regulation rules.",
            breach="违背承诺的，由行业协会通报，并记入信用记录。",
            breach_en="A breach is announced by the industry association and a credit record is made.",
            matter_from_list=False,
            restricted=False,
        ),
        CommitmentType(
            kind=CommitmentKind.REPAIR,
            name="信用修复型",
            name_en="Credit repair commitment",
            meaning="申请信用修复时作出的承诺：已纠正失信行为、履行法定义务，所交材料真实。",
            meaning_en=(
                "The commitment made with a credit repair application: the breach has been corrected, the "
                "legal obligations are met, and the materials handed in are true."
            ),
            obligation="不再发生同类失信行为；所交材料真实有效。",
            obligation_en=(
                "Commit no further breach of the same kind; the materials handed in are true and valid."
            ),
            breach="违背承诺的，相关失信信息按最长公示期公示，违背承诺情况予以通报和公示。",
            breach_en=(
                "On a breach, the records concerned are published for the longest publicity period, and the "
                "breach itself is announced and published."
            ),
            matter_from_list=False,
            restricted=False,
        ),
    )
}
TOLERANCE_MATERIALS = "tolerance_materials"  # Deadline.kind: the 容缺 materials owed by the subject
# Offered in the commitment menu; 信用修复型 is made inside a repair application.
MENU_KINDS = tuple(k for k in COMMITMENT_TYPES if k != CommitmentKind.REPAIR)


@dataclass(frozen=True)
class BarredReason:
    """Why a subject may not use 告知承诺 / 容缺受理, as a clause in both languages."""

    zh: str
    en: str

    def text(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


async def barred_reason(session: AsyncSession, subject_id: int) -> BarredReason | None:
    """Why this subject may not use 告知承诺 / 容缺受理, or None (§7.4: until repaired)."""
    stmt = select(CreditRecord).where(
        CreditRecord.subject_id == subject_id,
        CreditRecord.status == RecordStatus.PUBLISHED,
        (CreditRecord.kind == RecordKind.COMMITMENT_BREACH)
        | (CreditRecord.kind == RecordKind.DISHONESTY_LIST)
        | ((CreditRecord.kind == RecordKind.PENALTY) & (CreditRecord.severity == Severity.SERIOUS)),
    )
    row = (await session.exec(stmt.limit(1))).first()
    if row is None:
        return None
    if row.kind == RecordKind.COMMITMENT_BREACH:
        return BarredReason(
            f"存在未修复的违背承诺记录（{row.decision_date}）",
            f"you have an unrepaired record of a breached commitment ({row.decision_date})",
        )
    shown = row.decision_no or row.decision_date
    return BarredReason(
        f"存在未修复的严重失信记录（{shown}）",
        f"you have an unrepaired serious dishonesty record ({shown})",
    )


async def next_code(session: AsyncSession, region: str, day: date) -> str:
    """承诺编码: region 6 + YYYYMMDD + serial 6 (§7.2). Serial = count that day + 1; the unique index
    catches a concurrent duplicate and the caller retries."""
    prefix = f"{region[:6]:0<6}{day:%Y%m%d}"
    count = (await session.exec(select(func.count()).where(col(Commitment.code).startswith(prefix)))).one()
    return f"{prefix}{int(count) + 1:0{rules.COMMITMENT_CODE_SERIAL_DIGITS}d}"


def tolerance_limit(calendar: WorkdayCalendar, made_on: date, matter_key: str) -> date:
    return calendar.add_workdays(made_on, rules.matter(matter_key).promised_workdays)


async def make_commitment(
    session: AsyncSession,
    *,
    subject: Subject,
    kind: CommitmentKind,
    matter: str,
    content: str,
    liability: str,
    letter: str,
    made_on: date,
    region: str,
    actor: str,
    calendar: WorkdayCalendar,
    matter_key: str | None = None,
    missing_materials: str | None = None,
    materials_due: date | None = None,
    repair_application_id: int | None = None,
) -> Commitment:
    assert subject.id is not None
    ctype = COMMITMENT_TYPES[kind]
    if ctype.restricted and (reason := await barred_reason(session, subject.id)) is not None:
        raise UserError(
            f"暂不能作出「{ctype.name}」承诺：{reason.zh}。完成信用修复后可再申请。",
            f"A “{ctype.name_en}” commitment is not available yet: {reason.en}. "
            "You can apply again once your records are repaired.",
        )
    if kind == CommitmentKind.TOLERANCE:
        if not missing_materials or materials_due is None or matter_key is None:
            raise UserError(
                "容缺受理须写明欠缺的材料和补齐期限。", "List the missing materials and the deadline."
            )
        limit = tolerance_limit(calendar, made_on, matter_key)
        if not made_on < materials_due <= limit:
            raise UserError(
                f"补齐期限须在 {made_on} 之后、不晚于 {limit}（该事项承诺办结时限）。",
                f"The deadline must be after {made_on} and no later than {limit}.",
            )
    for _attempt in range(5):
        code = await next_code(session, region, made_on)
        row = Commitment(
            code=code,
            subject_id=subject.id,
            kind=kind,
            matter=matter[:500],
            content=content,
            liability=liability,
            letter=letter,
            made_on=made_on,
            missing_materials=missing_materials,
            materials_due=materials_due,
            accepting_unit="交通运输局",
            repair_application_id=repair_application_id,
        )
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # another chat took this serial at the same moment
        break
    else:
        raise RuntimeError("could not allocate a commitment code")
    if kind == CommitmentKind.TOLERANCE and materials_due is not None:
        session.add(
            Deadline(
                kind=TOLERANCE_MATERIALS,
                ref_kind="commitment",
                ref_id=row.id,
                subject_id=subject.id,
                due_on=materials_due,
            )
        )
    await log_change(
        session,
        actor=actor,
        action="commitment.make",
        entity="commitment",
        entity_id=row.id,
        subject_id=subject.id,
        after={"code": code, "kind": kind, "matter": matter},
    )
    return row


async def subject_commitments(session: AsyncSession, subject_id: int) -> list[Commitment]:
    stmt = select(Commitment).where(Commitment.subject_id == subject_id).order_by(col(Commitment.id).desc())
    return list((await session.exec(stmt.limit(20))).all())


FULFILMENT_LABELS = {
    Fulfilment.PENDING: "待认定",
    Fulfilment.FULL: "全部履行",
    Fulfilment.PARTIAL: "部分履行",
    Fulfilment.NONE: "全部未履行",
}
FULFILMENT_LABELS_EN = {
    Fulfilment.PENDING: "to be decided",
    Fulfilment.FULL: "Fully kept",
    Fulfilment.PARTIAL: "Partly kept",
    Fulfilment.NONE: "Not kept",
}


async def decide_fulfilment(
    session: AsyncSession,
    commitment_id: int,
    outcome: Fulfilment,
    *,
    staff: Staff,
    today: date,
    expected_version: int,
    unfulfilled: str = "",
    now: datetime | None = None,
) -> Commitment:
    """Staff mark 全部履行 / 部分履行 / 全部未履行; a breach becomes a credit record with the letter's
    liability, and the subject is told."""
    row = await session.get(Commitment, commitment_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise UserError("找不到该承诺。", "No such commitment.")
    if row.version != expected_version or row.fulfilment != Fulfilment.PENDING:
        decided = Fulfilment(row.fulfilment)
        raise UserError(
            f"该承诺已由他人认定为「{FULFILMENT_LABELS[decided]}」。",
            f"Someone else already decided this commitment: “{FULFILMENT_LABELS_EN[decided]}”.",
        )
    if outcome == Fulfilment.PENDING:
        raise ValueError("a decision cannot be 'pending'")
    before = {"fulfilment": row.fulfilment}
    row.fulfilment = outcome
    row.fulfilment_decided_on = today
    row.decided_by = staff.id
    row.version += 1
    # Decided: nothing is owed any more, so the 容缺 materials reminders stop.
    await close_deadlines(session, "commitment", row.id or 0, now or utcnow(), kind=TOLERANCE_MATERIALS)
    if outcome != Fulfilment.FULL:
        record = CreditRecord(
            subject_id=row.subject_id,
            kind=RecordKind.COMMITMENT_BREACH,
            severity=Severity.GENERAL,
            decision_no=f"违诺认定 {row.code}",
            decision_date=today,
            authority=staff.department,
            facts=unfulfilled or FULFILMENT_LABELS[outcome],
            content=row.liability,
            commitment_id=row.id,
        )
        session.add(record)
        await session.flush()
        row.breach_record_id = record.id
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action="commitment.fulfilment",
        entity="commitment",
        entity_id=row.id,
        subject_id=row.subject_id,
        before=before,
        after={"fulfilment": outcome, "breach_record_id": row.breach_record_id},
    )
    await notify_subject(
        session,
        row.subject_id,
        event_key=f"commitment:{row.id}:fulfilment",
        template="commitment_decided",
        legally_required=True,
        now=now,
        context={
            "code": row.code,
            "outcome": FULFILMENT_LABELS[outcome],
            "liability": row.liability,
            "breach": outcome != Fulfilment.FULL,
            "unfulfilled": unfulfilled,
        },
    )
    return row


async def materials_received(
    session: AsyncSession,
    commitment_id: int,
    *,
    received_on: date,
    staff: Staff,
    today: date,
    now: datetime,
) -> bool:
    """Staff confirmed the 容缺 materials arrived (counted by arrival, §7.4): the deadline closes, and a
    commitment whose only promise was those materials by that day is 全部履行. True when it was fulfilled
    now; materials that came late leave the fulfilment to staff (the 容缺承诺履行核查 item)."""
    row = await session.get(Commitment, commitment_id, with_for_update=True, populate_existing=True)
    if row is None or row.kind != CommitmentKind.TOLERANCE:
        raise UserError("找不到该容缺受理承诺。", "No such tolerance commitment.")
    before = {"materials_received_on": row.materials_received_on, "fulfilment": row.fulfilment}
    row.materials_received_on = received_on
    in_time = row.materials_due is not None and received_on <= row.materials_due
    fulfilled = in_time and row.fulfilment == Fulfilment.PENDING
    if fulfilled:
        row.fulfilment = Fulfilment.FULL
        row.fulfilment_decided_on = today
        row.decided_by = staff.id
    row.version += 1
    await close_deadlines(session, "commitment", row.id or 0, now, kind=TOLERANCE_MATERIALS)
    await log_change(
        session,
        actor=f"staff:{staff.id}",
        action="commitment.materials_received",
        entity="commitment",
        entity_id=row.id,
        subject_id=row.subject_id,
        before={k: (v.isoformat() if isinstance(v, date) else v) for k, v in before.items()},
        after={
            "materials_received_on": received_on.isoformat(),
            "fulfilment": row.fulfilment,
            "in_time": in_time,
        },
    )
    return fulfilled
