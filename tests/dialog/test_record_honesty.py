"""Every screen tells the truth (issue #9): a driver sees 异议处理中 on a deduction under objection; the
record list says 可申请修复 only where a repair application would be accepted, and otherwise why not;
the enterprise sees its credit class, supervision and (when trustworthy) the 信易+ benefits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from bot.app import App
from models import (
    ApplicationStatus,
    CreditRecord,
    DriverViolation,
    Objection,
    RecordKind,
    RecordStatus,
    RepairApplication,
    Severity,
    Subject,
    SubjectKind,
)
from tests.support.chat import ChatUser
from workflows import repair
from workflows.binding import issue_code
from workflows.errors import UserError
from workflows.records import repair_standings

TODAY = date(2026, 11, 24)  # the clock fixture's day


async def _bound(app: App, code: str, chat: str) -> ChatUser:
    user = ChatUser(app.engine, chat)
    await user.send(f"/start {code}")
    return user


def _block(text: str, decision_no: str) -> str:
    """The list's paragraph about one record."""
    return next(b for b in text.split("\n\n") if decision_no in b)


async def _enterprise(app: App, name: str, uscc: str, records: list[dict]) -> tuple[int, str]:
    """A constructed enterprise with records; returns its id and a binding code."""
    async with app.sessions() as s, s.begin():
        e = Subject(kind=SubjectKind.ENTERPRISE, name=name, uscc=uscc)
        s.add(e)
        await s.flush()
        for fields in records:
            s.add(
                CreditRecord(
                    subject_id=e.id,
                    kind=fields.pop("kind", RecordKind.PENALTY),
                    authority="枣庄市交通运输局",
                    **fields,
                )
            )
        code = await issue_code(s, issued_by="test", clock=app.engine.services.clock, subject_id=e.id)
        assert e.id is not None
        return e.id, code.code


# -- 1. drivers see 异议处理中 ----------------------------------------------------------------------


async def _violation(app: App, item_part: str) -> DriverViolation:
    async with app.sessions() as s:
        return (await s.exec(select(DriverViolation).where(DriverViolation.item.contains(item_part)))).one()


async def _add_objection(app: App, violation: DriverViolation, status: ApplicationStatus, ref: str) -> None:
    async with app.sessions() as s, s.begin():
        s.add(
            Objection(
                ref_no=ref,
                subject_id=violation.subject_id,
                violation_id=violation.id,
                reason="非本主体",
                status=status,
            )
        )


async def test_driver_sees_under_objection_on_the_disputed_deduction_only(demo: App) -> None:
    speeding = await _violation(demo, "超速")
    await _add_objection(demo, speeding, ApplicationStatus.SUBMITTED, "YY202611240001")
    user = await _bound(demo, "DRVA2468", "d")
    await user.press("我的诚信考核")
    lines = user.text.split("\n")
    speeding_line = next(x for x in lines if "超速" in x)
    check_line = next(x for x in lines if "检查车辆" in x)
    assert speeding_line.endswith("· ⚖️ 异议处理中")
    assert "异议处理中" not in check_line
    assert "异议处理期间扣分照常计入" in user.text
    assert "已扣分：8 / 20" in user.text  # the points still count meanwhile (§5 O6)


async def test_driver_draft_or_decided_objection_is_not_shown_as_under_objection(demo: App) -> None:
    speeding = await _violation(demo, "超速")
    check = await _violation(demo, "检查车辆")
    await _add_objection(demo, speeding, ApplicationStatus.DRAFT, "DRAFT-1")
    await _add_objection(demo, check, ApplicationStatus.REJECTED, "YY202611200001")
    user = await _bound(demo, "DRVA2468", "d")
    await user.press("我的诚信考核")
    assert "异议处理中" not in user.text


async def test_driver_under_objection_in_english(demo: App) -> None:
    speeding = await _violation(demo, "超速")
    await _add_objection(demo, speeding, ApplicationStatus.ACCEPTED, "YY202611240001")
    user = await _bound(demo, "DRVA2468", "d")
    await user.send("/lang en")
    await user.press("integrity assessment")
    assert "· ⚖️ under objection" in user.text and "异议" not in user.text


