"""Backtests compare two pack versions over stored evidence and write nothing."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from dualduty.cli import app
from models.cases import Case
from models.findings import StoredFinding
from models.inspections import InspectionRun
from models.session import session_scope
from rules.periods import Period
from tests.workflows.conftest import World
from workflows import pipeline
from workflows.backtest import backtest, months
from workflows.summary import InspectionRequest

QUARTER = [Period.parse(label) for label in ("2026-01", "2026-02", "2026-03")]


def _store_evidence(world: World, missing: dict[str, set[str]]) -> None:
    """Write the meetings for each month and gather them (one inspection, no escalation)."""
    for period in QUARTER:
        world.write_meetings(period, missing=missing[period.label])
    pipeline.run_inspection(
        InspectionRequest(pack=str(world.pack), period="2026-03"), escalate=False
    )


def _loosened(world: World) -> Path:
    """A new version counting any branch meeting, not only 支委会."""
    text = world.pack.read_text(encoding="utf-8")
    loose = text.replace("where: \"kind = '支委会'\"", "where: \"kind IN ('支委会', '党员大会')\"")
    assert loose != text
    path = world.folder / "branch-meetings-v2.yaml"
    path.write_text(loose.replace("version: 1", "version: 2"), encoding="utf-8")
    return path


def _counts() -> tuple[int, int, int]:
    with session_scope() as session:
        return (
            session.scalar(select(func.count()).select_from(Case)) or 0,
            session.scalar(select(func.count()).select_from(StoredFinding)) or 0,
            session.scalar(select(func.count()).select_from(InspectionRun)) or 0,
        )


def test_a_loosened_rule_removes_exactly_the_planted_failures(sqlite_world: World) -> None:
    world = sqlite_world
    missing = {p.label: set(world.branches[i::5]) for i, p in enumerate(QUARTER)}
    _store_evidence(world, missing)
    before = _counts()

    report = backtest(
        pack=str(_loosened(world)), against=str(world.pack), first="2026-01", last="2026-03"
    )

    planted = sum(len(m) for m in missing.values())
    assert report.periods == ["2026-01", "2026-02", "2026-03"]
    assert report.old is not None and report.old.failed == planted
    assert report.new.failed == 0
    assert report.new.version != report.old.version
    (rule,) = report.by_rule
    assert (rule.key, rule.removed, rule.added) == ("branch-committee-monthly", planted, 0)
    by_unit = {row.key: row.removed for row in report.by_unit}
    for branch in world.branches:
        assert by_unit[branch] == sum(branch in m for m in missing.values())
    assert report.changes_total == planted
    assert {(c.subject_id, c.period) for c in report.changes} == {
        (b, label) for label, m in missing.items() for b in m
    }
    assert _counts() == before  # nothing written: no case, finding or run


def test_the_cli_prints_json_and_tables(sqlite_world: World) -> None:
    world = sqlite_world
    _store_evidence(world, {p.label: {world.branches[0]} for p in QUARTER})
    runner = CliRunner()
    args = ["backtest", "--pack", str(_loosened(world)), "--against", str(world.pack)]
    result = runner.invoke(app, [*args, "--from", "2026-01", "--to", "2026-Q1", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["old"]["failed"] == 3 and data["new"]["failed"] == 0

    table = runner.invoke(app, [*args, "--from", "2026-01", "--to", "2026-03"])
    assert table.exit_code == 0, table.output
    assert "branch-committee-monthly" in table.output and "-3" in table.output

    reversed_range = runner.invoke(app, [*args, "--from", "2026-03", "--to", "2026-01"])
    assert reversed_range.exit_code == 2


def test_months_cover_any_period_labels() -> None:
    assert [p.label for p in months("2025-Q4", "2026-01")] == [
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
    ]
