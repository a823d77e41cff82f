"""信用分类 as the subject itself sees it (domain-rules §11, §18): what its class means, the supervision it
leads to, and for a trustworthy subject the 信易+ benefits the source plans name.

The class is read off the published records by lookup.credit_class (rules.CLASS_RULE_SOURCE [R]); the
sampling ratios and measures are rules.SUPERVISION_TIERS. Marks as in rules.py ([V] [P] [S] [R] [F]):
whatever is shown resting on a mark other than [V]/[P] goes out with rules.UNVERIFIED_NOTE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from models import CreditRecord
from workflows import rules
from workflows.lookup import DISHONEST, SERIOUSLY_DISHONEST, TRUSTWORTHY, WATCH, credit_class, latest_grade
from workflows.records import published_records
from workflows.rules import Source


@dataclass(frozen=True)
class ClassMeaning:
    credit_class: str
    name_en: str
    zh: str
    en: str
    source: Source


# lookup.credit_class restated for the subject, worst first. A product rule until the sector's
# classification standard is confirmed (domain-rules §17 item 4) [R].
CLASS_MEANINGS: tuple[ClassMeaning, ...] = (
    ClassMeaning(
        SERIOUSLY_DISHONEST,
        "seriously dishonest",
        "被列入严重失信主体名单",
        "on a serious-dishonesty list",
        rules.CLASS_RULE_SOURCE,
    ),
    ClassMeaning(
        DISHONEST,
        "dishonest",
        "有公示中的「严重」行政处罚或违背信用承诺记录",
        "a published serious penalty or a breached commitment",
        rules.CLASS_RULE_SOURCE,
    ),
    ClassMeaning(
        WATCH,
        "watch",
        "近一年内有公示中的「一般」行政处罚，或信用评价为 B 级",
        "a published general penalty within a year, or evaluation grade B",
        rules.CLASS_RULE_SOURCE,
    ),
    ClassMeaning(
        TRUSTWORTHY,
        "trustworthy",
        "无严重失信名单、「严重」处罚或违诺记录在公示，近一年无「一般」处罚，信用评价非 B 级",
        "nothing serious published, no general penalty within a year, grade not B",
        rules.CLASS_RULE_SOURCE,
    ),
)


@dataclass(frozen=True)
class Benefit:
    name: str
    en: str
    source: Source


# 信易+ for trustworthy subjects: the plans name the three; what each gives is set locally and is not in
# domain-rules, so no amounts or terms are shown.
XINYI_SOURCE = Source("Xiamen 2022 plan #19; Tianjin 2023 plan #10 (domain-rules §18)", "[P]")
XINYI_PLUS: tuple[Benefit, ...] = (
    Benefit("信易行", "Xinyi travel", XINYI_SOURCE),
    Benefit("信易贷", "Xinyi credit loans", XINYI_SOURCE),
    Benefit("信易修", "Xinyi repair", XINYI_SOURCE),
)
# 联合奖惩 rewards for trustworthy subjects.
REWARDS_SOURCE = Source("Zaozhuang 2021 #9; Tianjin 2023 #9; Wenshui 2024 #9 (domain-rules §18)", "[P]")
TRUST_REWARDS: tuple[Benefit, ...] = (
    Benefit("优先办理", "priority handling", REWARDS_SOURCE),
    Benefit("重点宣传", "publicity as a good example", REWARDS_SOURCE),
    Benefit("推优评优", "nomination for awards", REWARDS_SOURCE),
)
# "benefits for trustworthy subjects" (§18 Xiamen #19, Tianjin #10) [P]: the 守信 class only.
BENEFIT_CLASSES = frozenset({TRUSTWORTHY})


# English for the measures of rules.SUPERVISION_TIERS (the rules module keeps the Chinese terms).
MEASURES_EN = {
    "减少检查频次": "fewer inspections",
    "诚信教育行政指导": "integrity education and guidance",
    "信用承诺": "credit commitment",
    "提醒约谈": "reminder interview",
    "告诫约谈": "warning interview",
    "从严监管": "stricter supervision",
    "不适用告知承诺、容缺受理": "no notify-and-commit or incomplete-materials acceptance",
    "联合惩戒（按清单）": "joint punishment (by the national list)",
    "限制办理": "restricted services",
    "市场禁入或清退": "market ban or exit",
}


def meaning_of(cls: str) -> ClassMeaning:
    return next(m for m in CLASS_MEANINGS if m.credit_class == cls)


@dataclass(frozen=True)
class CreditStanding:
    credit_class: str
    meaning: ClassMeaning
    grade: str | None  # the latest published 信用评价 grade, if any
    sample_rate: float  # 双随机 sampling ratio of the tier
    measures: tuple[str, ...]  # supervision measures other than the benefits below
    xinyi: tuple[Benefit, ...]
    rewards: tuple[Benefit, ...]
    sources: tuple[Source, ...]  # everything the standing rests on

    @property
    def verified(self) -> bool:
        """False: the screen adds rules.UNVERIFIED_NOTE."""
        return all(s.verified for s in self.sources)


def standing(records: Iterable[CreditRecord], today: date) -> CreditStanding:
    """Pure: the class of these records (only published ones count) and what it means."""
    published = list(records)
    cls = credit_class(published, today)
    tier = rules.supervision_tier(cls)
    xinyi = XINYI_PLUS if cls in BENEFIT_CLASSES else ()
    rewards = TRUST_REWARDS if cls in BENEFIT_CLASSES else ()
    # The tier's own "信易+ 激励" and rewards are spelled out as benefits instead.
    shown = {b.name for b in TRUST_REWARDS}
    measures = tuple(m for m in tier.measures if m not in shown and "信易+" not in m)
    meaning = meaning_of(cls)
    sources = tuple(
        dict.fromkeys((meaning.source, rules.SUPERVISION_SOURCE, *(b.source for b in (*xinyi, *rewards))))
    )
    return CreditStanding(
        credit_class=cls,
        meaning=meaning,
        grade=latest_grade(published),
        sample_rate=tier.sample_rate,
        measures=measures,
        xinyi=xinyi,
        rewards=rewards,
        sources=sources,
    )


async def subject_standing(session: AsyncSession, subject_id: int, today: date) -> CreditStanding:
    return standing(await published_records(session, subject_id), today)
