"""The subject registry (主体库): enterprises by 统一社会信用代码, drivers by 身份证号码 with their 从业资格证.
Added by admins (command line or chat), by import, or created from an imported penalty row. One checker
per fact, shared by the command line, the chat and the import (issue #8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import SUBJECT_CATEGORIES, Subject, SubjectKind
from workflows.audit import log_change
from workflows.errors import UserError
from workflows.validation import (
    mask_id_number,
    normalize_code,
    validate_id_number,
    validate_qualification_cert,
    validate_uscc,
)

NAME_MAX = 200  # 行政相对人名称 varchar(200) (domain-rules §3)
PERSON_FIELD_MAX = 64


# -- one checker per fact ----------------------------------------------------------------------------


def check_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise UserError("名称不能为空。", "The name is empty.")
    if len(name) > NAME_MAX:
        raise UserError(f"名称最长 {NAME_MAX} 字，现为 {len(name)} 字。", f"At most {NAME_MAX} characters.")
    return name


def check_short_text(raw: str, what: str, what_en: str) -> str:
    text = " ".join(raw.split())
    if len(text) > PERSON_FIELD_MAX:
        raise UserError(
            f"{what}最长 {PERSON_FIELD_MAX} 字。", f"{what_en}: at most {PERSON_FIELD_MAX} characters."
        )
    return text


def check_first_issued(day: date, today: date) -> date:
    if day > today:
        raise UserError("初次领证日期不能晚于今天。", "The first-issue date cannot be in the future.")
    if day.year < 1980:
        raise UserError("初次领证日期早于 1980 年，请核对。", "The first-issue date is before 1980.")
    return day


def check_category(raw: str, kind: SubjectKind) -> str:
    category = raw.strip() or default_category(kind)
    if category not in SUBJECT_CATEGORIES:
        raise UserError(
            f"行政相对人类别应为 {'、'.join(SUBJECT_CATEGORIES)} 之一。",
            "The category must be one of the three of the national layout.",
        )
    if (kind == SubjectKind.DRIVER) != (category == "自然人"):
        raise UserError(
            "驾驶员的类别应为「自然人」，企业的类别不能是「自然人」。",
            "A driver is a natural person; an enterprise is not.",
        )
    return category


def default_category(kind: SubjectKind) -> str:
    return "自然人" if kind == SubjectKind.DRIVER else "法人及非法人组织"


def region_of(kind: SubjectKind, code: str) -> str:
    """登记管理机关行政区划码 (USCC characters 3–8) or the ID number's first six digits."""
    return code[2:8] if kind == SubjectKind.ENTERPRISE else code[:6]


# -- queries ---------------------------------------------------------------------------------------


async def subject_by_code(session: AsyncSession, raw: str) -> Subject | None:
    """A 统一社会信用代码, 从业资格证号 or 身份证号码, exactly."""
    code = normalize_code(raw)
    if not code:
        return None
    stmt = select(Subject).where(
        or_(col(Subject.uscc) == code, col(Subject.cert_no) == code, col(Subject.id_number) == code)
    )
    return (await session.exec(stmt.order_by(col(Subject.id)).limit(1))).first()


# -- adding and editing ----------------------------------------------------------------------------


async def add_enterprise(
    session: AsyncSession,
    *,
    uscc: str,
    name: str,
    actor: str,
    legal_rep: str = "",
    department: str = "",
    category: str = "",
) -> Subject:
    code = validate_uscc(uscc)
    if await subject_by_code(session, code) is not None:
        raise UserError(f"主体库中已有统一社会信用代码 {code}。", f"{code} is already registered.")
    subject = Subject(
        kind=SubjectKind.ENTERPRISE,
        name=check_name(name),
        uscc=code,
        region_code=region_of(SubjectKind.ENTERPRISE, code),
        legal_rep=check_short_text(legal_rep, "法定代表人", "Legal representative") or None,
        department=check_short_text(department, "主管部门", "Department") or None,
        category=check_category(category, SubjectKind.ENTERPRISE),
        created_by=actor,
    )
    return await _added(session, subject, actor)


async def add_driver(
    session: AsyncSession,
    *,
    id_number: str,
    name: str,
    cert_no: str,
    first_issued: date,
    actor: str,
    today: date,
    department: str = "",
) -> Subject:
    number = validate_id_number(id_number, today=today)
    cert, _warning = validate_qualification_cert(cert_no, today=today)
    for code in {number, cert}:
        if await subject_by_code(session, code) is not None:
            raise UserError(
                f"主体库中已有证号 {mask_id_number(code)} 的驾驶员。", "That driver is already registered."
            )
    subject = Subject(
        kind=SubjectKind.DRIVER,
        name=check_name(name),
        id_number=number,
        cert_no=cert,
        cert_first_issued=check_first_issued(first_issued, today),
        region_code=region_of(SubjectKind.DRIVER, number),
        department=check_short_text(department, "主管部门", "Department") or None,
        category="自然人",
        created_by=actor,
    )
    return await _added(session, subject, actor)


