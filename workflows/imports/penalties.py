"""Penalty decisions in the national 双公示 行政处罚 layout (domain-rules §3), plus three optional columns
of ours (案件程序类别, 失信程度, 公示日期) so an export imports back unchanged.

Natural key: 行政处罚决定书文号 + 行政相对人代码. A row for a subject not in the registry creates it (name,
code, category), marked as created by this import. Imported records behave as recorded ones: publicity
windows and repair dates from the rules, the 双公示 deadline for recent rows not yet published, 三书同达
with --notify for recent rows only (history does not spam).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col

from models import CreditRecord, Deadline, RecordKind, RecordStatus, Severity, Subject, SubjectKind
from workflows import labels, rules
from workflows.clock import SHANGHAI
from workflows.errors import UserError
from workflows.imports import columns as c
from workflows.imports.bulk import insert_rows
from workflows.imports.columns import Column
from workflows.imports.runner import Checker, Job, Row
from workflows.penalties import serve_notices
from workflows.records import PublicityWindow, publicity_window
from workflows.subjects import region_of
from workflows.validation import validate_id_number

LEGACY_CODES = (
    ("reg_no", "行政相对人代码_2（工商注册号）", ("行政相对人代码_2", "工商注册号")),
    ("org_code", "行政相对人代码_3（组织机构代码）", ("行政相对人代码_3", "组织机构代码")),
    ("tax_no", "行政相对人代码_4（税务登记号）", ("行政相对人代码_4", "税务登记号")),
    ("institution_no", "行政相对人代码_5（事业单位证书号）", ("行政相对人代码_5", "事业单位证书号")),
    ("social_org_no", "行政相对人代码_6（社会组织登记证号）", ("行政相对人代码_6", "社会组织登记证号")),
)

# The party in English, for the import's messages (the stored category stays Chinese).
CATEGORIES_EN = {
    "法人及非法人组织": "a legal person or unincorporated organisation",
    "个体工商户": "an individual business",
    "自然人": "a natural person",
}

COLUMNS: tuple[Column, ...] = (
    Column(
        "name",
        "行政相对人名称",
        c.text(200),
        required=True,
        aliases=("当事人名称", "企业名称", "名称"),
        example="枣庄市安达货物运输有限公司",
    ),
    Column(
        "category",
        "行政相对人类别",
        c.category,
        allowed="法人及非法人组织 / 自然人 / 个体工商户",
        example="法人及非法人组织",
        note="留空时按代码推断：18位统一社会信用代码为法人及非法人组织（92开头为个体工商户），身份证号码为自然人",
    ),
    Column(
        "uscc",
        "行政相对人代码_1（统一社会信用代码）",
        c.uscc,
        aliases=("行政相对人代码_1", "统一社会信用代码", "社会信用代码", "行政相对人代码"),
        fmt="18位，含校验位",
        when="法人及非法人组织、个体工商户",
        example="91370402MA3C4K7D2E",
    ),
    *(Column(key, header, c.text(64), aliases=aliases) for key, header, aliases in LEGACY_CODES),
    Column("legal_rep", "法定代表人", c.text(64), example="赵建国"),
    Column("legal_rep_id_type", "法定代表人证件类型", c.text(32), example="身份证"),
    Column("legal_rep_id_number", "法定代表人证件号码", c.text(32), note="对外展示时脱敏"),
    Column(
        "id_type",
        "证件类型",
        c.text(32),
        aliases=("行政相对人证件类型",),
        example="",
        note="自然人填写，如 身份证",
    ),
    Column(
        "id_number",
        "证件号码",
        c.text(32),
        aliases=("行政相对人证件号码", "身份证号码"),
        when="自然人",
        fmt="身份证号码18位，含校验位",
    ),
    Column(
        "decision_no",
        "行政处罚决定书文号",
        c.text(128),
        required=True,
        aliases=("决定书文号", "处罚决定书文号"),
        example="枣交罚〔2026〕0412号",
    ),
    Column("violation_type", "违法行为类型", c.text(500), example="未按规定维护车辆"),
    Column("facts", "违法事实", c.text(4000), required=True, example="未按规定对车辆进行维护和检测"),
    Column("basis", "处罚依据", c.text(2000), required=True, example="《中华人民共和国道路运输条例》"),
    Column(
        "penalty_type",
        "处罚类别",
        c.penalty_types,
        required=True,
        aliases=("处罚类别1", "处罚种类"),
        fmt="名称或两位代码；多个用顿号或分号分隔",
        allowed="、".join(f"{k} {v}" for k, v in rules.PENALTY_TYPE_CODES.items()),
        example="罚款",
    ),
    Column(
        "content", "处罚内容", c.text(4000), required=True, aliases=("处罚结果",), example="罚款 0.5 万元"
    ),
    Column(
        "fine_wan",
        "罚款金额（万元）",
        c.amount,
        aliases=("罚款金额",),
        fmt="数字，单位万元，最多6位小数",
        when="处罚类别含罚款",
        example=0.5,
    ),
    Column(
        "confiscated_wan",
        "没收违法所得、没收非法财物的金额（万元）",
        c.amount,
        aliases=("没收违法所得、没收非法财物的金额", "没收金额（万元）"),
        fmt="数字，单位万元",
    ),
    Column("licence_affected", "暂扣或吊销证照名称及编号", c.text(200), when="处罚类别含暂扣或吊销许可证件"),
    Column(
        "decision_date",
        "处罚决定日期",
        c.past_date,
        required=True,
        aliases=("决定日期", "处罚日期"),
        fmt="日期，如 2026-03-05；不晚于今天",
        example="2026-05-20",
    ),
    Column("valid_until", "处罚有效期", c.any_date, fmt="日期", note="不早于处罚决定日期"),
    Column(
        "publicity_end",
        "公示截止期",
        c.any_date,
        fmt="日期",
        note="留空按规则计算；填写的须在规则规定的最短与最长公示期之间",
    ),
    Column(
        "authority",
        "处罚机关",
        c.text(200),
        required=True,
        aliases=("处罚机关名称", "执法机关"),
        example="枣庄市交通运输局",
    ),
    Column("authority_code", "处罚机关统一社会信用代码", c.uscc, example="11370400004336918H"),
    Column("data_source", "数据来源单位", c.text(200), example="枣庄市交通运输局"),
    Column("data_source_code", "数据来源单位统一社会信用代码", c.uscc, example="11370400004336918H"),
    Column("remarks", "备注", c.text(2000)),
    Column(
        "procedure",
        "案件程序类别",
        c.procedure,
        aliases=("程序类别",),
        allowed="简易程序 / 一般程序（01 / 02）",
        note="简易程序的处罚为轻微失信（令36号）",
    ),
    Column(
        "severity",
        "失信程度",
        c.severity,
        allowed="轻微 / 一般 / 严重",
        note="留空按配置表（处罚类别、罚款金额、程序）认定",
    ),
    Column(
        "published_on",
        "公示日期",
        c.past_date,
        fmt="日期",
        note="已双公示的填写公示日期；近期未公示的将开始 7 个工作日双公示计时",
    ),
)

# The record's own columns an import row sets, compared on re-import (subject columns are not: they
# belong to the registry, see imports/subjects.py).
RECORD_FIELDS = (
    "decision_date",
    "authority",
    "authority_code",
    "penalty_type",
    "fine_wan",
    "confiscated_wan",
    "procedure",
    "facts",
    "basis",
    "content",
    "violation_type",
    "licence_affected",
    "valid_until",
    "data_source",
    "data_source_code",
    "remarks",
)
COMPARED = [
    getattr(CreditRecord.__table__.c, name)  # type: ignore[attr-defined]
    for name in (*RECORD_FIELDS, "severity", "publicity_end", "published_at")
]
TEXT_FIELDS = {"facts", "basis", "content", "violation_type", "licence_affected", "data_source", "remarks"}


@functools.lru_cache(maxsize=4096)
def _classified(penalty_type: str, fine_wan: float | None, procedure: str | None) -> Severity:
    return rules.classify_penalty(penalty_type, fine_wan, procedure)


@functools.lru_cache(maxsize=8192)
def _window(severity: Severity, decided: date) -> PublicityWindow:
    """Pure, and the same for every decision of a day and class (a file has a few thousand such)."""
    window = publicity_window(RecordKind.PENALTY, severity, decided)
    assert window is not None
    return window


def subject_code(row: Row) -> str:
    """The 行政相对人代码 the row's subject is known by (set by check(): the category decides it)."""
    return row.values["code"]


