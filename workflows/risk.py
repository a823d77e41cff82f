"""信用风险预警: a rules table (workflows/data/risk_rules.toml, Xiamen thresholds by default) evaluated by
one grouped query per rule, and the warnings raised once per subject, rule and period."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
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
from workflows.notices import notice_button, notify_staff, notify_subject
from workflows.reminders import department_staff

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


async def _hits(session: AsyncSession, rule: RiskRule, today: date) -> dict[int, int]:
    """subject_id → the measured value, for subjects at or over the threshold (one grouped query)."""
    since = today - timedelta(days=rule.window_days)
    r = CreditRecord
    if rule.kind in ("penalty_count", "distinct_authorities"):
        measure = func.count() if rule.kind == "penalty_count" else func.count(func.distinct(r.authority))
        stmt = (
            select(r.subject_id, measure)
            .where(r.kind == RecordKind.PENALTY, col(r.decision_date) > since)
            .group_by(r.subject_id)
            .having(measure >= rule.threshold)
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
            .where(r.kind == RecordKind.EVALUATION, r.grade == "B", col(r.decision_date) > since)
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
    """Raise the warnings that are new for this period; a rerun (or a second scheduler) adds nothing."""
    raised: list[RiskWarning] = []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for rule in rules:
        for subject_id, value in (await _hits(session, rule, today)).items():
            details: dict[str, Any] = {
                "rule": rule.name,
                "value": value,
                "threshold": rule.threshold,
                "window_days": rule.window_days,
                "source": rule.source,
            }
            stmt = (
                dialect.insert(RiskWarning)
                .values(
                    subject_id=subject_id,
                    rule_id=rule.id,
                    period_key=rule.period_key(today),
                    details=details,
                    raised_at=now,
                )
                .on_conflict_do_nothing(index_elements=["subject_id", "rule_id", "period_key"])
                .returning(RiskWarning.id)
            )
            new_id = (await session.exec(stmt)).scalar()  # type: ignore[call-overload]
            if new_id is None:
                continue
            warning = await session.get(RiskWarning, new_id)
            assert warning is not None
            await _announce(session, warning, rule, now)
            await log_change(
                session,
                actor=actor,
                action="risk.warning",
                entity="risk_warning",
                entity_id=new_id,
                subject_id=subject_id,
                after=details,
            )
            raised.append(warning)
    return raised


async def _announce(session: AsyncSession, warning: RiskWarning, rule: RiskRule, now: datetime) -> None:
    subject = await session.get(Subject, warning.subject_id)
    assert subject is not None
    context = {
        "subject_name": subject.name,
        "rule": rule.name,
        "value": warning.details["value"],
        "window_days": rule.window_days,
        "warning_id": warning.id,
    }
    key = f"warning:{warning.id}"
    await notify_subject(
        session,
        subject.id or 0,
        event_key=key,
        template="risk_warning_subject",
        context=context,
        kind="warning",
        now=now,
    )
    for staff in await department_staff(session, subject.department):
        await notify_staff(
            session,
            staff,
            event_key=key,
            template="risk_warning_staff",
            context=context,
            kind="warning",
            now=now,
            buttons=[
                [
                    notice_button(
                        "📅 安排约谈",
                        "📅 Schedule an interview",
                        "interview.new",
                        subject_id=subject.id,
                        warning_id=warning.id,
                    )
                ]
            ],
        )
