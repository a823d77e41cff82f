"""Letters a subject confirms in chat (信用承诺书, 信用修复承诺书, 异议申诉信用承诺书): rendered from the
templates, always in Chinese, because the Chinese text is the one with legal effect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from notifications.render import default_renderer


@dataclass(frozen=True)
class CommitmentText:
    content: str  # 承诺内容
    liability: str  # 违诺责任
    letter: str  # the whole letter, as shown and as sent back as a document


def commitment_text(
    *,
    kind: str,
    kind_name: str,
    subject_name: str,
    uscc: str,
    matter: str,
    made_on: date,
    code: str = "",
    missing_materials: str = "",
    materials_due: date | None = None,
) -> CommitmentText:
    r = default_renderer()
    values = {
        "kind": kind,
        "matter": matter,
        "missing_materials": missing_materials,
        "materials_due": materials_due.isoformat() if materials_due else "",
    }
    content = r.render("commitment_content", "zh", values)
    liability = r.render("commitment_liability", "zh", values)
    letter = r.render(
        "commitment_letter",
        "zh",
        {
            "kind_name": kind_name,
            "code": code,
            "subject_name": subject_name,
            "uscc": uscc,
            "matter": matter,
            "content": content,
            "liability": liability,
            "made_on": made_on.isoformat(),
        },
    )
    return CommitmentText(content, liability, letter)


def objection_letter(
    *, subject_name: str, code_label: str, code: str, target: str, reason: str, today: date
) -> str:
    return default_renderer().render(
        "objection_commitment_letter",
        "zh",
        {
            "subject_name": subject_name,
            "code_label": code_label,
            "code": code,
            "target": target,
            "reason": reason,
            "today": today.isoformat(),
        },
    )


def as_document(letter: str) -> bytes:
    """A UTF-8 text file with a BOM, so that Windows Notepad shows the Chinese correctly."""
    return "\ufeff".encode() + letter.replace("\n", "\r\n").encode("utf-8")
