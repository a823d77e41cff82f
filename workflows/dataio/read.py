"""Opening a table file as bureaus really have it: .xlsx from Excel or WPS, .csv in UTF-8 or GBK.

Rows are streamed, never loaded all at once: an import of 100,000 rows must stay within a few hundred MB.

CSV encoding is decided once, before reading: a BOM names it; otherwise the decision is made on up to 1 MB
starting at the first non-ASCII byte (found by scanning on, chunk by chunk, past any ASCII prefix). A file
whose first megabyte is ASCII and whose first Chinese character comes later is therefore judged on that
character, not called UTF-8 because its start happens to be valid UTF-8. Strict UTF-8 wins; otherwise
GB18030 (the superset of GBK/GB2312) when charset-normalizer says so or the bytes decode strictly as
GB18030 into mostly common Chinese characters — charset-normalizer alone calls short GBK files cp949 or
big5. A file that mixes encodings past the sample fails while reading, with the row number.
"""

from __future__ import annotations

import codecs
import csv
import io
import pathlib
import re
import warnings
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, BinaryIO, Protocol
from xml.etree.ElementTree import ParseError, fromstring
from xml.parsers import expat

import charset_normalizer
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException

from workflows.dataio.values import cell_text
from workflows.errors import UserError

SAMPLE_BYTES = 1 << 20  # how much of a CSV decides its encoding
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt")
GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "hz", "hz_gb_2312", "euc_cn", "ms936"}
CHINESE_SHARE = 0.5  # of non-ASCII characters that must be common (GB2312) ones; Latin-1 text scores ~0

_NON_ASCII = re.compile(rb"[\x80-\xff]")
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes kept by errors="surrogateescape"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, or an .xlsx saved with a password
_ZIP_MAGIC = b"PK\x03\x04"
# What openpyxl raises on a file that is not a readable workbook (bad zip, missing parts, broken XML).
_NOT_A_WORKBOOK = (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, ParseError)


class UnsupportedFile(UserError):
    """The file cannot be read as a table (format, encoding, damage); the message says what to do."""


class _Records(Protocol):
    """Every record of the file from its start, numbered as the spreadsheet shows it, empty ones too."""

    def records(self) -> Generator[tuple[int, list[Any]], None, None]: ...

    def close(self) -> None: ...


