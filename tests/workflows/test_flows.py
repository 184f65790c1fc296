"""The Prefect flows on a real (temporary) Prefect engine: tasks, artifacts, the escalation
tasks, and the period a scheduled run works out. One test, so one engine (~10-15 s) even where
xdist spreads tests over workers; the logic itself is tested through the library pipeline."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models.inspections import InspectionRun, RunState
from models.session import session_scope
from rules.periods import Period, PeriodKind
from tests.workflows.conftest import World
from workflows.schedules import period_due

pytestmark = [pytest.mark.prefect]

MARCH = Period.parse("2026-03")


def test_the_inspect_flow_runs_the_pipeline_as_tasks_and_publishes_the_report(
    prefect_harness: None, sqlite_world: World
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    from workflows.escalate import escalate
    from workflows.inspect import inspect

    world = sqlite_world
    missing = world.planted()
    world.write_meetings(MARCH, missing=missing)

    summary = inspect(pack=str(world.pack), period=MARCH.label)

    assert summary.counts.failed == len(missing)
    assert summary.counts.cases_opened == len(missing)
    assert {f.subject_id for f in summary.failing} == missing
    assert summary.counts.notifications > 0  # the escalation tasks took the first steps
    assert [s.step for s in summary.steps] == [
        "sync_org",
        "gather",
        "evaluate",
        "reconcile",
        "escalate",
    ]
    with session_scope() as session:
        run = session.get(InspectionRun, summary.run_id)
        assert run is not None and run.state == RunState.succeeded
        assert run.trigger == "prefect" and run.flow_run_id
        flow_run_id = run.flow_run_id

    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
        artifacts = {
            a.key: a
            for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(
                        any_=[
                            "inspection-branch-meetings-all",
                            "inspection-branch-meetings-all-failing",
                        ]
                    )
                )
            )
        }
    # Batched: one task per step and per evidence source, not per rule or unit.
    assert sorted(t.name.rsplit("-", 1)[0] for t in task_runs) == [
        "advance-ladders",
        "deliver-outbox",
        "evaluate",
        "gather",
        "publish",
        "reconcile",
        "sync-org",
    ]
    markdown = artifacts["inspection-branch-meetings-all"].data
    assert isinstance(markdown, str)
    assert (
        f"| branch-committee-monthly | {len(missing)} | 0 | {len(world.branches) - len(missing)} |"
        in markdown
    )
    assert f"新增 new {len(missing)}" in markdown
    table = artifacts["inspection-branch-meetings-all-failing"].data
    assert isinstance(table, str)
    assert all(code in table for code in missing)

    # Escalating again right away finds nothing due: every step was taken once.
    again = escalate(packs=[str(world.pack)])
    assert (again.fired, again.queued) == (0, 0)

    # A scheduled run (no period) inspects the period its schedule names at its scheduled time.
    due = period_due(
        period=PeriodKind.month, offset=-1, timezone="Asia/Shanghai", now=dt.datetime.now(dt.UTC)
    )
    world.write_meetings(due, missing=set())
    scheduled = inspect(pack=str(world.pack), period_kind="month", offset=-1, escalate_after=False)
    assert scheduled.period == due.label
    assert scheduled.counts.passed == len(world.branches)
    with session_scope() as session:
        periods = session.scalars(select(InspectionRun.period).order_by(InspectionRun.id)).all()
    assert periods == [MARCH.label, due.label]
