"""Interpreting spreadsheet cells: text, dates, amounts and header names as bureaus really type them.

Pure functions. A value that cannot be read raises CellError (a ValueError) with a short reason in Chinese
and in English, which the import shows to staff next to the row and column.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from workflows.clock import to_local
from workflows.errors import UserError

# Excel keeps 15 significant digits; a float read from a cell is shown to staff (and meant) at that precision.
EXCEL_DIGITS = 15
# Excel 1900-system serials for 1954-10-03 … 2119-01-10: a plausible date, not an amount or a code.
SERIAL_MIN, SERIAL_MAX = 20000, 80000

INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters pasted from web pages
_INVISIBLE = INVISIBLE
_EDGES = re.compile(rf"^[\s{_INVISIBLE}]+|[\s{_INVISIBLE}]+$")  # \s covers U+3000 and U+00A0
_INNER_SPACE = re.compile(rf"[\s{_INVISIBLE}]+")
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")"})  # （） are in the full-width block
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_TIME = r"(?:[T\s]+(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2})(?:\.\d+)?)?)?"
_DATE_PATTERNS = (
    re.compile(rf"(?P<y>\d{{4}})(?P<sep>[-/.])(?P<m>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}}){_TIME}"),
    re.compile(rf"(?P<y>\d{{4}})\s*年\s*(?P<m>\d{{1,2}})\s*月\s*(?P<d>\d{{1,2}})\s*日?{_TIME}"),
    re.compile(rf"(?P<y>\d{{4}})(?P<m>\d{{2}})(?P<d>\d{{2}}){_TIME}"),
)
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")  # 1,234,567.89


class CellError(UserError, ValueError):
    """A cell that cannot be read, with its reason in Chinese (str(), the errors file) and English (a chat
    in English). A ValueError too: callers that read a typed value catch it as one."""


def _edge(ch: str) -> bool:
    return ch.isspace() or ch in _INVISIBLE


def cell_text(value: Any) -> str:
    """A cell as the text staff see in Excel: codes that Excel turned into numbers come back without ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value and not (_edge(value[0]) or _edge(value[-1])):
            return value  # nothing to trim: the usual case, a hundred thousand rows of it
        return _EDGES.sub("", value)
    if isinstance(value, bool):  # before int: bool is an int
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return _plain(_float_decimal(value))
    if isinstance(value, Decimal):
        return _plain(value) if value.is_finite() else str(value)
    if isinstance(value, datetime):
        moment: datetime = to_local(value).replace(tzinfo=None) if value.tzinfo else value  # Beijing time
        if moment.time() == time(0, 0):
            return moment.date().isoformat()
        return moment.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds")
    return _EDGES.sub("", str(value))


def parse_date(value: Any) -> date:
    """A date from a date cell, an Excel serial number or text such as 2026-03-05 / 2026年3月5日 / 20260305."""
    if isinstance(value, datetime):
        return (to_local(value) if value.tzinfo is not None else value).date()
    if isinstance(value, date):
        return value
    return _parse_moment(value, "日期").date()


def parse_datetime(value: Any) -> datetime:
    """A naive local date and time; a date without a time means midnight."""
    if isinstance(value, datetime):
        return to_local(value).replace(tzinfo=None) if value.tzinfo is not None else value
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0))
    return _parse_moment(value, "时间")


def parse_decimal(value: Any, *, places: int = 6) -> Decimal | None:
    """An amount; None when the cell is empty. At most `places` decimal places (金额（万元） has 6)."""
    number = _to_decimal(value)
    if number is None:
        return None
    number = number.normalize()
    if number == 0:
        return Decimal(0)  # also turns -0 into 0
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: checked in _to_decimal
    if -exponent > places:
        raise CellError(f"小数位数不能超过{places}位", f"At most {places} decimal places")
    if exponent > 0:
        number = number.quantize(Decimal(1))  # 1E+2 → 100: str() must not use exponent notation
    return number