async def _added(session: AsyncSession, subject: Subject, actor: str) -> Subject:
    session.add(subject)
    await session.flush()
    await log_change(
        session,
        actor=actor,
        action="subject.add",
        entity="subject",
        entity_id=subject.id,
        subject_id=subject.id,
        after=audit_view(subject),
    )
    return subject


@dataclass(frozen=True)
class EditableField:
    attr: str
    label: str
    label_en: str
    kinds: frozenset[SubjectKind]


_BOTH = frozenset(SubjectKind)
EDITABLE: dict[str, EditableField] = {
    "name": EditableField("name", "名称", "name", _BOTH),
    "legal-rep": EditableField(
        "legal_rep", "法定代表人", "legal representative", frozenset({SubjectKind.ENTERPRISE})
    ),
    "department": EditableField("department", "主管部门", "department", _BOTH),
    "category": EditableField("category", "行政相对人类别", "category", frozenset({SubjectKind.ENTERPRISE})),
    "cert": EditableField("cert_no", "从业资格证号", "certificate number", frozenset({SubjectKind.DRIVER})),
    "first-issued": EditableField(
        "cert_first_issued", "初次领证日期", "first issued", frozenset({SubjectKind.DRIVER})
    ),
}


async def edit_subject(
    session: AsyncSession, subject: Subject, field: str, raw: str, *, actor: str, today: date
) -> tuple[Any, Any]:
    """Change one field through its checker; (before, after) as written to the audit log."""
    spec = EDITABLE.get(field)
    if spec is None or SubjectKind(subject.kind) not in spec.kinds:
        names = "、".join(f.label for f in EDITABLE.values() if SubjectKind(subject.kind) in f.kinds)
        raise UserError(f"该主体可修改的项目：{names}。", "That field cannot be edited for this subject.")
    value: Any
    if field == "name":
        value = check_name(raw)
    elif field in ("legal-rep", "department"):
        value = check_short_text(raw, spec.label, spec.label_en) or None
    elif field == "category":
        value = check_category(raw, SubjectKind(subject.kind))
    elif field == "cert":
        value, _warning = validate_qualification_cert(raw, today=today)
        other = await subject_by_code(session, value)
        if other is not None and other.id != subject.id:
            raise UserError("该从业资格证号已属于另一名驾驶员。", "Another driver has that certificate.")
    else:
        from workflows.dataio.values import parse_date

        try:
            value = check_first_issued(parse_date(raw), today)
        except ValueError as err:
            raise UserError(f"初次领证日期：{err}", f"First-issue date: {err}") from None
    before = getattr(subject, spec.attr)
    if before == value:
        return before, value
    setattr(subject, spec.attr, value)
    await log_change(
        session,
        actor=actor,
        action="subject.edit",
        entity="subject",
        entity_id=subject.id,
        subject_id=subject.id,
        before={spec.attr: _jsonable(before)},
        after={spec.attr: _jsonable(value)},
    )
    return before, value


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def audit_view(subject: Subject) -> dict[str, Any]:
    """What the audit log keeps of a subject: ID numbers masked (the log is read by staff)."""
    return {
        "kind": subject.kind,
        "name": subject.name,
        "uscc": subject.uscc,
        "cert_no": mask_id_number(subject.cert_no) if subject.cert_no else None,
        "id_number": mask_id_number(subject.id_number) if subject.id_number else None,
        "department": subject.department,
        "created_by": subject.created_by,
    }


def subject_card(subject: Subject, lang: str = "zh") -> list[str]:
    """A subject as staff read it: every ID number masked."""
    zh = lang != "en"
    lines = [subject.name]
    if subject.kind == SubjectKind.ENTERPRISE:
        lines.append(("统一社会信用代码：" if zh else "USCC: ") + (subject.uscc or "—"))
        if subject.legal_rep:
            lines.append(("法定代表人：" if zh else "Legal representative: ") + subject.legal_rep)
        if subject.category:
            lines.append(("类别：" if zh else "Category: ") + subject.category)
    else:
        lines.append(("从业资格证号：" if zh else "Certificate: ") + mask_id_number(subject.cert_no or ""))
        if subject.id_number:
            lines.append(("身份证号码：" if zh else "ID number: ") + mask_id_number(subject.id_number))
        if subject.cert_first_issued:
            lines.append(
                ("初次领证日期：" if zh else "First issued: ") + subject.cert_first_issued.isoformat()
            )
    lines.append(
        ("主管部门：" if zh else "Department: ") + (subject.department or ("未指定" if zh else "none"))
    )
    source = created_by_label(subject.created_by, zh)
    if source:
        lines.append(("来源：" if zh else "Source: ") + source)
    return lines


def created_by_label(created_by: str, zh: bool = True) -> str:
    if created_by.startswith("import"):
        return "批量导入时创建" if zh else "created by an import"
    if created_by.startswith("staff") or created_by == "cli":
        return "管理员登记" if zh else "registered by an admin"
    return ""
