"""信用风险预警: a rules table (workflows/data/risk_rules.toml, Xiamen thresholds by default) evaluated by
one grouped query per rule, and the warnings raised once per subject, rule and period."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Commitment,
    CommitmentKind,
    CreditRecord,
    Fulfilment,
    Interview,
    InterviewStatus,
    RecordKind,
    RecordStatus,
    RiskWarning,
    Subject,
)
from workflows.audit import log_change
from workflows.notices import enqueue_many, notice_button, rows_for_chats
from workflows.reminders import Directory, subject_chats_of

RULES_PATH = Path(__file__).parent / "data" / "risk_rules.toml"
KINDS = (
    "penalty_count",
    "distinct_authorities",
    "serious_lists",
    "grade_b",
    "tolerance_breaches",
    "no_shows",
)
PERIODS = ("year", "quarter", "month")


class RiskRulesError(ValueError):
    """The rules file is malformed: the message names the file and line."""


@dataclass(frozen=True)
class RiskRule:
    id: str
    name: str
    kind: str
    threshold: int
    window_days: int
    period: str
    source: str

    def period_key(self, today: date) -> str:
        if self.period == "year":
            return f"{today.year}"
        if self.period == "quarter":
            return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
        return f"{today:%Y-%m}"


def _line_of(text: str, needle: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    return None


def load_rules(path: Path = RULES_PATH) -> list[RiskRule]:
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RiskRulesError(f"{path}: {err}") from err
    rules: list[RiskRule] = []
    for raw in data.get("rule", []):
        where = f"{path}:{_line_of(text, repr(raw.get('id', ''))[1:-1]) or '?'}"
        try:
            rule = RiskRule(**{k: raw[k] for k in RiskRule.__dataclass_fields__})
        except KeyError as err:
            raise RiskRulesError(f"{where}: rule is missing {err}") from None
        if unknown := set(raw) - set(RiskRule.__dataclass_fields__):
            raise RiskRulesError(f"{where}: unknown keys {sorted(unknown)}")
        if rule.kind not in KINDS or rule.period not in PERIODS:
            raise RiskRulesError(f"{where}: kind must be one of {KINDS}, period one of {PERIODS}")
        if not (
            isinstance(rule.threshold, int)
            and rule.threshold >= 1
            and isinstance(rule.window_days, int)
            and rule.window_days >= 1
        ):
            raise RiskRulesError(f"{where}: threshold and window_days must be positive integers")
        rules.append(rule)
    if len({r.id for r in rules}) != len(rules):
        raise RiskRulesError(f"{path}: rule ids must be unique")
    return rules


def _not_withdrawn(r: type[CreditRecord]) -> ColumnElement[bool]:
    """A withdrawn (撤销 / 更正撤回) record never happened as far as a warning is concerned; repaired and
    expired ones still did (the penalty was received within the window)."""
    return col(r.status) != RecordStatus.WITHDRAWN


async def _hits(session: AsyncSession, rule: RiskRule, today: date) -> dict[int, int]:
    """subject_id → the measured value, for subjects at or over the threshold (one grouped query)."""
    since = today - timedelta(days=rule.window_days)
    r = CreditRecord
    if rule.kind == "penalty_count":
        measure = func.count()
        stmt = (
            select(r.subject_id, measure)
            .where(r.kind == RecordKind.PENALTY, col(r.decision_date) > since, _not_withdrawn(r))
            .group_by(r.subject_id)
            .having(measure >= rule.threshold)
        )
    elif rule.kind == "distinct_authorities":
        # The distinct pairs first, then a count: hashed, where count(DISTINCT) sorts every penalty of
        # the window (to disk on PostgreSQL at 1M records: bench/sweep.py).
        pairs = (
            select(r.subject_id, r.authority)
            .where(r.kind == RecordKind.PENALTY, col(r.decision_date) > since, _not_withdrawn(r))
            .distinct()
            .subquery()
        )
        measure = func.count()
        stmt = (
            select(pairs.c.subject_id, measure)
            .group_by(pairs.c.subject_id)
            .having(measure >= rule.threshold)
            .order_by(pairs.c.subject_id)  # the warnings get their ids in subject order, as before
        )
    elif rule.kind == "serious_lists":
        measure = func.count()
        stmt = (
            select(r.subject_id, measure)
            .where(r.kind == RecordKind.DISHONESTY_LIST, r.status == RecordStatus.PUBLISHED)
            .group_by(r.subject_id)
            .having(measure >= rule.threshold)
        )
    elif rule.kind == "grade_b":
        measure = func.count()
        stmt = (
            select(r.subject_id, measure)
            .where(
                r.kind == RecordKind.EVALUATION,
                r.grade == "B",
                col(r.decision_date) > since,
                _not_withdrawn(r),
            )
            .group_by(r.subject_id)
            .having(measure >= rule.threshold)
        )
    elif rule.kind == "tolerance_breaches":
        c = Commitment
        measure = func.count()
        stmt = (
            select(c.subject_id, measure)
            .where(
                c.kind == CommitmentKind.TOLERANCE,
                col(c.fulfilment).in_([Fulfilment.NONE, Fulfilment.PARTIAL]),
                col(c.fulfilment_decided_on) > since,
            )
            .group_by(c.subject_id)
            .having(measure >= rule.threshold)
        )
    else:  # no_shows
        i = Interview
        measure = func.count()
        stmt = (
            select(i.subject_id, measure)
            .where(
                i.status == InterviewStatus.NO_SHOW,
                col(i.scheduled_at) > datetime.combine(since, time(), UTC),
            )
            .group_by(i.subject_id)
            .having(measure >= rule.threshold)
        )
    return {int(sid): int(value) for sid, value in (await session.exec(stmt)).all()}  # type: ignore[call-overload]


async def scan(
    session: AsyncSession, *, today: date, now: datetime, rules: list[RiskRule], actor: str = "system"
) -> list[RiskWarning]:
    """Raise the warnings that are new for this period; a rerun (or a second scheduler) adds nothing.
    Statements per scan, not per warning: one grouped query and one batched insert per rule, then
    one insert of every notice (bench/sweep.py raises ~900 warnings at 1M records)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    conn = await session.connection()
    new: list[tuple[int, int, RiskRule]] = []  # warning id, subject id, rule
    for rule in rules:
        hits = await _hits(session, rule, today)
        if not hits:
            continue
        stmt = (
            dialect.insert(RiskWarning)
            .on_conflict_do_nothing(index_elements=["subject_id", "rule_id", "period_key"])
            .returning(col(RiskWarning.id), col(RiskWarning.subject_id))
        )
        values = [
            {
                "subject_id": sid,
                "rule_id": rule.id,
                "period_key": rule.period_key(today),
                "raised_at": now,
                "closed_at": None,
                "details": {
                    "rule": rule.name,
                    "value": value,
                    "threshold": rule.threshold,
                    "window_days": rule.window_days,
                    "source": rule.source,
                },
            }
            for sid, value in hits.items()
        ]
        new += [(wid, sid, rule) for wid, sid in (await conn.execute(stmt, values)).all()]
    if not new:
        return []
    warnings = {
        w.id: w
        for w in (
            await session.exec(select(RiskWarning).where(col(RiskWarning.id).in_([wid for wid, _, _ in new])))
        ).all()
    }
    await _announce(session, [(warnings[wid], rule) for wid, _, rule in new], now)
    for wid, sid, _ in new:
        await log_change(
            session,
            actor=actor,
            action="risk.warning",
            entity="risk_warning",
            entity_id=wid,
            subject_id=sid,
            after=warnings[wid].details,
        )
    return list(warnings.values())


