"""数据管理 in chat (issue #8), through the engine: an admin registers an enterprise and a driver and edits
one; templates come as files; a spreadsheet sent to the menu is recognised and checked; wrong files get
a clear answer; a 经办 has no such powers."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlmodel import select

from bot.app import App
from models import AuditEntry, Subject
from tests.support.chat import PDF, ChatUser, upload
from tests.unit.test_imports_penalties import csv_bytes, row


async def _admin(app: App) -> ChatUser:
    admin = ChatUser(app.engine, "admin", channel="console")
    await admin.send("/menu")
    await admin.press("数据管理")
    return admin


async def test_admin_registers_an_enterprise_and_a_driver_and_edits_one(demo: App) -> None:
    admin = await _admin(demo)
    await admin.press("登记主体")
    await admin.press("企业")
    await admin.send("91370481MA3D0001XN")
    assert "校验位应为M" in admin.text
    await admin.send("91370481MA3D0001XM")
    await admin.send("滕州市通达运输有限公司")
    await admin.press("跳过")
    await admin.send("执法支队")
    assert "请确认" in admin.text and "滕州市通达运输有限公司" in admin.text
    await admin.press("确认登记")
    assert "已登记" in admin.text and "管理员登记" in admin.text
    await admin.press("签发绑定码")
    assert "已为 滕州市通达运输有限公司" in admin.text

    await admin.send("/menu")
    await admin.press("数据管理")
    await admin.press("登记主体")
    await admin.press("驾驶员")
    await admin.send("110101199003074514")
    await admin.send("赵六")
    await admin.press("同身份证号")
    await admin.send("2030-01-01")
    assert "不能晚于今天" in admin.text
    await admin.send("2018年3月1日")
    await admin.press("跳过")
    assert "110101199003074514" not in admin.text  # masked on the confirmation screen
    await admin.press("确认登记")
    async with demo.sessions() as s:
        driver = (await s.exec(select(Subject).where(Subject.name == "赵六"))).one()
        firm = (await s.exec(select(Subject).where(Subject.uscc == "91370481MA3D0001XM"))).one()
    assert driver.cert_no == "110101199003074514" and firm.department == "执法支队"

    await admin.send("/menu")
    await admin.press("信用核查")
    await admin.send("91370481MA3D0001XM")
    await admin.press("修改主体信息")
    await admin.press("法定代表人")
    await admin.send("钱七")
    assert "法定代表人：（空） → 钱七" in admin.text
    async with demo.sessions() as s:
        entry = (await s.exec(select(AuditEntry).where(AuditEntry.action == "subject.edit"))).one()
    assert entry.before == {"legal_rep": None} and entry.after == {"legal_rep": "钱七"}


async def test_templates_come_as_files_with_the_column_notes(demo: App) -> None:
    admin = await _admin(demo)
    await admin.press("下载模板")
    await admin.press("驾驶员扣分")
    (doc,) = [r.document for r in admin.last.replies if r.document]
    wb = load_workbook(io.BytesIO(doc.content))
    assert wb.sheetnames == ["驾驶员扣分", "填写说明"]
    assert [c.value for c in wb["驾驶员扣分"][1]][:3] == ["从业资格证号", "姓名", "违章日期"]


async def test_a_sheet_sent_to_the_menu_is_recognised_checked_and_confirmed(demo: App) -> None:
    admin = ChatUser(demo.engine, "admin", channel="console")
    await admin.send("/menu")
    content = csv_bytes([row(**{"行政处罚决定书文号": "聊天导入1号"})], "gbk")
    await admin.send_file(upload("处罚.csv", content))
    assert "行政处罚导入检查" in admin.text and "将新增 1 条" in admin.text
    await admin.press("确认导入")
    assert "已新增 1 条" in admin.text
    await admin.send("/menu")
    await admin.send_file(upload("处罚.csv", content))
    assert "将新增 0 条" in admin.text and "未变 1 条" in admin.text


async def test_wrong_files_get_a_clear_answer(demo: App) -> None:
    admin = await _admin(demo)
    await admin.press("导入数据")
    await admin.press("行政处罚")
    await admin.send_file(upload("旧表.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100))
    assert "另存为 .xlsx" in admin.text
    await admin.send_file(upload("凭证.pdf", PDF))
    assert "请发送 .xlsx 或 .csv 文件" in admin.text
    await admin.send_file(upload("坏.xlsx", b"not a zip at all"))
    assert "Excel" in admin.text and "Traceback" not in admin.text
    await admin.send_file(upload("空.csv", b""))
    assert "文件是空的" in admin.text
    await admin.send_file(upload("表头.csv", "名称,备注\n".encode()))
    assert "缺少必填列" in admin.text
    # The conversation goes on.
    await admin.send_file(upload("处罚.csv", csv_bytes([row()])))
    assert "将新增 1 条" in admin.text


async def test_a_handler_cannot_import(demo: App) -> None:
    clerk = ChatUser(demo.engine, "staff", channel="console")
    await clerk.send("/menu")
    assert "数据管理" not in " ".join(b.label for b in clerk.buttons)
    await clerk.send_file(upload("处罚.csv", csv_bytes([row()])))
    assert "这里不需要发送文件" in clerk.text
