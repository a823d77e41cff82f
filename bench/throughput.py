"""Results-day throughput: every driver asks at once. Updates per second through `credit-bot run`, beside a
bare aiogram echo bot (bench/echo_bot.py) on the same local Bot API server, in one run.

    .venv/bin/python -m bench.throughput                        # both backends, both workloads (~15 min)
    .venv/bin/python -m bench.throughput --backend sqlite --updates 3000 --rounds 5
    .venv/bin/python -m bench.throughput --quick                # small data, 1 round, 500 updates (smoke)

Both bots are real processes polling one in-process fake Bot API (tests/support/botapi.py, without
limits), each with its own token. The product runs as `credit-bot run` with DATABASE_URL pointing at a
fresh database: Alembic-migrated, filled with the issue's data set (--scale 10: 60,000 subjects and 500,000
records, bench/engine.py's generators), 500 chats bound to subjects. Telegram's send limits are lifted
(TELEGRAM_PER_* settings), as the server has none.

Two workloads, each from 500 chats:
- `text`: unbound chats send plain text (the bot refuses it politely, one reply each);
- `menu`: bound chats send /menu (state, identity, a keyboard of button tokens, one reply each).

A round pushes --updates updates at once (round-robin over the chats) and times until as many replies
arrived. Each workload starts with one untimed warm-up update per chat, then rounds alternate echo,
product, echo, product...; the figures are medians over the rounds, and the ratio is the median of each
product round over the echo round just before it. Peak RSS (VmHWM) of both processes is read at the end
of each backend (the echo bot's covers every round so far, on the same number of updates per round).
Targets (issue #10): product/echo ≥ 0.5 on PostgreSQL and ≥ 0.4 on SQLite for both workloads; the product's
peak RSS ≤ the echo bot's + 50 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, insert

from bench.engine import NOW, SEED, Scale, _pick_subjects, _record_rows, _subject_rows, record_counts
from bench.sweep import pg_dsn
from models import ChatBinding, CreditRecord, Subject, SubjectKind
from models.migrate import upgrade
from workflows.clock import FrozenClock, local_today

try:
    from tests.support.botapi import FakeBotAPI
except ModuleNotFoundError:  # `python bench/throughput.py`: the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.botapi import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
CREDIT_BOT = ROOT / ".venv" / "bin" / "credit-bot"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_throughput"
ECHO_TOKEN = "111111:ECHO-BENCH-TOKEN"
PRODUCT_TOKEN = "222222:PRODUCT-BENCH-TOKEN"
CHATS = 500
BOUND_CHAT_BASE = 10_000_000  # chats 10000001.. are bound to subjects (menu workload)
UNBOUND_CHAT_BASE = 20_000_000  # chats 20000001.. are bound to nothing (text workload)
CHUNK = 20_000
TARGETS = {"postgresql": 0.5, "sqlite": 0.4}
RSS_MARGIN_MIB = 50
CRASH_MARK = "系统处理时出错了"  # bot/engine.py CRASH_TEXT: an event that failed
UNLIMITED = "1000000"
WORKLOADS = {
    # name: (first chat id - 1, the text each chat sends, what it is)
    "text": (UNBOUND_CHAT_BASE, "你好，我想查一下我的信用记录", "unbound chats send plain text"),
    "menu": (BOUND_CHAT_BASE, "/menu", "bound chats send /menu"),
}


# ---------------------------------------------------------------------------------------------------
# The database
# ---------------------------------------------------------------------------------------------------


def data_scale(factor: float) -> Scale:
    """bench/engine.py's shape: 1,000 enterprises, 5,000 drivers and 50,000 records per 1x."""
    return Scale(round(factor) or 1, round(1_000 * factor), round(5_000 * factor), round(50_000 * factor))


def _with_defaults(table: Table, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Rows with the columns' scalar Python defaults filled in (COPY applies none)."""
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.default is not None and c.default.is_scalar  # type: ignore[attr-defined]
    }
    for row in rows:
        yield {**{k: v for k, v in defaults.items() if k not in row}, **row}


def tables(sc: Scale) -> Iterator[tuple[Table, Iterator[dict[str, Any]]]]:
    """Subjects, their records, and the 500 bound chats (half enterprises spread over record counts, half
    drivers); the same seed gives the same rows on both backends."""
    rng = random.Random(SEED)
    today = local_today(FrozenClock(NOW))
    counts = record_counts(sc.enterprises, sc.records, rng)
    subject_table: Table = Subject.__table__  # type: ignore[attr-defined]
    record_table: Table = CreditRecord.__table__  # type: ignore[attr-defined]
    binding_table: Table = ChatBinding.__table__  # type: ignore[attr-defined]
    subjects = list(_subject_rows(sc, rng, today))
    driver_ids = [s["id"] for s in subjects if s["kind"] == SubjectKind.DRIVER.value]
    yield subject_table, _with_defaults(subject_table, subjects)
    yield record_table, _with_defaults(record_table, _record_rows(counts, rng, today))
    by_count = [i + 1 for i in sorted(range(sc.enterprises), key=lambda i: (counts[i], i))]
    picks = _pick_subjects(CHATS, by_count, driver_ids, rng)
    bindings = (
        {
            "channel": "telegram",
            "chat_id": str(BOUND_CHAT_BASE + 1 + k),
            "user_id": str(BOUND_CHAT_BASE + 1 + k),
            "subject_id": subject_id,
            "staff_id": None,
            "active": True,
            "created_at": NOW,
        }
        for k, subject_id in enumerate(picks)
    )
    yield binding_table, _with_defaults(binding_table, bindings)


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build_sqlite(path: Path, sc: Scale) -> str:
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    db = create_engine(f"sqlite:///{path}")
    with db.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")  # a throw-away file
        for table, rows in tables(sc):
            for chunk in _chunks(rows):
                conn.execute(insert(table), chunk)
    with db.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return url