def parse_int(value: Any) -> int | None:
    """A whole number; None when the cell is empty."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _to_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise CellError("应为整数", "Must be a whole number")
    return int(number)


def normalise_header(text: Any) -> str:
    """The key for matching a column header: “*罚款金额( 万元 )” and “罚款金额（万元）” are the same column."""
    key = cell_text(text).translate(_FULL_WIDTH).translate(_BRACKETS)
    key = _INNER_SPACE.sub("", key)
    return key.strip("*").translate(_ASCII_LOWER)  # templates mark required columns with *


# ---------------------------------------------------------------------------------------------------


def _float_decimal(value: float) -> Decimal:
    """The float as Excel shows it: repr (so 0.1 stays 0.1), rounded to 15 significant digits."""
    number = Decimal(repr(value))
    if len(number.as_tuple().digits) > EXCEL_DIGITS:
        number = Decimal(format(value, f".{EXCEL_DIGITS}g"))  # 0.30000000000000004 → 0.3
    return number


def _plain(number: Decimal) -> str:
    """Without exponent notation and without ".0" on whole numbers: 91370402, 0.00001, 1.5."""
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        raise _not_a_number(cell_text(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _not_a_number(str(value))
        return _float_decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _not_a_number(str(value))
        return value
    text = cell_text(value)
    if not text:
        return None
    plain = _INNER_SPACE.sub("", text.translate(_FULL_WIDTH))
    if _GROUPED.fullmatch(plain):
        plain = plain.replace(",", "")
    if not _NUMBER.fullmatch(plain):
        raise _not_a_number(_shown(text))
    try:
        return Decimal(plain)
    except InvalidOperation:  # the pattern should make this unreachable; say so to staff anyway
        raise _not_a_number(_shown(text)) from None


def _parse_moment(value: Any, kind: str) -> datetime:
    """Shared by parse_date and parse_datetime: numbers as Excel serials, text in the accepted formats."""
    if isinstance(value, bool) or (isinstance(value, Decimal) and not value.is_finite()):
        raise _unreadable(cell_text(value), kind)
    if isinstance(value, int | float | Decimal) and SERIAL_MIN <= value <= SERIAL_MAX:
        return _from_serial(float(value))
    text = cell_text(value).translate(_FULL_WIDTH)
    if not text:
        raise CellError("不能为空", "Must not be empty")
    if _SERIAL.fullmatch(text) and SERIAL_MIN <= float(text) <= SERIAL_MAX:
        return _from_serial(float(text))  # a date cell that came through CSV or a text column as its serial
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return _build(match, kind)
    raise _unreadable(cell_text(value), kind)


def _from_serial(serial: float) -> datetime:
    from openpyxl.utils.datetime import from_excel  # openpyxl loads numpy and Pillow: only when used

    moment = from_excel(serial)
    assert isinstance(moment, datetime)
    # Serials store time as a day fraction: 14:30 may come back as 14:29:59.999…, so round to the second.
    return moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1_000_000))


def _build(match: re.Match[str], kind: str) -> datetime:
    year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    try:
        day_part = date(year, month, day)
    except ValueError:
        raise CellError(
            f"日期不存在：{year}年{month}月{day}日", f"No such date: {year}-{month:02d}-{day:02d}"
        ) from None
    if match["h"] is None:
        return datetime.combine(day_part, time(0, 0))
    hour, minute, second = int(match["h"]), int(match["mi"]), int(match["s"] or 0)
    try:
        return datetime.combine(day_part, time(hour, minute, second))
    except ValueError:
        moment = f"{hour}:{minute:02d}:{second:02d}"
        raise CellError(f"时间不存在：{moment}", f"No such time: {moment}") from None


def _not_a_number(shown: str) -> CellError:
    return CellError(f"不是数字：{shown}", f"Not a number: {shown}")


def _unreadable(text: str, kind: str) -> CellError:
    day = kind == "日期"
    example = "2026-03-05" if day else "2026-03-05 14:30"
    return CellError(
        f"无法识别的{kind}“{_shown(text)}”，请使用 {example} 这样的格式",
        f"Unreadable {'date' if day else 'time'} “{_shown(text)}”: use a format such as {example}",
    )
