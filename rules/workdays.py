"""Working days (工作日) for ladder delays: statutory holidays and adjusted workdays (调休).

Sources, in order of precedence, decided per year:

1. the admin's holidays file (``settings.holidays_file``) for every year it declares. The State
   Council publishes next year's arrangement each November; an admin enters it here the same day
   instead of waiting for a library release;
2. ``chinese_calendar`` for the years it knows (2004-2026 in 1.11);
3. a declared fallback: Monday to Friday are working days. It is logged once per year and listed
   in ``WorkCalendar.fallback_years`` so an escalation report can say which dates are estimates.

``chinese_calendar`` raises ``NotImplementedError`` for years it does not know; an escalation run
must never die on that, so this module is the only place that calls it.

Holidays file example::

    years:
      2027:
        holidays:
          - 2027-01-01
          - {start: 2027-02-06, end: 2027-02-12, name: 春节}
        workdays:            # 调休上班
          - 2027-02-14
"""

from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum
from pathlib import Path

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from dualduty.settings import get_settings
from rules.ladders import DelayUnit, validation_problems

log = logging.getLogger(__name__)


class DateRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.date
    end: dt.date
    name: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def days(self) -> list[dt.date]:
        count = (self.end - self.start).days + 1
        return [self.start + dt.timedelta(days=i) for i in range(count)]


class YearArrangement(BaseModel):
    """One year's official arrangement: days off and weekend days worked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holidays: list[dt.date | DateRange] = Field(default_factory=list)
    workdays: list[dt.date | DateRange] = Field(default_factory=list)


class HolidaysFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    years: dict[int, YearArrangement] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dates_in_their_year(self) -> HolidaysFile:
        for year, arrangement in self.years.items():
            off = _expand(arrangement.holidays)
            on = _expand(arrangement.workdays)
            stray = sorted(d for d in off | on if d.year != year)
            if stray:
                raise ValueError(f"year {year} lists dates of another year: {stray[0]}")
            both = sorted(off & on)
            if both:
                raise ValueError(f"{both[0]} is listed both as a holiday and as a workday")
        return self


class DaySource(StrEnum):
    file = "file"  # the admin's holidays file
    library = "chinese_calendar"
    fallback = "weekends-only"  # declared estimate: Monday-Friday


def _expand(items: list[dt.date | DateRange]) -> set[dt.date]:
    days: set[dt.date] = set()
    for item in items:
        days.update(item.days() if isinstance(item, DateRange) else [item])
    return days


class WorkCalendar:
    """Answers "is this a working day" for any date, and adds calendar or working days."""

    def __init__(self, holidays: HolidaysFile | None = None) -> None:
        self._declared: dict[int, tuple[set[dt.date], set[dt.date]]] = {
            year: (_expand(a.holidays), _expand(a.workdays))
            for year, a in (holidays.years if holidays else {}).items()
        }
        self._library_years: dict[int, bool] = {}
        self.fallback_years: set[int] = set()

    @classmethod
    def from_settings(cls) -> WorkCalendar:
        path = get_settings().holidays_file
        return cls(load_holidays(path) if path else None)

    def source(self, year: int) -> DaySource:
        if year in self._declared:
            return DaySource.file
        if year not in self._library_years:
            try:
                chinese_calendar.is_workday(dt.date(year, 6, 1))
                self._library_years[year] = True
            except NotImplementedError:
                self._library_years[year] = False
        if self._library_years[year]:
            return DaySource.library
        if year not in self.fallback_years:
            self.fallback_years.add(year)
            log.warning(
                "%d 年无节假日数据，按周一至周五为工作日估算；请在 holidays_file 中补录 / "
                "no holiday data for %d: counting Monday-Friday as working days; "
                "add the year to the holidays file (settings.holidays_file)",
                year,
                year,
            )
        return DaySource.fallback

    def is_workday(self, day: dt.date) -> bool:
        match self.source(day.year):
            case DaySource.file:
                off, on = self._declared[day.year]
                if day in on:
                    return True
                return day not in off and day.weekday() < 5
            case DaySource.library:
                return bool(chinese_calendar.is_workday(day))
            case DaySource.fallback:
                return day.weekday() < 5

    def add(self, day: dt.date, days: int, unit: DelayUnit) -> dt.date:
        """``day`` moved by ``days`` (negative: back). Working days count only working days:
        ``add(Friday, 1, working)`` is the next working day; 0 leaves ``day`` as it is."""
        if unit is DelayUnit.calendar or days == 0:
            return day + dt.timedelta(days=days)
        step = dt.timedelta(days=1 if days > 0 else -1)
        remaining = abs(days)
        current = day
        while remaining:
            current += step
            if self.is_workday(current):
                remaining -= 1
        return current


def load_holidays(path: Path) -> HolidaysFile:
    try:
        data = YAML(typ="rt").load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as error:
        raise UserError(
            f"找不到节假日文件 / holidays file not found: {path}",
            hint="fix settings.holidays_file (DUALDUTY_HOLIDAYS_FILE) or create the file",
        ) from error
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        location = Location(file=str(path), line=mark.line + 1 if mark else None)
        raise UserError(
            [Problem(message=f"YAML 语法错误 / YAML syntax error: {error}", location=location)]
        ) from error
    try:
        return HolidaysFile.model_validate(data or {})
    except ValidationError as error:
        raise UserError(validation_problems(error, data, file=str(path))) from error