async def _announce(session: AsyncSession, raised: list[tuple[RiskWarning, RiskRule]], now: datetime) -> None:
    """The warning to the subject's bound chats, and to its department's staff with a button that
    schedules an interview."""
    subject_ids = {w.subject_id for w, _ in raised}
    subjects = {
        s.id: s for s in (await session.exec(select(Subject).where(col(Subject.id).in_(subject_ids)))).all()
    }
    chats = await subject_chats_of(session, subject_ids)
    directory = await Directory.load(session)
    rows: list[dict[str, Any]] = []
    for warning, rule in raised:
        subject = subjects[warning.subject_id]
        context = {
            "subject_name": subject.name,
            "rule": rule.name,
            "value": warning.details["value"],
            "window_days": rule.window_days,
            "warning_id": warning.id,
        }
        key = f"warning:{warning.id}"
        rows += rows_for_chats(
            chats.get(subject.id or 0, []),
            event_key=key,
            template="risk_warning_subject",
            context=context,
            kind="warning",
            now=now,
            subject_id=subject.id,
        )
        button = [
            [
                notice_button(
                    "📅 安排约谈",
                    "📅 Schedule an interview",
                    "interview.new",
                    subject_id=subject.id,
                    warning_id=warning.id,
                )
            ]
        ]
        handlers = directory.department_staff(subject.department)
        # Nobody to handle it: the department's chief and the admins get it, told that it has nobody.
        staff_context = context if handlers else {**context, "nobody_in": subject.department or ""}
        for staff in handlers or directory.stand_ins(subject.department):
            rows += rows_for_chats(
                directory.chats.get(staff.id or 0, []),
                event_key=key,
                template="risk_warning_staff",
                context=staff_context,
                kind="warning",
                now=now,
                staff_id=staff.id,
                buttons=button,
            )
        rows += rows_for_chats(  # the department's alert groups: the alert only, no button
            directory.alert_groups(subject.department, "warning"),
            event_key=f"{key}:group",
            template="risk_warning_staff",
            context=context,
            kind="warning",
            now=now,
        )
    await enqueue_many(session, rows)