@dataclass
class Table:
    file_name: str
    format: str  # "xlsx" | "csv"
    headers: list[str]  # header cells as in the file, stripped ("" for an empty header cell)
    header_row: int  # 1-based, as the spreadsheet shows it
    encoding: str | None  # csv: "utf-8-sig", "utf-8", "gb18030" (or "utf-16" with its BOM); xlsx: None
    _source: _Records = field(repr=False, compare=False)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number as the spreadsheet shows it, values aligned with headers — padded with None / cut to
        len(headers)). Fully empty rows are skipped but still counted. Each call re-reads from the start."""
        width = len(self.headers)
        for row_no, values in self._source.records():
            if row_no <= self.header_row or _is_empty(values):
                continue
            yield row_no, (values[:width] + [None] * (width - len(values)))

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_table(source: pathlib.Path | bytes, file_name: str | None = None) -> Table:
    """Open an uploaded .xlsx / .csv (bytes) or a file on disk; the format comes from the file name."""
    if file_name is None:
        if not isinstance(source, pathlib.Path):
            raise TypeError("open_table(bytes) needs file_name to know the format")
        file_name = source.name
    suffix = pathlib.PurePath(file_name).suffix.lower()
    if suffix == ".xls":
        raise UnsupportedFile(
            "暂不支持 .xls 格式，请在 Excel 中另存为 .xlsx 或 .csv 后重新上传。",
            "Old .xls files are not supported: save the file as .xlsx or .csv in Excel and upload it again.",
        )
    reader: _Records
    if suffix in XLSX_SUFFIXES:
        fmt, encoding, reader = "xlsx", None, _XlsxRecords(source)
    elif suffix in CSV_SUFFIXES:
        csv_reader = _CsvRecords(source)
        fmt, encoding, reader = "csv", csv_reader.encoding, csv_reader
    else:
        shown = suffix or "无扩展名"
        raise UnsupportedFile(
            f"不支持的文件格式（{shown}），请上传 .xlsx 或 .csv 文件（.txt 按 CSV 读取）。",
            f"Unsupported file type ({suffix or 'no extension'}): upload an .xlsx or .csv file "
            "(.txt is read as CSV).",
        )
    try:
        header_row, headers = _find_header(reader)
    except BaseException:
        reader.close()
        raise
    return Table(file_name, fmt, headers, header_row, encoding, reader)


# ---------------------------------------------------------------------------------------------------


def _is_empty(values: list[Any]) -> bool:
    return all(cell_text(value) == "" for value in values)


def _find_header(reader: _Records) -> tuple[int, list[str]]:
    """The first non-empty record; trailing empty header cells are dropped (styled but unused columns)."""
    records = reader.records()
    try:
        for row_no, values in records:
            if not _is_empty(values):
                headers = [cell_text(value) for value in values]
                while headers and headers[-1] == "":
                    headers.pop()
                return row_no, headers
    finally:
        records.close()
    raise UnsupportedFile("文件是空的：没有找到表头行。", "The file is empty: no header row was found.")


def _read_head(source: pathlib.Path | bytes, size: int) -> bytes:
    if isinstance(source, bytes):
        return source[:size]
    with source.open("rb") as stream:
        return stream.read(size)


class _SheetIndex(ExcelReader):
    """openpyxl's reader for everything but the worksheets, which it only lists: opening a read-only
    worksheet makes openpyxl scan it for its size, and a sheet written without a <dimension> is then read
    in full just to be opened (bench/import.py: half the time of a 100,000-row import)."""

    sheets: list[tuple[str, str]]  # (state, path in the zip), in workbook order

    def read_worksheets(self) -> None:
        self.sheets = [
            (sheet.state or "visible", rel.target)
            for sheet, rel in self.parser.find_sheets()
            if rel.target in self.valid_files and "chartsheet" not in rel.Type
        ]


class _XlsxRecords:
    """The first visible worksheet, streamed: openpyxl reads the workbook's parts (sheets, shared
    strings, styles), the cells are read by _fast_rows."""

    def __init__(self, source: pathlib.Path | bytes) -> None:
        head = _read_head(source, len(_OLE_MAGIC))
        if head == _OLE_MAGIC:
            raise UnsupportedFile(
                "文件是旧版 .xls 格式或设置了打开密码，请在 Excel 中取消密码并另存为 .xlsx 后重新上传。",
                "The file is an old .xls file or is password-protected: remove the password, save it as "
                ".xlsx in Excel and upload it again.",
            )
        # Our own handle: openpyxl refuses paths whose name does not end in .xlsx (uploads are temp files).
        self._stream: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
        try:
            with warnings.catch_warnings():
                # WPS and other writers trigger "extension not supported" warnings that say nothing to us.
                warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
                self._reader = _SheetIndex(self._stream, read_only=True, data_only=True)
                self._reader.read()
        except _NOT_A_WORKBOOK as exc:
            self._stream.close()
            raise _not_excel() from exc
        sheets = self._reader.sheets
        if not sheets:
            self.close()
            raise UnsupportedFile("文件中没有工作表。", "The workbook has no worksheet.")
        self._sheet_path = next((path for state, path in sheets if state == "visible"), sheets[0][1])

    def records(self) -> Generator[tuple[int, list[Any]], None, None]:
        row_no = 0
        try:
            for row_no, values in _fast_rows(self._reader, self._sheet_path):
                yield row_no, values
        except (*_NOT_A_WORKBOOK, expat.ExpatError) as exc:
            raise UnsupportedFile(
                f"文件在第{row_no + 1}行附近已损坏，无法读取，请在 Excel 中另存为 .xlsx 后重新上传。",
                f"The file is damaged near row {row_no + 1}: save it again as .xlsx in Excel and re-upload.",
            ) from exc

    def close(self) -> None:
        self._reader.archive.close()
        self._stream.close()


# -- the worksheet's cells, streamed ----------------------------------------------------------------
# openpyxl opens the workbook (sheets, shared strings, which styles are dates); the cells themselves are
# read here. openpyxl's own cell loop builds objects per cell and took 105 s for 100,000 rows x 25
# columns on this machine; the pattern below about a twelfth of that (bench/import.py). Should
# openpyxl's internals we lean on move, the tests of workflows/dataio fail loudly (pinned to 3.1).

_CHUNK = 1 << 16


def _column_number(ref: str) -> int:
    """0-based column of a cell reference ("AB12" → 27)."""
    n = 0
    for ch in ref:
        code = ord(ch)
        if 65 <= code <= 90:
            n = n * 26 + code - 64
        else:
            break
    return n - 1


def _fast_rows(reader: ExcelReader, path: str) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cell values) of one worksheet; values as openpyxl gives them (dates by cell style)."""
    cells = _Cells(reader)
    with reader.archive.open(path) as stream:
        head = stream.read(_CHUNK)
    # <x:row>, or text written as character references (&#21015;): expat decodes those in C.
    if _PREFIXED.search(head) or head.count(b"&#") > _REFERENCES_IN_HEAD:
        yield from _expat_rows(reader, path, cells)
    else:
        yield from _pattern_rows(reader, path, cells)


