"""The data commands of `credit-bot` as staff use them from a shell (issue #8): `demo` that never destroys
data, the subject registry (`subjects add | show | edit`), `import` of every kind with templates, errors
files, --dry-run and idempotent re-import, `export penalties | lists`, and the audit trail they leave.

Every command is a real `python -m bot` process on a SQLite file in tmp_path; every input file is made here
with openpyxl / csv. A process costs a few seconds (importing the CLI), so commands that do not depend on
each other run side by side (`_together`); SQLite serialises their writes (BEGIN IMMEDIATE, 30 s timeout).
The import / export scenario runs once (module fixture `staff_day`) and each test asserts one promise of it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from stdnum.cn import uscc as std_uscc

ROOT = Path(__file__).resolve().parents[1]
DEMO_USCC = "91370402MA3C4K7D2E"  # the demo's enterprise, and the penalty template's example row
TEMPLATE_DECISION = "枣交罚〔2026〕0412号"  # the template's example row
DRIVER_ID = "370402198506123417"  # a valid ID number (also the IC-card certificate number)
PAST = "2026-05-20"  # a decision date in the past on any day this suite runs
NO_SERVER_PG = "postgresql://postgres@127.0.0.1:1/nothing"  # port 1: nothing listens


def _uscc(body: str) -> str:
    """A valid 统一社会信用代码 from its first 17 characters (check character by python-stdnum)."""
    return body + std_uscc.calc_check_digit(body)


# -- running the CLI -------------------------------------------------------------------------------------


def _env(tmp_path: Path, database_url: str | None) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path}/cli.db",
        "TELEGRAM_BOT_TOKEN": "",
    }


def _start(tmp_path: Path, *args: str, database_url: str | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path, database_url),
        cwd=tmp_path,
    )


def _wait(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _cli(tmp_path: Path, *args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    return _wait(_start(tmp_path, *args, database_url=database_url))


def _together(tmp_path: Path, *commands: Sequence[str]) -> list[subprocess.CompletedProcess[str]]:
    """Commands that do not depend on one another, started at once; results in the order given.
    Never the first commands on a fresh database (two processes would both create the schema)."""
    started = [_start(tmp_path, *args) for args in commands]
    return [_wait(proc) for proc in started]


def _said(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "cli.db")


def _count(tmp_path: Path, sql: str, *params: Any) -> int:
    with _db(tmp_path) as conn:
        return conn.execute(sql, params).fetchone()[0]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- files as staff make them ------------------------------------------------------------------------------


def _xlsx(path: Path, headers: list[str], rows: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(headers)
    for row in rows:
        ws.append(row)  # [] leaves an empty row: row numbers must still be the spreadsheet's
    wb.save(path)
    return path


def _csv(path: Path, headers: list[str], rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


PENALTY_HEADERS = [
    "行政相对人名称",
    "行政相对人类别",
    "行政相对人代码_1（统一社会信用代码）",
    "法定代表人",
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额（万元）",
    "处罚决定日期",
    "处罚机关",
]


def _penalty(name: str, code: str, number: str, fine: Any = 0.3, decided: Any = PAST) -> list[Any]:
    return [
        name,
        "法人及非法人组织",
        code,
        "李明",
        number,
        "未按规定维护车辆",
        "未按规定对车辆进行维护和检测",
        "《中华人民共和国道路运输条例》第七十条",
        "罚款",
        f"罚款 {fine} 万元",
        fine,
        decided,
        "枣庄市交通运输局",
    ]


def _three_penalties(prefix: str, bodies: tuple[str, str, str], bad: dict[str, Any]) -> list[list[Any]]:
    """Three decisions of three enterprises that exist nowhere else; the second one `bad` (if given)."""
    rows = [
        _penalty(f"枣庄市{prefix}{i}号运输有限公司", _uscc(body), f"枣交罚〔2026〕{prefix}{i:02d}号")
        for i, body in enumerate(bodies, start=1)
    ]
    if bad:
        rows[1] = _penalty(rows[1][0], rows[1][2], rows[1][4], **bad)
    return rows


def _codes(rows: list[list[Any]]) -> list[str]:
    return [row[2] for row in rows if row]


def _numbers(rows: list[list[Any]]) -> list[str]:
    return [row[4] for row in rows if row]


# -- 1. demo never destroys data ---------------------------------------------------------------------------


def test_demo_loads_once_refuses_a_second_load_resets_sqlite_and_refuses_to_reset_postgresql(
    tmp_path: Path,
) -> None:
    # The PostgreSQL refusal must come before any connection: nothing listens on port 1.
    pg_reset = _start(tmp_path, "demo", "--reset", database_url=NO_SERVER_PG)
    first = _cli(tmp_path, "demo")
    assert first.returncode == 0, first.stderr
    pg_reset = _wait(pg_reset)
    assert pg_reset.returncode != 0
    assert "--force" in _said(pg_reset) and "拒绝重置" in _said(pg_reset)

    subjects = _count(tmp_path, "SELECT count(*) FROM subject")
    again = _cli(tmp_path, "demo")
    assert again.returncode != 0
    assert "已有数据" in _said(again) and "--reset" in _said(again)
    assert _count(tmp_path, "SELECT count(*) FROM subject") == subjects  # nothing loaded twice
    shown = _cli(tmp_path, "subjects", "show", DEMO_USCC)
    assert shown.returncode == 0, shown.stderr
    assert DEMO_USCC in shown.stdout

    reset = _cli(tmp_path, "demo", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert _count(tmp_path, "SELECT count(*) FROM subject") == subjects


def test_scripts_run_loads_the_demo_into_its_own_sqlite_file() -> None:
    script = (ROOT / "scripts" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines() if not line.strip().startswith("#")]
    demo = next(i for i, line in enumerate(lines) if "credit-bot demo" in line)
    exports = [
        i
        for i, line in enumerate(lines[:demo])
        if line.startswith("export DATABASE_URL=") and "sqlite" in line and "var/demo.db" in line
    ]
    assert exports, "scripts/run must point DATABASE_URL at var/demo.db before `credit-bot demo`"
    assert not any("DATABASE_URL=" in line for line in lines[exports[-1] + 1 : demo])


# -- 2. the subject registry -------------------------------------------------------------------------------


def test_subjects_add_show_edit_and_code_issue_from_an_empty_database(tmp_path: Path) -> None:
    code = _uscc("91370481MA3H7K2P5")
    added = _cli(
        tmp_path,
        *("subjects", "add", "enterprise", "--uscc", code, "--name", "滕州市远航物流有限公司"),
        *("--legal-rep", "孙立", "--department", "信用科"),
    )
    assert added.returncode == 0, added.stderr
    for shown in (
        "滕州市远航物流有限公司",
        f"统一社会信用代码：{code}",
        "法定代表人：孙立",
        "主管部门：信用科",
    ):
        assert shown in added.stdout

    twice, wrong_check, driver, unknown = _together(
        tmp_path,
        ["subjects", "add", "enterprise", "--uscc", code, "--name", "另一家公司"],
        ["subjects", "add", "enterprise", "--uscc", "91370402MA3C4K7D2F", "--name", "校验位错的公司"],
        [
            *("subjects", "add", "driver", "--id-number", DRIVER_ID, "--name", "张伟"),
            *("--cert", DRIVER_ID, "--first-issued", "2015-06-01"),
        ],
        ["subjects", "show", "91370402MA3C4K7D2E"],  # valid, but nobody added it
    )
    assert twice.returncode == 1
    assert f"主体库中已有统一社会信用代码 {code}" in twice.stderr
    assert wrong_check.returncode == 1
    assert "应为E" in wrong_check.stderr
    assert driver.returncode == 0, driver.stderr
    assert "张伟" in driver.stdout and "370***********3417" in driver.stdout
    assert DRIVER_ID not in _said(driver)  # masked
    assert unknown.returncode == 1
    assert "主体库中没有这个代码" in unknown.stderr

    shown, edited, issued = _together(
        tmp_path,
        ["subjects", "show", code],
        ["subjects", "edit", code, "--department", "执法支队"],
        ["code", "issue", "--uscc", code],  # README: the code for an enterprise the registry holds
    )
    assert shown.returncode == 0, shown.stderr
    assert "滕州市远航物流有限公司" in shown.stdout and code in shown.stdout
    assert edited.returncode == 0, edited.stderr
    assert "主管部门：信用科 → 执法支队" in edited.stdout
    assert issued.returncode == 0, issued.stderr
    assert len(issued.stdout.strip()) == 8 and issued.stdout.strip().isalnum()
    assert _count(tmp_path, "SELECT count(*) FROM subject") == 2


# -- 3–6. a day of imports and exports ------------------------------------------------------------------------

BAD_CSV_BODIES = ("91370402MA3J1A1B1", "91370402MA3J1A1B2", "91370402MA3J1A1B3")
BAD_XLSX_BODIES = ("91370402MA3J2A1B1", "91370402MA3J2A1B2", "91370402MA3J2A1B3")
GOOD_BODIES = ("91370402MA3J3A1B1", "91370402MA3J3A1B2", "91370402MA3J3A1B3")
ENTERPRISE = _uscc("91370400MA3D5E6F7")  # added by the subjects import
KINDS = ("subjects", "violations", "grades", "fulfilment")


@dataclass
class StaffDay:
    """One database through a day of data work; `results` by step name, `files` by step name."""

    path: Path
    results: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, list[list[Any]]] = field(default_factory=dict)
    written: dict[str, tuple[int, int]] = field(default_factory=dict)  # (subjects, records) of a file

    def run(self, **steps: Sequence[str]) -> None:
        for name, result in zip(steps, _together(self.path, *steps.values()), strict=True):
            self.results[name] = result

    def file(self, name: str, path: Path) -> str:
        self.files[name] = path
        return path.name


@pytest.fixture(scope="module")
def staff_day(tmp_path_factory: pytest.TempPathFactory) -> StaffDay:
    day = StaffDay(tmp_path_factory.mktemp("staff_day"))
    tmp = day.path
    future = (date.today() + timedelta(days=30)).isoformat()

    # Files, as staff would fill them in. Row numbers: header 1, row 2, an empty row 3, the bad row 4.
    bad_csv = _three_penalties("甲", BAD_CSV_BODIES, {"fine": -0.2})
    bad_xlsx = _three_penalties("乙", BAD_XLSX_BODIES, {"decided": future})
    for row in bad_xlsx:
        row[11] = date.fromisoformat(row[11])  # date cells, as Excel has them
    good = _three_penalties("丙", GOOD_BODIES, {})
    day.rows = {"bad_csv": bad_csv, "bad_xlsx": bad_xlsx, "good": good}
    _csv(tmp / "bad.csv", PENALTY_HEADERS, [bad_csv[0], [], *bad_csv[1:]], encoding="gbk")
    _xlsx(tmp / "bad.xlsx", PENALTY_HEADERS, [bad_xlsx[0], [], *bad_xlsx[1:]])
    _csv(tmp / "good.csv", [*PENALTY_HEADERS, "联系电话"], [[*row, "0632-1234567"] for row in good])
    subject_headers = ["主体类型", "名称", "统一社会信用代码", "身份证号码", "从业资格证号"]
    subject_headers += ["初次领证日期", "法定代表人", "主管部门"]
    _xlsx(
        tmp / "subjects.xlsx",
        subject_headers,
        [
            ["企业", "枣庄市通达运输有限公司", ENTERPRISE, None, None, None, "王强", "信用科"],
            ["驾驶员", "张伟", None, DRIVER_ID, DRIVER_ID, date(2015, 6, 1), None, "执法支队"],
        ],
    )
    _csv(
        tmp / "violations.csv",
        ["从业资格证号", "姓名", "违章日期", "违章行为", "扣分", "处罚机关"],
        [[DRIVER_ID, "张伟", PAST, "超速行驶（超过限速不足20%）", 3, "枣庄市交通运输局"]],
    )
    grade_headers = ["统一社会信用代码", "从业资格证号", "名称", "考核等级", "考核年度", "考核得分"]
    grade_headers += ["认定日期", "认定机关", "周期起", "周期止", "扣分"]
    _xlsx(
        tmp / "grades.xlsx",
        grade_headers,
        [
            [ENTERPRISE, None, "枣庄市通达运输有限公司", "AA", 2025, 820, "2026-03-10", "枣庄市交通运输局"],
            [None, DRIVER_ID, "张伟", "AA", None, None, None, None, "2024-06-01", "2025-05-31", 3],
        ],
    )
    _csv(
        tmp / "fulfilment.csv",
        ["行政处罚决定书文号", "行政相对人代码", "履行日期", "履行方式"],
        [[TEMPLATE_DECISION, DEMO_USCC, "2026-06-01", "罚款已缴纳"]],
    )

    # The first command on the new database runs alone (it creates the schema); the template needs none.
    day.run(
        template=["import", "template", "penalties", "-o", "t.xlsx"],
        subjects=["import", "subjects", day.file("subjects", tmp / "subjects.xlsx")],
    )
    day.run(
        template_import=["import", "penalties", day.file("template", tmp / "t.xlsx")],
        subjects_again=["import", "subjects", "subjects.xlsx"],
        violations=["import", "violations", day.file("violations", tmp / "violations.csv")],
        grades=["import", "grades", day.file("grades", tmp / "grades.xlsx")],
        bad_csv=["import", "penalties", day.file("bad_csv", tmp / "bad.csv")],
        bad_xlsx=["import", "penalties", day.file("bad_xlsx", tmp / "bad.xlsx")],
        dry_run=["import", "penalties", day.file("good", tmp / "good.csv"), "--dry-run"],
    )
    for name, rows in day.rows.items():  # what each refused or trial file left behind: nothing
        day.written[name] = _written(tmp, rows)
    day.run(
        show_refused=["subjects", "show", _codes(bad_csv)[0]],  # a valid row of the refused file
        template_again=["import", "penalties", "t.xlsx"],
        violations_again=["import", "violations", "violations.csv"],
        grades_again=["import", "grades", "grades.xlsx"],
        fulfilment=["import", "fulfilment", day.file("fulfilment", tmp / "fulfilment.csv")],
    )
    day.run(
        good=["import", "penalties", "good.csv"],
        fulfilment_again=["import", "fulfilment", "fulfilment.csv"],
    )
    window = ("--from", "2020-01-01", "--to", "2026-12-31")
    backwards = ("--from", "2026-12-31", "--to", "2020-01-01")
    day.run(
        export_xlsx=["export", "penalties", *window, "-o", "e.xlsx"],
        export_csv=["export", "penalties", *window, "-o", "e.csv"],
        export_backwards=["export", "penalties", *backwards, "-o", "x.xlsx"],
        export_txt=["export", "penalties", *window, "-o", "e.txt"],
        lists=["export", "lists", "--month", "2026-10", "-o", "l.xlsx"],
        lists_month_13=["export", "lists", "--month", "2026-13", "-o", "l13.xlsx"],
        lists_csv=["export", "lists", "--month", "2026-10", "-o", "l.csv"],
        export_no_folder=["export", "penalties", *window, "-o", "missing/e.xlsx"],
    )
    # Staff fix the bad row in the errors file and import it as it is, 错误说明 column and all.
    fixed = tmp / "bad.errors.csv"
    with fixed.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    at = table[0].index("罚款金额（万元）")
    table = [[("0.2" if i == at and cell == "-0.2" else cell) for i, cell in enumerate(row)] for row in table]
    with fixed.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(table)
    day.run(
        export_xlsx_back=["import", "penalties", day.file("export_xlsx", tmp / "e.xlsx")],
        export_csv_back=["import", "penalties", day.file("export_csv", tmp / "e.csv")],
        errors_fixed=["import", "penalties", day.file("errors_fixed", fixed)],
    )
    day.files["lists"] = tmp / "l.xlsx"
    return day


def _written(tmp_path: Path, rows: list[list[Any]]) -> tuple[int, int]:
    """How many of the file's subjects and decisions the database holds."""
    codes, numbers = _codes(rows), _numbers(rows)
    marks = ", ".join("?" * len(codes))
    subjects = _count(tmp_path, f"SELECT count(*) FROM subject WHERE uscc IN ({marks})", *codes)
    records = _count(tmp_path, f"SELECT count(*) FROM credit_record WHERE decision_no IN ({marks})", *numbers)
    return subjects, records


