"""One entry for running an inspection, an escalation pass or an assessment, through Prefect or
without it.

Prefect's temporary server costs several seconds per process (more on a fresh PREFECT_HOME);
an everyday one-off run does about a second of work. So the plain pipeline is the default for
one-off commands, and Prefect is used when asked for or when a server is configured
(``PREFECT_API_URL``), where a flow run costs little and shows up in the UI.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from workflows import pipeline
from workflows.escalation import EscalationReport, run_escalation
from workflows.summary import InspectionRequest, InspectionSummary

if TYPE_CHECKING:
    from assessments.runner import AssessmentBrief

# How long a scheduled run waits for another run of the same pack and scope (or scheme) to finish.
SCHEDULED_LOCK_WAIT_SECONDS = 2 * 3600


def prefect_by_default() -> bool:
    """Prefect when a server is configured; otherwise the plain pipeline."""
    return bool(os.environ.get("PREFECT_API_URL"))


def inspect(
    *,
    pack: str,
    period: str,
    scope: str | None,
    trigger: str,
    use_prefect: bool,
    rules: Sequence[str] | None = None,
    org_files: Sequence[str] = (),
    gather: bool = True,
    escalate: bool = True,
    listener: pipeline.StepListener | None = None,
    lock_wait_seconds: float = 0.0,
) -> InspectionSummary:
    only = list(rules) if rules else None
    request = InspectionRequest(pack=pack, period=period, scope=scope, rules=only, trigger=trigger)
    if use_prefect:
        from workflows.inspect import inspect as inspect_flow

        result: InspectionSummary = inspect_flow(
            pack=pack,
            period=period,
            scope=scope,
            rules=only,
            trigger=trigger,
            org_files=list(org_files),
            gather=gather,
            escalate_after=escalate,
            lock_wait_seconds=lock_wait_seconds,
        )
        return result
    return pipeline.run_inspection(
        request,
        org_files=org_files,
        gather=gather,
        escalate=escalate,
        listener=listener,
        wait_seconds=lock_wait_seconds,
    )


def escalate(*, packs: Sequence[str], trigger: str, use_prefect: bool) -> EscalationReport:
    if use_prefect:
        from workflows.escalate import escalate as escalate_flow

        report: EscalationReport = escalate_flow(packs=list(packs), trigger=trigger)
        return report
    return run_escalation(packs=packs)


def assess(
    *,
    scheme: str,
    packs: Sequence[str],
    period: str,
    out_dir: str | None,
    publish: bool,
    actor: str,
    use_prefect: bool,
    lock_wait_seconds: float = 0.0,
) -> AssessmentBrief:
    if use_prefect:
        from workflows.assess import assess as assess_flow

        brief: AssessmentBrief = assess_flow(
            period=period,
            scheme=scheme,
            packs=list(packs),
            out_dir=out_dir,
            publish=publish,
            actor=actor,
            lock_wait_seconds=lock_wait_seconds,
        )
        return brief
    from workflows import assessing

    return assessing.assess(
        period=period,
        scheme=scheme,
        packs=packs,
        out_dir=out_dir,
        publish=publish,
        actor=actor,
        lock_wait_seconds=lock_wait_seconds,
    ).brief()
