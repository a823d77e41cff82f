"""An admin who chose English (/lang en) sees the staff tools in English (issue #9): 数据管理 (an import
checked, refused and done, the monthly lists), registering a subject, binding codes, staff accounts and
interviews show no Chinese but data values (names, departments, stored categories, the reason as typed,
the headers of the file sent)."""

from __future__ import annotations

import re

from bot.app import App
from tests.support.chat import ChatUser, upload
from tests.support.english import assert_english
from tests.unit.test_imports_penalties import csv_bytes, row

CJK = re.compile(r"[\u4e00-\u9fff]+")
NEW_FIRM = "滕州市通达运输有限公司"
REASON = "一年内多次违反道路运输管理规定"
EXAMPLE = ("王五", "执法支队")  # the example of the add-staff prompt, and the staff member added


async def _assert_english(app: App, user: ChatUser) -> None:
    await assert_english(app, user, NEW_FIRM, REASON, *EXAMPLE)


async def _admin_in_english(app: App) -> ChatUser:
    admin = ChatUser(app.engine, "admin", channel="console")
    await admin.send("/lang en")
    await admin.send("/menu")
    return admin


async def test_data_menu_templates_and_monthly_lists_in_english(demo: App) -> None:
    admin = await _admin_in_english(demo)
    await admin.press("📦")
    assert "📦 Data: import subjects" in admin.text
    await _assert_english(demo, admin)
    await admin.press("📤")
    assert "Choose the type of data" in admin.text
    await _assert_english(demo, admin)
    await admin.press("Administrative penalties")
    assert "Administrative penalties: send the data as a file" in admin.text
    await _assert_english(demo, admin)
    await admin.press("📄")
    assert admin.last.replies[0].document.file_name == "Administrative penalties import template.xlsx"  # type: ignore[union-attr]
    await _assert_english(demo, admin)
    await admin.send("/menu")
    await admin.press("📦")
    await admin.press("📊")
    assert "📊 Monthly lists: choose a month" in admin.text and admin.button("2026-11")
    await _assert_english(demo, admin)


async def test_an_import_check_with_a_bad_row_and_the_monthly_summary_in_english(demo: App) -> None:
    admin = await _admin_in_english(demo)
    good = row(**{"行政处罚决定书文号": "枣交罚〔2026〕0901号"})
    bad = row(**{"行政处罚决定书文号": "枣交罚〔2026〕0902号", "处罚决定日期": "2026-13-40"})
    headers = list(good)  # the file's own headers: data, as the bureau wrote them
    await admin.press("📦")
    await admin.press("📤")
    await admin.press("Administrative penalties")
    await admin.send_file(upload("penalties.csv", csv_bytes([good, bad])))
    assert "Administrative penalties import check: penalties.csv, 2 rows: 1 problem found" in admin.text
    assert "Problems (the first 1; all of them are in the errors file):" in admin.text
    assert "· Row 3 [处罚决定日期] “2026-13-40”: No such date: 2026-13-40" in admin.text
    assert admin.last.replies[-1].document.file_name == "penalties.errors.csv"  # type: ignore[union-attr]
    await assert_english(demo, admin, *headers, "枣交罚〔2026〕0902号")

    bad["处罚决定日期"] = "2026-05-21"
    await admin.send_file(upload("penalties.errors.csv", csv_bytes([good, bad])))
    assert (
        "import check: penalties.errors.csv, 2 rows: would add 2, update 0, leave 0 unchanged." in admin.text
    )
    assert "Check passed; nothing written yet." in admin.text
    await _assert_english(demo, admin)
    await admin.press("✅ Import")
    assert (
        "✅ Administrative penalties import: penalties.errors.csv, 2 rows: 2 added, 0 updated" in admin.text
    )
    await _assert_english(demo, admin)

    await admin.send("/menu")
    await admin.press("📦")
    await admin.press("📊")
    await admin.press("2026-11")
    assert admin.text.startswith("Monthly lists of credit work, 2026-11\nSubjects list: trust rewards ")
    assert "Deadlines: closed on time " in admin.text
    names = [r.document.file_name for r in admin.last.replies if r.document]
    assert names == ["credit-work-monthly-lists_2026-11.xlsx", "credit-work-results_2026-11.png"]
    await _assert_english(demo, admin)


async def test_registering_an_enterprise_and_issuing_its_code_in_english(demo: App) -> None:
    admin = await _admin_in_english(demo)
    await admin.press("📦")
    await admin.press("➕")
    assert "Register a subject: choose the type" in admin.text
    await _assert_english(demo, admin)
    await admin.press("🏢")
    assert "Enter the USCC" in admin.text
    await _assert_english(demo, admin)
    await admin.send("91370481MA3D0001XM")
    await _assert_english(demo, admin)
    await admin.send(NEW_FIRM)
    await _assert_english(demo, admin)
    await admin.press("Skip")
    assert "Enter the department" in admin.text
    await _assert_english(demo, admin)
    await admin.send("执法支队")
    assert "Please confirm:" in admin.text and "Legal representative: (not given)" in admin.text
    await _assert_english(demo, admin)
    await admin.press("Register")
    assert "✅ Registered:" in admin.text and "Source: registered by an admin" in admin.text
    await _assert_english(demo, admin)
    await admin.press("🔑")
    assert f"Binding code for {NEW_FIRM} (91370481MA3D0001XM)" in admin.text
    await _assert_english(demo, admin)


async def test_binding_codes_and_staff_accounts_in_english(demo: App) -> None:
    admin = await _admin_in_english(demo)
    await admin.press("🔑")
    assert "Enter the enterprise's USCC" in admin.text
    await _assert_english(demo, admin)
    await admin.send("91370402MA3C4K7D2E")
    assert "Binding code for" in admin.text and "single use" in admin.text
    await _assert_english(demo, admin)
    await admin.send("/menu")
    await admin.press("👥")
    assert "👥 Staff" in admin.text and "Handler" in admin.text and "Admin" in admin.text
    await _assert_english(demo, admin)
    await admin.press("➕")
    assert "Type the name and the department" in admin.text
    await _assert_english(demo, admin)
    await admin.send("王五 执法支队")
    assert "Role of 王五 (执法支队):" in admin.text
    await _assert_english(demo, admin)
    await admin.press("Reviewer")
    assert "Binding code for new staff member 王五" in admin.text
    await _assert_english(demo, admin)


async def test_scheduling_an_interview_and_the_interview_list_in_english(demo: App) -> None:
    admin = await _admin_in_english(demo)
    await admin.press("📅")
    assert "You have no upcoming interviews" in admin.text
    await _assert_english(demo, admin)
    await admin.send("/menu")
    await admin.press("🔎")
    await admin.send("安达")
    await admin.press("📅")  # the look-up's 安排约谈
    assert "📅 Interview with" in admin.text and "Enter the reason" in admin.text
    await _assert_english(demo, admin)
    await admin.send(REASON)
    assert "Beijing time" in admin.text and "2026-11-25" in admin.text
    await _assert_english(demo, admin)
    await admin.send("2026-11-26 15:00")
    await _assert_english(demo, admin)
    await admin.press("💻")
    await _assert_english(demo, admin)
    await admin.press("Only me")
    assert "Place: online" in admin.text and "Time: 2026-11-26 15:00" in admin.text
    await _assert_english(demo, admin)
    await admin.press("✅")
    assert "Interview notice sent (2026-11-26 15:00)" in admin.text
    await _assert_english(demo, admin)
    await admin.send("/menu")
    await admin.press("📅")
    assert "📅 My interviews" in admin.text and "notified, awaiting confirmation" in admin.text
    await _assert_english(demo, admin)
