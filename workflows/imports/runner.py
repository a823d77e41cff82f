"""Running an import: every row read and checked, every problem reported at once, all or nothing.

One pass over the file, streamed: rows are read, checked and written in batches inside a savepoint, so
the database does the checks that need it (an unknown certificate, a second subject with that code) for
every row too. Any problem, or --dry-run, rolls the savepoint back: nothing is written, and the counts
say what the import would have done. The file is read a second time only to write the errors file.

The audit log holds the import itself (who, file name, SHA-256, counts: workflows/transfers.py) and,
for every row it changes, the before and after. Rows it creates carry "import:<id>" (origin /
created_by), which leads to that entry: 100,000 creations are one audited event, not 100,000.
"""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import any_, bindparam, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel.ext.asyncio.session import AsyncSession

from workflows import rules
from workflows.calendar import WorkdayCalendar
from workflows.clock import to_local
from workflows.dataio.values import INVISIBLE, cell_text
from workflows.errors import UserError
from workflows.imports.bulk import audit_row, insert_audit
from workflows.imports.columns import Column, HeaderMap, map_headers, reason_of

if TYPE_CHECKING:
    from workflows.dataio.read import Table

REQUIRED_EMPTY = ("必填项为空", "Required, but empty")


@dataclass(frozen=True)
class Problem:
    row: int  # as the spreadsheet shows it; 0 = the file as a whole
    column: str  # the header as the file wrote it ("" for the row as a whole)
    value: str
    reason: str  # Chinese: the errors file and the CLI
    reason_en: str  # the same for a chat in English

    def line(self, lang: str = "zh") -> str:
        """One line for a message: where, the header and value as the file has them, and why."""
        val = f"“{self.value[:40]}”" if self.value else ""
        if lang == "en":
            where = f"Row {self.row}" if self.row else "File"
            col = f" [{self.column}]" if self.column else ""
            return f"{where}{col}{' ' + val if val else ''}: {self.reason_en}"
        where = f"第 {self.row} 行" if self.row else "文件"
        col = f"「{self.column}」" if self.column else ""
        return f"{where}{col}{val}：{self.reason}"


@dataclass
class Row:
    number: int
    values: dict[str, Any]  # column key → read value (None for an empty optional cell)
    texts: dict[str, str]  # column key → the cell as text, for messages (not sent from the worker)

    def text(self, key: str) -> str:
        """The cell as staff typed it, or as read when the worker left the texts behind."""
        if key in self.texts:
            return self.texts[key]
        value = self.values.get(key)
        return "" if value is None else str(value)


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
class Checker:
    """What checking a row needs (no database): the kind, where its columns are, today, the problems.
    A big file is checked in a second process (worker.py) while this one writes."""

    kind: ImportKind
    headers: HeaderMap
    today: date
    problems: list[Problem] = field(default_factory=list)

    def present(self, key: str) -> bool:
        """Was the column in the file? An absent column changes nothing; an empty cell is a value."""
        return key in self.headers.index

    def problem(self, row: Row, key: str, reason: str, reason_en: str) -> None:
        self.problems.append(
            Problem(
                row.number,
                self.headers.header.get(key, _header(self.kind, key)),
                row.text(key),
                reason,
                reason_en,
            )
        )

    def refused(self, row: Row, key: str, err: UserError) -> None:
        """A workflow's refusal (a validator shared with the chat) as the problem of a cell."""
        self.problem(row, key, err.zh, err.en)


@dataclass
class Job(Checker):
    """What one import knows while it runs; kinds write through it."""

    session: AsyncSession = None  # type: ignore[assignment]
    actor: str = ""
    origin: str = ""  # "import:<transfer id>": on every row it creates
    now: datetime = field(default_factory=lambda: datetime.min)
    calendar: WorkdayCalendar = None  # type: ignore[assignment]
    notify: bool = False
    dry_run: bool = False
    counts: Counts = field(default_factory=Counts)
    audits: list[dict[str, Any]] = field(default_factory=list)  # written after each batch, in one statement

    @asynccontextmanager
    async def by_index(self) -> AsyncIterator[None]:
        """Look-ups by natural key must use their index. Inside an import's transaction PostgreSQL's
        planner still sees the tables as they were when last analysed (empty, for a first import) and
        scanned the whole table for every batch: 229 s of a 100,000-row import, 600 s of its re-import
        (bench/import.py). Only this statement is told; the setting is restored after it."""
        conn = await self.session.connection()
        if conn.dialect.name != "postgresql":
            yield
            return
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        try:
            yield
        finally:
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = on")

    def among(self, column: Any, values: Any) -> Any:
        """`column IN values`; on PostgreSQL `= ANY(array)`: one parameter instead of a thousand, which
        SQLAlchemy and asyncpg handled in 20–40 ms per batch (bench/import.py)."""
        if self.session.get_bind().dialect.name == "postgresql":
            return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
        return column.in_(values)

    async def lookup(self, stmt: Any) -> list[Any]:
        """Rows of a Core select by natural key (see by_index)."""
        async with self.by_index():
            return list((await (await self.session.connection()).execute(stmt)).all())

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
        changes = {
            k: v for k, v in values.items() if current[k] != v and comparable(current[k]) != comparable(v)
        }
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
    label_en: str
    columns: tuple[Column, ...]
    key_column: str  # where a repeated key is reported

    def check(self, row: Row, job: Checker) -> None:
        """Checks across the columns of one row (report with job.problem); no database here."""

    def key(self, row: Row) -> tuple[str, ...]:
        """The natural key; the same key twice in one file is an error."""
        ...

    def key_text(self, row: Row, lang: str = "zh") -> str:
        """The natural key as a message names it."""
        ...

    async def apply(self, job: Job, batch: list[Row]) -> None:
        """Write a batch of checked rows: insert the new, update the changed, count the unchanged."""