def _ok(day: StaffDay, *steps: str) -> None:
    for step in steps:
        result = day.results[step]
        assert result.returncode == 0, f"{step}: {result.args}\n{_said(result)}"


def _problem_lines(result: subprocess.CompletedProcess[str], reason: str) -> list[str]:
    """The error table's lines that give `reason` (row number first, as print_result lays them out)."""
    return [line for line in result.stderr.splitlines() if reason in line]


# 3. Import


def test_template_has_a_notes_sheet_and_imports_as_is_then_again_unchanged(staff_day: StaffDay) -> None:
    _ok(staff_day, "template", "template_import", "template_again")
    wb = load_workbook(staff_day.files["template"], read_only=True)
    assert len(wb.sheetnames) == 2 and wb.sheetnames[1] == "填写说明"
    assert "新增 1 条" in staff_day.results["template_import"].stdout
    again = staff_day.results["template_again"].stdout
    assert "新增 0 条" in again and "未变 1 条" in again


def test_gbk_csv_with_a_negative_fine_is_refused_by_row_and_nothing_is_written(staff_day: StaffDay) -> None:
    result = staff_day.results["bad_csv"]
    assert result.returncode == 1
    lines = _problem_lines(result, "金额不能为负数")
    assert len(lines) == 1 and lines[0].split()[0] == "4", result.stderr  # the row Excel shows
    assert "全部未导入" in result.stdout
    assert staff_day.written["bad_csv"] == (0, 0)
    assert staff_day.results["show_refused"].returncode == 1  # not even the file's valid rows

    errors = staff_day.path / "bad.errors.csv"
    with errors.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["行政处罚决定书文号"] for row in rows] == _numbers(staff_day.rows["bad_csv"])
    assert [bool(row["错误说明"]) for row in rows] == [False, True, False]
    assert "金额不能为负数" in rows[1]["错误说明"]


