# mypy: disallow-untyped-decorators=False
# (prefect is analysed as Any: see pyproject's override; its decorators keep our signatures)
"""The ``assess`` Prefect flow: the library's ``assess_period`` plus a Markdown artifact.

Thin on purpose: scoring, storing and reporting are library code (``assessments``, and
``workflows.assessing`` for the run lock), so the CLI and the embedded scheduler give the same
result without Prefect. Scheduled like inspections (``workflows.deployments``): on a schedule,
``period_kind`` and ``offset`` name the period at the scheduled time (offset -1: the one that
just closed).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from assessments.reports import summary_markdown
from assessments.runner import AssessmentBrief, AssessmentRun
from workflows import assessing
from workflows.inspect import due_period


@task(name="publish-assessment-artifact", cache_policy=NO_CACHE)
def publish_artifact(run: AssessmentRun) -> None:
    period = run.outcome.result.period
    key = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in period.lower())
    create_markdown_artifact(
        key=f"assessment-{key}",
        markdown=summary_markdown(run.outcome),
        description=f"一岗双责考核 / assessment {period}",
    )


@flow(name="assess", log_prints=True)
def assess(
    period: str | None = None,
    period_kind: str | None = None,
    offset: int = -1,
    timezone: str = "Asia/Shanghai",
    scheme: str | None = None,
    packs: list[str] | None = None,
    out_dir: str | None = None,
    publish: bool = False,
    actor: str = "prefect:assess",
    lock_wait_seconds: float = 0.0,
) -> AssessmentBrief:
    """Assess ``period`` (or the period ``period_kind``/``offset`` name at the scheduled time),
    write the reports to ``out_dir`` (default: the settings' reports folder), publish them as an
    artifact; with ``publish`` store the period's version. Another assessment of the same scheme
    makes this one wait up to ``lock_wait_seconds``, then fail."""
    if period is None:
        if period_kind is None:
            raise ValueError("either period or period_kind must be given")
        period = due_period(period_kind, offset, timezone)
    run = assessing.assess(
        period=period,
        scheme=scheme,
        packs=packs or [],
        out_dir=out_dir,
        publish=publish,
        actor=actor,
        lock_wait_seconds=lock_wait_seconds,
    )
    publish_artifact(run)
    brief = run.brief()
    get_run_logger().info(
        "assessment %s: %s, %d units, %d cadres, %d unrated, %d shortlisted",
        brief.period,
        brief.status,
        brief.units,
        brief.cadres,
        brief.unrated,
        brief.shortlisted,
    )
    return brief
