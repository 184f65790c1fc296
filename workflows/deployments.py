# mypy: disallow-untyped-decorators=False
# (prefect is analysed as Any: see pyproject's override; its decorators keep our signatures)
"""Prefect deployments of the same flows, for a Prefect server with workers on other machines.

One ``inspect`` deployment per ``schedule:`` entry of the pack (cron and timezone from the
pack; the period is worked out from each run's scheduled time), one ``assess`` deployment per
entry of the assessment scheme's ``schedule:`` (the same way), and one ``escalate``
deployment on an interval. Deployments name their flow by module path
(``workflows.inspect.inspect``), so a worker needs dualduty installed and nothing pulled: no
image, no code storage. Workers need the application's settings (``DUALDUTY_DATABASE_URL``)
in their environment and the pack (and scheme) files at the same path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from prefect import deploy, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron, Interval
from pydantic import BaseModel

from assessments.loading import load_scheme
from workflows.assess import assess
from workflows.escalate import escalate
from workflows.inspect import inspect
from workflows.packs import load_pack
from workflows.runner import SCHEDULED_LOCK_WAIT_SECONDS
from workflows.schedules import (
    ScheduledAssessment,
    ScheduledInspection,
    scheduled_assessments,
    scheduled_inspections,
)


class Deployed(BaseModel):
    flow: str
    name: str
    schedule: str
    id: UUID

    @property
    def full_name(self) -> str:
        return f"{self.flow}/{self.name}"


def deployment_name(item: ScheduledInspection | ScheduledAssessment) -> str:
    if isinstance(item, ScheduledAssessment):
        return f"{item.scheme_name}-{item.period}{item.offset:+d}"
    return f"{item.pack_name}-{item.scope or 'all'}-{item.period}{item.offset:+d}"


def api_url() -> str | None:
    """The Prefect server deployments go to (environment or Prefect profile); None: none set,
    and a deployment on a temporary server would vanish with it."""
    from prefect.settings import PREFECT_API_URL

    value = PREFECT_API_URL.value()
    return str(value) if value else None


def ensure_pool(name: str) -> bool:
    """Create a process work pool if the server has none of that name; True if created.

    The base job template comes from the installed worker class, not from the internet (which
    ``prefect work-pool create`` tries first, waiting 5 s for a timeout here).
    """
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            pass
        client.create_work_pool(
            WorkPoolCreate(
                name=name,
                type="process",
                base_job_template=ProcessWorker.get_default_base_job_template(),
                description="dualduty inspections, assessments and escalations",
            )
        )
        return True


@dataclass(frozen=True)
class Planned:
    """A deployment to register, with what the CLI shows of it."""

    deployment: RunnerDeployment
    flow: str
    name: str
    schedule: str


def plan_deployments(
    pack_paths: Sequence[str],
    *,
    escalate_every_minutes: int = 60,
    org_files: Sequence[str] = (),
    scheme_path: str | None = None,
    reports_dir: str | None = None,
) -> list[Planned]:
    """The deployments ``deploy_packs`` registers, built locally (no server needed)."""
    packs = [load_pack(path) for path in pack_paths]
    planned = []
    for pack in packs:
        for item in scheduled_inspections(pack.rules, str(pack.path)):
            name = deployment_name(item)
            deployment = inspect.to_deployment(
                name=name,
                description=item.describe(),
                schedules=[Cron(item.cron, timezone=item.timezone)],
                parameters={
                    "pack": item.pack,
                    "scope": item.scope,
                    "period_kind": str(item.period),
                    "offset": item.offset,
                    "timezone": item.timezone,
                    "trigger": "deployment",
                    "lock_wait_seconds": SCHEDULED_LOCK_WAIT_SECONDS,
                    "org_files": list(org_files),
                },
                tags=["dualduty", f"pack:{item.pack_name}"],
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
            planned.append(
                Planned(
                    deployment=deployment,
                    flow="inspect",
                    name=name,
                    schedule=f"{item.cron} {item.timezone}",
                )
            )
    if scheme_path is not None:
        scheme_file = Path(scheme_path).resolve()
        scheme = load_scheme(scheme_file).scheme
        pack_files = [str(p.path) for p in packs]
        for assessment in scheduled_assessments(scheme, str(scheme_file), pack_files):
            name = deployment_name(assessment)
            deployment = assess.to_deployment(
                name=name,
                description=assessment.describe(),
                schedules=[Cron(assessment.cron, timezone=assessment.timezone)],
                parameters={
                    "scheme": assessment.scheme,
                    "packs": assessment.packs,
                    "period_kind": str(assessment.period),
                    "offset": assessment.offset,
                    "timezone": assessment.timezone,
                    # None: the worker's settings decide (DUALDUTY_REPORTS_DIR or DATA_DIR)
                    "out_dir": reports_dir,
                    "publish": assessment.publish,
                    "actor": "deployment",
                    "lock_wait_seconds": SCHEDULED_LOCK_WAIT_SECONDS,
                },
                tags=["dualduty", f"scheme:{assessment.scheme_name}"],
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
            planned.append(
                Planned(
                    deployment=deployment,
                    flow="assess",
                    name=name,
                    schedule=f"{assessment.cron} {assessment.timezone}",
                )
            )
    escalate_name = f"every-{escalate_every_minutes}-min"
    planned.append(
        Planned(
            deployment=escalate.to_deployment(
                name=escalate_name,
                description="升级督办 / advance due cases and deliver notifications",
                schedules=[Interval(dt.timedelta(minutes=escalate_every_minutes))],
                parameters={"packs": [str(p.path) for p in packs], "trigger": "deployment"},
                tags=["dualduty"],
                entrypoint_type=EntrypointType.MODULE_PATH,
            ),
            flow="escalate",
            name=escalate_name,
            schedule=f"every {escalate_every_minutes} min",
        )
    )
    return planned


def deploy_packs(
    pack_paths: Sequence[str],
    *,
    pool: str,
    escalate_every_minutes: int = 60,
    org_files: Sequence[str] = (),
    scheme_path: str | None = None,
    reports_dir: str | None = None,
) -> list[Deployed]:
    """Create or update the packs' deployments, the scheme's and the escalation one on the
    configured Prefect server (``PREFECT_API_URL``). Deploying again updates them in place."""
    planned = plan_deployments(
        pack_paths,
        escalate_every_minutes=escalate_every_minutes,
        org_files=org_files,
        scheme_path=scheme_path,
        reports_dir=reports_dir,
    )
    ids = deploy(
        *(p.deployment for p in planned),
        work_pool_name=pool,
        build=False,
        push=False,
        print_next_steps_message=False,
        ignore_warnings=True,
    )
    return [
        Deployed(flow=p.flow, name=p.name, schedule=p.schedule, id=deployment_id)
        for p, deployment_id in zip(planned, ids, strict=True)
    ]
