"""Webhook scale-out (issue #10): one and two `credit-bot run --webhook` instances on one PostgreSQL behind a
round-robin load balancer, the same load each time. Target: two instances ≥ 1.4x one, with no reply
missing, none sent twice and none a crash reply (an update that failed).

    .venv/bin/python -m bench.scaleout                          # aiogram, 3,000 /menu updates, 3 repeats
    .venv/bin/python -m bench.scaleout --workload text --updates 3000 --repeats 5
    .venv/bin/python -m bench.scaleout --framework ptb
    .venv/bin/python -m bench.scaleout --quick                  # 600 updates, 1 repeat (smoke)

The fake Bot API server (tests/support/botapi.py, without Telegram's limits) plays Telegram: after
setWebhook it POSTs every update to the balancer (tests/support/balancer.py), up to 40 at once, as
Telegram does. The balancer runs in a process of its own (--balancer inline: in this one), so that it
does not share a core with the fake server. The instances share one send budget in Redis (also the
single instance, for a fair comparison) with Telegram's limits lifted (TELEGRAM_PER_* settings), as the
server has none: what is measured is the bot's processing, not Telegram's cap.

The database (default helper_scale, created when missing) is rebuilt once: Alembic-migrated and filled
by bench/throughput.py's generator (--scale 0.1: 600 subjects, 5,000 records, 500 chats bound to
subjects). Workloads, each over 500 chats: `menu`, bound chats send /menu; `text`, unbound chats send
plain text (a polite refusal each).

A run starts the instances on fresh fake server and balancer, waits for every /healthz to answer 200
and every setWebhook, learns how many sendMessage calls one update makes from one warm-up message,
warms every chat with one untimed update, then pushes --updates updates at once (round-robin over the
chats). updates/s = updates / (last expected reply − first push). After a quiet second, each chat must
have exactly (its updates × replies per update) replies: more is a duplicate, fewer is missing. Runs
alternate 1, 2, 1, 2, ...; figures are medians over --repeats, and the ratio is the median of each
2-instance run over the 1-instance run just before it. Peak RSS is VmHWM of each instance at the end of
its run. CPU shares (CPU seconds / wall seconds of the timed round, 1.00 = one core) of the instances,
PostgreSQL, this process and everything else on the machine, and the database wait events sampled from
pg_stat_activity, say where the time went: the rate ratio is about (CPU the instances got, 2 / 1) x
(updates per instance CPU-second, 2 / 1), so a machine busy with other work caps the first factor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

try:
    from tests.support.balancer import RoundRobin
    from tests.support.botapi import FakeBotAPI
except ModuleNotFoundError:  # `python bench/scaleout.py`: the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.balancer import RoundRobin
    from tests.support.botapi import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
CREDIT_BOT = ROOT / ".venv" / "bin" / "credit-bot"
DATABASE = "helper_scale"
DEFAULT_PG_URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
TOKEN = "333333:SCALEOUT-BENCH-TOKEN"  # its own send-budget keys in Redis, apart from other benches
SECRET = "scaleout-bench-secret"
TARGET = 1.4
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


_ports = iter(random.Random(os.getpid()).sample(range(20_000, 32_000), 2_000))


def free_port() -> int:
    """A free port below the ephemeral range (32768+ on Linux), so no outgoing connection of the fake
    server or the balancer takes it between this choice and the instance's bind; never the same twice."""
    for port in _ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port left in 20000-32000")


# ---------------------------------------------------------------------------------------------------
# Where the CPU went
# ---------------------------------------------------------------------------------------------------


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def process_name(pid: int, cmdline: list[str], database: str) -> str:
    """A short name to group processes by: postgres backends by database, Python by module or script."""
    if cmdline and cmdline[0].startswith("postgres:"):
        return "postgres (this database)" if f" {database} " in cmdline[0] else "postgres (other)"
    words = [w for w in cmdline if not w.startswith("-")]
    if not words:
        return "kernel threads"
    if "python" in Path(words[0]).name and len(words) > 1:
        i = cmdline.index("-m") + 1 if "-m" in cmdline else 1
        rest = cmdline[i : i + 2] if cmdline[i].endswith("credit-bot") else cmdline[i : i + 1]
        return " ".join(Path(w).name for w in rest)
    return Path(words[0]).name