class _Cells:
    """A cell's value from its type, style and text, as openpyxl reads it."""

    def __init__(self, reader: ExcelReader) -> None:
        self.shared, self.dates, self.epoch = reader.shared_strings, reader.wb._date_formats, reader.wb.epoch

    def value(self, kind: str | None, style: str | None, raw: str | None) -> Any:
        if raw is None:
            return None
        if kind is None or kind == "n":
            number = float(raw) if "." in raw or "E" in raw or "e" in raw else int(raw)
            return (
                from_excel(number, self.epoch) if style is not None and int(style) in self.dates else number
            )
        if kind == "s":
            return self.shared[int(raw)]
        if kind == "b":
            return raw == "1"
        if kind == "d":
            return datetime.fromisoformat(raw)
        return raw  # inlineStr, str (a formula's text), e (an error such as #N/A)


# The cells as Excel, WPS, openpyxl and our own writer write them, matched whole in C: a third of the time
# of one callback per element (bench/import.py). A row with anything else in it (a formula, rich text, an
# attribute we do not know) is read by ElementTree instead; a sheet with prefixed names by expat.
_PREFIXED = re.compile(rb"<\w+:(?:row|c)\b")
_REFERENCES_IN_HEAD = 64
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name[0] != "#":
        return _NAMED[name]
    return chr(int(name[2:], 16) if name[1] == "x" else int(name[1:]))


_ROW = re.compile(rb"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_CELL = re.compile(
    rb'<c r="([A-Z]+)\d+"(?: s="(\d+)")?(?: t="(\w+)")?(?: s="(\d+)")?\s*'
    rb'(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)?</c>)'
)


def _pattern_rows(reader: ExcelReader, path: str, cells: _Cells) -> Iterator[tuple[int, list[Any]]]:
    counter = 0
    pending = b""
    with reader.archive.open(path) as stream:
        while chunk := stream.read(_CHUNK * 16):
            pending += chunk
            used = 0
            for match in _ROW.finditer(pending):
                number = _ROW_NUMBER.search(match.group(1))
                counter = int(number.group(1)) if number else counter + 1
                body = match.group(2) or b""
                values = _pattern_cells(body, cells)
                yield counter, values if values is not None else _element_cells(match.group(0), cells)
                used = match.end()
            pending = pending[used:]


