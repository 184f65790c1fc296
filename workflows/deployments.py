# mypy: disallow-untyped-decorators=False
# (prefect is analysed as Any: see pyproject's override; its decorators keep our signatures)
"""Prefect deployments of the same flows, for a Prefect server with workers on other machines.

One ``inspect`` deployment per ``schedule:`` entry of the pack (cron and timezone from the
pack; the period is worked out from each run's scheduled time), and one ``escalate``
deployment on an interval. Deployments name their flow by module path
(``workflows.inspect.inspect``), so a worker needs dualduty installed and nothing pulled: no
image, no code storage. Workers need the application's settings (``DUALDUTY_DATABASE_URL``)
in their environment and the pack file at the same path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from uuid import UUID

from prefect import deploy, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import EntrypointType
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron, Interval
from pydantic import BaseModel

from workflows.escalate import escalate
from workflows.inspect import inspect
from workflows.packs import load_pack
from workflows.runner import SCHEDULED_LOCK_WAIT_SECONDS
from workflows.schedules import ScheduledInspection, scheduled_inspections


class Deployed(BaseModel):
    flow: str
    name: str
    schedule: str
    id: UUID

    @property
    def full_name(self) -> str:
        return f"{self.flow}/{self.name}"


def deployment_name(item: ScheduledInspection) -> str:
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
                description="dualduty inspections and escalations",
            )
        )
        return True


def deploy_packs(
    pack_paths: Sequence[str],
    *,
    pool: str,
    escalate_every_minutes: int = 60,
    org_files: Sequence[str] = (),
) -> list[Deployed]:
    """Create or update the packs' deployments and the escalation one on the configured
    Prefect server (``PREFECT_API_URL``). Deploying again updates them in place."""
    packs = [load_pack(path) for path in pack_paths]
    deployments = []
    described = []
    for pack in packs:
        for item in scheduled_inspections(pack.rules, str(pack.path)):
            name = deployment_name(item)
            deployments.append(
                inspect.to_deployment(
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
            )
            described.append(("inspect", name, f"{item.cron} {item.timezone}"))
    escalate_name = f"every-{escalate_every_minutes}-min"
    deployments.append(
        escalate.to_deployment(
            name=escalate_name,
            description="升级督办 / advance due cases and deliver notifications",
            schedules=[Interval(dt.timedelta(minutes=escalate_every_minutes))],
            parameters={"packs": [str(p.path) for p in packs], "trigger": "deployment"},
            tags=["dualduty"],
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    )
    described.append(("escalate", escalate_name, f"every {escalate_every_minutes} min"))
    ids = deploy(
        *deployments,
        work_pool_name=pool,
        build=False,
        push=False,
        print_next_steps_message=False,
        ignore_warnings=True,
    )
    return [
        Deployed(flow=flow_name, name=name, schedule=schedule, id=deployment_id)
        for (flow_name, name, schedule), deployment_id in zip(described, ids, strict=True)
    ]
