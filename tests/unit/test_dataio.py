"""The file layer of imports and exports (workflows/dataio): reading tables as bureaus have them, reading
cells, and writing exports, errors files and templates. Every file is made by the test in tmp_path."""

from __future__ import annotations

import gc
import io
import sys
import zipfile
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from PIL import Image as PILImage

from workflows.dataio import (
    Sheet,
    TemplateColumn,
    UnsupportedFile,
    cell_text,
    normalise_header,
    open_table,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    table_bytes,
    write_csv,
    write_errors_file,
    write_table,
    write_template,
    write_xlsx,
)
from workflows.errors import UserError

NAME = "济南顺达货物运输有限公司"
USCC = "91370102MA3C4XYZ0X"
PENALTY_HEADERS = ["行政相对人名称", "统一社会信用代码", "处罚决定日期", "罚款金额（万元）"]


def rows_of(path_or_bytes: Path | bytes, file_name: str | None = None) -> list[tuple[int, list[Any]]]:
    with open_table(path_or_bytes, file_name) as table:
        return list(table.rows())


def refusal(data: bytes, file_name: str) -> str:
    with pytest.raises(UnsupportedFile) as caught:
        open_table(data, file_name)
    assert isinstance(caught.value, UserError)
    return caught.value.zh


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (4, 3), "red").save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------
# Reading .xlsx
# ---------------------------------------------------------------------------------------------------


