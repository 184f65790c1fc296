"""The job store holds exactly the configured jobs, and re-syncing never drops a pending catch-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from rules.periods import PeriodKind
from workflows.scheduler import (
    ASSESS_JOB,
    ESCALATE_JOB_ID,
    SchedulerOptions,
    build_scheduler,
    sync_jobs,
)
from workflows.schedules import ScheduledAssessment, ScheduledInspection

ITEM = ScheduledInspection(
    pack="/packs/branch-meetings.yaml",
    pack_name="branch-meetings",
    cron="0 6 5 * *",
    timezone="Asia/Shanghai",
    period=PeriodKind.month,
    offset=-1,
    scope=None,
)
ASSESSMENT = ScheduledAssessment(
    scheme="/packs/assessment.yaml",
    scheme_name="dual-duty-assessment",
    packs=["/packs/branch-meetings.yaml"],
    publish=False,
    cron="0 6 10 1,4,7,10 *",
    timezone="Asia/Shanghai",
    period=PeriodKind.quarter,
    offset=-1,
)
OPTIONS = SchedulerOptions(escalate_every_minutes=30)


@pytest.fixture
def paused(engine: Engine) -> Iterator[BackgroundScheduler]:
    scheduler = build_scheduler(engine, OPTIONS)
    scheduler.start(paused=True)
    yield scheduler
    scheduler.shutdown(wait=False)


def test_jobs_follow_the_configuration(paused: BackgroundScheduler) -> None:
    assert sorted(sync_jobs(paused, [ITEM], OPTIONS)) == sorted([ITEM.job_id, ESCALATE_JOB_ID])
    job = paused.get_job(ITEM.job_id)
    assert job is not None
    assert job.kwargs == {
        "pack": ITEM.pack,
        "scope": None,
        "period": "month",
        "offset": -1,
        "timezone": "Asia/Shanghai",
    }
    local = job.next_run_time.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert (local.day, local.hour, local.minute) == (5, 6, 0)

    # Unchanged configuration: nothing is rewritten.
    assert sync_jobs(paused, [ITEM], OPTIONS) == []

    # A new cron replaces the job; a pack no longer configured loses its job (and the escalation
    # job, which carries the packs' ladders, changes with the list of packs).
    moved = ITEM.model_copy(update={"cron": "30 7 6 * *"})
    assert sync_jobs(paused, [moved], OPTIONS) == [ITEM.job_id]
    assert sync_jobs(paused, [], OPTIONS) == [ESCALATE_JOB_ID]
    assert [j.id for j in paused.get_jobs()] == [ESCALATE_JOB_ID]


def test_a_missed_run_survives_a_restart_with_the_same_configuration(engine: Engine) -> None:
    first = build_scheduler(engine, OPTIONS)
    first.start(paused=True)
    sync_jobs(first, [ITEM], OPTIONS)
    missed = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    first.modify_job(ITEM.job_id, next_run_time=missed)
    first.shutdown(wait=False)

    second = build_scheduler(engine, OPTIONS)
    second.start(paused=True)
    try:
        assert sync_jobs(second, [ITEM], OPTIONS) == []
        job = second.get_job(ITEM.job_id)
        assert job is not None
        assert abs(job.next_run_time - missed) < dt.timedelta(seconds=1)
    finally:
        second.shutdown(wait=False)


def test_assessment_jobs_sit_beside_the_inspections(paused: BackgroundScheduler) -> None:
    assert sorted(sync_jobs(paused, [ITEM], OPTIONS, [ASSESSMENT])) == sorted(
        [ITEM.job_id, ASSESSMENT.job_id, ESCALATE_JOB_ID]
    )
    job = paused.get_job(ASSESSMENT.job_id)
    assert job is not None
    assert job.func_ref == ASSESS_JOB
    assert job.kwargs == {
        "scheme": "/packs/assessment.yaml",
        "packs": ["/packs/branch-meetings.yaml"],
        "period": "quarter",
        "offset": -1,
        "timezone": "Asia/Shanghai",
        "publish": False,
    }
    local = job.next_run_time.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert (local.month % 3, local.day, local.hour, local.minute) == (1, 10, 6, 0)
    # The escalation pass is the packs' business: the scheme does not change it.
    escalate = paused.get_job(ESCALATE_JOB_ID)
    assert escalate is not None and escalate.kwargs == {"packs": [ITEM.pack]}

    assert sync_jobs(paused, [ITEM], OPTIONS, [ASSESSMENT]) == []
    # The scheme now publishes: the stored job says so.
    publishing = ASSESSMENT.model_copy(update={"publish": True})
    assert sync_jobs(paused, [ITEM], OPTIONS, [publishing]) == [ASSESSMENT.job_id]
    # No --scheme any more: its jobs go, the inspection's stay.
    assert sync_jobs(paused, [ITEM], OPTIONS) == []
    assert sorted(j.id for j in paused.get_jobs()) == sorted([ITEM.job_id, ESCALATE_JOB_ID])
