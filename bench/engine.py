"""Engine benchmark: simulated users play the query flows through `Engine.handle` (no network) on a SQLite
database grown to thousands of subjects and hundreds of thousands of records.

    .venv/bin/python -m bench.engine                 # both scales, 50 users, 100 events each, 3 repeats
    .venv/bin/python -m bench.engine --scales 1 --users 10 --events 50 --keep

For each scale it builds a fresh database with the Alembic migrations, fills it with bulk inserts, binds
the bench chats to subjects, and prints updates/s and p50/p95/p99/max latency of each `handle` call, the
median over the repeats. Two load shapes are measured: all users at once with no think time (the engine
saturated: latency is mostly waiting for the other users' events) and one event at a time (the service
time of one event). The 10x/1x ratio of p99 shows whether the work per event grows with the data (the
issue's target: p99 under 20 ms, growing at most 1.5x for 10x the data). Last, EXPLAIN QUERY PLAN of every
statement the flows issued: a full SCAN of a table means a missing index.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import logging
import math
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, event, insert
from sqlmodel import SQLModel

from bot.app import App, build_app
from bot.engine import CRASH_TEXT
from models import (
    ApplicationStatus,
    AssessmentCycle,
    ChatBinding,
    CreditRecord,
    DriverViolation,
    Objection,
    RecordKind,
    RecordStatus,
    Severity,
    Subject,
    SubjectKind,
)
from models.migrate import upgrade
from workflows.assessment import cycle_containing
from workflows.calendar import add_months
from workflows.clock import FrozenClock, local_today
from workflows.rules import driver_grade
from workflows.settings import Settings
from workflows.validation import id_check_digit, uscc_check_character

try:
    from tests.support.chat import ChatUser
except ModuleNotFoundError:  # `python bench/engine.py`: the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.chat import ChatUser

KEEP_DIR = Path(__file__).resolve().parents[1] / "var" / "bench"  # --keep; var/ is git-ignored
CHANNEL = "bench"
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # the tests' frozen Tuesday: dates stay reproducible
SEED = 20261124
CHUNK = 20_000  # rows per executemany
P99_TARGET_MS = 20.0
GROWTH_TARGET = 1.5


@dataclass(frozen=True)
class Scale:
    factor: int
    enterprises: int
    drivers: int
    records: int

    @property
    def label(self) -> str:
        return f"{self.factor}x"


def scale(factor: int) -> Scale:
    """--scale 1 = 1,000 / 5,000 / 50,000; --scale 10 = ten times that (the issue's data set)."""
    return Scale(factor, 1_000 * factor, 5_000 * factor, 50_000 * factor)


# ---------------------------------------------------------------------------------------------------
# The data set
# ---------------------------------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国海峰志红玉兰斌浩凯鹏宇飞"
REGIONS = ("370402", "370403", "370404", "370405", "370406", "370481")
TRADES = ("货物运输", "客运", "危险货物运输", "物流", "汽车维修", "机动车驾驶员培训")
AUTHORITY = "枣庄市交通运输局"
AUTHORITY_CODE = "11370400004336918H"
FACTS = (
    ("罚款", "未按规定对车辆进行维护和检测"),
    ("罚款", "使用无道路运输证的车辆从事经营"),
    ("警告", "驾驶员未随车携带从业资格证"),
    ("罚款", "客运班车未按核定站点停靠"),
    ("暂扣许可证件", "超越许可事项从事道路运输经营"),
    ("罚款", "未按规定公布服务价格"),
)
VIOLATIONS = (
    ("超速行驶（超过限速不足20%）", 3),
    ("未按规定检查车辆安全技术状况", 5),
    ("驾驶营运车辆连续驾驶超过4小时（疲劳驾驶）", 20),
    ("未随车携带从业资格证", 1),
    ("不按规定使用安全带", 1),
    ("拒载、甩客", 10),
)


@dataclass
class Built:
    path: Path
    seconds: float
    rows: dict[str, int]


def uscc(serial: int) -> str:
    """A valid-looking 统一社会信用代码 (法人 企业, region 枣庄, serial as the organisation code)."""
    first17 = f"91370400{serial:09d}"
    return first17 + uscc_check_character(first17)


def id_number(serial: int) -> str:
    """A valid-looking, unique 18-digit 身份证号码: one birth day per thousand serials."""
    born = date(1965, 1, 1) + timedelta(days=serial // 1000)
    first17 = f"{REGIONS[serial % len(REGIONS)]}{born:%Y%m%d}{serial % 1000:03d}"
    return first17 + id_check_digit(first17)


def record_counts(enterprises: int, records: int, rng: random.Random) -> list[int]:
    """Records per enterprise, heavy-tailed (log-normal, σ = 1.6: the median is a quarter of the mean): most
    have a few, many dozens, a handful thousands. Quantiles, not samples, so both scales share one shape."""
    normal = statistics.NormalDist()
    weights = [math.exp(1.6 * normal.inv_cdf((i + 0.5) / enterprises)) for i in range(enterprises)]
    total = sum(weights)
    counts = [int(w * records / total) for w in weights]
    for i in rng.choices(range(enterprises), weights, k=records - sum(counts)):
        counts[i] += 1
    return counts


def _subject_rows(sc: Scale, rng: random.Random, today: date) -> Iterator[dict[str, Any]]:
    for i in range(sc.enterprises):
        yield {
            "id": i + 1,
            "kind": SubjectKind.ENTERPRISE.value,
            "uscc": uscc(i),
            "cert_no": None,
            "id_number": None,
            "cert_first_issued": None,
            "name": f"枣庄市{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{i}{rng.choice(TRADES)}有限公司",
            "region_code": rng.choice(REGIONS),
            "legal_rep": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "department": "信用科",
            "created_at": NOW,
        }
    for j in range(sc.drivers):
        number = id_number(j)
        yield {
            "id": sc.enterprises + j + 1,
            "kind": SubjectKind.DRIVER.value,
            "uscc": None,
            "cert_no": number,
            "id_number": number,
            "cert_first_issued": today - timedelta(days=rng.randint(400, 25 * 365)),
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN)),
            "region_code": number[:6],
            "legal_rep": None,
            "department": None,
            "created_at": NOW,
        }


