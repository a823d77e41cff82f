"""Working-day calendar: package years, the statutory fallback, the override file, and date arithmetic."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from lunardate import LunarDate

from workflows.calendar import (
    DEFAULT_OVERRIDES_PATH,
    HolidayOverrideError,
    WorkdayCalendar,
    add_months,
    default_calendar,
    load_overrides,
    qingming_day,
    statutory_festivals,
    statutory_holidays,
)


@pytest.fixture
def cal() -> WorkdayCalendar:
    return WorkdayCalendar()


def write_overrides(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "holiday_overrides.toml"
    path.write_text(text, encoding="utf-8")
    return path


def provisional_warnings(caplog: pytest.LogCaptureFixture, year: int) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "workflows.calendar"
        and r.levelno == logging.WARNING
        and f"in {year} are provisional" in r.message
    ]


# ---------------------------------------------------------------------------------------------------
# rules §1.2 and package years
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 9, 26), 7, date(2025, 10, 13)),
        (date(2025, 10, 4), 7, date(2025, 10, 16)),  # trigger on a holiday: not the package's find_workday
        (date(2026, 2, 13), 7, date(2026, 3, 2)),
        (date(2025, 12, 31), 7, date(2026, 1, 12)),
    ],
)
def test_add_workdays_matches_the_checked_values_of_rules_1_2(cal, start, n, expected):
    assert cal.add_workdays(start, n) == expected


def test_add_workdays_agrees_with_the_naive_helper_of_rules_1_2(cal):
    def naive(d: date, n: int) -> date:
        cur, k = d, 0
        while k < n:
            cur += timedelta(days=1)
            if chinese_calendar.is_workday(cur):
                k += 1
        return cur

    start = date(2025, 1, 1)
    for offset in range(0, 700, 3):
        d = start + timedelta(days=offset)
        for n in (1, 2, 5, 7, 15, 20):
            assert cal.add_workdays(d, n) == naive(d, n), (d, n)


def test_2026_national_day_week_and_the_working_saturday_after_it(cal):
    for day in range(1, 8):
        d = date(2026, 10, day)
        assert not cal.is_workday(d)
        assert cal.is_holiday(d)
        assert cal.holiday_name(d) == "国庆节"
    assert cal.is_workday(date(2026, 10, 8))
    assert cal.is_workday(date(2026, 10, 9))
    assert cal.is_workday(date(2026, 10, 10))  # Saturday, 调休上班
    assert not cal.is_holiday(date(2026, 10, 10))
    assert cal.holiday_name(date(2026, 10, 10)) is None
    assert not cal.is_workday(date(2026, 10, 11))
    assert cal.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)


@pytest.mark.parametrize("d", [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2025, 10, 11)])
def test_make_up_weekend_days_are_working_days(cal, d):
    assert d.weekday() >= 5
    assert cal.is_workday(d)


def test_plain_weekend_is_off_but_not_a_holiday(cal):
    d = date(2026, 3, 7)  # Saturday
    assert not cal.is_workday(d)
    assert not cal.is_holiday(d)
    assert cal.holiday_name(d) is None


def test_package_holiday_names_are_chinese(cal):
    assert cal.holiday_name(date(2025, 10, 6)) == "中秋节"
    assert cal.holiday_name(date(2026, 2, 17)) == "春节"
    assert cal.holiday_name(date(2026, 4, 5)) == "清明节"
    assert cal.holiday_name(date(2026, 1, 1)) == "元旦"


def test_datetime_arguments_are_treated_as_their_date(cal):
    assert cal.is_holiday(datetime(2026, 10, 1, 9, 30))
    assert cal.holiday_name(datetime(2026, 10, 1, 9, 30)) == "国庆节"
    assert not cal.is_workday(datetime(2026, 10, 1, 9, 30))


def test_package_years_are_not_provisional_and_log_nothing(cal, caplog):
    caplog.set_level(logging.WARNING)
    assert not cal.is_provisional(2026)
    assert not cal.is_provisional(2004)
    cal.add_workdays(date(2026, 6, 1), 100)
    assert caplog.records == []


# ---------------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------------


def test_add_workdays_zero_returns_the_day_itself_even_on_a_holiday(cal):
    assert cal.add_workdays(date(2026, 10, 1), 0) == date(2026, 10, 1)
    assert cal.add_workdays(date(2026, 10, 9), 0) == date(2026, 10, 9)


def test_negative_n_counts_back_excluding_the_day(cal):
    assert cal.add_workdays(date(2025, 10, 9), -1) == date(2025, 9, 30)
    assert cal.add_workdays(date(2025, 10, 13), -7) == date(2025, 9, 26)  # §1.2 run backwards
    assert cal.add_workdays(date(2025, 10, 5), -1) == date(2025, 9, 30)  # from inside the holiday
    assert cal.add_workdays(date(2026, 1, 5), -1) == date(2026, 1, 4)  # Sunday 调休上班
    assert cal.add_workdays(date(2026, 1, 4), -1) == date(2025, 12, 31)  # across the year boundary


def test_add_workdays_forward_and_back_round_trips_on_working_days(cal):
    d = date(2025, 12, 1)
    for offset in range(120):
        day = d + timedelta(days=offset)
        if cal.is_workday(day):
            for n in (1, 7, 30):
                assert cal.add_workdays(cal.add_workdays(day, n), -n) == day


def test_workdays_between_across_a_holiday(cal):
    assert cal.workdays_between(date(2025, 9, 30), date(2025, 10, 9)) == 1
    # 10/8 Thu, 10/9 Fri, 10/10 Sat (调休上班), 10/12 Mon
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert cal.workdays_between(date(2026, 10, 12), date(2026, 9, 30)) == -4
    assert cal.workdays_between(date(2026, 10, 1), date(2026, 10, 1)) == 0
    assert cal.workdays_between(date(2026, 10, 1), date(2026, 10, 7)) == 0


def test_workdays_between_inverts_add_workdays_across_years(cal):
    start = date(2025, 12, 20)
    for n in range(1, 300, 7):
        assert cal.workdays_between(start, cal.add_workdays(start, n)) == n
    assert cal.workdays_between(date(2024, 12, 31), date(2025, 12, 31)) == len(
        chinese_calendar.get_workdays(date(2025, 1, 1), date(2025, 12, 31))
    )


def test_next_workday(cal):
    assert cal.next_workday(date(2026, 10, 1)) == date(2026, 10, 8)
    assert cal.next_workday(date(2026, 10, 8)) == date(2026, 10, 8)
    assert cal.next_workday(date(2026, 10, 10)) == date(2026, 10, 10)
    assert cal.next_workday(date(2026, 10, 11)) == date(2026, 10, 12)


# ---------------------------------------------------------------------------------------------------
# Beyond the package: 2027 and the year boundary
# ---------------------------------------------------------------------------------------------------


def test_year_boundary_2026_to_2027_lands_after_new_year(cal):
    assert cal.add_workdays(date(2026, 12, 25), 5) == date(2027, 1, 4)  # 12/28–31, then 1/1 is 元旦
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.holiday_name(date(2027, 1, 1)) == "元旦"
    assert cal.workdays_between(date(2026, 12, 31), date(2027, 1, 4)) == 1


def test_2027_is_provisional_while_the_shipped_file_has_no_2027(cal):
    assert 2027 not in load_overrides(DEFAULT_OVERRIDES_PATH)
    assert cal.is_provisional(2027)
    assert not cal.is_provisional(2026)


def test_2027_spring_festival_is_chuxi_and_the_first_three_days_of_the_first_month(cal):
    first_day = LunarDate(2027, 1, 1).to_solar_date()
    assert first_day == date(2027, 2, 6)
    # 除夕 2027 is 腊月廿九: the 12th month of lunar 2026 has only 29 days
    assert LunarDate.from_solar_date(2027, 2, 5) == LunarDate(2026, 12, 29)
    with pytest.raises(ValueError):
        LunarDate(2026, 12, 30).to_solar_date()
    for d in (date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8)):
        assert cal.holiday_name(d) == "春节"
        assert not cal.is_workday(d)
    # 初一 and 初二 fall on Saturday and Sunday: 补假 on the next two weekdays
    assert cal.holiday_name(date(2027, 2, 9)) == "春节"
    assert cal.holiday_name(date(2027, 2, 10)) == "春节"
    assert cal.is_workday(date(2027, 2, 11))
    assert cal.is_workday(date(2027, 2, 4))


def test_2027_qingming_duanwu_zhongqiu(cal):
    assert qingming_day(2027) == date(2027, 4, 5)
    assert LunarDate.from_solar_date(2027, 6, 9) == LunarDate(2027, 5, 5)
    assert LunarDate.from_solar_date(2027, 9, 15) == LunarDate(2027, 8, 15)
    assert cal.holiday_name(date(2027, 4, 5)) == "清明节"
    assert cal.holiday_name(date(2027, 6, 9)) == "端午节"
    assert cal.holiday_name(date(2027, 9, 15)) == "中秋节"
    for d in (date(2027, 4, 5), date(2027, 6, 9), date(2027, 9, 15)):
        assert not cal.is_workday(d)
        assert cal.is_workday(d + timedelta(days=1))


def test_2027_fixed_date_holidays_with_bu_jia_for_weekends(cal):
    assert statutory_holidays(2027) == {
        date(2027, 1, 1): "元旦",
        **{date(2027, 2, d): "春节" for d in range(5, 11)},
        date(2027, 4, 5): "清明节",
        **{date(2027, 5, d): "劳动节" for d in range(1, 5)},  # 5/1–2 are Sat–Sun: 补假 5/3–4
        date(2027, 6, 9): "端午节",
        date(2027, 9, 15): "中秋节",
        **{date(2027, 10, d): "国庆节" for d in range(1, 6)},  # 10/2–3 are Sat–Sun: 补假 10/4–5
    }
    assert cal.is_workday(date(2027, 5, 5))
    assert cal.is_workday(date(2027, 10, 6))
    assert not cal.is_workday(date(2027, 10, 9))  # no 调休 known: Saturday stays off


def test_provisional_warning_is_logged_once_per_year(cal, caplog):
    caplog.set_level(logging.WARNING, logger="workflows.calendar")
    cal.add_workdays(date(2026, 12, 25), 5)
    cal.is_workday(date(2027, 3, 1))
    cal.holiday_name(date(2027, 10, 1))
    cal.workdays_between(date(2027, 1, 1), date(2027, 12, 31))
    warnings = provisional_warnings(caplog, 2027)
    assert len(warnings) == 1
    assert "调休" in warnings[0].message
    assert "not yet announced" in warnings[0].message
    assert str(DEFAULT_OVERRIDES_PATH) in warnings[0].message
    assert provisional_warnings(caplog, 2026) == []


def test_qingming_formula_matches_the_package_holidays_2008_to_2026():
    for year in range(2008, 2027):  # 清明 is a public holiday since 2008
        day = qingming_day(year)
        assert day is not None
        assert chinese_calendar.holidays.get(day) == chinese_calendar.Holiday.tomb_sweeping_day.value, year


def test_qingming_formula_matches_the_package_solar_terms_1901_to_2099():
    for year in range(1901, 2100):
        (term,) = [
            d
            for d, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
            if name == "清明"
        ]
        assert qingming_day(year) == term, year


@pytest.mark.parametrize("year", range(2008, 2027))
def test_statutory_days_by_law_are_days_off_in_the_package(year):
    """Checks the lunar and solar-term computation against 19 years of announced arrangements."""
    for name, days in statutory_festivals(year):
        for i, d in enumerate(days):
            if year < 2025 and ((name == "春节" and i == 0) or (name == "劳动节" and i == 1)):
                continue  # 除夕 and 5/2 became statutory holidays only with the 2024 revision
            assert not chinese_calendar.is_workday(d), (name, d)


def test_chuxi_is_the_last_day_of_the_twelfth_month_whether_it_has_29_or_30_days():
    seen = set()
    for year in range(2005, 2060):
        try:
            last = LunarDate(year - 1, 12, 30).to_solar_date()
            seen.add(30)
        except ValueError:
            last = LunarDate(year - 1, 12, 29).to_solar_date()
            seen.add(29)
        spring = dict(statutory_festivals(year))["春节"]
        assert spring[0] == last
        assert spring[1] == LunarDate(year, 1, 1).to_solar_date()
    assert seen == {29, 30}


# ---------------------------------------------------------------------------------------------------
# The override file
# ---------------------------------------------------------------------------------------------------

TEST_2027 = """
# Test data only: NOT the real 2027 notice.
[2027]
source = "test fixture"
holidays = [
    "2027-01-01", "2027-01-04",
    "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11",
    "2027-04-05", "2027-05-01", "2027-05-02", "2027-05-03", "2027-05-04", "2027-05-05",
    "2027-06-09", "2027-09-15",
    "2027-10-01", "2027-10-02", "2027-10-03", "2027-10-04", "2027-10-05", "2027-10-06", "2027-10-07",
]
workdays = ["2027-01-09", "2027-02-20", "2027-10-09"]
"""


def test_override_file_takes_effect_and_ends_the_provisional_state(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="workflows.calendar")
    cal = WorkdayCalendar(write_overrides(tmp_path, TEST_2027))
    assert not cal.is_provisional(2027)
    assert not cal.is_workday(date(2027, 1, 4))  # bridge day
    assert cal.holiday_name(date(2027, 1, 4)) == "元旦"  # named after the run it bridges to
    assert cal.holiday_name(date(2027, 2, 11)) == "春节"
    assert cal.is_workday(date(2027, 1, 9))  # Saturday 调休上班
    assert cal.is_workday(date(2027, 10, 9))
    assert cal.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 5)
    assert cal.add_workdays(date(2027, 9, 30), 1) == date(2027, 10, 8)
    assert caplog.records == []


def test_override_missing_a_statutory_holiday_is_logged(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="workflows.calendar")
    cal = WorkdayCalendar(write_overrides(tmp_path, TEST_2027.replace('"2027-06-09", ', "")))
    assert cal.is_workday(date(2027, 6, 9))  # the file is authoritative
    assert any("2027-06-09" in r.message and "端午节" in r.message for r in caplog.records)


def test_the_documented_example_reproduces_the_package_for_2026(tmp_path):
    text = DEFAULT_OVERRIDES_PATH.read_text(encoding="utf-8")
    block = text[text.index("# [2026]") :].split("\n#\n")[0]
    example = "\n".join(re.sub(r"^# ?", "", line) for line in block.splitlines())
    cal = WorkdayCalendar(write_overrides(tmp_path, example))
    assert set(load_overrides(tmp_path / "holiday_overrides.toml")) == {2026}
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)
    assert cal.holiday_name(date(2026, 10, 6)) == "国庆节"


def test_native_toml_dates_are_accepted(tmp_path):
    cal = WorkdayCalendar(
        write_overrides(
            tmp_path, '[2030]\nsource = "test"\nholidays = [2030-01-01]\nworkdays = [2030-01-05]\n'
        )
    )
    assert not cal.is_provisional(2030)
    assert not cal.is_workday(date(2030, 1, 1))
    assert cal.is_workday(date(2030, 1, 5))


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ('[2027]\nsource = "x"\nholidays = ["2027-01-01" "2027-01-02"]\n', "not valid TOML", 3),
        ('[2027]\nsource = "x"\nholidays = ["2027-01-01",\n', "end of document", None),
        ('[2027]\nsource = "x"\nholidays = [2027-13-01]\n', "not valid TOML", 3),
        ('[2027]\nsource = "x"\nholidays = ["2027-02-30"]\n', "not a calendar date", 3),
        ('[2027]\nsource = "x"\nholidays = ["1/1/2027"]\n', "is not a date", 3),
        ('[2027]\nsource = "x"\nholidays = ["2028-01-01"]\n', "not in 2027", 3),
        ('[2027]\nsource = "x"\nholidays = []\nworkdays = ["2027-01-04"]\n', "is a weekday", 4),
        ('[2027]\nsource = "x"\nholidays = ["2027-01-09"]\nworkdays = ["2027-01-09"]\n', "both", 3),
        ("[2027]\nholidays = []\n", "needs source", 1),
        ('[2027]\nsource = "x"\n', "needs holidays", 1),
        ('[2027]\nsource = "x"\nholidays = []\nworkday = []\n', "unknown keys", 1),
        ('[next]\nsource = "x"\nholidays = []\n', "not a year", 1),
    ],
)
def test_malformed_override_file_names_the_file_and_line(tmp_path, text, problem, line):
    path = write_overrides(tmp_path, text)
    with pytest.raises(HolidayOverrideError) as caught:
        WorkdayCalendar(path)
    message = str(caught.value)
    assert str(path) in message
    assert problem in message
    assert caught.value.line == line
    if line is not None:
        assert f"line {line}" in message


def test_missing_override_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(HolidayOverrideError, match="nowhere.toml"):
        WorkdayCalendar(tmp_path / "nowhere.toml")


# ---------------------------------------------------------------------------------------------------
# Far years, add_months, the shared instance
# ---------------------------------------------------------------------------------------------------


def test_1999_does_not_crash_and_is_provisional(cal, caplog):
    caplog.set_level(logging.WARNING, logger="workflows.calendar")
    assert cal.is_provisional(1999)
    # 12/31 Fri; 2000-01-01 元旦 is a Saturday, 补假 Mon 1/3; then 1/4, 1/5
    assert cal.add_workdays(date(1999, 12, 30), 3) == date(2000, 1, 5)
    assert cal.holiday_name(date(2000, 1, 3)) == "元旦"
    assert cal.holiday_name(date(1999, 10, 1)) == "国庆节"
    assert cal.add_workdays(date(2004, 1, 2), -1) == date(2003, 12, 31)
    assert len(provisional_warnings(caplog, 1999)) == 1


def test_2101_does_not_crash_and_keeps_the_fixed_date_holidays(cal, caplog):
    caplog.set_level(logging.WARNING, logger="workflows.calendar")
    assert cal.is_provisional(2101)
    assert not cal.is_workday(date(2101, 1, 1))  # Saturday
    assert cal.holiday_name(date(2101, 1, 3)) == "元旦"  # 补假 on Monday
    assert cal.is_workday(date(2101, 1, 4))
    assert cal.add_workdays(date(2100, 12, 31), 2) == date(2101, 1, 5)
    (warning,) = provisional_warnings(caplog, 2101)
    assert "could not be computed" in warning.message


def test_end_of_the_date_range_raises_instead_of_looping(cal):
    with pytest.raises(OverflowError):
        cal.add_workdays(date(9999, 12, 30), 5)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 1, 15), -1, date(2024, 12, 15)),
        (date(2025, 5, 17), 0, date(2025, 5, 17)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
    ],
)
def test_add_months_takes_the_corresponding_day_or_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_default_calendar_is_shared():
    assert default_calendar() is default_calendar()
    assert default_calendar().overrides_path == DEFAULT_OVERRIDES_PATH
