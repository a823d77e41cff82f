"""An invented, realistic data set for trying the assistant: three enterprises, three drivers, a credit
section with a supervisor. Dates are relative to today so the demo never goes stale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    AssessmentCycle,
    ChatBinding,
    CreditRecord,
    DriverViolation,
    RecordKind,
    Severity,
    Staff,
    StaffRole,
    Subject,
    SubjectKind,
)
from workflows.assessment import cycle_containing
from workflows.binding import issue_code
from workflows.calendar import add_months
from workflows.clock import Clock, local_today
from workflows.records import publicity_window
from workflows.rules import driver_grade

AUTHORITY = "枣庄市交通运输局"
AUTHORITY_CODE = "11370400004336918H"


@dataclass(frozen=True)
class DemoLogin:
    persona: str  # console chat id, pre-bound
    who: str
    code: str  # one-time code for binding another chat (any persona, or Telegram)


async def load_demo(session: AsyncSession, clock: Clock) -> list[DemoLogin]:
    today = local_today(clock)

    def ago(days: int) -> date:
        return today - timedelta(days=days)

    anda = Subject(
        kind=SubjectKind.ENTERPRISE,
        name="枣庄市安达货物运输有限公司",
        uscc="91370402MA3C4K7D2E",
        region_code="370402",
        legal_rep="赵建国",
        department="信用科",
    )
    lunan = Subject(
        kind=SubjectKind.ENTERPRISE,
        name="山东鲁南客运集团有限公司",
        uscc="91370403168734521M",
        region_code="370403",
        legal_rep="孙立",
        department="信用科",
    )
    shuntong = Subject(
        kind=SubjectKind.ENTERPRISE,
        name="薛城区顺通危险货物运输有限公司",
        uscc="91370403MA3M9RUX5H",
        region_code="370403",
        legal_rep="周海",
        department="执法支队",
    )
    zhang = Subject(
        kind=SubjectKind.DRIVER,
        name="张伟",
        cert_no="370402198506123417",
        id_number="370402198506123417",
        cert_first_issued=add_months(ago(40), -12 * 7),
        region_code="370402",
    )
    li = Subject(
        kind=SubjectKind.DRIVER,
        name="李娜",
        cert_no="370403199002284525",
        id_number="370403199002284525",
        cert_first_issued=add_months(ago(60), -12 * 4),
        region_code="370403",
    )
    wang = Subject(
        kind=SubjectKind.DRIVER,
        name="王强",
        cert_no="370481197811051238",
        id_number="370481197811051238",
        cert_first_issued=add_months(ago(200), -12 * 10),
        region_code="370481",
    )
    session.add_all([anda, lunan, shuntong, zhang, li, wang])
    await session.flush()

    def penalty(
        subject: Subject,
        days_ago: int,
        severity: Severity,
        no: str,
        ptype: str,
        fine: float | None,
        facts: str,
        fulfilled: bool,
        **kw: object,
    ) -> CreditRecord:
        return CreditRecord(
            subject_id=subject.id,
            kind=RecordKind.PENALTY,
            severity=severity,
            decision_no=no,
            decision_date=ago(days_ago),
            authority=AUTHORITY,
            authority_code=AUTHORITY_CODE,
            penalty_type=ptype,
            fine_wan=fine,
            procedure=kw.pop("procedure", "一般"),
            facts=facts,
            basis="《中华人民共和国道路运输条例》",
            content=f"{ptype}{'' if fine is None else f' {fine} 万元'}",
            obligations_fulfilled_on=ago(days_ago - 10) if fulfilled else None,
            # Served on paper before the assistant existed, except the newest: binding shows 三书同达.
            notices_served_at=None if days_ago < 40 else datetime.combine(ago(days_ago), time(), UTC),
            publicity_end=max_end(RecordKind.PENALTY, severity, ago(days_ago)),
            **kw,
        )

    def max_end(kind: RecordKind, severity: Severity, decided: date) -> date:
        window = publicity_window(kind, severity, decided)
        assert window is not None
        return window.max_end

    session.add_all(
        [
            penalty(
                anda,
                190,
                Severity.GENERAL,
                "枣交罚〔2026〕0412号",
                "罚款",
                0.5,
                "未按规定对车辆进行维护和检测",
                True,
            ),
            penalty(
                anda,
                330,
                Severity.SERIOUS,
                "枣交罚〔2025〕1187号",
                "暂扣许可证件",
                2.0,
                "使用无道路运输证的车辆从事经营",
                True,
            ),
            penalty(
                anda,
                35,
                Severity.MINOR,
                "枣交罚〔2026〕0977号",
                "警告",
                None,
                "驾驶员未随车携带从业资格证",
                True,
                procedure="简易",
            ),
            CreditRecord(
                subject_id=anda.id,
                kind=RecordKind.EVALUATION,
                severity=Severity.GENERAL,
                decision_no="2025年度质量信誉考核",
                decision_date=ago(260),
                authority=AUTHORITY,
                grade="AA",
            ),
            penalty(
                lunan,
                420,
                Severity.GENERAL,
                "枣交罚〔2025〕0301号",
                "罚款",
                0.3,
                "客运班车未按核定站点停靠",
                True,
            ),
            penalty(
                lunan,
                60,
                Severity.GENERAL,
                "枣交罚〔2026〕1033号",
                "罚款",
                0.2,
                "未按规定公布服务价格",
                False,
            ),
            CreditRecord(
                subject_id=lunan.id,
                kind=RecordKind.EVALUATION,
                severity=Severity.GENERAL,
                decision_no="2025年度质量信誉考核",
                decision_date=ago(260),
                authority=AUTHORITY,
                grade="AAA",
            ),
            CreditRecord(
                subject_id=shuntong.id,
                kind=RecordKind.DISHONESTY_LIST,
                severity=Severity.SERIOUS,
                decision_no="鲁交信〔2026〕17号",
                decision_date=ago(120),
                authority="山东省交通运输厅",
                facts="发生较大生产安全责任事故",
                basis="《交通运输领域严重失信主体名单管理办法》",
                publicity_end=max_end(RecordKind.DISHONESTY_LIST, Severity.SERIOUS, ago(120)),
            ),
        ]
    )

    for driver, items in (
        (zhang, [(30, "超速行驶（超过限速不足20%）", 3), (12, "未按规定检查车辆安全技术状况", 5)]),
        (li, [(20, "驾驶营运车辆连续驾驶超过4小时（疲劳驾驶）", 20)]),
        (wang, []),
    ):
        assert driver.cert_first_issued is not None
        cycle = cycle_containing(driver.cert_first_issued, today)
        span = (today - cycle.start).days
        for frac, item, points in items:
            session.add(
                DriverViolation(
                    subject_id=driver.id,
                    occurred_on=cycle.start + timedelta(days=span * frac // 40),
                    item=item,
                    points=points,
                    decision_no=f"枣交罚（驾）〔{today.year}〕{points:04d}号",
                    authority=AUTHORITY,
                )
            )
        # Two closed, endorsed cycles before the current one.
        for back, points in ((1, 0 if driver is not li else 10), (2, 3)):
            start = add_months(cycle.start, -12 * back)
            end = add_months(cycle.start, -12 * (back - 1)) - timedelta(days=1)
            session.add(
                AssessmentCycle(
                    subject_id=driver.id,
                    start=start,
                    end=end,
                    points=points,
                    grade=driver_grade(points).grade,
                    endorsed_on=end + timedelta(days=15),
                )
            )

    chief = Staff(name="刘主任", department="信用科", role=StaffRole.SUPERVISOR)
    session.add(chief)
    await session.flush()
    clerk = Staff(name="陈科员", department="信用科", role=StaffRole.HANDLER, supervisor_id=chief.id)
    admin = Staff(name="系统管理员", department="信用科", role=StaffRole.ADMIN, supervisor_id=chief.id)
    session.add_all([clerk, admin])
    await session.flush()

    logins = [
        ("driver", "驾驶员 张伟（扣 8 分）", zhang, None, "DRVA2468"),
        ("driver-b", "驾驶员 李娜（扣 20 分，B 级）", li, None, "DRVB2468"),
        ("driver-c", "驾驶员 王强（无扣分）", wang, None, "DRVC2468"),
        ("enterprise", "企业 枣庄市安达货物运输有限公司", anda, None, "ENTA2468"),
        ("enterprise-b", "企业 山东鲁南客运集团有限公司", lunan, None, "ENTB2468"),
        ("enterprise-c", "企业 薛城区顺通危险货物运输有限公司", shuntong, None, "ENTC2468"),
        ("staff", "工作人员 陈科员（经办）", None, clerk, "STAF2468"),
        ("admin", "工作人员 系统管理员", None, admin, "ADMN2468"),
        ("chief", "工作人员 刘主任（负责人，接收超期督办）", None, chief, "CHEF2468"),
    ]
    out = []
    for persona, who, subject, staff, code in logins:
        session.add(
            ChatBinding(
                channel="console",
                chat_id=persona,
                user_id=persona,
                subject_id=subject.id if subject else None,
                staff_id=staff.id if staff else None,
            )
        )
        await issue_code(
            session,
            issued_by="demo",
            clock=clock,
            subject_id=subject.id if subject else None,
            staff_id=staff.id if staff else None,
            code=code,
        )
        out.append(DemoLogin(persona, who, code))
    return out
