"""The monthly 对象清单 / 成效清单 as files: an XLSX workbook (openpyxl) with a PNG chart (matplotlib), and
a short text for a chat message. No database: everything comes from a workflows.monthly_lists.MonthlyLists.

The chart is drawn with matplotlib's object API (Figure + the Agg canvas), not pyplot: no global backend
switch, no figure registry to leak into, nothing to close."""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from workflows.clock import to_local

if TYPE_CHECKING:  # matplotlib loads when a chart is drawn: the bot and the CLI start a second faster
    from matplotlib.figure import Figure
    from openpyxl.worksheet.worksheet import Worksheet  # openpyxl too (numpy, Pillow): when a file is made
from workflows.monthly_lists import (
    BROKEN,
    CHART_SERIES,
    CORRECTED,
    DESIGNATION_CATEGORIES,
    INTERVIEWED,
    KEPT,
    LATE,
    ON_TIME,
    OVERDUE,
    PUNISH,
    REPAIRED,
    REWARD,
    DesignationRow,
    MonthlyLists,
    ResultRow,
)

log = logging.getLogger(__name__)

# Looked for in this order; the first one matplotlib knows is used.
CJK_FONT_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans SC",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)
CJK_FONT_PACKAGE = "fonts-noto-cjk"  # Debian / Ubuntu

# Without a CJK font the chart speaks English rather than draw empty boxes.
ENGLISH_SERIES = {
    REWARD: "Trust rewards",
    PUNISH: "Dishonesty sanctions",
    REPAIRED: "Repairs approved",
    CORRECTED: "Objections corrected",
    INTERVIEWED: "Interviews held",
    BROKEN: "Commitments breached",
}
# The chat's summary in English names every category (the workbook is the bureau's: Chinese).
ENGLISH_CATEGORIES = ENGLISH_SERIES | {
    KEPT: "Commitments kept",
    ON_TIME: "Closed on time",
    LATE: "Closed late",
    OVERDUE: "Still overdue",
}
ENGLISH_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

UNITS = {REWARD: "条", PUNISH: "条", INTERVIEWED: "次"}  # everything else: 件

SHEET_SUMMARY, SHEET_DESIGNATIONS, SHEET_RESULTS = "汇总", "对象清单", "成效清单"
CHART_PIXELS = (760, 380)  # as shown on the 汇总 sheet


@functools.cache
def find_cjk_font() -> str | None:
    """The family name of an installed font that has Chinese glyphs, or None."""
    from matplotlib import font_manager

    available = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FONT_FAMILIES if family in available), None)


_warned_no_cjk_font = False


def chart_font() -> str | None:
    """find_cjk_font(), warning once per process when there is none."""
    global _warned_no_cjk_font
    family = find_cjk_font()
    if family is None and not _warned_no_cjk_font:
        _warned_no_cjk_font = True
        log.warning(
            "No CJK font found (tried %s): the monthly chart is drawn with English labels. "
            "Install the Debian package %s for Chinese labels.",
            ", ".join(CJK_FONT_FAMILIES),
            CJK_FONT_PACKAGE,
        )
    return family


def chart_title(lists: MonthlyLists, *, chinese: bool = True) -> str:
    return f"{lists.year}年 信用工作月度成效" if chinese else f"{lists.year}: monthly results of credit work"