@dataclass
class CpuSnapshot:
    wall: float
    machine: float  # busy CPU seconds of the machine
    processes: dict[int, tuple[str, float]]  # pid -> (name, utime + stime)


def cpu_snapshot(database: str) -> CpuSnapshot:
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
            seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: proc(5) 14, 15
            processes[int(entry.name)] = (process_name(int(entry.name), cmdline, database), seconds)
    return CpuSnapshot(time.monotonic(), machine_busy_seconds(), processes)


@dataclass
class CpuShare:
    """CPU seconds per wall second of the timed round (1.00 = one core busy), by who used them."""

    instances: float
    postgres: float  # this database's backends
    bench: float  # this process: the fake Bot API server (and the balancer with --balancer inline)
    balancer: float
    others: list[tuple[str, float]]  # everything else on the machine, largest first

    @staticmethod
    def between(
        a: CpuSnapshot, b: CpuSnapshot, instance_pids: list[int], balancer_pid: int | None
    ) -> CpuShare:
        wall = b.wall - a.wall
        used: Counter[str] = Counter()
        for pid, (name, seconds) in b.processes.items():
            if pid in instance_pids:
                name = "instances"
            elif pid == balancer_pid:
                name = "balancer"
            elif pid == os.getpid():
                name = "bench"
            # a process that started after `a` counts from 0; one that ended before `b` is lost
            used[name] += (seconds - a.processes.get(pid, (name, 0.0))[1]) / wall
        used["unaccounted"] = max(0.0, (b.machine - a.machine) / wall - sum(used.values()))
        mine = ("instances", "postgres (this database)", "bench", "balancer")
        others = [(n, v) for n, v in used.most_common() if n not in mine and v >= 0.01]
        return CpuShare(*(used[n] for n in mine), others=others)

    @property
    def total_others(self) -> float:
        return sum(v for _, v in self.others)


async def sample_waits(dsn: str, database: str, stop: asyncio.Event, waits: Counter[str]) -> None:
    """What the database's busy backends are doing, five times a second: `active/Lock:transactionid` is a
    row-lock wait, `idle in transaction/Client:ClientRead` a transaction waiting for its client."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            rows = await conn.fetch(
                "SELECT state || '/' || coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w "
                "FROM pg_stat_activity WHERE datname = $1 AND state <> 'idle' AND pid <> pg_backend_pid()",
                database,
            )
            waits["samples"] += 1
            for row in rows:
                waits[row["w"]] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        await conn.close()


# ---------------------------------------------------------------------------------------------------
# The balancer, inline or in a process of its own
# ---------------------------------------------------------------------------------------------------


class Balancer:
    def __init__(self, backends: list[str], own_process: bool, log_dir: Path) -> None:
        self.backends = backends
        self.own_process = own_process
        self.log_dir = log_dir
        self.inline: RoundRobin | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        if not self.own_process:
            self.inline = RoundRobin(self.backends)
            await self.inline.start()
            self.url = self.inline.url
            return
        port = free_port()
        argv = [sys.executable, "-m", "bench.scaleout", "--serve-balancer", str(port), *self.backends]
        with (self.log_dir / "balancer.log").open("wb") as log:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            await asyncio.sleep(0.1)
        raise TimeoutError("the balancer process did not listen within 10 s")

    async def stop(self) -> None:
        if self.inline is not None:
            await self.inline.stop()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


async def serve_balancer(port: int, backends: list[str]) -> None:
    """`--serve-balancer PORT BACKEND...`: tests/support/balancer.py's RoundRobin on PORT, until killed."""
    from aiohttp import web

    balancer = RoundRobin(backends)
    balancer._http = aiohttp.ClientSession()  # RoundRobin.start binds port 0; here the parent chose it
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", balancer._forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


# ---------------------------------------------------------------------------------------------------
# Instances
# ---------------------------------------------------------------------------------------------------