class PenaltyImport:
    name = "penalties"
    label = "行政处罚"
    label_en = "Administrative penalties"
    columns = COLUMNS
    key_column = "decision_no"

    def key(self, row: Row) -> tuple[str, ...]:
        return (row.values["decision_no"], subject_code(row))

    def key_text(self, row: Row, lang: str = "zh") -> str:
        if lang == "en":
            return f"decision number {row.values['decision_no']}, party code {subject_code(row)}"
        return f"决定书文号 {row.values['decision_no']}，相对人代码 {subject_code(row)}"

    def check(self, row: Row, job: Checker) -> None:
        v = row.values
        if v["category"] is None:
            v["category"] = (
                ("个体工商户" if v["uscc"].startswith("92") else "法人及非法人组织")
                if v["uscc"]
                else "自然人"
                if v["id_number"]
                else None
            )
        if v["category"] is None:
            job.problem(
                row,
                "uscc",
                "缺少行政相对人代码：法人及个体工商户填统一社会信用代码，自然人填证件号码",
                "The party's code is missing: the USCC for a legal person or an individual business, the ID "
                "number for a natural person",
            )
            return
        if v["category"] == "自然人":
            if not v["id_number"]:
                job.problem(
                    row,
                    "id_number",
                    "行政相对人为自然人时，证件号码为必填",
                    "The ID number is required when the party is a natural person",
                )
                return
            if not v["id_type"] or "身份证" in v["id_type"]:
                try:
                    v["id_number"] = validate_id_number(v["id_number"], today=job.today)
                except UserError as err:
                    job.refused(row, "id_number", err)
                    return
        elif not v["uscc"]:
            job.problem(
                row,
                "uscc",
                f"行政相对人为{v['category']}时，统一社会信用代码为必填",
                f"The USCC is required when the party is {CATEGORIES_EN.get(v['category'], v['category'])}",
            )
            return
        types = rules.penalty_types(v["penalty_type"])
        if "罚款" in types and not v["fine_wan"]:
            job.problem(
                row,
                "fine_wan",
                "处罚类别含罚款，罚款金额应大于 0",
                "The penalty includes a fine: the fine must be more than 0",
            )
        if {"暂扣许可证件", "吊销许可证件"} & set(types) and not v["licence_affected"]:
            job.problem(
                row,
                "licence_affected",
                "处罚类别含暂扣或吊销许可证件，应填写证照名称及编号",
                "The penalty suspends or revokes a licence: give the licence's name and number",
            )
        decided: date = v["decision_date"]
        for key, what, what_en in (
            ("valid_until", "处罚有效期", "The end of the penalty's validity"),
            ("published_on", "公示日期", "The publication date"),
        ):
            if v[key] is not None and v[key] < decided:
                job.problem(
                    row,
                    key,
                    f"{what}早于处罚决定日期（{decided}）",
                    f"{what_en} is before the decision ({decided})",
                )
        if v["severity"] is None:
            v["severity"] = _classified(v["penalty_type"], v["fine_wan"], v["procedure"])
        window = _window(v["severity"], decided)
        given = v["publicity_end"]
        if (
            given is not None
            and not (window.min_end <= given <= window.max_end)
            and not (not window.published and decided <= given <= window.max_end)
        ):
            job.problem(
                row,
                "publicity_end",
                f"公示截止期与规则不符：按{window.regime.name}，{c.SEVERITY_LABELS[v['severity']]}失信信息"
                f"的公示截止期应在 {window.min_end} 至 {window.max_end} 之间（自处罚决定日期起算）",
                f"The end of publicity does not follow the rules: under {window.regime.key_en}, the publicity "
                f"of {labels.label(labels.SEVERITY, v['severity'], 'en')} dishonesty information ends between "
                f"{window.min_end} and {window.max_end} (counted from the decision)",
            )
        v["publicity_end"] = given or window.max_end
        v["code"] = v["uscc"] if v["category"] != "自然人" else v["id_number"]

    async def apply(self, job: Job, batch: list[Row]) -> None:
        subjects = await _subjects(job, batch)
        existing = await _existing(job, batch, subjects)
        new_rows: list[dict[str, Any]] = []
        for row in batch:
            subject_id = subjects[subject_code(row)]
            values = _record_values(row)
            current = existing.get((row.values["decision_no"], subject_id))
            if current is None:
                new_rows.append({**values, "subject_id": subject_id})
                continue
            stated = {k: v for k, v in values.items() if _updatable(job, k)}
            await job.update(
                CreditRecord, current, stated, action="record.import_update", subject_id=subject_id
            )
        await _insert_new(job, new_rows)


