"""Schema pieces that are not rules: schedule, periods with deadlines, bilingual text."""

from __future__ import annotations

import datetime as dt

import pytest

from dualduty.errors import UserError
from rules.compiler import load_pack_text
from rules.parts import Bilingual, PeriodSpec
from rules.periods import Period, PeriodKind
from rules.schema import Schedule
from tests.rules.helpers import pack_text
from tests.rules.test_engine import COMMITTEE


@pytest.mark.parametrize(
    ("period", "offset", "run", "expected"),
    [
        (PeriodKind.month, -1, dt.date(2026, 4, 5), "2026-03"),
        (PeriodKind.month, -1, dt.date(2026, 1, 5), "2025-12"),
        (PeriodKind.quarter, -1, dt.date(2026, 4, 5), "2026-Q1"),
        (PeriodKind.quarter, 0, dt.date(2026, 4, 5), "2026-Q2"),
        (PeriodKind.year, -1, dt.date(2026, 1, 31), "2025"),
    ],
)
def test_schedule_names_the_inspected_period(
    period: PeriodKind, offset: int, run: dt.date, expected: str
) -> None:
    schedule = Schedule(cron="0 6 5 * *", period=period, offset=offset)
    assert schedule.period_for(run).label == expected


def test_bad_cron_is_a_located_problem() -> None:
    text = pack_text(COMMITTEE, extra="schedule:\n  - cron: '0 6 32 * *'\n    period: month\n")
    with pytest.raises(UserError) as caught:
        load_pack_text(text, file="p.yaml")
    (problem,) = caught.value.problems
    assert problem.field == "schedule[0].cron"
    assert "invalid cron expression" in problem.message
    assert problem.location is not None
    assert problem.location.line == text.splitlines().index("  - cron: '0 6 32 * *'") + 1


def test_deadlines_and_grace() -> None:
    spec = PeriodSpec.parse("02-29")
    assert spec.kind is PeriodKind.year
    assert spec.due(Period.parse("2026"), 0) == dt.date(2026, 2, 28)  # clamped in a common year
    assert spec.due(Period.parse("2028"), 3) == dt.date(2028, 3, 3)
    assert PeriodSpec.parse("month").due(Period.parse("2026-03"), 15) == dt.date(2026, 4, 15)
    assert PeriodSpec.parse("none").kind is None


def test_bilingual_text() -> None:
    assert str(Bilingual.model_validate("支委会")) == "支委会"
    assert str(Bilingual(zh="支委会", en="committee")) == "支委会 / committee"