@dataclass
class Instance:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"instance :{self.port} exited with {self.process.returncode}:\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_instance(
    port: int, api: FakeBotAPI, webhook_url: str, args: argparse.Namespace, log_dir: Path
) -> Instance:
    from bench.throughput import UNLIMITED

    env = {
        **os.environ,
        "DATABASE_URL": args.pg_url,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE": api.base_url,
        "BOT_FRAMEWORK": args.framework,
        "WEBHOOK_URL": webhook_url,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "SEND_BUDGET": args.redis,
        # The bench server has no limits: the send budget must not be the bottleneck measured.
        "TELEGRAM_PER_SECOND": UNLIMITED,
        "TELEGRAM_PER_CHAT_PER_SECOND": UNLIMITED,
        "TELEGRAM_PER_GROUP_PER_MINUTE": UNLIMITED,
    }
    log_path = log_dir / f"instance-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(CREDIT_BOT), "run", "--webhook"],
            env=env,
            cwd=log_dir,  # no stray .env
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Instance(port, process, log_path)


async def wait_ready(instances: list[Instance], api: FakeBotAPI, timeout: float = 120) -> None:
    """Every /healthz answers 200 and every instance has set the webhook and its command menus."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        for instance in instances:
            while True:
                instance.alive()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{instance.base}/healthz never answered 200")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(instance.base + "/healthz") as answer:
                        if answer.status == 200:
                            break
                await asyncio.sleep(0.2)
    while sum(method == "setWebhook" for method, _ in api.calls) < len(instances):
        if time.monotonic() > deadline:
            raise TimeoutError("not every instance called setWebhook")
        await asyncio.sleep(0.1)
    await api.wait_idle(quiet=0.5, timeout=60)  # setMyCommands after setWebhook


async def updates_served(instance: Instance) -> int:
    """credit_updates_total summed over kinds, from the instance's /metrics."""
    async with aiohttp.ClientSession() as http, http.get(instance.base + "/metrics") as answer:
        text = await answer.text()
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("credit_updates_total")
        )
    )


# ---------------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    instances: int
    updates: int
    seconds: float
    duplicates: int
    missing: int
    crashes: int
    failed_posts: int  # webhook POSTs not answered 2xx (Telegram would retry them)
    served: list[int]  # updates each instance handled (its /metrics)
    peak_rss_mib: list[float]
    cpu: CpuShare
    waits: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    @property
    def per_cpu(self) -> float:
        """Updates per CPU second the instances used: the rate with the machine's other load taken out."""
        return self.rate / self.cpu.instances


async def push_and_wait(
    api: FakeBotAPI, chat_ids: list[int], text: str, updates: int, per_update: int, timeout: float
) -> tuple[float, int]:
    """Push `updates` messages round-robin over chat_ids; seconds until the last expected reply, and the
    index into api.sent where this round's replies start."""
    mark = api.mark()
    started = time.monotonic()
    for k in range(updates):
        api.push_text(chat_ids[k % len(chat_ids)], text)
    last = await api.wait_for(lambda _: True, timeout=timeout, since=mark + updates * per_update - 1)
    return last.at - started, mark


def tally(api: FakeBotAPI, mark: int, chat_ids: list[int], updates: int, per_update: int) -> tuple[int, int]:
    """(duplicates, missing): replies per chat beyond / short of what its updates should get."""
    got = Counter(m.chat_id for m in api.sent[mark:])
    expected = Counter(chat_ids[k % len(chat_ids)] for k in range(updates))
    duplicates = sum(max(0, got[c] - n * per_update) for c, n in expected.items())
    duplicates += sum(n for c, n in got.items() if c not in expected)
    missing = sum(max(0, n * per_update - got[c]) for c, n in expected.items())
    return duplicates, missing