async def test_violation_without_authority_shows_no_empty_brackets(app: App) -> None:
    async with app.sessions() as s, s.begin():
        d = Subject(
            kind=SubjectKind.DRIVER, name="赵六", cert_no="A1234567", cert_first_issued=date(2020, 3, 1)
        )
        s.add(d)
        await s.flush()
        s.add(DriverViolation(subject_id=d.id, occurred_on=date(2026, 6, 1), item="未携带证件", points=1))
        code = await issue_code(s, issued_by="test", clock=app.engine.services.clock, subject_id=d.id)
    user = await _bound(app, code.code, "z")
    await user.press("我的诚信考核")
    assert "未携带证件，扣 1 分\n" in user.text + "\n" and "（）" not in user.text


# -- 2. the list says 可申请修复 only when repair.start would accept ---------------------------------


async def _record_id(app: App, decision_part: str) -> int:
    async with app.sessions() as s:
        r = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no.contains(decision_part)))).one()
        assert r.id is not None
        return r.id


async def test_record_with_a_repair_under_review_says_so_not_repairable(demo: App) -> None:
    record_id = await _record_id(demo, "0977号")  # 轻微, fulfilled: repairable now
    async with demo.sessions() as s, s.begin():
        record = await s.get(CreditRecord, record_id)
        assert record is not None
        s.add(
            RepairApplication(
                ref_no="XF202611200001",
                subject_id=record.subject_id,
                record_id=record_id,
                regime="令36号",
                status=ApplicationStatus.ACCEPTED,
            )
        )
    user = await _bound(demo, "ENTA2468", "a")
    await user.press("我的信用记录")
    block = _block(user.text, "0977号")
    assert "🕓 修复申请审核中（XF202611200001，已受理）" in block
    assert "可申请修复" not in block
    assert "✅ 可申请修复" in _block(user.text, "0412号")  # the other record is still open to repair
    n = user.text.split("\n\n").index(block)
    await user.press(f"详情 {n}")
    assert "修复申请审核中" in user.text
    await user.press("修复进度")
    assert "信用修复申请 XF202611200001" in user.text and "已受理" in user.text


async def test_record_waiting_for_more_materials_says_what_to_do(demo: App) -> None:
    record_id = await _record_id(demo, "0977号")
    async with demo.sessions() as s, s.begin():
        record = await s.get(CreditRecord, record_id)
        assert record is not None
        s.add(
            RepairApplication(
                ref_no="XF202611200001",
                subject_id=record.subject_id,
                record_id=record_id,
                regime="令36号",
                status=ApplicationStatus.NEEDS_MORE,
            )
        )
    user = await _bound(demo, "ENTA2468", "a")
    await user.press("我的信用记录")
    assert "修复申请待补正（XF202611200001），请在「我的申请」中上传补正材料" in _block(user.text, "0977号")


async def test_unpaid_fine_past_its_minimum_period_is_not_called_repairable(demo: App) -> None:
    """Before issue #9 the list said "⏳ <date> 起可申请修复" for an unpaid fine whose date had passed."""
    _, code = await _enterprise(
        demo,
        "未缴款公司",
        "91370400M000200X11",
        [
            {
                "severity": Severity.GENERAL,
                "decision_no": "枣交罚〔2026〕0200号",
                "decision_date": date(2026, 5, 1),
                "penalty_type": "罚款",
                "fine_wan": 0.3,
            }
        ],
    )
    user = await _bound(demo, code, "u")
    await user.press("我的信用记录")
    block = _block(user.text, "0200号")
    assert "⛔ 暂不能申请修复：须先履行行政处罚决定的义务" in block
    assert "可申请修复" not in block


def _general(no: int, days_ago: int) -> dict:
    decided = TODAY - timedelta(days=days_ago)
    return {
        "severity": Severity.GENERAL,
        "decision_no": f"枣交罚〔2026〕{no:04d}号",
        "decision_date": decided,
        "penalty_type": "罚款",
        "fine_wan": 0.2,
        "obligations_fulfilled_on": decided + timedelta(days=5),
    }


