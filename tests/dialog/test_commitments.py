"""信用承诺 through the engine: every type, the 容缺 limit, barred subjects, the letter and its code."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from bot.app import App
from models import (
    AuditEntry,
    Commitment,
    CreditRecord,
    Deadline,
    Fulfilment,
    OutboxMessage,
    RecordKind,
    Staff,
)
from tests.support.chat import ChatUser
from workflows.commitments import COMMITMENT_TYPES, MENU_KINDS, decide_fulfilment


async def _enterprise(app: App, code: str = "ENTB2468", chat: str = "e") -> ChatUser:
    user = ChatUser(app.engine, chat)
    await user.send(f"/start {code}")
    await user.press("信用承诺")
    return user


async def _commitments(app: App) -> list[Commitment]:
    async with app.sessions() as s:
        return list((await s.exec(select(Commitment).order_by(Commitment.id))).all())


@pytest.mark.parametrize("kind", [k for k in MENU_KINDS if k != "tolerance"])
async def test_commitment_of_each_type(demo: App, kind: str) -> None:
    t = COMMITMENT_TYPES[kind]
    user = await _enterprise(demo)
    await user.press(t.name)
    assert "含义：" in user.text and "违诺后果：" in user.text  # one screen: meaning, obligation, breach
    await user.press("继续")
    if t.matter_from_list:
        await user.press("道路运输证配发")
    else:
        await user.send("参加市道路运输协会诚信经营承诺活动")
    assert "信用承诺书" in user.text and "承诺内容" in user.text and "违诺责任" in user.text
    await user.press("确认承诺")
    [row] = await _commitments(demo)
    assert row.kind == kind and len(row.code) == 20
    assert row.code == f"370400{date(2026, 11, 24):%Y%m%d}000001"  # region 6 + date 8 + serial 6
    assert row.code in user.text and row.code in row.letter and row.fulfilment == Fulfilment.PENDING
    await user.press("下载承诺书")
    doc = user.last.replies[0].document
    assert doc is not None and row.code in doc.content.decode("utf-8-sig")
    await user.send("/menu")
    await user.press("信用承诺")
    await user.press("我的承诺")
    assert row.code in user.text and "待认定" in user.text


async def test_tolerance_commitment_within_the_matter_limit(demo: App) -> None:
    user = await _enterprise(demo)
    await user.press("容缺受理型")
    await user.press("继续")
    await user.press("从业资格证换发")  # promised time: 5 working days
    await user.send("体检证明")
    assert "最晚不超过 2026-12-01" in user.text  # 11-24 + 5 working days
    assert not any("10 个工作日" in b.label for b in user.buttons)
    await user.send("2026-12-02")
    assert "不晚于 2026-12-01" in user.text
    await user.send("2026-12-01")
    await user.press("确认承诺")
    [row] = await _commitments(demo)
    assert row.missing_materials == "体检证明" and row.materials_due == date(2026, 12, 1)
    async with demo.sessions() as s:
        deadline = (await s.exec(select(Deadline).where(Deadline.ref_kind == "commitment"))).one()
    assert deadline.kind == "tolerance_materials" and deadline.due_on == date(2026, 12, 1)


async def test_barred_subject_is_told_why_and_not_offered(demo: App) -> None:
    user = await _enterprise(demo, "ENTC2468", "c")  # on the serious dishonesty list
    assert "暂不能选择告知承诺和容缺受理" in user.text
    labels = [b.label for b in user.buttons]
    assert "容缺受理型" not in labels and "审批替代型（告知承诺）" not in labels and "证明事项型" in labels


async def test_breach_becomes_a_record_with_the_letters_liability(demo: App) -> None:
    user = await _enterprise(demo)
    await user.press("证明事项型")
    await user.press("继续")
    await user.press("道路运输证配发")
    await user.press("确认承诺")
    [row] = await _commitments(demo)
    async with demo.sessions() as s, s.begin():
        staff = (await s.exec(select(Staff).where(Staff.role == "handler"))).one()
        await decide_fulfilment(
            s,
            row.id,
            Fulfilment.NONE,
            staff=staff,
            today=date(2026, 11, 30),
            expected_version=row.version,
            unfulfilled="车辆未取得技术等级评定",
        )
    async with demo.sessions() as s:
        record = (
            await s.exec(select(CreditRecord).where(CreditRecord.kind == RecordKind.COMMITMENT_BREACH))
        ).one()
        assert record.content == row.liability and record.commitment_id == row.id
        notices = (
            await s.exec(select(OutboxMessage).where(OutboxMessage.template == "commitment_decided"))
        ).all()
        # every chat bound to the enterprise: this one and the demo's console persona
        assert {n.chat_id for n in notices} == {"e", "enterprise-b"} and all(
            n.legally_required for n in notices
        )
        assert (await s.exec(select(AuditEntry).where(AuditEntry.action == "commitment.fulfilment"))).one()
    # The breach now bars 告知承诺 / 容缺受理 until repaired.
    await user.send("/menu")
    await user.press("信用承诺")
    assert "违背承诺记录" in user.text


async def test_two_staff_deciding_one_commitment_one_wins(demo: App) -> None:
    user = await _enterprise(demo)
    await user.press("主动公示型")
    await user.press("继续")
    await user.send("守法经营")
    await user.press("确认承诺")
    [row] = await _commitments(demo)
    async with demo.sessions() as s, s.begin():
        staff = (await s.exec(select(Staff).where(Staff.role == "handler"))).one()
        await decide_fulfilment(
            s, row.id, Fulfilment.FULL, staff=staff, today=date(2026, 11, 30), expected_version=row.version
        )
    from workflows.errors import UserError

    async with demo.sessions() as s, s.begin():
        with pytest.raises(UserError, match="已由他人认定为「全部履行」"):
            await decide_fulfilment(
                s,
                row.id,
                Fulfilment.NONE,
                staff=staff,
                today=date(2026, 11, 30),
                expected_version=row.version,
            )