async def one_run(count: int, args: argparse.Namespace, work: Path) -> Run:
    from bench.throughput import CHATS, CRASH_MARK, WORKLOADS, vm_hwm_mib

    base, text, _ = WORKLOADS[args.workload]
    chat_ids = [base + 1 + k for k in range(CHATS)]
    ports = [free_port() for _ in range(count)]
    async with FakeBotAPI(TOKEN) as api:
        balancer = Balancer([f"http://127.0.0.1:{p}" for p in ports], args.balancer == "process", work)
        await balancer.start()
        instances = [start_instance(p, api, balancer.url + "/telegram", args, work) for p in ports]
        try:
            await wait_ready(instances, api)
            # How many sends one update makes, from one chat's first message.
            mark = api.mark()
            api.push_text(chat_ids[0], text)
            await api.wait_for(lambda _: True, timeout=60, since=mark)
            await api.wait_idle(quiet=1.0, timeout=60)
            per_update = len(api.sent) - mark
            # Every other chat's first update, untimed: state rows, pooled connections, caches.
            await push_and_wait(api, chat_ids[1:], text, CHATS - 1, per_update, timeout=300)
            await api.wait_idle(quiet=1.0, timeout=60)
            served_before = [await updates_served(i) for i in instances]
            posts_before = len(api.webhook_posts)

            stop, waits = asyncio.Event(), Counter[str]()
            sampler = asyncio.create_task(sample_waits(args.dsn, args.database, stop, waits))
            before = cpu_snapshot(args.database)
            seconds, mark = await push_and_wait(
                api, chat_ids, text, args.updates, per_update, timeout=max(300.0, args.updates / 5)
            )
            after = cpu_snapshot(args.database)
            stop.set()
            await sampler
            await api.wait_idle(quiet=1.0, timeout=60)  # a duplicate arrives after the last expected reply

            duplicates, missing = tally(api, mark, chat_ids, args.updates, per_update)
            for instance in instances:
                instance.alive()
            return Run(
                instances=count,
                updates=args.updates,
                seconds=seconds,
                duplicates=duplicates,
                missing=missing,
                crashes=sum(CRASH_MARK in (m.text or "") for m in api.sent[mark:]),
                failed_posts=sum(not 200 <= s < 300 for _, s in api.webhook_posts[posts_before:]),
                served=[
                    await updates_served(i) - before_
                    for i, before_ in zip(instances, served_before, strict=True)
                ],
                peak_rss_mib=[vm_hwm_mib(i.process.pid) for i in instances],
                cpu=CpuShare.between(before, after, [i.process.pid for i in instances], balancer.pid),
                waits=waits,
            )
        finally:
            for instance in instances:
                instance.stop()
            await balancer.stop()


# ---------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """createdb when the database does not exist yet (never touches another database)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    argv = ["createdb", "-h", parsed.host or "127.0.0.1", "-U", parsed.username or "postgres"]
    if parsed.port:
        argv += ["-p", str(parsed.port)]
    done = subprocess.run([*argv, str(parsed.database)], capture_output=True, text=True)
    if done.returncode != 0 and "already exists" not in done.stderr:
        raise RuntimeError(f"createdb failed: {done.stderr.strip()}")


def print_run(index: int, run: Run) -> None:
    c = run.cpu
    print(
        f"  #{index} {run.instances} instance{'s' if run.instances > 1 else ' '} {run.rate:7.1f} updates/s "
        f"({run.seconds:5.1f} s, {run.per_cpu:.0f} per instance CPU-s)  served {'/'.join(map(str, run.served))}  dup {run.duplicates} "
        f"miss {run.missing} crash {run.crashes} failed posts {run.failed_posts}  "
        f"RSS {'/'.join(f'{m:.0f}' for m in run.peak_rss_mib)} MiB  "
        f"CPU inst {c.instances:.2f} pg {c.postgres:.2f} bench {c.bench:.2f} lb {c.balancer:.2f} "
        f"others {c.total_others:.2f} ({', '.join(f'{n} {v:.2f}' for n, v in c.others[:4])})",
        flush=True,
    )


def top_waits(runs: list[Run], n: int = 6) -> str:
    total: Counter[str] = Counter()
    for run in runs:
        total.update(run.waits)
    samples = total.pop("samples", 0) or 1
    return ", ".join(f"{w} {k / samples:.1f}" for w, k in total.most_common(n))


