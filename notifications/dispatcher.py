"""Delivering the outbox: claim due rows, render each in its chat's language, send it through the
channel's Sender under the platform's limits, and record one outcome per row.

Guarantees (design: Scheduler and delivery):
- a row is claimed by one dispatcher at a time (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer);
- an outcome is recorded only by the instance that still holds the claim;
- a crash between send and mark leaves the row `sending`; after the lease it is claimed again, so at
  most the rows in flight are repeated and none is lost;
- an instance never starts a send after its lease ran out (the row may belong to someone else by then);
- what an outcome means beyond its row (a chat gone ends its bindings; 三书同达 served or undeliverable;
  a failed legal notice reported) is written in the transaction that records the outcome, so once;
- (issue #10) run_forever claims as send slots free up, so a slow request holds only its own slot; an
  outcome that cannot be written because the database is away is retried until it is written (while the
  claim is ours), so a restart of the database repeats no message that was sent; a database outage is
  never counted as a delivery attempt;
- a claim whose commit reached the database while its answer was lost (the connection dropped as it
  committed) is taken up again by the same dispatcher at once, not after the lease: rows held in its
  name that it never got back from a claim. Rows it did get back and could not record still wait for
  the lease (they may have been sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import ColumnElement, and_, exists, false, or_, true, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ButtonToken, ConversationState, OutboxMessage, OutboxStatus, Staff, StaffRole, Subject
from notifications import metrics
from notifications.budget import SendBudget
from notifications.delivery import (
    OutgoingButton,
    OutgoingMessage,
    PermanentFailure,
    RecipientGone,
    RetryLater,
    Sender,
    TransientFailure,
)
from notifications.render import Renderer, RenderError
from workflows.alert_routing import alert_department
from workflows.clock import Clock, to_local, utc_now
from workflows.notices import SANSHU_KIND, end_bindings_of_gone_chat, notify_staff, settle_sanshu
from workflows.robots import ROBOT_CHANNEL, mark_broken

log = logging.getLogger(__name__)

T = TypeVar("T")

TELEGRAM_CHANNEL = "telegram"

# The database went away (connection lost, server restarting, pool exhausted): try again later.
# builtins.TimeoutError is an OSError, so asyncio timeouts are included. SQLAlchemy passes asyncpg's own
# errors through unwrapped when a new connection fails ("the database system is starting up" is
# CannotConnectNowError, an OperatorInterventionError), so those are named too.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    DBAPIError,
    PoolTimeoutError,
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InterfaceError,
)
DATABASE_RETRY_CAP_SECONDS = 5.0  # an outcome waiting for the database is tried again at most this often

BACKOFF_CAP_SECONDS = 600  # transient failures wait 2, 4, 8 ... s, never more than 10 minutes
BACKOFF_JITTER = 0.2  # ±20 %, so rows that failed together do not retry together
MAX_ERROR_LENGTH = 1000
DELIVERY_FAILED_TEMPLATE = "delivery_failed"


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped

    def count(self, status: OutboxStatus) -> None:
        if status == OutboxStatus.SENT:
            self.sent += 1
        elif status == OutboxStatus.PENDING:
            self.retried += 1
        elif status == OutboxStatus.FAILED:
            self.failed += 1
        elif status == OutboxStatus.SKIPPED:
            self.skipped += 1


# What admins read about a failed legal notice: its name and the reason in words, never template names,
# outbox ids or chat ids (issue #9). Keys: a template name, or its first word for a family.
NOTICE_NAMES: dict[str, tuple[str, str]] = {
    "sanshu": ("三书同达通知", "the three notices"),
    "binding_decided": ("绑定申请结果", "binding request decision"),
    "repair": ("信用修复决定", "credit repair decision"),
    "objection": ("异议处理结果", "objection decision"),
    "commitment": ("信用承诺履行结果", "commitment decision"),
    "fulfilment": ("履行确认结果", "fulfilment decision"),
    "interview": ("约谈通知", "interview notice"),
    "record": ("信用记录变更通知", "record change notice"),
}
CHANNEL_NAMES = {"telegram": "Telegram", "console": "本地对话", "robot": "群机器人"}
_REASONS = (
    ("blocked", "对方已屏蔽机器人"),
    ("chat not found", "对话不存在"),
    ("kicked", "机器人已被移出群聊"),
    ("deactivated", "对话已停用"),
    ("too long", "消息过长"),
    ("render", "通知内容生成失败（模板错误）"),
)


def failure_reason(error: str) -> str:
    """The delivery error in words an admin can act on; the raw text stays in the outbox row and log."""
    low = error.lower()
    return next((zh for key, zh in _REASONS if key in low), "多次重试仍未成功")


@dataclass(frozen=True)
class _Outcome:
    status: OutboxStatus
    error: str | None = None
    next_attempt_at: datetime | None = None
    attempted: bool = True  # counts toward max_attempts (a 429 and a muted chat do not)
    chat_gone: bool = False  # the chat blocked the bot or no longer exists


_SEND_OUTCOMES: dict[OutboxStatus, metrics.SendOutcome] = {
    OutboxStatus.SENT: "sent",
    OutboxStatus.PENDING: "retry",
    OutboxStatus.FAILED: "failed",
}  # a muted notice (skipped) was not a send


def backoff_seconds(attempts: int, rng: random.Random) -> float:
    """Exponential backoff with jitter after the attempts-th failed attempt."""
    base = min(2.0**attempts, BACKOFF_CAP_SECONDS)
    return base * rng.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: dict[str, Sender],
        *,
        renderer: Renderer,
        clock: Clock,
        instance: str,
        chat_id: str | None = None,
        limiter: SendBudget | None = None,
        batch: int = 100,
        lease_seconds: int = 300,
        max_attempts: int = 8,
        concurrency: int = 30,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.renderer = renderer
        self.clock = clock
        self.instance = instance[:64]
        self.chat_id = chat_id  # the console delivers only its own chat's notices
        self.limiter = limiter
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        # Rows this dispatcher got back from a claim and has not recorded yet (in flight, or a recording
        # that failed): any other row held in its name comes from a claim it never heard back about.
        self._unrecorded: set[int] = set()
        self._rng = rng or random.Random()

    # ---- the loop ----------------------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        """Deliver until stop is set; a lost database is logged and retried, never fatal.

        Rows are claimed as send slots free up and each is delivered on its own task: a request that
        hangs holds one slot, not the batch (issue #10: 3 % of sends stalling 10 s cut delivery from 27/s
        to 8/s when every batch waited for its slowest send).
        """
        in_flight: set[asyncio.Task[None]] = set()
        # The rows those tasks hold: never claimed again by this process while their task runs, even when
        # a send waits past the lease (it checks the lease itself before sending).
        delivering: dict[asyncio.Task[None], int] = {}
        stats = DispatchStats()
        failures = 0
        # Claim again once a quarter of the slots are free: a backlog keeps every slot busy without one
        # query per finished send.
        refill = max(1, self.concurrency // 4)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                free = self.concurrency - len(in_flight)
                if in_flight and free < refill:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                want = min(free, self.batch)
                try:
                    rows, claimed_at = await self._claim(want, exclude=set(delivering.values()))
                except DATABASE_ERRORS as err:
                    failures += 1
                    delay = min(idle_seconds * 2**failures, 60.0)
                    log.warning(
                        "outbox: database unavailable (%s); retrying in %.1fs", _first_line(err), delay
                    )
                    await _wait(stop, delay)
                    continue
                failures = 0
                for row in rows:
                    task = asyncio.create_task(self._deliver(row, claimed_at, stats, stop=stop))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    delivering[task] = row.id or 0
                    task.add_done_callback(lambda done: delivering.pop(done, None))
                if len(rows) < want:
                    # Nothing more is due now: look again after a pause, or as soon as a send finishes
                    # (its chat's next notice is claimable only then: one at a time per chat).
                    await asyncio.wait(
                        {stopping, *in_flight}, timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED
                    )
        finally:
            stopping.cancel()
            # Sends already started finish and are recorded; the lease covers a process that is killed.
            if in_flight:
                await asyncio.wait(in_flight, timeout=30)

    async def drain(self, max_rounds: int = 1000) -> DispatchStats:
        """Deliver until nothing is due (each round sends at most one notice per chat)."""
        total = DispatchStats()
        for _ in range(max_rounds):
            stats = await self.run_once()
            if stats.total == 0:
                break
            for name in ("sent", "retried", "failed", "skipped"):
                setattr(total, name, getattr(total, name) + getattr(stats, name))
        return total

    async def run_once(self) -> DispatchStats:
        """Claim one batch of due rows and deliver it; chats are served in parallel, each in order."""
        rows, claimed_at = await self._claim()
        stats = DispatchStats()
        by_chat: dict[tuple[str, str], list[OutboxMessage]] = {}
        for row in rows:
            by_chat.setdefault((row.channel, row.chat_id), []).append(row)
        results = await asyncio.gather(
            *(self._deliver_chat(chat_rows, claimed_at, stats) for chat_rows in by_chat.values()),
            return_exceptions=True,
        )
        # Only database errors get here (rows stay `sending` and are reclaimed after the lease).
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        return stats

    # ---- claiming ----------------------------------------------------------------------------------

    def _due(self, now: datetime) -> ColumnElement[bool]:
        status, claimed_at = col(OutboxMessage.status), col(OutboxMessage.claimed_at)
        known = col(OutboxMessage.id).in_(sorted(self._unrecorded)) if self._unrecorded else false()
        return and_(
            col(OutboxMessage.channel).in_(list(self.senders)),  # other instances may serve other channels
            true() if self.chat_id is None else col(OutboxMessage.chat_id) == self.chat_id,
            or_(
                and_(status == OutboxStatus.PENDING, col(OutboxMessage.next_attempt_at) <= now),
                and_(status == OutboxStatus.SENDING, claimed_at < now - self.lease),
                # Held in our name, yet never handed to us: a claim whose answer was lost.
                and_(status == OutboxStatus.SENDING, col(OutboxMessage.claimed_by) == self.instance, ~known),
            ),
        )

    async def _claim(
        self, limit: int | None = None, *, exclude: set[int] | None = None
    ) -> tuple[Sequence[OutboxMessage], datetime]:
        now = utc_now(self.clock)
        earlier = aliased(OutboxMessage)
        candidates = (
            select(OutboxMessage.id)
            .where(self._due(now))
            # Only the oldest unfinished notice of each chat: a chat's notices arrive in order (also
            # after a 429), and no batch waits a second per extra notice to one chat.
            .where(
                ~exists().where(
                    col(earlier.channel) == col(OutboxMessage.channel),
                    col(earlier.chat_id) == col(OutboxMessage.chat_id),
                    col(earlier.id) < col(OutboxMessage.id),
                    col(earlier.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                )
            )
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit or self.batch)
        )
        if exclude:
            candidates = candidates.where(col(OutboxMessage.id).not_in(sorted(exclude)))
        async with self.sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # Rows another dispatcher is claiming right now are skipped, not waited for. A separate
                # SELECT, not `UPDATE ... WHERE id IN (SELECT ... LIMIT ... FOR UPDATE)`: PostgreSQL may
                # rescan such a subquery and lock (and claim) more than `batch` rows.
                candidates = candidates.with_for_update(skip_locked=True)
            picked = list((await session.exec(candidates)).all())
            if not picked:
                return [], now
            # Re-checking _due keeps SQLite's plain UPDATE correct without row locks.
            claim = (
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(picked), self._due(now))
                .values(status=OutboxStatus.SENDING, claimed_by=self.instance, claimed_at=now)
                .returning(col(OutboxMessage.id))
            )
            conn = await session.connection()
            ids = list((await conn.execute(claim)).scalars())
            rows = await session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids))
                .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            )
            claimed = rows.all()
        self._unrecorded.update(ids)  # committed: ours, and known to be
        return claimed, now

    # ---- one row -----------------------------------------------------------------------------------

    async def _deliver_chat(
        self, rows: list[OutboxMessage], claimed_at: datetime, stats: DispatchStats
    ) -> None:
        for row in rows:  # one chat's notices arrive in the order they were written
            async with self._slots:
                await self._deliver(row, claimed_at, stats)

    async def _deliver(
        self,
        row: OutboxMessage,
        claimed_at: datetime,
        stats: DispatchStats,
        *,
        stop: asyncio.Event | None = None,
    ) -> None:
        """One row, start to finish. With `stop` (run_forever) a database outage is waited out inside:
        before the send nothing happened yet, after it the outcome must still be written."""
        retry = stop is not None
        try:
            outcome = await self._database(lambda: self._attempt(row, claimed_at), row, claimed_at, retry)
        except DATABASE_ERRORS:
            if retry:  # the lease ran out while the database was away: the row is someone else's now
                return
            raise
        except Exception as err:  # a malformed row (e.g. a button without "action") must not stall the outbox
            log.exception(
                "outbox %s: unexpected error while preparing",
                row.id,
                extra={"outbox_id": row.id, "chat_id": row.chat_id},
            )
            outcome = self._retry_or_fail(row, f"{type(err).__name__}: {err}")
        if outcome is None:
            self._unrecorded.discard(row.id or 0)  # the lease ran out: due again like anyone's
            return
        try:
            recorded = await self._database(lambda: self._record(row, outcome), row, claimed_at, retry)
        except DATABASE_ERRORS:
            if retry:
                log.error(
                    "outbox %s: %s but not recorded before the lease ran out",
                    row.id,
                    outcome.status,
                    extra={"outbox_id": row.id, "chat_id": row.chat_id},
                )
                return
            raise
        self._unrecorded.discard(row.id or 0)  # recorded, or someone else's now
        if recorded:
            stats.count(outcome.status)
            sent = "gone" if outcome.chat_gone else _SEND_OUTCOMES.get(outcome.status)
            if sent is not None:
                metrics.count_send("notice", sent)

    async def _database(
        self, step: Callable[[], Awaitable[T]], row: OutboxMessage, claimed_at: datetime, retry: bool
    ) -> T:
        """Run a database step; while `retry`, wait out an outage for as long as the claim is ours."""
        delay = 0.2
        while True:
            try:
                return await step()
            except DATABASE_ERRORS as err:
                left = (claimed_at + self.lease - utc_now(self.clock)).total_seconds()
                if not retry or left <= delay:
                    raise
                log.warning(
                    "outbox %s: database unavailable (%s); retrying",
                    row.id,
                    _first_line(err),
                    extra={"outbox_id": row.id, "chat_id": row.chat_id},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, DATABASE_RETRY_CAP_SECONDS)

    async def _attempt(self, row: OutboxMessage, claimed_at: datetime) -> _Outcome | None:
        prepared = await self._prepare(row)
        if isinstance(prepared, _Outcome):
            return prepared
        # The bot token's budget is Telegram's; a group robot keeps its own (notifications/robots.py).
        limiter = self.limiter if row.channel == TELEGRAM_CHANNEL else None
        slot = await limiter.acquire(row.chat_id) if limiter is not None else None
        if utc_now(self.clock) - claimed_at >= self.lease:
            log.warning(
                "outbox %s: lease ran out before sending; left for the next claim",
                row.id,
                extra={"outbox_id": row.id, "chat_id": row.chat_id},
            )
            return None
        try:
            await self.senders[row.channel].send(row.chat_id, prepared)
        except RetryLater as err:
            metrics.count_429("notice")
            if limiter is not None:
                await limiter.pause(err.retry_after)
            retry_at = utc_now(self.clock) + timedelta(seconds=err.retry_after)
            return _Outcome(OutboxStatus.PENDING, str(err), retry_at, attempted=False)
        except TransientFailure as err:
            return self._retry_or_fail(row, str(err) or type(err).__name__)
        except RecipientGone as err:
            return _Outcome(OutboxStatus.FAILED, str(err) or type(err).__name__, chat_gone=True)
        except PermanentFailure as err:
            return _Outcome(OutboxStatus.FAILED, str(err) or type(err).__name__)
        except Exception as err:  # a Sender breaking its contract (even with an OSError) is not a DB outage
            log.exception(
                "outbox %s: %s sender raised outside the delivery contract",
                row.id,
                row.channel,
                extra={"outbox_id": row.id, "chat_id": row.chat_id},
            )
            return self._retry_or_fail(row, f"{type(err).__name__}: {err}")
        finally:
            if slot is not None and limiter is not None:
                limiter.done(slot)
        return _Outcome(OutboxStatus.SENT)

    def _retry_or_fail(self, row: OutboxMessage, error: str) -> _Outcome:
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            return _Outcome(OutboxStatus.FAILED, f"gave up after {attempts} attempts: {error}")
        retry_at = utc_now(self.clock) + timedelta(seconds=backoff_seconds(attempts, self._rng))
        return _Outcome(OutboxStatus.PENDING, error, retry_at)

    async def _prepare(self, row: OutboxMessage) -> OutgoingMessage | _Outcome:
        """The message in the chat's language with fresh button tokens, or why it is not sent."""
        if row.channel == ROBOT_CHANNEL:
            # A robot has no chat state, mutes or buttons: no transaction (on SQLite each one queues for
            # the write lock, between one alert to a robot and its next: bench/robots.py).
            try:
                return OutgoingMessage(self.renderer.render(row.template, "zh", row.context))
            except RenderError as err:
                return _Outcome(OutboxStatus.FAILED, f"render: {err}", attempted=False)
        async with self.sessions() as session, session.begin():
            state = (
                await session.exec(
                    select(ConversationState).where(
                        ConversationState.channel == row.channel, ConversationState.chat_id == row.chat_id
                    )
                )
            ).first()
            lang = state.lang if state else "zh"
            if not row.legally_required and await self._muted(session, row, state):
                return _Outcome(OutboxStatus.SKIPPED, f"muted: {row.kind}", attempted=False)
            try:
                text = self.renderer.render(row.template, lang, row.context)
            except RenderError as err:
                return _Outcome(OutboxStatus.FAILED, f"render: {err}", attempted=False)
            buttons = [[self._button(session, row, spec, lang) for spec in line] for line in row.buttons]
            return OutgoingMessage(text, buttons)

    @staticmethod
    async def _muted(session: AsyncSession, row: OutboxMessage, state: ConversationState | None) -> bool:
        if state is not None and state.notices_muted:
            return True
        staff = await session.get(Staff, row.staff_id) if row.staff_id is not None else None
        return staff is not None and row.kind in staff.muted_kinds

    @staticmethod
    def _button(session: AsyncSession, row: OutboxMessage, spec: dict[str, Any], lang: str) -> OutgoingButton:
        # Persistent: a notice's buttons stay valid after the chat moves on (screen is then not checked).
        token = ButtonToken(
            channel=row.channel,
            chat_id=row.chat_id,
            action=spec["action"],
            payload=spec.get("payload") or {},
            screen=0,
            persistent=True,
        )
        session.add(token)
        label = spec.get("label_en") if lang == "en" and spec.get("label_en") else spec["label"]
        return OutgoingButton(str(label), token.token)

    # ---- recording the outcome ---------------------------------------------------------------------

    async def _record(self, row: OutboxMessage, outcome: _Outcome) -> bool:
        """Write the outcome if this instance still holds the row; False when someone reclaimed it."""
        values: dict[str, Any] = {"status": outcome.status, "error": _clip(outcome.error)}
        if outcome.status == OutboxStatus.SENT:
            values["sent_at"] = utc_now(self.clock)
        if outcome.next_attempt_at is not None:
            values["next_attempt_at"] = outcome.next_attempt_at
        if outcome.attempted:
            values["attempts"] = col(OutboxMessage.attempts) + 1
        mark = (
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == row.id,
                col(OutboxMessage.status) == OutboxStatus.SENDING,
                col(OutboxMessage.claimed_by) == self.instance,
            )
            .values(**values)
        )
        async with self.sessions() as session, session.begin():
            conn = await session.connection()
            if not (await conn.execute(mark)).rowcount:
                log.warning(
                    "outbox %s: claimed by another dispatcher; %s not recorded", row.id, outcome.status
                )
                return False
            await self._settle(session, row, outcome)
        return True

    async def _settle(self, session: AsyncSession, row: OutboxMessage, outcome: _Outcome) -> None:
        """What the outcome means beyond the row, in the transaction that records it (so exactly once)."""
        now = utc_now(self.clock)
        if outcome.chat_gone and row.channel == ROBOT_CHANNEL:
            await mark_broken(session, int(row.chat_id), reason=outcome.error or "", now=now)
        elif outcome.chat_gone:
            await end_bindings_of_gone_chat(session, row.channel, row.chat_id, reason=outcome.error or "")
        if row.kind == SANSHU_KIND and outcome.status in (OutboxStatus.SENT, OutboxStatus.FAILED):
            # 三书同达: served once a chat has all three; undeliverable goes to whoever recorded it.
            await settle_sanshu(session, row, now=now, chat_gone=outcome.chat_gone)
        elif outcome.status == OutboxStatus.FAILED and row.legally_required:
            await self._report_failure(session, row, outcome.error or "")
        if outcome.chat_gone and row.legally_required:
            # Free the key: binding this chat again serves the notice again (it was never delivered).
            suffix = f"|gone:{row.id}"
            conn = await session.connection()
            await conn.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row.id)
                .values(dedupe_key=row.dedupe_key[: 200 - len(suffix)] + suffix)
            )

    async def _report_failure(self, session: AsyncSession, row: OutboxMessage, error: str) -> None:
        """A legally required notice that cannot be delivered must be served another way: tell the admins."""
        log.error(
            "outbox %s: legally required notice %s failed: %s",
            row.id,
            row.template,
            error,
            extra={"outbox_id": row.id, "chat_id": row.chat_id},
        )
        subject = await session.get(Subject, row.subject_id) if row.subject_id is not None else None
        name = NOTICE_NAMES.get(row.template) or NOTICE_NAMES.get(row.template.split("_")[0])
        notice, notice_en = name or ("法定通知", "legal notice")
        context = {
            "notice": notice,
            "notice_en": notice_en,
            "channel": CHANNEL_NAMES.get(row.channel, row.channel),
            "subject_name": subject.name if subject else "",
            "written_at": to_local(row.created_at).strftime("%Y-%m-%d %H:%M"),
            "reason": failure_reason(error),
            "reason_en": _clip(error, 300),
        }
        admins = await session.exec(
            select(Staff).where(Staff.role == StaffRole.ADMIN, col(Staff.active).is_(True))
        )
        written = 0
        for admin in admins.all():
            written += await notify_staff(
                session,
                admin,
                event_key=f"delivery_failed:{row.id}",
                template=DELIVERY_FAILED_TEMPLATE,
                context=context,
                kind=DELIVERY_FAILED_TEMPLATE,
                now=utc_now(self.clock),
            )
        # The department's alert groups and robots too: someone there can serve it in writing (issue #11).
        written += await alert_department(
            session,
            subject.department if subject else None,
            kind="undeliverable",
            event_key=f"delivery_failed:{row.id}",
            template=DELIVERY_FAILED_TEMPLATE,
            context=context,
            now=utc_now(self.clock),
        )
        if not written:
            log.error(
                "outbox %s: no active admin with a bound chat to report the failure to",
                row.id,
                extra={"outbox_id": row.id, "chat_id": row.chat_id},
            )


def _first_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:200]


def _clip(text: str | None, limit: int = MAX_ERROR_LENGTH) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep up to `seconds`, waking at once when stop is set."""
    with contextlib.suppress(TimeoutError):  # the timeout is the normal way out
        await asyncio.wait_for(stop.wait(), seconds)
