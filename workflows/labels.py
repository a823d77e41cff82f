"""Chinese (and English) names of domain values, as users read them."""

from __future__ import annotations

from models.records import RecordKind, RecordStatus, Severity

SEVERITY = {
    Severity.MINOR: ("轻微", "minor"),
    Severity.GENERAL: ("一般", "general"),
    Severity.SERIOUS: ("严重", "serious"),
}
RECORD_KIND = {
    RecordKind.PENALTY: ("行政处罚", "administrative penalty"),
    RecordKind.DISHONESTY_LIST: ("严重失信主体名单", "serious dishonesty list"),
    RecordKind.EVALUATION: ("信用评价", "credit evaluation"),
    RecordKind.COMMITMENT_BREACH: ("违背信用承诺", "breached commitment"),
}
RECORD_STATUS = {
    RecordStatus.PUBLISHED: ("公示中", "published"),
    RecordStatus.REPAIRED: ("已修复（终止公示）", "repaired (publicity ended)"),
    RecordStatus.EXPIRED: ("公示期满已撤下", "publicity period over"),
    RecordStatus.WITHDRAWN: ("已撤销", "withdrawn"),
}


def label(table: dict, value: object, lang: str = "zh") -> str:
    zh, en = table[value]
    return en if lang == "en" else zh