async def test_repeat_offender_is_told_the_refusal_ground_not_repairable(demo: App) -> None:
    """Three 一般 penalties within a year: rules.REPAIR_REPEAT_OFFENCE_COUNT refuses every repair."""
    _, code = await _enterprise(
        demo, "屡罚公司", "91370400M000300X22", [_general(301, 200), _general(302, 150), _general(303, 20)]
    )
    user = await _bound(demo, code, "r")
    await user.press("我的信用记录")
    assert "✅" not in user.text and "⏳" not in user.text
    old = _block(user.text, "0301号")  # past its 3 months: would be repairable but for the ground
    assert "⛔ 暂不能申请修复：一年内受到 3 次一般及以上行政处罚（屡罚不改），不予受理修复申请" in old
    assert "以认定单位答复为准" in old
    recent = _block(user.text, "0303号")  # still in its minimum period, and refused as well
    assert "⛔ 暂不能申请修复：目前一年内受到 3 次" in recent and "；另，最短公示期" in recent
    await user.press(f"详情 {user.text.split(chr(10) * 2).index(old)}")
    await user.press("申请修复")
    assert "不予受理修复申请：一年内受到 3 次" in user.text  # the application says the same


async def test_draft_application_is_offered_to_continue(demo: App) -> None:
    user = await _bound(demo, "ENTA2468", "a")
    await user.press("我的信用记录")
    await user.press(f"详情 {user.text.split(chr(10) * 2).index(_block(user.text, '0977号'))}")
    await user.press("申请修复")
    await user.send("/cancel")
    await user.press("我的信用记录")
    assert "✅ 可申请修复：已有未提交的修复申请草稿，可继续填写。" in _block(user.text, "0977号")


async def test_dishonesty_list_record_is_not_told_about_a_penalty_decision(demo: App) -> None:
    user = await _bound(demo, "ENTC2468", "c")
    await user.press("我的信用记录")
    block = _block(user.text, "鲁交信")
    assert "须先纠正失信行为" in block and "行政处罚决定" not in block


async def _assert_list_agrees_with_start(app: App, subject_id: int) -> None:
    """For every record of the subject, the list's ✅ and repair.start agree."""
    calendar = app.engine.services.calendar
    async with app.sessions() as s:
        records = list(
            (await s.exec(select(CreditRecord).where(CreditRecord.subject_id == subject_id))).all()
        )
        standings = await repair_standings(s, records, TODAY, calendar)
    assert records
    for record in records:
        async with app.sessions() as s:
            subject = await s.get(Subject, subject_id)
            assert subject is not None and record.id is not None
            try:
                await repair.start(
                    s, subject=subject, record_id=record.id, today=TODAY, calendar=calendar, actor="test"
                )
                accepted = True
            except UserError:
                accepted = False
            finally:
                await s.rollback()  # a check, not an application
        assert standings[record.id].eligible_now == accepted, record.decision_no


@pytest.mark.parametrize("uscc", ["91370402MA3C4K7D2E", "91370403168734521M", "91370403MA3M9RUX5H"])
async def test_list_says_repairable_exactly_when_repair_start_accepts(demo: App, uscc: str) -> None:
    async with demo.sessions() as s:
        subject = (await s.exec(select(Subject).where(Subject.uscc == uscc))).one()
    assert subject.id is not None
    await _assert_list_agrees_with_start(demo, subject.id)


async def test_list_and_start_agree_for_a_repeat_offender_with_a_repair_under_review(demo: App) -> None:
    subject_id, _ = await _enterprise(
        demo, "屡罚公司", "91370400M000300X22", [_general(301, 200), _general(302, 150), _general(303, 20)]
    )
    await _assert_list_agrees_with_start(demo, subject_id)
    record_id = await _record_id(demo, "0302号")
    async with demo.sessions() as s, s.begin():
        s.add(
            RepairApplication(
                ref_no="XF202611200001",
                subject_id=subject_id,
                record_id=record_id,
                regime="令36号",
                status=ApplicationStatus.SUBMITTED,
            )
        )
    await _assert_list_agrees_with_start(demo, subject_id)


