"""Identifier validation and masking: 统一社会信用代码, 居民身份证号码, 从业资格证号 (domain-rules §14, §15).

The constants below are fixed by the national standards named next to them, not by credit policy.
"""

from __future__ import annotations

import re
from datetime import date

from workflows.errors import UserError

# GB 32100-2015: 31 characters (no I O S V Z); a character's value is its index.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^(i−1) mod 31
USCC_PATTERN = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}", re.ASCII)
# GB 11714: 组织机构代码 check on USCC positions 9–16, check character at 17 [R] (matches 55138508-2).
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# GB 11643-1999: 居民身份证号码 check digit.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"  # indexed by Σ mod 11
QUALIFICATION_CERT_MAX_LENGTH = 32  # domain-rules §15: no national format verified; string ≤ 32

_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}  # zero-width characters pasted from web pages
_LOOKALIKES = {"O": "0", "I": "1", "S": "5", "Z": "2"}  # letters the USCC never uses, usually meant as digits


def normalize_code(raw: str) -> str:
    """Trim, full-width → half-width, upper-case, and drop inner spaces (and zero-width characters)."""
    if raw.isascii() and raw.isalnum():  # the usual case, read from a file a hundred thousand times
        return raw.upper()
    chars = []
    for ch in raw:
        if 0xFF01 <= ord(ch) <= 0xFF5E:  # full-width ASCII block
            ch = chr(ord(ch) - 0xFEE0)
        if ch.isspace() or ch in _INVISIBLE:  # isspace covers the ideographic space U+3000
            continue
        chars.append(ch.upper() if ch.isascii() else ch)
    return "".join(chars)


# ---------------------------------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015)
# ---------------------------------------------------------------------------------------------------


_USCC_VALUES = {ch: i for i, ch in enumerate(USCC_ALPHABET)}


