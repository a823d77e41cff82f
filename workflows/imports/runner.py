"""Running an import: every row read and checked, every problem reported at once, all or nothing.

One pass over the file, streamed: rows are read, checked and written in batches inside a savepoint, so
the database does the checks that need it (an unknown certificate, a second subject with that code) for
every row too. Any problem, or --dry-run, rolls the savepoint back: nothing is written, and the counts
say what the import would have done. The file is read a second time only to write the errors file.
"""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from workflows import rules
from workflows.calendar import WorkdayCalendar
from workflows.clock import to_local
from workflows.dataio.read import Table, open_table
from workflows.dataio.values import cell_text
from workflows.errors import UserError
from workflows.imports.bulk import audit_row, insert_audit
from workflows.imports.columns import Column, HeaderMap, map_headers, reason_of


@dataclass(frozen=True)
class Problem:
    row: int  # as the spreadsheet shows it; 0 = the file as a whole
    column: str  # the header as the file wrote it ("" for the row as a whole)
    value: str
    reason: str

    def line(self) -> str:
        where = f"第 {self.row} 行" if self.row else "文件"
        col = f"「{self.column}」" if self.column else ""
        val = f"“{self.value[:40]}”" if self.value else ""
        return f"{where}{col}{val}：{self.reason}"


@dataclass
class Row:
    number: int
    values: dict[str, Any]  # column key → read value (None for an empty optional cell)
    texts: dict[str, str]  # column key → the cell as text, for messages


@dataclass
class Counts:
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    subjects_created: int = 0
    notified: int = 0
    deadlines: int = 0


@dataclass
class Job:
    """What one import knows while it runs; kinds write through it."""

    session: AsyncSession
    kind: ImportKind
    headers: HeaderMap
    actor: str
    origin: str  # "import:<transfer id>": on every row it creates
    today: date
    now: datetime
    calendar: WorkdayCalendar
    notify: bool
    dry_run: bool = False
    counts: Counts = field(default_factory=Counts)
    problems: list[Problem] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)  # written after each batch, in one statement

    def present(self, key: str) -> bool:
        """Was the column in the file? An absent column changes nothing; an empty cell is a value."""
        return key in self.headers.index

    def problem(self, row: Row, key: str, reason: str) -> None:
        self.problems.append(
            Problem(
                row.number,
                self.headers.header.get(key, _header(self.kind, key)),
                row.texts.get(key, ""),
                reason,
            )
        )

    async def update(
        self,
        model: Any,
        current: Mapping[str, Any],
        values: dict[str, Any],
        *,
        action: str,
        subject_id: int | None,
        shown: Callable[[str, Any], Any] | None = None,
    ) -> None:
        """Update what the row changes of a stored row (before and after to the audit log), or count it
        unchanged. `shown`: how a value is written to the log (masking)."""
        changes = {k: v for k, v in values.items() if comparable(current[k]) != comparable(v)}
        if not changes:
            self.counts.unchanged += 1
            return
        table = model.__table__
        await (await self.session.connection()).execute(
            update(table).where(table.c.id == current["id"]).values(**changes)
        )
        self.counts.changed += 1
        show = shown or (lambda _k, v: jsonable(v))
        self.audits.append(
            audit_row(
                actor=self.actor,
                action=action,
                entity=table.name,
                entity_id=current["id"],
                subject_id=subject_id,
                before={k: show(k, current[k]) for k in changes},
                after={k: show(k, v) for k, v in changes.items()},
            )
        )

    def recent(self, decided: date) -> bool:
        """Decisions still inside the 双公示 window are news; older rows are history (rules)."""
        return self.calendar.add_workdays(decided, rules.IMPORT_RECENT_WORKDAYS) >= self.today


def comparable(value: Any) -> Any:
    """Publication is a day to the bureau: a stored timestamp compares by its Beijing date."""
    return to_local(value).date() if isinstance(value, datetime) else value


def jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _header(kind: ImportKind, key: str) -> str:
    return next((c.header for c in kind.columns if c.key == key), key)


class ImportKind(Protocol):
    name: str
    label: str  # 行政处罚, 主体, ...
    columns: tuple[Column, ...]
    key_column: str  # where a repeated key is reported

    def check(self, row: Row, job: Job) -> None:
        """Checks across the columns of one row (report with job.problem)."""

    def key(self, row: Row) -> tuple[str, ...]:
        """The natural key; the same key twice in one file is an error."""
        ...

    def key_text(self, row: Row) -> str: ...

    async def apply(self, job: Job, batch: list[Row]) -> None:
        """Write a batch of checked rows: insert the new, update the changed, count the unchanged."""


