"""Delivery benchmark: thousands of outbox notices through the real dispatcher, the aiogram Sender and real
HTTP to the local Bot API server, which enforces Telegram's broadcast limits with 429s.

    .venv/bin/python -m bench.delivery               # the issue's 5,000 notices to 2,000 chats (3-4 min)
    .venv/bin/python -m bench.delivery --quick       # 750 notices to 300 chats (~30 s)
    .venv/bin/python -m bench.delivery --batch 300 --concurrency 60 --order grouped

It builds a fresh SQLite database (the Alembic migrations, through build_app), writes every notice with
`enqueue` in one transaction, starts FakeBotAPI with the limits of notifications/limits.py (30/s overall,
1/s per chat, 20/min per group) and runs the dispatcher with the default RateLimiter on the real clock
until no row is pending (or the timeout). It prints messages/s (over the whole drain and over the middle
80 % of sends), its ratio to the 30/s ceiling, the 429s, retries, and checks that every row was delivered
exactly once (each notice carries its number in ref_no) and in the order written per chat.

Workload: every private chat gets two notices and the rest go to chats drawn with heavy-tailed weights
(up to 20 each); each of --groups group chats gets --group-notices (default 40: two minutes of its
20/min). --order shuffled (default) writes them as many interleaved sweeps would; grouped writes each
chat's notices back to back, as one sweep per recipient would. --rate and --chat-rate set the client's
RateLimiter (default: the Telegram figures) to see what margin keeps the server from answering 429.

Several processes (issue #10, item 3): `--processes 1,2,3` measures, per N, one `credit-bot run` (long polling,
dispatcher and scheduler) plus N-1 `credit-bot deliver` as real processes, SEND_BUDGET=redis://… shared (N=1:
memory, the embedded default, then redis too unless --no-redis-single), a fresh bot token (so fresh Redis keys)
and a fresh database per run, migrated by the bench before the processes start. While the outbox drains,
--users-per-second users send /help from private chats that get no notices; a reply's latency is its first
sendMessage minus the push, both on the server's monotonic clock. The drain runs from the first to the last
notice at the server (process start-up excluded).

    .venv/bin/python -m bench.delivery --quick --processes 1,2,3
    .venv/bin/python -m bench.delivery --quick --processes 1,2,3 \
        --database-url postgresql://postgres@127.0.0.1:5432/helper_dlv   # its public schema is recreated
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import inspect
import itertools
import logging
import math
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.app import App, build_app
from bot.channels.common import CHANNEL
from bot.channels.telegram import make_bot
from bot.channels.telegram_sender import AiogramSender
from models import OutboxMessage, OutboxStatus
from models.db import make_engine, normalise_url
from notifications.dispatcher import Dispatcher, DispatchStats
from notifications.limits import (
    GLOBAL_MESSAGES_PER_SECOND,
    PER_CHAT_MESSAGES_PER_SECOND,
    PER_GROUP_MESSAGES_PER_MINUTE,
    REPLY_RESERVE,
    RateLimiter,
)
from workflows.notices import enqueue
from workflows.settings import Settings

try:
    from tests.support.botapi import FakeBotAPI, SentMessage, TelegramLimits
except ModuleNotFoundError:  # `python bench/delivery.py`: the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.botapi import FakeBotAPI, SentMessage, TelegramLimits

SEED = 20261124
TEMPLATE = "repair_accept"  # "您的信用修复申请 {{ ref_no }}（决定书 {{ decision_no }}）已受理…": one line, no buttons
MARKER = re.compile(r"BENCH-(\d{6})")  # each notice's number, carried in ref_no
FIRST_PRIVATE_CHAT = 700_000_001
FIRST_GROUP_CHAT = -1_001_700_000_001  # supergroup ids are -100xxxxxxxxxx
TARGET_RATIO = 0.95  # the issue: at least 0.95 of the 30/s ceiling...
MAX_429_SHARE = 0.01  # ...with at most 1 % of requests answered 429
PROFILE_SECONDS = 10.0  # the rate profile's step
PROCESS_PROFILE_SECONDS = 5.0  # the same with --processes, whose quick drains last half a minute
POLL_SECONDS = 0.1  # how often the bench looks whether the outbox is drained
UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.SENDING)
DEFAULT_CONCURRENCY = inspect.signature(Dispatcher).parameters["concurrency"].default
MAX_PER_CHAT = 20  # the busiest private chat needs 20 s of its 1/s: well inside the drain


# ---- workload ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    number: int  # write order, 0-based; the outbox ids follow it
    chat_id: int


def plan_notices(
    notices: int, chats: int, groups: int, group_notices: int, order: str, rng: random.Random
) -> list[Notice]:
    """Who gets how many notices, in the order they are written to the outbox."""
    private = [FIRST_PRIVATE_CHAT + k for k in range(chats)]
    private_notices = notices - groups * group_notices
    if not chats <= private_notices <= chats * MAX_PER_CHAT:
        raise ValueError(
            f"{notices} notices minus {groups}×{group_notices} to groups do not fit {chats} chats "
            f"with 1 to {MAX_PER_CHAT} each"
        )
    counts = dict.fromkeys(private, min(2, private_notices // chats))  # everyone gets 2 when there are enough
    busy = list(itertools.accumulate(rng.paretovariate(1.5) for _ in private))  # heavy tail: a few busy chats
    extra = private_notices - sum(counts.values())
    while extra:
        chat = rng.choices(private, cum_weights=busy)[0]
        if counts[chat] < MAX_PER_CHAT:
            counts[chat] += 1
            extra -= 1
    recipients = [FIRST_GROUP_CHAT - k for k in range(groups)] * group_notices
    recipients += [chat for chat, n in counts.items() for _ in range(n)]
    if order == "grouped":  # one sweep per recipient: each chat's notices back to back
        first_seen = {chat: rng.random() for chat in set(recipients)}
        recipients.sort(key=first_seen.__getitem__)
    else:
        rng.shuffle(recipients)
    return [Notice(n, chat) for n, chat in enumerate(recipients)]


async def write_outbox(app: App, notices: Sequence[Notice]) -> float:
    """Every notice through enqueue(), in one transaction; returns the seconds it took."""
    started = time.perf_counter()
    async with app.sessions() as session, session.begin():
        for notice in notices:
            await enqueue(
                session,
                channel=CHANNEL,
                chat_id=str(notice.chat_id),
                template=TEMPLATE,
                context={"ref_no": f"BENCH-{notice.number:06d}", "decision_no": "枣交罚〔2026〕17号"},
                dedupe_key=f"bench|{notice.number}",
            )
    return time.perf_counter() - started


# ---- the run ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    seconds: float
    outcomes: int  # rows it settled: sent, failed, skipped or put back for a retry


@dataclass
class Run:
    started: float  # time.monotonic(), the clock FakeBotAPI stamps `sent` with
    drained_after: float | None  # None: the timeout came first
    batches: list[Batch] = field(default_factory=list)
    unfinished: int = 0
    statuses: Counter[str] = field(default_factory=Counter)


async def unfinished_rows(app: App) -> int:
    async with app.sessions() as session:
        stmt = (
            select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.status).in_(UNFINISHED))
        )
        return int((await session.exec(stmt)).one())


async def status_counts(app: App) -> Counter[str]:
    async with app.sessions() as session:
        stmt = select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status))
        return Counter({str(status): int(n) for status, n in (await session.exec(stmt)).all()})


RunOnce = Callable[[], Awaitable[DispatchStats]]


def timed_batches(run_once: RunOnce, batches: list[Batch]) -> RunOnce:
    """run_once that also notes how long each batch took and how many rows it settled."""

    async def wrapper() -> DispatchStats:
        started = time.monotonic()
        stats = await run_once()
        if stats.total:
            batches.append(Batch(time.monotonic() - started, stats.total))
        return stats

    return wrapper


async def drain(app: App, dispatcher: Dispatcher, timeout: float) -> Run:
    """Run the dispatcher until no row is pending or sending; the drain time ends when the bench sees that."""
    stop = asyncio.Event()
    run = Run(started=time.monotonic(), drained_after=None)
    dispatcher.run_once = timed_batches(dispatcher.run_once, run.batches)  # type: ignore[method-assign]
    task = asyncio.create_task(dispatcher.run_forever(stop))
    try:
        while time.monotonic() - run.started < timeout:
            await asyncio.sleep(POLL_SECONDS)
            if task.done():
                break  # run_forever never returns on its own: its exception surfaces below
            if await unfinished_rows(app) == 0:
                run.drained_after = time.monotonic() - run.started
                break
    finally:
        stop.set()
        await task
    run.unfinished = await unfinished_rows(app)
    run.statuses = await status_counts(app)
    return run


# ---- figures ----------------------------------------------------------------------------------------


@dataclass
class Figures:
    sent: int
    drain_seconds: float
    rate: float
    steady_rate: float
    requests: int
    too_many: int
    retries: int
    duplicates: int
    lost: int
    out_of_order: int
    profile: list[float]  # messages/s in each PROFILE_SECONDS of the drain
    busiest_group_minute: int  # most sends to one group in any 60 s: 20 means the group rule bound


def steady_rate(times: Sequence[float]) -> float:
    """Messages/s between the 10th and the 90th percentile send: start-up and tail excluded."""
    if len(times) < 10:
        return float("nan")
    low, high = round(len(times) * 0.1), round(len(times) * 0.9) - 1
    return (high - low) / (times[high] - times[low]) if times[high] > times[low] else float("nan")


def figures(api: FakeBotAPI, notices: Sequence[Notice], run: Run) -> Figures:
    numbers = [_marker(m.text) for m in api.sent]
    delivered = Counter(numbers)
    requested = Counter(
        _marker(params.get("text")) for method, params in api.calls if method == "sendMessage"
    )
    times = sorted(m.at for m in api.sent)
    drain_seconds = run.drained_after if run.drained_after is not None else time.monotonic() - run.started
    by_chat: dict[int, list[int]] = defaultdict(list)
    for message, number in zip(api.sent, numbers, strict=True):
        by_chat[message.chat_id].append(number)
    buckets = Counter(int((t - run.started) // PROFILE_SECONDS) for t in times)
    group_times = [sorted(m.at for m in api.sent if m.chat_id == chat) for chat in by_chat if chat < 0]
    return Figures(
        sent=len(api.sent),
        drain_seconds=drain_seconds,
        rate=len(api.sent) / drain_seconds,
        steady_rate=steady_rate(times),
        requests=sum(requested.values()),
        too_many=api.too_many_requests,
        retries=sum(n - 1 for n in requested.values()),
        duplicates=sum(n - 1 for n in delivered.values() if n > 1),
        lost=sum(1 for notice in notices if notice.number not in delivered),
        out_of_order=sum(1 for seq in by_chat.values() for a, b in itertools.pairwise(seq) if b < a),
        profile=[buckets[k] / PROFILE_SECONDS for k in range(max(buckets, default=-1) + 1)],
        busiest_group_minute=max((busiest_window(ts, 60.0) for ts in group_times), default=0),
    )


def busiest_window(times: Sequence[float], seconds: float) -> int:
    """The most of the sorted times that fall in one window of `seconds`."""
    return max((bisect.bisect_left(times, t + seconds) - k for k, t in enumerate(times)), default=0)


def _marker(text: Any) -> int:
    found = MARKER.search(str(text or ""))
    if found is None:
        raise AssertionError(f"a message without a bench marker: {text!r}")
    return int(found.group(1))


def print_report(f: Figures, run: Run, notices: int) -> None:
    ceiling = GLOBAL_MESSAGES_PER_SECOND
    share_429 = f.too_many / f.requests if f.requests else 0.0
    ideal = notices / ceiling
    drained = (
        "drained" if run.drained_after is not None else f"NOT drained ({run.unfinished} left at the timeout)"
    )
    print(f"\nDelivery ({drained}):")
    print(f"  sent                     {f.sent:>9,}  of {notices:,} notices")
    print(f"  time to drain            {f.drain_seconds:>9.1f} s  (at the ceiling: {ideal:.1f} s)")
    print(f"  achieved messages/s      {f.rate:>9.2f}  ratio to {ceiling}/s: {f.rate / ceiling:.3f}")
    print(
        f"  steady state (mid 80 %)  {f.steady_rate:>9.2f}  "
        f"ratio to {ceiling}/s: {f.steady_rate / ceiling:.3f}"
    )
    print(
        f"  busiest group minute     {f.busiest_group_minute:>9}  messages "
        f"(the rule binds at {PER_GROUP_MESSAGES_PER_MINUTE})"
    )
    print(f"  requests (sendMessage)   {f.requests:>9,}")
    print(f"  429s received            {f.too_many:>9,}  {share_429:.2%} of requests")
    print(f"  retries                  {f.retries:>9,}  requests beyond the first per notice")
    print(f"  duplicates               {f.duplicates:>9,}  (must be 0)")
    print(f"  lost                     {f.lost:>9,}  (must be 0)")
    print(f"  out of order in a chat   {f.out_of_order:>9,}")
    print("  outbox rows              " + ", ".join(f"{s} {n:,}" for s, n in sorted(run.statuses.items())))
    print(f"  messages/s by {PROFILE_SECONDS:.0f} s       " + " ".join(f"{rate:.0f}" for rate in f.profile))
    if run.batches:
        seconds = [b.seconds for b in run.batches]
        sizes = [b.outcomes for b in run.batches]
        print(
            f"  dispatcher batches       {len(run.batches):>9,}  median {statistics.median(seconds):.2f} s "
            f"(max {max(seconds):.1f} s), median {statistics.median(sizes):.0f} rows settled each"
        )
    rate_ok = f.rate / ceiling >= TARGET_RATIO
    share_ok = share_429 <= MAX_429_SHARE
    exact = f.duplicates == 0 and f.lost == 0
    print(
        f"\nTarget ≥ {TARGET_RATIO} of the ceiling: {'met' if rate_ok else 'MISSED'}; "
        f"429s ≤ {MAX_429_SHARE:.0%}: {'met' if share_ok else 'MISSED'}; "
        f"exactly once: {'yes' if exact else 'NO'}; "
        f"in order per chat: {'yes' if not f.out_of_order else 'NO'}"
    )


# ---- several processes (issue #10, item 3) ------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/0"
FIRST_USER_CHAT = 600_000_001  # private chats that only ask /help: no notice goes to them
REPLY_TARGET_SECONDS = 2.0  # the issue: replies during the drain answered within 2 s (p99)
STARTUP_TIMEOUT = 300.0  # a loaded 2-core machine imports aiogram, SQLAlchemy and migrates slowly
STOP_TIMEOUT = 40.0  # `credit-bot run` waits up to 35 s for its sends in flight
LAST_REPLIES_SECONDS = 5.0  # after the drain, how long the bench waits for replies still due
REFUSED_DATABASES = frozenset({"test", "lead_test"})  # other sessions' databases: never reset by the bench


@dataclass
class Process:
    role: str  # "run" (long polling + dispatcher + scheduler) or "deliver"
    proc: asyncio.subprocess.Process
    log: Path
    cpu_seconds: float = 0.0
    log_bytes: int = 0  # the log's size when asked to stop: what follows is shutting down, not the drain


@dataclass
class ProcessRun:
    processes: int
    budget: str  # "memory" or "redis"
    spawned: float  # time.monotonic() when the first process was started
    drained_after: float | None  # seconds after spawning when the bench saw no unfinished row
    asked: dict[int, float]  # user chat -> when it sent /help (the server's clock)
    sent: list[SentMessage]
    requests: int  # sendMessage calls, 429s included
    too_many: int
    unfinished: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    sent_by: dict[str, int] = field(default_factory=dict)  # process role -> notices it delivered
    cpu: dict[str, float] = field(default_factory=dict)  # process role -> CPU seconds
    bench_cpu: float = 0.0  # this process: the fake Bot API server and the simulated users
    problems: list[str] = field(default_factory=list)  # WARNING and worse from the processes' logs
    too_many_at: list[float] = field(default_factory=list)  # when the server answered 429
    redis_calls: int | None = None  # budget scripts Redis ran (EVALSHA), None with the memory budget
    # Redis budget: seconds a slot's stamp moved after its take
    holds: list[float] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)


@dataclass
class ProcessFigures:
    label: str
    notices: int
    delivered: int
    drain_seconds: float  # first to last notice at the server
    notice_rate: float
    rate: float  # notices and replies in the drain window
    steady_rate: float  # the same over the middle 80 % of those sends
    requests: int
    too_many: int
    duplicates: int
    lost: int
    out_of_order: int
    asked: int
    answered: int
    latencies: list[float]
    profile: list[float]  # all sends/s in each PROCESS_PROFILE_SECONDS from the first notice
    tail_chats: int  # chats the last 10 % of notices went to: few means the per-chat 1/s bound the tail
    tail_most: int  # the most of those notices that went to one chat
    tail_gap: float  # median seconds between two notices to one chat among them
    spans: list[float]  # seconds from each send to the 30th after it at the server: 1 s plus the overhead
    slow_replies: list[str]  # replies later than the target, with any 429 that came while they waited


async def fresh_database(url: str, workdir: Path, label: str) -> str:
    """An empty database for one run: a new SQLite file, or the PostgreSQL schema dropped and recreated."""
    if url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{workdir / f'delivery-{label}.db'}"
    name = make_url(normalise_url(url)).database
    if not name or name in REFUSED_DATABASES:
        raise SystemExit(f"refusing to reset the database {name!r}: use a database of the bench's own")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            await conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        await engine.dispose()
    return url


async def spawn(role: str, env: dict[str, str], workdir: Path, label: str, k: int) -> Process:
    log = workdir / f"{label}-{role}-{k}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", role, cwd=workdir, env=env, stdout=out, stderr=out
        )
    return Process(role if role == "run" else f"{role} {k}", proc, log)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (Linux), 0 where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def stop_all(processes: Sequence[Process]) -> None:
    """SIGINT (the Ctrl-C the processes handle), then kill what has not stopped in STOP_TIMEOUT."""
    for p in processes:
        p.cpu_seconds = cpu_seconds(p.proc.pid)
        p.log_bytes = p.log.stat().st_size
        if p.proc.returncode is None:
            p.proc.send_signal(signal.SIGINT)
    for p in processes:
        try:
            await asyncio.wait_for(p.proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            p.proc.kill()
            await p.proc.wait()


async def started(api: FakeBotAPI, processes: Sequence[Process]) -> None:
    """Wait for `run` to poll Telegram; a process that exits first ends the bench with its log."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not any(method == "getUpdates" for method, _ in api.calls):
        gone = [p for p in processes if p.proc.returncode is not None]
        if gone or time.monotonic() > deadline:
            await stop_all(processes)
            tails = "\n".join(
                f"--- {p.role}\n" + p.log.read_text(errors="replace")[-2000:] for p in processes
            )
            raise SystemExit(
                f"`credit-bot run` did not start polling (exited: {[p.role for p in gone]}):\n{tails}"
            )
        await asyncio.sleep(POLL_SECONDS)