def _updatable(job: Job, key: str) -> bool:
    """Only what the file states changes a record: a column left out changes nothing."""
    if key in ("severity", "publicity_end"):
        return True  # derived when not given: recomputed from the row's values
    if key == "published_at":
        return job.present("published_on")
    return job.present(key)


def _record_values(row: Row) -> dict[str, Any]:
    v = row.values
    out: dict[str, Any] = {k: v[k] for k in RECORD_FIELDS}
    for k in TEXT_FIELDS:
        out[k] = out[k] or ""
    out["decision_no"] = v["decision_no"]
    out["severity"] = v["severity"]
    out["publicity_end"] = v["publicity_end"]
    if v["published_on"] is not None:
        out["published_at"] = datetime.combine(v["published_on"], time(), SHANGHAI).astimezone(UTC)
    return out


async def _subjects(job: Job, batch: list[Row]) -> dict[str, int]:
    """code → subject id, creating the subjects the registry does not have yet."""
    codes = {subject_code(r) for r in batch}
    firms = {subject_code(r) for r in batch if r.values["category"] != "自然人"}
    found: dict[str, int] = {}
    # Each code is looked up where it can be (a USCC, or a person's ID number): one index each.
    if firms:
        stmt = select(Subject.id, Subject.uscc).where(job.among(col(Subject.uscc), firms))
        found.update((uscc, sid) for sid, uscc in await job.lookup(stmt))
    if people := codes - firms:
        stmt = select(Subject.id, Subject.id_number, Subject.cert_no).where(
            or_(job.among(col(Subject.id_number), people), job.among(col(Subject.cert_no), people))
        )
        for sid, id_number, cert_no in await job.lookup(stmt):
            for code in (id_number, cert_no):
                if code in people:
                    found.setdefault(code, sid)
    missing: dict[str, Row] = {}
    for row in batch:
        if subject_code(row) not in found:
            missing.setdefault(subject_code(row), row)
    if missing:
        rows = [_new_subject(row, job) for row in missing.values()]
        ids = await insert_rows(job.session, Subject, rows)
        found.update(zip(missing, ids, strict=True))
        job.counts.subjects_created += len(ids)
    return found


