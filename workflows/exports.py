"""Out: penalty decisions in the national 双公示 layout for upload to the provincial platform — the very
columns the import reads (workflows/imports/penalties.py), so import → export → import changes nothing.

Rows are read in keyset pages and handed to the (synchronous, streaming) file writer in a thread through a
small queue: 100,000 records never sit in memory at once (bench/import.py measures it)."""

from __future__ import annotations

import asyncio
import json
import pathlib
import queue
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import String, cast, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CreditRecord, RecordKind, RecordStatus, Subject
from workflows.clock import to_local
from workflows.errors import UserError
from workflows.imports.columns import SEVERITY_LABELS
from workflows.imports.penalties import COLUMNS, LEGACY_CODES

HEADERS = [c.header for c in COLUMNS]
PAGE = 2000
STATUSES = {"all": None, **{s.value: s for s in RecordStatus}}
PROCEDURE_NAMES = {"简易": "简易程序", "一般": "一般程序"}


# What the query reads, in the order the layout shows it (subject first, then the record).
SUBJECT_COLUMNS = ("name", "category", "uscc", "codes", "legal_rep", "id_number")
RECORD_COLUMNS = (
    "decision_no", "violation_type", "facts", "basis", "penalty_type", "content", "fine_wan", "confiscated_wan",
    "licence_affected", "decision_date", "valid_until", "publicity_end", "authority", "authority_code",
    "data_source", "data_source_code", "remarks", "procedure", "severity", "published_at",
)  # fmt: skip
assert [c.key for c in COLUMNS][13:30] == list(RECORD_COLUMNS[:17]), "the layout moved: fix penalty_row"


def penalty_row(row: tuple[Any, ...], codes: dict[str, Any]) -> list[Any]:
    """One record as the national layout has it (column order = COLUMNS), from a query row
    (SUBJECT_COLUMNS then RECORD_COLUMNS) and the subject's legacy codes."""
    name, category, uscc, _codes, legal_rep, id_number = row[:6]
    record = row[6:]
    person = category == "自然人"
    out = [
        name,
        category or ("自然人" if person else "法人及非法人组织"),
        None if person else uscc,
        *(codes.get(key) for key, _, _ in LEGACY_CODES),
        legal_rep,
        codes.get("legal_rep_id_type"),
        codes.get("legal_rep_id_number"),
        codes.get("id_type") or ("身份证" if person else None),
        id_number if person else None,
        *record[:17],
        PROCEDURE_NAMES.get(record[17] or ""),
        SEVERITY_LABELS.get(record[18]),
        to_local(record[19]).date() if record[19] else None,
    ]
    return [None if value == "" else value for value in out]


async def penalty_pages(
    session: AsyncSession, *, start: date, end: date, status: str = "all", page: int = PAGE
) -> AsyncIterator[list[list[Any]]]:
    """Decisions from `start` to `end` (inclusive), oldest first, a page at a time from one streamed
    query (keyset pages made SQLite range-scan the date index once per page: 14 s for 100,000 rows).
    Plain tuples, not ORM objects or mappings: building those was half the export's time."""
    if status not in STATUSES:
        raise UserError(f"状态应为 {'、'.join(STATUSES)} 之一。")
    wanted = STATUSES[status]
    records, subjects = CreditRecord.__table__, Subject.__table__  # type: ignore[attr-defined]
    # The legacy codes as their JSON text: most subjects have none, and a text is decoded once.
    columns = [subjects.c[k] if k != "codes" else cast(subjects.c.codes, String) for k in SUBJECT_COLUMNS] + [
        records.c[k] for k in RECORD_COLUMNS
    ]
    stmt = (
        select(*columns)
        .join_from(records, subjects, subjects.c.id == records.c.subject_id)
        .where(
            records.c.kind == RecordKind.PENALTY,
            records.c.decision_date >= start,
            records.c.decision_date <= end,
        )
        .order_by(records.c.decision_date, records.c.id)
    )
    if wanted is not None:
        stmt = stmt.where(records.c.status == wanted)
    decoded: dict[str | None, dict[str, Any]] = {None: {}}
    result = await (await session.connection()).stream(stmt)
    async for rows in result.partitions(page):
        page_rows = []
        for row in rows:
            text = row[3]
            codes = decoded.get(text)
            if codes is None:
                codes = decoded[text] = json.loads(text) or {}
            page_rows.append(penalty_row(tuple(row), codes))
        yield page_rows


async def stream_to_writer(
    pages: AsyncIterator[list[list[Any]]], write: Callable[[Iterable[list[Any]]], int]
) -> int:
    """Feed async pages to a blocking writer running in a thread; returns what the writer returns."""
    handoff: queue.Queue[list[list[Any]] | None] = queue.Queue(maxsize=4)

    def rows() -> Iterator[list[Any]]:
        while (chunk := handoff.get()) is not None:
            yield from chunk

    writer = asyncio.ensure_future(asyncio.to_thread(write, rows()))
    try:
        async for chunk in pages:
            while not writer.done():
                try:
                    handoff.put_nowait(chunk)
                    break
                except queue.Full:
                    await asyncio.sleep(0.005)
            if writer.done():
                break  # the writer failed: its error is raised below
    finally:
        while not writer.done():
            try:
                handoff.put_nowait(None)
                break
            except queue.Full:
                await asyncio.sleep(0.005)
    return await writer


async def export_penalties(
    session: AsyncSession,
    target: pathlib.Path,
    *,
    start: date,
    end: date,
    status: str = "all",
    encoding: str = "utf-8-sig",
) -> int:
    """Write the 双公示 file (.xlsx or .csv by the target's suffix); returns the rows written."""
    if end < start:
        raise UserError("结束日期早于开始日期。")
    suffix = target.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UserError("导出文件名应以 .xlsx 或 .csv 结尾。")
    from workflows.dataio.write import Sheet, write_csv, write_xlsx  # openpyxl (numpy, Pillow): on use

    pages = penalty_pages(session, start=start, end=end, status=status)
    if suffix == ".csv":
        return await stream_to_writer(pages, lambda rows: write_csv(target, HEADERS, rows, encoding=encoding))
    return await stream_to_writer(pages, lambda rows: write_xlsx(target, [Sheet("行政处罚", HEADERS, rows)]))