async def build_postgresql(url: str, sc: Scale) -> str:
    """Drop and re-create the bench database's public schema, migrate, COPY the rows, VACUUM ANALYZE."""
    import json

    import asyncpg  # the app's driver; the bench talks to it directly for COPY

    conn = await asyncpg.connect(pg_dsn(url))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await asyncio.to_thread(upgrade, url)
        for table, rows in tables(sc):
            for chunk in _chunks(rows):
                columns = list(chunk[0])
                records = [
                    tuple(json.dumps(v) if isinstance(v, list | dict) else v for v in r.values())
                    for r in chunk
                ]
                await conn.copy_records_to_table(table.name, records=records, columns=columns)
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
            )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return url


# ---------------------------------------------------------------------------------------------------
# The two bots
# ---------------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used (/proc/<pid>/stat), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm_mib(pid: int) -> float:
    """Peak resident set size of a live process (VmHWM in /proc/<pid>/status), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Bot:
    name: str
    api: FakeBotAPI
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def start_bot(name: str, api: FakeBotAPI, argv: list[str], env: dict[str, str], log_dir: Path) -> Bot:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, env=env, cwd=log_dir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    bot = Bot(name, api, process, log_path)
    since = len(api.calls)
    deadline = time.monotonic() + 120
    while not any(method == "getUpdates" for method, _ in api.calls[since:]):
        bot.alive()
        if time.monotonic() > deadline:
            bot.stop()
            raise TimeoutError(f"{name} did not start polling within 120 s")
        await asyncio.sleep(0.1)
    return bot


async def start_echo(api: FakeBotAPI, log_dir: Path) -> Bot:
    argv = [sys.executable, "-m", "bench.echo_bot", api.token, api.base_url]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await start_bot("echo", api, argv, env, log_dir)


async def start_product(api: FakeBotAPI, database_url: str, log_dir: Path, command: list[str]) -> Bot:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE": api.base_url,
        "DATABASE_URL": database_url,
        # The bench server has no limits: the product's send budget must not be the bottleneck measured.
        "TELEGRAM_PER_SECOND": UNLIMITED,
        "TELEGRAM_PER_CHAT_PER_SECOND": UNLIMITED,
        "TELEGRAM_PER_GROUP_PER_MINUTE": UNLIMITED,
    }
    return await start_bot("product", api, command, env, log_dir)


# ---------------------------------------------------------------------------------------------------
# Rounds
# ---------------------------------------------------------------------------------------------------


@dataclass
class Round:
    seconds: float
    updates: int
    crashes: int
    cpu: float  # the bot process's CPU seconds in the round

    @property
    def cpu_ms(self) -> float:
        """CPU per update: steadier than updates/s on a shared machine (it ignores time spent waiting)."""
        return self.cpu / self.updates * 1000

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


async def one_round(bot: Bot, workload: str, updates: int, timeout: float) -> Round:
    """Push `updates` messages at once, round-robin over the workload's chats; time the replies."""
    base, text, _ = WORKLOADS[workload]
    api = bot.api
    mark = api.mark()
    cpu_before = cpu_seconds(bot.process.pid)
    started = time.perf_counter()
    for k in range(updates):
        chat_id = base + 1 + k % CHATS
        api.push_text(chat_id, text)
    await api.wait_for(lambda _: True, timeout=timeout, since=mark + updates - 1)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(bot.process.pid) - cpu_before
    crashes = sum(CRASH_MARK in (m.text or "") for m in api.sent[mark:])
    bot.alive()
    return Round(seconds, updates, crashes, cpu)


@dataclass
class Result:
    backend: str
    workload: str
    echo: list[Round] = field(default_factory=list)
    product: list[Round] = field(default_factory=list)

    @property
    def echo_rate(self) -> float:
        return statistics.median(r.rate for r in self.echo)

    @property
    def product_rate(self) -> float:
        return statistics.median(r.rate for r in self.product)

    @property
    def cpu_ratio(self) -> float:
        """Echo's CPU per update over the product's: the ratio if both were CPU-bound on an idle machine."""
        return statistics.median(e.cpu_ms / p.cpu_ms for e, p in zip(self.echo, self.product, strict=True))

    @property
    def ratio(self) -> float:
        return statistics.median(p.rate / e.rate for e, p in zip(self.echo, self.product, strict=True))


