"""Penalty import in the national 双公示 layout (issue #8), on every backend: files made here as bureaus have
them (xlsx with date cells, CSV in GBK / UTF-8 with or without BOM), every error kind reported at once,
all or nothing, idempotent re-import, changes audited, round trip import → export → import, and imported
records behaving as recorded ones (publicity, 双公示 deadline, 三书同达 only with --notify and recent)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlmodel import col, func, select
from stdnum.cn import ric as std_id
from stdnum.cn import uscc as std_uscc

from bot.app import App
from models import (
    AuditEntry,
    ChatBinding,
    CreditRecord,
    DataTransfer,
    Deadline,
    OutboxMessage,
    RecordKind,
    Severity,
    Subject,
)
from workflows import rules
from workflows.dataio.read import open_table
from workflows.exports import export_penalties
from workflows.imports import ImportResult
from workflows.records import publicity_window, repair_eligibility
from workflows.subjects import add_enterprise
from workflows.transfers import import_file

TODAY = date(2026, 11, 24)  # the frozen clock's day (tests/conftest.py)
ANDA, LUNAN, OTHER = "91370402MA3C4K7D2E", "91110000600037341L", "91440300708461136T"
PERSON_ID = "370402198506123417"
HEADERS = [
    "行政相对人名称",
    "行政相对人类别",
    "行政相对人代码_1（统一社会信用代码）",
    "证件类型",
    "证件号码",
    "行政处罚决定书文号",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额（万元）",
    "处罚决定日期",
    "处罚机关",
]


def row(**over: Any) -> dict[str, Any]:
    base = {
        "行政相对人名称": "枣庄市安达货物运输有限公司",
        "行政相对人类别": "法人及非法人组织",
        "行政相对人代码_1（统一社会信用代码）": ANDA,
        "证件类型": "",
        "证件号码": "",
        "行政处罚决定书文号": "枣交罚〔2026〕0001号",
        "违法事实": "未按规定对车辆进行维护",
        "处罚依据": "《道路运输条例》",
        "处罚类别": "罚款",
        "处罚内容": "罚款 0.5 万元",
        "罚款金额（万元）": "0.5",
        "处罚决定日期": "2026-05-20",
        "处罚机关": "枣庄市交通运输局",
    }
    return base | over


def csv_bytes(
    rows: list[dict[str, Any]], encoding: str = "utf-8-sig", headers: list[str] | None = None
) -> bytes:
    headers = headers or list(rows[0])
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    writer.writerows([[r.get(h, "") for h in headers] for r in rows])
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    headers = list(rows[0])
    ws.append(headers)
    for r in rows:
        ws.append([r[h] for h in headers])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def run(
    app: App, content: bytes | Path, name: str = "p.csv", *, kind: str = "penalties", **kw: Any
) -> ImportResult:
    async with app.sessions() as s, s.begin():
        result, _ = await import_file(
            s,
            kind,
            content,
            name,
            actor="test",
            now=app.engine.services.clock.now(),
            today=TODAY,
            calendar=app.engine.services.calendar,
            **kw,
        )
    return result


async def count(app: App, model: type) -> int:
    async with app.sessions() as s:
        return int((await s.exec(select(func.count()).select_from(model))).one())


async def records(app: App) -> list[CreditRecord]:
    async with app.sessions() as s:
        return list((await s.exec(select(CreditRecord).order_by(col(CreditRecord.id)))).all())


# -- a clean file ----------------------------------------------------------------------------------


async def test_clean_file_imports_every_row_and_creates_subjects_marked_as_imported(app: App) -> None:
    rows = [
        row(),
        row(
            **{
                "行政处罚决定书文号": "枣交罚〔2026〕0002号",
                "处罚类别": "警告",
                "罚款金额（万元）": "",
                "处罚内容": "警告",
            }
        ),
        row(
            **{
                "行政相对人名称": "张伟",
                "行政相对人类别": "自然人",
                "行政相对人代码_1（统一社会信用代码）": "",
                "证件类型": "身份证",
                "证件号码": PERSON_ID,
                "行政处罚决定书文号": "枣交罚〔2026〕0003号",
            }
        ),
    ]
    result = await run(app, csv_bytes(rows))
    assert result.ok, [p.line() for p in result.problems]
    assert (result.counts.new, result.counts.changed, result.counts.unchanged) == (3, 0, 0)
    assert result.counts.subjects_created == 2
    async with app.sessions() as s:
        transfer = (await s.exec(select(DataTransfer))).one()
        subjects = {x.name: x for x in (await s.exec(select(Subject))).all()}
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "data.import"))).one()
    assert transfer.status == "imported" and transfer.counts["new"] == 3
    assert audit.after["file_name"] == "p.csv" and len(audit.after["sha256"]) == 64
    assert subjects["张伟"].id_number == PERSON_ID and subjects["张伟"].category == "自然人"
    assert all(x.created_by == f"import:{transfer.id}" for x in subjects.values())
    by_no = {r.decision_no: r for r in await records(app)}
    fine, warning = by_no["枣交罚〔2026〕0001号"], by_no["枣交罚〔2026〕0002号"]
    assert fine.severity == Severity.GENERAL and warning.severity == Severity.MINOR
    window = publicity_window(RecordKind.PENALTY, Severity.GENERAL, date(2026, 5, 20))
    assert window is not None and fine.publicity_end == window.max_end
    assert fine.origin == f"import:{transfer.id}" and not fine.notices_required
    # Imported records behave as recorded ones: the fine awaits fulfilment before repair.
    elig = repair_eligibility(fine, TODAY, app.engine.services.calendar)
    assert not elig.eligible_now and "履行" in elig.zh


async def test_codes_and_several_penalty_types_take_the_most_severe_class(app: App) -> None:
    rows = [
        row(**{"处罚类别": "02", "行政处罚决定书文号": "A1"}),
        row(
            **{
                "处罚类别": "罚款；05",
                "行政处罚决定书文号": "A2",
                "暂扣或吊销证照名称及编号": "道路运输经营许可证 370402",
            }
        ),
        row(**{"处罚类别": "警告、通报批评", "罚款金额（万元）": "", "行政处罚决定书文号": "A3"}),
    ]
    result = await run(app, csv_bytes(rows, headers=[*HEADERS, "暂扣或吊销证照名称及编号"]))
    assert result.ok, [p.line() for p in result.problems]
    by_no = {r.decision_no: r for r in await records(app)}
    assert by_no["A1"].penalty_type == "罚款" and by_no["A1"].severity == Severity.GENERAL
    assert by_no["A2"].penalty_type == "罚款、吊销许可证件" and by_no["A2"].severity == Severity.SERIOUS
    assert by_no["A3"].severity == Severity.MINOR


# -- every error, all at once, nothing written -----------------------------------------------------


async def test_every_error_kind_is_reported_at_once_with_row_column_value_and_reason(app: App) -> None:
    future = "2026-12-24"
    rows = [
        row(),  # row 2: fine
        row(**{"行政相对人代码_1（统一社会信用代码）": "91370402MA3C4K7D2F", "行政处罚决定书文号": "B3"}),
        row(
            **{
                "行政相对人类别": "自然人",
                "行政相对人代码_1（统一社会信用代码）": "",
                "证件号码": "370402198506123418",
                "行政处罚决定书文号": "B4",
            }
        ),
        row(**{"违法事实": "", "行政处罚决定书文号": "B5"}),
        row(**{"处罚类别": "罚没", "行政处罚决定书文号": "B6"}),
        row(**{"处罚决定日期": future, "行政处罚决定书文号": "B7"}),
        row(**{"罚款金额（万元）": "-5", "行政处罚决定书文号": "B8"}),
        row(),  # row 9: the same key as row 2
        row(**{"行政处罚决定书文号": "B10", "公示截止期": "2026-06-01"}),  # a 一般 record: min 3 months
    ]
    content = csv_bytes(rows, headers=[*HEADERS, "公示截止期"])
    result = await run(app, content)
    assert not result.ok and result.counts.rows == 9
    got = {(p.row, p.column): p for p in result.problems}
    assert "应为E" in got[(3, "行政相对人代码_1（统一社会信用代码）")].reason
    assert got[(3, "行政相对人代码_1（统一社会信用代码）")].value == "91370402MA3C4K7D2F"
    assert "校验位应为7" in got[(4, "证件号码")].reason
    assert got[(5, "违法事实")].reason == "必填项为空"
    assert "未知的处罚类别“罚没”" in got[(6, "处罚类别")].reason
    assert "晚于今天" in got[(7, "处罚决定日期")].reason
    assert "负数" in got[(8, "罚款金额（万元）")].reason
    assert "与第 2 行重复" in got[(9, "行政处罚决定书文号")].reason
    assert "公示截止期与规则不符" in got[(10, "公示截止期")].reason
    assert 2 not in {p.row for p in result.problems}
    # All or nothing: the good row was not written either, nor its subject.
    assert await count(app, CreditRecord) == 0 and await count(app, Subject) == 0
    async with app.sessions() as s:
        transfer = (await s.exec(select(DataTransfer))).one()
    assert transfer.status == "refused" and transfer.counts["errors"] == len(result.problems)


async def test_errors_file_has_the_input_rows_and_a_reason_column(app: App, tmp_path: Path) -> None:
    from workflows.dataio.write import write_errors_file

    content = csv_bytes([row(), row(**{"罚款金额（万元）": "-1", "行政处罚决定书文号": "X"})], "gbk")
    result = await run(app, content)
    errors: dict[int, list[str]] = {}
    for p in result.problems:
        errors.setdefault(p.row, []).append(p.reason)
    target = tmp_path / "p.errors.csv"
    with open_table(content, "p.csv") as table:
        write_errors_file(table, errors, target, "csv")
    with open_table(target) as back:
        assert back.headers[-1] == "错误说明"
        lines = list(back.rows())
    assert [n for n, _ in lines] == [2, 3]
    assert lines[0][1][-1] in ("", None) and "负数" in lines[1][1][-1]


async def test_a_file_without_a_required_column_is_refused_by_name(app: App) -> None:
    headers = [h for h in HEADERS if h != "处罚机关"]
    result = await run(app, csv_bytes([row()], headers=headers))
    assert [(p.row, p.column, p.reason) for p in result.problems] == [
        (1, "处罚机关", "缺少必填列（表头名称见模板）")
    ]
    assert await count(app, CreditRecord) == 0


async def test_unknown_columns_are_ignored_with_one_warning(app: App) -> None:
    result = await run(app, csv_bytes([row() | {"内部编号": "7", "经办人": "王"}]))
    assert result.ok and result.warnings == ["以下列不在模板中，已忽略：内部编号、经办人"]


# -- files as bureaus have them ----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
async def test_csv_in_each_encoding_reads_the_same_chinese(app: App, encoding: str) -> None:
    messy = {
        h.replace("（", "(").replace("）", ")") + " ": v for h, v in row().items()
    }  # ASCII brackets, spaces
    result = await run(app, csv_bytes([messy], encoding))
    assert result.ok, [p.line() for p in result.problems]
    assert result.encoding == ("gb18030" if encoding.startswith("gb") else encoding)
    (record,) = await records(app)
    assert record.facts == "未按规定对车辆进行维护" and record.fine_wan == 0.5


async def test_xlsx_with_excel_date_cells_numbers_and_other_date_forms(app: App) -> None:
    rows = [
        row(**{"处罚决定日期": datetime(2026, 3, 5), "罚款金额（万元）": 0.25, "行政处罚决定书文号": "D1"}),
        row(**{"处罚决定日期": "2026/3/5", "行政处罚决定书文号": "D2"}),
        row(**{"处罚决定日期": "2026年3月5日", "行政处罚决定书文号": "D3"}),
        row(**{"处罚决定日期": "20260305", "行政处罚决定书文号": "D4"}),
    ]
    result = await run(app, xlsx_bytes(rows), "p.xlsx")
    assert result.ok, [p.line() for p in result.problems]
    assert {r.decision_date for r in await records(app)} == {date(2026, 3, 5)}
    assert {r.fine_wan for r in await records(app)} == {0.25, 0.5}


# -- idempotent, changes audited, dry run --------------------------------------------------------------


async def test_the_same_file_twice_changes_nothing_and_a_changed_row_is_audited(app: App) -> None:
    rows = [row(), row(**{"行政处罚决定书文号": "E2"})]
    first = await run(app, csv_bytes(rows))
    again = await run(app, csv_bytes(rows))
    assert (again.counts.new, again.counts.changed, again.counts.unchanged) == (0, 0, 2)
    assert "新增 0 条、更新 0 条、未变 2 条" in again.summary()
    rows[1]["罚款金额（万元）"] = "0.8"
    changed = await run(app, csv_bytes(rows))
    assert (first.counts.new, changed.counts.changed, changed.counts.unchanged) == (2, 1, 1)
    async with app.sessions() as s:
        entry = (await s.exec(select(AuditEntry).where(AuditEntry.action == "record.import_update"))).one()
        record = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no == "E2"))).one()
    assert entry.before == {"fine_wan": 0.5} and entry.after == {"fine_wan": 0.8}
    assert record.fine_wan == 0.8


async def test_a_column_left_out_changes_nothing(app: App) -> None:
    await run(app, csv_bytes([row() | {"备注": "原备注"}]))
    again = await run(app, csv_bytes([row()]))  # no 备注 column at all
    assert again.counts.unchanged == 1
    (record,) = await records(app)
    assert record.remarks == "原备注"


async def test_dry_run_counts_what_it_would_do_and_writes_nothing(app: App) -> None:
    result = await run(app, csv_bytes([row()]), dry_run=True)
    assert result.ok and result.counts.new == 1 and "试运行" in result.summary()
    assert await count(app, CreditRecord) == 0 and await count(app, Subject) == 0


# -- round trip ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
async def test_import_export_import_is_the_identity(app: App, tmp_path: Path, suffix: str) -> None:
    rows = [
        row() | {"公示日期": "2026-05-25", "备注": "含，逗号\n与换行", "处罚有效期": "2027-05-20"},
        row(**{"行政处罚决定书文号": "F2", "处罚类别": "警告", "罚款金额（万元）": ""})
        | {"案件程序类别": "01"},
        row(
            **{
                "行政相对人名称": "鲁南客运",
                "行政相对人代码_1（统一社会信用代码）": LUNAN,
                "行政处罚决定书文号": "F3",
            }
        ),
        row(
            **{
                "行政相对人名称": "张伟",
                "行政相对人类别": "自然人",
                "行政相对人代码_1（统一社会信用代码）": "",
                "证件号码": PERSON_ID,
                "行政处罚决定书文号": "F4",
                "罚款金额（万元）": "0.123456",
            }
        ),
    ]
    headers = [*HEADERS, "公示日期", "备注", "处罚有效期", "案件程序类别"]
    assert (await run(app, csv_bytes(rows, headers=headers))).counts.new == 4
    out = tmp_path / f"out{suffix}"
    async with app.sessions() as s:
        written = await export_penalties(s, out, start=date(2026, 1, 1), end=TODAY)
    assert written == 4
    back = await run(app, out, out.name)
    assert back.ok, [p.line() for p in back.problems]
    assert (back.counts.new, back.counts.changed, back.counts.unchanged) == (0, 0, 4)
    again = tmp_path / f"again{suffix}"
    async with app.sessions() as s:
        await export_penalties(s, again, start=date(2026, 1, 1), end=TODAY)
    with open_table(out) as a, open_table(again) as b:
        assert list(a.rows()) == list(b.rows())


async def test_export_filters_by_decision_date_and_status(app: App, tmp_path: Path) -> None:
    await run(app, csv_bytes([row(), row(**{"行政处罚决定书文号": "G2", "处罚决定日期": "2025-01-10"})]))
    out = tmp_path / "o.csv"
    async with app.sessions() as s:
        assert await export_penalties(s, out, start=date(2026, 1, 1), end=TODAY) == 1
        assert await export_penalties(s, out, start=date(2020, 1, 1), end=TODAY, status="withdrawn") == 0


# -- imported records behave as recorded ones -----------------------------------------------------------


async def test_recent_unpublished_rows_get_the_publication_deadline_history_does_not(app: App) -> None:
    rows = [
        row(**{"行政处罚决定书文号": "H1", "处罚决定日期": "2026-11-20"}),  # recent, not published
        row(**{"行政处罚决定书文号": "H2", "处罚决定日期": "2026-11-20"}) | {"公示日期": "2026-11-23"},
        row(**{"行政处罚决定书文号": "H3", "处罚决定日期": "2025-02-10"}),  # history
    ]
    result = await run(app, csv_bytes(rows, headers=[*HEADERS, "公示日期"]))
    assert result.ok and result.counts.deadlines == 1
    async with app.sessions() as s:
        (deadline,) = (await s.exec(select(Deadline))).all()
        h1 = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no == "H1"))).one()
        h2 = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no == "H2"))).one()
    assert deadline.ref_id == h1.id and deadline.kind == "publication"
    assert deadline.due_on == app.engine.services.calendar.add_workdays(
        date(2026, 11, 20), rules.PUBLICATION_WORKDAYS
    )
    assert h2.published_at is not None and h1.published_at is None


async def test_sanshu_only_with_notify_and_only_for_recent_decisions(app: App) -> None:
    async with app.sessions() as s, s.begin():
        subject = await add_enterprise(s, uscc=ANDA, name="枣庄市安达货物运输有限公司", actor="test")
        s.add(ChatBinding(channel="test", chat_id="ent", user_id="ent", subject_id=subject.id))
    rows = [
        row(**{"行政处罚决定书文号": "N1", "处罚决定日期": "2026-11-20"}),
        row(**{"行政处罚决定书文号": "N2", "处罚决定日期": "2025-11-20"}),
    ]
    quiet = await run(app, csv_bytes(rows))
    assert quiet.counts.notified == 0 and await count(app, OutboxMessage) == 0
    rows += [row(**{"行政处罚决定书文号": "N3", "处罚决定日期": "2026-11-23"})]
    loud = await run(app, csv_bytes(rows), notify=True)
    assert loud.counts.new == 1 and loud.counts.notified == 1
    async with app.sessions() as s:
        keys = [m.dedupe_key for m in (await s.exec(select(OutboxMessage))).all()]
        n3 = (await s.exec(select(CreditRecord).where(CreditRecord.decision_no == "N3"))).one()
    assert len(keys) == 3 and all(k.startswith(f"record:{n3.id}:sanshu") for k in keys)


# -- a second opinion on the checks ---------------------------------------------------------------------


def test_our_uscc_and_id_checks_agree_with_python_stdnum() -> None:
    """python-stdnum, an independent implementation, as a second opinion on every check character."""
    import random

    from workflows.validation import ID_CHECK_CHARACTERS, USCC_ALPHABET, id_check_digit, uscc_check_character

    rng = random.Random(8)
    for _ in range(300):
        # stdnum takes characters 1–8 as digits only (the standard also allows A, N, Y first): compare there.
        body = "".join(rng.choice("0123456789") for _ in range(8)) + "".join(
            rng.choice(USCC_ALPHABET) for _ in range(9)
        )
        good = body + uscc_check_character(body)
        assert std_uscc.is_valid(good), good
        bad = body + next(c for c in USCC_ALPHABET if c != good[-1])
        assert not std_uscc.is_valid(bad)
        person = f"3704021985{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
        assert std_id.is_valid(person + id_check_digit(person))
        assert id_check_digit(person) in ID_CHECK_CHARACTERS


# -- a big file is checked in a second process: the same answers -----------------------------------------


async def test_the_worker_process_gives_the_same_problems_and_counts(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [row(**{"行政处罚决定书文号": f"W{i}"}) for i in range(2500)]
    rows[1200] = row(**{"行政处罚决定书文号": "W1200", "罚款金额（万元）": "-1"})
    rows[2400] = row(**{"行政处罚决定书文号": "W5"})  # the key of row 7 again
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(rows, "gbk"))
    here = await run(app, path, path.name)
    monkeypatch.setattr(rules, "IMPORT_WORKER_MIN_BYTES", 0)
    there = await run(app, path, path.name)
    assert [(p.row, p.column, p.reason) for p in there.problems] == [
        (p.row, p.column, p.reason) for p in here.problems
    ]
    assert {p.row for p in there.problems} == {1202, 2402} and there.counts.rows == 2500
    rows[1200], rows[2400] = row(**{"行政处罚决定书文号": "W1200"}), row(**{"行政处罚决定书文号": "W2400"})
    path.write_bytes(csv_bytes(rows, "gbk"))
    done = await run(app, path, path.name)
    assert done.ok and done.counts.new == 2500 and done.counts.subjects_created == 1
    assert (await run(app, path, path.name)).counts.unchanged == 2500


async def test_a_file_that_goes_bad_half_way_is_refused_from_the_worker_too(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "IMPORT_WORKER_MIN_BYTES", 0)
    path = tmp_path / "mixed.csv"
    good = csv_bytes([row(**{"行政处罚决定书文号": f"M{i}"}) for i in range(3000)], "utf-8")
    path.write_bytes(good + "枣庄,坏行".encode("gbk") + b"\r\n")
    result = await run(app, path, path.name)
    assert not result.ok and any(p.row == 0 and "编码" in p.reason for p in result.problems)
    assert await count(app, CreditRecord) == 0