@dataclass
class ImportResult:
    kind: str
    label: str
    file_name: str
    sha256: str
    dry_run: bool
    counts: Counts
    problems: list[Problem]
    warnings: list[str]
    encoding: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def imported(self) -> bool:
        return self.ok and not self.dry_run

    def summary(self) -> str:
        c = self.counts
        head = f"{self.label}导入" + ("（试运行，未写入）" if self.dry_run else "")
        if not self.ok:
            return (
                f"{head}：{self.file_name} 共 {c.rows} 行，发现 {len(self.problems)} 处问题，"
                "全部未导入。请按错误说明修改后重新导入。"
            )
        verb = "将" if self.dry_run else "已"
        tail = f"，新建主体 {c.subjects_created} 个" if c.subjects_created else ""
        tail += f"，送达三书 {c.notified} 条" if c.notified else ""
        return (
            f"{head}：{self.file_name} 共 {c.rows} 行，{verb}新增 {c.new} 条、更新 {c.changed} 条、"
            f"未变 {c.unchanged} 条{tail}。"
        )

    def audit_counts(self) -> dict[str, Any]:
        c = self.counts
        return {
            "rows": c.rows,
            "new": c.new,
            "changed": c.changed,
            "unchanged": c.unchanged,
            "subjects_created": c.subjects_created,
            "notified": c.notified,
            "errors": len(self.problems),
            "dry_run": self.dry_run,
        }


def file_sha256(source: pathlib.Path | bytes) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_row(
    kind: ImportKind, headers: HeaderMap, number: int, cells: list[Any], today: date
) -> tuple[Row, list[tuple[str, str]]]:
    """Read each present column; required cells must not be empty. (row, [(column key, reason)])."""
    row = Row(number, {}, {})
    errors: list[tuple[str, str]] = []
    for column in kind.columns:
        i = headers.index.get(column.key)
        if i is None:
            row.values[column.key] = None
            continue
        raw = cells[i] if i < len(cells) else None
        shown = cell_text(raw)
        row.texts[column.key] = shown
        if shown == "":
            row.values[column.key] = None
            if column.required:
                errors.append((column.key, "必填项为空"))
            continue
        try:
            row.values[column.key] = column.read(raw, today)
        except (ValueError, UserError) as err:
            row.values[column.key] = None
            errors.append((column.key, reason_of(err)))
    return row, errors


async def run_import(
    session: AsyncSession,
    kind: ImportKind,
    source: pathlib.Path | bytes,
    file_name: str,
    *,
    actor: str,
    origin: str,
    today: date,
    now: datetime,
    calendar: WorkdayCalendar,
    notify: bool = False,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Check and (unless dry_run or any problem) write the file's rows, in the caller's transaction."""
    result = ImportResult(kind.name, kind.label, file_name, file_sha256(source), dry_run, Counts(), [], [])
    try:
        table = open_table(source, file_name)
    except UserError as err:
        result.problems.append(Problem(0, "", "", err.zh))
        return result
    result.encoding = table.encoding
    try:
        headers = map_headers(table.headers, kind.columns)
        if headers.unknown:
            result.warnings.append(f"以下列不在模板中，已忽略：{'、'.join(h for h in headers.unknown if h)}")
        if headers.repeated:
            result.warnings.append(f"以下列重复出现，只读取第一列：{'、'.join(headers.repeated)}")
        if headers.missing:
            result.problems += [
                Problem(table.header_row, c.header, "", "缺少必填列（表头名称见模板）")
                for c in headers.missing
            ]
            return result
        job = Job(session, kind, headers, actor, origin, today, now, calendar, notify, dry_run)
        await _rows(job, table, progress)
        result.counts, result.problems = job.counts, job.problems
    finally:
        table.close()
    return result


async def _rows(job: Job, table: Table, progress: Callable[[int], None] | None) -> None:
    kind = job.kind
    seen: dict[tuple[str, ...], int] = {}
    batch: list[Row] = []
    async with job.session.begin_nested() as savepoint:
        for number, cells in table.rows():
            job.counts.rows += 1
            row, errors = read_row(kind, job.headers, number, cells, job.today)
            for key, reason in errors:
                job.problem(row, key, reason)
            if not errors:
                before = len(job.problems)
                kind.check(row, job)
                if len(job.problems) == before:
                    key = kind.key(row)
                    first = seen.setdefault(key, number)
                    if first != number:
                        job.problem(row, kind.key_column, f"与第 {first} 行重复（{kind.key_text(row)}）")
                    else:
                        batch.append(row)
            if len(batch) >= rules.IMPORT_BATCH_ROWS:
                await _apply(job, batch)
                batch = []
            if progress is not None:
                progress(job.counts.rows)
        if batch:
            await _apply(job, batch)
        if job.problems or job.counts.rows == 0 or job.dry_run:
            await savepoint.rollback()
    if job.counts.rows == 0:
        job.problems.append(Problem(0, "", "", "文件中没有数据行（只有表头）。"))


async def _apply(job: Job, batch: list[Row]) -> None:
    await job.kind.apply(job, batch)
    await insert_audit(job.session, job.audits)
    job.audits.clear()
