"""Fulfilment of penalty decisions in bulk (决定书文号, 履行日期, 履行方式): the same fact staff record in chat
(workflows/fulfilment.py), so repair opens and the repair-opportunity notice fires as it would."""

from __future__ import annotations

from sqlmodel import col, select

from models import CreditRecord, RecordKind, Subject
from workflows import fulfilment, rules
from workflows.errors import UserError
from workflows.imports import columns as c
from workflows.imports.columns import Column
from workflows.imports.runner import Checker, Job, Row

METHOD_ALIASES = {
    "缴纳罚款": "罚款已缴纳",
    "已缴纳罚款": "罚款已缴纳",
    "已缴纳": "罚款已缴纳",
    "整改": "整改完成",
    "已整改": "整改完成",
}

COLUMNS: tuple[Column, ...] = (
    Column(
        "decision_no",
        "行政处罚决定书文号",
        c.text(128),
        required=True,
        aliases=("决定书文号",),
        example="枣交罚〔2026〕0412号",
    ),
    Column(
        "code",
        "行政相对人代码",
        c.text(32),
        aliases=("统一社会信用代码", "行政相对人代码_1（统一社会信用代码）", "行政相对人代码_1", "证件号码"),
        note="同一文号对应多个相对人时必填",
    ),
    Column(
        "fulfilled_on",
        "履行日期",
        c.past_date,
        required=True,
        fmt="日期，不早于处罚决定日期",
        example="2026-06-01",
    ),
    Column(
        "method",
        "履行方式",
        c.one_of(rules.FULFILMENT_METHODS, METHOD_ALIASES),
        required=True,
        allowed=" / ".join(rules.FULFILMENT_METHODS),
        example="罚款已缴纳",
    ),
    Column("note", "备注", c.text(500)),
)


class FulfilmentImport:
    name = "fulfilment"
    label = "履行情况"
    label_en = "Fulfilment"
    columns = COLUMNS
    key_column = "decision_no"

    def key(self, row: Row) -> tuple[str, ...]:
        return (row.values["decision_no"], row.values["code"] or "")

    def key_text(self, row: Row, lang: str = "zh") -> str:
        if lang == "en":
            return f"decision number {row.values['decision_no']}"
        return f"决定书文号 {row.values['decision_no']}"

    def check(self, row: Row, job: Checker) -> None:
        return None

    async def apply(self, job: Job, batch: list[Row]) -> None:
        numbers = {r.values["decision_no"] for r in batch}
        stmt = (
            select(CreditRecord, Subject)
            .join(Subject, col(Subject.id) == col(CreditRecord.subject_id))
            .where(CreditRecord.kind == RecordKind.PENALTY, job.among(col(CreditRecord.decision_no), numbers))
        )
        by_no: dict[str, list[tuple[CreditRecord, Subject]]] = {}
        async with job.by_index():
            found = (await job.session.exec(stmt)).all()
        for record, subject in found:
            by_no.setdefault(record.decision_no, []).append((record, subject))
        for row in batch:
            record = self._record(job, row, by_no.get(row.values["decision_no"], []))
            if record is None:
                continue
            had = record.obligations_fulfilled_on is not None
            try:
                written = await fulfilment.record_fulfilment(
                    job.session,
                    record,
                    fulfilled_on=row.values["fulfilled_on"],
                    method=row.values["method"],
                    source="import",
                    actor=job.actor,
                    note=row.values["note"] or "",
                    now=job.now,
                    today=job.today,
                    calendar=job.calendar,
                )
            except UserError as err:
                job.refused(row, "fulfilled_on", err)
                continue
            if written is None:
                job.counts.unchanged += 1
            elif had:
                job.counts.changed += 1
            else:
                job.counts.new += 1

    @staticmethod
    def _record(job: Job, row: Row, matches: list[tuple[CreditRecord, Subject]]) -> CreditRecord | None:
        code = row.values["code"]
        if code:
            code = code.upper()
            matches = [(r, s) for r, s in matches if code in (s.uscc, s.id_number, s.cert_no)]
        if not matches:
            job.problem(
                row,
                "decision_no",
                "没有找到该决定书文号" + ("与相对人代码" if code else "") + "对应的处罚记录",
                "No penalty record has this decision number" + (" and party code" if code else ""),
            )
            return None
        if len(matches) > 1:
            job.problem(
                row,
                "code",
                "该文号对应多个行政相对人，请填写行政相对人代码",
                "This decision number has several parties: give the party's code",
            )
            return None
        return matches[0][0]
