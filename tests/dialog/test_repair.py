"""信用修复 through the engine: told the date when too early; materials step by step with checks;
/cancel and a restart keep the draft; 补正, approval ending publicity; withdrawal; no duplicates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from bot.app import App, build_app
from models import (
    ApplicationStatus,
    AuditEntry,
    CreditRecord,
    Deadline,
    Material,
    OutboxMessage,
    RecordStatus,
    RepairApplication,
    Staff,
    Subject,
)
from tests.support.chat import JPEG, PDF, ChatUser, upload
from workflows import repair
from workflows.errors import ForgedAttempt

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


async def _at_record(app: App, decision_no: str, chat: str = "a", *, bind: bool = True) -> ChatUser:
    user = ChatUser(app.engine, chat)
    await user.send("/start ENTA2468" if bind else "/menu")
    await user.press("我的信用记录")
    n = next(i for i, line in enumerate(user.text.split("\n\n"), 0) if decision_no in line)
    await user.press(f"详情 {n}")
    return user


async def _app_row(app: App) -> RepairApplication:
    async with app.sessions() as s:
        return (await s.exec(select(RepairApplication))).one()


async def _decide(app: App, action: str, **kw: object) -> None:
    row = await _app_row(app)
    async with app.sessions() as s, s.begin():
        staff = (await s.exec(select(Staff).where(Staff.role == "handler"))).one()
        await repair.decide(
            s,
            row.id,
            action,
            staff=staff,
            expected_version=row.version,
            today=date(2026, 11, 25),
            now=NOW,
            calendar=app.engine.services.calendar,
            **kw,
        )


async def test_too_early_is_told_the_date(demo: App) -> None:
    user = await _at_record(demo, "1187号")  # 严重, 令58号: min 1 year from 2025-12-29
    await user.press("申请修复")
    assert "暂不能申请修复" in user.text and "2026-12-30 起可申请修复" in user.text
    assert await _count(demo) == 0


async def _count(app: App) -> int:
    async with app.sessions() as s:
        return len((await s.exec(select(RepairApplication))).all())


async def test_eligible_repair_end_to_end_with_more_materials_and_approval(demo: App) -> None:
    user = await _at_record(demo, "0412号")  # 一般, fulfilled, 190 days old
    await user.press("申请修复")
    assert "符合申请条件" in user.text and "第 1 步" in user.text
    await user.send("这是收据")
    assert "需要上传文件" in user.text
    await user.send_file(upload("virus.exe", b"MZ\x90\x00" + b"\x00" * 50, "application/pdf"))
    assert "不支持这种文件" in user.text
    await user.send_file(upload("empty.pdf", b""))
    assert "文件是空的" in user.text
    await user.send_file(upload("huge.pdf", PDF + b"\x00" * (11 * 1024 * 1024)))
    assert "文件太大" in user.text
    await user.send_file(upload("缴款凭证.jpg", JPEG, "image/jpeg"))  # a photo where a PDF would do
    assert "已收到履行义务证明" in user.text and "第 2 步" in user.text
    await user.press("否，受托办理")
    await user.send_file(upload("授权委托书.pdf", PDF, "application/pdf"))
    assert "第 3 步" in user.text and "信用修复承诺书" in user.text and "按最长公示期公示" in user.text
    await user.press("确认承诺书")
    assert "请核对材料" in user.text and "缴款凭证.jpg" in user.text and "授权委托书.pdf" in user.text
    await user.press("重做第1步")  # any step can be redone
    await user.send_file(upload("缴款凭证-清晰版.pdf", PDF))
    assert "缴款凭证-清晰版.pdf" in user.text
    await user.press("提交申请")
    row = await _app_row(demo)
    assert row.ref_no == "XF202611240001" and row.status == ApplicationStatus.SUBMITTED
    assert row.due_on == date(2026, 12, 8)  # 10 working days after 2026-11-24
    assert "XF202611240001" in user.text and "2026-12-08" in user.text
    async with demo.sessions() as s:
        files = (await s.exec(select(Material).where(Material.owner_id == row.id))).all()
        assert sorted(f.file_name for f in files) == ["授权委托书.pdf", "缴款凭证-清晰版.pdf"]
        assert (
            await s.exec(select(Deadline).where(Deadline.kind == "repair_review"))
        ).one().due_on == row.due_on

    await _decide(demo, "request_more", reason="请补充加盖公章的缴款凭证")
    async with demo.sessions() as s:
        notice = (
            await s.exec(
                select(OutboxMessage).where(
                    OutboxMessage.template == "repair_request_more", OutboxMessage.chat_id == "a"
                )
            )
        ).one()
    assert notice.buttons[0][0]["action"] == "repair.supplement" and notice.context["due_on"] == "2026-12-02"
    await user.send("/menu")
    await user.press("我的申请")
    await user.press("XF202611240001")
    assert "待补正" in user.text and "请补充加盖公章的缴款凭证" in user.text
    await user.press("补正材料")
    await user.press("提交补正")
    assert "请先上传补正材料" in user.text
    await user.send_file(upload("盖章凭证.pdf", PDF))
    await user.press("提交补正")
    assert (await _app_row(demo)).status == ApplicationStatus.SUBMITTED

    await _decide(demo, "approve")
    async with demo.sessions() as s:
        record = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no.contains("0412号")))).one()
        assert record.status == RecordStatus.REPAIRED
        assert (await s.exec(select(OutboxMessage).where(OutboxMessage.template == "repair_approve"))).first()
        assert (await s.exec(select(AuditEntry).where(AuditEntry.action == "record.repaired"))).one()
    await user.send("/menu")
    await user.press("我的申请")
    await user.press("XF202611240001")
    assert (
        "已通过" in user.text and "提交申请" in user.text and "要求补正" in user.text and "通过" in user.text
    )


async def test_draft_survives_cancel_and_restart(demo: App, clock) -> None:  # type: ignore[no-untyped-def]
    user = await _at_record(demo, "0412号")
    await user.press("申请修复")
    await user.send_file(upload("凭证.pdf", PDF))
    await user.send("/cancel")
    assert "草稿会保留" in user.text
    restarted = await build_app(demo.settings, clock=clock, migrate_db=False)  # a new process
    try:
        again = await _at_record(restarted, "0412号", bind=False)
        await again.press("申请修复")
        assert "继续填写上次保存的草稿" in again.text and "第 2 步" in again.text
    finally:
        await restarted.close()


async def test_second_application_for_the_same_record_is_refused(demo: App) -> None:
    user = await _at_record(demo, "0977号")  # 轻微, fulfilled: repairable now
    await user.press("申请修复")
    await user.send_file(upload("凭证.pdf", PDF))
    await user.press("是，本人办理")
    await user.press("确认承诺书")
    await user.press("提交申请")
    await user.send("/menu")
    await user.press("我的信用记录")
    await user.press("详情 1")
    await user.press("申请修复")
    assert "已有进行中的修复申请（XF202611240001，已提交）" in user.text
    assert await _count(demo) == 1


async def test_withdraw_before_a_decision(demo: App) -> None:
    user = await _at_record(demo, "0977号")
    await user.press("申请修复")
    await user.send_file(upload("凭证.pdf", PDF))
    await user.press("是，本人办理")
    await user.press("确认承诺书")
    await user.press("提交申请")
    await user.press("查看进度")
    await user.press("撤回申请")
    await user.press("确定撤回")
    assert "已撤回" in user.text
    row = await _app_row(demo)
    assert row.status == ApplicationStatus.WITHDRAWN
    from workflows.errors import UserError as Refused

    with pytest.raises(Refused, match="已撤回"):
        await _decide(demo, "approve")


async def test_someone_elses_record_is_refused_and_audited(demo: App) -> None:
    async with demo.sessions() as s, s.begin():
        lunan = (await s.exec(select(Subject).where(Subject.name.contains("鲁南")))).one()
        anda_record = (
            await s.exec(select(CreditRecord).where(CreditRecord.decision_no.contains("0412号")))
        ).one()
        with pytest.raises(ForgedAttempt, match="不属于"):
            await repair.start(
                s,
                subject=lunan,
                record_id=anda_record.id,
                today=date(2026, 11, 24),
                calendar=demo.engine.services.calendar,
                actor="chat:test:x",
            )
    assert await _count(demo) == 0


async def test_forged_request_through_the_engine_is_audited(
    demo: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A button whose payload names another subject's record (as a tampered client would send)."""
    from bot.dialogs import registry

    async with demo.sessions() as s:
        other = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no.contains("0301号")))).one()
    user = await _at_record(demo, "0412号")
    real = registry.actions["repair.start"]

    async def tampered(ctx, payload):  # type: ignore[no-untyped-def]
        await real(ctx, {**payload, "record_id": other.id})

    monkeypatch.setitem(registry.actions, "repair.start", tampered)
    await user.press("申请修复")
    assert "不属于您绑定的企业" in user.text
    async with demo.sessions() as s:
        entry = (await s.exec(select(AuditEntry).where(AuditEntry.action == "repair.forged"))).one()
    assert entry.entity_id == str(other.id) and entry.actor == "chat:test:a"
    assert await _count(demo) == 0


async def test_a_draft_shows_as_draft_never_its_internal_number(demo: App) -> None:
    """Regression (issue #9): users saw DRAFT-1 on a draft's status and withdrawal screens."""
    user = ChatUser(demo.engine, "draft-ent")
    await user.send("/start ENTA2468")
    await user.press("我的信用记录")
    await user.press("详情 1")
    await user.press("申请修复")  # a draft now exists
    await user.send("/menu")
    await user.press("我的申请")
    await user.press("草稿")
    assert "信用修复申请 草稿" in user.text and "DRAFT" not in user.text
