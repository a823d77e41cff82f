"""Robot delivery benchmark (issue #11): alerts to group robots of 企业微信, 钉钉 and 飞书 through the real
outbox dispatcher, the real RobotSender and real HTTP to the local fake platforms, which enforce each
robot's documented limits with the platform's over-limit answers (tests/support/robots.py).

    .venv/bin/python -m bench.robots                 # 600 alerts to 10 robots of each kind (~3 min)
    .venv/bin/python -m bench.robots --quick         # 60 alerts of each kind: 6 per robot (seconds)
    .venv/bin/python -m bench.robots --database-url postgresql://postgres@127.0.0.1:5432/helper_robots
                                                     # its public schema is dropped and recreated

It builds a fresh SQLite database (the Alembic migrations, through build_app), loads the demo data (for
the departments), registers --robots robots of each kind with the fake (DingTalk and Feishu signed), and
writes --alerts alerts per kind in one transaction, spread round-robin over that kind's robots, each with
its own number. Then it runs the dispatcher as `credit-bot deliver` does (idle_seconds 0.2) until every
robot row is sent or failed, or the timeout.

What the rate means: each platform counts a robot's messages in sliding windows (WeCom, DingTalk: 20 in
any 60 s; Feishu: 5 in any 1 s and 100 in any 60 s). A sliding window lets a whole window's worth go at
once, so a robot's first 20 alerts leave in a burst and the next 20 a window later. Measured per robot
from its first to its last accepted message (the fake's clock):
- alerts/span: the plain rate, against the platform's long-run limit (20/min; Feishu 100/min). The first
  burst inflates it (60 alerts to a WeCom robot span 120 s: 30/min, 1.5× the limit);
- over whole windows (the target, ≥ 0.95 as the median over robots): the span against the span of a
  sender with no latency that sends each alert the moment every window allows it (the shortest the
  limits allow: 120 s for 60 alerts at 20 per 60 s, 11 s for 60 at Feishu's 5 per 1 s). 1.0 loses no
  time to the limits; the time the first burst takes counts as lost. Printed beside it: how long the
  first burst took, and the rate after it (alerts after the burst over the rest of the span; when the
  burst itself took longer than a window this rate is not limit-bound and reads high).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import math
import os
import platform
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from bench.delivery import fresh_database
from bot.app import App, build_app
from models import OutboxMessage, OutboxStatus, RobotKind
from notifications.robots import PLATFORMS, RobotSender
from tests.support.robots import FakeRobots, Platform, Refusal
from workflows import robots as registry
from workflows.demo_data import load_demo
from workflows.notices import enqueue_many, outbox_row
from workflows.settings import Settings

KINDS = (RobotKind.WECOM, RobotKind.DINGTALK, RobotKind.FEISHU)
NAMES = {RobotKind.WECOM: "企业微信", RobotKind.DINGTALK: "钉钉", RobotKind.FEISHU: "飞书"}
DEPARTMENTS = ("信用科", "执法支队")  # from the demo data
SECRET = "SECbench0123456789abcdef"
LINK = "https://t.me/credit_transport_bot"
IDLE_SECONDS = 0.2  # as `credit-bot deliver`
POLL_SECONDS = 0.25
RATE_TARGET = 0.95
NUMBER = re.compile(r"№(\d{7})")


@dataclass(frozen=True)
class Alert:
    number: int
    kind: RobotKind
    robot: int  # index among the kind's robots


@dataclass
class RobotFigures:
    alerts: int  # written to this robot
    received: int  # accepted by the fake, repeats included
    span: float  # first to last accepted message, seconds
    ideal_span: float  # the same for a sender with no latency that sends the moment the windows allow
    burst: int  # alerts such a sender sends at once at the start
    burst_took: float  # first to last accepted message of that first burst, seconds
    in_order: bool


def ideal_times(n: int, windows: Sequence[tuple[int, float]]) -> list[float]:
    """When a sender with no latency sends n alerts, each the moment every sliding window allows it."""
    times: list[float] = []
    for k in range(n):
        at = times[-1] if times else 0.0
        for capacity, seconds in windows:
            if k >= capacity:
                at = max(at, times[k - capacity] + seconds)
        times.append(at)
    return times


def long_run_per_minute(kind: RobotKind) -> float:
    return min(capacity / seconds for capacity, seconds in PLATFORMS[kind].windows) * 60


def plan(alerts_per_kind: int, robots: int) -> list[Alert]:
    """The kinds interleaved, as alerts of several departments come; each kind round-robin over its robots."""
    plan: list[Alert] = []
    for i in range(alerts_per_kind):
        for kind in KINDS:
            plan.append(Alert(len(plan) + 1, kind, i % robots))
    return plan


def fake_robot_id(kind: RobotKind, index: int) -> str:
    return f"{kind.value}-{index:02d}"


async def register(app: App, fake: FakeRobots, robots: int) -> dict[tuple[RobotKind, int], int]:
    """Robots of each kind, alternately in the two demo departments; their database ids."""
    ids: dict[tuple[RobotKind, int], int] = {}
    now = app.engine.services.clock.now()
    async with app.sessions() as session, session.begin():
        await load_demo(session, app.engine.services.clock)
        for kind in KINDS:
            for index in range(robots):
                ident = fake_robot_id(kind, index)
                if kind == RobotKind.WECOM:
                    url, secret = fake.add_wecom(ident), None
                elif kind == RobotKind.DINGTALK:
                    url, secret = fake.add_dingtalk(ident, SECRET), SECRET
                else:
                    url, secret = fake.add_feishu(ident, SECRET), SECRET
                robot = await registry.add_robot(
                    session,
                    name=f"{NAMES[kind]}群{index:02d}",
                    department=DEPARTMENTS[index % len(DEPARTMENTS)],
                    kind=kind.value,
                    webhook_url=url,
                    secret=secret,
                    notice_kinds=None,
                    actor="bench",
                    now=now,
                )
                ids[(kind, index)] = robot.id or 0
    return ids


async def write_alerts(app: App, alerts: list[Alert], ids: dict[tuple[RobotKind, int], int]) -> None:
    now = app.engine.services.clock.now()
    rows = [
        outbox_row(
            channel=registry.ROBOT_CHANNEL,
            chat_id=str(ids[(alert.kind, alert.robot)]),
            template="robot_test",
            context={
                "robot_name": f"{NAMES[alert.kind]}群{alert.robot:02d}",
                "department": DEPARTMENTS[alert.robot % len(DEPARTMENTS)],
                "sent_at": f"№{alert.number:07d}",
            },
            dedupe_key=f"bench-robots:{alert.number}",
            kind="escalation",
            now=now,
        )
        for alert in alerts
    ]
    async with app.sessions() as session, session.begin():
        written = await enqueue_many(session, rows)
    assert written == len(rows), f"{written} of {len(rows)} alerts written"


async def robot_rows_by_status(app: App) -> Counter[OutboxStatus]:
    async with app.sessions() as session:
        stmt = (
            select(OutboxMessage.status, func.count())
            .where(col(OutboxMessage.channel) == registry.ROBOT_CHANNEL)
            .group_by(col(OutboxMessage.status))
        )
        return Counter({OutboxStatus(status): n for status, n in (await session.exec(stmt)).all()})


async def unsent_numbers(app: App) -> dict[int, str]:
    """The alerts whose row is not sent, with their status and error."""
    async with app.sessions() as session:
        stmt = select(OutboxMessage).where(
            col(OutboxMessage.channel) == registry.ROBOT_CHANNEL,
            col(OutboxMessage.status) != OutboxStatus.SENT,
        )
        found: dict[int, str] = {}
        for row in (await session.exec(stmt)).all():
            number = int(str(row.context["sent_at"]).lstrip("№"))
            found[number] = f"{row.status.value}: {row.error or ''}"[:160]
        return found


async def deliver(app: App, expected: int, timeout: float) -> tuple[float, float, bool]:
    """Run the dispatcher until every robot row is sent or failed; (start, end) on time.time, and
    whether it finished before the timeout."""
    sender = RobotSender(app.sessions, action_link=LINK)
    stop = asyncio.Event()
    start = time.time()
    task = asyncio.create_task(
        app.dispatcher({registry.ROBOT_CHANNEL: sender}).run_forever(stop, idle_seconds=IDLE_SECONDS)
    )
    finished = False
    try:
        while time.time() - start < timeout:
            await asyncio.sleep(POLL_SECONDS)
            if task.done():
                break
            counts = await robot_rows_by_status(app)
            if counts[OutboxStatus.SENT] + counts[OutboxStatus.FAILED] >= expected:
                finished = True
                break
        end = time.time()
    finally:
        stop.set()
        await task
        await sender.close()
    return start, end, finished


def figures_per_robot(
    fake: FakeRobots, alerts: list[Alert], robots: int
) -> dict[RobotKind, dict[int, RobotFigures]]:
    written: Counter[tuple[RobotKind, int]] = Counter((a.kind, a.robot) for a in alerts)
    figures: dict[RobotKind, dict[int, RobotFigures]] = defaultdict(dict)
    for kind in KINDS:
        windows = PLATFORMS[kind].windows
        for index in range(robots):
            got = fake.messages(Platform(kind.value), fake_robot_id(kind, index))
            numbers = [int(m.group(1)) for x in got if (m := NUMBER.search(x.text))]
            firsts = list(dict.fromkeys(numbers))  # first arrivals, in arrival order
            ideal = ideal_times(len(got), windows)
            burst = sum(1 for t in ideal if t == 0.0)
            figures[kind][index] = RobotFigures(
                alerts=written[(kind, index)],
                received=len(got),
                span=(got[-1].at - got[0].at) if got else 0.0,
                ideal_span=ideal[-1] if ideal else 0.0,
                burst=burst,
                burst_took=(got[burst - 1].at - got[0].at) if got else 0.0,
                in_order=firsts == sorted(firsts),
            )
    return figures


def report(
    fake: FakeRobots,
    alerts: list[Alert],
    robots: int,
    start: float,
    unsent: dict[int, str],
) -> list[str]:
    """Print the figures per platform; the targets missed."""
    missed: list[str] = []
    figures = figures_per_robot(fake, alerts, robots)
    for kind in KINDS:
        plat = Platform(kind.value)
        mine = [a for a in alerts if a.kind == kind]
        received = fake.messages(plat)
        counts = Counter(int(m.group(1)) for x in received if (m := NUMBER.search(x.text)))
        numbers = {a.number for a in mine}
        lost = sorted((numbers - set(counts)) | (numbers & set(unsent)))
        duplicates = sum(n - 1 for n in counts.values() if n > 1)
        over_limit = fake.refused(plat, Refusal.RATE_LIMITED)
        other = {
            reason.value: n
            for (p, reason), n in fake.refusals.items()
            if p == plat and reason != Refusal.RATE_LIMITED
        }
        per_robot = list(figures[kind].values())
        timed = [f for f in per_robot if f.span > 0]
        limit = long_run_per_minute(kind)
        windows = " and ".join(f"{c} per {s:g} s" for c, s in PLATFORMS[kind].windows)
        wall = (max(x.at for x in received) - start) if received else 0.0
        print(f"\n{NAMES[kind]} ({kind.value}; {windows}, long-run {limit:g}/min per robot)")
        print(f"  alerts {len(mine)} to {robots} robots ({len(mine) / robots:g} each); wall {wall:.1f} s")
        if timed:
            plain = [f.received / f.span * 60 for f in timed]
            print(
                f"  alerts/span per robot: median {statistics.median(plain):.1f}/min, "
                f"min {min(plain):.1f}/min = {statistics.median(plain) / limit:.2f} / {min(plain) / limit:.2f} "
                "of the long-run limit (the first burst included)"
            )
        measurable = [f for f in timed if f.ideal_span > 0]
        if measurable:
            steady = [(f.received - f.burst) / (f.span - f.burst_took) * 60 for f in measurable]
            ratios = [f.ideal_span / f.span for f in measurable]
            median_ratio = statistics.median(ratios)
            ideal = statistics.median(f.ideal_span for f in measurable)
            print(
                f"  over whole windows: span median {statistics.median(f.span for f in measurable):.1f} s, "
                f"max {max(f.span for f in measurable):.1f} s against {ideal:.1f} s for a sender with no "
                f"latency: ratio median {median_ratio:.3f}, min {min(ratios):.3f} (target ≥ {RATE_TARGET})"
            )
            print(
                f"  the first burst of {measurable[0].burst} took median "
                f"{statistics.median(f.burst_took for f in measurable):.2f} s; after it median "
                f"{statistics.median(steady):.1f}/min, min {min(steady):.1f}/min"
            )
            if median_ratio < RATE_TARGET:
                missed.append(f"{kind.value}: rate over whole windows {median_ratio:.3f} < {RATE_TARGET}")
        else:
            print("  over whole windows: not measured (every robot's alerts fit in its first burst)")
        gaps = [
            b.at - a.at
            for index in range(robots)
            for a, b in itertools.pairwise(fake.messages(plat, fake_robot_id(kind, index)))
        ]
        if gaps:
            print(
                f"  gap between a robot's messages: median {statistics.median(gaps) * 1000:.0f} ms, "
                f"max {max(gaps):.1f} s"
            )
        out_of_order = sum(1 for f in per_robot if not f.in_order)
        print(
            f"  over-limit answers {over_limit}; other refusals {sum(other.values())}"
            f"{' ' + str(other) if other else ''}; lost {len(lost)}; duplicates {duplicates}; "
            f"order kept on {robots - out_of_order} of {robots} robots"
        )
        for number in lost[:5]:
            print(f"    lost №{number:07d}: {unsent.get(number, 'sent, never received')}")
        if over_limit:
            missed.append(f"{kind.value}: {over_limit} over-limit answers")
        if lost:
            missed.append(f"{kind.value}: {len(lost)} lost")
        if duplicates:
            missed.append(f"{kind.value}: {duplicates} duplicates")
        if out_of_order:
            missed.append(f"{kind.value}: order broken on {out_of_order} robots")
    return missed


async def bench(args: argparse.Namespace, workdir: Path) -> int:
    url = await fresh_database(args.database_url, workdir, "robots")
    app = await build_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    alerts = plan(args.alerts, args.robots)
    per_robot = math.ceil(args.alerts / args.robots)
    ideal = max(ideal_times(per_robot, PLATFORMS[kind].windows)[-1] for kind in KINDS)
    timeout = args.timeout if args.timeout is not None else ideal + 120.0
    try:
        async with FakeRobots() as fake:
            ids = await register(app, fake, args.robots)
            await write_alerts(app, alerts, ids)
            print(
                f"{len(alerts)} alerts ({args.alerts} per kind) to {args.robots} robots of each kind; "
                f"the slowest kind needs ≥ {ideal:.0f} s within its limits; timeout {timeout:.0f} s; "
                f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
            )
            start, end, finished = await deliver(app, len(alerts), timeout)
            unsent = await unsent_numbers(app)
            statuses = await robot_rows_by_status(app)
            print(
                f"drain {end - start:.1f} s{'' if finished else ' (TIMED OUT)'}; rows "
                + ", ".join(f"{s.value} {n}" for s, n in sorted(statuses.items()))
                + f"; load average {os.getloadavg()[0]:.2f}"
            )
            missed = report(fake, alerts, args.robots, start, unsent)
    finally:
        await app.close()
    if not finished:
        missed.append(f"timed out after {timeout:.0f} s")
    print("\n" + ("targets met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed else 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=600, help="alerts per kind (default 600)")
    parser.add_argument("--robots", type=int, default=10, help="robots of each kind (default 10)")
    parser.add_argument("--quick", action="store_true", help="60 alerts per kind: 6 per robot (seconds)")
    parser.add_argument("--timeout", type=float, help="give up after this many seconds (default: the limits' "
                        "shortest time for the slowest kind + 120 s)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database (its path is printed)")
    parser.add_argument(
        "--database-url",
        default="sqlite",
        help="sqlite (default: a fresh file) or a PostgreSQL URL whose public schema the bench drops and "
        "recreates (create it first: createdb -h 127.0.0.1 -U postgres helper_robots)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.alerts = 60
    if args.alerts < 1 or args.robots < 1:
        parser.error("--alerts and --robots must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="  [%(levelname)s %(name)s] %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="bench-robots-"))
    print(
        f"信用交通助手 robot delivery bench — Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, {platform.machine()}; database "
        f"{'SQLite' if args.database_url.startswith('sqlite') else 'PostgreSQL'}"
    )
    try:
        code = asyncio.run(bench(args, workdir))
    finally:
        if args.keep:
            print(f"\ndatabase kept in {workdir.resolve()}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
