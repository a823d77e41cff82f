"""履行, the missing link of repair (issue #8): a penalty recorded in chat is repaired after staff record its
fulfilment; an enterprise declares fulfilment with proof and staff confirm or refuse it from 待办; the
repair-opportunity notice fires at confirmation or, when the minimum period is still running, on its day."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import col, select

from bot.app import App
from models import (
    ApplicationStatus,
    CreditRecord,
    Material,
    ObligationFulfilment,
    OutboxMessage,
    RecordStatus,
    RepairApplication,
)
from notifications.sweeps import repair_opportunities
from tests.support.chat import PDF, ChatUser, upload
from workflows.records import repair_eligibility

LUNAN = "91370403168734521M"  # demo 山东鲁南客运集团有限公司, 信用科, persona enterprise-b


async def _record(app: App, decision_no: str) -> CreditRecord:
    async with app.sessions() as s:
        return (await s.exec(select(CreditRecord).where(CreditRecord.decision_no == decision_no))).one()


async def _outbox(app: App, template: str, chat: str) -> list[OutboxMessage]:
    async with app.sessions() as s:
        stmt = select(OutboxMessage).where(OutboxMessage.template == template, OutboxMessage.chat_id == chat)
        return list((await s.exec(stmt)).all())


def _queue_number(text: str, ref: str) -> str:
    """The item's number in 待办 ("3. LX… · name")."""
    line = next(x for x in text.split("\n") if ref in x)
    return line.split(".")[0].strip()


async def _open_record(user: ChatUser, decision_no: str) -> None:
    await user.send("/menu")
    await user.press("我的信用记录")
    n = next(i for i, block in enumerate(user.text.split("\n\n")) if decision_no in block)
    await user.press(f"详情 {n}")


async def test_penalty_recorded_in_chat_is_repaired_after_staff_record_its_fulfilment(demo: App) -> None:
    staff = ChatUser(demo.engine, "staff", channel="console")
    await staff.send("/menu")
    await staff.press("信用核查")
    await staff.send(LUNAN)
    await staff.press("录入处罚")
    await staff.send("枣交罚〔2026〕1500号")
    await staff.send("2026-05-10")
    await staff.press("罚款")
    await staff.send("0.2")
    await staff.send("未按规定公布服务价格")
    await staff.press("确认录入")
    assert "已录入" in staff.text

    ent = ChatUser(demo.engine, "enterprise-b", channel="console")
    await _open_record(ent, "1500号")
    assert "履行：尚未登记" in ent.text
    await ent.press("申请修复")
    assert "须先履行" in ent.text  # told why not, not "never"

    await staff.send("/menu")
    await staff.press("信用核查")
    await staff.send(LUNAN)
    await staff.press("登记履行")
    await staff.press("枣交罚〔2026〕1500号")
    await staff.send("2026-12-01")
    assert "不能晚于今天" in staff.text
    await staff.press("今天")
    await staff.press("罚款已缴纳")
    await staff.send_file(upload("缴款凭证.pdf", PDF))
    assert "已收到 1 份材料" in staff.text
    await staff.press("确认登记")
    assert "已登记履行" in staff.text and "LX20261124" in staff.text
    record = await _record(demo, "枣交罚〔2026〕1500号")
    assert record.obligations_fulfilled_on == date(2026, 11, 24) and record.fulfilment_method == "罚款已缴纳"
    async with demo.sessions() as s:
        row = (await s.exec(select(ObligationFulfilment))).one()
        proofs = (await s.exec(select(Material).where(Material.owner_kind == "obligation_fulfilment"))).all()
    assert row.source == "staff" and row.status == ApplicationStatus.APPROVED and len(proofs) == 1
    # Repairable from today (the 3-month minimum ended in August): the enterprise is told now, once.
    assert len(await _outbox(demo, "repair_opportunity", "enterprise-b")) == 1

    await _open_record(ent, "1500号")
    assert "履行：已履行（罚款已缴纳，2026-11-24）" in ent.text
    await ent.press("申请修复")
    await ent.send_file(upload("凭证.pdf", PDF))
    await ent.press("是，本人办理")
    await ent.press("确认承诺书")
    await ent.press("提交申请")
    chief = ChatUser(demo.engine, "chief", channel="console")
    await chief.send("/menu")
    await chief.press("待办")
    assert "1500号" in chief.text  # the repair, and the 1500号's overdue 双公示 beside it
    await chief.press(f"处理 {_queue_number(chief.text, 'XF20261124')}")
    await chief.press("通过")
    assert "已通过" in chief.text
    assert (await _record(demo, "枣交罚〔2026〕1500号")).status == RecordStatus.REPAIRED
    async with demo.sessions() as s:
        assert (await s.exec(select(RepairApplication))).one().status == ApplicationStatus.APPROVED


