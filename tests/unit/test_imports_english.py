"""What an import says in English (issue #9): the summary, each problem's line and reason, the warnings,
and the monthly lists' summary, for staff who chose English. The Chinese stays as it was: the CLI, the
errors file and the Chinese chat read it."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.app import App
from tests.unit.test_imports_other import DRIVER, FIRM
from tests.unit.test_imports_penalties import HEADERS, csv_bytes, row, run
from workflows import monthly_report
from workflows.dataio.values import CellError, parse_date, parse_decimal
from workflows.imports import KINDS, kind_label
from workflows.imports.runner import Counts, ImportResult, Problem
from workflows.monthly_lists import assemble

CJK = re.compile(r"[\u4e00-\u9fff]")
QUOTED = re.compile(r"“[^”]*”")


def _result(dry_run: bool = False, problems: int = 0, **counts: int) -> ImportResult:
    shown = [Problem(3, "处罚类别", "罚没", "未知的处罚类别“罚没”", "Unknown penalty type “罚没”")] * problems
    return ImportResult(
        "penalties",
        "行政处罚",
        "Administrative penalties",
        "p.csv",
        "0" * 64,
        dry_run,
        Counts(**counts),
        shown,
    )


def _english(text: str) -> bool:
    """No Chinese but what is quoted from the file."""
    return not CJK.search(QUOTED.sub("", text))


# -- the summary and the lines -----------------------------------------------------------------------


def test_a_problem_line_names_row_header_value_and_reason_in_either_language() -> None:
    p = Problem(7, "处罚决定日期", "2026-13-40", "日期不存在：2026年13月40日", "No such date: 2026-13-40")
    assert p.line() == "第 7 行「处罚决定日期」“2026-13-40”：日期不存在：2026年13月40日"
    assert p.line("en") == "Row 7 [处罚决定日期] “2026-13-40”: No such date: 2026-13-40"
    whole = Problem(
        0, "", "", "文件中没有数据行（只有表头）。", "The file has no data rows (only the headers)."
    )
    assert whole.line("en") == "File: The file has no data rows (only the headers)."
    assert whole.line() == "文件：文件中没有数据行（只有表头）。"


def test_the_summary_says_what_was_done_would_be_done_or_refused_in_english() -> None:
    done = _result(rows=3, new=1, changed=1, unchanged=1, subjects_created=1, notified=2)
    assert done.summary("en") == (
        "Administrative penalties import: p.csv, 3 rows: 1 added, 1 updated, 1 unchanged, 1 subject created, "
        "the three notices served for 2 decisions."
    )
    dry = _result(dry_run=True, rows=1, new=1)
    assert dry.summary("en") == (
        "Administrative penalties import (dry run, nothing written): p.csv, 1 row: would add 1, update 0, "
        "leave 0 unchanged."
    )
    refused = _result(problems=2, rows=2)
    assert refused.summary("en").startswith(
        "Administrative penalties import: p.csv, 2 rows: 2 problems found, nothing imported."
    )
    assert refused.label_in("en") == "Administrative penalties" and _english(refused.details("en"))


def test_the_chinese_summary_is_unchanged_for_the_cli_and_the_chinese_chat() -> None:
    dry = _result(dry_run=True, rows=2, new=1, unchanged=1)
    assert (
        dry.summary() == "行政处罚导入（试运行，未写入）：p.csv 共 2 行，将新增 1 条、更新 0 条、未变 1 条。"
    )
    done = _result(rows=1, new=1, subjects_created=1, notified=1)
    assert (
        done.summary("zh")
        == "行政处罚导入：p.csv 共 1 行，已新增 1 条、更新 0 条、未变 0 条，新建主体 1 个，送达三书 1 条。"
    )
    refused = _result(problems=1, rows=1)
    assert refused.summary() == (
        "行政处罚导入：p.csv 共 1 行，发现 1 处问题，全部未导入。请按错误说明修改后重新导入。"
    )


def test_every_kind_has_an_english_label() -> None:
    assert [kind_label(k, "en") for k in KINDS.values()] == [
        "Subjects",
        "Administrative penalties",
        "Driver deductions",
        "Assessment results",
        "Fulfilment",
    ]
    assert [kind_label(k) for k in KINDS.values()] == [
        "主体",
        "行政处罚",
        "驾驶员扣分",
        "考核结果",
        "履行情况",
    ]


# -- the reasons, from the readers and the kinds' checks -----------------------------------------------


def test_a_cell_error_is_a_value_error_whose_text_is_chinese_with_english_beside_it() -> None:
    with pytest.raises(ValueError) as caught:
        parse_date("2026年2月30日")
    assert isinstance(caught.value, CellError)
    assert str(caught.value) == "日期不存在：2026年2月30日" and caught.value.en == "No such date: 2026-02-30"
    with pytest.raises(CellError) as unreadable:
        parse_date("下周一")
    assert unreadable.value.en == "Unreadable date “下周一”: use a format such as 2026-03-05"
    with pytest.raises(CellError) as places:
        parse_decimal("0.1234567")
    assert places.value.text("en") == "At most 6 decimal places"


async def test_every_penalty_row_error_has_its_english_reason(app: App) -> None:
    rows = [
        row(),  # row 2: fine
        row(**{"行政相对人代码_1（统一社会信用代码）": "91370402MA3C4K7D2F", "行政处罚决定书文号": "B3"}),
        row(**{"违法事实": "", "行政处罚决定书文号": "B4"}),
        row(**{"处罚类别": "罚没", "行政处罚决定书文号": "B5"}),
        row(**{"处罚决定日期": "2026-12-24", "行政处罚决定书文号": "B6"}),
        row(**{"罚款金额（万元）": "-5", "行政处罚决定书文号": "B7"}),
        row(),  # row 8: the same key as row 2
        row(**{"行政处罚决定书文号": "B9", "公示截止期": "2026-06-01"}),
        row(
            **{"行政相对人类别": "", "行政相对人代码_1（统一社会信用代码）": "", "行政处罚决定书文号": "B10"}
        ),
    ]
    result = await run(app, csv_bytes(rows, headers=[*HEADERS, "公示截止期"]))
    got = {p.row: p.reason_en for p in result.problems}
    assert got[3].startswith("The check character (18th) should be E, not F")  # validate_uscc's English
    assert got[4] == "Required, but empty"
    assert got[5].startswith("Unknown penalty type “罚没”: use one of 警告, ")
    assert got[6] == "The date 2026-12-24 is after today (2026-11-24)"
    assert got[7] == "An amount cannot be negative"
    assert got[8] == "Same as row 2 (decision number 枣交罚〔2026〕0001号, party code 91370402MA3C4K7D2E)"
    assert got[9].startswith(
        "The end of publicity does not follow the rules: under NDRC Order 36 (2025), the publicity of general "
        "dishonesty information ends between 2026-08-20 and 2027-05-20"
    )
    assert got[10].startswith("The party's code is missing")
    assert sorted(got) == [3, 4, 5, 6, 7, 8, 9, 10]
    for p in result.problems:
        assert p.reason_en != p.reason and p.reason_en[0].isascii(), p
        if p.row not in (5, 8):  # the allowed 处罚类别 and the key are Chinese as the file must have them
            assert _english(p.reason_en), p


async def test_the_other_kinds_give_their_reasons_in_english(app: App) -> None:
    subjects = [FIRM | {"统一社会信用代码": ""}, DRIVER | {"初次领证日期": ""}]
    headers = list(FIRM) + ["身份证号码", "从业资格证号", "初次领证日期"]
    refused = await run(app, csv_bytes(subjects, headers=headers), kind="subjects")
    assert [p.line("en") for p in refused.problems] == [
        "Row 2 [统一社会信用代码]: Required for an enterprise",
        "Row 3 [初次领证日期]: Required for a driver",
    ]
    deduction = {
        "从业资格证号": DRIVER["从业资格证号"],
        "违章日期": "2026-10-08",
        "违章行为": "超速",
        "扣分": "4",
    }
    wrong = await run(app, csv_bytes([deduction]), kind="violations")
    assert [p.reason_en for p in wrong.problems] == ["The points must be one of 20, 10, 5, 3, 1"]
    unknown = await run(app, csv_bytes([deduction | {"扣分": "3"}]), kind="violations")
    assert [p.reason_en for p in unknown.problems] == [
        "No driver in the registry has this qualification certificate: import the subjects first"
    ]
    grade = {"统一社会信用代码": FIRM["统一社会信用代码"], "考核等级": "AA", "考核年度": "1999"}
    grades = await run(app, csv_bytes([grade]), kind="grades")
    assert [p.reason_en for p in grades.problems] == ["The assessment year must be from 2000 to 2026"]
    fulfilment = {"行政处罚决定书文号": "无此文号", "履行日期": "2026-11-01", "履行方式": "罚款已缴纳"}
    missing = await run(app, csv_bytes([fulfilment]), kind="fulfilment")
    assert [p.reason_en for p in missing.problems] == ["No penalty record has this decision number"]


async def test_file_level_problems_and_warnings_in_english(app: App) -> None:
    broken = await run(app, b"not a zip at all", "p.xlsx")
    assert broken.problems[0].row == 0 and _english(broken.problems[0].reason_en)
    assert broken.problems[0].reason_en != broken.problems[0].reason
    empty = await run(app, csv_bytes([], headers=HEADERS))
    assert [p.line("en") for p in empty.problems] == ["File: The file has no data rows (only the headers)."]
    no_authority = await run(app, csv_bytes([row()], headers=[h for h in HEADERS if h != "处罚机关"]))
    assert [p.line("en") for p in no_authority.problems] == [
        "Row 1 [处罚机关]: Required column missing (the template shows the headers)"
    ]
    extra = await run(app, csv_bytes([row() | {"内部编号": "7", "经办人": "王"}]))
    assert extra.warnings == ["以下列不在模板中，已忽略：内部编号、经办人"]
    assert extra.warnings_in("en") == [
        "These columns are not in the template and were ignored: 内部编号, 经办人"
    ]


# -- the monthly lists ---------------------------------------------------------------------------------


def test_the_monthly_summary_and_file_name_in_english() -> None:
    empty = assemble(2026, 10, date(2026, 11, 24), [], [], [])
    text = monthly_report.summary_text(empty, "en")
    assert text.splitlines() == [
        "Monthly lists of credit work, 2026-10",
        "Subjects list: trust rewards 0, dishonesty sanctions 0",
        "Results list: repairs approved 0, objections corrected 0, interviews held 0, commitments kept 0, "
        "commitments breached 0",
        f"Deadlines: closed on time 0, closed late 0, still overdue 0 (to {empty.counted_to})",
        "Nothing to list this month.",
    ]
    assert monthly_report.file_name(empty, "en") == "credit-work-monthly-lists_2026-10.xlsx"
    assert monthly_report.file_name(empty) == "信用工作月度清单_2026年10月.xlsx"
    assert monthly_report.summary_text(empty).splitlines()[0] == "2026年10月 信用工作月度清单"
