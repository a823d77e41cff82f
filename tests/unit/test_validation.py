"""Identifier validation (GB 32100, GB 11643, GB 11714, rules §15) and masking."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.errors import UserError
from workflows.validation import (
    check_org_code,
    mask_id_number,
    mask_name,
    normalize_code,
    validate_id_number,
    validate_qualification_cert,
    validate_uscc,
)

USCC_VECTORS = ["91350100M000100Y43", "91110000600037341L", "91440300708461136T", "91110108551385082Q"]
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
TODAY = date(2026, 11, 24)


def full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


def uscc_with_check(first17: str) -> str:
    """Independent of the module: GB 32100 check character with weights 3^(i−1) mod 31."""
    total = sum(ALPHABET.index(ch) * pow(3, i, 31) for i, ch in enumerate(first17))
    return first17 + ALPHABET[-total % 31]


def id_with_check(first17: str) -> str:
    """Independent of the module: GB 11643 check digit, weights 2^(17−i) mod 11."""
    total = sum(int(ch) * pow(2, 17 - i, 11) for i, ch in enumerate(first17))
    return first17 + "10X98765432"[total % 11]


def rejection(func, raw: str, **kwargs) -> UserError:
    with pytest.raises(UserError) as caught:
        func(raw, **kwargs)
    return caught.value


# ---------------------------------------------------------------------------------------------------
# normalize_code
# ---------------------------------------------------------------------------------------------------


def test_normalize_code_trims_converts_full_width_upper_cases_and_drops_spaces():
    assert normalize_code("  9135 0100\tm000100y43 \n") == "91350100M000100Y43"
    assert normalize_code(full_width("91350100m000100y43")) == "91350100M000100Y43"
    assert normalize_code("\u30009135\u30000100M000100Y43\u200b") == "91350100M000100Y43"
    assert normalize_code("") == ""


# ---------------------------------------------------------------------------------------------------
# 统一社会信用代码
# ---------------------------------------------------------------------------------------------------


def test_independent_check_helper_reproduces_the_vectors():
    for code in USCC_VECTORS:
        assert uscc_with_check(code[:17]) == code


@pytest.mark.parametrize("code", USCC_VECTORS)
def test_valid_uscc_vectors_pass(code):
    assert validate_uscc(code) == code


@pytest.mark.parametrize("code", USCC_VECTORS)
def test_uscc_full_width_lower_case_and_spaced_input_is_normalised(code):
    assert validate_uscc(full_width(code)) == code
    assert validate_uscc(code.lower()) == code
    assert validate_uscc(f" {code[:6]} {code[6:12]}\u3000{code[12:]} ") == code


@pytest.mark.parametrize("length", [0, 1, 17, 19])
def test_uscc_wrong_length_says_how_many_characters_were_entered(length):
    raw = ("91350100M000100Y43" * 2)[:length]
    error = rejection(validate_uscc, raw)
    if length == 0:
        assert "请输入" in error.zh
    else:
        assert f"应为18位，您输入了{length}位" in error.zh
        assert "18" in error.en and str(length) in error.en


def test_uscc_letter_never_used_is_reported_with_its_position():
    error = rejection(validate_uscc, "91350100M0001I0Y43")
    assert "第14位" in error.zh
    assert "“I”" in error.zh
    assert "1" in error.zh  # suggests the digit 1
    assert "14" in error.en


def test_uscc_region_code_must_be_digits():
    error = rejection(validate_uscc, "9135O100M000100Y43")
    assert "第5位应为数字" in error.zh
    assert "“O”" in error.zh
    assert "“0”" in error.zh  # did you mean the digit 0?


def test_uscc_chinese_character_is_reported_with_its_position():
    error = rejection(validate_uscc, "91350100M00010中Y43")
    assert "第15位" in error.zh
    assert "“中”" in error.zh


def test_uscc_wrong_check_character_names_the_expected_one_and_suggests_a_typo():
    error = rejection(validate_uscc, "91350100M000100Y44")
    assert "校验位应为3" in error.zh
    assert "输错" in error.zh
    assert "should be 3" in error.en
    assert "typo" in error.en


@pytest.mark.parametrize("code", USCC_VECTORS)
def test_every_single_character_typo_in_a_uscc_is_rejected(code):
    for i in range(17):
        choices = "0123456789" if 2 <= i <= 7 else ALPHABET
        for ch in choices:
            if ch != code[i]:
                typo = code[:i] + ch + code[i + 1 :]
                with pytest.raises(UserError):
                    validate_uscc(typo)


def test_uscc_with_a_recomputed_check_character_passes():
    assert validate_uscc(uscc_with_check("91110108551385083")) == uscc_with_check("91110108551385083")


# ---------------------------------------------------------------------------------------------------
# 组织机构代码 (warning only)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", USCC_VECTORS)
def test_org_code_check_passes_on_the_vectors(code):
    assert check_org_code(code)
    assert check_org_code(code.lower())


def test_org_code_check_fails_where_the_uscc_check_still_passes():
    code = uscc_with_check("91110108551385083")  # org code 55138508-3, but 55138508-2 is right
    assert validate_uscc(code) == code
    assert not check_org_code(code)


@pytest.mark.parametrize("raw", ["", "9111010855138508", "9111010855138508-2Q", "91110108中51385082Q"])
def test_org_code_check_is_false_on_malformed_input(raw):
    assert not check_org_code(raw)


# ---------------------------------------------------------------------------------------------------
# 居民身份证号码
# ---------------------------------------------------------------------------------------------------


def test_independent_id_helper_reproduces_the_standard_example():
    assert id_with_check("11010519491231002") == "11010519491231002X"


@pytest.mark.parametrize(
    "body", ["11010519491231002", "44030119900307123", "35010220000229456", "51010720121130001"]
)
def test_valid_id_numbers_pass(body):
    number = id_with_check(body)
    assert validate_id_number(number, today=TODAY) == number
    assert validate_id_number(f" {full_width(number.lower())} ", today=TODAY) == number


def test_lower_case_x_is_accepted():
    assert validate_id_number("11010519491231002x", today=TODAY) == "11010519491231002X"


@pytest.mark.parametrize("length", [17, 19])
def test_id_number_wrong_length(length):
    error = rejection(validate_id_number, ("11010519491231002X" + "1")[:length], today=TODAY)
    assert f"应为18位，您输入了{length}位" in error.zh


def test_fifteen_digit_old_id_number_is_explained():
    error = rejection(validate_id_number, "110105491231002", today=TODAY)
    assert "您输入了15位" in error.zh
    assert "旧号码" in error.zh


def test_id_number_letter_in_the_body_is_reported_with_its_position():
    error = rejection(validate_id_number, "1101051949123A002X", today=TODAY)
    assert "第14位应为数字" in error.zh
    assert "“A”" in error.zh


def test_id_number_last_character_must_be_digit_or_x():
    error = rejection(validate_id_number, "11010519491231002Y", today=TODAY)
    assert "第18位" in error.zh
    assert "数字或X" in error.zh


@pytest.mark.parametrize("birth", ["19990230", "20011301", "20010100"])
def test_id_number_with_an_impossible_birth_date(birth):
    error = rejection(validate_id_number, id_with_check(f"110105{birth}123"), today=TODAY)
    assert "出生日期" in error.zh
    assert "不是有效日期" in error.zh


@pytest.mark.parametrize("birth", ["20261125", "18991231"])
def test_id_number_with_an_implausible_birth_date(birth):
    error = rejection(validate_id_number, id_with_check(f"110105{birth}123"), today=TODAY)
    assert "出生日期" in error.zh
    assert "不合理" in error.zh


def test_id_number_born_today_is_accepted():
    number = id_with_check("11010520261124123")
    assert validate_id_number(number, today=TODAY) == number


def test_id_number_wrong_check_digit_names_the_expected_one():
    error = rejection(validate_id_number, "110105194912310021", today=TODAY)
    assert "校验位应为X" in error.zh
    assert "输错" in error.zh
    assert "should be X" in error.en


# ---------------------------------------------------------------------------------------------------
# 从业资格证号
# ---------------------------------------------------------------------------------------------------


def test_qualification_cert_with_a_valid_id_number_has_no_warning():
    number = id_with_check("44030119900307123")
    assert validate_qualification_cert(number.lower(), today=TODAY) == (number, None)


def test_qualification_cert_18_characters_failing_the_id_check_warns_but_is_accepted():
    code, warning = validate_qualification_cert("110105194912310021", today=TODAY)
    assert code == "110105194912310021"
    assert warning is not None
    assert "身份证号码" in warning
    assert "校验位应为X" in warning


def test_qualification_cert_in_the_old_provincial_format_is_accepted():
    assert validate_qualification_cert("3701020011201000123") == ("3701020011201000123", None)
    assert validate_qualification_cert("ab12") == ("AB12", None)


def test_qualification_cert_longer_than_32_is_rejected():
    error = rejection(validate_qualification_cert, "1" * 33)
    assert "最长32位" in error.zh
    assert "33位" in error.zh


def test_qualification_cert_32_characters_is_accepted():
    assert validate_qualification_cert("A" * 32) == ("A" * 32, None)


@pytest.mark.parametrize(("raw", "position", "ch"), [("3701-0200", 5, "-"), ("370102从业", 7, "从")])
def test_qualification_cert_illegal_character_is_reported_with_its_position(raw, position, ch):
    error = rejection(validate_qualification_cert, raw)
    assert f"第{position}位是“{ch}”" in error.zh


def test_qualification_cert_empty_is_rejected():
    assert "请输入" in rejection(validate_qualification_cert, "   ").zh


# ---------------------------------------------------------------------------------------------------
# Masking
# ---------------------------------------------------------------------------------------------------


def test_mask_id_number_keeps_the_first_three_and_last_four():
    assert mask_id_number("11010519491231001X") == "110***********001X"
    assert mask_id_number("3701020011201000123") == "370************0123"
    assert mask_id_number("110105491231002") == "110********1002"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("", ""),
        ("1", "*"),
        ("12", "**"),
        ("123", "**3"),
        ("123456", "****56"),
        ("12345678901234", "************34"),
    ],
)
def test_mask_id_number_short_values_keep_at_most_the_last_two(value, masked):
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("欧阳娜娜", "欧***"), ("王", "王"), (" 李四 ", "李*"), ("", "")]
)
def test_mask_name_keeps_the_first_character(name, masked):
    assert mask_name(name) == masked
