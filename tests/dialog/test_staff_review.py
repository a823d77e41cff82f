"""Staff review in chat: the queue with deadlines, each item type decided by button, two-step decisions,
department limits, a concurrent double decision, and the refusal matrix for non-staff chats."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import func, select

from bot.app import App
from bot.dialogs import registry
from models import (
    ApplicationStatus,
    AuditEntry,
    ButtonToken,
    ChatBinding,
    Commitment,
    ConversationState,
    CreditRecord,
    Fulfilment,
    Objection,
    OutboxMessage,
    RecordKind,
    RepairApplication,
    StaffRole,
)
from tests.support.chat import PDF, ChatUser, staff_chat, upload


async def _submitted_repair(app: App) -> ChatUser:
    user = ChatUser(app.engine, "ent")
    await user.send("/start ENTA2468")
    await user.press("我的信用记录")
    await user.press("详情 1")  # the 轻微 warning, fulfilled: repairable now
    await user.press("申请修复")
    await user.send_file(upload("凭证.pdf", PDF))
    await user.press("是，本人办理")
    await user.press("确认承诺书")
    await user.press("提交申请")
    return user


async def _submitted_objection(app: App) -> ChatUser:
    user = ChatUser(app.engine, "entb")
    await user.send("/start ENTB2468")
    await user.press("我的信用记录")
    await user.press("详情 1")
    await user.press("提出异议")
    await user.press("信息错误")
    await user.send("罚款金额有误，应为 0.1 万元。")
    await user.press("完成")
    await user.press("确认承诺书")
    await user.press("提交异议")
    return user


async def test_reviewer_handles_a_repair_end_to_end(demo: App) -> None:
    ent = await _submitted_repair(demo)
    reviewer = await staff_chat(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("待办")
    assert "XF202611240001" in reviewer.text and "🟢 2026-12-08（剩 10 个工作日）" in reviewer.text
    await reviewer.press("处理 1")
    assert "凭证.pdf" in " ".join(b.label for b in reviewer.buttons)
    await reviewer.press("凭证.pdf")
    assert reviewer.last.replies[0].document is not None and reviewer.last.replies[0].document.content == PDF
    await reviewer.press("受理")
    assert "已受理" in reviewer.text
    await reviewer.press("待办")
    await reviewer.press("处理 1")
    await reviewer.press("补正")
    await reviewer.press("加盖公章的缴款凭证")
    assert "已补正" in reviewer.text
    await ent.send("/menu")
    await ent.press("我的申请")
    await ent.press("XF202611240001")
    await ent.press("补正材料")
    await ent.send_file(upload("盖章凭证.pdf", PDF))
    await ent.press("提交补正")
    await reviewer.press("待办")
    await reviewer.press("处理 1")
    await reviewer.press("通过")
    assert "已通过" in reviewer.text
    async with demo.sessions() as s:
        app_row = (await s.exec(select(RepairApplication))).one()
        assert app_row.status == ApplicationStatus.APPROVED
        assert (
            await s.exec(
                select(OutboxMessage).where(
                    OutboxMessage.template == "repair_approve", OutboxMessage.chat_id == "ent"
                )
            )
        ).one()


async def test_reviewer_corrects_a_record_on_objection(demo: App) -> None:
    await _submitted_objection(demo)
    reviewer = await staff_chat(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("待办")
    await reviewer.press("处理 1")
    assert "罚款金额有误" in reviewer.text
    await reviewer.press("更正")
    await reviewer.press("罚款（万元）")
    await reviewer.send("零点一")
    assert "格式不对" in reviewer.text
    await reviewer.send("0.1")
    assert "罚款（万元）：0.2 → 0.1" in reviewer.text
    await reviewer.press("完成更正")
    assert "已更正" in reviewer.text
    async with demo.sessions() as s:
        record = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no.contains("1033号")))).one()
        obj = (await s.exec(select(Objection))).one()
    assert record.fine_wan == 0.1 and obj.outcome == "更正"


async def test_handler_proposes_and_reviewer_approves(demo: App) -> None:
    await _submitted_objection(demo)
    handler = await staff_chat(demo, "经办员", StaffRole.HANDLER, "h")
    await handler.press("待办")
    await handler.press("处理 1")
    assert "将作为提议提交审核人员" in handler.text
    await handler.press("维持")
    await handler.send("经核实原决定无误")
    assert "已提议「维持」" in handler.text
    async with demo.sessions() as s:
        assert (await s.exec(select(Objection))).one().status == ApplicationStatus.SUBMITTED
    reviewer = await staff_chat(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("待办")
    assert "有待审核提议" in reviewer.text
    await reviewer.press("处理 1")
    assert "经办员 提议「维持」" in reviewer.text
    await reviewer.press("同意提议")
    async with demo.sessions() as s:
        obj = (await s.exec(select(Objection))).one()
    assert obj.status == ApplicationStatus.REJECTED and obj.outcome_reason == "经核实原决定无误"


async def test_commitment_fulfilment_decided_in_chat(demo: App) -> None:
    ent = ChatUser(demo.engine, "ent")
    await ent.send("/start ENTB2468")
    await ent.press("信用承诺")
    await ent.press("容缺受理型")
    await ent.press("继续")
    await ent.press("道路运输证配发")
    await ent.send("车辆技术等级评定证明")
    await ent.press("5 个工作日内")
    await ent.press("确认承诺")
    handler = await staff_chat(demo, "经办员", StaffRole.HANDLER, "h")
    await handler.press("待办")
    assert "容缺承诺履行核查" in handler.text
    await handler.press("处理 1")
    await handler.press("全部未履行")
    await handler.send("逾期未补交评定证明")
    async with demo.sessions() as s:
        c = (await s.exec(select(Commitment))).one()
        breach = (
            await s.exec(select(CreditRecord).where(CreditRecord.kind == RecordKind.COMMITMENT_BREACH))
        ).one()
    assert c.fulfilment == Fulfilment.NONE and breach.facts == "逾期未补交评定证明"


async def test_other_department_cannot_decide(demo: App) -> None:
    await _submitted_repair(demo)  # 安达 belongs to 信用科
    other = await staff_chat(demo, "支队员", StaffRole.REVIEWER, "zd", department="执法支队")
    await other.press("待办")
    assert "暂无待处理事项" in other.text
    admin = ChatUser(demo.engine, "adm")
    await admin.send("/start ADMN2468")
    await admin.press("待办")
    assert "XF202611240001" in admin.text  # admins see every department


async def test_two_staff_approving_at_once_one_wins(demo: App) -> None:
    await _submitted_repair(demo)
    a = await staff_chat(demo, "审核甲", StaffRole.REVIEWER, "a")
    b = await staff_chat(demo, "审核乙", StaffRole.REVIEWER, "b")
    for user in (a, b):
        await user.press("待办")
        await user.press("处理 1")
    await asyncio.gather(a.press("通过"), b.press("通过"))
    texts = [a.text, b.text]
    assert sum(t.startswith("✅ 已通过") for t in texts) == 1
    assert sum("已被处理" in t for t in texts) == 1  # the other is told what happened instead
    async with demo.sessions() as s:
        approvals = (await s.exec(select(func.count()).where(AuditEntry.action == "repair.approve"))).one()
    assert approvals == 1


STAFF_PAYLOAD = {
    "kind": "repair",
    "item_id": 1,
    "action": "approve",
    "version": 0,
    "staff_id": 1,
    "material_id": 1,
    "subject_id": 1,
    "field": "facts",
    "withdraw": False,
    "approve": True,
    "role": "handler",
    "text": "x",
    "purpose": "import",
    "transfer_id": 1,
    "record_id": 1,
    "year": 2026,
    "month": 10,
    "value": "x",
}
# Staff-only actions, by prefix (the data and registry actions of issue #8 included).
STAFF_PREFIXES = ("staff.", "admin.", "data.", "lists.", "subjects.", "fulfil.staff")


@pytest.mark.parametrize("persona", ["unbound", "enterprise", "driver"])
async def test_refusal_matrix_every_staff_action_for_every_non_staff_role(demo: App, persona: str) -> None:
    user = ChatUser(demo.engine, persona, channel="console")
    await user.send("/menu")
    staff_actions = sorted(a for a in registry.actions if a.startswith(STAFF_PREFIXES))
    assert len(staff_actions) >= 25
    for action in staff_actions:
        async with demo.sessions() as s, s.begin():
            state = (
                await s.exec(select(ConversationState).where(ConversationState.chat_id == persona))
            ).one()
            token = ButtonToken(
                channel="console", chat_id=persona, action=action, payload=STAFF_PAYLOAD, screen=state.screen
            )
            s.add(token)
        await user.press_data(token.token)
        assert "仅限" in user.text, (action, user.text)
    async with demo.sessions() as s:
        refused = (
            await s.exec(
                select(func.count()).where(
                    AuditEntry.action == "staff.refused", AuditEntry.actor == f"chat:console:{persona}"
                )
            )
        ).one()
    assert refused == len(staff_actions)


async def test_binding_request_approved_and_refused_from_the_queue(demo: App) -> None:
    asker = ChatUser(demo.engine, "asker", user_name="老赵")
    await asker.send("/start")
    await asker.press("申请绑定")
    await asker.send("91370402MA3C4K7D2X")
    assert "校验位不正确" in asker.text and "E" not in asker.text  # a typo is flagged, not corrected
    await asker.send("91370402MA3C4K7D2E")
    assert "找到" not in asker.text  # whose code it is stays unsaid
    await asker.send("赵建国 法定代表人")
    assert "已提交，工作人员核实后会在这里通知您" in asker.text
    other = ChatUser(demo.engine, "other")
    await other.send("/start")
    await other.press("申请绑定")
    await other.send("91370402MA3C4K7D2E")
    await other.send("冒充者 经理")
    reviewer = await staff_chat(demo, "审核员", StaffRole.REVIEWER, "rev")
    await reviewer.press("待办")
    assert "绑定申请：赵建国 法定代表人（聊天昵称：老赵）" in reviewer.text
    assert "绑定申请：冒充者 经理" in reviewer.text
    await reviewer.press("处理 1")
    await reviewer.press("同意绑定")
    await reviewer.press("待办")
    await reviewer.press("处理 1")
    await reviewer.press("不同意")
    await reviewer.send("经电话核实，企业未授权此人")
    async with demo.sessions() as s:
        bound = (await s.exec(select(ChatBinding).where(ChatBinding.chat_id.in_(["asker", "other"])))).all()
        told = (await s.exec(select(OutboxMessage).where(OutboxMessage.template == "binding_decided"))).all()
    assert [b.chat_id for b in bound] == ["asker"]
    assert {(t.chat_id, t.context["approved"]) for t in told} == {("asker", True), ("other", False)}
    assert [t.context["subject_name"] for t in told if not t.context["approved"]] == [""]  # not named
    await asker.send("/menu")
    assert "我的信用记录" in asker.buttons[0].label