def record_429s(api: FakeBotAPI) -> list[float]:
    """When the server answers 429, on its clock (FakeBotAPI counts them but keeps no times)."""
    times: list[float] = []
    admit = api._admit

    def timed_admit(method: str, chat_id: int) -> None:
        before = api.too_many_requests
        try:
            admit(method, chat_id)
        finally:
            if api.too_many_requests > before:
                times.append(time.monotonic())

    api._admit = timed_admit  # type: ignore[method-assign]
    return times


async def redis_script_calls(url: str) -> int:
    """EVALSHA calls Redis has run since it started (every process on that Redis counts)."""
    import coredis

    redis = coredis.Redis.from_url(url, decode_responses=True)
    try:
        stats = await redis.info("commandstats")
    finally:
        redis.connection_pool.disconnect()
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


async def sample_holds(url: str, token: str, stop: asyncio.Event) -> list[float]:
    """How far each send's stamp moved after its take: the global window's members are added at the take
    and restamped to the request's write (plus the arrival margin), or to done() where no write was reported,
    so a member seen with two scores held its slot that much longer than one second.
    Sampled every 10 ms; a send that took less than that is not seen twice and not counted."""
    import coredis

    redis = coredis.Redis.from_url(url, decode_responses=True)
    key = f"credit-bot:{token.split(':', 1)[0]}:global"
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    try:
        while not stop.is_set():
            for member, score in await redis.zrange(key, 0, -1, withscores=True):
                first.setdefault(member, score)
                last[member] = score
            await asyncio.sleep(0.01)
    finally:
        redis.connection_pool.disconnect()
    return sorted(last[m] - first[m] for m in first if last[m] > first[m])