def _record_rows(counts: Sequence[int], rng: random.Random, today: date) -> Iterator[dict[str, Any]]:
    for index, count in enumerate(counts):
        for _ in range(count):
            decided = today - timedelta(days=rng.randint(1, 6 * 365))
            roll = rng.random()
            kind = (
                RecordKind.PENALTY
                if roll < 0.90
                else RecordKind.EVALUATION
                if roll < 0.97
                else RecordKind.DISHONESTY_LIST
            )
            severity = rng.choices((Severity.MINOR, Severity.GENERAL, Severity.SERIOUS), (20, 65, 15))[0]
            status = rng.choices(list(RecordStatus), (80, 10, 8, 2))[0]
            penalty_type, facts = rng.choice(FACTS)
            fine = round(rng.uniform(0.1, 3.0), 1) if penalty_type == "罚款" else None
            penalty = kind == RecordKind.PENALTY
            yield {
                "subject_id": index + 1,
                "kind": kind.value,
                "severity": severity.value,
                "decision_no": f"枣交罚〔{decided.year}〕{rng.randint(1, 9999):04d}号",
                "decision_date": decided,
                "authority": AUTHORITY,
                "authority_code": AUTHORITY_CODE,
                "penalty_type": penalty_type if penalty else None,
                "fine_wan": fine if penalty else None,
                "procedure": "简易" if severity == Severity.MINOR else "一般",
                "facts": facts,
                "basis": "《中华人民共和国道路运输条例》",
                "content": penalty_type if penalty else "",
                "grade": rng.choice(("AAA", "AA", "A", "B")) if kind == RecordKind.EVALUATION else None,
                "publicity_end": None,
                "status": status.value,
                "obligations_fulfilled_on": decided + timedelta(days=rng.randint(5, 60))
                if rng.random() < 0.7
                else None,
                "published_at": None,
                "status_changed_on": None,
                "created_at": NOW,
            }


