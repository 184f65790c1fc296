"""A pack's schedule entries become jobs, and each firing inspects the period it names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rules.periods import PeriodKind
from workflows.packs import load_pack
from workflows.schedules import period_due, scheduled_assessments, scheduled_inspections

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


def test_each_schedule_entry_of_the_assessment_scheme_is_one_job() -> None:
    from assessments.loading import DEFAULT_SCHEME_FILE, load_scheme

    packs = [str(FIXTURES / "branch-meetings.yaml")]
    quarterly, yearly = scheduled_assessments(load_scheme().scheme, str(DEFAULT_SCHEME_FILE), packs)
    assert (quarterly.scheme, quarterly.packs, quarterly.publish) == (
        str(DEFAULT_SCHEME_FILE),
        packs,
        False,
    )
    assert quarterly.job_id == "assess:dual-duty-assessment:quarter-1"
    assert yearly.job_id == "assess:dual-duty-assessment:year-1"
    assert "0 6 10 1,4,7,10 *" in quarterly.describe() and "草稿 / draft" in quarterly.describe()
    # 06:00 on 10 January in Shanghai is 9 January in UTC: still the quarter just closed.
    fired = dt.datetime(2027, 1, 9, 22, 0, tzinfo=dt.UTC)
    assert quarterly.due(fired).label == "2026-Q4"
    assert yearly.due(fired + dt.timedelta(days=5)).label == "2026"
