"""The subject registry in bulk: enterprises by 统一社会信用代码, drivers by 身份证号码 (natural keys), with the
same checkers as one added by hand (workflows/subjects.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col

from models import Subject, SubjectKind
from workflows import subjects as registry
from workflows.errors import UserError
from workflows.imports import columns as c
from workflows.imports.bulk import insert_rows
from workflows.imports.columns import Column
from workflows.imports.runner import Checker, Job, Row
from workflows.validation import mask_id_number

KIND_NAMES = {"企业": SubjectKind.ENTERPRISE, "驾驶员": SubjectKind.DRIVER}

COLUMNS: tuple[Column, ...] = (
    Column(
        "kind",
        "主体类型",
        c.one_of(tuple(KIND_NAMES), {"法人": "企业", "个体工商户": "企业", "自然人": "驾驶员"}),
        aliases=("类型",),
        allowed="企业 / 驾驶员",
        example="企业",
        note="留空按填写的代码推断",
    ),
    Column(
        "name",
        "名称",
        c.text(200),
        required=True,
        aliases=("企业名称", "姓名", "行政相对人名称"),
        example="枣庄市安达货物运输有限公司",
    ),
    Column(
        "uscc",
        "统一社会信用代码",
        c.uscc,
        aliases=("行政相对人代码_1（统一社会信用代码）", "行政相对人代码_1"),
        fmt="18位，含校验位",
        when="企业",
        example="91370402MA3C4K7D2E",
    ),
    Column(
        "id_number", "身份证号码", c.id_number, aliases=("证件号码",), fmt="18位，含校验位", when="驾驶员"
    ),
    Column(
        "cert",
        "从业资格证号",
        c.cert_number,
        aliases=("资格证号",),
        when="驾驶员",
        note="IC卡从业资格证一般与身份证号码相同",
    ),
    Column(
        "first_issued",
        "初次领证日期",
        c.past_date,
        aliases=("初领日期", "从业资格证初次领证日期"),
        fmt="日期",
        when="驾驶员",
        note="诚信考核周期自此日起算（每12个月）",
    ),
    Column("legal_rep", "法定代表人", c.text(64), example="赵建国"),
    Column(
        "category",
        "行政相对人类别",
        c.category,
        allowed="法人及非法人组织 / 自然人 / 个体工商户",
        example="法人及非法人组织",
    ),
    Column("department", "主管部门", c.text(64), aliases=("所属部门", "科室"), example="信用科"),
)
# Registry fields a row states (the attribute each column sets).
FIELDS = {
    "name": "name",
    "legal_rep": "legal_rep",
    "department": "department",
    "category": "category",
    "cert": "cert_no",
    "first_issued": "cert_first_issued",
}


def _kind(row: Row) -> SubjectKind:
    return row.values["kind"]


class SubjectImport:
    name = "subjects"
    label = "主体"
    label_en = "Subjects"
    columns = COLUMNS
    key_column = "name"

    def key(self, row: Row) -> tuple[str, ...]:
        v = row.values
        return ("E", v["uscc"]) if _kind(row) == SubjectKind.ENTERPRISE else ("D", v["id_number"])

    def key_text(self, row: Row, lang: str = "zh") -> str:
        v = row.values
        en = lang == "en"
        if _kind(row) == SubjectKind.ENTERPRISE:
            return f"USCC {v['uscc']}" if en else f"统一社会信用代码 {v['uscc']}"
        masked = mask_id_number(v["id_number"])
        return f"ID number {masked}" if en else f"身份证号码 {masked}"

    def check(self, row: Row, job: Checker) -> None:
        v = row.values
        kind = (
            KIND_NAMES[v["kind"]]
            if v["kind"]
            else (SubjectKind.ENTERPRISE if v["uscc"] else SubjectKind.DRIVER if v["id_number"] else None)
        )
        if kind is None:
            job.problem(
                row,
                "uscc",
                "企业填统一社会信用代码，驾驶员填身份证号码",
                "Give the USCC for an enterprise, the ID number for a driver",
            )
            return
        v["kind"] = kind
        needs = ("uscc",) if kind == SubjectKind.ENTERPRISE else ("id_number", "cert", "first_issued")
        firm = kind == SubjectKind.ENTERPRISE
        for key in needs:
            if not v[key]:
                job.problem(
                    row,
                    key,
                    f"{'企业' if firm else '驾驶员'}的此项为必填",
                    f"Required for {'an enterprise' if firm else 'a driver'}",
                )
        try:
            if v["category"]:
                registry.check_category(v["category"], kind)
            if v["first_issued"]:
                registry.check_first_issued(v["first_issued"], job.today)
        except UserError as err:
            job.refused(row, "category" if v["category"] else "first_issued", err)
        v["category"] = v["category"] or registry.default_category(kind)

    async def apply(self, job: Job, batch: list[Row]) -> None:
        codes = {self.key(r)[1] for r in batch}
        certs = {r.values["cert"] for r in batch if r.values["cert"]}
        table = Subject.__table__  # type: ignore[attr-defined]
        stmt = select(table).where(
            or_(
                job.among(col(Subject.uscc), codes),
                job.among(col(Subject.id_number), codes),
                job.among(col(Subject.cert_no), certs),
            )
        )
        rows = [r._mapping for r in await job.lookup(stmt)]
        by_code = {r["uscc"] or r["id_number"]: r for r in rows if r["uscc"] or r["id_number"]}
        by_cert = {r["cert_no"]: r for r in rows if r["cert_no"]}
        new: list[dict[str, Any]] = []
        for row in batch:
            v = row.values
            code = self.key(row)[1]
            current = by_code.get(code)
            holder = by_cert.get(v["cert"]) if v["cert"] else None
            if holder is not None and (current is None or holder["id"] != current["id"]):
                job.problem(
                    row,
                    "cert",
                    "该从业资格证号已属于主体库中的另一名驾驶员",
                    "This qualification certificate belongs to another driver in the registry",
                )
                continue
            values = {attr: v[key] for key, attr in FIELDS.items() if job.present(key) or key == "category"}
            values = {
                k: (val or None) if k in ("legal_rep", "department") else val for k, val in values.items()
            }
            if current is None:
                kind = v["kind"]
                new.append(
                    {
                        **values,
                        "kind": kind,
                        "uscc": v["uscc"] if kind == SubjectKind.ENTERPRISE else None,
                        "id_number": v["id_number"] if kind == SubjectKind.DRIVER else None,
                        "region_code": registry.region_of(kind, code),
                        "created_by": job.origin,
                    }
                )
                continue
            await job.update(
                Subject,
                current,
                values,
                action="subject.import_update",
                subject_id=current["id"],
                shown=_shown,
            )
        ids = await insert_rows(job.session, Subject, new)
        job.counts.new += len(ids)


def _shown(key: str, value: Any) -> Any:
    """The audit log keeps certificate numbers masked (they are often ID numbers)."""
    if key == "cert_no" and value:
        return mask_id_number(value)
    return value.isoformat() if hasattr(value, "isoformat") else value