def chart_figure(lists: MonthlyLists, font_family: str | None) -> Figure:
    """Grouped bars, one group per month from January to lists.month, one bar per CHART_SERIES.
    font_family None: English labels (no CJK font to draw Chinese with)."""
    from matplotlib import font_manager
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    chinese = font_family is not None
    fontprops = font_manager.FontProperties(family=font_family) if chinese else None
    months = list(range(1, lists.month + 1))
    fig = Figure(figsize=(10, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / len(CHART_SERIES)
    for i, series in enumerate(CHART_SERIES):
        offsets = [m + (i - (len(CHART_SERIES) - 1) / 2) * width for m in months]
        counts = lists.by_month[series][: lists.month]
        ax.bar(offsets, counts, width, label=series if chinese else ENGLISH_SERIES[series])
    ax.set_xticks(months)
    ax.set_xticklabels(
        [f"{m}月" if chinese else ENGLISH_MONTHS[m - 1] for m in months], fontproperties=fontprops
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(1, *(max(lists.by_month[s]) for s in CHART_SERIES)) * 1.1)
    ax.set_ylabel("件数" if chinese else "Count", fontproperties=fontprops)
    ax.set_title(chart_title(lists, chinese=chinese), fontproperties=fontprops, fontsize=14)
    ax.grid(axis="y", alpha=0.3)
    legend_font = font_manager.FontProperties(family=font_family, size="small") if chinese else None
    fig.legend(prop=legend_font, fontsize="small", ncols=3, loc="outside lower center")
    return fig


def chart_png(lists: MonthlyLists) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = chart_figure(lists, chart_font())
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------------------------------

DATE_FORMAT = "yyyy-mm-dd"
MAX_WIDTH = 60


def _display_width(value: object) -> int:
    text = value.isoformat() if isinstance(value, date) else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)  # CJK characters take two columns


def _write_table(ws: Worksheet, top: int, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    from openpyxl.styles import Font

    for c, header in enumerate(headers, 1):
        ws.cell(top, c, header).font = Font(bold=True)
    for r, row in enumerate(rows, top + 1):
        for c, value in enumerate(row, 1):
            cell = ws.cell(r, c, value)
            if isinstance(value, date):
                cell.number_format = DATE_FORMAT


def _fit_columns(ws: Worksheet, rows: Sequence[Sequence[object]]) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    widths: dict[int, int] = {}
    for row in rows:
        for c, value in enumerate(row, 1):
            widths[c] = max(widths.get(c, 0), _display_width(value))
    for c, width in widths.items():
        ws.column_dimensions[get_column_letter(c)].width = min(width + 2, MAX_WIDTH)
        if width + 2 > MAX_WIDTH:
            for (cell,) in ws.iter_rows(min_col=c, max_col=c, min_row=2):
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def _list_sheet(
    ws: Worksheet, headers: Sequence[str], rows: Sequence[DesignationRow] | Sequence[ResultRow]
) -> None:
    from openpyxl.utils import get_column_letter

    cells = [row.cells() for row in rows] or [("本月无记录",)]
    _write_table(ws, 1, headers, cells)
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    _fit_columns(ws, [headers, *(row.cells() for row in rows)])


def _summary_sheet(ws: Worksheet, lists: MonthlyLists, png: bytes, made_at: datetime | None) -> None:
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Font

    ws["A1"] = f"{lists.year}年{lists.month}月 信用工作月度清单（对象清单、成效清单）"
    ws["A1"].font = Font(bold=True, size=14)
    made = f"，生成于 {to_local(made_at):%Y-%m-%d %H:%M}" if made_at is not None else ""
    ws["A2"] = (
        f"统计月份：{lists.year}年{lists.month}月（北京时间）；"
        f"数据截至 {lists.as_of}，期限超期统计截至 {lists.counted_to}{made}"
    )
    counts = [
        ("对象清单" if category in DESIGNATION_CATEGORIES else "成效清单", category, count)
        for category, count in lists.summary.items()
    ]
    _write_table(ws, 4, ("清单", "类别", "数量"), counts)
    by_month_top = 4 + len(counts) + 2
    ws.cell(by_month_top, 1, f"逐月统计（{lists.year}年1月至{lists.month}月）").font = Font(bold=True)
    month_headers = ["类别", *(f"{m}月" for m in range(1, lists.month + 1))]
    month_rows = [[series, *lists.by_month[series][: lists.month]] for series in CHART_SERIES]
    _write_table(ws, by_month_top + 1, month_headers, month_rows)
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 8
    image = Image(io.BytesIO(png))
    image.width, image.height = CHART_PIXELS
    ws.add_image(image, f"A{by_month_top + len(month_rows) + 3}")


def workbook_bytes(lists: MonthlyLists, *, made_at: datetime | None = None) -> bytes:
    """Sheets 汇总 (counts, the month-by-month table and the chart), 对象清单, 成效清单.
    made_at: when the file is made (aware), shown on 汇总; pass the injected clock's now."""
    from openpyxl import Workbook

    wb = Workbook()
    summary = wb.active
    assert summary is not None  # a new workbook has one sheet
    summary.title = SHEET_SUMMARY
    _summary_sheet(summary, lists, chart_png(lists), made_at)
    _list_sheet(wb.create_sheet(SHEET_DESIGNATIONS), DesignationRow.HEADERS, lists.designations)
    _list_sheet(wb.create_sheet(SHEET_RESULTS), ResultRow.HEADERS, lists.results)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def file_name(lists: MonthlyLists, lang: str = "zh") -> str:
    if lang == "en":
        return f"credit-work-monthly-lists_{lists.year}-{lists.month:02d}.xlsx"
    return f"信用工作月度清单_{lists.year}年{lists.month:02d}月.xlsx"


# ---------------------------------------------------------------------------------------------------
# Chat text
# ---------------------------------------------------------------------------------------------------


def _counted(lists: MonthlyLists, category: str, shown: str | None = None) -> str:
    return f"{shown or category} {lists.summary[category]} {UNITS.get(category, '件')}"


def summary_text(lists: MonthlyLists, lang: str = "zh") -> str:
    """The month's counts for a chat message (its first line is the title)."""
    if lang == "en":
        return _summary_en(lists)
    s = lists.summary
    lines = [
        f"{lists.year}年{lists.month}月 信用工作月度清单",
        f"对象清单：{_counted(lists, REWARD)}，{_counted(lists, PUNISH)}",
        "成效清单："
        + "，".join(_counted(lists, c) for c in (REPAIRED, CORRECTED, INTERVIEWED, KEPT, BROKEN)),
        f"办理期限：{_counted(lists, ON_TIME, '按时办结')}，{_counted(lists, LATE, '超期办结')}，"
        f"{_counted(lists, OVERDUE, '超期未办')}（截至 {lists.counted_to}）",
    ]
    if not any(s.values()):
        lines.append("本月没有需要列入清单的事项。")
    return "\n".join(lines)


def _summary_en(lists: MonthlyLists) -> str:
    def counted(*categories: str) -> str:
        return ", ".join(f"{ENGLISH_CATEGORIES[c].lower()} {lists.summary[c]}" for c in categories)

    lines = [
        f"Monthly lists of credit work, {lists.year}-{lists.month:02d}",
        f"Subjects list: {counted(REWARD, PUNISH)}",
        f"Results list: {counted(REPAIRED, CORRECTED, INTERVIEWED, KEPT, BROKEN)}",
        f"Deadlines: {counted(ON_TIME, LATE, OVERDUE)} (to {lists.counted_to})",
    ]
    if not any(lists.summary.values()):
        lines.append("Nothing to list this month.")
    return "\n".join(lines)
