"""Issue #9, "every word true, in both languages": every notice template, rendered in Chinese and English
with a context shaped like the one its workflow writes to the outbox (dates as ISO strings), shows no
internal names, and the English text holds no Chinese except the values it was given."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from notifications.render import TEMPLATES, Renderer
from tests.support.wording import problems
from tests.unit.test_loops import CASES as LOOP_CASES

LANGS = ("zh", "en")
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Sample:
    template: str
    shape: str  # which branch of the template this context takes
    context: dict[str, Any]


# -- contexts, as written by the workflow named above each group -------------------------------------

# workflows/penalties.py notice_context: one context serves all three notices of 三书同达.
SANSHU_PUBLISHED = {
    "record_id": 17,
    "decision_no": "枣交罚〔2026〕0412号",
    "decision_date": "2026-03-05",
    "authority": "枣庄市交通运输局",
    "penalty_type": "警告、罚款",
    "content": "罚款人民币伍仟元整",
    "facts": "2026年2月18日，鲁D·K3827号客车未按规定进行安全检查即发车",
    "severity": "一般",
    "regime": "《信用修复管理办法》国家发展改革委令2025年第36号",
    "published": True,
    "publicity_start": "2026-03-05",
    "min_end": "2026-06-05",
    "max_end": "2027-03-05",
    "repair_from": "2026-06-06",
    "repair_note": "最短公示期 2026-06-05 届满，2026-06-06 起可申请修复。",
    "repair_decide_workdays": 10,
    "objection_workdays": 12,
    "objection_reasons": [
        "信息错误",
        "信息不完整",
        "重复",
        "不应公示",
        "超期公示",
        "非本主体",
        "修复后未撤下",
        "其他",
    ],
}
SANSHU_MINOR = {
    **SANSHU_PUBLISHED,
    "decision_no": "枣交罚〔2026〕0518号",
    "penalty_type": "",
    "content": "",
    "facts": "",
    "severity": "轻微",
    "published": False,
    "min_end": "2026-03-05",
    "max_end": "2026-06-05",
    "repair_from": None,
    "repair_note": "须先履行行政处罚决定的义务（如缴纳罚款、完成整改），之后即可申请。",
}

# workflows/interviews.py _notice_context and when().
INTERVIEW = {
    "interview_id": 7,
    "subject_name": "枣庄市安达物流有限公司",
    "addressee": "贵单位",
    "reason": "近一年内受到多次行政处罚，存在较高信用风险",
    "date": "2026-12-01",
    "weekday": "星期二",
    "time": "09:30",
    "place": "枣庄市交通运输局三楼信用科会议室",
    "online": False,
    "attendees": ["张敏", "李建国"],
    "bring": [
        "营业执照副本复印件（加盖公章）",
        "法定代表人身份证明；委托他人参加的，另带授权委托书和受托人身份证",
        "与约谈事由有关的情况说明、整改材料",
    ],
    "organiser": "信用科",
    "cancelled": False,
    "cancel_reason": "",
}
INTERVIEW_ONLINE = {**INTERVIEW, "online": True, "place": "线上（腾讯会议 728 413 905）"}

# notifications/sweeps.py sweep_deadlines (KIND_LABELS and deadline_references name the thing).
DEADLINE = {
    "kind": "信用修复申请审核",
    "due_on": "2026-11-20",
    "subject_name": "枣庄市安达物流有限公司",
    "ref": "信用修复申请 XF202611200001",
    "occasion": "overdue",
    "workdays": 2,
}

# notifications/sweeps.py sweep_interviews.
INTERVIEW_SWEEP = {
    "when": "2026-12-01 09:30",
    "place": "枣庄市交通运输局三楼信用科会议室",
    "reason": "近一年内受到多次行政处罚，存在较高信用风险",
    "interview_id": 7,
}

# workflows/risk.py: the same context to the subject and to staff.
RISK = {
    "subject_name": "山东鲁南客运集团有限公司",
    "rule": "一年内受到 60 次及以上行政处罚",
    "value": 61,
    "window_days": 365,
    "warning_id": 3,
}

# workflows/repair.py decide().
REPAIR = {
    "ref_no": "XF202611200001",
    "decision_no": "枣交罚〔2026〕0412号",
    "decision_date": "2026-03-05",
    "reason": "",
}

# notifications/letters.py commitment_text(): the values of commitment_content and commitment_liability.
COMMITMENT_KINDS = {
    "approval_substitute": "道路货物运输经营许可",
    "tolerance": "道路旅客运输经营许可",
    "certificate": "无违法违规经营证明",
    "voluntary": "诚信经营承诺",
    "self_regulation": "枣庄市道路运输行业诚信自律公约",
    "repair": "枣交罚〔2026〕0412号",
}


def _commitment_values(kind: str) -> dict[str, Any]:
    tolerance = kind == "tolerance"
    return {
        "kind": kind,
        "matter": COMMITMENT_KINDS[kind],
        "missing_materials": "车辆技术等级评定证明" if tolerance else "",
        "materials_due": "2026-12-08" if tolerance else "",
    }


SAMPLES = [
    # workflows/follow_up.py: the 报送 loop's contexts live with its unit tests.
    *(Sample(template, shape, context) for template, shape, context in LOOP_CASES),
    # workflows/binding.py decide(): a refusal does not name the subject.
    Sample(
        "binding_decided",
        "approved",
        {"approved": True, "subject_name": "枣庄市安达物流有限公司", "reason": ""},
    ),
    Sample(
        "binding_decided",
        "refused",
        {"approved": False, "subject_name": "", "reason": "申请人与该企业法定代表人信息不符"},
    ),
    *(Sample("commitment_content", kind, _commitment_values(kind)) for kind in COMMITMENT_KINDS),
    *(Sample("commitment_liability", kind, _commitment_values(kind)) for kind in COMMITMENT_KINDS),
    # workflows/commitments.py decide_fulfilment().
    Sample(
        "commitment_decided",
        "kept",
        {
            "code": "37040220261124000001",
            "outcome": "全部履行",
            "liability": "",
            "breach": False,
            "unfulfilled": "",
        },
    ),
    Sample(
        "commitment_decided",
        "breached",
        {
            "code": "37040220261124000001",
            "outcome": "部分履行",
            "liability": "如逾期未补齐材料或材料不符合要求，同意终止办理，并接受将违诺情况记入信用记录。",
            "breach": True,
            "unfulfilled": "车辆技术等级评定证明未在承诺期限内补交",
        },
    ),
    # notifications/letters.py commitment_text().
    Sample(
        "commitment_letter",
        "with code",
        {
            "kind_name": "容缺受理承诺",
            "code": "37040220261124000001",
            "subject_name": "枣庄市安达物流有限公司",
            "uscc": "91370402MA3C5TQX8K",
            "matter": "道路旅客运输经营许可",
            "content": "本单位申请办理「道路旅客运输经营许可」，主要材料已齐全。",
            "liability": "如逾期未补齐材料或材料不符合要求，同意终止办理。",
            "made_on": "2026-11-24",
        },
    ),
    Sample(
        "commitment_letter",
        "preview without code",
        {
            "kind_name": "信用修复承诺",
            "code": "",
            "subject_name": "枣庄市安达物流有限公司",
            "uscc": "91370402MA3C5TQX8K",
            "matter": "枣交罚〔2026〕0412号",
            "content": "本单位已纠正决定书 枣交罚〔2026〕0412号 所涉失信行为并履行了法定义务。",
            "liability": "如违背承诺，并丧失今后的信用修复资格。",
            "made_on": "2026-11-24",
        },
    ),
    # notifications/sweeps.py digests().
    Sample(
        "daily_digest",
        "with items",
        {
            "name": "张敏",
            "today": "2026-11-24",
            "pending": 3,
            "due_today": 1,
            "overdue": 1,
            "top": [
                "XF202611200001 枣庄市安达物流有限公司：信用修复申请审核",
                "YY202611230002 山东鲁南客运集团有限公司：异议核查答复",
            ],
            "top_en": [
                "XF202611200001 枣庄市安达物流有限公司: credit repair application (submitted)",
                "YY202611230002 山东鲁南客运集团有限公司: objection (submitted)",
            ],
        },
    ),
    Sample("deadline_escalation", "with reference", {**DEADLINE, "staff": "张敏、李建国"}),
    Sample("deadline_escalation", "nobody assigned", {**DEADLINE, "ref": "", "staff": "（未指定）"}),
    Sample("deadline_staff", "overdue", DEADLINE),
    Sample(
        "deadline_staff",
        "before",
        {
            **DEADLINE,
            "kind": "行政处罚信息双公示（7个工作日）",
            "ref": "处罚决定 枣交罚〔2026〕0412号",
            "occasion": "before",
            "workdays": 1,
            "due_on": "2026-11-25",
        },
    ),
    Sample(
        "deadline_subject",
        "before",
        {**DEADLINE, "kind": "信用修复补正材料", "occasion": "before", "workdays": 2, "due_on": "2026-11-26"},
    ),
    Sample(
        "deadline_subject",
        "overdue",
        {
            **DEADLINE,
            "kind": "约谈整改事项",
            "ref": "",
            "occasion": "overdue",
            "workdays": 1,
            "due_on": "2026-11-23",
        },
    ),
    # workflows/robots.py mark_broken(): a group robot the platform refused (issue #11).
    Sample(
        "robot_broken",
        "bad signature",
        {
            "robot_name": "信用科钉钉群",
            "department": "信用科",
            "platform": "钉钉",
            "platform_en": "DingTalk",
            "reason": "签名或安全设置校验失败（密钥、关键词或 IP 白名单）",
            "reason_en": "310000: sign not match",
        },
    ),
    # bot/commands/robots.py `robots test`.
    Sample(
        "robot_test",
        "test message",
        {"robot_name": "信用科钉钉群", "department": "信用科", "sent_at": "2026-11-27 09:30"},
    ),
    # notifications/dispatcher.py: a legally required notice that failed for good.
    Sample(
        "delivery_failed",
        "to a subject",
        {
            "notice": "三书同达通知",
            "notice_en": "the three notices",
            "channel": "Telegram",
            "subject_name": "枣庄市安达物流有限公司",
            "written_at": "2026-11-24 10:02",
            "reason": "对方已屏蔽机器人",
            "reason_en": "Forbidden: bot was blocked by the user",
        },
    ),
    # workflows/fulfilment.py decide().
    Sample(
        "fulfilment_decided",
        "approved",
        {
            "ref_no": "LX202611200003",
            "decision_no": "枣交罚〔2026〕0412号",
            "approved": True,
            "fulfilled_on": "2026-11-18",
            "method": "罚款已缴纳",
            "reason": "",
        },
    ),
    Sample(
        "fulfilment_decided",
        "refused",
        {
            "ref_no": "LX202611200003",
            "decision_no": "枣交罚〔2026〕0412号",
            "approved": False,
            "fulfilled_on": "2026-11-18",
            "method": "罚款已缴纳",
            "reason": "缴款凭证金额与决定书不符",
        },
    ),
    Sample(
        "interview_confirmed",
        "confirmed",
        {
            "subject_name": INTERVIEW["subject_name"],
            "date": INTERVIEW["date"],
            "weekday": INTERVIEW["weekday"],
            "time": INTERVIEW["time"],
            "place": INTERVIEW["place"],
        },
    ),
    Sample("interview_notice", "scheduled", INTERVIEW),
    Sample("interview_notice", "online", INTERVIEW_ONLINE),
    Sample(
        "interview_notice",
        "cancelled",
        {**INTERVIEW_ONLINE, "cancelled": True, "cancel_reason": "主要负责人因公出差，另行安排"},
    ),
    Sample(
        "interview_outcome",
        "attended, rectification",
        {
            "subject_name": INTERVIEW["subject_name"],
            "date": INTERVIEW["date"],
            "weekday": INTERVIEW["weekday"],
            "time": INTERVIEW["time"],
            "attended": True,
            "issues": "驾驶员安全教育记录缺失，车辆例检流于形式",
            "rectification_items": ["补齐近三个月驾驶员安全教育记录", "建立发车前安全例检台账"],
            "rectification_due": "2026-12-15",
            "commitment_signed": True,
            "recorded_by": 2,
            "recorded_on": "2026-12-01",
        },
    ),
    Sample(
        "interview_outcome",
        "did not attend",
        {
            "subject_name": INTERVIEW["subject_name"],
            "date": INTERVIEW["date"],
            "weekday": INTERVIEW["weekday"],
            "time": INTERVIEW["time"],
            "attended": False,
            "issues": "",
            "rectification_items": [],
            "rectification_due": None,
            "commitment_signed": False,
            "recorded_by": 2,
            "recorded_on": "2026-12-01",
        },
    ),
    Sample("interview_reminder", "day before", {**INTERVIEW_SWEEP, "occasion": "day_before"}),
    Sample(
        "interview_reminder", "hours before", {**INTERVIEW_SWEEP, "place": "线上", "occasion": "hours_before"}
    ),
    Sample("interview_scheduled_staff", "served", {**INTERVIEW, "served_chats": 2}),
    Sample("interview_scheduled_staff", "not served", {**INTERVIEW, "served_chats": 0}),
    Sample("interview_unrecorded", "unrecorded", INTERVIEW_SWEEP),
    # workflows/interviews.py record_outcome(): the scheduler hears of a no-show someone else recorded.
    Sample(
        "interview_no_show",
        "no show",
        {
            "subject_name": "枣庄市安达物流有限公司",
            "date": "2026-12-01",
            "weekday": "星期二",
            "time": "09:30",
            "recorded_by": "陈科员",
        },
    ),
    # notifications/sweeps.py monthly_lists_notice(): lines from workflows/monthly_report.py summary_text.
    Sample(
        "monthly_lists",
        "lists",
        {
            "name": "王立华",
            "year": 2026,
            "month": 10,
            "lines": [
                "对象清单：守信激励 3 家，失信惩戒 5 家",
                "成效清单：信用修复 4 件，异议更正 1 件，约谈 2 次，守诺 6 件，违诺 1 件",
                "办理期限：按时办结 12 件，超期办结 1 件，超期未办 0 件（截至 2026-10-31）",
            ],
        },
    ),
    # workflows/notices.py: three notices that reached no chat.
    Sample(
        "notice_undeliverable",
        "chat gone",
        {
            "decision_no": "枣交罚〔2026〕0412号",
            "decision_date": "2026-03-05",
            "authority": "枣庄市交通运输局",
            "subject_name": "枣庄市安达物流有限公司",
            "chat_gone": True,
        },
    ),
    Sample(
        "notice_undeliverable",
        "send failed, nothing on file",
        {
            "decision_no": "",
            "decision_date": "2026-03-05",
            "authority": "枣庄市交通运输局",
            "subject_name": "",
            "chat_gone": False,
        },
    ),
    # workflows/objections.py decide(): changes come from Change.for_notice().
    Sample(
        "objection_approve",
        "corrected",
        {
            "ref_no": "YY202611230002",
            "reason": "决定书文号录入有误",
            "changes": [
                {
                    "label": "决定书文号",
                    "label_en": "decision number",
                    "before": "枣交罚〔2026〕0421号",
                    "after": "枣交罚〔2026〕0412号",
                    "before_en": "枣交罚〔2026〕0421号",
                    "after_en": "枣交罚〔2026〕0412号",
                },
                {
                    "label": "失信程度",
                    "label_en": "severity",
                    "before": "严重",
                    "after": "一般",
                    "before_en": "serious",
                    "after_en": "general",
                },
            ],
            "withdrawn": False,
        },
    ),
    Sample(
        "objection_approve",
        "withdrawn",
        {"ref_no": "YY202611230003", "reason": "非本主体", "changes": [], "withdrawn": True},
    ),
    Sample(
        "objection_approve",
        "queued before labelled changes",
        {
            "ref_no": "YY202611230004",
            "reason": "",
            "changes": {"decision_no": ["枣交罚〔2026〕0421号", "枣交罚〔2026〕0412号"]},
            "withdrawn": False,
        },
    ),
    Sample(
        "objection_reject",
        "kept",
        {
            "ref_no": "YY202611230002",
            "reason": "经与执法支队核实，处罚信息准确无误",
            "changes": [],
            "withdrawn": False,
        },
    ),
    # notifications/letters.py objection_letter().
    Sample(
        "objection_commitment_letter",
        "enterprise",
        {
            "subject_name": "枣庄市安达物流有限公司",
            "code_label": "统一社会信用代码",
            "code": "91370402MA3C5TQX8K",
            "target": "信用记录 枣交罚〔2026〕0412号（枣庄市交通运输局）",
            "reason": "信息错误",
            "today": "2026-11-24",
        },
    ),
    # workflows/penalties.py take_down_expired() and notify_repairable().
    Sample(
        "record_taken_down",
        "expired",
        {"decision_no": "枣交罚〔2025〕0107号", "decision_date": "2025-01-10", "max_end": "2026-01-10"},
    ),
    Sample(
        "repair_opportunity",
        "repairable",
        {"decision_no": "枣交罚〔2026〕0412号", "decision_date": "2026-03-05", "severity": "一般"},
    ),
    Sample("repair_accept", "accepted", REPAIR),
    Sample("repair_approve", "approved", REPAIR),
    Sample("repair_reject", "rejected", {**REPAIR, "reason": "罚款尚未缴纳，不符合信用修复条件"}),
    Sample(
        "repair_request_more",
        "more materials",
        {**REPAIR, "reason": "请补充罚款缴纳凭证的清晰扫描件", "due_on": "2026-12-01"},
    ),
    Sample("risk_warning_staff", "department staff", RISK),
    Sample("risk_warning_staff", "nobody in the department", {**RISK, "nobody_in": "信用科"}),
    Sample("risk_warning_subject", "warning", RISK),
    Sample("sanshu_decision", "published", SANSHU_PUBLISHED),
    Sample("sanshu_decision", "minor, few facts", SANSHU_MINOR),
    Sample("sanshu_repair_notice", "published", SANSHU_PUBLISHED),
    Sample("sanshu_repair_notice", "minor, not published", SANSHU_MINOR),
    Sample("sanshu_objection_notice", "published", SANSHU_PUBLISHED),
    # workflows/security.py note_wrong_code().
    Sample("security_wrong_codes", "alert", {"count": 20, "minutes": 10, "since": "14:05"}),
]

# Leaks in templates this test does not own: each fails today and must be fixed in the template named.
KNOWN_LEAKS: dict[tuple[str, str], str] = {}


def _template_names() -> list[str]:
    return sorted(p.name.removesuffix(".zh.j2") for p in TEMPLATES.glob("*.zh.j2"))


def _case(sample: Sample, lang: str) -> Any:
    leak = KNOWN_LEAKS.get((sample.template, lang))
    marks = [pytest.mark.xfail(reason=f"{sample.template}.{lang}.j2 {leak}", strict=True)] if leak else []
    return pytest.param(sample, lang, id=f"{sample.template}[{sample.shape}]-{lang}", marks=marks)


def _strings(value: Any) -> list[str]:
    """Every string inside a context value (lists and mappings included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize(("sample", "lang"), [_case(s, lang) for s in SAMPLES for lang in LANGS])
def test_a_notice_shows_no_internal_names(sample: Sample, lang: str) -> None:
    text = Renderer().render(sample.template, lang, sample.context)
    assert text, "rendered to nothing"
    assert problems(text) == [], text


@pytest.mark.parametrize("sample", [pytest.param(s, id=f"{s.template}[{s.shape}]") for s in SAMPLES])
def test_english_holds_no_chinese_but_the_values_it_was_given(sample: Sample) -> None:
    text = Renderer().render(sample.template, "en", sample.context)
    for value in sorted(set(_strings(sample.context)), key=len, reverse=True):
        text = text.replace(value, "")
    assert CJK.findall(text) == [], text


def test_every_chinese_template_has_an_english_one() -> None:
    missing = [name for name in _template_names() if not (TEMPLATES / f"{name}.en.j2").exists()]
    assert missing == []


def test_every_template_has_a_sample_context_here() -> None:
    """A new template cannot be forgotten: it needs a sample above before this suite passes."""
    sampled = {s.template for s in SAMPLES}
    assert [name for name in _template_names() if name not in sampled] == []
    assert sorted(sampled - set(_template_names())) == []  # no sample for a template that is gone
