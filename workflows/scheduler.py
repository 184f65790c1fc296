"""The embedded scheduler: APScheduler 3 on one machine, jobs kept in the application database.

Several ``dualduty scheduler`` processes may be started (by mistake, or as warm standbys); only
the one holding the leader lock runs APScheduler at all, the others wait and take over when it
dies. APScheduler alone would run every job once per process, since each one reads the same job
store. The job store keeps each job's next fire time, so after downtime a missed run is caught up
once (``coalesce``) if it is no older than the misfire grace.

Jobs: one per ``schedule:`` entry of each pack (an inspection), one per entry of the assessment
scheme (an assessment), and the escalation pass. What a job runs is stored (pack or scheme path,
scope, whether to publish); how it runs (through Prefect or the plain pipeline, where reports go)
is this process's choice, so changing it never rewrites jobs or loses a catch-up.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import BaseModel
from sqlalchemy import Engine

from dualduty.errors import DualdutyError
from models.inspections import SCHEDULER_JOBS_TABLE
from models.session import get_engine
from rules.periods import PeriodKind
from workflows import locks, schedules
from workflows.schedules import ScheduledAssessment, ScheduledInspection, ScheduledRun

log = logging.getLogger("dualduty.scheduler")

LEADER_LOCK = "scheduler-leader"
INSPECT_JOB = "workflows.scheduler:run_scheduled_inspection"
ASSESS_JOB = "workflows.scheduler:run_scheduled_assessment"
ESCALATE_JOB = "workflows.scheduler:run_scheduled_escalation"
ESCALATE_JOB_ID = "escalate"


class SchedulerOptions(BaseModel):
    """How this process runs what the job store says to run."""

    use_prefect: bool = True
    org_files: list[str] = []  # HR exports to sync the organisation from before each run
    reports_dir: str | None = None  # assessment reports; None: the settings' reports folder
    escalate_every_minutes: int = 60
    misfire_grace_seconds: int = 3 * 24 * 3600  # a machine down over a weekend still catches up
    poll_seconds: float = 5.0  # how often a standby tries the leader lock
    max_workers: int = 4


# Set by ``serve`` for the jobs it runs; a job function reads it, never the stored job.
_options = SchedulerOptions()


def run_scheduled_inspection(
    pack: str, scope: str | None, period: str, offset: int, timezone: str
) -> None:
    """Job body: inspect the period the schedule entry names for this moment.

    The period is computed when the job runs, not when it was due: a run caught up on the 7th
    instead of the 5th still inspects the previous month.
    """
    from workflows import runner

    due = schedules.period_due(
        period=PeriodKind(period), offset=offset, timezone=timezone, now=dt.datetime.now(dt.UTC)
    )
    try:
        summary = runner.inspect(
            pack=pack,
            period=due.label,
            scope=scope,
            trigger="scheduler",
            use_prefect=_options.use_prefect,
            org_files=_options.org_files,
            lock_wait_seconds=runner.SCHEDULED_LOCK_WAIT_SECONDS,
        )
    except DualdutyError as error:
        # Logged, not raised: APScheduler would only log it again, without our message.
        log.error("inspection %s %s %s failed: %s", pack, due, scope or "*", error)
        return
    log.info(
        "inspection %s %s %s: run #%d, %d findings, %d failed, %d new cases",
        summary.pack,
        summary.period,
        scope or "*",
        summary.run_id,
        summary.counts.findings,
        summary.counts.failed,
        summary.counts.cases_opened,
    )


def run_scheduled_assessment(
    scheme: str, packs: list[str], period: str, offset: int, timezone: str, publish: bool
) -> None:
    """Job body: assess the period the scheme's schedule entry names for this moment (computed
    when the job runs, as for inspections), write the reports, publish only if the scheme says."""
    from workflows import runner

    due = schedules.period_due(
        period=PeriodKind(period), offset=offset, timezone=timezone, now=dt.datetime.now(dt.UTC)
    )
    try:
        brief = runner.assess(
            scheme=scheme,
            packs=packs,
            period=due.label,
            out_dir=_options.reports_dir,
            publish=publish,
            actor="scheduler",
            use_prefect=_options.use_prefect,
            lock_wait_seconds=runner.SCHEDULED_LOCK_WAIT_SECONDS,
        )
    except DualdutyError as error:
        log.error("assessment %s %s failed: %s", scheme, due, error)
        return
    log.info(
        "assessment %s (%s): %s, %d units, %d cadres, %d unrated; reports %s %s",
        brief.period,
        Path(scheme).name,
        brief.status,
        brief.units,
        brief.cadres,
        brief.unrated,
        brief.html,
        brief.xlsx,
    )


def run_scheduled_escalation(packs: list[str]) -> None:
    from workflows import runner

    try:
        report = runner.escalate(packs=packs, trigger="scheduler", use_prefect=_options.use_prefect)
    except DualdutyError as error:
        log.error("escalation failed: %s", error)
        return
    log.info("escalation: %s", report)


def _same_schedule(existing: BaseTrigger, wanted: BaseTrigger) -> bool:
    if isinstance(existing, IntervalTrigger) and isinstance(wanted, IntervalTrigger):
        # An interval trigger's repr carries its start (construction time): compare the period.
        return bool(existing.interval == wanted.interval)
    return repr(existing) == repr(wanted)


def _when(item: ScheduledRun) -> dict[str, object]:
    return {"period": str(item.period), "offset": item.offset, "timezone": item.timezone}


def sync_jobs(
    scheduler: BackgroundScheduler,
    inspections: Iterable[ScheduledInspection],
    options: SchedulerOptions,
    assessments: Iterable[ScheduledAssessment] = (),
) -> list[str]:
    """Make the job store hold exactly these jobs. A job whose schedule and arguments did not
    change is left alone: replacing it would recompute its next fire time and drop a pending
    catch-up. Returns the ids of the jobs added or changed."""
    wanted: dict[str, tuple[str, BaseTrigger, dict[str, object], str]] = {}
    wanted_items = list(inspections)
    for item in wanted_items:
        wanted[item.job_id] = (
            INSPECT_JOB,
            CronTrigger.from_crontab(item.cron, timezone=item.timezone),
            {"pack": item.pack, "scope": item.scope, **_when(item)},
            item.describe(),
        )
    for assessment in assessments:
        wanted[assessment.job_id] = (
            ASSESS_JOB,
            CronTrigger.from_crontab(assessment.cron, timezone=assessment.timezone),
            {
                "scheme": assessment.scheme,
                "packs": assessment.packs,
                **_when(assessment),
                "publish": assessment.publish,
            },
            assessment.describe(),
        )
    wanted[ESCALATE_JOB_ID] = (
        ESCALATE_JOB,
        IntervalTrigger(minutes=options.escalate_every_minutes, timezone=dt.UTC),
        {"packs": sorted({item.pack for item in wanted_items})},
        f"escalate every {options.escalate_every_minutes} min",
    )
    changed: list[str] = []
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            log.info("removing job %s (no longer configured)", job.id)
            job.remove()
    for job_id, (func, trigger, kwargs, name) in wanted.items():
        existing = scheduler.get_job(job_id)
        if (
            existing is not None
            and existing.func_ref == func
            and existing.kwargs == kwargs
            and _same_schedule(existing.trigger, trigger)
        ):
            continue
        scheduler.add_job(
            func, trigger=trigger, id=job_id, name=name, kwargs=kwargs, replace_existing=True
        )
        changed.append(job_id)
    return changed


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]  # apscheduler is untyped
    """APScheduler 3.11's loop processes due jobs once more after ``shutdown()`` (the wake-up
    that ends the loop runs ``_process_jobs`` first). A job due at that moment is handed to the
    stopped executor, fails to start, and is still marked as run: its run would be lost. A
    stopped scheduler must leave due jobs for the next leader."""

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        wait: float | None = super()._process_jobs()
        return wait


def build_scheduler(engine: Engine, options: SchedulerOptions) -> BackgroundScheduler:
    return _Scheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=SCHEDULER_JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=options.max_workers)},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": options.misfire_grace_seconds,
            "max_instances": 1,
        },
        timezone=dt.UTC,
    )


def serve(
    inspections: list[ScheduledInspection],
    *,
    options: SchedulerOptions,
    stop: threading.Event,
    engine: Engine | None = None,
    assessments: list[ScheduledAssessment] | None = None,
) -> None:
    """Run until ``stop`` is set: wait for the leader lock, then schedule while holding it."""
    global _options
    _options = options
    engine = engine or get_engine()
    announced_standby = False
    while not stop.is_set():
        lock = locks.try_acquire(engine, LEADER_LOCK)
        if lock is None:
            if not announced_standby:
                log.info("standby: another scheduler holds the leader lock; waiting")
                announced_standby = True
            stop.wait(options.poll_seconds)
            continue
        log.info(
            "leader: running %d scheduled inspections and %d scheduled assessments",
            len(inspections),
            len(assessments or []),
        )
        scheduler = build_scheduler(engine, options)
        try:
            # Paused first: jobs are reconciled with the configuration before anything fires.
            scheduler.start(paused=True)
            for job_id in sync_jobs(scheduler, inspections, options, assessments or []):
                log.info("job %s added or changed", job_id)
            for job in scheduler.get_jobs():
                log.info("job %s next at %s", job.id, job.next_run_time)
            scheduler.resume()
            while not stop.is_set() and lock.alive():
                stop.wait(options.poll_seconds)
            if not stop.is_set():
                log.warning("leader lock lost (database connection dropped); stepping down")
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=True)
            lock.release()
        announced_standby = False