def test_xlsx_with_a_future_decision_date_is_refused_by_row_with_an_xlsx_errors_file(
    staff_day: StaffDay,
) -> None:
    result = staff_day.results["bad_xlsx"]
    assert result.returncode == 1
    lines = _problem_lines(result, "晚于今天")
    assert len(lines) == 1 and lines[0].split()[0] == "4", result.stderr
    assert "处罚决定日期" in lines[0]
    assert staff_day.written["bad_xlsx"] == (0, 0)

    # Not read_only: the errors sheet has no <dimension>, so a streaming reader gets ragged rows.
    wb = load_workbook(staff_day.path / "bad.errors.xlsx")
    table = [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    headers, data = table[0], [row for row in table[1:] if any(cell is not None for cell in row)]
    notes = [row[headers.index("错误说明")] for row in data]
    assert [row[headers.index("行政处罚决定书文号")] for row in data] == _numbers(staff_day.rows["bad_xlsx"])
    assert [bool(note) for note in notes] == [False, True, False]
    assert "晚于今天" in notes[1]


def test_errors_file_once_fixed_imports_as_it_is(staff_day: StaffDay) -> None:
    _ok(staff_day, "errors_fixed")
    result = staff_day.results["errors_fixed"]
    assert "已新增 3 条" in result.stdout
    assert "提示" not in result.stderr  # its 错误说明 column is ours, not an unknown one
    assert _written(staff_day.path, staff_day.rows["bad_csv"]) == (3, 3)


def test_dry_run_of_a_clean_file_says_it_is_a_trial_and_writes_nothing(staff_day: StaffDay) -> None:
    _ok(staff_day, "dry_run")
    assert "试运行" in staff_day.results["dry_run"].stdout
    assert "将新增 3 条" in staff_day.results["dry_run"].stdout
    assert staff_day.written["good"] == (0, 0)  # counted before its real import


def test_unknown_column_is_one_warning_line_and_the_import_still_succeeds(staff_day: StaffDay) -> None:
    _ok(staff_day, "good")
    result = staff_day.results["good"]
    warnings = [line for line in _said(result).splitlines() if "联系电话" in line]
    assert len(warnings) == 1 and "忽略" in warnings[0]
    assert "已新增 3 条" in result.stdout
    assert _written(staff_day.path, staff_day.rows["good"]) == (3, 3)  # what the (0, 0) checks count


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_imports_from_a_template_like_file_and_reimports_unchanged(
    staff_day: StaffDay, kind: str
) -> None:
    _ok(staff_day, kind, f"{kind}_again")
    first, again = staff_day.results[kind].stdout, staff_day.results[f"{kind}_again"].stdout
    rows = {"subjects": 2, "violations": 1, "grades": 2, "fulfilment": 1}[kind]
    assert f"已新增 {rows} 条、更新 0 条、未变 0 条" in first
    assert f"已新增 0 条、更新 0 条、未变 {rows} 条" in again


# 4. Export


def test_export_penalties_to_xlsx_and_csv_imports_back_unchanged(staff_day: StaffDay) -> None:
    _ok(staff_day, "export_xlsx", "export_csv", "export_xlsx_back", "export_csv_back")
    assert "已导出 4 条" in staff_day.results["export_xlsx"].stdout  # the template's row and good.csv
    assert "已导出 4 条" in staff_day.results["export_csv"].stdout
    for step in ("export_xlsx_back", "export_csv_back"):
        assert "新增 0 条、更新 0 条、未变 4 条" in staff_day.results[step].stdout, step


def test_export_refuses_a_backwards_range_and_a_txt_file_in_chinese(staff_day: StaffDay) -> None:
    backwards, txt = staff_day.results["export_backwards"], staff_day.results["export_txt"]
    assert backwards.returncode == 1 and "结束日期早于开始日期" in backwards.stderr
    assert txt.returncode == 1 and ".xlsx 或 .csv" in txt.stderr
    assert not (staff_day.path / "x.xlsx").exists() and not (staff_day.path / "e.txt").exists()


def test_export_into_a_missing_folder_is_refused_in_chinese_not_with_a_traceback(
    staff_day: StaffDay,
) -> None:
    result = staff_day.results["export_no_folder"]
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "FileNotFoundError" not in result.stderr
    assert "文件夹" in result.stderr or "目录" in result.stderr


# 5. The monthly lists


def test_export_lists_writes_three_sheets_and_refuses_month_13(staff_day: StaffDay) -> None:
    _ok(staff_day, "lists")
    wb = load_workbook(staff_day.files["lists"], read_only=True)
    assert wb.sheetnames[:3] == ["汇总", "对象清单", "成效清单"]
    refused = staff_day.results["lists_month_13"]
    assert refused.returncode == 1 and "月份应在 1 到 12 之间" in refused.stderr
    assert not (staff_day.path / "l13.xlsx").exists()


def test_export_lists_refuses_a_file_name_that_is_not_xlsx(staff_day: StaffDay) -> None:
    result = staff_day.results["lists_csv"]
    assert result.returncode == 1 and ".xlsx" in result.stderr
    assert not (staff_day.path / "l.csv").exists()


# 6. The audit


def test_every_import_and_export_is_in_data_transfer_and_the_audit_log_with_its_sha256(
    staff_day: StaffDay,
) -> None:
    imports = Counter(
        ("import", staff_day.files[name].name, _sha256(staff_day.files[name]))
        for name in (*KINDS, "template", "bad_csv", "bad_xlsx", "good", "export_xlsx", "export_csv")
        for _ in range(1 if name.startswith(("bad", "export")) else 2)  # the rest twice (good: dry run too)
    ) + Counter([("import", "bad.errors.csv", _sha256(staff_day.files["errors_fixed"]))])
    written = [staff_day.files[name] for name in ("export_xlsx", "export_csv", "lists")]
    exports = Counter(("export", path.name, _sha256(path)) for path in written)
    with _db(staff_day.path) as conn:
        transfers = conn.execute("SELECT id, direction, file_name, sha256 FROM data_transfer").fetchall()
        audit = {
            (action, entity_id): json.loads(after)
            for action, entity_id, after in conn.execute(
                "SELECT action, entity_id, after FROM audit_log WHERE entity = 'data_transfer'"
            )
        }
    assert Counter((d, name, sha) for _, d, name, sha in transfers) == imports + exports
    for transfer_id, direction, name, sha in transfers:
        logged = audit.get((f"data.{direction}", str(transfer_id)))
        assert logged is not None, (direction, name)
        assert (logged["file_name"], logged["sha256"]) == (name, sha)