async def test_enterprise_declares_with_proof_staff_refuse_then_confirm(demo: App) -> None:
    ent = ChatUser(demo.engine, "enterprise-b", channel="console")
    await _open_record(ent, "1033号")  # 60 days old, 一般, fine not yet paid
    await ent.press("申报已履行")
    await ent.send("前天")
    assert "无法识别的日期" in ent.text
    await ent.send("2025-01-01")
    assert "不能早于处罚决定日期" in ent.text
    await ent.send("2026年11月20日")
    await ent.press("罚款已缴纳")
    await ent.send_file(upload("收据.exe", b"MZ\x90\x00" + b"\x00" * 40))
    assert "不支持这种文件" in ent.text
    await ent.send_file(upload("收据.pdf", PDF))
    assert "已收到第 1 份材料" in ent.text
    await ent.press("提交申报")
    assert "履行申报已提交" in ent.text and "LX202611240001" in ent.text
    await _open_record(ent, "1033号")
    assert "待工作人员确认" in ent.text and "申报已履行" not in " ".join(b.label for b in ent.buttons)

    staff = ChatUser(demo.engine, "staff", channel="console")
    await staff.send("/menu")
    await staff.press("待办")
    assert "履行申报：枣交罚〔2026〕1033号" in staff.text
    await staff.press(f"处理 {_queue_number(staff.text, 'LX202611240001')}")
    assert "收据.pdf" in " ".join(b.label for b in staff.buttons)
    await staff.press("不予确认")
    await staff.send("凭证金额与决定书不符")
    assert "已不予确认" in staff.text
    await staff.send("/menu")
    (refusal,) = await _outbox(demo, "fulfilment_decided", "enterprise-b")
    assert refusal.context["approved"] is False and refusal.context["reason"] == "凭证金额与决定书不符"
    assert (await _record(demo, "枣交罚〔2026〕1033号")).obligations_fulfilled_on is None

    await _open_record(ent, "1033号")
    await ent.press("申报已履行")
    await ent.press("今天")
    await ent.press("罚款已缴纳")
    await ent.send_file(upload("盖章收据.pdf", PDF))
    await ent.press("提交申报")
    await staff.press("待办")
    await staff.press(f"处理 {_queue_number(staff.text, 'LX202611240002')}")
    await staff.press("确认履行")
    assert "已确认履行" in staff.text
    record = await _record(demo, "枣交罚〔2026〕1033号")
    assert record.obligations_fulfilled_on == date(2026, 11, 24)
    # Still inside the 3-month minimum: no opportunity yet; the daily scan sends it on its day, once.
    assert await _outbox(demo, "repair_opportunity", "enterprise-b") == []
    calendar = demo.engine.services.calendar
    elig = repair_eligibility(record, date(2026, 11, 24), calendar)
    assert elig.from_date is not None and elig.from_date > date(2026, 11, 24)
    now = demo.engine.services.clock.now()
    for day in (elig.from_date - timedelta(days=1), elig.from_date, elig.from_date + timedelta(days=1)):
        async with demo.sessions() as s, s.begin():
            await repair_opportunities(s, today=day, now=now, calendar=calendar)
    assert len(await _outbox(demo, "repair_opportunity", "enterprise-b")) == 1


async def test_another_enterprise_cannot_declare_for_a_record_not_its_own(demo: App) -> None:
    other = await _record(demo, "枣交罚〔2026〕1033号")  # 鲁南's record
    ent = ChatUser(demo.engine, "enterprise", channel="console")  # 安达
    await ent.send("/menu")
    from models import ButtonToken, ConversationState

    async with demo.sessions() as s, s.begin():
        state = (
            await s.exec(select(ConversationState).where(ConversationState.chat_id == "enterprise"))
        ).one()
        token = ButtonToken(
            channel="console",
            chat_id="enterprise",
            action="fulfil.declare",
            payload={"record_id": other.id},
            screen=state.screen,
        )
        s.add(token)
    await ent.press_data(token.token)
    assert "不属于您绑定的企业" in ent.text
    async with demo.sessions() as s:
        assert (
            await s.exec(select(ObligationFulfilment).where(col(ObligationFulfilment.id) > 0))
        ).all() == []