def _pattern_cells(body: bytes, cells: _Cells) -> list[Any] | None:
    """The cells of a row, or None when something in it is not a plain cell."""
    values: list[Any] = []
    at = 0
    for match in _CELL.finditer(body):
        if match.start() != at:
            return None
        at = match.end()
        column, style, kind, style_after, number, text = match.groups()
        raw = number if number is not None else text
        if raw is not None:
            raw = raw.decode()
            if "&" in raw:
                raw = _ENTITY.sub(_entity, raw)
        position = _column_number(column.decode())
        if position > len(values):
            values.extend([None] * (position - len(values)))
        values.append(
            cells.value(
                kind and kind.decode(), (style or style_after) and (style or style_after).decode(), raw
            )
        )
    return values if at == len(body) else None


def _element_cells(row_xml: bytes, cells: _Cells) -> list[Any]:
    """One row through ElementTree: any cell form the pattern does not know."""
    values: list[Any] = []
    for cell in fromstring(row_xml):
        if cell.tag != "c":
            continue
        v = cell.find("v")
        raw = v.text if v is not None else ("".join(t.text or "" for t in cell.iter("t")) or None)
        if cell.get("t") == "inlineStr" and raw is None:
            raw = ""
        ref = cell.get("r")
        if ref is not None:
            position = _column_number(ref)
            if position > len(values):
                values.extend([None] * (position - len(values)))
        values.append(cells.value(cell.get("t"), cell.get("s"), raw))
    return values


def _expat_rows(reader: ExcelReader, path: str, cells: _Cells) -> Iterator[tuple[int, list[Any]]]:
    done: list[tuple[int, list[Any]]] = []  # rows completed by the last chunk fed to the parser
    values: list[Any] = []
    text: list[str] = []
    cell: dict[str, Any] = {}
    state = {"row": 0, "collect": False}

    def start(name: str, attrs: dict[str, str]) -> None:
        name = name.rpartition(":")[2]  # some writers prefix the main namespace (<x:c>)
        if name == "c":
            cell.clear()
            cell.update(attrs)
            text.clear()
        elif name == "v" or name == "t":
            state["collect"] = True
        elif name == "row":
            number = attrs.get("r")
            state["row"] = int(number) if number is not None else state["row"] + 1

    def end(name: str) -> None:
        nonlocal values
        name = name.rpartition(":")[2]
        if name == "v" or name == "t":
            state["collect"] = False
        elif name == "c":
            ref = cell.get("r")
            if ref is not None:
                column = _column_number(ref)
                if column > len(values):
                    values.extend([None] * (column - len(values)))
            values.append(cells.value(cell.get("t"), cell.get("s"), "".join(text) if text else None))
        elif name == "row":
            done.append((state["row"], values))
            values = []

    def chars(data: str) -> None:
        if state["collect"]:
            text.append(data)

    parser = expat.ParserCreate(namespace_separator=None)
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    with reader.archive.open(path) as stream:
        while chunk := stream.read(_CHUNK):
            parser.Parse(chunk, False)
            yield from done
            done.clear()
        parser.Parse(b"", True)
        yield from done


def _not_excel() -> UnsupportedFile:
    return UnsupportedFile(
        "文件无法以 Excel 格式打开：文件可能已损坏，或并不是 .xlsx 文件。请在 Excel 中另存为 .xlsx 后重新上传。",
        "The file cannot be opened as an Excel workbook: it may be damaged or not an .xlsx file. "
        "Save it as .xlsx in Excel and upload it again.",
    )


