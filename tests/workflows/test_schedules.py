"""A pack's schedule entries become jobs, and each firing inspects the period it names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rules.periods import PeriodKind
from workflows.packs import load_pack
from workflows.schedules import period_due, scheduled_inspections

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.mark.parametrize(
    ("now", "kind", "offset", "expected"),
    [
        # 06:00 on 5 April in Shanghai is still 4 April in UTC: the local date decides.
        (dt.datetime(2026, 4, 4, 22, 0, tzinfo=dt.UTC), PeriodKind.month, -1, "2026-03"),
        (dt.datetime(2026, 1, 5, 0, 0, tzinfo=dt.UTC), PeriodKind.month, -1, "2025-12"),
        (dt.datetime(2026, 4, 5, 0, 0, tzinfo=dt.UTC), PeriodKind.quarter, -1, "2026-Q1"),
        (dt.datetime(2026, 4, 5, 0, 0, tzinfo=dt.UTC), PeriodKind.month, 0, "2026-04"),
        (dt.datetime(2026, 7, 10, 0, 0, tzinfo=dt.UTC), PeriodKind.half, -1, "2026-H1"),
    ],
)
def test_a_run_inspects_the_period_its_schedule_names_in_local_time(
    now: dt.datetime, kind: PeriodKind, offset: int, expected: str
) -> None:
    assert period_due(period=kind, offset=offset, timezone="Asia/Shanghai", now=now).label == (
        expected
    )


def test_each_schedule_entry_of_a_pack_is_one_job() -> None:
    pack = load_pack(FIXTURES / "branch-meetings.yaml")
    (item,) = scheduled_inspections(pack.rules, str(pack.path))
    assert item.pack == str(pack.path)
    assert (item.cron, item.timezone, item.period, item.offset) == (
        "0 6 5 * *",
        "Asia/Shanghai",
        PeriodKind.month,
        -1,
    )
    assert item.job_id == "inspect:branch-meetings:*:month-1"
    assert "0 6 5 * *" in item.describe()
