"""Columns of an import: the header people write (and its common variants), whether it is required, how a
cell is read, and what the template says about it. Cell readers raise CellError or UserError with the
reason in Chinese and English; the runner reports it with the row, the header and the value."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from models import SUBJECT_CATEGORIES, Severity
from workflows import rules
from workflows.dataio.values import (
    CellError,
    cell_text,
    normalise_header,
    parse_date,
    parse_decimal,
    parse_int,
)
from workflows.errors import UserError
from workflows.validation import validate_id_number, validate_qualification_cert, validate_uscc

if TYPE_CHECKING:
    from workflows.dataio.write import TemplateColumn

Reader = Callable[[Any, date], Any]  # (cell, today) → value


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as the national layout (or our template) names it
    read: Reader
    required: bool = False
    aliases: tuple[str, ...] = ()
    fmt: str = "文本"
    allowed: str = ""
    example: Any = ""
    note: str = ""
    when: str = ""  # 条件必填: when it is required (checked by the kind's row check)

    @property
    def cacheable(self) -> bool:
        """Free text is read once per row anyway; codes, dates and categories repeat down a file."""
        return not getattr(self.read, "free_text", False)

    def template(self) -> TemplateColumn:
        from workflows.dataio.write import TemplateColumn  # openpyxl (numpy, Pillow): only when writing

        need = "必填" if self.required else (f"条件必填：{self.when}" if self.when else "选填")
        return TemplateColumn(self.header, need, self.fmt, self.allowed, self.example, self.note)


@dataclass
class HeaderMap:
    """Where each column is in a file, found by its normalised header in any order."""

    index: dict[str, int] = field(default_factory=dict)  # column key → position in the row
    header: dict[str, str] = field(default_factory=dict)  # column key → the header as the file wrote it
    unknown: list[str] = field(default_factory=list)
    missing: list[Column] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)


ERRORS_COLUMN = "错误说明"  # a re-uploaded errors file carries it; it is ours, not unknown


def map_headers(headers: Sequence[str], columns: Sequence[Column]) -> HeaderMap:
    names: dict[str, Column] = {}
    for column in columns:
        for name in (column.header, *column.aliases):
            names.setdefault(normalise_header(name), column)
    found = HeaderMap()
    for i, raw in enumerate(headers):
        norm = normalise_header(raw)
        if not norm or norm == normalise_header(ERRORS_COLUMN):
            continue
        column = names.get(norm)
        if column is None:
            found.unknown.append(raw)
        elif column.key in found.index:
            found.repeated.append(raw)
        else:
            found.index[column.key] = i
            found.header[column.key] = raw
    found.missing = [c for c in columns if c.required and c.key not in found.index]
    return found


# -- cell readers ----------------------------------------------------------------------------------


def text(max_len: int) -> Reader:
    def read(value: Any, _today: date) -> str:
        out = cell_text(value)
        if len(out) > max_len:
            raise CellError(
                f"超过 {max_len} 字（{len(out)} 字）", f"Longer than {max_len} characters ({len(out)})"
            )
        return out

    read.free_text = True  # type: ignore[attr-defined]
    return read


def uscc(value: Any, _today: date) -> str:
    return validate_uscc(cell_text(value))


def id_number(value: Any, today: date) -> str:
    return validate_id_number(cell_text(value), today=today)


def cert_number(value: Any, today: date) -> str:
    return validate_qualification_cert(cell_text(value), today=today)[0]


# A deduction or a cycle is never attached to a driver by a guess (reported by both kinds).
NO_SUCH_DRIVER = (
    "主体库中没有该从业资格证号的驾驶员，请先导入主体",
    "No driver in the registry has this qualification certificate: import the subjects first",
)


def any_date(value: Any, _today: date) -> date:
    return parse_date(value)


def past_date(value: Any, today: date) -> date:
    day = parse_date(value)
    if day > today:
        raise CellError(f"日期 {day} 晚于今天（{today}）", f"The date {day} is after today ({today})")
    return day


def amount(value: Any, _today: date) -> float | None:
    """万元, up to 6 decimal places (domain-rules §3: decimal(·,6)); never negative."""
    number = parse_decimal(value, places=6)
    if number is None:
        return None
    if number < 0:
        raise CellError("金额不能为负数", "An amount cannot be negative")
    return float(number)


def count(value: Any, _today: date) -> int | None:
    number = parse_int(value)
    if number is not None and number < 0:
        raise CellError("不能为负数", "Cannot be negative")
    return number


def one_of(allowed: Sequence[str], aliases: dict[str, str] | None = None) -> Reader:
    def read(value: Any, _today: date) -> str:
        out = cell_text(value)
        out = (aliases or {}).get(out, out)
        if out not in allowed:
            raise CellError(f"应为 {'、'.join(allowed)} 之一", f"Must be one of {', '.join(allowed)}")
        return out

    return read


CATEGORY_ALIASES = {"法人及其他组织": "法人及非法人组织", "法人": "法人及非法人组织", "个人": "自然人"}
category = one_of(SUBJECT_CATEGORIES, CATEGORY_ALIASES)

_TYPE_SPLIT = re.compile(r"[;；、,，/\s]+")
_CANONICAL_TYPES = tuple(dict.fromkeys(rules.PENALTY_TYPE_CODES.values()))


def penalty_types(value: Any, _today: date) -> str:
    """处罚类别 by name or two-digit code; several in one decision are kept in order."""
    out: list[str] = []
    for part in _TYPE_SPLIT.split(cell_text(value)):
        if not part:
            continue
        name = rules.PENALTY_TYPE_CODES.get(part.zfill(2)) if part.isdigit() else None
        name = name or rules.PENALTY_TYPE_ALIASES.get(part, part)
        if name not in _CANONICAL_TYPES:
            raise CellError(
                f"未知的处罚类别“{part}”，应为 {'、'.join(_CANONICAL_TYPES)} 或两位代码 01–14",
                f"Unknown penalty type “{part}”: use one of {', '.join(_CANONICAL_TYPES)} or a two-digit "
                "code 01–14",
            )
        if name not in out:
            out.append(name)
    if not out:
        raise CellError("不能为空", "Must not be empty")
    return rules.PENALTY_TYPE_JOINER.join(out)


def procedure(value: Any, _today: date) -> str:
    raw = cell_text(value)
    out = rules.PROCEDURE_CODES.get(raw.zfill(2) if raw.isdigit() else raw, raw)
    if out not in ("简易", "一般"):
        raise CellError(
            "应为 简易程序 或 一般程序（或代码 01、02）", "Must be 简易程序 or 一般程序 (or the code 01, 02)"
        )
    return out


SEVERITY_NAMES = {"轻微": Severity.MINOR, "一般": Severity.GENERAL, "严重": Severity.SERIOUS}
SEVERITY_LABELS = {v: k for k, v in SEVERITY_NAMES.items()}


def severity(value: Any, _today: date) -> Severity:
    raw = cell_text(value).removesuffix("失信")
    if raw not in SEVERITY_NAMES:
        raise CellError("应为 轻微、一般 或 严重", "Must be 轻微, 一般 or 严重 (minor, general, serious)")
    return SEVERITY_NAMES[raw]


def reason_of(err: Exception) -> tuple[str, str]:
    """A reader's refusal as (Chinese, English) (a CellError is a UserError too)."""
    return (err.zh, err.en) if isinstance(err, UserError) else (str(err), str(err))
