"""The scheme file: the sample loads, and every mistake is reported at its line and column."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from assessments.loading import DEFAULT_SCHEME_FILE, load_scheme, parse_scheme
from assessments.scheme import Scheme
from dualduty.errors import UserError

MINIMAL = """\
scheme: test-scheme
version: 1
title: 测试方案
sides:
  business: {title: 业务, base: 50}
  integrity: {title: 党风廉政, base: 50}
deductions:
  - {id: default, title: 其他, match: {}, fail: 1, no_evidence: 0.5}
grades:
  - {name: 好, min: 90}
  - {name: 差, min: 0}
"""


def problems_of(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "scheme.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_scheme(path)
    return [str(p) for p in caught.value.problems]


def test_sample_scheme_loads_with_its_chinese_titles() -> None:
    loaded = load_scheme()
    assert loaded.source == str(DEFAULT_SCHEME_FILE)
    assert [g.name for g in loaded.scheme.grades] == ["好", "较好", "一般", "差"]
    assert loaded.scheme.sides.integrity.title == "党风廉政建设"
    assert {c.kind for c in loaded.scheme.commendations} == {
        "优秀共产党员",
        "优秀党务工作者",
        "先进基层党组织",
    }
    # The 影响期 defaults of docs/domain.md §2, in months.
    periods = loaded.scheme.impact_periods
    assert (periods["警告"], periods["严重警告"], periods["撤销党内职务"], periods["诫勉"]) == (
        12,
        18,
        24,
        6,
    )


def test_module_docstring_example_is_a_valid_scheme() -> None:
    from assessments import scheme as module

    assert module.__doc__ is not None
    example = module.__doc__.split("```yaml\n")[1].split("```")[0]
    loaded = parse_scheme(example)
    assert isinstance(loaded.scheme, Scheme)


def test_hash_is_of_the_text() -> None:
    a = parse_scheme(MINIMAL)
    b = parse_scheme(MINIMAL + "# 注释\n")
    assert a.scheme == b.scheme
    assert a.sha256 != b.sha256  # the stored text is what was scored with, comments included


def test_unknown_key_points_at_the_key_and_suggests_the_right_one(tmp_path: Path) -> None:
    text = MINIMAL.replace("  - {id: default,", "  - {id: default, fial: 2,")
    [problem] = problems_of(text, tmp_path)
    assert "scheme.yaml:8:19" in problem
    assert "fial" in problem
    assert "did you mean 'fail'" in problem


def test_all_problems_at_once_each_with_its_location(tmp_path: Path) -> None:
    text = """\
        scheme: test-scheme
        version: 0
        title: 测试方案
        sides:
          business: {title: 业务, base: 50, max_deduction: 60}
          integrity: {title: 党风廉政, base: fifty}
        deductions:
          - {id: default, title: 其他, match: {side: both}, fail: -1, no_evidence: 0.5}
        grades:
          - {name: 好, min: 90}
          - {name: 差, min: 0}
        """
    problems = problems_of(text, tmp_path)
    joined = "\n".join(problems)
    assert len(problems) == 5, joined
    assert "scheme.yaml:2:10" in joined and "greater than or equal to 1" in joined
    assert "scheme.yaml:5:50" in joined and "exceeds base" in joined
    assert "scheme.yaml:6:34" in joined and "valid decimal" in joined
    assert "scheme.yaml:8:44" in joined and "'business' or 'integrity'" in joined
    assert "scheme.yaml:8:57" in joined and "greater than or equal to 0" in joined


def test_cross_references_are_located(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("  - {name: 差, min: 0}\n", "  - {name: 差, min: 95}\n")
        + """\
blockers:
  - id: impact
    title: 影响期
    kind: decision_in_impact_period
    forms: [警告]
    cap_grade: 较好