def _violation_rows(drivers: Sequence[int], rng: random.Random, today: date) -> Iterator[dict[str, Any]]:
    """About two per driver (0–5), over the last two years."""
    for subject_id in drivers:
        for _ in range(rng.choices(range(6), (20, 20, 25, 15, 10, 10))[0]):
            item, points = rng.choice(VIOLATIONS)
            yield {
                "subject_id": subject_id,
                "occurred_on": today - timedelta(days=rng.randint(1, 730)),
                "item": item,
                "points": points,
                "decision_no": f"枣交罚（驾）〔2026〕{rng.randint(1, 9999):04d}号",
                "authority": AUTHORITY,
                "withdrawn": rng.random() < 0.03,
                "created_at": NOW,
            }


def _cycle_rows(
    drivers: Sequence[tuple[int, date]], rng: random.Random, today: date
) -> Iterator[dict[str, Any]]:
    """Up to two closed, endorsed cycles before the current one."""
    for subject_id, first_issued in drivers:
        current = cycle_containing(first_issued, today)
        for back in (1, 2):
            start = add_months(current.start, -12 * back)
            if start < first_issued:
                break
            end = add_months(current.start, -12 * (back - 1)) - timedelta(days=1)
            points = rng.choice((0, 0, 0, 1, 3, 5, 10, 20))
            yield {
                "subject_id": subject_id,
                "start": start,
                "end": end,
                "points": points,
                "grade": driver_grade(points).grade,
                "endorsed_on": end + timedelta(days=15),
            }


