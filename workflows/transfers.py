"""Every import and export of a file is written down: a DataTransfer row (who, which file by name and
SHA-256, what it did) and an audit-log entry, in the same transaction as the data (issue #8)."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models import DataTransfer
from workflows.audit import log_change
from workflows.calendar import WorkdayCalendar
from workflows.errors import UserError
from workflows.imports import ImportResult, kind_named, run_import
from workflows.imports.runner import file_sha256


async def record_transfer(
    session: AsyncSession,
    *,
    direction: str,
    kind: str,
    file_name: str,
    sha256: str,
    status: str,
    counts: dict[str, Any],
    actor: str,
    now: datetime,
    content: bytes | None = None,
) -> DataTransfer:
    row = DataTransfer(
        direction=direction,
        kind=kind,
        file_name=file_name[:255],
        sha256=sha256,
        status=status,
        counts=counts,
        actor=actor,
        content=content,
        created_at=now,
        finished_at=now if content is None else None,
    )
    session.add(row)
    await session.flush()
    await log_change(
        session,
        actor=actor,
        action=f"data.{direction}",
        entity="data_transfer",
        entity_id=row.id,
        after={
            "kind": kind,
            "file_name": row.file_name,
            "sha256": sha256,
            "status": status,
            "counts": counts,
        },
    )
    return row


async def import_file(
    session: AsyncSession,
    kind: str,
    source: pathlib.Path | bytes,
    file_name: str,
    *,
    actor: str,
    now: datetime,
    today: date,
    calendar: WorkdayCalendar,
    notify: bool = False,
    dry_run: bool = False,
    keep_content: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[ImportResult, DataTransfer]:
    """Check and import a file in the caller's transaction, and write down that it happened.
    `keep_content`: a chat upload keeps its bytes until 确认导入 (a clean check, not yet imported)."""
    import_kind = kind_named(kind)
    # Written first: its id marks every row the import creates ("import:<id>").
    transfer = DataTransfer(
        direction="import",
        kind=kind,
        file_name=file_name[:255],
        sha256=file_sha256(source),
        status="running",
        actor=actor,
        created_at=now,
    )
    session.add(transfer)
    await session.flush()
    result = await run_import(
        session,
        import_kind,
        source,
        file_name,
        actor=actor,
        origin=f"import:{transfer.id}",
        today=today,
        now=now,
        calendar=calendar,
        notify=notify,
        dry_run=dry_run,
        progress=progress,
    )
    transfer.status = "refused" if not result.ok else "checked" if dry_run else "imported"
    transfer.counts = result.audit_counts()
    keep = keep_content and result.ok and dry_run and isinstance(source, bytes)
    transfer.content = source if keep else None  # type: ignore[assignment]
    transfer.finished_at = None if keep else now
    await log_change(
        session,
        actor=actor,
        action="data.import",
        entity="data_transfer",
        entity_id=transfer.id,
        after={
            "kind": kind,
            "file_name": transfer.file_name,
            "sha256": transfer.sha256,
            "status": transfer.status,
            "counts": transfer.counts,
        },
    )
    return result, transfer


async def import_checked(
    session: AsyncSession,
    transfer_id: int,
    *,
    actor: str,
    now: datetime,
    today: date,
    calendar: WorkdayCalendar,
    notify: bool = False,
) -> tuple[ImportResult, DataTransfer]:
    """确认导入 of a checked chat upload: the same file, checked again (the data may have moved on)."""
    checked = await session.get(DataTransfer, transfer_id, with_for_update=True, populate_existing=True)
    if checked is None or checked.status != "checked" or not checked.content:
        raise UserError(
            "这个文件已导入或已失效，请重新上传。",
            "That file was already imported or has expired; upload it again.",
        )
    content, checked.content, checked.status, checked.finished_at = checked.content, None, "confirmed", now
    return await import_file(
        session,
        checked.kind,
        content,
        checked.file_name,
        actor=actor,
        now=now,
        today=today,
        calendar=calendar,
        notify=notify,
    )
