"""The notices of the 报送 loop (workflows/follow_up.py): contexts shaped like the ones the workflow writes
(tests/notifications/test_template_wording.py renders them in both languages and scans them too)."""

from __future__ import annotations

from typing import Any

from notifications.render import Renderer
from workflows import follow_up

SUBMITTED = {
    "subject_name": "山东鲁南客运集团有限公司",
    "what": "整改情况报告",
    "what_en": "rectification report",
    "ref_no": "ZG202611260001",
    "title": "2026-11-26 09:30 的约谈",
    "files": 2,
    "due_on": "2026-12-03",
}
DECIDED = {
    "what": "整改情况报告",
    "what_en": "rectification report",
    "ref_no": "ZG202611260001",
    "title": "2026-11-26 09:30 的约谈",
    "approved": True,
    "verdict": "验收通过",
    "reason": "",
    "due_on": None,
    "tolerance": False,
    "fulfilled": False,
}
TOLERANCE = {
    **DECIDED,
    "what": "容缺补齐材料",
    "what_en": "missing materials",
    "ref_no": "BQ202611240001",
    "title": "承诺 370402202611240000001",
    "verdict": "确认收齐",
    "tolerance": True,
}
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("follow_up_submitted", "rectification", SUBMITTED),
    ("follow_up_submitted", "one file", {**SUBMITTED, "files": 1}),
    ("follow_up_decided", "rectification accepted", DECIDED),
    (
        "follow_up_decided",
        "rectification sent back",
        {
            **DECIDED,
            "approved": False,
            "verdict": "要求继续整改",
            "reason": "培训记录缺少签到表",
            "due_on": "2026-12-25",
        },
    ),
    ("follow_up_decided", "materials in time", {**TOLERANCE, "fulfilled": True}),
    ("follow_up_decided", "materials late", TOLERANCE),
    (
        "follow_up_decided",
        "materials sent back",
        {
            **TOLERANCE,
            "approved": False,
            "verdict": "要求补交",
            "reason": "须加盖公章",
            "due_on": "2026-12-01",
        },
    ),
]


def test_a_sent_back_notice_says_the_new_day_and_the_reason() -> None:
    text = Renderer().render("follow_up_decided", "zh", CASES[3][2])
    assert "工作人员要求继续整改" in text and "培训记录缺少签到表" in text
    assert "请于 2026-12-25 前完成整改，然后点下方按钮再次报送" in text


def test_only_subject_deadlines_with_a_report_get_a_reminder_button() -> None:
    [[button]] = follow_up.reminder_buttons("rectification", 7) or [[]]
    assert button["action"] == "follow_up.start" and button["payload"] == {
        "kind": "rectification",
        "ref_id": 7,
    }
    assert follow_up.reminder_buttons("tolerance_materials", 3) is not None
    assert follow_up.reminder_buttons("publication", 3) is None
    assert follow_up.reminder_buttons("repair_review", 3) is None