def uscc_check_character(first17: str) -> str:
    """The 18th character for the first 17 (all from USCC_ALPHABET)."""
    total = sum(_USCC_VALUES[ch] * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _uscc_character_error(position: int, ch: str) -> UserError:
    if 3 <= position <= 8:
        hint_zh = f"是否应为数字“{_LOOKALIKES[ch]}”？" if ch in _LOOKALIKES else ""
        return UserError(
            f"统一社会信用代码第{position}位应为数字（第3–8位是登记管理机关行政区划码），您输入了“{ch}”。{hint_zh}",
            f"Character {position} of the unified social credit code must be a digit (characters 3–8 are the "
            f"region code); you entered '{ch}'.",
        )
    if ch in _LOOKALIKES:
        digit = _LOOKALIKES[ch]
        return UserError(
            f"统一社会信用代码第{position}位是字母“{ch}”，代码中不使用字母 I、O、S、V、Z，是否应为数字“{digit}”？",
            f"Character {position} is the letter '{ch}', which the unified social credit code never uses "
            f"(no I, O, S, V, Z); did you mean the digit '{digit}'?",
        )
    return UserError(
        f"统一社会信用代码第{position}位“{ch}”不是允许的字符：只能是数字和大写字母（不含 I、O、S、V、Z）。",
        f"Character {position} ('{ch}') is not allowed in a unified social credit code: only digits and "
        "capital letters except I, O, S, V, Z.",
    )


def validate_uscc(raw: str) -> str:
    """The normalised 统一社会信用代码, or UserError saying what is wrong (GB 32100-2015, rules §14)."""
    code = normalize_code(raw)
    if not code:
        raise UserError(
            "请输入18位统一社会信用代码。", "Please enter the 18-character unified social credit code."
        )
    if len(code) != 18:
        raise UserError(
            f"统一社会信用代码应为18位，您输入了{len(code)}位，请核对。",
            f"A unified social credit code has 18 characters; you entered {len(code)}.",
        )
    if not USCC_PATTERN.fullmatch(code):
        for position, ch in enumerate(code, start=1):  # say which character is wrong
            allowed = ch.isascii() and ch.isdigit() if 3 <= position <= 8 else ch in USCC_ALPHABET
            if not allowed:
                raise _uscc_character_error(position, ch)
        raise UserError(
            "统一社会信用代码格式不正确，请核对。", "The unified social credit code is malformed."
        )
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise UserError(
            f"统一社会信用代码校验位应为{expected}（第18位），您输入的是{code[17]}：很可能某一位输错了，请逐位核对。",
            f"The check character (18th) should be {expected}, not {code[17]}: probably a typo somewhere in the "
            "code; please check it character by character.",
        )
    return code


def check_org_code(uscc: str) -> bool:
    """GB 11714 check of the 组织机构代码 inside a USCC (characters 9–17); a warning signal, not a rejection."""
    code = normalize_code(uscc)
    if len(code) != 18 or not re.fullmatch(r"[0-9A-Z]{9}", code[8:17], re.ASCII):
        return False
    total = sum(int(ch, 36) * w for ch, w in zip(code[8:16], ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    expected = "X" if check == 10 else "0" if check == 11 else str(check)
    return code[16] == expected


# ---------------------------------------------------------------------------------------------------
# 居民身份证号码 (GB 11643-1999)
# ---------------------------------------------------------------------------------------------------


def id_check_digit(first17: str) -> str:
    """The 18th character of an ID number for its first 17 digits."""
    return ID_CHECK_CHARACTERS[sum(int(ch) * w for ch, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(raw: str, *, today: date | None = None) -> str:
    """The normalised 18-digit ID number, or UserError saying what is wrong (GB 11643)."""
    code = normalize_code(raw)
    if not code:
        raise UserError("请输入18位身份证号码。", "Please enter the 18-digit ID number.")
    if len(code) != 18:
        old = "（15位的旧号码已停用，请输入18位号码）" if len(code) == 15 else ""
        raise UserError(
            f"身份证号码应为18位，您输入了{len(code)}位{old}，请核对。",
            f"An ID number has 18 characters; you entered {len(code)}.",
        )
    for position, ch in enumerate(code[:17], start=1):
        if not (ch.isascii() and ch.isdigit()):
            raise UserError(
                f"身份证号码第{position}位应为数字，您输入了“{ch}”。",
                f"Character {position} of the ID number must be a digit; you entered '{ch}'.",
            )
    if not (code[17] == "X" or (code[17].isascii() and code[17].isdigit())):
        raise UserError(
            f"身份证号码第18位（校验位）只能是数字或X，您输入了“{code[17]}”。",
            f"The last character of the ID number must be a digit or X; you entered '{code[17]}'.",
        )
    birth = code[6:14]
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        raise UserError(
            f"身份证号码第7–14位是出生日期，{birth[:4]}年{birth[4:6]}月{birth[6:]}日不是有效日期，请核对。",
            f"Characters 7–14 of the ID number are the birth date; {birth} is not a valid date.",
        ) from None
    if not date(1900, 1, 1) <= born <= (today or date.today()):
        raise UserError(
            f"身份证号码中的出生日期{born:%Y年%m月%d日}不合理（早于1900年或晚于今天），请核对。",
            f"The birth date in the ID number ({born}) is before 1900 or in the future.",
        )
    expected = id_check_digit(code[:17])
    if code[17] != expected:
        raise UserError(
            f"身份证号码校验位应为{expected}（第18位），您输入的是{code[17]}：很可能某一位输错了，请逐位核对。",
            f"The check digit (18th) should be {expected}, not {code[17]}: probably a typo; please check the number.",
        )
    return code


# ---------------------------------------------------------------------------------------------------
# 道路运输从业资格证号 (rules §15)
# ---------------------------------------------------------------------------------------------------


def validate_qualification_cert(raw: str, *, today: date | None = None) -> tuple[str, str | None]:
    """(normalised number, warning or None): ≤ 32 of [0-9A-Z]; an 18-character number failing the ID check warns."""
    code = normalize_code(raw)
    if not code:
        raise UserError("请输入从业资格证号。", "Please enter the qualification certificate number.")
    if len(code) > QUALIFICATION_CERT_MAX_LENGTH:
        raise UserError(
            f"从业资格证号最长{QUALIFICATION_CERT_MAX_LENGTH}位，您输入了{len(code)}位，请核对。",
            f"A qualification certificate number has at most {QUALIFICATION_CERT_MAX_LENGTH} characters; "
            f"you entered {len(code)}.",
        )
    for position, ch in enumerate(code, start=1):
        if not (ch.isascii() and ch.isalnum()):
            raise UserError(
                f"从业资格证号只能包含数字和大写字母，第{position}位是“{ch}”。",
                f"A qualification certificate number has only digits and capital letters; character {position} "
                f"is '{ch}'.",
            )
    warning = None
    if len(code) == 18:  # current IC-card certificates use the holder's ID number
        try:
            validate_id_number(code, today=today)
        except UserError as exc:
            warning = f"该证号为18位，但未通过身份证号码校验：{exc.zh}如证件上确实如此，可以继续。"
    return code, warning


# ---------------------------------------------------------------------------------------------------
# Masking for display and logs
# ---------------------------------------------------------------------------------------------------


def mask_id_number(value: str) -> str:
    """Keep the first 3 and last 4 characters ("110***********001X"); shorter than 15: at most the last 2."""
    value = value.strip()
    if len(value) >= 15:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    keep = min(2, len(value) // 3)  # never show more than a third of a short value
    return "*" * (len(value) - keep) + value[len(value) - keep :]


def mask_name(name: str) -> str:
    """Keep the first character (the surname, usually): "张三" → "张*", "欧阳娜娜" → "欧***"."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1)
