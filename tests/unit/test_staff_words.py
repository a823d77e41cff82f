"""workflows/staff.py says what staff read in both languages (issue #9): the decision buttons, the roles, a
decision's outcome, a binding request and the stand-in for a code nobody registered. The Chinese is as it
always was; the English holds no Chinese but the data it names."""

from __future__ import annotations

import re

import pytest

from models import BindingRequest, StaffRole, Subject, SubjectKind
from workflows import follow_up
from workflows.staff import (
    DECISIONS,
    ROLE_LABELS,
    DecisionResult,
    QueueItem,
    binding_request_text,
    decision_label,
    role_label,
    unregistered_subject,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("kind", DECISIONS)
def test_every_decision_has_chinese_and_english_labels(kind: str) -> None:
    for action, (zh, en) in DECISIONS[kind].items():
        assert CJK.search(zh) and en and not CJK.search(en), (kind, action)
        assert decision_label(kind, action) == zh and decision_label(kind, action, "en") == en


def test_report_decisions_keep_the_chinese_of_follow_up() -> None:
    for kind, rk in follow_up.KINDS.items():
        assert decision_label(kind, "approve") == rk.approve and decision_label(kind, "reject") == rk.reject


def test_every_role_has_chinese_and_english_names() -> None:
    assert set(ROLE_LABELS) == set(StaffRole)
    assert [role_label(r) for r in StaffRole] == [ROLE_LABELS[r][0] for r in StaffRole]
    assert role_label(StaffRole.REVIEWER) == "审核" and role_label(StaffRole.REVIEWER, "en") == "Reviewer"
    assert not any(CJK.search(role_label(r, "en")) for r in StaffRole)


def test_a_decision_result_in_either_language() -> None:
    result = DecisionResult(True, "已通过。", "Decision recorded: “Approve”.")
    assert result.text_in("zh") == "已通过。" and result.text_in("en") == "Decision recorded: “Approve”."


def _request(**fields: object) -> BindingRequest:
    return BindingRequest(channel="console", chat_id="c", user_id="u", **fields)  # type: ignore[arg-type]


def test_a_binding_request_in_both_languages_masks_an_id_number() -> None:
    req = _request(
        subject_id=7, typed_code="370403199002284525", requester_name="老赵", applicant="赵建国 司机"
    )
    assert (
        binding_request_text(req) == "绑定申请：赵建国 司机（聊天昵称：老赵）；输入的代码：370***********4525"
    )
    assert binding_request_text(req, "en") == (
        "Binding request: 赵建国 司机 (chat name: 老赵); code typed: 370***********4525"
    )


def test_a_binding_request_for_an_unregistered_code_says_so_in_both_languages() -> None:
    req = _request(subject_id=None, typed_code="", applicant="赵六 经理")
    assert binding_request_text(req) == "绑定申请：赵六 经理；输入的代码：—；该代码尚未登记"
    assert (
        binding_request_text(req, "en")
        == "Binding request: 赵六 经理; code typed: —; this code is not registered"
    )


def _item(subject: Subject) -> QueueItem:
    ref = ("绑定申请（11-24 09:00）", "Binding request (11-24 09:00)")
    asked = ("绑定申请：赵六 经理", "Binding request: 赵六 经理")
    return QueueItem("binding", 1, *ref, subject, *asked, "pending", None, None, 0, None)


def test_the_stand_in_for_an_unregistered_code_is_named_in_either_language() -> None:
    item = _item(unregistered_subject(_request(applicant="赵六 经理")))
    assert item.subject_name("zh") == "（未登记主体）" and item.subject_name("en") == "(unregistered subject)"
    assert (
        item.ref_in("zh") == "绑定申请（11-24 09:00）"
        and item.ref_in("en") == "Binding request (11-24 09:00)"
    )
    assert (
        item.asked_in("zh") == "绑定申请：赵六 经理" and item.asked_in("en") == "Binding request: 赵六 经理"
    )


def test_a_registered_subject_is_named_as_registered_in_either_language() -> None:
    firm = Subject(id=3, kind=SubjectKind.ENTERPRISE, name="枣庄市安达货物运输有限公司", department=None)
    assert _item(firm).subject_name("en") == "枣庄市安达货物运输有限公司"