async def run(args: argparse.Namespace) -> int:
    from bench.throughput import CHATS, CRASH_MARK, WORKLOADS, build_postgresql, data_scale

    print(
        f"scale-out: {args.framework}, workload {args.workload} ({WORKLOADS[args.workload][2]}), "
        f"{args.updates} updates from {CHATS} chats per run, {args.repeats} repeats of 1 and 2 instances; "
        f"balancer {args.balancer}; {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    ensure_database(args.pg_url)
    started = time.perf_counter()
    await build_postgresql(args.pg_url, data_scale(args.scale))
    print(f"database {args.database} built in {time.perf_counter() - started:.0f} s", flush=True)

    runs: dict[int, list[Run]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp:
        work = Path(tmp)
        for repeat in range(args.repeats):
            for count in (1, 2):
                result = await one_run(count, args, work)
                runs[count].append(result)
                print_run(repeat + 1, result)
        if args.keep_logs:
            Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
            for log in work.glob("*.log"):
                log.replace(Path(args.keep_logs) / log.name)

    one, two = runs[1], runs[2]
    rate1 = statistics.median(r.rate for r in one)
    rate2 = statistics.median(r.rate for r in two)
    ratio = statistics.median(b.rate / a.rate for a, b in zip(one, two, strict=True))
    efficiency = statistics.median(b.per_cpu / a.per_cpu for a, b in zip(one, two, strict=True))
    cores = statistics.median(b.cpu.instances / a.cpu.instances for a, b in zip(one, two, strict=True))
    duplicates = sum(r.duplicates for r in one + two)
    missing = sum(r.missing for r in one + two)
    crashes = sum(r.crashes for r in one + two)
    print()
    print(
        f"{'instances':<10}{'updates/s':>10}{'per CPU-s':>10}{'peak RSS per instance':>24}   "
        "CPU shares (1.00 = one core)"
    )
    for count, these in runs.items():
        rss = [statistics.median(r.peak_rss_mib[k] for r in these) for k in range(count)]
        share = {
            name: statistics.median(
                getattr(r.cpu, "total_others" if name == "others" else name) for r in these
            )
            for name in ("instances", "postgres", "bench", "balancer", "others")
        }
        print(
            f"{count:<10}{statistics.median(r.rate for r in these):10.1f}"
            f"{statistics.median(r.per_cpu for r in these):10.1f}"
            f"{' / '.join(f'{m:.0f} MiB' for m in rss):>24}   "
            + "  ".join(f"{name} {value:.2f}" for name, value in share.items())
        )
        print(f"{'':<10}database backends per sample, by state/wait: {top_waits(these)}")
    met = ratio >= TARGET and duplicates == 0 and missing == 0 and crashes == 0
    print()
    print(
        f"2 instances / 1: {ratio:.2f} (target ≥ {TARGET})   1: {rate1:.1f}/s   2: {rate2:.1f}/s   "
        f"duplicates {duplicates}   missing {missing}   crash replies {crashes}"
        f"{'' if met else '   (target missed)'}"
    )
    print(
        f"rate ratio ≈ CPU the instances got, 2 / 1: {cores:.2f}  x  updates per instance CPU-second, "
        f"2 / 1: {efficiency:.2f} (1.00: a second instance costs nothing extra per update)"
    )
    if crashes:
        print(
            f"crash replies ({CRASH_MARK}…): updates that failed; the instances' logs say why (--keep-logs)"
        )
    print(
        f"medians over {args.repeats} repeats; ratio = median of each 2-instance run / the 1-instance run "
        f"before it; load average {os.getloadavg()[0]:.1f} at the end (other work on this machine)"
    )
    return 0 if met else 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    from bench.throughput import WORKLOADS

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=3000, help="timed updates per run (default 3000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each instance count (default 3)")
    parser.add_argument("--framework", choices=("aiogram", "ptb"), default="aiogram")
    parser.add_argument("--workload", choices=tuple(WORKLOADS), default="menu")
    parser.add_argument("--balancer", choices=("process", "inline"), default="process")
    parser.add_argument("--scale", type=float, default=0.1, help="data set (default 0.1: 600 subjects)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_SCALEOUT_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="SEND_BUDGET of the instances")
    parser.add_argument("--quick", action="store_true", help="600 updates, 1 repeat (smoke)")
    parser.add_argument("--keep-logs", metavar="DIR", help="keep the instances' logs here")
    args = parser.parse_args(argv)
    if args.quick:
        args.updates, args.repeats = 600, 1
    from sqlalchemy.engine import make_url

    from bench.sweep import pg_dsn

    args.database = make_url(args.pg_url).database
    if args.database in ("test", "lead_test"):
        parser.error(f"{args.database} belongs to the test suite; use a database of the bench's own")
    args.dsn = pg_dsn(args.pg_url)
    return args


def main() -> int:
    if sys.argv[1:2] == ["--serve-balancer"]:  # before parse_args: the balancer imports none of the app
        port, *backends = sys.argv[2:]
        asyncio.run(serve_balancer(int(port), backends))
        return 0
    return asyncio.run(run(parse_args(sys.argv[1:])))


if __name__ == "__main__":
    sys.exit(main())