"""
    )
    problems = problems_of(text, tmp_path)
    joined = "\n".join(problems)
    assert "scheme.yaml:11:20" in joined and "strictly decreasing" in joined
    assert "start at 0" in joined
    assert "scheme.yaml:17:16" in joined and "unknown grade '较好'" in joined
    assert "scheme.yaml:16:13" in joined and "no impact period" in joined


def test_missing_key_and_duplicate_key(tmp_path: Path) -> None:
    text = MINIMAL.replace("title: 测试方案\n", "").replace(
        "version: 1\n", "version: 1\nversion: 2\n"
    )
    problems = problems_of(text, tmp_path)
    assert any("duplicate key 'version'" in p and "scheme.yaml:3:1" in p for p in problems)


def test_missing_required_key(tmp_path: Path) -> None:
    [problem] = problems_of(MINIMAL.replace("title: 测试方案\n", ""), tmp_path)
    assert "missing required key(s): title" in problem
    assert "scheme.yaml:1:1" in problem


def test_no_evidence_cannot_be_scored_as_perfect(tmp_path: Path) -> None:
    text = MINIMAL + "no_evidence: {without_findings: deduct, deduction: 0}\n"
    [problem] = problems_of(text, tmp_path)
    assert "scheme.yaml:12:14" in problem
    assert "perfect" in problem


def test_unsafe_yaml_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("title: 测试方案", "title: &t 测试方案\nx: *t")
    problems = problems_of(text, tmp_path)
    assert any("anchors are not allowed" in p for p in problems)
    assert any("aliases are not allowed" in p for p in problems)


def test_sample_scheme_runs_after_each_quarter_and_year_and_leaves_drafts() -> None:
    scheme = load_scheme().scheme
    quarterly, yearly = scheme.schedule
    assert not scheme.auto_publish  # publishing is a person's act unless the scheme says so
    shanghai = ZoneInfo("Asia/Shanghai")
    # What the crons say, read by the scheduler's own cron parser: 06:00 on the 10th of the
    # first month of each quarter, and on 15 January.
    after = dt.datetime(2026, 11, 20, tzinfo=shanghai)
    fires = CronTrigger.from_crontab(quarterly.cron, timezone=quarterly.timezone)
    first = fires.get_next_fire_time(None, after)
    second = fires.get_next_fire_time(first, first + dt.timedelta(seconds=1))
    assert [first, second] == [
        dt.datetime(2027, 1, 10, 6, tzinfo=shanghai),
        dt.datetime(2027, 4, 10, 6, tzinfo=shanghai),
    ]
    assert CronTrigger.from_crontab(yearly.cron, timezone=yearly.timezone).get_next_fire_time(
        None, after
    ) == dt.datetime(2027, 1, 15, 6, tzinfo=shanghai)
    # … and which period each firing assesses: the one that just closed.
    assert quarterly.period_for(dt.date(2027, 1, 10)).label == "2026-Q4"
    assert quarterly.period_for(dt.date(2027, 4, 10)).label == "2027-Q1"
    assert quarterly.period_for(dt.date(2026, 10, 12)).label == "2026-Q3"  # caught up late
    assert yearly.period_for(dt.date(2027, 1, 15)).label == "2026"


def test_schedule_mistakes_are_located(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """\
schedule:
  - {cron: "0 6 40 * *", period: quarter}
  - {cron: "0 6 10 1 *", period: fortnight}
"""
    )
    problems = problems_of(text, tmp_path)
    joined = "\n".join(problems)
    assert len(problems) == 2, joined
    assert "scheme.yaml:13:12" in joined and "invalid cron expression" in joined
    assert "scheme.yaml:14:34" in joined and "'month', 'quarter', 'half' or 'year'" in joined


def test_a_schedule_entry_has_no_scope_and_auto_publish_needs_closed_periods(
    tmp_path: Path,
) -> None:
    text = (
        MINIMAL
        + """\
auto_publish: true
schedule:
  - {cron: "0 6 10 1,4,7,10 *", period: quarter}
  - {cron: "0 6 1 * *", period: month, offset: 0, scope: BC-XG}
"""
    )
    problems = problems_of(text, tmp_path)
    joined = "\n".join(problems)
    assert len(problems) == 2, joined
    assert "scheme.yaml:15:48" in joined and "cannot be published" in joined
    assert "scheme.yaml:15:58" in joined and "whole organisation" in joined
    # Without auto_publish, a schedule may assess the period in progress (a draft).
    drafts = parse_scheme(
        MINIMAL + 'schedule:\n  - {cron: "0 6 1 * *", period: month, offset: 0}\n'
    ).scheme
    assert drafts.schedule[0].offset == 0 and not drafts.auto_publish
