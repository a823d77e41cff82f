"""Working-day calendar (工作日历): public holidays, 调休 make-up working days and working-day arithmetic.

Where each year comes from, first match wins:
1. the override file `workflows/data/holiday_overrides.toml` (the State Council's announced arrangement);
2. the `chinesecalendar` package (import `chinese_calendar`, data 2004–2026);
3. otherwise the holidays fixed by 《全国年节及纪念日放假办法》(2024 revision, domain-rules §1.4), computed
   here. Such a year is *provisional*: its 调休 is not known yet, and one warning per year is logged.
"""

from __future__ import annotations

import logging
import re
import threading
import tomllib
from calendar import monthrange
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta
from functools import cache
from pathlib import Path

import chinese_calendar
from lunardate import LunarDate

logger = logging.getLogger(__name__)

DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent / "data" / "holiday_overrides.toml"

NEW_YEAR = "元旦"
SPRING_FESTIVAL = "春节"
QINGMING = "清明节"
LABOUR_DAY = "劳动节"
DRAGON_BOAT = "端午节"
MID_AUTUMN = "中秋节"
NATIONAL_DAY = "国庆节"
BRIDGE_DAY = "调休放假"  # an announced day off that no statutory holiday run explains

_H = chinese_calendar.Holiday
_PACKAGE_NAMES = {
    _H.new_years_day.value: NEW_YEAR,
    _H.spring_festival.value: SPRING_FESTIVAL,
    _H.tomb_sweeping_day.value: QINGMING,
    _H.labour_day.value: LABOUR_DAY,
    _H.dragon_boat_festival.value: DRAGON_BOAT,
    _H.mid_autumn_festival.value: MID_AUTUMN,
    _H.national_day.value: NATIONAL_DAY,
}


# ---------------------------------------------------------------------------------------------------
# Statutory holidays by law (years without announced data)
# ---------------------------------------------------------------------------------------------------


def qingming_day(year: int) -> date | None:
    """The 清明 solar term by the 寿星 formula [Y·D + C] − L; None outside 1901–2099 where it is not tuned.

    Y = year within its century (1–100), D = 0.2422, C = 5.59 (1901–2000) or 4.81 (2001–2100), L = Y // 4.
    """
    if not 1901 <= year <= 2099:
        return None
    y, c = (year - 1900, 5.59) if year <= 2000 else (year - 2000, 4.81)
    return date(year, 4, int(y * 0.2422 + c) - y // 4)


def _lunar(year: int, month: int, day: int) -> date | None:
    """Gregorian date of a lunar date (non-leap month); None outside lunardate's range (1900–2099)."""
    try:
        return LunarDate(year, month, day).to_solar_date()
    except ValueError:
        return None


def statutory_festivals(year: int) -> list[tuple[str, list[date]]]:
    """The days off that 《全国年节及纪念日放假办法》(2024 revision, in force 2025-01-01) fixes, per festival.

    元旦 1 Jan; 春节 农历除夕 and 正月初一至初三; 清明 the solar term; 劳动节 1–2 May; 端午 农历五月初五;
    中秋 农历八月十五; 国庆 1–3 Oct. The lunar festivals and 清明 are left out for years the lunar table or
    the 寿星 formula do not cover. The current law is applied to every year, also to years before 2025.
    """
    festivals: list[tuple[str, list[date]]] = [
        (NEW_YEAR, [date(year, 1, 1)]),
        (LABOUR_DAY, [date(year, 5, 1), date(year, 5, 2)]),
        (NATIONAL_DAY, [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)]),
    ]
    first_day = _lunar(year, 1, 1)  # 正月初一 always falls between 21 Jan and 20 Feb
    if first_day is not None:
        # 除夕 is the day before 正月初一, whether the 12th month had 29 or 30 days
        festivals.append((SPRING_FESTIVAL, [first_day + timedelta(days=k) for k in range(-1, 3)]))
    for name, day in (
        (QINGMING, qingming_day(year)),
        (DRAGON_BOAT, _lunar(year, 5, 5)),
        (MID_AUTUMN, _lunar(year, 8, 15)),
    ):
        if day is not None:
            festivals.append((name, [day]))
    return sorted(festivals, key=lambda festival: festival[1][0])