@dataclass
class ImportResult:
    kind: str
    label: str
    label_en: str
    file_name: str
    sha256: str
    dry_run: bool
    counts: Counts = field(default_factory=Counts)
    problems: list[Problem] = field(default_factory=list)
    unknown_headers: list[str] = field(default_factory=list)  # not in the template: ignored
    repeated_headers: list[str] = field(default_factory=list)  # a second column of one name: ignored
    encoding: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def imported(self) -> bool:
        return self.ok and not self.dry_run

    def label_in(self, lang: str = "zh") -> str:
        return self.label_en if lang == "en" else self.label

    @property
    def warnings(self) -> list[str]:
        return self.warnings_in("zh")

    def warnings_in(self, lang: str = "zh") -> list[str]:
        """What was read differently from the file as sent (nothing is wrong with the rows)."""
        en = lang == "en"
        out = []
        if unknown := [h for h in self.unknown_headers if h]:
            out.append(
                f"These columns are not in the template and were ignored: {', '.join(unknown)}"
                if en
                else f"以下列不在模板中，已忽略：{'、'.join(unknown)}"
            )
        if self.repeated_headers:
            out.append(
                f"These columns appear twice; only the first was read: {', '.join(self.repeated_headers)}"
                if en
                else f"以下列重复出现，只读取第一列：{'、'.join(self.repeated_headers)}"
            )
        return out

    def title(self, lang: str = "zh") -> str:
        """行政处罚导入, with the dry-run mark (the CLI's --dry-run)."""
        if lang == "en":
            return f"{self.label_en} import" + (" (dry run, nothing written)" if self.dry_run else "")
        return f"{self.label}导入" + ("（试运行，未写入）" if self.dry_run else "")

    def details(self, lang: str = "zh") -> str:
        """The file and what the import did (or, dry run, would do), after the title."""
        c = self.counts
        if lang == "en":
            return self._details_en()
        if not self.ok:
            return (
                f"{self.file_name} 共 {c.rows} 行，发现 {len(self.problems)} 处问题，"
                "全部未导入。请按错误说明修改后重新导入。"
            )
        verb = "将" if self.dry_run else "已"
        tail = f"，新建主体 {c.subjects_created} 个" if c.subjects_created else ""
        tail += f"，送达三书 {c.notified} 条" if c.notified else ""
        return f"{self.file_name} 共 {c.rows} 行，{verb}新增 {c.new} 条、更新 {c.changed} 条、未变 {c.unchanged} 条{tail}。"

    def _details_en(self) -> str:
        c = self.counts
        head = f"{self.file_name}, {_counted(c.rows, 'row')}"
        if not self.ok:
            return (
                f"{head}: {_counted(len(self.problems), 'problem')} found, nothing imported. "
                "Correct the file as the errors explain and import it again."
            )
        tail = f", {_counted(c.subjects_created, 'subject')} created" if c.subjects_created else ""
        tail += f", the three notices served for {_counted(c.notified, 'decision')}" if c.notified else ""
        if self.dry_run:
            return f"{head}: would add {c.new}, update {c.changed}, leave {c.unchanged} unchanged{tail}."
        return f"{head}: {c.new} added, {c.changed} updated, {c.unchanged} unchanged{tail}."

    def summary(self, lang: str = "zh") -> str:
        return (
            f"{self.title(lang)}: {self.details(lang)}"
            if lang == "en"
            else f"{self.title()}：{self.details()}"
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


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def file_sha256(source: pathlib.Path | bytes) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class RowReader:
    """Reads the present columns of each row. A value that repeats down the file (the authority's code, a
    date, a subject's code, the 处罚类别) is read once: the reader's answer is kept per distinct text."""

    def __init__(self, kind: ImportKind, headers: HeaderMap, today: date) -> None:
        self.today = today
        self.plan = [
            (c.key, headers.index[c.key], c.read, c.required, {} if c.cacheable else None)
            for c in kind.columns
            if c.key in headers.index
        ]
        self.absent = {c.key: None for c in kind.columns if c.key not in headers.index}

    def read(self, number: int, cells: list[Any]) -> tuple[Row, list[tuple[str, str, str]]]:
        """(row, [(column key, reason, reason in English)]): required cells must not be empty."""
        values: dict[str, Any] = dict(self.absent)
        texts: dict[str, str] = {}
        errors: list[tuple[str, str, str]] = []
        width = len(cells)
        for key, i, read, required, cache in self.plan:
            raw = cells[i] if i < width else None
            text_cell = type(raw) is str
            hit = None
            if text_cell:  # most cells: C-level strip, the full trim only for pasted zero-width marks
                shown = raw.strip()
                if shown and (shown[0] in INVISIBLE or shown[-1] in INVISIBLE):
                    shown = cell_text(raw)
                place: Any = shown
            else:
                # Numbers and dates from a workbook repeat too (a fine, a decision date): kept by value.
                place = (type(raw), raw)
                hit = cache.get(place) if cache is not None and raw is not None else None
                shown = hit[0] if hit is not None else cell_text(raw)
            texts[key] = shown
            if shown == "":
                values[key] = None
                if required:
                    errors.append((key, *REQUIRED_EMPTY))
                continue
            if hit is None and cache is not None:
                hit = cache.get(place)
            if hit is None:
                try:
                    # Text cells go to the reader already trimmed (read once, not twice per cell).
                    hit = (shown, True, read(shown if text_cell else raw, self.today))
                except (ValueError, UserError) as err:
                    hit = (shown, False, reason_of(err))
                if cache is not None:
                    cache[place] = hit
            _, ok, value = hit
            if ok:
                values[key] = value
            else:
                values[key] = None
                errors.append((key, *value))
        return Row(number, values, texts), errors


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
    result = ImportResult(kind.name, kind.label, kind.label_en, file_name, file_sha256(source), dry_run)
    from workflows.dataio.read import open_table  # openpyxl (numpy, Pillow): only when importing

    try:
        table = open_table(source, file_name)
    except UserError as err:
        result.problems.append(Problem(0, "", "", err.zh, err.en))
        return result
    result.encoding = table.encoding
    try:
        headers = map_headers(table.headers, kind.columns)
        result.unknown_headers, result.repeated_headers = headers.unknown, headers.repeated
        if headers.missing:
            result.problems += [
                Problem(
                    table.header_row,
                    c.header,
                    "",
                    "缺少必填列（表头名称见模板）",
                    "Required column missing (the template shows the headers)",
                )
                for c in headers.missing
            ]
            return result
        job = Job(
            kind,
            headers,
            today,
            session=session,
            actor=actor,
            origin=origin,
            now=now,
            calendar=calendar,
            notify=notify,
            dry_run=dry_run,
        )
        await _rows(job, table, source, progress)
        result.counts, result.problems = job.counts, job.problems
    finally:
        table.close()
    return result


def check_rows(checker: Checker, table: Table) -> Iterator[tuple[int, list[Row]]]:
    """Read and check every row; (rows read so far, the checked rows of that stretch) per batch.
    Problems go to checker.problems; a key seen twice is one of them."""
    kind = checker.kind
    seen: dict[tuple[str, ...], int] = {}
    batch: list[Row] = []
    reader = RowReader(kind, checker.headers, checker.today)
    count = 0
    for number, cells in table.rows():
        count += 1
        row, errors = reader.read(number, cells)
        for key, reason, reason_en in errors:
            checker.problem(row, key, reason, reason_en)
        if not errors:
            before = len(checker.problems)
            kind.check(row, checker)
            if len(checker.problems) == before:
                key = kind.key(row)
                first = seen.setdefault(key, number)
                if first != number:
                    checker.problem(
                        row,
                        kind.key_column,
                        f"与第 {first} 行重复（{kind.key_text(row)}）",
                        f"Same as row {first} ({kind.key_text(row, 'en')})",
                    )
                else:
                    batch.append(row)
        if count % rules.IMPORT_BATCH_ROWS == 0:
            yield count, batch
            batch = []
    yield count, batch


async def _rows(
    job: Job, table: Table, source: pathlib.Path | bytes, progress: Callable[[int], None] | None
) -> None:
    from workflows.imports.worker import checked_in_worker  # here: `-m workflows.imports.worker` runs it

    parallel = isinstance(source, pathlib.Path) and source.stat().st_size >= rules.IMPORT_WORKER_MIN_BYTES
    batches = checked_in_worker(job, source) if parallel else _checked_here(job, table)  # type: ignore[arg-type]
    async with aclosing(batches), job.session.begin_nested() as savepoint:
        async for count, batch in batches:
            job.counts.rows = count
            if batch:
                await _apply(job, batch)
            if progress is not None:
                progress(count)
        if job.problems or job.counts.rows == 0 or job.dry_run:
            await savepoint.rollback()
    if job.counts.rows == 0 and not job.problems:
        job.problems.append(
            Problem(
                0, "", "", "文件中没有数据行（只有表头）。", "The file has no data rows (only the headers)."
            )
        )


async def _checked_here(job: Job, table: Table) -> AsyncIterator[tuple[int, list[Row]]]:
    for item in check_rows(job, table):
        yield item


async def _apply(job: Job, batch: list[Row]) -> None:
    await job.kind.apply(job, batch)
    await insert_audit(job.session, job.audits)
    job.audits.clear()
