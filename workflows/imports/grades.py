"""Assessment results in bulk (domain-rules §12–13): an enterprise's 质量信誉考核 grade for a year (a
信用评价 record), or a driver's endorsed 诚信考核 cycle. One file may hold both: a row with a 统一社会信用代码
is an enterprise's, a row with a 从业资格证号 a driver's. Natural keys: code + 考核年度, certificate + 周期起."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col

from models import AssessmentCycle, CreditRecord, RecordKind, RecordStatus, Severity, Subject, SubjectKind
from workflows.dataio.values import CellError
from workflows.imports import columns as c
from workflows.imports.bulk import insert_rows
from workflows.imports.columns import Column
from workflows.imports.runner import Checker, Job, Row
from workflows.validation import mask_id_number

# §12 D5 and §13: both schemes use the same four grades [S]. A grade is the authority's result: it is
# stored as given, not recomputed from points (our bands are [R] placeholders, §12 D6).
GRADES = ("AAA", "AA", "A", "B")
ENTERPRISE_SCORE_MAX = 1000  # §13: the 1000-point sheet [S]


def year(value: Any, today: date) -> int:
    number = c.count(value, today)
    if number is None or not 2000 <= number <= today.year:
        raise CellError(
            f"考核年度应为 2000–{today.year} 之间的年份",
            f"The assessment year must be from 2000 to {today.year}",
        )
    return number


def score(value: Any, today: date) -> float | None:
    number = c.amount(value, today)
    if number is not None and number > ENTERPRISE_SCORE_MAX:
        raise CellError(
            f"得分不应超过 {ENTERPRISE_SCORE_MAX} 分", f"The score cannot be more than {ENTERPRISE_SCORE_MAX}"
        )
    return number


COLUMNS: tuple[Column, ...] = (
    Column("uscc", "统一社会信用代码", c.uscc, when="企业考核结果", example="91370402MA3C4K7D2E"),
    Column("cert", "从业资格证号", c.cert_number, when="驾驶员考核结果"),
    Column("name", "名称", c.text(200), aliases=("企业名称", "姓名"), note="仅供核对，不修改主体库"),
    Column(
        "grade",
        "考核等级",
        c.one_of(GRADES),
        required=True,
        aliases=("等级", "信用等级", "考核结果"),
        allowed=" / ".join(GRADES),
        example="AA",
    ),
    Column("year", "考核年度", year, fmt="年份，如 2025", when="企业", example=2025),
    Column("score", "考核得分", score, fmt="数字（满分 1000）", example=820),
    Column(
        "decided_on",
        "认定日期",
        c.past_date,
        aliases=("评定日期", "发布日期"),
        fmt="日期",
        when="企业",
        example="2026-03-10",
    ),
    Column(
        "authority",
        "认定机关",
        c.text(200),
        aliases=("考核机关", "评定机关"),
        when="企业",
        example="枣庄市交通运输局",
    ),
    Column("decision_no", "文号", c.text(128), note="留空时记为「某年度质量信誉考核」"),
    Column("start", "周期起", c.any_date, aliases=("考核周期起",), fmt="日期", when="驾驶员"),
    Column("end", "周期止", c.any_date, aliases=("考核周期止",), fmt="日期", when="驾驶员"),
    Column("points", "扣分", c.count, aliases=("累计扣分", "记分"), fmt="整数", when="驾驶员"),
    Column("endorsed_on", "签注日期", c.past_date, fmt="日期"),
)
NEEDS = {
    "E": (("year", "decided_on", "authority"), "企业考核结果", "an enterprise's result"),
    "D": (("start", "end", "points"), "驾驶员考核结果", "a driver's result"),
}


def _side(row: Row) -> str:
    return "E" if row.values["uscc"] else "D"


def default_decision_no(year_: int) -> str:
    return f"{year_}年度质量信誉考核"


class GradeImport:
    name = "grades"
    label = "考核结果"
    label_en = "Assessment results"
    columns = COLUMNS
    key_column = "grade"

    def key(self, row: Row) -> tuple[str, ...]:
        v = row.values
        if _side(row) == "E":
            return ("E", v["uscc"], str(v["year"]))
        return ("D", v["cert"], v["start"].isoformat())

    def key_text(self, row: Row, lang: str = "zh") -> str:
        v = row.values
        en = lang == "en"
        if _side(row) == "E":
            return f"{v['uscc']}, {v['year']}" if en else f"{v['uscc']} {v['year']} 年度"
        cert = mask_id_number(v["cert"])
        return f"certificate {cert}, cycle from {v['start']}" if en else f"证号 {cert}，周期自 {v['start']}"

    def check(self, row: Row, job: Checker) -> None:
        v = row.values
        if bool(v["uscc"]) == bool(v["cert"]):
            job.problem(
                row,
                "uscc",
                "每行填写统一社会信用代码（企业）或从业资格证号（驾驶员）中的一项",
                "Give one of the USCC (an enterprise) or the qualification certificate number (a driver) "
                "on each row",
            )
            return
        keys, what, what_en = NEEDS[_side(row)]
        for key in keys:
            if v[key] is None:
                job.problem(row, key, f"{what}的此项为必填", f"Required for {what_en}")
        if _side(row) == "D" and v["start"] and v["end"] and v["end"] <= v["start"]:
            job.problem(row, "end", "周期止应晚于周期起", "The cycle must end after it starts")

    async def apply(self, job: Job, batch: list[Row]) -> None:
        codes = {r.values["uscc"] or r.values["cert"] for r in batch}
        subjects: dict[str, int] = {}
        stmt = select(Subject.id, Subject.uscc, Subject.cert_no, Subject.id_number, Subject.kind).where(
            or_(
                job.among(col(Subject.uscc), codes),
                job.among(col(Subject.cert_no), codes),
                job.among(col(Subject.id_number), codes),
            )
        )
        for sid, uscc, cert_no, id_number, kind in await job.lookup(stmt):
            for code in (uscc,) if kind == SubjectKind.ENTERPRISE else (cert_no, id_number):
                if code in codes:
                    subjects.setdefault(code, sid)
        await self._evaluations(job, [r for r in batch if _side(r) == "E"], subjects)
        await self._cycles(job, [r for r in batch if _side(r) == "D"], subjects)

    async def _evaluations(self, job: Job, batch: list[Row], subjects: dict[str, int]) -> None:
        table = CreditRecord.__table__  # type: ignore[attr-defined]
        ids = set(subjects.values())
        existing: dict[tuple[int, int], Any] = {}
        for r in await job.lookup(
            select(table).where(table.c.kind == RecordKind.EVALUATION, job.among(table.c.subject_id, ids))
        ):
            m = r._mapping
            y = m["assessment_year"] or _year_of(m["decision_no"])
            if y is not None:
                existing.setdefault((m["subject_id"], y), m)
        new = []
        for row in batch:
            v = row.values
            sid = subjects.get(v["uscc"])
            if sid is None:
                job.problem(
                    row,
                    "uscc",
                    "主体库中没有该企业，请先导入主体",
                    "This enterprise is not in the registry: import the subjects first",
                )
                continue
            values = {
                "grade": v["grade"],
                "assessment_year": v["year"],
                "decision_date": v["decided_on"],
                "authority": v["authority"],
            }
            if job.present("score"):
                values["score"] = v["score"]
            if job.present("decision_no"):
                values["decision_no"] = v["decision_no"] or default_decision_no(v["year"])
            current = existing.get((sid, v["year"]))
            if current is None:
                new.append(
                    {
                        "decision_no": default_decision_no(v["year"]),
                        **values,
                        "subject_id": sid,
                        "kind": RecordKind.EVALUATION,
                        "severity": Severity.GENERAL,
                        "status": RecordStatus.PUBLISHED,
                        "origin": job.origin,
                        "notices_required": False,  # a grade is not a penalty: no 三书同达
                    }
                )
                continue
            await job.update(CreditRecord, current, values, action="evaluation.import_update", subject_id=sid)
        new_ids = await insert_rows(job.session, CreditRecord, new)
        job.counts.new += len(new_ids)

    async def _cycles(self, job: Job, batch: list[Row], subjects: dict[str, int]) -> None:
        table = AssessmentCycle.__table__  # type: ignore[attr-defined]
        ids = set(subjects.values())
        existing = {
            (r.subject_id, r.start): r._mapping
            for r in await job.lookup(select(table).where(job.among(table.c.subject_id, ids)))
        }
        new = []
        for row in batch:
            v = row.values
            sid = subjects.get(v["cert"])
            if sid is None:
                job.problem(row, "cert", *c.NO_SUCH_DRIVER)
                continue
            values = {"end": v["end"], "points": v["points"], "grade": v["grade"]}
            if job.present("endorsed_on"):
                values["endorsed_on"] = v["endorsed_on"]
            current = existing.get((sid, v["start"]))
            if current is None:
                new.append({**values, "subject_id": sid, "start": v["start"]})
                continue
            await job.update(AssessmentCycle, current, values, action="cycle.import_update", subject_id=sid)
        new_ids = await insert_rows(job.session, AssessmentCycle, new)
        job.counts.new += len(new_ids)


def _year_of(decision_no: str) -> int | None:
    """Evaluations recorded before 考核年度 had a column carry it in their title ("2025年度质量信誉考核")."""
    head = decision_no[:4]
    return int(head) if head.isdigit() and decision_no[4:].startswith("年度") else None