def statutory_holidays(year: int) -> dict[date, str]:
    """The statutory days off of `year` with their names, including 补假.

    补假: a statutory holiday on a Saturday or Sunday (or on another festival's day) is made up on the next
    free weekday (放假办法 "适逢周六、周日，应当在工作日补假").
    """
    days_off: dict[date, str] = {}
    for name, days in statutory_festivals(year):
        owed = 0
        for day in days:
            if day.weekday() >= 5 or day in days_off:
                owed += 1
            days_off[day] = f"{days_off[day]}、{name}" if day in days_off else name
        day = days[-1]
        while owed:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in days_off:
                days_off[day] = name
                owed -= 1
    return {day: name for day, name in days_off.items() if day.year == year}


# ---------------------------------------------------------------------------------------------------
# The override file
# ---------------------------------------------------------------------------------------------------


class HolidayOverrideError(ValueError):
    """The holiday override file cannot be used; names the file and, when known, the line."""

    def __init__(self, path: Path, problem: str, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"holiday override file {where}: {problem}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class YearOverride:
    """One year of a State Council notice: every day off and the weekend days that become working days."""

    year: int
    source: str
    holidays: frozenset[date]
    workdays: frozenset[date]


_SECTION_KEYS = {"source", "holidays", "workdays"}


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def _override_dates(path: Path, text: str, year: int, key: str, raw: object) -> frozenset[date]:
    if not isinstance(raw, list):
        raise HolidayOverrideError(path, f"[{year}] {key} must be a list of dates", _line_of(text, key))
    days = set()
    for item in raw:
        if isinstance(item, date) and not isinstance(item, datetime):
            day = item
        elif isinstance(item, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
            try:
                day = date.fromisoformat(item)
            except ValueError:
                raise HolidayOverrideError(
                    path, f"[{year}] {key}: {item!r} is not a calendar date", _line_of(text, item)
                ) from None
        else:
            needle = item if isinstance(item, str) else key
            raise HolidayOverrideError(
                path, f'[{year}] {key}: {item!r} is not a date (write "YYYY-MM-DD")', _line_of(text, needle)
            )
        if day.year != year:
            raise HolidayOverrideError(
                path, f"[{year}] {key}: {day} is not in {year}", _line_of(text, day.isoformat())
            )
        days.add(day)
    return frozenset(days)


def load_overrides(path: Path) -> dict[int, YearOverride]:
    """Parse and check the override file; raises HolidayOverrideError on anything it cannot trust."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HolidayOverrideError(path, f"cannot be read: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise HolidayOverrideError(
            path, f"not valid TOML: {exc}", int(found.group(1)) if found else None
        ) from exc

    overrides: dict[int, YearOverride] = {}
    for key, section in data.items():
        if not re.fullmatch(r"\d{4}", key):
            raise HolidayOverrideError(path, f"[{key}] is not a year", _line_of(text, key))
        year = int(key)
        line = _line_of(text, f"[{key}]")
        if not isinstance(section, dict):
            raise HolidayOverrideError(path, f"{key} must be a table [{key}]", _line_of(text, key))
        unknown = sorted(set(section) - _SECTION_KEYS)
        if unknown:
            raise HolidayOverrideError(
                path, f"[{key}] has unknown keys {unknown}; allowed: {sorted(_SECTION_KEYS)}", line
            )
        source = section.get("source")
        if not isinstance(source, str) or not source.strip():
            raise HolidayOverrideError(path, f'[{key}] needs source = "<the State Council notice>"', line)
        if "holidays" not in section:
            raise HolidayOverrideError(path, f"[{key}] needs holidays = [...]", line)
        holidays = _override_dates(path, text, year, "holidays", section["holidays"])
        workdays = _override_dates(path, text, year, "workdays", section.get("workdays", []))
        for day in sorted(workdays):
            if day.weekday() < 5:
                raise HolidayOverrideError(
                    path,
                    f"[{key}] workdays: {day} is a weekday; list only Saturdays and Sundays that become working days",
                    _line_of(text, day.isoformat()),
                )
            if day in holidays:
                raise HolidayOverrideError(
                    path, f"[{key}] {day} is in both holidays and workdays", _line_of(text, day.isoformat())
                )
        overrides[year] = YearOverride(year, source.strip(), holidays, workdays)
    return overrides


def _name_override_days(override: YearOverride, statutory: dict[date, str]) -> dict[date, str]:
    """Name each announced day off: its statutory name, else that of the holiday run it bridges to."""

    def off(day: date) -> bool:
        return day in override.holidays or (day.weekday() >= 5 and day not in override.workdays)

    names = {day: statutory[day] for day in override.holidays if day in statutory}
    for day in sorted(override.holidays - names.keys()):
        found: list[str] = []
        for step in (-1, 1):
            cursor = day + timedelta(days=step)
            while cursor.year == day.year and off(cursor):
                name = names.get(cursor)
                if name and name not in found:
                    found.append(name)
                cursor += timedelta(days=step)
        names[day] = "、".join(found) or BRIDGE_DAY
    return names


# ---------------------------------------------------------------------------------------------------
# The calendar
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Year:
    first: int  # ordinal of 1 January
    flags: bytes  # per day of the year: 1 = working day
    rank: list[int]  # per day of the year: working days from 1 January up to and including that day
    workdays: list[int]  # ordinals of the working days, ascending
    holidays: dict[date, str]


_PACKAGE_LAST_YEAR = max(chinese_calendar.holidays).year


@cache
def _package_covers(year: int) -> bool:
    if not MINYEAR <= year <= MAXYEAR:
        return False
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _as_date(day: date) -> date:
    return day.date() if isinstance(day, datetime) else day


class WorkdayCalendar:
    """Chinese working days: which days are off, and counting working days (domain-rules §1)."""

    def __init__(self, overrides_path: Path | str | None = None) -> None:
        self.overrides_path = Path(overrides_path) if overrides_path else DEFAULT_OVERRIDES_PATH
        self._overrides = load_overrides(self.overrides_path)
        self._years: dict[int, _Year] = {}
        self._lock = threading.Lock()

    # -- per-year data, built once on first use --------------------------------------------------

    def _year(self, year: int) -> _Year:
        data = self._years.get(year)
        if data is not None:
            return data
        if not MINYEAR <= year <= MAXYEAR:
            raise OverflowError(f"year {year} is outside the supported date range")
        with self._lock:
            data = self._years.get(year)
            if data is None:
                data = self._build(year)
                self._years[year] = data
        return data

    def _build(self, year: int) -> _Year:
        first = date(year, 1, 1)
        days = [first + timedelta(days=i) for i in range(366 if monthrange(year, 2)[1] == 29 else 365)]
        override = self._overrides.get(year)
        if override is not None:
            statutory = statutory_holidays(year)
            self._check_override(override)
            holidays = _name_override_days(override, statutory)
            flags = bytes(
                d in override.workdays or (d.weekday() < 5 and d not in override.holidays) for d in days
            )
        elif _package_covers(year):
            holidays = {}
            for d in days:
                is_off, name = chinese_calendar.get_holiday_detail(d)
                if is_off and name:
                    holidays[d] = _PACKAGE_NAMES.get(name) or _H(name).chinese
            flags = bytes(chinese_calendar.is_workday(d) for d in days)
        else:
            holidays = statutory_holidays(year)
            flags = bytes(d.weekday() < 5 and d not in holidays for d in days)
            self._warn_provisional(year, holidays)
        rank, count = [], 0
        for flag in flags:
            count += flag
            rank.append(count)
        workdays = [d.toordinal() for d, flag in zip(days, flags, strict=True) if flag]
        return _Year(first.toordinal(), flags, rank, workdays, holidays)

    def _warn_provisional(self, year: int, holidays: dict[date, str]) -> None:
        computed = {name for name, _ in statutory_festivals(year)}
        missing = [n for n in (SPRING_FESTIVAL, QINGMING, DRAGON_BOAT, MID_AUTUMN) if n not in computed]
        gap = f"; {'、'.join(missing)} could not be computed for this year" if missing else ""
        status = "is not yet announced" if year > _PACKAGE_LAST_YEAR else "is not in our data"
        logger.warning(
            "Working days in %d are provisional: the State Council's 调休 arrangement for %d %s "
            "(not in chinesecalendar %s nor in %s). Statutory holidays are computed by 《全国年节及纪念日放假办法》"
            "(2024) (%d days off)%s; make-up working days are unknown. Results stay provisional until the "
            "override file has [%d].",
            year,
            year,
            status,
            chinese_calendar.__version__,
            self.overrides_path,
            len(holidays),
            gap,
            year,
        )

    def _check_override(self, override: YearOverride) -> None:
        if override.year < 2025:  # the 2024 revision (除夕 a holiday) is in force from 2025-01-01
            return
        law_days = {d: name for name, days in statutory_festivals(override.year) for d in days}
        for day in sorted(law_days.keys() - override.holidays):
            logger.warning(
                "Holiday override [%d] in %s does not list %s (%s), a statutory holiday by law; check the file",
                override.year,
                self.overrides_path,
                day,
                law_days[day],
            )

    # -- questions about one day -----------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        """True on a working day, including a 调休 Saturday or Sunday."""
        data = self._year(d.year)
        return bool(data.flags[d.toordinal() - data.first])

    def is_holiday(self, d: date) -> bool:
        """True on a statutory or announced holiday (a plain weekend is not a holiday)."""
        return _as_date(d) in self._year(d.year).holidays

    def holiday_name(self, d: date) -> str | None:
        """Chinese name of the holiday on d, e.g. "国庆节"; None on other days."""
        return self._year(d.year).holidays.get(_as_date(d))

    def is_provisional(self, year: int) -> bool:
        """True when neither the package nor the override file has `year`: its 调休 is still unknown."""
        return year not in self._overrides and not _package_covers(year)

    # -- counting --------------------------------------------------------------------------------

    def add_workdays(self, d: date, n: int) -> date:
        """The n-th working day after d, d excluded (《民法典》第二百零一条); n < 0: the |n|-th before d.

        n == 0 returns d itself, working day or not.
        """
        if n == 0:
            return d
        year = d.year
        data = self._years.get(year) or self._year(year)
        i = d.toordinal() - data.first
        if n > 0:
            k = data.rank[i] + n - 1  # index of the target in its year's working days
            while k >= len(data.workdays):
                k -= len(data.workdays)
                year += 1
                data = self._year(year)
        else:
            k = data.rank[i] - data.flags[i] + n
            while k < 0:
                year -= 1
                data = self._year(year)
                k += len(data.workdays)
        return date.fromordinal(data.workdays[k])

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative (−count of (end, start]) when end < start."""
        if end.toordinal() < start.toordinal():
            return -self.workdays_between(end, start)
        first, last = self._year(start.year), self._year(end.year)
        count = last.rank[end.toordinal() - last.first] - first.rank[start.toordinal() - first.first]
        return count + sum(len(self._year(year).workdays) for year in range(start.year, end.year))

    def next_workday(self, d: date) -> date:
        """d itself if it is a working day, else the first working day after it."""
        return d if self.is_workday(d) else self.add_workdays(d, 1)


def add_months(d: date, months: int) -> date:
    """The corresponding day `months` later, or the month's last day if there is none (《民法典》第二百零二条)."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + months, 12)
    if not MINYEAR <= year <= MAXYEAR:
        raise OverflowError(f"{d} + {months} months is outside the supported date range")
    return d.replace(year=year, month=month0 + 1, day=min(d.day, monthrange(year, month0 + 1)[1]))


@cache
def default_calendar() -> WorkdayCalendar:
    """The process-wide calendar over the shipped override file."""
    return WorkdayCalendar()
