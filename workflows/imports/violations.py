"""Driver deductions (诚信考核 扣分, domain-rules §12) in bulk. Natural key: 从业资格证号 + 违章日期 + 违章行为.
The driver must be in the registry (import subjects first): a deduction is never attached by a guess."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col

from models import DriverViolation, Subject, SubjectKind
from workflows import rules
from workflows.dataio.values import CellError
from workflows.imports import columns as c
from workflows.imports.bulk import insert_rows
from workflows.imports.columns import Column
from workflows.imports.runner import Checker, Job, Row
from workflows.validation import mask_id_number, mask_name


def points(value: Any, today: date) -> int:
    number = c.count(value, today)
    if number not in rules.DRIVER_POINT_VALUES:
        raise CellError(
            f"扣分应为 {'、'.join(map(str, rules.DRIVER_POINT_VALUES))} 之一（交运发〔2008〕280号）",
            f"The points must be one of {', '.join(map(str, rules.DRIVER_POINT_VALUES))}",
        )
    return number


COLUMNS: tuple[Column, ...] = (
    Column("cert", "从业资格证号", c.cert_number, required=True, aliases=("资格证号", "证号")),
    Column("name", "姓名", c.text(64), aliases=("驾驶员姓名",), note="填写时须与主体库一致"),
    Column(
        "occurred_on",
        "违章日期",
        c.past_date,
        required=True,
        aliases=("违章时间", "违法时间", "违法日期"),
        fmt="日期，不晚于今天",
        example="2026-05-20",
    ),
    Column(
        "item",
        "违章行为",
        c.text(200),
        required=True,
        aliases=("违法行为", "违章内容"),
        example="超速行驶（超过限速不足20%）",
    ),
    Column(
        "points",
        "扣分",
        points,
        required=True,
        aliases=("记分", "扣分分值"),
        fmt="整数",
        allowed="、".join(map(str, rules.DRIVER_POINT_VALUES)),
        example=3,
    ),
    Column("decision_no", "决定书文号", c.text(128), aliases=("行政处罚决定书文号",)),
    Column("authority", "处罚机关", c.text(200), example="枣庄市交通运输局"),
)
FIELDS = ("points", "decision_no", "authority")


class ViolationImport:
    name = "violations"
    label = "驾驶员扣分"
    label_en = "Driver deductions"
    columns = COLUMNS
    key_column = "cert"

    def key(self, row: Row) -> tuple[str, ...]:
        v = row.values
        return (v["cert"], v["occurred_on"].isoformat(), v["item"])

    def key_text(self, row: Row, lang: str = "zh") -> str:
        v = row.values
        cert = mask_id_number(v["cert"])
        if lang == "en":
            return f"certificate {cert}, {v['occurred_on']}, {v['item']}"
        return f"证号 {cert}，{v['occurred_on']}，{v['item']}"

    def check(self, row: Row, job: Checker) -> None:
        return None

    async def apply(self, job: Job, batch: list[Row]) -> None:
        certs = {r.values["cert"] for r in batch}
        drivers = {}
        stmt = select(Subject.id, Subject.cert_no, Subject.id_number, Subject.name, Subject.kind).where(
            or_(job.among(col(Subject.cert_no), certs), job.among(col(Subject.id_number), certs))
        )
        for sid, cert_no, id_number, name, kind in await job.lookup(stmt):
            if kind == SubjectKind.DRIVER:
                for code in (cert_no, id_number):
                    if code in certs:
                        drivers.setdefault(code, (sid, name))
        ids = {sid for sid, _ in drivers.values()}
        table = DriverViolation.__table__  # type: ignore[attr-defined]
        existing = {
            (r.subject_id, r.occurred_on, r.item): r._mapping
            for r in await job.lookup(select(table).where(job.among(table.c.subject_id, ids)))
        }
        new: list[dict[str, Any]] = []
        for row in batch:
            v = row.values
            found = drivers.get(v["cert"])
            if found is None:
                job.problem(row, "cert", *c.NO_SUCH_DRIVER)
                continue
            sid, name = found
            if v["name"] and v["name"] != name:
                job.problem(
                    row,
                    "name",
                    f"姓名与主体库不一致（主体库为 {mask_name(name)}）",
                    f"The name differs from the registry's ({mask_name(name)})",
                )
                continue
            values = {k: v[k] if v[k] is not None else "" for k in FIELDS if job.present(k)}
            current = existing.get((sid, v["occurred_on"], v["item"]))
            if current is None:
                new.append(
                    {
                        **values,
                        "subject_id": sid,
                        "occurred_on": v["occurred_on"],
                        "item": v["item"],
                        "origin": job.origin,
                    }
                )
                continue
            await job.update(
                DriverViolation, current, values, action="violation.import_update", subject_id=sid
            )
        new_ids = await insert_rows(job.session, DriverViolation, new)
        job.counts.new += len(new_ids)
