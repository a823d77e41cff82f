"""Every number the credit processes use, with its source and how sure we are of it.

Marks follow shared/domain-rules.md: [V] verified from the text, [P] one of the five source plans,
[S] secondary summary, [R] recollection (placeholder), [F] fragment. Numbers marked [R]/[F] are
placeholders: user-facing text that shows them adds UNVERIFIED_NOTE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from models.records import Severity

UNVERIFIED_NOTE = "以认定单位答复为准"
UNVERIFIED_NOTE_EN = "subject to the issuing unit's answer"


@dataclass(frozen=True)
class Source:
    document: str
    mark: str  # [V] [P] [S] [R] [F]

    @property
    def verified(self) -> bool:
        return self.mark in ("[V]", "[P]")


# ---------------------------------------------------------------------------------------------------
# 信用修复 regimes and publicity periods (domain-rules §4). Versioned by effective date.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicityPeriod:
    min_months: int  # apply for repair after this; 0 = as soon as obligations are fulfilled
    max_months: int  # 公示截止期: taken down automatically after this
    published: bool = True  # False: "原则上不公示" (regime C, 轻微)
    source: Source = Source("", "[R]")


@dataclass(frozen=True)
class RepairRegime:
    key: str  # stored on a repair application; a short name users read
    key_en: str  # the short name in English
    name: str
    effective_from: date
    effective_to: date | None  # inclusive; None = still in force
    periods: Mapping[Severity, PublicityPeriod]
    source: Source


_C_SRC = Source("国办发〔2025〕22号 二；《信用修复管理办法》国家发展改革委令2025年第36号", "[V]")
_B_SRC = Source("《失信行为纠正后的信用信息修复管理办法（试行）》国家发展改革委令2023年第58号", "[R]")
_A_SRC = Source("发改办财金〔2019〕527号", "[V]")

REGIME_A = RepairRegime(
    key="527号",
    key_en="NDRC Notice 527 (2019)",
    name="发改办财金〔2019〕527号",
    effective_from=date(2019, 7, 1),
    effective_to=date(2023, 4, 30),
    # 527号 knows no 轻微 class: such records are treated as 一般 (same periods).
    periods={
        Severity.MINOR: PublicityPeriod(3, 12, source=_A_SRC),
        Severity.GENERAL: PublicityPeriod(3, 12, source=_A_SRC),
        Severity.SERIOUS: PublicityPeriod(6, 36, source=_A_SRC),
    },
    source=_A_SRC,
)
REGIME_B = RepairRegime(
    key="令58号",
    key_en="NDRC Order 58 (2023)",
    name="国家发展改革委令2023年第58号",
    effective_from=date(2023, 5, 1),
    effective_to=date(2026, 3, 31),
    # Periods [R] (domain-rules §4.4); "certain penalties not published" unverified, so 轻微 = 一般.
    periods={
        Severity.MINOR: PublicityPeriod(3, 12, source=_B_SRC),
        Severity.GENERAL: PublicityPeriod(3, 12, source=_B_SRC),
        Severity.SERIOUS: PublicityPeriod(12, 36, source=_B_SRC),
    },
    source=_B_SRC,
)
REGIME_C = RepairRegime(
    key="令36号",
    key_en="NDRC Order 36 (2025)",
    name="《信用修复管理办法》国家发展改革委令2025年第36号",
    effective_from=date(2026, 4, 1),
    effective_to=None,
    periods={
        Severity.MINOR: PublicityPeriod(0, 3, published=False, source=_C_SRC),
        Severity.GENERAL: PublicityPeriod(3, 12, source=_C_SRC),
        Severity.SERIOUS: PublicityPeriod(12, 36, source=_C_SRC),
    },
    source=_C_SRC,
)
REGIMES: tuple[RepairRegime, ...] = (REGIME_A, REGIME_B, REGIME_C)


def regime_for(day: date) -> RepairRegime:
    """The regime in force on `day`. Periods follow the decision date (domain-rules §4.1 default;
    the transitional treatment is an open legal question). Before 2019-07 we use regime A."""
    for regime in reversed(REGIMES):
        if day >= regime.effective_from:
            return regime
    return REGIME_A


def regime_by_key(key: str) -> RepairRegime | None:
    """The regime a repair application stored by its key, or None for a key no longer configured."""
    return next((r for r in REGIMES if r.key == key), None)


# Records whose class the authority did not give are classified by this table (§4.2 [S]: the
# exact article text could not be read; keep it configurable). Fine thresholds are placeholders [R].
MINOR_PENALTY_TYPES = frozenset({"警告", "通报批评"})
SERIOUS_PENALTY_TYPES = frozenset({"吊销许可证件", "限制从业", "责令关闭", "限制开展生产经营活动"})
SERIOUS_FINE_WAN = 10.0  # [R] "巨额罚款" threshold, placeholder
CLASSIFICATION_SOURCE = Source("令36号 news summaries (domain-rules §4.2); thresholds placeholder", "[S]/[R]")


def penalty_types(penalty_type: str | None) -> list[str]:
    """A decision may carry several 处罚类别, stored joined by PENALTY_TYPE_JOINER."""
    return [t for t in (penalty_type or "").split(PENALTY_TYPE_JOINER) if t]


def classify_penalty(penalty_type: str | None, fine_wan: float | None, procedure: str | None) -> Severity:
    """Several types in one decision take the most severe class, so the longest period (§4.2, Shenzhen
    [S]: "the longest period")."""
    types = set(penalty_types(penalty_type))
    if types & SERIOUS_PENALTY_TYPES or (fine_wan or 0) >= SERIOUS_FINE_WAN:
        return Severity.SERIOUS
    if procedure == "简易" or (types and types <= MINOR_PENALTY_TYPES and not fine_wan):
        return Severity.MINOR
    return Severity.GENERAL


# 处罚类别 of 《行政处罚法》(2021) 第九条 with a provincial exchange table's two-digit codes (domain-rules §3 [S]).
# Names are the law's; the exchange table's shorter spellings are accepted as aliases on import.
PENALTY_TYPE_CODES: Mapping[str, str] = {
    "01": "警告",
    "02": "罚款",
    "03": "没收违法所得",
    "04": "责令停产停业",
    "05": "吊销许可证件",
    "06": "行政拘留",
    "07": "其他",
    "08": "通报批评",
    "09": "没收非法财物",
    "10": "降低资质等级",
    "11": "暂扣许可证件",
    "12": "限制开展生产经营活动",
    "13": "限制从业",
    "14": "责令关闭",
}
PENALTY_TYPE_ALIASES: Mapping[str, str] = {
    "吊销许可证": "吊销许可证件",
    "暂扣许可证": "暂扣许可证件",
    "限制开展经营活动": "限制开展生产经营活动",
    "法律、行政法规规定的其他行政处罚": "其他",
    "其他行政处罚": "其他",
}
PENALTY_TYPE_JOINER = "、"
PENALTY_TYPES_SOURCE = Source(
    "《行政处罚法》(2021) 第九条; a provincial exchange table's codes (domain-rules §3)", "[S]"
)
# 案件程序类别 (domain-rules §3 [S]): 01 简易程序, 02 一般程序; stored as 简易 / 一般.
PROCEDURE_CODES: Mapping[str, str] = {
    "01": "简易",
    "02": "一般",
    "简易程序": "简易",
    "一般程序": "一般",
    "普通程序": "一般",  # what 《行政处罚法》 calls 一般程序, as staff often write it
}


# ---------------------------------------------------------------------------------------------------
# Working-day limits (domain-rules §2, §4.3, §5, §16).
# ---------------------------------------------------------------------------------------------------

PUBLICATION_WORKDAYS = 7  # 双公示: 国办发〔2015〕51号 第十八条 [V]
WITHDRAW_PUBLICATION_WORKDAYS = 3  # 《行政处罚法》第四十八条 [R]
REPAIR_DECIDE_WORKDAYS = 10  # 信用中国(江西) practice "10 working days" [S, weak]; 令36号 digits unread [F]
# A local example (domain-rules §5 O5, 信用广州 guide [V] local), not this bureau's rule: shown to users with
# UNVERIFIED_NOTE. Acceptance 2 + the platform's own check 2 + the providing unit's answer 10 working days.
OBJECTION_ACCEPT_WORKDAYS = 2
OBJECTION_PLATFORM_CHECK_WORKDAYS = 2
OBJECTION_VERIFY_WORKDAYS = 10
OBJECTION_DECIDE_WORKDAYS = (
    OBJECTION_ACCEPT_WORKDAYS + OBJECTION_PLATFORM_CHECK_WORKDAYS + OBJECTION_VERIFY_WORKDAYS
)  # staff's whole limit: 14
# O3 [V]. Stored in Chinese; the English is what an English chat shows.
OBJECTION_REASONS_EN: Mapping[str, str] = {
    "信息错误": "Information wrong",
    "信息不完整": "Information incomplete",
    "重复": "Duplicate",
    "不应公示": "Should not be published",
    "超期公示": "Published beyond its period",
    "非本主体": "Not about us",
    "修复后未撤下": "Not taken down after repair",
    "其他": "Other",
}
OBJECTION_REASONS = tuple(OBJECTION_REASONS_EN)  # O3 [V]

# ---------------------------------------------------------------------------------------------------
# 道路运输驾驶员诚信考核 (domain-rules §12), 交运发〔2008〕280号.
# ---------------------------------------------------------------------------------------------------

DRIVER_SOURCE = Source("《道路运输驾驶员诚信考核办法（试行）》交运发〔2008〕280号", "[S]")
DRIVER_CYCLE_MONTHS = 12  # D1 [S]: 12 months from the certificate's first issue
DRIVER_POINT_CEILING = 20  # D2 [S]
DRIVER_POINT_VALUES = (20, 10, 5, 3, 1)  # D2 [S]: the five values of Annex 1


@dataclass(frozen=True)
class GradeBand:
    grade: str
    label: str
    label_en: str
    min_points: int
    max_points: int | None  # inclusive; None = no upper bound


# D6 [R] UNVERIFIED placeholder: one exam site lists other numbers; check Art. of 280号.
DRIVER_GRADE_BANDS: tuple[GradeBand, ...] = (
    GradeBand("AAA", "优良", "excellent", 0, 0),
    GradeBand("AA", "合格", "qualified", 1, 10),
    GradeBand("A", "基本合格", "basically qualified", 11, 19),
    GradeBand("B", "不合格", "unqualified", 20, None),
)
DRIVER_GRADE_BANDS_SOURCE = Source("交运发〔2008〕280号 D6", "[R]")


def driver_grade(points: int) -> GradeBand:
    for band in DRIVER_GRADE_BANDS:
        if points >= band.min_points and (band.max_points is None or points <= band.max_points):
            return band
    raise ValueError(f"no grade band for {points} points")


# ---------------------------------------------------------------------------------------------------
# Product settings (not law): binding codes. Source: issue #2 (product decision).
# ---------------------------------------------------------------------------------------------------

BINDING_CODE_TTL_HOURS = 72
BINDING_MAX_WRONG_CODES = 5
BINDING_LOCKOUT_MINUTES = 15
BINDING_CODE_LENGTH = 8
BINDING_REQUESTS_PER_DAY = 3  # binding without a code: requests a chat may make a day
# Wrong binding codes from all chats together: at this many within the window, admins are alerted once
# per window (someone may be guessing codes from many chats to get round the per-chat lockout). Issue #9.
BINDING_WRONG_CODES_ALERT_AT = 30
BINDING_WRONG_CODES_WINDOW_MINUTES = 60
# Notice kinds a department's alert group receives (issue #9; issue #11 routes robots the same way).
ALERT_GROUP_KINDS = frozenset({"warning", "escalation", "interview", "digest", "undeliverable"})
# What a group robot carries unless its admin chose otherwise (issue #11): risk warnings, overdue
# escalations, interview reminders and no-shows, the daily digest, failed legally required notices.
ROBOT_DEFAULT_KINDS = ALERT_GROUP_KINDS
MAX_TEXT_LENGTH = 2000  # longer free text is refused with a message (Telegram allows 4096)

# ---------------------------------------------------------------------------------------------------
# 信用修复: refusal grounds and time limits (domain-rules §4.3, §8). Local rules, unverified [F]/[S].
# ---------------------------------------------------------------------------------------------------

REPAIR_FALSE_MATERIALS_BAN_YEARS = 3  # [F] "N years" after false materials / a false commitment; N unknown
REPAIR_REPEAT_OFFENCE_COUNT = 3  # [S] a city rule: ≥3 较重 失信 within 1 year → no repair (屡禁不止)
REPAIR_REPEAT_OFFENCE_DAYS = 365
REPAIR_REFUSAL_SOURCE = Source(
    "令36号 (article text unread); a city's 7 refusal grounds (domain-rules §8)", "[F]"
)
REPAIR_MORE_MATERIALS_WORKDAYS = 5  # 补正 deadline for the enterprise; product default, no rule found [R]

# ---------------------------------------------------------------------------------------------------
# 履行 (fulfilment of a penalty's obligations) and the bureau's data in and out (issue #8).
# ---------------------------------------------------------------------------------------------------

# Product list (issue #8), from the repair materials §4.4. Stored in Chinese; the English is what an English
# chat shows.
FULFILMENT_METHODS_EN: Mapping[str, str] = {
    "罚款已缴纳": "Fine paid",
    "整改完成": "Rectified",
    "其他": "Other",
}
FULFILMENT_METHODS = tuple(FULFILMENT_METHODS_EN)
FULFILMENT_CONFIRM_WORKDAYS = 5  # staff confirm an enterprise's declaration within this; product default [R]
# Imported decisions within this many working days are "new": they get the 双公示 deadline when not yet
# published, and 三书同达 with --notify; older rows are history (served on paper, published long ago).
IMPORT_RECENT_WORKDAYS = PUBLICATION_WORKDAYS  # product rule: the 双公示 window (§2 P1 [V])
IMPORT_BATCH_ROWS = 1000  # rows written per statement batch (bench/import.py)
IMPORT_WORKER_MIN_BYTES = 2 * 1024 * 1024  # a file this big is read and checked in a second process
IMPORT_CHAT_MAX_BYTES = 20 * 1024 * 1024  # Telegram bots may download files up to 20 MB
IMPORT_CHAT_ERRORS_SHOWN = 10  # errors listed in the chat message; all of them are in the errors file
MONTHLY_LISTS_ON_FIRST_WORKDAY = (
    True  # Zaozhuang #9 [P]: monthly lists; sent on the month's first working day
)

# ---------------------------------------------------------------------------------------------------
# Uploaded materials. Product limits (Telegram bots may download files up to 20 MB).
# ---------------------------------------------------------------------------------------------------

MATERIAL_MAX_BYTES = 10 * 1024 * 1024
MATERIAL_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG"}
OBJECTION_MAX_EVIDENCE_FILES = 10

# ---------------------------------------------------------------------------------------------------
# 信用承诺 (domain-rules §7). Matters open to 容缺受理 / 告知承诺, with the promised processing time that a
# 容缺 materials deadline may not exceed (§7.4 [S]: "不得超过承诺办结时限"). Example configuration.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matter:
    key: str
    name: str  # stored on the commitment and written in its letter
    name_en: str
    promised_workdays: int  # 承诺办结时限
    source: Source


COMMITMENT_MATTERS: tuple[Matter, ...] = (
    Matter(
        "freight_licence",
        "道路货物运输经营许可",
        "Road freight transport operating licence",
        20,
        Source("local 政务服务事项清单 (example)", "[R]"),
    ),
    Matter(
        "vehicle_transport_cert",
        "道路运输证配发",
        "Issue of a road transport certificate",
        10,
        Source("local 政务服务事项清单 (example)", "[R]"),
    ),
    Matter(
        "passenger_line",
        "道路客运班线经营许可",
        "Licence to operate a road passenger line",
        20,
        Source("local 政务服务事项清单 (example)", "[R]"),
    ),
    Matter(
        "driver_qualification",
        "从业资格证换发",
        "Renewal of a professional qualification certificate",
        5,
        Source("local 政务服务事项清单 (example)", "[R]"),
    ),
)
COMMITMENT_CODE_SERIAL_DIGITS = 6  # 承诺编码 = 行政区划 6 + YYYYMMDD + 流水号 6 (§7.2 [S])


def matter(key: str) -> Matter:
    for m in COMMITMENT_MATTERS:
        if m.key == key:
            return m
    raise KeyError(key)


def matter_named(name: str) -> Matter | None:
    """The listed matter a commitment stored by its name, or None (a typed 承诺事由)."""
    return next((m for m in COMMITMENT_MATTERS if m.name == name), None)


# ---------------------------------------------------------------------------------------------------
# 信用分级分类监管 (domain-rules §11, §18 Zaozhuang #8): credit class → supervision tier.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupervisionTier:
    credit_class: str
    sample_rate: float  # 双随机 sampling ratio
    measures: tuple[str, ...]


SUPERVISION_SOURCE = Source(
    "秦皇岛 2025 transport 双随机 plan (ratios); measures from the source plans", "[V]/[P]"
)
SUPERVISION_TIERS: tuple[SupervisionTier, ...] = (
    SupervisionTier("守信", 0.01, ("优先办理", "信易+ 激励", "减少检查频次")),
    SupervisionTier("警示", 0.10, ("诚信教育行政指导", "信用承诺", "提醒约谈")),
    SupervisionTier("失信", 0.50, ("告诫约谈", "从严监管", "不适用告知承诺、容缺受理")),
    SupervisionTier("严重失信", 0.80, ("联合惩戒（按清单）", "限制办理", "市场禁入或清退")),
)
# How a subject's class is read off its published records [R]: a placeholder until the sector's
# classification standard is confirmed (domain-rules §17 item 4).
CLASS_RULE_SOURCE = Source(
    "product rule: dishonesty list → 严重失信; serious penalty or breach → 失信; "
    "general penalty in 365 days or grade B → 警示; else 守信",
    "[R]",
)
WARNING_LOOKBACK_DAYS = 365


def supervision_tier(credit_class: str) -> SupervisionTier:
    return next(t for t in SUPERVISION_TIERS if t.credit_class == credit_class)


# ---------------------------------------------------------------------------------------------------
# 约谈 (domain-rules §8 [R]) and staff review.
# ---------------------------------------------------------------------------------------------------

# Product setting, no rule found [R]: the 约谈通知书 is served at least this many working days ahead.
INTERVIEW_NOTICE_MIN_WORKDAYS = 1
RECTIFICATION_DEFAULT_WORKDAYS = 15  # default deadline for rectification items agreed at an interview [R]
# Product settings, no rule found [R] (issue #9): staff check a 报送 (整改情况 / 容缺 materials) within this
# many working days; 要求继续整改 leaves the subject at least this many working days from the decision (a
# report sent back on or after the agreed day would otherwise be overdue at once).
FOLLOW_UP_REVIEW_WORKDAYS = 5
RECTIFICATION_CONTINUE_WORKDAYS = 5
DUE_SOON_WORKDAYS = 1  # a queue item due within this many working days is shown red (issue #4)
# Items that need two steps (经办 proposes, 审核 approves). Product configuration per item type.
TWO_STEP_DECISIONS = {"repair": True, "objection": True, "commitment": False, "fulfilment": False}

# ---------------------------------------------------------------------------------------------------
# Reminders and escalation (issue #5; domain-rules §18 Zaozhuang #4: staff reminders until published).
# ---------------------------------------------------------------------------------------------------

REMIND_BEFORE_WORKDAYS = 2  # a reminder this many working days before the due day (product default)
REMIND_ON_DUE_DAY = True  # and on the morning of the due day
ESCALATE_WHEN_OVERDUE = True  # overdue: the responsible staff's supervisor, each working day until done
INTERVIEW_REMIND_HOURS_BEFORE = 2  # and the working day before
INTERVIEW_NO_SHOW_AFTER_HOURS = 2  # an interview not recorded this long after its slot is flagged
SWEEP_EVERY_MINUTES = 10  # deadline and interview sweeps (idempotent: a rerun writes nothing new)
DAILY_SCAN_TIME = "08:30"  # Asia/Shanghai, working days: risk scan, repair opportunities, digests