async def test_repaired_record_is_not_repairable(demo: App) -> None:
    async with demo.sessions() as s, s.begin():
        record = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no.contains("0412号")))).one()
        record.status = RecordStatus.REPAIRED
    user = await _bound(demo, "ENTA2468", "a")
    await user.press("我的信用记录")
    assert "⛔ 不可申请修复：已修复，已终止公示。" in _block(user.text, "0412号")


# -- 3. credit class, supervision, 信易+ --------------------------------------------------------------


async def test_enterprise_sees_its_class_supervision_and_the_note(demo: App) -> None:
    user = await _bound(demo, "ENTA2468", "a")
    await user.press("我的信用记录")
    head = user.text.split("\n\n")[0]
    # demo: a published 严重 penalty (1187号) → 失信; the latest evaluation is AA
    assert "🏷 信用分类：失信（有公示中的「严重」行政处罚或违背信用承诺记录）；信用评价：AA" in head
    assert "监管：双随机抽查比例 50%；告诫约谈、从严监管" in head
    assert "可享：信易+ 激励面向守信主体" in head
    assert "以认定单位答复为准" in head  # the class rule is [R]


async def test_serious_list_enterprise_is_seriously_dishonest(demo: App) -> None:
    user = await _bound(demo, "ENTC2468", "c")
    await user.press("我的信用记录")
    assert "信用分类：严重失信（被列入严重失信主体名单）" in user.text and "抽查比例 80%" in user.text


async def test_trustworthy_enterprise_sees_the_xinyi_benefits(demo: App) -> None:
    _, code = await _enterprise(
        demo,
        "守信公司",
        "91370400M000400X33",
        [
            {
                "kind": RecordKind.EVALUATION,
                "decision_no": "2025年度质量信誉考核",
                "decision_date": date(2026, 3, 1),
                "grade": "AAA",
            },
            _general(401, 500) | {"status": RecordStatus.EXPIRED},  # taken down: no longer counts
        ],
    )
    user = await _bound(demo, code, "t")
    await user.press("我的信用记录")
    head = user.text.split("\n\n")[0]
    assert "信用分类：守信（" in head and "信用评价：AAA" in head
    assert "监管：双随机抽查比例 1%；减少检查频次" in head
    assert "可享：信易+（信易行、信易贷、信易修）；优先办理、重点宣传、推优评优" in head
    assert "以认定单位答复为准" in head


async def test_enterprise_without_records_still_sees_its_class(app: App) -> None:
    _, code = await _enterprise(app, "新公司", "91370400M000500X44", [])
    user = await _bound(app, code, "n")
    await user.press("我的信用记录")
    assert "暂无信用记录" in user.text and "信用分类：守信" in user.text and "信易贷" in user.text


async def test_class_section_in_english_has_no_chinese_terms(app: App) -> None:
    # No records: the screen holds no Chinese data values (authorities, decision numbers) either.
    _, code = await _enterprise(app, "新公司", "91370400M000500X44", [])
    user = await _bound(app, code, "n")
    await user.send("/lang en")
    await user.press("credit records")
    assert "Credit class: trustworthy" in user.text and "random inspection ratio 1%" in user.text
    assert "Xinyi+ (Xinyi travel, Xinyi credit loans, Xinyi repair)" in user.text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in user.text), user.text


async def test_class_section_is_shown_on_the_first_page_only(app: App) -> None:
    _, code = await _enterprise(
        app, "多记录公司", "91370400M000600X55", [_general(600 + i, 400 + i) for i in range(6)]
    )
    user = await _bound(app, code, "m")
    await user.press("我的信用记录")
    assert "信用分类" in user.text
    await user.press("下一页")
    assert "第 2/2 页" in user.text and "信用分类" not in user.text