def _new_subject(row: Row, job: Job) -> dict[str, Any]:
    v = row.values
    person = v["category"] == "自然人"
    code = subject_code(row)
    kind = SubjectKind.DRIVER if person else SubjectKind.ENTERPRISE
    codes = {k: v[k] for k, _, _ in LEGACY_CODES if v[k]}
    codes |= {k: v[k] for k in ("legal_rep_id_type", "legal_rep_id_number", "id_type") if v[k]}
    return {
        "kind": kind,
        "name": v["name"],
        "uscc": None if person else code,
        # Natural persons: current IC-card certificates carry the ID number (domain-rules §15 [R]).
        "id_number": code if person else None,
        "cert_no": code if person else None,
        "region_code": region_of(kind, code) if code[:6].isdigit() else "",
        "legal_rep": v["legal_rep"] or None,
        "category": v["category"],
        "codes": codes,
        "created_by": job.origin,
    }


async def _existing(job: Job, batch: list[Row], subjects: dict[str, int]) -> dict[tuple[str, int], Any]:
    numbers = {r.values["decision_no"] for r in batch}
    table = CreditRecord.__table__  # type: ignore[attr-defined]
    # By 文号 alone, the kind checked here: with the kind in the query SQLite's planner picked the kind index
    # and read every penalty for each batch (bench/import.py).
    wanted = [table.c.id, table.c.decision_no, table.c.subject_id, table.c.kind, *COMPARED]
    stmt = select(*wanted).where(job.among(table.c.decision_no, numbers))
    ids = set(subjects.values())
    return {
        (r.decision_no, r.subject_id): r._mapping
        for r in await job.lookup(stmt)
        if r.subject_id in ids and r.kind == RecordKind.PENALTY
    }


async def _insert_new(job: Job, new_rows: list[dict[str, Any]]) -> None:
    if not new_rows:
        return
    records = []
    for values in new_rows:
        recent = job.recent(values["decision_date"])
        records.append(
            {
                **values,
                "kind": RecordKind.PENALTY,
                "status": RecordStatus.PUBLISHED,
                "origin": job.origin,
                "notices_required": recent and job.notify,
                "created_at": job.now,
            }
        )
    ids = await insert_rows(job.session, CreditRecord, records)
    job.counts.new += len(ids)
    deadlines = []
    for rid, values in zip(ids, records, strict=True):
        if job.recent(values["decision_date"]) and values.get("published_at") is None:
            deadlines.append(
                {
                    "kind": "publication",
                    "ref_kind": "credit_record",
                    "ref_id": rid,
                    "subject_id": values["subject_id"],
                    "due_on": job.calendar.add_workdays(values["decision_date"], rules.PUBLICATION_WORKDAYS),
                }
            )
    await insert_rows(job.session, Deadline, deadlines)
    job.counts.deadlines += len(deadlines)
    if job.notify:
        for rid, values in zip(ids, records, strict=True):
            if values["notices_required"]:
                record = await job.session.get(CreditRecord, rid)
                assert record is not None
                served = await serve_notices(
                    job.session, record, today=job.today, now=job.now, calendar=job.calendar
                )
                job.counts.notified += int(served)
