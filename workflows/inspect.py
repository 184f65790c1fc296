# mypy: disallow-untyped-decorators=False
# (prefect is analysed as Any: see pyproject's override; its decorators keep our signatures)
"""The ``inspect`` Prefect flow: the library pipeline's steps as tasks, plus report artifacts.

Tasks are batched by step (one task per evidence source, one per other step) because each task
costs Prefect 10-20 ms of bookkeeping; per-rule or per-unit tasks would cost more than the
evaluation itself. Tasks take the run handle (ids and labels) and return small reports; the
one large value, the findings, goes from ``evaluate`` to ``reconcile`` in process and is never
persisted by Prefect (``NO_CACHE``: hashing thousands of findings for a cache key costs more
than the work).
"""

from __future__ import annotations

import datetime as dt
import time

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from dualduty.errors import DualdutyError, RunError
from evidence.gather import GatherReport
from models.base import utcnow
from models.inspections import RunCounts
from rules.periods import PeriodKind
from workflows import escalation, pipeline, schedules, summary
from workflows.escalate import advance, deliver
from workflows.packs import load_pack
from workflows.summary import InspectionRequest, InspectionSummary, StepTiming


def _timed(steps: list[StepTiming], name: str, began: float) -> None:
    steps.append(StepTiming(step=name, seconds=round(time.perf_counter() - began, 3)))


@task(name="sync-org", cache_policy=NO_CACHE)
def sync_org(handle: pipeline.RunHandle, org_files: list[str]) -> pipeline.OrgSync:
    return pipeline.sync_org(handle, org_files)


@task(name="gather", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=10)
def gather_source(handle: pipeline.RunHandle, type_name: str) -> GatherReport:
    (report,) = pipeline.gather_types(handle, [type_name])
    return report


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(handle: pipeline.RunHandle) -> pa.Table:
    return pipeline.evaluate(handle)


@task(name="reconcile", cache_policy=NO_CACHE)
def reconcile(handle: pipeline.RunHandle, findings: pa.Table) -> pipeline.CaseChanges:
    return pipeline.reconcile(handle, findings, now=utcnow())


@task(name="publish", cache_policy=NO_CACHE)
def publish(result: InspectionSummary) -> None:
    key = f"inspection-{result.pack}-{result.scope or 'all'}".lower()
    create_markdown_artifact(
        key=_artifact_key(key),
        markdown=summary.markdown(result),
        description=f"检查结果 / inspection {result.pack} {result.period}",
    )
    create_table_artifact(
        key=_artifact_key(f"{key}-failing"),
        table=summary.failing_table(result),
        description=f"不合格 / failing findings {result.pack} {result.period}",
    )


def _artifact_key(text: str) -> str:
    # Prefect keys: lowercase letters, digits and dashes only.
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch == "-") else "-" for ch in text)


def due_period(period_kind: str, offset: int, timezone: str) -> str:
    """The period a scheduled run inspects, from the time it was scheduled for (a late start
    still inspects the period its schedule meant)."""
    scheduled = flow_run.scheduled_start_time
    at = dt.datetime.fromisoformat(str(scheduled)) if scheduled else utcnow()
    return schedules.period_due(
        period=PeriodKind(period_kind), offset=offset, timezone=timezone, now=at
    ).label


@flow(name="inspect", log_prints=True)
def inspect(
    pack: str,
    period: str | None = None,
    scope: str | None = None,
    rules: list[str] | None = None,
    period_kind: str | None = None,
    offset: int = -1,
    timezone: str = "Asia/Shanghai",
    trigger: str = "prefect",
    org_files: list[str] | None = None,
    gather: bool = True,
    escalate_after: bool = True,
    lock_wait_seconds: float = 0.0,
) -> InspectionSummary:
    """Inspect ``pack`` for ``period`` (or, on a schedule, for the period ``period_kind`` and
    ``offset`` name at the scheduled time), then take the due escalation steps. Another run
    of the same pack and scope makes this one wait up to ``lock_wait_seconds``, then fail."""
    logger = get_run_logger()
    if period is None:
        if period_kind is None:
            raise DualdutyError("either period or period_kind must be given")
        period = due_period(period_kind, offset, timezone)
    request = InspectionRequest(pack=pack, period=period, scope=scope, rules=rules, trigger=trigger)
    loaded = load_pack(pack)
    with (
        pipeline.database_errors(),
        pipeline.run_lock(loaded.name, scope, wait_seconds=lock_wait_seconds),
    ):
        handle = pipeline.open_run(request, now=utcnow(), flow_run_id=str(flow_run.id or ""))
        counts = RunCounts()
        steps: list[StepTiming] = []
        try:
            began = time.perf_counter()
            org = sync_org(handle, org_files or [])
            _timed(steps, "sync_org", began)
            counts.units, counts.people = org.units, org.people

            began = time.perf_counter()
            sources = pipeline.gatherable(handle) if gather else []
            reports = [gather_source(handle, name) for name in sources]
            _timed(steps, "gather", began)
            pipeline.count_gathered(counts, reports)

            began = time.perf_counter()
            findings = evaluate(handle)
            _timed(steps, "evaluate", began)
            pipeline.count_findings(counts, findings)

            began = time.perf_counter()
            changes = reconcile(handle, findings)
            _timed(steps, "reconcile", began)
            pipeline.count_cases(counts, changes)
            pipeline.close_run(handle, counts, now=utcnow())
        except BaseException as error:
            pipeline.fail_run(handle, error, now=utcnow())
            if isinstance(error, DualdutyError) or not isinstance(error, Exception):
                raise
            raise RunError(f"检查失败 / inspection failed: {error}") from error
    result = pipeline.build_summary(handle, counts, findings, steps)
    logger.info(
        "run #%d: %d findings, %d fail, %d new cases, %d resolved",
        handle.run_id,
        counts.findings,
        counts.failed,
        counts.cases_opened,
        counts.cases_resolved,
    )
    if escalate_after:
        # The escalate flow's tasks, not the flow as a subflow: a subflow costs ~2 s of
        # bookkeeping here, four times the work of a typical pass.
        report = escalation.combine(advance([handle.pack_path]), deliver())
        # The library's own time: the tasks' bookkeeping is orchestration, not work.
        result.steps.append(StepTiming(step="escalate", seconds=round(report.seconds, 3)))
        result.counts.notifications = report.queued
        pipeline.mark_step(handle, "escalate", result.counts)
    publish(result)
    return result