async def play_users(
    api: FakeBotAPI, asked: dict[int, float], stop: asyncio.Event, per_second: float
) -> None:
    """Users in private chats of their own send /help, `per_second` of them a second, until stop."""
    chat = FIRST_USER_CHAT + len(asked)
    while not stop.is_set():
        asked[chat] = time.monotonic()  # FakeBotAPI stamps `sent` with this clock
        api.push_text(chat, "/help")
        chat += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1 / per_second)


async def wait_for_replies(api: FakeBotAPI, asked: dict[int, float], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if asked.keys() <= {m.chat_id for m in api.sent}:
            return
        await asyncio.sleep(POLL_SECONDS)


async def sent_by_process(app: App, processes: Sequence[Process]) -> dict[str, int]:
    """Notices each process delivered: claimed_by is host:pid:…, written by the claim that sent it."""
    roles = {p.proc.pid: p.role for p in processes}
    async with app.sessions() as session:
        stmt = (
            select(OutboxMessage.claimed_by, func.count())
            .where(col(OutboxMessage.status) == OutboxStatus.SENT)
            .group_by(col(OutboxMessage.claimed_by))
        )
        counts: Counter[str] = Counter()
        for claimed_by, n in (await session.exec(stmt)).all():
            pid = int(str(claimed_by).split(":")[1]) if claimed_by and claimed_by.count(":") >= 2 else -1
            counts[roles.get(pid, str(claimed_by))] += int(n)
    return {p.role: counts[p.role] for p in processes} | {
        k: v for k, v in counts.items() if k not in roles.values()
    }


def log_problems(processes: Sequence[Process]) -> list[str]:
    lines = []
    for p in processes:
        with p.log.open("rb") as log:
            text = log.read(p.log_bytes).decode(errors="replace")
        for line in text.splitlines():
            if any(level in line for level in ("WARNING", "ERROR", "CRITICAL", "Traceback")):
                lines.append(f"{p.role}: {line.strip()}")
    return lines


async def measure_processes(
    args: argparse.Namespace, notices: Sequence[Notice], count: int, budget: str, workdir: Path
) -> ProcessRun:
    """One `credit-bot run` and count − 1 `credit-bot deliver` against one fresh database and fake server."""
    label = f"n{count}-{budget}"
    url = await fresh_database(args.database_url, workdir, label)
    # Migrated here, once: processes starting together on an empty database would migrate concurrently.
    app = await build_app(Settings(database_url=url, _env_file=None), migrate_db=True)  # type: ignore[call-arg]
    try:
        await write_outbox(app, notices)
        token = f"{random.randint(10**9, 2 * 10**9)}:BENCH-DELIVERY"  # fresh bot id: fresh Redis keys
        async with FakeBotAPI(token, limits=telegram_limits()) as api:
            env = {
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "DATABASE_URL": url,
                "TELEGRAM_BOT_TOKEN": token,
                "TELEGRAM_API_BASE": api.base_url,
                "SEND_BUDGET": "memory" if budget == "memory" else args.redis,
            }
            run_429s = record_429s(api)
            redis_before = await redis_script_calls(args.redis) if budget == "redis" else None
            sampling = asyncio.Event()
            holds = (
                asyncio.create_task(sample_holds(args.redis, token, sampling)) if budget == "redis" else None
            )
            cpu_before = time.process_time()
            spawned = time.monotonic()
            processes = [await spawn("run", env, workdir, label, 0)]
            processes += [await spawn("deliver", env, workdir, label, k) for k in range(1, count)]
            run = ProcessRun(count, budget, spawned, None, {}, [], 0, 0)
            stop_users = asyncio.Event()
            users: asyncio.Task[None] | None = None
            try:
                await started(api, processes)  # `run` answers chats from now on
                users = asyncio.create_task(play_users(api, run.asked, stop_users, args.users_per_second))
                while time.monotonic() - spawned < args.timeout:
                    await asyncio.sleep(POLL_SECONDS)
                    run.crashed = [p.role for p in processes if p.proc.returncode is not None]
                    if run.crashed:
                        break
                    if await unfinished_rows(app) == 0:
                        run.drained_after = time.monotonic() - spawned
                        break
                stop_users.set()
                await users
                await wait_for_replies(api, run.asked, LAST_REPLIES_SECONDS)
                await asyncio.sleep(0.5)  # a notice sent twice would arrive now
            finally:
                stop_users.set()
                if users is not None and not users.done():
                    await users
                await stop_all(processes)
            run.bench_cpu = time.process_time() - cpu_before
            run.cpu = {p.role: p.cpu_seconds for p in processes}
            run.sent = list(api.sent)
            run.requests = sum(1 for method, _ in api.calls if method == "sendMessage")
            run.too_many = api.too_many_requests
            run.too_many_at = run_429s
            sampling.set()
            if holds is not None:
                run.holds = await holds
            if redis_before is not None:
                run.redis_calls = await redis_script_calls(args.redis) - redis_before
        run.unfinished = await unfinished_rows(app)
        run.statuses = await status_counts(app)
        run.sent_by = await sent_by_process(app, processes)
        run.problems = log_problems(processes)
    finally:
        await app.close()
    return run


def telegram_limits() -> TelegramLimits:
    return TelegramLimits(
        global_per_second=GLOBAL_MESSAGES_PER_SECOND,
        per_chat_per_second=PER_CHAT_MESSAGES_PER_SECOND,
        per_group_per_minute=PER_GROUP_MESSAGES_PER_MINUTE,
    )


def process_figures(run: ProcessRun, notices: Sequence[Notice]) -> ProcessFigures:
    notice_msgs = [m for m in run.sent if m.chat_id not in run.asked]
    numbers = [_marker(m.text) for m in notice_msgs]
    delivered = Counter(numbers)
    by_chat: dict[int, list[int]] = defaultdict(list)
    for message, number in zip(notice_msgs, numbers, strict=True):
        by_chat[message.chat_id].append(number)
    notice_times = sorted(m.at for m in notice_msgs)
    first, last = (notice_times[0], notice_times[-1]) if notice_times else (0.0, 0.0)
    drain = last - first
    in_window = sorted(m.at for m in run.sent if first <= m.at <= last)
    buckets = Counter(int((t - first) // PROCESS_PROFILE_SECONDS) for t in in_window)
    tail = sorted(notice_msgs, key=lambda m: m.at)[len(notice_msgs) * 9 // 10 :]
    tail_counts = Counter(m.chat_id for m in tail)
    tail_times: dict[int, list[float]] = defaultdict(list)
    for m in tail:
        tail_times[m.chat_id].append(m.at)
    tail_gaps = [b - a for times in tail_times.values() for a, b in itertools.pairwise(times)]
    first_reply: dict[int, float] = {}
    for m in run.sent:
        if m.chat_id in run.asked and m.chat_id not in first_reply:
            first_reply[m.chat_id] = m.at
    return ProcessFigures(
        label=f"N={run.processes} {run.budget}",
        notices=len(notices),
        delivered=len(delivered),
        drain_seconds=drain,
        notice_rate=(len(notice_times) - 1) / drain if drain > 0 else float("nan"),
        rate=(len(in_window) - 1) / drain if drain > 0 else float("nan"),
        steady_rate=steady_rate(in_window),
        requests=run.requests,
        too_many=run.too_many,
        duplicates=sum(n - 1 for n in delivered.values() if n > 1),
        lost=sum(1 for notice in notices if notice.number not in delivered),
        out_of_order=sum(1 for seq in by_chat.values() for a, b in itertools.pairwise(seq) if b < a),
        asked=len(run.asked),
        answered=len(first_reply),
        latencies=sorted(first_reply[chat] - run.asked[chat] for chat in first_reply),
        profile=[buckets[k] / PROCESS_PROFILE_SECONDS for k in range(max(buckets, default=-1) + 1)],
        tail_chats=len(tail_counts),
        tail_most=max(tail_counts.values(), default=0),
        tail_gap=statistics.median(tail_gaps) if tail_gaps else float("nan"),
        spans=sorted(b - a for a, b in zip(in_window, in_window[GLOBAL_MESSAGES_PER_SECOND:], strict=False)),
        slow_replies=[
            f"{first_reply[chat] - at:.2f} s (429s while waiting: "
            f"{sum(1 for t in run.too_many_at if at <= t <= first_reply[chat])})"
            for chat, at in run.asked.items()
            if chat in first_reply and first_reply[chat] - at > REPLY_TARGET_SECONDS
        ],
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile of sorted values (nearest rank: p99 of 50 replies is the worst one)."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]


def print_process_run(f: ProcessFigures, run: ProcessRun) -> None:
    ceiling = GLOBAL_MESSAGES_PER_SECOND
    share = f.too_many / f.requests if f.requests else 0.0
    drained = (
        f"drained {run.drained_after:.1f} s after spawning"
        if run.drained_after is not None
        else f"NOT drained ({run.unfinished} left; crashed: {', '.join(run.crashed) or 'none'})"
    )
    print(f"\n{f.label}: 1 `credit-bot run` + {run.processes - 1} `credit-bot deliver` ({drained})")
    print(f"  notices delivered        {f.delivered:>9,}  of {f.notices:,}")
    print(
        f"  drain, first→last notice {f.drain_seconds:>9.1f} s  (at the ceiling: {f.notices / ceiling:.1f} s)"
    )
    print(
        f"  notices/s                {f.notice_rate:>9.2f}  ratio to {ceiling}/s: {f.notice_rate / ceiling:.3f}"
    )
    print(f"  all sends/s (+ replies)  {f.rate:>9.2f}  ratio to {ceiling}/s: {f.rate / ceiling:.3f}")
    print(
        f"  all sends/s, mid 80 %    {f.steady_rate:>9.2f}  ratio to {ceiling}/s: {f.steady_rate / ceiling:.3f}"
    )
    print(f"  429s                     {f.too_many:>9,}  {share:.2%} of {f.requests:,} sendMessage requests")
    print(
        f"  duplicates / lost        {f.duplicates:>5} / {f.lost:<5}  out of order in a chat: {f.out_of_order}"
    )
    print(
        f"  replies to /help         {f.answered:>5} / {f.asked:<5}  p50 {percentile(f.latencies, 50):.2f} s, "
        f"p99 {percentile(f.latencies, 99):.2f} s, max {max(f.latencies, default=float('nan')):.2f} s"
    )
    print(
        f"  all sends/s by {PROCESS_PROFILE_SECONDS:.0f} s       "
        + " ".join(f"{rate:.0f}" for rate in f.profile)
    )
    print(
        f"  31 sends in a row span   {percentile(f.spans, 50):>9.3f} s  median (p10 {percentile(f.spans, 10):.3f} s, "
        f"min {min(f.spans, default=float('nan')):.3f} s): one second plus what each slot loses"
    )
    print(
        f"  last 10 % of notices     {f.tail_chats:>9,}  chats, at most {f.tail_most} to one, "
        f"median gap within a chat {f.tail_gap:.2f} s"
    )
    if f.slow_replies:
        print(f"  replies over {REPLY_TARGET_SECONDS:.0f} s         " + "; ".join(f.slow_replies))
    if run.holds:
        median = statistics.median(run.holds)
        print(
            f"  stamp moved after take   {median:>9.3f} s  median of {len(run.holds):,} seen, p90 "
            f"{percentile(run.holds, 90):.3f} s: a window of {GLOBAL_MESSAGES_PER_SECOND - REPLY_RESERVE} "
            f"notices counted from there allows {(GLOBAL_MESSAGES_PER_SECOND - REPLY_RESERVE) / (1 + median):.1f}/s"
        )
    if run.redis_calls is not None:
        print(
            f"  Redis budget scripts     {run.redis_calls:>9,}  calls, "
            f"{run.redis_calls / max(1, f.requests):.1f} per sendMessage request"
        )
    print("  notices sent by          " + ", ".join(f"{role} {n:,}" for role, n in run.sent_by.items()))
    print(
        "  CPU seconds              "
        + ", ".join(f"{role} {s:.1f}" for role, s in run.cpu.items())
        + f", bench (fake server, users) {run.bench_cpu:.1f}"
    )
    print("  outbox rows              " + ", ".join(f"{s} {n:,}" for s, n in sorted(run.statuses.items())))
    if run.problems:
        print(f"  log lines ≥ WARNING      {len(run.problems):>9,}  first: {run.problems[0][:150]}")


def print_process_summary(results: Sequence[ProcessFigures]) -> None:
    ceiling = GLOBAL_MESSAGES_PER_SECOND
    baseline = next((f for f in results if f.label == "N=1 memory"), results[0])
    print(f"\nSummary (drain_1 = {baseline.label}, {baseline.drain_seconds:.1f} s):")
    print(
        f"  {'':12} {'drain s':>8} {'ratio':>6} {'mid80':>6} {'429s':>7} {'dup/lost':>9} "
        f"{'replies p50/p99/max s':>23}  drain ≤ drain_1"
    )
    for f in results:
        share = f.too_many / f.requests if f.requests else 0.0
        lat = f"{percentile(f.latencies, 50):.2f}/{percentile(f.latencies, 99):.2f}/{max(f.latencies, default=float('nan')):.2f}"
        slower = f.drain_seconds / baseline.drain_seconds if baseline.drain_seconds else float("nan")
        print(
            f"  {f.label:12} {f.drain_seconds:>8.1f} {f.rate / ceiling:>6.3f} {f.steady_rate / ceiling:>6.3f} "
            f"{share:>7.2%} {f'{f.duplicates}/{f.lost}':>9} {lat:>23}  "
            f"{'yes' if slower <= 1.0 else 'NO'} ({slower:.2f}×)"
        )
    rate_ok = all(f.rate / ceiling >= TARGET_RATIO for f in results)
    share_ok = all(f.too_many <= MAX_429_SHARE * f.requests for f in results)
    replies_ok = all(
        f.answered == f.asked and percentile(f.latencies, 99) <= REPLY_TARGET_SECONDS for f in results
    )
    exact = all(f.duplicates == 0 and f.lost == 0 for f in results)
    never_slower = all(f.drain_seconds <= baseline.drain_seconds for f in results)
    print(
        f"\nTargets: aggregate ≥ {TARGET_RATIO} of {ceiling}/s: {'met' if rate_ok else 'MISSED'}; "
        f"429s ≤ {MAX_429_SHARE:.0%}: {'met' if share_ok else 'MISSED'}; "
        f"replies p99 ≤ {REPLY_TARGET_SECONDS:.0f} s: {'met' if replies_ok else 'MISSED'}; "
        f"exactly once: {'yes' if exact else 'NO'}; never slower than one process: "
        f"{'yes' if never_slower else 'NO'}"
    )


async def bench_processes(args: argparse.Namespace, notices: Sequence[Notice], workdir: Path) -> None:
    print(
        f"Workload: {len(notices):,} notices ({args.order}) to {args.chats:,} private chats plus "
        f"{args.group_notices} to each of {args.groups} group chats; {args.users_per_second:g} users/s send "
        f"/help during the drain; database {'SQLite' if args.database_url.startswith('sqlite') else 'PostgreSQL'}"
    )
    runs = [(n, "memory" if n == 1 else "redis") for n in args.processes]
    if 1 in args.processes and args.redis_single:
        runs.insert(runs.index((1, "memory")) + 1, (1, "redis"))
    results = []
    for count, budget in runs:
        run = await measure_processes(args, notices, count, budget, workdir)
        f = process_figures(run, notices)
        print_process_run(f, run)
        results.append(f)
    print_process_summary(results)


# ---- main -------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, notices: Sequence[Notice], workdir: Path) -> None:
    per_chat = Counter(n.chat_id for n in notices)
    private_counts = sorted(n for chat, n in per_chat.items() if chat > 0)
    print(
        f"Workload: {len(notices):,} notices ({args.order}) to {args.chats:,} private chats "
        f"(median {statistics.median(private_counts):.0f}, max {private_counts[-1]}, "
        f"{sum(1 for n in private_counts if n >= 10)} chats with 10 or more) "
        f"plus {args.group_notices} to each of {args.groups} group chats"
    )
    url = await fresh_database(args.database_url, workdir, "in-process")
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    app = await build_app(settings, migrate_db=True)
    try:
        print(f"Outbox written with enqueue() in {await write_outbox(app, notices):.1f} s")
        async with FakeBotAPI(limits=telegram_limits()) as api:
            bot = make_bot(api.token, api.base_url)
            try:
                dispatcher = app.dispatcher(
                    {CHANNEL: AiogramSender(bot)}, limiter=RateLimiter(args.rate, args.chat_rate)
                )
                if args.batch:
                    dispatcher.batch = args.batch
                if args.concurrency:  # App.dispatcher has no knob for it (yet): the bench swaps the slots
                    dispatcher._slots = asyncio.Semaphore(args.concurrency)
                print(
                    f"Dispatcher: batch {dispatcher.batch}, "
                    f"concurrency {args.concurrency or DEFAULT_CONCURRENCY}; "
                    f"RateLimiter {args.rate:g}/s, {args.chat_rate:g}/s per chat; "
                    f"draining (timeout {args.timeout:.0f} s)…"
                )
                run = await drain(app, dispatcher, args.timeout)
            finally:
                await bot.session.close()
            print_report(figures(api, notices, run), run, len(notices))
    finally:
        await app.close()


def _counts(text: str) -> list[int]:
    counts = [int(n) for n in text.split(",")]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("process counts are whole numbers of at least 1, e.g. 1,2,3")
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--notices", type=int, default=5000, help="outbox rows (default 5000)")
    parser.add_argument("--chats", type=int, default=2000, help="private chats (default 2000)")
    parser.add_argument(
        "--groups", type=int, default=3, help="group chats, besides the private ones (default 3)"
    )
    parser.add_argument(
        "--group-notices", type=int, default=40, help="notices to each group (default 40: two minutes' worth)"
    )
    parser.add_argument("--order", choices=("shuffled", "grouped"), default="shuffled", help="write order")
    parser.add_argument(
        "--quick", action="store_true", help="750 notices to 300 chats and 1 group × 10 (~30 s)"
    )
    parser.add_argument("--batch", type=int, help="Dispatcher batch (default: the Dispatcher's)")
    parser.add_argument("--concurrency", type=int, help="Dispatcher concurrency (default: the Dispatcher's)")
    parser.add_argument(
        "--rate", type=float, default=GLOBAL_MESSAGES_PER_SECOND, help="RateLimiter's overall messages/s"
    )
    parser.add_argument(
        "--chat-rate",
        type=float,
        default=PER_CHAT_MESSAGES_PER_SECOND,
        help="RateLimiter's per chat messages/s",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds (600)")
    parser.add_argument("--keep", action="store_true", help="keep the database (its path is printed)")
    parser.add_argument(
        "--database-url",
        default="sqlite",
        help="sqlite (default: a fresh file per run) or a PostgreSQL URL whose public schema the bench "
        "drops and recreates for every run",
    )
    parser.add_argument(
        "--processes",
        type=_counts,
        help="several processes: e.g. 1,2,3 runs one `credit-bot run` plus N-1 `credit-bot deliver` per N",
    )
    parser.add_argument("--redis", default=REDIS_URL, help=f"SEND_BUDGET for N > 1 (default {REDIS_URL})")
    parser.add_argument(
        "--no-redis-single",
        dest="redis_single",
        action="store_false",
        help="with --processes: N=1 only with SEND_BUDGET=memory (default: memory, then redis too)",
    )
    parser.add_argument(
        "--users-per-second", type=float, default=2.0, help="with --processes: /help senders a second (2)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.notices, args.chats, args.groups, args.group_notices = 750, 300, 1, 10
    if min(args.notices, args.chats) < 1 or min(args.groups, args.group_notices) < 0:
        parser.error("--notices and --chats must be at least 1, --groups and --group-notices at least 0")
    try:
        notices = plan_notices(
            args.notices, args.chats, args.groups, args.group_notices, args.order, random.Random(SEED)
        )
    except ValueError as err:
        parser.error(str(err))
    logging.basicConfig(level=logging.WARNING, format="  [%(levelname)s %(name)s] %(message)s")

    workdir = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    print(
        f"信用交通助手 delivery bench — Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.machine()}; limits {GLOBAL_MESSAGES_PER_SECOND}/s overall, "
        f"{PER_CHAT_MESSAGES_PER_SECOND}/s per chat, {PER_GROUP_MESSAGES_PER_MINUTE}/min per group"
    )
    try:
        asyncio.run(
            bench_processes(args, notices, workdir) if args.processes else bench(args, notices, workdir)
        )
    finally:
        if args.keep:
            print(f"\ndatabase kept in {workdir.resolve()}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
