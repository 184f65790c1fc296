# mypy: disallow-untyped-decorators=False
# (prefect is analysed as Any: see pyproject's override; its decorators keep our signatures)
"""The ``escalate`` Prefect flow: take every due ladder step, then deliver the outbox.

Runs on its own schedule (deployment or embedded scheduler) and as a subflow after each
inspection. Two tasks, because the halves fail differently: advancing is database work in
batches, delivery talks to channels that may be down (it retries per message itself).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from models.base import utcnow
from workflows import escalation
from workflows.escalation import EscalationReport


@task(name="advance-ladders", cache_policy=NO_CACHE)
def advance(packs: list[str]) -> EscalationReport:
    return escalation.advance(packs=packs, now=utcnow())


@task(name="deliver-outbox", cache_policy=NO_CACHE)
def deliver() -> EscalationReport:
    return escalation.deliver()


@flow(name="escalate")
def escalate(packs: list[str] | None = None, trigger: str = "prefect") -> EscalationReport:
    """Advance every due case up its ladder and deliver what is queued. ``packs`` supply
    their own ladders and rule titles besides the shipped ladders."""
    advanced: EscalationReport = advance(packs or [])
    delivered: EscalationReport = deliver()
    report = escalation.combine(advanced, delivered)
    get_run_logger().info("escalation (%s): %s", trigger, report)
    for failure in report.failures:
        get_run_logger().warning("skipped: %s", failure)
    return report