def excel_file(path: Path, rows: list[list[Any]]) -> Path:
    """A workbook as Excel leaves it: openpyxl's normal writer stores datetimes as date cells."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_date_cells_code_numbers_and_messy_headers_read_as_in_the_file(tmp_path: Path) -> None:
    path = excel_file(
        tmp_path / "penalties.xlsx",
        [
            [" 行政相对人名称 ", "*组织机构代码", "处罚决定日期", "罚款金额( 万元 )"],
            [NAME, 91370402, datetime(2026, 3, 5), 0.5],
            [NAME, 91370402.0, datetime(2026, 3, 6, 14, 30), 12],
        ],
    )
    with open_table(path) as table:
        assert (table.format, table.encoding, table.header_row) == ("xlsx", None, 1)
        assert table.headers == ["行政相对人名称", "*组织机构代码", "处罚决定日期", "罚款金额( 万元 )"]
        assert [normalise_header(h) for h in table.headers] == [
            "行政相对人名称",
            "组织机构代码",
            "处罚决定日期",
            "罚款金额(万元)",
        ]
        rows = list(table.rows())
    assert rows[0] == (2, [NAME, 91370402, datetime(2026, 3, 5), 0.5])
    assert cell_text(rows[1][1][1]) == "91370402"  # a code Excel turned into a float
    assert parse_date(rows[1][1][2]) == date(2026, 3, 6)
    assert parse_decimal(rows[1][1][3]) == Decimal(12)


def test_xlsx_row_numbers_are_the_spreadsheets_and_empty_rows_are_skipped(tmp_path: Path) -> None:
    path = excel_file(
        tmp_path / "gaps.xlsx", [[None, None], ["名称", "代码"], ["甲", 1], [None, "  "], ["乙", 2]]
    )
    with open_table(path) as table:
        assert table.header_row == 2
        assert list(table.rows()) == [(3, ["甲", 1]), (5, ["乙", 2])]


def test_xlsx_rows_can_be_read_twice_and_are_aligned_with_the_headers(tmp_path: Path) -> None:
    path = excel_file(tmp_path / "ragged.xlsx", [["名称", "代码", None], ["甲"], ["乙", 2, "多余", "更多"]])
    with open_table(path) as table:
        assert table.headers == ["名称", "代码"]  # a trailing empty header cell is no column
        first = list(table.rows())
        assert first == [(2, ["甲", None]), (3, ["乙", 2])]
        assert list(table.rows()) == first


def test_xlsx_with_a_wrong_recorded_dimension_is_read_to_its_last_row(tmp_path: Path) -> None:
    path = excel_file(tmp_path / "dimension.xlsx", [["名称"], ["甲"], ["乙"], ["丙"]])
    patched = tmp_path / "patched.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(patched, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:A4"' in content
                content = content.replace(b'<dimension ref="A1:A4"', b'<dimension ref="A1:A2"')
            target.writestr(info, content)
    assert [row_no for row_no, _ in rows_of(patched)] == [2, 3, 4]


def test_xlsx_from_bytes_with_an_upload_name(tmp_path: Path) -> None:
    data = excel_file(tmp_path / "x.xlsx", [["名称"], ["甲"]]).read_bytes()
    assert rows_of(data, "上传.XLSX") == [(2, ["甲"])]
    # An upload saved under a temporary name still opens: the format comes from file_name.
    temp = tmp_path / "upload.bin"
    temp.write_bytes(data)
    with open_table(temp, "上传.xlsx") as table:
        assert table.file_name == "上传.xlsx"
        assert list(table.rows()) == [(2, ["甲"])]


# ---------------------------------------------------------------------------------------------------
# Reading .csv: encodings, delimiters, numbering
# ---------------------------------------------------------------------------------------------------

CSV_TEXT = f"行政相对人名称,统一社会信用代码,备注\r\n{NAME},{USCC},超限运输（鲁A12345）\r\n"


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_csv_encodings_are_detected_and_read_back_to_the_same_chinese(
    tmp_path: Path, encoding: str, detected: str
) -> None:
    data = CSV_TEXT.encode(encoding)
    path = tmp_path / "penalties.csv"
    path.write_bytes(data)
    for source in (path, data):
        with open_table(source, "penalties.csv") as table:
            assert (table.format, table.encoding) == ("csv", detected)
            assert table.headers == ["行政相对人名称", "统一社会信用代码", "备注"]
            assert list(table.rows()) == [(2, [NAME, USCC, "超限运输（鲁A12345）"])]


def test_gb18030_characters_outside_gbk_read_back(tmp_path: Path) -> None:
    data = "姓名,备注\r\n𠀀先生,€\r\n".encode("gb18030")
    with open_table(data, "x.csv") as table:
        assert table.encoding == "gb18030"
        assert list(table.rows()) == [(2, ["𠀀先生", "€"])]


@pytest.mark.parametrize(("encoding", "detected"), [("gbk", "gb18030"), ("utf-8", "utf-8")])
def test_csv_whose_first_megabyte_is_ascii_is_judged_on_its_first_chinese(
    tmp_path: Path, encoding: str, detected: str
) -> None:
    # The ASCII start is valid UTF-8; a decision made on it alone would fail on the GBK row at the end.
    filler = "code,plate\r\n" + "91370102,LU-A12345\r\n" * 70_000
    assert len(filler) > 1 << 20
    path = tmp_path / "long.csv"
    path.write_bytes((filler + "济南,鲁A12345\r\n").encode(encoding))
    with open_table(path) as table:
        assert table.encoding == detected
        *_, last = table.rows()
    assert last == (70_002, ["济南", "鲁A12345"])


def test_short_gbk_file_that_charset_detectors_take_for_korean_is_gbk() -> None:
    # charset-normalizer alone answers cp949 for these bytes.
    data = "名称,代码\r\n张三,1\r\n".encode("gbk")
    with open_table(data, "short.csv") as table:
        assert table.encoding == "gb18030"
        assert list(table.rows()) == [(2, ["张三", "1"])]


def test_pure_ascii_csv_reads_as_utf8() -> None:
    with open_table(b"a,b\r\n1,2\r\n", "ascii.csv") as table:
        assert table.encoding == "utf-8"
        assert list(table.rows()) == [(2, ["1", "2"])]


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_tab_and_semicolon_separated_files(delimiter: str) -> None:
    data = f"名称{delimiter}金额\n甲{delimiter}1,5\n".encode()
    with open_table(data, "export.txt") as table:
        assert table.headers == ["名称", "金额"]
        assert list(table.rows()) == [(2, ["甲", "1,5"])]


def test_csv_empty_rows_are_skipped_but_counted_and_a_quoted_line_break_is_one_row() -> None:
    data = '\r\n名称,事实\r\n甲,"第一行\n第二行"\r\n\r\n,\r\n乙\r\n'.encode()
    with open_table(data, "x.csv") as table:
        assert table.header_row == 2
        assert list(table.rows()) == [(3, ["甲", "第一行\n第二行"]), (6, ["乙", None])]


def test_csv_mixing_encodings_is_refused_at_open_or_with_the_row() -> None:
    assert refusal("名称\r\n甲\r\n".encode() + "乙\r\n".encode("gbk"), "mixed.csv").startswith(
        "无法识别文件编码"
    )
    # Past the sampled megabyte the decision is made; the GBK row then fails while reading, with its number.
    data = ("名称\r\n" + "济南市运输\r\n" * 80_000).encode() + "乙\r\n".encode("gbk")
    with open_table(data, "mixed.csv") as table, pytest.raises(UnsupportedFile) as caught:
        list(table.rows())
    assert table.encoding == "utf-8"
    assert caught.value.zh.startswith("第80002行有无法按 utf-8 编码读取的文字")


# ---------------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------------


def test_old_xls_is_refused_with_how_to_save_it() -> None:
    assert (
        refusal(b"\xd0\xcf\x11\xe0", "处罚.xls")
        == "暂不支持 .xls 格式，请在 Excel 中另存为 .xlsx 或 .csv 后重新上传。"
    )


def test_other_formats_are_refused_listing_the_supported_ones() -> None:
    message = refusal(b"%PDF-1.4", "处罚.pdf")
    assert ".pdf" in message and ".xlsx" in message and ".csv" in message
    assert "无扩展名" in refusal(b"a,b", "noextension")


def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused() -> None:
    assert refusal(b"this is not a zip", "fake.xlsx").startswith("文件无法以 Excel 格式打开")
    assert refusal(b"PK\x03\x04 broken zip", "fake.xlsx").startswith("文件无法以 Excel 格式打开")
    assert ".xls" in refusal(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "old-or-encrypted.xlsx")


def test_empty_files_are_refused(tmp_path: Path) -> None:
    assert "表头" in refusal(b"", "empty.csv")
    assert "表头" in refusal(b"\r\n , \r\n", "blank.csv")
    assert "表头" in refusal(excel_file(tmp_path / "e.xlsx", []).read_bytes(), "e.xlsx")


def test_undecodable_csv_asks_for_utf8_or_gbk() -> None:
    assert refusal(bytes(range(0x80, 0x100)) * 8, "binary.csv").startswith("无法识别文件编码")


# ---------------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("\u3000 济南\u200b ", "济南"),
        (91370402, "91370402"),
        (91370402.0, "91370402"),
        (0.5, "0.5"),
        (1e-05, "0.00001"),
        (0.1 + 0.2, "0.3"),  # as Excel shows it (15 significant digits)
        (datetime(2026, 3, 5), "2026-03-05"),
        (datetime(2026, 3, 5, 14, 30), "2026-03-05 14:30:00"),
        (date(2026, 3, 5), "2026-03-05"),
        (True, "是"),
        (False, "否"),
    ],
)
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-05",
        "2026-3-5",
        "2026/3/5",
        "2026.3.5",
        "2026年3月5日",
        "2026年03月05日",
        "20260305",
        "2026-03-05 00:00:00",
        "2026/3/5 14:30",
        " 2026-03-05 ",
        "２０２６－０３－０５",
        46086,
        46086.0,
        "46086",
        20260305,
        datetime(2026, 3, 5, 9, 0),
        date(2026, 3, 5),
    ],
)
def test_parse_date_accepts_what_bureaus_type(value: Any) -> None:
    assert parse_date(value) == date(2026, 3, 5)


def test_parse_date_excel_serial_agrees_with_openpyxl() -> None:
    from openpyxl.utils.datetime import from_excel

    assert from_excel(46086) == datetime(2026, 3, 5)
    assert parse_date(46086.75) == date(2026, 3, 5)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "不能为空"),
        (None, "不能为空"),
        ("2026-02-30", "日期不存在：2026年2月30日"),
        ("2026年13月1日", "日期不存在：2026年13月1日"),
        ("3/5/2026", "无法识别的日期“3/5/2026”，请使用 2026-03-05 这样的格式"),
        ("明天", "无法识别的日期“明天”，请使用 2026-03-05 这样的格式"),
        (12345, "无法识别的日期“12345”，请使用 2026-03-05 这样的格式"),
    ],
)
def test_parse_date_refusals(value: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_date(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2026-03-05", datetime(2026, 3, 5)),
        ("2026/3/5 14:30", datetime(2026, 3, 5, 14, 30)),
        ("2026年3月5日 14:30:15", datetime(2026, 3, 5, 14, 30, 15)),
        ("2026-03-05T14:30:00", datetime(2026, 3, 5, 14, 30)),
        (46086 + 14.5 / 24, datetime(2026, 3, 5, 14, 30)),
        (date(2026, 3, 5), datetime(2026, 3, 5)),
        (datetime(2026, 3, 5, 6, 30, tzinfo=UTC), datetime(2026, 3, 5, 14, 30)),  # Beijing time
    ],
)
def test_parse_datetime(value: Any, moment: datetime) -> None:
    assert parse_datetime(value) == moment


def test_parse_datetime_refuses_impossible_times() -> None:
    with pytest.raises(ValueError, match="时间不存在"):
        parse_datetime("2026-03-05 25:00")


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("", None),
        (None, None),
        ("  ", None),
        (5, Decimal(5)),
        (0.1, Decimal("0.1")),
        (0.1 + 0.2, Decimal("0.3")),
        ("1,234.5", Decimal("1234.5")),
        ("１２３．５", Decimal("123.5")),
        (" 0.000001 ", Decimal("0.000001")),
        ("1.2300000", Decimal("1.23")),  # trailing zeros are not decimal places
        ("100", Decimal(100)),
        ("-0", Decimal(0)),
    ],
)
def test_parse_decimal(value: Any, number: Decimal | None) -> None:
    parsed = parse_decimal(value)
    assert parsed == number
    if parsed is not None:
        assert "E" not in str(parsed)


def test_parse_decimal_keeps_whole_numbers_without_exponent() -> None:
    assert str(parse_decimal("100")) == "100"
    assert str(parse_decimal(Decimal("1E+2"))) == "100"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "不是数字：abc"),
        ("5000元", "不是数字：5000元"),
        ("1,2", "不是数字：1,2"),  # a decimal comma is not a thousands separator
        ("0.0000001", "小数位数不能超过6位"),
    ],
)
def test_parse_decimal_refusals(value: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_decimal(value)
    assert str(caught.value) == message


def test_parse_decimal_places_can_be_narrowed() -> None:
    assert parse_decimal("12.34", places=2) == Decimal("12.34")
    with pytest.raises(ValueError, match="小数位数不能超过2位"):
        parse_decimal("12.345", places=2)


@pytest.mark.parametrize(("value", "number"), [("", None), ("5", 5), (5, 5), (5.0, 5), ("1,000", 1000)])
def test_parse_int(value: Any, number: int | None) -> None:
    assert parse_int(value) == number


@pytest.mark.parametrize("value", [5.5, "5.5"])
def test_parse_int_refuses_fractions(value: Any) -> None:
    with pytest.raises(ValueError, match="应为整数"):
        parse_int(value)


@pytest.mark.parametrize(
    "header",
    [
        "罚款金额（万元）",
        " 罚款金额(万元) ",
        "*罚款金额( 万元 )",
        "＊罚款金额【万元】",
        "罚款金额\n（万元）*",
        "罚款\u3000金额(万元)",
    ],
)
def test_normalise_header_makes_variants_of_one_column_equal(header: str) -> None:
    assert normalise_header(header) == "罚款金额(万元)"


def test_normalise_header_half_widths_and_lower_cases_ascii() -> None:
    assert normalise_header("ＵＳＣＣ代码_1") == "uscc代码_1"
    assert normalise_header(None) == ""


# ---------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------

EXPORT_ROWS: list[list[Any]] = [
    [NAME, USCC, date(2026, 3, 5), Decimal("0.5")],
    ['=HYPERLINK("x")', "370402199001011234", date(2026, 3, 6), Decimal("12345678901234567.123456")],
    ["无金额", "000123", None, None],
]


def test_write_xlsx_round_trip_keeps_dates_codes_and_amounts(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    assert write_xlsx(path, [Sheet("行政处罚", PENALTY_HEADERS, iter(EXPORT_ROWS))]) == 3
    with open_table(path) as table:
        assert table.headers == PENALTY_HEADERS
        rows = list(table.rows())
    assert [row_no for row_no, _ in rows] == [2, 3, 4]
    first, second, third = (values for _, values in rows)
    assert first[:3] == [NAME, USCC, datetime(2026, 3, 5)]
    assert parse_decimal(first[3]) == Decimal("0.5")
    assert second[0] == '=HYPERLINK("x")'  # text, never a formula
    assert second[1] == "370402199001011234"
    assert parse_decimal(second[3]) == Decimal("12345678901234567.123456")  # too precise for a float
    assert third == ["无金额", "000123", None, None]


def test_write_xlsx_cell_types_styles_and_beijing_time(tmp_path: Path) -> None:
    path = tmp_path / "styled.xlsx"
    stamp = datetime(2026, 3, 5, 6, 30, tzinfo=UTC)
    rows = [[stamp, 370402199001011234, True, "控制\x01字符", "行1\r\n行2", 0.1]]
    write_xlsx(
        path, [Sheet("数据", ["时间", "证件号码", "标志", "文字", "换行", "数"], rows, widths={0: 22})]
    )
    workbook = load_workbook(path)
    sheet = workbook["数据"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b
    assert sheet.column_dimensions["A"].width == 22
    assert sheet["A2"].value == datetime(2026, 3, 5, 14, 30)
    assert sheet["A2"].number_format == "yyyy-mm-dd h:mm:ss"
    assert sheet["B2"].value == "370402199001011234"  # beyond Excel's 15 digits: text
    assert sheet["C2"].value is True
    assert sheet["D2"].value == "控制字符"
    assert sheet["E2"].value == "行1\r\n行2"
    assert sheet["F2"].value == 0.1


def test_write_xlsx_dates_are_date_cells(tmp_path: Path) -> None:
    path = tmp_path / "dates.xlsx"
    write_xlsx(path, [Sheet("数据", ["日期"], [[date(2026, 3, 5)]])])
    cell = load_workbook(path)["数据"]["A2"]
    assert (cell.value, cell.number_format) == (datetime(2026, 3, 5), "yyyy-mm-dd")


def test_write_xlsx_several_sheets_and_an_image(tmp_path: Path) -> None:
    path = tmp_path / "monthly.xlsx"
    sheets = [
        Sheet("对象清单", ["名称"], [["甲"], ["乙"]]),
        Sheet("成效清单", ["月份", "修复数"], [["2026-03", 4]], images=[(png_bytes(), "D2")]),
    ]
    assert write_xlsx(path, sheets) == 3
    with zipfile.ZipFile(path) as package:
        assert any(name.startswith("xl/media/") for name in package.namelist())
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["对象清单", "成效清单"]
    assert len(workbook["成效清单"]._images) == 1
    assert workbook["成效清单"]["B2"].value == 4


def test_a_failed_export_leaves_no_file(tmp_path: Path) -> None:
    def failing() -> Any:
        yield ["甲"]
        raise RuntimeError("database went away")

    path = tmp_path / "export.xlsx"
    with pytest.raises(RuntimeError):
        write_xlsx(path, [Sheet("数据", ["名称"], failing())])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("encoding", "detected"), [("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")])
def test_write_csv_round_trip(tmp_path: Path, encoding: str, detected: str) -> None:
    path = tmp_path / "export.csv"
    assert write_csv(path, PENALTY_HEADERS, EXPORT_ROWS, encoding=encoding) == 3
    assert path.read_bytes().count(b"\r\n") == 4
    with open_table(path) as table:
        assert table.encoding == detected
        assert table.headers == PENALTY_HEADERS
        rows = [values for _, values in table.rows()]
    assert rows[0] == [NAME, USCC, "2026-03-05", "0.5"]
    assert rows[1][1:] == ["370402199001011234", "2026-03-06", "12345678901234567.123456"]
    assert rows[2] == ["无金额", "000123", "", ""]


def test_write_csv_to_a_stream_leaves_it_open() -> None:
    buffer = io.BytesIO()
    write_csv(buffer, ["时间"], [[datetime(2026, 3, 5, 6, 30, tzinfo=UTC)]])
    assert not buffer.closed
    assert buffer.getvalue().decode("utf-8-sig") == "时间\r\n2026-03-05 14:30:00\r\n"


def test_write_table_and_table_bytes_choose_the_format(tmp_path: Path) -> None:
    assert write_table(tmp_path / "a.xlsx", ["名称"], [["甲"]]) == 1
    assert load_workbook(tmp_path / "a.xlsx").sheetnames == ["数据"]
    assert write_table(tmp_path / "a.csv", ["名称"], [["甲"]]) == 1
    assert (tmp_path / "a.csv").read_bytes() == "\ufeff名称\r\n甲\r\n".encode()
    with pytest.raises(UserError):
        write_table(tmp_path / "a.pdf", ["名称"], [["甲"]])
    assert rows_of(table_bytes("xlsx", ["名称"], [["甲"]], sheet_title="清单"), "x.xlsx") == [(2, ["甲"])]
    assert table_bytes("csv", ["名称"], [["甲"]]) == "\ufeff名称\r\n甲\r\n".encode()
    with pytest.raises(UserError):
        table_bytes("pdf", ["名称"], [])


# ---------------------------------------------------------------------------------------------------
# Errors file and template
# ---------------------------------------------------------------------------------------------------


def uploaded(tmp_path: Path) -> Path:
    return excel_file(
        tmp_path / "upload.xlsx",
        [
            PENALTY_HEADERS,
            [NAME, USCC, datetime(2026, 3, 5), 0.5],
            [None] * 4,
            ["乙公司", "bad", "2026-02-30", "x"],
        ],
    )


def test_errors_file_xlsx_adds_the_reasons_in_red(tmp_path: Path) -> None:
    target = tmp_path / "errors.xlsx"
    with open_table(uploaded(tmp_path)) as table:
        written = write_errors_file(
            table, {4: ["统一社会信用代码应为18位", "日期不存在：2026年2月30日"], 0: ["文件"]}, target, "xlsx"
        )
    assert written == 2
    sheet = load_workbook(target).active
    assert sheet is not None
    assert [cell.value for cell in sheet[1]] == [*PENALTY_HEADERS, "错误说明"]
    assert sheet["C2"].value == datetime(2026, 3, 5)  # values written back as read
    assert sheet["E2"].value is None
    assert sheet["E3"].value == "统一社会信用代码应为18位；日期不存在：2026年2月30日"
    assert sheet["E3"].fill.fgColor.rgb == "FFFFC7CE"
    assert sheet["A3"].value == "乙公司"


def test_errors_file_replaces_the_column_of_an_earlier_errors_file(tmp_path: Path) -> None:
    first = io.BytesIO()
    with open_table(uploaded(tmp_path)) as table:
        write_errors_file(table, {4: ["旧错误"]}, first, "xlsx")
    second = tmp_path / "again.csv"
    with open_table(first.getvalue(), "upload-errors.xlsx") as table:
        assert table.headers[-1] == "错误说明"
        rows = {row_no: values for row_no, values in table.rows()}
        assert write_errors_file(table, {3: ["新错误"]}, second, "csv") == 2
    assert rows[3][-1] == "旧错误"  # the errors file keeps spreadsheet order, without the empty row
    with open_table(second) as table:
        assert table.headers == [*PENALTY_HEADERS, "错误说明"]
        assert list(table.rows()) == [
            (2, [NAME, USCC, "2026-03-05", "0.5", ""]),
            (3, ["乙公司", "bad", "2026-02-30", "x", "新错误"]),
        ]


TEMPLATE = [
    TemplateColumn("行政相对人名称", "必填", "文本", example=NAME),
    TemplateColumn("统一社会信用代码", "条件必填：法人及非法人组织必填", "18位代码", example=USCC),
    TemplateColumn("处罚决定日期", "必填", "日期，如 2026-03-05", example=date(2026, 3, 5)),
    TemplateColumn("罚款金额（万元）", "选填", "数字，单位万元，最多6位小数", example=Decimal("0.5")),
    TemplateColumn("备注", "选填", "文本"),
]


def test_template_has_a_data_sheet_whose_example_reads_back_and_a_notes_sheet(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path, "行政处罚", TEMPLATE)
    with open_table(path) as table:
        assert table.headers == [column.header for column in TEMPLATE]
        rows = list(table.rows())
    assert len(rows) == 1
    row_no, (name, code, decided, amount, note) = rows[0]
    assert (row_no, name, code, note) == (2, NAME, USCC, None)
    assert parse_date(decided) == date(2026, 3, 5)
    assert parse_decimal(amount) == Decimal("0.5")

    workbook = load_workbook(path)
    assert workbook.sheetnames == ["行政处罚", "填写说明"]
    data = workbook["行政处罚"]
    assert data["A1"].font.b and data["A1"].fill.fgColor.rgb == "FFFFF2CC"  # required
    assert not data["D1"].font.b  # optional
    assert data["B2"].number_format == "@"  # codes typed into the template stay text
    notes = workbook["填写说明"]
    assert "列顺序可以调整" in notes["A1"].value
    assert [cell.value for cell in notes[2]] == ["列名", "是否必填", "格式", "可选值", "说明"]
    assert [notes.cell(row, 1).value for row in range(3, 8)] == [column.header for column in TEMPLATE]
    assert notes["B4"].value == "条件必填：法人及非法人组织必填"


# ---------------------------------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------------------------------


def test_a_20000_row_xlsx_is_streamed_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    numbers = ((i * 0.5, i * 1.5, i / 7, i * 2.5, i + 0.25) for i in range(20_000))
    assert write_xlsx(path, [Sheet("数据", ["a", "b", "c", "d", "e"], numbers)]) == 20_000
    # Holding every row takes at least a list, its item array and five floats per row: 7 memory blocks.
    all_rows_blocks = 20_000 * 7

    # Live allocations (sys.getallocatedblocks: cheap, unlike tracemalloc) while streaming. openpyxl keeps
    # one cleared element per parsed row, so streaming is not zero — about 1.2 blocks per row.
    gc.collect()
    gc.disable()  # no collection in the middle of a reading: the counts stay comparable
    try:
        with open_table(path) as table:
            base = sys.getallocatedblocks()
            peak = count = 0
            last: tuple[int, list[Any]] | None = None
            for row in table.rows():
                count, last = count + 1, row
                if count % 500 == 0:
                    peak = max(peak, sys.getallocatedblocks() - base)
    finally:
        gc.enable()
    assert count == 20_000
    assert last == (20_001, [9999.5, 29998.5, 19999 / 7, 49997.5, 19999.25])
    assert peak < all_rows_blocks / 3, (peak, all_rows_blocks)


def test_time_values_survive_a_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "time.xlsx"
    write_xlsx(path, [Sheet("数据", ["时刻"], [[time(14, 30)]])])
    assert rows_of(path) == [(2, [time(14, 30)])]