async def measure(echo: Bot, product: Bot, backend: str, workload: str, args: argparse.Namespace) -> Result:
    result = Result(backend, workload)
    timeout = max(120.0, args.updates / 5)
    for bot in (echo, product):  # warm-up: every chat's first update (state rows, connections, caches)
        await one_round(bot, workload, CHATS, timeout)
    for _ in range(args.rounds):
        result.echo.append(await one_round(echo, workload, args.updates, timeout))
        result.product.append(await one_round(product, workload, args.updates, timeout))
        print(
            f"  {backend:<10} {workload:<4}  echo {result.echo[-1].rate:7.0f}/s   "
            f"product {result.product[-1].rate:6.1f}/s   ratio {result.product[-1].rate / result.echo[-1].rate:.3f}"
            f"   CPU/update echo {result.echo[-1].cpu_ms:.2f} ms, product {result.product[-1].cpu_ms:.2f} ms",
            flush=True,
        )
    return result


# ---------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    sc = data_scale(args.scale)
    print(
        f"throughput: {args.updates} updates per round from {CHATS} chats, {args.rounds} rounds; data "
        f"{sc.enterprises + sc.drivers:,} subjects, {sc.records:,} records; "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs",
        flush=True,
    )
    results: list[Result] = []
    memory: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        work = Path(tmp)
        echo_api, product_api = FakeBotAPI(ECHO_TOKEN), FakeBotAPI(PRODUCT_TOKEN)
        await echo_api.start()
        await product_api.start()
        echo = await start_echo(echo_api, work)
        try:
            for backend in backends:
                started = time.perf_counter()
                if backend == "sqlite":
                    url = await asyncio.to_thread(build_sqlite, work / "bench.db", sc)
                else:
                    url = await build_postgresql(args.pg_url, sc)
                print(f"{backend}: database built in {time.perf_counter() - started:.0f} s", flush=True)
                product = await start_product(product_api, url, work, args.product_command.split())
                print(f"  product pid {product.process.pid}, echo pid {echo.process.pid}", flush=True)
                try:
                    for workload in args.workloads:
                        results.append(await measure(echo, product, backend, workload, args))
                    memory[backend] = (vm_hwm_mib(product.process.pid), vm_hwm_mib(echo.process.pid))
                finally:
                    product.stop()
                    (work / "product.log").replace(work / f"product-{backend}.log")
                    if args.keep_logs:
                        Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
                        (work / f"product-{backend}.log").replace(
                            Path(args.keep_logs) / f"product-{backend}.log"
                        )
        finally:
            echo.stop()
            await echo_api.stop()
            await product_api.stop()

    print()
    print(
        f"{'backend':<11}{'workload':<9}{'echo/s':>9}{'product/s':>11}{'ratio':>8}{'target':>8}"
        f"{'CPU ratio':>11}  crashes"
    )
    met = True
    for r in results:
        target = TARGETS[r.backend]
        ok = r.ratio >= target
        met &= ok
        crashes = sum(p.crashes for p in r.product)
        print(
            f"{r.backend:<11}{r.workload:<9}{r.echo_rate:9.0f}{r.product_rate:11.1f}{r.ratio:8.3f}"
            f"{'≥' + str(target):>8}{r.cpu_ratio:11.3f}  {crashes}{'' if ok else '   (below target)'}"
        )
    print()
    print(
        f"{'backend':<11}{'product peak RSS':>17}{'echo peak RSS':>15}{'difference':>12}  target ≤ +{RSS_MARGIN_MIB}"
    )
    for backend, (product_mib, echo_mib) in memory.items():
        ok = product_mib <= echo_mib + RSS_MARGIN_MIB
        met &= ok
        print(
            f"{backend:<11}{product_mib:13.0f} MiB{echo_mib:11.0f} MiB{product_mib - echo_mib:+8.0f} MiB"
            f"{'' if ok else '  (above target)'}"
        )
    print()
    print(
        "medians over the rounds; ratio = median of product round / the echo round before it; CPU ratio ="
        " echo's CPU time per update / the product's (what the ratio would be if both were CPU-bound)"
    )
    return 0 if met else 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--updates", type=int, default=3000, help="updates per timed round (default 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per bot and workload")
    parser.add_argument("--workloads", nargs="+", choices=tuple(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument(
        "--scale", type=float, default=10, help="data: 10 = 60,000 subjects, 500,000 records (default)"
    )
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--quick", action="store_true", help="scale 0.1, 500 updates, 1 round (smoke)")
    parser.add_argument(
        "--product-command",
        default=f"{CREDIT_BOT} run",
        help="how to start the product (default: credit-bot run); e.g. a wrapper for an experiment",
    )
    parser.add_argument("--keep-logs", metavar="DIR", help="keep the product's log here")
    args = parser.parse_args(argv)
    if args.quick:
        args.scale, args.updates, args.rounds = 0.1, 500, 1
    return args


def main() -> int:
    return asyncio.run(run(parse_args(sys.argv[1:])))


if __name__ == "__main__":
    sys.exit(main())
