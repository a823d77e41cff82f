"""Out: penalty decisions in the national 双公示 layout for upload to the provincial platform — the very
columns the import reads (workflows/imports/penalties.py), so import → export → import changes nothing.

Rows are read in keyset pages and handed to the (synchronous, streaming) file writer in a thread through a
small queue: 100,000 records never sit in memory at once (bench/import.py measures it)."""

from __future__ import annotations

import asyncio
import pathlib
import queue
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import date
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CreditRecord, RecordKind, RecordStatus, Subject
from workflows.clock import to_local
from workflows.dataio.write import Sheet, write_csv, write_xlsx
from workflows.errors import UserError
from workflows.imports.columns import SEVERITY_LABELS
from workflows.imports.penalties import COLUMNS, LEGACY_CODES

HEADERS = [c.header for c in COLUMNS]
PAGE = 2000
STATUSES = {"all": None, **{s.value: s for s in RecordStatus}}
PROCEDURE_NAMES = {"简易": "简易程序", "一般": "一般程序"}


def penalty_row(record: CreditRecord, subject: Subject) -> list[Any]:
    """One record as the national layout has it (column order = COLUMNS)."""
    person = subject.category == "自然人"
    codes = subject.codes or {}
    values: dict[str, Any] = {
        "name": subject.name,
        "category": subject.category or ("自然人" if person else "法人及非法人组织"),
        "uscc": None if person else subject.uscc,
        **{key: codes.get(key) for key, _, _ in LEGACY_CODES},
        "legal_rep": subject.legal_rep,
        "legal_rep_id_type": codes.get("legal_rep_id_type"),
        "legal_rep_id_number": codes.get("legal_rep_id_number"),
        "id_type": codes.get("id_type") or ("身份证" if person else None),
        "id_number": subject.id_number if person else None,
        "decision_no": record.decision_no,
        "violation_type": record.violation_type,
        "facts": record.facts,
        "basis": record.basis,
        "penalty_type": record.penalty_type,
        "content": record.content,
        "fine_wan": record.fine_wan,
        "confiscated_wan": record.confiscated_wan,
        "licence_affected": record.licence_affected,
        "decision_date": record.decision_date,
        "valid_until": record.valid_until,
        "publicity_end": record.publicity_end,
        "authority": record.authority,
        "authority_code": record.authority_code,
        "data_source": record.data_source,
        "data_source_code": record.data_source_code,
        "remarks": record.remarks,
        "procedure": PROCEDURE_NAMES.get(record.procedure or ""),
        "severity": SEVERITY_LABELS.get(record.severity),
        "published_on": to_local(record.published_at).date() if record.published_at else None,
    }
    return [values[c.key] if values[c.key] != "" else None for c in COLUMNS]


async def penalty_pages(
    session: AsyncSession, *, start: date, end: date, status: str = "all", page: int = PAGE
) -> AsyncIterator[list[list[Any]]]:
    """Decisions from `start` to `end` (inclusive), oldest first, a page at a time (keyset on id)."""
    if status not in STATUSES:
        raise UserError(f"状态应为 {'、'.join(STATUSES)} 之一。")
    wanted = STATUSES[status]
    after = 0
    while True:
        stmt = (
            select(CreditRecord, Subject)
            .join(Subject, col(Subject.id) == col(CreditRecord.subject_id))
            .where(
                CreditRecord.kind == RecordKind.PENALTY,
                col(CreditRecord.decision_date) >= start,
                col(CreditRecord.decision_date) <= end,
                col(CreditRecord.id) > after,
            )
            .order_by(col(CreditRecord.id))
            .limit(page)
        )
        if wanted is not None:
            stmt = stmt.where(CreditRecord.status == wanted)
        rows = (await session.exec(stmt)).all()
        if not rows:
            return
        yield [penalty_row(record, subject) for record, subject in rows]
        after = rows[-1][0].id or after
        session.expunge_all()  # keep the identity map from growing with every page
        if len(rows) < page:
            return


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
    pages = penalty_pages(session, start=start, end=end, status=status)
    if suffix == ".csv":
        return await stream_to_writer(pages, lambda rows: write_csv(target, HEADERS, rows, encoding=encoding))
    return await stream_to_writer(pages, lambda rows: write_xlsx(target, [Sheet("行政处罚", HEADERS, rows)]))
