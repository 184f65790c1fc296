"""Working days: the library's years, an admin's holidays file, and the declared fallback."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from dualduty.errors import UserError
from rules.ladders import DelayUnit
from rules.workdays import DaySource, WorkCalendar, load_holidays

HOLIDAYS_2027 = """\
# 2027 年安排（示例）
years:
  2027:
    holidays:
      - 2027-01-01
      - {start: 2027-02-06, end: 2027-02-12, name: 春节}
    workdays:
      - 2027-02-14
"""


def test_library_years_know_national_day_and_adjusted_workdays() -> None:
    cal = WorkCalendar()
    assert cal.source(2026) is DaySource.library
    assert not cal.is_workday(dt.date(2026, 10, 1))  # 国庆
    # Thursday 2026-09-24 + 1 working day skips 中秋 (Friday) and the weekend.
    assert cal.add(dt.date(2026, 9, 24), 1, DelayUnit.working) == dt.date(2026, 9, 28)
    # Saturday 2026-10-10 is an adjusted workday (调休).
    assert cal.add(dt.date(2026, 10, 9), 1, DelayUnit.working) == dt.date(2026, 10, 10)
    # 2026-09-30 (Wed) + 1 working day jumps over the National Day week.
    after = cal.add(dt.date(2026, 9, 30), 1, DelayUnit.working)
    assert after > dt.date(2026, 10, 7) and cal.is_workday(after)
    assert cal.fallback_years == set()


def test_unknown_year_falls_back_to_weekends_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="rules.workdays"):
        # Thursday 2027-12-30 + 2 working days: Friday, then Monday 2028-01-03.
        assert cal.add(dt.date(2027, 12, 30), 2, DelayUnit.working) == dt.date(2028, 1, 3)
        assert cal.is_workday(dt.date(2027, 1, 1))  # a holiday in truth: the fallback can't know
        assert not cal.is_workday(dt.date(2027, 1, 2))
    warnings = [r for r in caplog.records if "no holiday data" in r.getMessage()]
    assert sorted(r.getMessage().split("no holiday data for ")[1][:4] for r in warnings) == [
        "2027",
        "2028",
    ]
    assert cal.fallback_years == {2027, 2028}


def test_holidays_file_covers_2027(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(HOLIDAYS_2027, encoding="utf-8")
    cal = WorkCalendar(load_holidays(path))
    assert cal.source(2027) is DaySource.file
    assert not cal.is_workday(dt.date(2027, 1, 1))
    assert not cal.is_workday(dt.date(2027, 2, 8))  # Monday inside 春节
    assert cal.is_workday(dt.date(2027, 2, 14))  # Sunday worked (调休)
    # Friday 2027-02-05 + 1 working day: the holiday week is skipped to Sunday the 14th.
    assert cal.add(dt.date(2027, 2, 5), 1, DelayUnit.working) == dt.date(2027, 2, 14)
    # Counting back works too.
    assert cal.add(dt.date(2027, 2, 14), -1, DelayUnit.working) == dt.date(2027, 2, 5)
    assert cal.add(dt.date(2027, 2, 5), -3, DelayUnit.calendar) == dt.date(2027, 2, 2)
    assert cal.fallback_years == set()


def test_settings_point_at_the_holidays_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dualduty.settings import get_settings

    path = tmp_path / "holidays.yaml"
    path.write_text(HOLIDAYS_2027, encoding="utf-8")
    monkeypatch.setenv("DUALDUTY_HOLIDAYS_FILE", str(path))
    get_settings.cache_clear()
    try:
        assert WorkCalendar.from_settings().source(2027) is DaySource.file
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("years:\n  2027:\n    holidays: [2028-01-01]\n", "dates of another year"),
        (
            "years:\n  2027:\n    holidays: [2027-02-14]\n    workdays: [2027-02-14]\n",
            "both as a holiday and as a workday",
        ),
        (
            "years:\n  2027:\n    holidays: [{start: 2027-02-12, end: 2027-02-06}]\n",
            "is before start",
        ),
        ("years:\n  2027:\n    holdays: []\n", "Extra inputs are not permitted"),
        ("years: [unclosed\n", "YAML syntax error"),
    ],
)
def test_bad_holidays_files_are_reported(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        load_holidays(path)


def test_missing_holidays_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        load_holidays(tmp_path / "none.yaml")
    assert "DUALDUTY_HOLIDAYS_FILE" in str(caught.value)
