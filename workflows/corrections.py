"""更正: the facts of a record staff may correct, one validator per fact, and what a correction changes.

Penalty entry (bot/dialogs/staff_lookup.py) and correction on objection (bot/dialogs/staff_queue.py →
workflows/objections.py) read typed text through the same functions below; the import keeps its row
readers (workflows/imports/columns.py), which these reuse where they fit. A correction recomputes every
date the facts decide — 失信程度, 公示截止期, the first day repair may be applied for — the way recording a
penalty does (workflows/penalties.py penalty_terms), and says each change in words: 「罚款（万元）：0.5 → 0.3」.
Rules: domain-rules §4.2 (class, periods), §5 O7 (a changed penalty's 公示截止期 is corrected).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from models import CreditRecord, DriverViolation, RecordKind, RecordStatus, Severity
from workflows import labels, rules
from workflows.calendar import WorkdayCalendar
from workflows.dataio.values import cell_text, parse_decimal
from workflows.errors import UserError
from workflows.imports import columns
from workflows.imports.grades import GRADES
from workflows.penalties import penalty_terms
from workflows.records import repair_eligibility

# Input sanity, not a legal number: a fine above this (万元, i.e. 10亿元) is a typo in the unit.
FINE_WAN_MAX = 100_000
# Lengths: the database columns (models/records.py) and the import's 双公示 layout (imports/penalties.py).
DECISION_NO_MAX = 128
AUTHORITY_MAX = 200
FACTS_MAX = 4000
# 普通程序 is the 2021 law's name for what the exchange table calls 一般程序 (rules.PROCEDURE_CODES).
PROCEDURE_ALIASES = {"普通程序": "一般", "普通": "一般", "简易": "简易", "一般": "一般"}
PROCEDURE_LABELS = {"简易": ("简易程序", "summary procedure"), "一般": ("一般程序", "ordinary procedure")}
NOT_GIVEN = ("未填写", "not given")
NONE_DERIVED = ("无", "none")  # no fine; a derived date that no longer applies (a withdrawn record)


def _refuse(label: str, label_en: str, reason: str, reason_en: str | None = None) -> UserError:
    return UserError(f"「{label}」{reason}", f"{label_en}: {reason_en or reason}")


def _text(raw: str, label: str, label_en: str, max_len: int) -> str:
    text = cell_text(raw)
    if not text:
        raise _refuse(label, label_en, "不能为空，请重新输入。", "cannot be empty.")
    if len(text) > max_len:
        raise _refuse(
            label, label_en, f"最多 {max_len} 字，您输入了 {len(text)} 字。", f"at most {max_len} characters."
        )
    return text


def _reader(reader: Callable[[Any, date], Any], raw: str, today: date, label: str, label_en: str) -> Any:
    """An import column reader (ValueError with a Chinese reason) as a chat validator (UserError)."""
    try:
        return reader(raw, today)
    except UserError as err:
        raise _refuse(label, label_en, f"：{err.zh}", err.en) from None
    except ValueError as err:
        raise _refuse(
            label, label_en, f"格式不对：{err}。请重新输入。", "cannot be read; try again."
        ) from None


# -- one validator per fact ----------------------------------------------------------------------------


def decision_no(raw: str, today: date | None = None) -> str:
    """行政处罚决定书文号."""
    return _text(raw, "决定书文号", "Decision number", DECISION_NO_MAX)


def decision_date(raw: str, today: date) -> date:
    """处罚决定日期: 2026-03-05, 2026/3/5, 2026年3月5日 or 20260305; not after today."""
    day: date = _reader(columns.any_date, raw, today, "决定日期", "Decision date")
    if day > today:
        raise UserError(
            f"「决定日期」不能晚于今天（{today}），您输入的是 {day}。",
            f"The decision date cannot be after today ({today}).",
        )
    return day


def authority(raw: str, today: date | None = None) -> str:
    """处罚机关 / 认定单位."""
    return _text(raw, "处罚机关", "Authority", AUTHORITY_MAX)


def fine_wan(raw: str, today: date | None = None) -> float | None:
    """罚款金额（万元）: ≥ 0, at most 6 decimal places (§3, as the import reads it); 0 or 无 means no fine."""
    if cell_text(raw) in (*NONE_DERIVED, "没有"):
        return None
    try:
        amount = parse_decimal(raw, places=6)
    except ValueError as err:
        raise UserError(
            f"「罚款（万元）」格式不对：{err}。请输入数字（单位万元，如 0.5；无罚款输入 0）。",
            "The fine is a number of 10,000 yuan, such as 0.5 (0 when there is none).",
        ) from None
    if amount is None:
        raise UserError("「罚款（万元）」不能为空；无罚款请输入 0。", "Type 0 when there is no fine.")
    if amount < 0:
        raise UserError("「罚款（万元）」不能为负数；无罚款请输入 0。", "A fine cannot be negative.")
    if amount > FINE_WAN_MAX:
        raise UserError(
            f"「罚款（万元）」{cell_text(amount)} 万元不合理（单位是万元），请核对。",
            "That fine is implausible (the unit is 10,000 yuan); check it.",
        )
    return float(amount) or None


def facts(raw: str, today: date | None = None) -> str:
    """违法事实."""
    return _text(raw, "违法事实", "Facts", FACTS_MAX)


def penalty_type(raw: str, today: date | None = None) -> str:
    """处罚类别: names of 《行政处罚法》第九条 or their two-digit codes, several joined by 、."""
    return str(_reader(columns.penalty_types, raw, today or date.max, "处罚类别", "Penalty type"))


def severity(raw: str, today: date | None = None) -> Severity:
    """失信程度: 轻微 / 一般 / 严重 (with or without 失信)."""
    return Severity(_reader(columns.severity, raw, today or date.max, "失信程度", "Severity"))


def procedure(raw: str, today: date | None = None) -> str:
    """案件程序类别, stored as 简易 / 一般 (rules.PROCEDURE_CODES; 普通程序 = 一般程序)."""
    text = cell_text(raw)
    return str(
        _reader(columns.procedure, PROCEDURE_ALIASES.get(text, text), today or date.max, "程序", "Procedure")
    )


def grade(raw: str, today: date | None = None) -> str:
    """信用评价等级 (§12 D5, §13: AAA / AA / A / B)."""
    text = cell_text(raw).upper().removesuffix("级")
    if text not in GRADES:
        raise UserError(
            f"「评价等级」应为 {' / '.join(GRADES)}。", f"The grade is one of {', '.join(GRADES)}."
        )
    return text


def points(raw: str, today: date | None = None) -> int:
    """扣分 of one violation: one of the values of Annex 1 (§12 D2); 0 is a withdrawal, not a value."""
    text = cell_text(raw).removesuffix("分").strip()
    values = "、".join(str(v) for v in rules.DRIVER_POINT_VALUES)
    if not text.isdigit() or int(text) not in rules.DRIVER_POINT_VALUES:
        raise UserError(
            f"「扣分」应为 {values} 之一；如应撤销该扣分，请点「撤销该扣分」。",
            f"Points are one of {values}; to remove the deduction, withdraw it.",
        )
    return int(text)


def penalty_problem(
    *, penalty_type: str | None, fine_wan: float | None, procedure: str | None, severity: Severity | None
) -> UserError | None:
    """Facts that contradict each other, or None. Entry and correction both ask before they write."""
    if "罚款" in rules.penalty_types(penalty_type) and not fine_wan:
        return UserError(
            "处罚类别含罚款，罚款金额应大于 0。", "The penalty includes a fine: the amount must be above 0."
        )
    if procedure == "简易" and severity is not None and severity != Severity.MINOR:
        return UserError(
            "简易程序作出的处罚属轻微失信（令36号），失信程度应为轻微：请同时更正失信程度或程序。",
            "A penalty under the summary procedure is minor: correct the severity or the procedure too.",
        )
    return None


# -- the facts each kind of record offers ----------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    key: str  # the attribute of CreditRecord / DriverViolation
    zh: str
    en: str
    read: Callable[[str, date], Any]  # typed text → value, or UserError
    hint: str = ""  # how to type it
    choices: tuple[str, ...] = ()  # offered as buttons


FACTS: Mapping[str, Fact] = {
    f.key: f
    for f in (
        Fact("decision_no", "决定书文号", "decision number", decision_no, "如 枣交罚〔2026〕1234号"),
        Fact("decision_date", "决定日期", "decision date", decision_date, "如 2026-03-05、2026年3月5日"),
        Fact("authority", "处罚机关", "authority", authority),
        Fact("penalty_type", "处罚类别", "penalty type", penalty_type, "多个用顿号分隔，如 警告、罚款"),
        Fact("fine_wan", "罚款（万元）", "fine (10k yuan)", fine_wan, "数字，如 0.5；无罚款输入 0"),
        Fact("facts", "违法事实", "facts", facts),
        Fact("severity", "失信程度", "severity", severity, "", ("轻微", "一般", "严重")),
        Fact("procedure", "程序", "procedure", procedure, "", ("简易程序", "一般程序")),
        Fact("grade", "评价等级", "grade", grade, "", GRADES),
        Fact("points", "扣分", "points", points, "", tuple(str(v) for v in rules.DRIVER_POINT_VALUES)),
    )
}
PENALTY = (
    "decision_no",
    "decision_date",
    "authority",
    "penalty_type",
    "fine_wan",
    "facts",
    "severity",
    "procedure",
)
# 严重失信名单, 违背承诺: no fine or class to pick.
LISTED = ("decision_no", "decision_date", "authority", "facts")
EVALUATION = ("grade",)
DEDUCTION = ("points",)
# Facts that decide the class and the window (§4.2): changing one recomputes the derived dates.
CLASS_INPUTS = ("penalty_type", "fine_wan", "procedure")
# Derived facts, shown and logged with the rest.
DERIVED = {
    "status": ("状态", "status"),
    "withdrawn": ("状态", "status"),
    "severity": ("失信程度", "severity"),
    "publicity_end": ("公示截止期", "publicity end"),
    "repair_from": ("可申请修复日期", "repair possible from"),
}

Target = CreditRecord | DriverViolation


def facts_for(target: Target) -> tuple[Fact, ...]:
    """A penalty offers the penalty facts, an evaluation its grade, a driver's deduction its points."""
    if isinstance(target, DriverViolation):
        keys = DEDUCTION
    elif target.kind == RecordKind.PENALTY:
        keys = PENALTY
    elif target.kind == RecordKind.EVALUATION:
        keys = EVALUATION
    else:
        keys = LISTED
    return tuple(FACTS[k] for k in keys)


