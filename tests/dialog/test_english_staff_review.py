"""Staff who chose English (/lang en) review and look up in English (issue #9): 待办, an item's page, a
decision, a proposed correction and its approval, 信用核查 of an enterprise and 信用记录录入 show no Chinese
but data values (names, departments, decision numbers, authorities, facts and penalty types as stored, file
names, what people typed)."""

from __future__ import annotations

import re

from bot.app import App
from bot.dialogs import staff_lookup, staff_queue
from bot.i18n import translate
from models import StaffRole
from tests.dialog.test_staff_review import _submitted_objection, _submitted_repair
from tests.support.chat import ChatUser, staff_chat
from tests.support.english import assert_english
from workflows import corrections, lookup, rules
from workflows.commitments import FULFILMENT_LABELS

CJK = re.compile(r"[\u4e00-\u9fff]+")
TYPED = (
    "枣交罚〔2026〕1300号",
    "超限运输",
    "罚款",
)  # a decision number, facts and the penalty type as stored
EXAMPLE = "枣交罚〔2026〕1234号"  # the decision number the prompt shows as an example


async def _assert_english(app: App, user: ChatUser, *typed: str) -> None:
    await assert_english(app, user, *TYPED, EXAMPLE, *typed)


async def _in_english(app: App, name: str, role: StaffRole, chat: str) -> ChatUser:
    user = await staff_chat(app, name, role, chat)
    await user.send("/lang en")
    await user.send("/menu")
    return user


