"""Bulk import of the bureau's data (issue #8): subjects, penalties in the national 双公示 layout, driver
deductions, grades, fulfilment. Every row checked, every problem reported at once, all or nothing,
idempotent by natural keys. The file layer is workflows/dataio; the loop is runner.py."""

from __future__ import annotations

from workflows.imports.fulfilment import FulfilmentImport
from workflows.imports.grades import GradeImport
from workflows.imports.penalties import PenaltyImport
from workflows.imports.runner import ImportKind, ImportResult, Problem, run_import
from workflows.imports.subjects import SubjectImport
from workflows.imports.violations import ViolationImport

KINDS: dict[str, ImportKind] = {
    kind.name: kind
    for kind in (SubjectImport(), PenaltyImport(), ViolationImport(), GradeImport(), FulfilmentImport())
}


def detect_kind(headers: list[str]) -> ImportKind | None:
    """The kind whose required columns are all in the file and which recognises most of its headers."""
    from workflows.imports.columns import map_headers

    best: tuple[int, ImportKind] | None = None
    for kind in KINDS.values():
        found = map_headers(headers, kind.columns)
        if not found.missing and (best is None or len(found.index) > best[0]):
            best = (len(found.index), kind)
    return best[1] if best else None


def kind_label(kind: ImportKind, lang: str = "zh") -> str:
    return kind.label_en if lang == "en" else kind.label


def kind_named(name: str) -> ImportKind:
    from workflows.errors import UserError

    if name not in KINDS:
        raise UserError(
            f"未知的导入类型 {name}，可用：{'、'.join(KINDS)}。",
            f"Unknown import kind {name}; available: {', '.join(KINDS)}.",
        )
    return KINDS[name]


__all__ = [
    "KINDS",
    "ImportKind",
    "ImportResult",
    "Problem",
    "detect_kind",
    "kind_label",
    "kind_named",
    "run_import",
]