def fact_of(target: Target, key: str) -> Fact:
    offered = facts_for(target)
    for fact in offered:
        if fact.key == key:
            return fact
    names = "、".join(f.zh for f in offered)
    raise UserError(f"这条记录可更正的项目：{names}。", "That field cannot be corrected on this record.")


def read(target: Target, key: str, raw: Any, today: date) -> Any:
    """One corrected value through its fact's validator. Text as staff typed it, or a value already typed
    (a proposal stored days ago, a caller in code): it is shown and read again, so it passes the same check."""
    fact = fact_of(target, key)
    if key == "severity" and raw in set(Severity):  # stored as its enum value by a proposal of before
        raw = Severity(raw)
    text = raw if isinstance(raw, str) and not isinstance(raw, Enum) else show(key, raw)
    return fact.read(text, today)


def show(key: str, value: Any, lang: str = "zh") -> str:
    """A value as users read it: dates as dates, classes and statuses in words, never None."""
    en = lang == "en"
    if value is None or value == "":
        return (NONE_DERIVED if key in DERIVED or key == "fine_wan" else NOT_GIVEN)[en]
    if key == "severity":
        return labels.label(labels.SEVERITY, Severity(value), lang)
    if key == "status":
        return labels.label(labels.RECORD_STATUS, RecordStatus(value), lang)
    if key == "withdrawn":
        return ("已撤销", "withdrawn")[en] if value else ("有效", "in force")[en]
    if key == "procedure":
        return PROCEDURE_LABELS[value][en] if value in PROCEDURE_LABELS else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return cell_text(value)
    return str(value)