async def test_reviewer_walks_the_queue_an_item_and_a_decision_in_english(demo: App) -> None:
    await _submitted_repair(demo)
    reviewer = await _in_english(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("To do")
    assert "📥 To do (1, most urgent first)" in reviewer.text
    assert "Credit repair: " in reviewer.text and "🟢 2026-12-08 (10 working days left)" in reviewer.text
    await _assert_english(demo, reviewer)
    await reviewer.press("Open 1")
    assert "Applicant: the legal representative in person" in reviewer.text and "Due: " in reviewer.text
    assert {"Accept", "Request more materials", "Approve", "Refuse repair"} <= {
        b.label for b in reviewer.buttons
    }
    await _assert_english(demo, reviewer)
    await reviewer.press("Accept")
    assert reviewer.text == "✅ Decision recorded: “Accept”. The applicant will be told."
    await _assert_english(demo, reviewer)


async def test_a_proposed_correction_and_its_approval_in_english(demo: App) -> None:
    await _submitted_objection(demo)
    handler = await _in_english(demo, "经办员", StaffRole.HANDLER, "h")
    await handler.press("To do")
    await handler.press("Open 1")
    assert "goes to a reviewer as a proposal" in handler.text
    await _assert_english(demo, handler)
    await handler.press("Correct the record")
    assert "Correction: pick the fields to change" in handler.text
    await _assert_english(demo, handler)
    await handler.press("fine (10k yuan)")
    assert "Current fine (10k yuan): 0.2" in handler.text and "0 when there is no fine" in handler.text
    await _assert_english(demo, handler)
    await handler.send("0.1")
    assert "fine (10k yuan): 0.2 → 0.1" in handler.text
    await _assert_english(demo, handler)
    await handler.press("Finish correction")
    assert handler.text == "✅ Proposed “Correct the record”; waiting for a reviewer."
    reviewer = await _in_english(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("To do")
    assert "(proposal awaiting review)" in reviewer.text
    await reviewer.press("Open 1")
    assert "Proposal: 经办员 proposes “Correct the record”" in reviewer.text
    assert "Proposed correction (before → after):" in reviewer.text
    await _assert_english(demo, reviewer)
    await reviewer.press("Approve proposal")
    assert reviewer.text == "✅ Decision recorded: “Correct the record”."


async def test_lookup_and_penalty_entry_in_english(demo: App) -> None:
    clerk = await _in_english(demo, "科员", StaffRole.HANDLER, "clerk")
    await clerk.press("Look up")
    assert clerk.text.startswith("🔎 Credit lookup:")
    await clerk.send("顺通")
    assert "Credit class: seriously dishonest (subject to the issuing unit's answer)" in clerk.text
    assert "inspection sample 80%" in clerk.text and "serious dishonesty list 1" in clerk.text
    await _assert_english(demo, clerk)
    await clerk.send("/menu")
    await clerk.press("Look up")
    await clerk.send("91370402MA3C4K7D2E")
    await clerk.press("Enter penalty")
    assert "📝 Enter an administrative penalty decision for" in clerk.text
    await _assert_english(demo, clerk)
    await clerk.send("枣交罚〔2026〕1300号")
    await clerk.send("2026-11-20")
    assert clerk.text == "Choose the penalty type:"
    assert {"Warning", "Fine", "Practice restriction"} <= {b.label for b in clerk.buttons}
    await _assert_english(demo, clerk)
    await clerk.press("Fine")
    await clerk.send("0.5")
    await clerk.send("超限运输")
    assert "Severity (per the configured table): general" in clerk.text
    await _assert_english(demo, clerk)
    await clerk.press("Confirm")
    assert "✅ Entered 枣交罚〔2026〕1300号 (general)." in clerk.text and "by 2026-12-01" in clerk.text
    await _assert_english(demo, clerk)


def test_the_chinese_only_words_of_workflows_are_in_the_catalog() -> None:
    """The commitment states, the correction hints and choices, the credit classes and the supervision
    measures come from workflows/ in Chinese: each must have an English translation. (workflows/staff.py
    gives its own words in both languages: tests/unit/test_staff_words.py.)"""
    words = {
        *FULFILMENT_LABELS.values(),
        *(f.hint for f in corrections.FACTS.values() if f.hint),
        *(c for f in corrections.FACTS.values() for c in f.choices if CJK.search(c)),
        *(t.credit_class for t in rules.SUPERVISION_TIERS),
        *(m for t in rules.SUPERVISION_TIERS for m in t.measures),
        lookup.TRUSTWORTHY,
        rules.UNVERIFIED_NOTE,
        *staff_queue.MORE_PRESETS,
        *staff_lookup.PENALTY_TYPES,
    }
    untranslated = sorted(w for w in words if translate(w, "en") == w)
    assert untranslated == []


async def test_binding_requests_and_a_publication_in_the_queue_in_english(demo: App) -> None:
    """The queue words every kind in English from workflows/staff.py: a binding request (with the stand-in
    for a code nobody registered) and a penalty waiting for 双公示, and what deciding them says."""
    typed = ("王五 驾驶员本人", "赵六 经理")  # applicants as they typed themselves
    for chat, code, applicant in (
        ("s1", "370403199002284525", typed[0]),
        ("s2", "91110000MA01ABCD1M", typed[1]),
    ):
        asker = ChatUser(demo.engine, chat)
        await asker.send("/start")
        await asker.press("申请绑定")
        await asker.send(code)
        await asker.send(applicant)
    clerk = await _in_english(demo, "科员", StaffRole.HANDLER, "clerk")
    await clerk.press("Look up")
    await clerk.send("91370402MA3C4K7D2E")
    await clerk.press("Enter penalty")
    await clerk.send("枣交罚〔2026〕1300号")
    await clerk.send("2026-11-20")
    await clerk.press("Warning")
    await clerk.send("0")
    await clerk.send("超限运输")
    await clerk.press("Confirm")
    admin = ChatUser(demo.engine, "admin", channel="console")
    await admin.send("/lang en")
    await admin.send("/menu")
    await admin.press("To do")
    assert (
        "Dual publicity: publish the administrative penalty by 2026-12-01 (decided 2026-11-20)" in admin.text
    )
    assert f"Binding request: {typed[0]}; code typed: 370***********4525" in admin.text
    assert f"(unregistered subject)\n   Binding request: {typed[1]}; code typed: 91110000MA01ABCD1M; " in (
        admin.text
    )
    await _assert_english(demo, admin, *typed)
    await admin.press("Open 1")
    assert admin.text.startswith("枣交罚〔2026〕1300号 · ") and admin.button("Published")
    await admin.press("Published")
    assert admin.text.startswith("✅ Marked “Published”. The dual publicity reminders")
    await admin.press("To do")
    await admin.press("Open 2")
    assert "(unregistered subject)" in admin.text and admin.button("Approve binding")
    await _assert_english(demo, admin, *typed)
    await admin.press("Refuse")
    await admin.send("未登记的代码")
    assert admin.text.startswith("✅ Decision recorded: “Refuse”. The applicant will be told.")