class _CsvRecords:
    """A delimited text file, re-opened for each pass; the csv module streams it record by record."""

    def __init__(self, source: pathlib.Path | bytes) -> None:
        self._source = source
        with self._binary() as stream:
            if stream.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC:
                raise UnsupportedFile(
                    "文件内容是 Excel 工作簿而不是 CSV，请把扩展名改为 .xlsx 后重新上传。",
                    "The file is an Excel workbook, not CSV: rename it to .xlsx and upload it again.",
                )
            stream.seek(0)
            self.encoding = _detect_encoding(stream)
        self.delimiter = self._delimiter()

    def records(self) -> Generator[tuple[int, list[Any]], None, None]:
        row_no = 0
        with self._text() as text:
            try:
                # Record numbers, not line numbers: a quoted field with line breaks is one spreadsheet row.
                for row_no, values in enumerate(csv.reader(text, delimiter=self.delimiter), start=1):
                    if _UNDECODED.search("".join(values)):
                        raise UnsupportedFile(
                            f"第{row_no}行有无法按 {self.encoding} 编码读取的文字（文件可能混用了多种编码），"
                            "请另存为 UTF-8 或 GBK 编码的 CSV 后重新上传。",
                            f"Row {row_no} has text that is not valid {self.encoding}: save the file as UTF-8 or "
                            "GBK CSV and upload it again.",
                        )
                    yield row_no, values
            except csv.Error as exc:
                raise UnsupportedFile(
                    f"第{row_no + 1}行附近的格式无法识别（可能有未配对的引号）：{exc}",
                    f"Row {row_no + 1} cannot be read (perhaps an unmatched quote): {exc}",
                ) from exc

    def close(self) -> None:
        """Nothing stays open between passes."""

    def _binary(self) -> IO[bytes]:
        if isinstance(self._source, bytes):
            return io.BytesIO(self._source)
        return self._source.open("rb")

    def _text(self) -> IO[str]:
        # surrogateescape: bytes the encoding cannot read arrive as U+DC80–U+DCFF, found with their row number
        if isinstance(self._source, bytes):
            binary = io.BytesIO(self._source)
            return io.TextIOWrapper(binary, encoding=self.encoding, errors="surrogateescape", newline="")
        return self._source.open(encoding=self.encoding, errors="surrogateescape", newline="")

    def _delimiter(self) -> str:
        """Comma; tab or semicolon when the header line has none of those but has them (Sniffer guesses)."""
        with self._text() as text:
            line = next((line for line in text if line.strip()), "")
        if "," in line:
            return ","
        tabs, semicolons = line.count("\t"), line.count(";")
        if tabs or semicolons:
            return "\t" if tabs >= semicolons else ";"
        return ","


def _detect_encoding(stream: BinaryIO | IO[bytes]) -> str:
    """The encoding of a CSV read from the stream's start (see the module docstring for the approach)."""
    head = stream.read(3)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" export (tab-separated)
    stream.seek(0)
    start = _first_non_ascii(stream)
    if start is None:
        return "utf-8"  # pure ASCII reads the same in every candidate
    stream.seek(start)
    sample = stream.read(SAMPLE_BYTES)
    complete = not stream.read(1)  # the sample reaches the end: a cut multi-byte sequence is an error
    if _decodes(sample, "utf-8", complete):
        return "utf-8"
    best = charset_normalizer.from_bytes(sample).best()
    if best is not None and best.encoding.lower() in GB_FAMILY:
        return "gb18030"
    if _decodes(sample, "gb18030", complete) and _looks_chinese(sample):
        return "gb18030"
    raise UnsupportedFile(
        "无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV 后重新上传。",
        "The file's text encoding is not recognised: save it as a UTF-8 or GBK encoded CSV and upload again.",
    )


def _first_non_ascii(stream: BinaryIO | IO[bytes]) -> int | None:
    offset = 0
    while chunk := stream.read(SAMPLE_BYTES):
        if not chunk.isascii():
            match = _NON_ASCII.search(chunk)
            assert match is not None
            return offset + match.start()
        offset += len(chunk)
    return None


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _looks_chinese(sample: bytes) -> bool:
    """At least half the non-ASCII characters are common Chinese (GB2312), not rare ones any bytes map to."""
    text = codecs.getincrementaldecoder("gb18030")("strict").decode(sample[:65536], final=False)
    others = [ch for ch in text if not ch.isascii()]
    common = sum(1 for ch in others if _in_gb2312(ch))
    return bool(others) and common >= CHINESE_SHARE * len(others)


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True