# -- what a correction changes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    key: str
    zh: str
    en: str
    before: Any
    after: Any

    def line(self, lang: str = "zh") -> str:
        """「罚款（万元）：0.5 → 0.3」"""
        label = self.en if lang == "en" else self.zh
        sep = ": " if lang == "en" else "："
        return f"{label}{sep}{show(self.key, self.before, lang)} → {show(self.key, self.after, lang)}"

    def for_notice(self) -> dict[str, str]:
        """JSON for the outbox: labels and values already in words."""
        return {
            "label": self.zh,
            "label_en": self.en,
            "before": show(self.key, self.before),
            "after": show(self.key, self.after),
            "before_en": show(self.key, self.before, "en"),
            "after_en": show(self.key, self.after, "en"),
        }


@dataclass(frozen=True)
class Correction:
    values: dict[str, Any]  # attribute → new value, derived ones included; what apply() writes
    changes: list[Change]  # typed changes first, then the derived ones, each only if it differs
    before: dict[str, Any]  # every fact and derived value before, for the audit log
    after: dict[str, Any]
    problem: UserError | None  # facts that contradict each other: shown while editing, refused on apply

    def lines(self, lang: str = "zh") -> list[str]:
        return [c.line(lang) for c in self.changes]


def _snapshot(target: Target, today: date, calendar: WorkdayCalendar) -> dict[str, Any]:
    if isinstance(target, DriverViolation):
        return {"points": target.points, "withdrawn": target.withdrawn}
    out = {f.key: getattr(target, f.key) for f in facts_for(target)}
    out |= {"severity": target.severity, "publicity_end": target.publicity_end, "status": target.status}
    out["repair_from"] = repair_eligibility(target, today, calendar).from_date
    return out


