"""Assessment periods: month, quarter, half-year, year.

Labels are what people type and what cases are keyed by: ``2026-03``, ``2026-Q1``,
``2026-H1``, ``2026``. Every period is a closed date range [start, end].
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from dualduty.errors import UserError


class PeriodKind(StrEnum):
    month = "month"
    quarter = "quarter"
    half = "half"
    year = "year"


_LABEL = re.compile(r"^(?P<y>\d{4})(?:-(?:(?P<m>\d{1,2})|Q(?P<q>[1-4])|H(?P<h>[12])))?$")
_MONTHS_PER = {PeriodKind.month: 1, PeriodKind.quarter: 3, PeriodKind.half: 6, PeriodKind.year: 12}


class Period(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: PeriodKind
    start: dt.date
    end: dt.date  # inclusive

    @property
    def label(self) -> str:
        y = self.start.year
        match self.kind:
            case PeriodKind.month:
                return f"{y}-{self.start.month:02d}"
            case PeriodKind.quarter:
                return f"{y}-Q{(self.start.month - 1) // 3 + 1}"
            case PeriodKind.half:
                return f"{y}-H{(self.start.month - 1) // 6 + 1}"
            case PeriodKind.year:
                return str(y)

    def __str__(self) -> str:
        return self.label

    @classmethod
    def of(cls, kind: PeriodKind, year: int, index: int = 1) -> Period:
        """The ``index``-th period of ``kind`` in ``year`` (1-based)."""
        months = _MONTHS_PER[kind]
        if not 1 <= index <= 12 // months:
            raise UserError(f"{kind} index {index} out of range for {year}")
        first_month = (index - 1) * months + 1
        start = dt.date(year, first_month, 1)
        return cls(kind=kind, start=start, end=_add_months(start, months) - dt.timedelta(days=1))

    @classmethod
    def parse(cls, label: str) -> Period:
        """Parse ``2026-03``, ``2026-Q1``, ``2026-H1`` or ``2026``."""
        m = _LABEL.match(label.strip())
        if not m or (m["m"] is not None and not 1 <= int(m["m"]) <= 12):
            raise UserError(
                f"无法识别的期间 / unrecognised period {label!r}",
                hint="use 2026-03 (month), 2026-Q1 (quarter), 2026-H1 (half-year) or 2026 (year)",
            )
        year = int(m["y"])
        if m["m"]:
            return cls.of(PeriodKind.month, year, int(m["m"]))
        if m["q"]:
            return cls.of(PeriodKind.quarter, year, int(m["q"]))
        if m["h"]:
            return cls.of(PeriodKind.half, year, int(m["h"]))
        return cls.of(PeriodKind.year, year)

    @classmethod
    def containing(cls, day: dt.date, kind: PeriodKind) -> Period:
        months = _MONTHS_PER[kind]
        return cls.of(kind, day.year, (day.month - 1) // months + 1)

    def previous(self) -> Period:
        return Period.containing(self.start - dt.timedelta(days=1), self.kind)

    def next(self) -> Period:
        return Period.containing(self.end + dt.timedelta(days=1), self.kind)

    def within(self, kind: PeriodKind) -> Iterator[Period]:
        """The periods of a finer ``kind`` that make up this one (a year's 12 months)."""
        if _MONTHS_PER[kind] > _MONTHS_PER[self.kind]:
            raise UserError(f"a {self.kind} cannot be split into {kind}s")
        current = Period.containing(self.start, kind)
        while current.start <= self.end:
            yield current
            current = current.next()

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.month - 1 + months
    return dt.date(day.year + total // 12, total % 12 + 1, 1)