def _objection_rows(counts: Sequence[int], rng: random.Random) -> Iterator[dict[str, Any]]:
    """One record in a hundred was objected to, most of those decided. Record ids follow insertion order
    (a fresh table numbers its rows from 1), and `counts` says whose each record is."""
    starts = list(itertools.accumulate(counts, initial=0))
    for serial, position in enumerate(sorted(rng.sample(range(starts[-1]), starts[-1] // 100))):
        status = rng.choices(
            (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.SUBMITTED),
            (45, 45, 10),
        )[0]
        yield {
            "ref_no": f"YY{NOW:%Y}{serial:08d}",
            "subject_id": bisect.bisect_right(starts, position),
            "record_id": position + 1,
            "reason": "信息错误",
            "description": "处罚决定书文号与原件不一致",
            "status": status.value,
            "draft": {},
            "version": 0,
            "created_at": NOW,
        }


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build_database(path: Path, sc: Scale, users: int) -> Built:
    """Migrate a fresh SQLite file, fill it with bulk core inserts, bind the bench chats."""
    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    upgrade(f"sqlite+aiosqlite:///{path}")
    rng = random.Random(SEED)
    today = local_today(FrozenClock(NOW))
    counts = record_counts(sc.enterprises, sc.records, rng)
    subjects = list(_subject_rows(sc, rng, today))
    drivers = [(s["id"], s["cert_first_issued"]) for s in subjects if s["kind"] == SubjectKind.DRIVER.value]
    rows: Counter[str] = Counter()

    db = create_engine(f"sqlite:///{path}")
    with db.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")  # a throw-away file: no need to survive a crash

        def put(model: type[SQLModel], source: Iterable[dict[str, Any]]) -> None:
            table: Table = model.__table__  # type: ignore[attr-defined]
            for chunk in _chunks(source):
                conn.execute(insert(table), chunk)
                rows[table.name] += len(chunk)

        put(Subject, subjects)
        put(CreditRecord, _record_rows(counts, rng, today))
        put(Objection, _objection_rows(counts, rng))
        put(DriverViolation, _violation_rows([d for d, _ in drivers], rng, today))
        put(AssessmentCycle, _cycle_rows(drivers, rng, today))

        # Enterprises by record count, so user k of n gets the same quantile at every scale.
        by_count = [i + 1 for i in sorted(range(sc.enterprises), key=lambda i: (counts[i], i))]
        driver_ids = [d for d, _ in drivers]
        put(
            ChatBinding,
            [
                {
                    "channel": CHANNEL,
                    "chat_id": f"u{k}",
                    "user_id": f"u{k}",
                    "subject_id": subject_id,
                    "staff_id": None,
                    "active": True,
                    "created_at": NOW,
                }
                for k, subject_id in enumerate(_pick_subjects(users, by_count, driver_ids, rng))
            ],
        )
    with db.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return Built(path, time.perf_counter() - started, dict(rows))


def _pick_subjects(
    users: int, enterprises_by_count: Sequence[int], drivers: Sequence[int], rng: random.Random
) -> list[int]:
    """Even chats are enterprises at evenly spread record-count quantiles; odd chats are random drivers."""
    n_enterprise = (users + 1) // 2
    picks = []
    for k in range(users):
        if k % 2 == 0:
            quantile = (k // 2 + 0.5) / n_enterprise
            picks.append(enterprises_by_count[int(quantile * len(enterprises_by_count))])
        else:
            picks.append(rng.choice(drivers))
    return picks


# ---------------------------------------------------------------------------------------------------
# The simulated users
# ---------------------------------------------------------------------------------------------------

# A user's round, read top to bottom: a label is a button to press ("?": only when it is shown), "/..." a
# command to send. A missing button that is not optional counts as a flow problem, and the user sends /menu.
ENTERPRISE_ROUND = ("我的信用记录", "详情?", "返回列表?", "下一页?", "详情?", "返回列表?", "主菜单", "/menu")
DRIVER_ROUND = ("我的诚信考核", "主菜单", "/menu")


@dataclass
class Player:
    user: ChatUser
    script: tuple[str, ...]
    step: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    mix: Counter[str] = field(default_factory=Counter)  # measured events by what was sent or pressed

    def _next(self) -> tuple[str, str]:
        """("send", text) or ("press", label part)."""
        for _ in range(len(self.script)):
            item = self.script[self.step % len(self.script)]
            self.step += 1
            if item.startswith("/"):
                return "send", item
            label = item.removesuffix("?")
            if any(label in b.label for b in self.user.buttons):
                return "press", label
            if not item.endswith("?"):
                self.problems[f"no {label!r} button"] += 1
                return "send", "/menu"
        return "send", "/menu"

    async def begin(self) -> None:
        """A chat starts from the menu: its state row is created and the first keyboard shown."""
        await self.user.send("/menu")

    async def play(self, events: int, latencies: list[float] | None) -> None:
        """`events` engine calls in a row; each call's latency (ms) goes to `latencies` when given."""
        for _ in range(events):
            kind, arg = self._next()
            started = time.perf_counter()
            outcome = await (self.user.send(arg) if kind == "send" else self.user.press(arg))
            if latencies is not None:
                latencies.append((time.perf_counter() - started) * 1000)
                self.mix[arg] += 1
            if any(r.text == CRASH_TEXT for r in outcome.replies):
                self.problems["engine crash reply"] += 1
            elif outcome.callback_notice in ("按钮已过期", "按钮无效"):
                self.problems[f"button refused: {outcome.callback_notice}"] += 1


@dataclass(frozen=True)
class Figures:
    updates_per_s: float
    p50: float
    p95: float
    p99: float
    max: float

    @staticmethod
    def of(latencies: list[float], seconds: float) -> Figures:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        return Figures(len(latencies) / seconds, cuts[49], cuts[94], cuts[98], max(latencies))

    @staticmethod
    def median(runs: Sequence[Figures]) -> Figures:
        return Figures(*(statistics.median(getattr(r, f.name) for r in runs) for f in fields(Figures)))


@dataclass
class Measured:
    concurrent: Figures
    sequential: Figures
    mix: Counter[str]
    problems: Counter[str]
    statements: dict[str, tuple[Any, ...]]  # every distinct SQL statement the flows issued, with parameters


async def measure(path: Path, users: int, events: int, repeats: int) -> Measured:
    app: App = await build_app(
        Settings(database_url=f"sqlite+aiosqlite:///{path}", _env_file=None),  # type: ignore[call-arg]
        clock=FrozenClock(NOW),
        migrate_db=False,
    )
    statements: dict[str, tuple[Any, ...]] = {}
    shapes: set[str] = set()

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        shape = IN_LIST.sub("IN (…)", statement)  # one plan per statement, whatever the IN list's length
        if not many and shape not in shapes:
            shapes.add(shape)
            statements[statement] = tuple(parameters or ())

    event.listen(app.db.sync_engine, "before_cursor_execute", capture)
    try:
        players = [
            Player(
                ChatUser(app.engine, f"u{k}", channel=CHANNEL),
                ENTERPRISE_ROUND if k % 2 == 0 else DRIVER_ROUND,
            )
            for k in range(users)
        ]
        # Warm-up (not measured): every chat gets its state row and walks one round.
        await asyncio.gather(*(p.begin() for p in players))
        await asyncio.gather(*(p.play(len(p.script), None) for p in players))
        event.remove(app.db.sync_engine, "before_cursor_execute", capture)

        concurrent, sequential = [], []
        for _ in range(repeats):
            latencies: list[float] = []
            started = time.perf_counter()
            await asyncio.gather(*(p.play(events, latencies) for p in players))
            concurrent.append(Figures.of(latencies, time.perf_counter() - started))

            # One event at a time, the same users in turn: the service time, free of queueing.
            latencies = []
            started = time.perf_counter()
            for p in players:
                await p.play(max(events // 5, 5), latencies)
            sequential.append(Figures.of(latencies, time.perf_counter() - started))
        return Measured(
            Figures.median(concurrent),
            Figures.median(sequential),
            sum((p.mix for p in players), Counter()),
            sum((p.problems for p in players), Counter()),
            statements,
        )
    finally:
        await app.close()


# ---------------------------------------------------------------------------------------------------
# Query plans
# ---------------------------------------------------------------------------------------------------

SCAN = re.compile(r"\bSCAN (\w+)")
IN_LIST = re.compile(r"IN \(\?(?:, \?)*\)")


@dataclass(frozen=True)
class Plan:
    statement: str
    lines: tuple[str, ...]
    full_scans: tuple[str, ...]  # plan lines that read a whole table
    temp_sorts: tuple[str, ...]  # ORDER BY / GROUP BY without an index
    error: str | None = None  # SQLite could not plan it (e.g. the models and the migrations disagree)


def explain(path: Path, statements: dict[str, tuple[Any, ...]]) -> list[Plan]:
    """EXPLAIN QUERY PLAN of each captured SELECT / UPDATE / DELETE (an INSERT has no plan to speak of)."""
    conn = sqlite3.connect(path)
    try:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        plans = []
        for statement, parameters in statements.items():
            if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                continue
            try:
                rows = conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            except sqlite3.Error as exc:
                plans.append(Plan(statement, (), (), (), str(exc)))
                continue
            lines = tuple(str(row[-1]) for row in rows)
            scans = tuple(line for line in lines if (m := SCAN.search(line)) and m.group(1) in tables)
            sorts = tuple(line for line in lines if "TEMP B-TREE" in line)
            plans.append(Plan(statement, lines, scans, sorts))
        return plans
    finally:
        conn.close()


def table_sizes(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def _short(statement: str, width: int = 150) -> str:
    one_line = " ".join(statement.split())
    # Long column lists say nothing about the plan.
    one_line = re.sub(r"SELECT (?:(?! FROM ).){40,}? FROM", "SELECT … FROM", one_line)
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------------
# Running and printing
# ---------------------------------------------------------------------------------------------------


def _row(label: str, f: Figures) -> str:
    return f"  {label:<22} {f.updates_per_s:>9,.0f} {f.p50:>8.2f} {f.p95:>8.2f} {f.p99:>8.2f} {f.max:>8.2f}"


def _verdict(ok: bool) -> str:
    return "yes" if ok else "no"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=50, help="simulated users at once (default 50)")
    parser.add_argument(
        "--events",
        type=int,
        default=100,
        help="measured events per user and repeat (default 100), then a fifth of that per user one at a time",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="measured repeats; figures are medians (default 3)"
    )
    parser.add_argument(
        "--scales", type=int, nargs="+", default=[1, 10], help="data scales, 1 = 1k/5k/50k (default 1 10)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases (under var/bench/)")
    args = parser.parse_args(argv)
    if args.users < 1 or args.events < 1 or args.repeats < 1:
        parser.error("--users, --events and --repeats must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="  [%(levelname)s %(name)s] %(message)s")
    logging.getLogger("bot.engine").addFilter(_FirstOfEachKind())

    workdir = KEEP_DIR if args.keep else Path(tempfile.mkdtemp(prefix="bench-engine-"))
    print(
        f"信用交通助手 engine bench — Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.machine()}, {_cpus()} CPUs\n"
        f"{args.users} users × {args.events} events, {args.repeats} repeats (medians); "
        f"enterprise round {' → '.join(ENTERPRISE_ROUND)}; driver round {' → '.join(DRIVER_ROUND)}\n"
    )
    results: dict[int, Measured] = {}
    try:
        for factor in sorted(set(args.scales)):
            sc = scale(factor)
            built = build_database(workdir / f"engine-{sc.label}.db", sc, args.users)
            sizes = ", ".join(f"{name} {n:,}" for name, n in built.rows.items())
            print(
                f"{sc.label}: {sc.enterprises:,} enterprises, {sc.drivers:,} drivers, {sc.records:,} records — "
                f"built in {built.seconds:.1f} s ({sizes})"
            )
            results[factor] = asyncio.run(measure(built.path, args.users, args.events, args.repeats))
            _print_scale(results[factor], args.users)
        _print_verdicts(results, args.users)
        if results:
            largest = max(results)
            _print_plans(workdir / f"engine-{scale(largest).label}.db", results[largest].statements)
    finally:
        if args.keep:
            print(f"\ndatabases kept in {workdir.resolve()}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


class _FirstOfEachKind(logging.Filter):
    """One traceback per kind of engine failure is enough: the problems line counts them all."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[object, object]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.msg, record.exc_info[0] if record.exc_info else None)
        if kind in self.seen:
            return False
        self.seen.add(kind)
        return True


def _print_scale(m: Measured, users: int) -> None:
    print(f"  {'':<22} {'updates/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(_row(f"{users} users at once", m.concurrent))
    print(_row("one at a time", m.sequential))
    # Little's law: users with no think time wait, on average, for everyone else's event.
    print(
        f"  at once, the mean wait is users ÷ updates/s = {users / m.concurrent.updates_per_s * 1000:.0f} ms"
    )
    print("  events: " + ", ".join(f"{what} {n:,}" for what, n in m.mix.most_common()))
    if m.problems:
        print("  PROBLEMS: " + ", ".join(f"{what} ×{n:,}" for what, n in m.problems.most_common()))
    print()


def _print_verdicts(results: dict[int, Measured], users: int) -> None:
    for factor, m in sorted(results.items()):
        print(
            f"p99 < {P99_TARGET_MS:.0f} ms at {factor}x: {users} users at once "
            f"{_verdict(m.concurrent.p99 < P99_TARGET_MS)} ({m.concurrent.p99:.1f} ms), one at a time "
            f"{_verdict(m.sequential.p99 < P99_TARGET_MS)} ({m.sequential.p99:.1f} ms)"
        )
    if len(results) < 2:
        return
    small, large = results[min(results)], results[max(results)]
    at_once = large.concurrent.p99 / small.concurrent.p99
    one = large.sequential.p99 / small.sequential.p99
    print(
        f"p99 {max(results)}x/{min(results)}x data: {users} users at once {at_once:.2f}x, one at a time {one:.2f}x"
        f" — growth ≤ {GROWTH_TARGET}x: {_verdict(at_once <= GROWTH_TARGET)}, {_verdict(one <= GROWTH_TARGET)}"
    )


def _print_plans(path: Path, statements: dict[str, tuple[Any, ...]]) -> None:
    sizes = table_sizes(path)
    plans = explain(path, statements)
    print(f"\nQuery plans ({len(plans)} distinct statements the flows issued, on the largest data set):")
    for plan in plans:
        flag = (
            "ERROR" if plan.error else "SCAN!" if plan.full_scans else "sort " if plan.temp_sorts else "ok   "
        )
        print(f"  {flag} {_short(plan.statement)}")
        for line in plan.lines or (f"cannot explain: {plan.error}",):
            print(f"          {line}")
    scans = [(p, line) for p in plans for line in p.full_scans]
    failed = sum(1 for p in plans if p.error)
    if scans:
        print("Full table scans (missing index?):")
        for plan, line in scans:
            table = SCAN.search(line).group(1)  # type: ignore[union-attr]
            print(f"  {line} ({sizes.get(table, 0):,} rows) in: {_short(plan.statement, 110)}")
    else:
        print(f"No full table scan in the {len(plans) - failed} statements explained.")
    if failed:
        print(f"{failed} statement(s) could not be explained: see ERROR above.")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    main()
