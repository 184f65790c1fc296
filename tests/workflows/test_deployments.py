"""The deployments ``dualduty deploy`` registers, built locally: no Prefect server is started
(``test_deploy.py`` registers them on a real one and runs the inspection through a worker)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from prefect.client.schemas.schedules import CronSchedule

from assessments.loading import DEFAULT_SCHEME_FILE
from workflows.assess import assess
from workflows.deployments import plan_deployments
from workflows.inspect import due_period
from workflows.runner import SCHEDULED_LOCK_WAIT_SECONDS

PACK = Path(__file__).with_name("fixtures") / "branch-meetings.yaml"


def test_the_schemes_schedule_becomes_assess_deployments() -> None:
    planned = plan_deployments(
        [str(PACK)], scheme_path=str(DEFAULT_SCHEME_FILE), reports_dir="/srv/reports"
    )
    by_name = {f"{p.flow}/{p.name}": p for p in planned}
    assert list(by_name) == [
        "inspect/branch-meetings-all-month-1",
        "assess/dual-duty-assessment-quarter-1",
        "assess/dual-duty-assessment-year-1",
        "escalate/every-60-min",
    ]
    quarterly = by_name["assess/dual-duty-assessment-quarter-1"]
    assert quarterly.schedule == "0 6 10 1,4,7,10 * Asia/Shanghai"
    deployment = quarterly.deployment
    # Named by module, like the inspections: workers import it from the installed dualduty.
    assert deployment.entrypoint == "workflows.assess.assess"
    assert [s.schedule for s in deployment.schedules] == [
        CronSchedule(cron="0 6 10 1,4,7,10 *", timezone="Asia/Shanghai")
    ]
    # No period: each run works it out from its scheduled time.
    assert deployment.parameters == {
        "scheme": str(DEFAULT_SCHEME_FILE),
        "packs": [str(PACK.resolve())],
        "period_kind": "quarter",
        "offset": -1,
        "timezone": "Asia/Shanghai",
        "out_dir": "/srv/reports",
        "publish": False,
        "actor": "deployment",
        "lock_wait_seconds": SCHEDULED_LOCK_WAIT_SECONDS,
    }
    assess.validate_parameters(deployment.parameters)  # the flow accepts exactly these
    assert "scheme:dual-duty-assessment" in deployment.tags
    yearly = by_name["assess/dual-duty-assessment-year-1"].deployment
    assert [s.schedule.cron for s in yearly.schedules] == ["0 6 15 1 *"]
    assert yearly.parameters["period_kind"] == "year"


def test_no_scheme_no_assessment_and_reports_follow_the_workers_settings() -> None:
    assert [p.flow for p in plan_deployments([str(PACK)])] == ["inspect", "escalate"]
    planned = plan_deployments([str(PACK)], scheme_path=str(DEFAULT_SCHEME_FILE))
    assert {p.deployment.parameters["out_dir"] for p in planned if p.flow == "assess"} == {None}


@pytest.mark.parametrize(
    ("scheduled", "kind", "expected"),
    [
        ("2027-01-09T22:00:00+00:00", "quarter", "2026-Q4"),  # 10 January 06:00 in Shanghai
        ("2027-01-14T22:00:00+00:00", "year", "2026"),
        ("2026-07-09T22:00:00+00:00", "quarter", "2026-Q2"),
    ],
)
def test_a_scheduled_run_assesses_the_period_named_at_its_scheduled_time(
    monkeypatch: pytest.MonkeyPatch, scheduled: str, kind: str, expected: str
) -> None:
    # What prefect.runtime gives a flow run of the deployment: its scheduled start time.
    monkeypatch.setattr(
        "workflows.inspect.flow_run", SimpleNamespace(scheduled_start_time=scheduled)
    )
    assert due_period(kind, -1, "Asia/Shanghai") == expected