def plan(
    target: Target,
    changes: Mapping[str, Any],
    *,
    withdraw: bool = False,
    today: date,
    calendar: WorkdayCalendar,
) -> Correction:
    """What correcting `target` with `changes` (fact key → typed text or value) would write, without writing.
    The 失信程度 follows the configured table when the record's class was the table's and staff did not
    correct it themselves; 公示截止期 is recomputed when the class or the decision date changes."""
    typed = {key: read(target, key, raw, today) for key, raw in changes.items()}
    before = _snapshot(target, today, calendar)
    values = dict(typed)
    problem: UserError | None = None
    if isinstance(target, DriverViolation):
        if withdraw:
            values["withdrawn"] = True
    else:
        if target.kind != RecordKind.EVALUATION:
            values |= _derived(target, before, typed)
        if target.kind == RecordKind.PENALTY and set(typed) & {*CLASS_INPUTS, "severity"}:
            merged = before | values
            problem = penalty_problem(
                penalty_type=merged["penalty_type"],
                fine_wan=merged["fine_wan"],
                procedure=merged["procedure"],
                severity=merged["severity"],
            )
        if withdraw:
            values["status"] = RecordStatus.WITHDRAWN
    after = before | values
    if isinstance(target, CreditRecord) and "repair_from" in before:
        after["repair_from"] = _repair_from(target, after, today, calendar)
    order = [*typed, *(k for k in DERIVED if k not in typed)]
    shown: list[Change] = []
    for key in order:
        if key in after and after[key] != before.get(key):
            zh, en = (FACTS[key].zh, FACTS[key].en) if key in FACTS else DERIVED[key]
            shown.append(Change(key, zh, en, before.get(key), after[key]))
    values = {k: v for k, v in values.items() if k != "repair_from"}
    return Correction(values, shown, before, after, problem)


def _derived(record: CreditRecord, before: dict[str, Any], typed: dict[str, Any]) -> dict[str, Any]:
    """失信程度 and 公示截止期 after the typed changes, as recording the penalty would have set them."""
    merged = before | typed
    severity_ = typed.get("severity")
    if severity_ is None and record.kind == RecordKind.PENALTY and set(typed) & set(CLASS_INPUTS):
        tabled = penalty_terms(
            record.kind,
            record.decision_date,
            penalty_type=before["penalty_type"],
            fine_wan=before["fine_wan"],
            procedure=before["procedure"],
        ).severity
        if tabled == record.severity:  # the class came from the table, not from the authority: redo it
            severity_ = penalty_terms(
                record.kind,
                merged["decision_date"],
                penalty_type=merged["penalty_type"],
                fine_wan=merged["fine_wan"],
                procedure=merged["procedure"],
            ).severity
    new_severity = Severity(severity_ or record.severity)
    out: dict[str, Any] = {}
    if new_severity != record.severity:
        out["severity"] = new_severity
    if new_severity != record.severity or merged["decision_date"] != record.decision_date:
        terms = penalty_terms(record.kind, merged["decision_date"], severity=new_severity)
        out["publicity_end"] = terms.publicity_end
    return out


def _repair_from(
    record: CreditRecord, after: dict[str, Any], today: date, calendar: WorkdayCalendar
) -> date | None:
    """The first day a repair may be applied for, on the corrected facts (workflows/records.py decides)."""
    shadow = CreditRecord(
        subject_id=record.subject_id,
        kind=record.kind,
        severity=after["severity"],
        decision_date=after.get("decision_date", record.decision_date),
        authority=record.authority,
        publicity_end=after["publicity_end"],
        status=after["status"],
        obligations_fulfilled_on=record.obligations_fulfilled_on,
    )
    return repair_eligibility(shadow, today, calendar).from_date


def apply(target: Target, correction: Correction) -> None:
    """Write a planned correction; refused when its facts contradict each other."""
    if correction.problem is not None:
        raise correction.problem
    for key, value in correction.values.items():
        setattr(target, key, value)


def audit_values(values: Mapping[str, Any]) -> dict[str, str | None]:
    """Before / after for the audit log: every value as text, dates in ISO form."""
    return {
        k: None if v is None else v.isoformat() if isinstance(v, date) else str(v) for k, v in values.items()
    }
