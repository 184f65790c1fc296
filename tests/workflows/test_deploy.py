"""``dualduty deploy`` against a real Prefect server on loopback, backed by a fresh PostgreSQL
database, with a real process worker: the inspect deployment runs on the worker and leaves its
run, findings and cases in the application's PostgreSQL database; the assess deployment, run
beside it, writes its draft reports into the worker's data folder.

One test, because the server and worker cost ~15 s together; every process it starts is
stopped on the way out (worker first: once its server is gone it ignores SIGTERM)."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from assessments.loading import DEFAULT_SCHEME_FILE
from models.cases import Case
from models.inspections import InspectionRun, RunState
from models.session import make_engine
from rules.periods import PeriodKind
from tests.conftest import fresh_pg_database
from tests.workflows.conftest import make_world
from tests.workflows.processes import BIN, prefect_env, prefect_server, started
from workflows.schedules import period_due

pytestmark = [pytest.mark.prefect, pytest.mark.postgres]

POOL = "dualduty-test"


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _run_deployments(api: str, names: list[str], *, timeout: float) -> dict[str, str]:
    """Trigger a run of each deployment now and wait for their final states (the REST API
    directly: ``prefect deployment run --watch`` would cost another 3 s of imports). They run
    side by side on the worker, so the second costs little more than the first."""
    final = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
    with httpx.Client(base_url=api, timeout=10) as client:
        runs = {}
        for name in names:
            deployment = client.get(f"/deployments/name/{name}").json()
            created = client.post(f"/deployments/{deployment['id']}/create_flow_run", json={})
            runs[name] = created.json()["id"]
        states: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, run_id in runs.items():
                states[name] = str(client.get(f"/flow_runs/{run_id}").json()["state"]["type"])
            if all(state in final for state in states.values()):
                return states
            time.sleep(0.5)
    raise AssertionError(f"flow runs not finished in {timeout} s: {states}")


def test_deploy_then_a_worker_runs_the_scheduled_inspection_and_assessment(
    pg_fresh_url: str, tmp_path: Path
) -> None:
    world = make_world(pg_fresh_url, tmp_path / "packs")
    due = period_due(
        period=PeriodKind.month, offset=-1, timezone="Asia/Shanghai", now=dt.datetime.now(dt.UTC)
    )
    missing = world.planted()
    world.write_meetings(due, missing=missing)
    quarter = period_due(
        period=PeriodKind.quarter, offset=-1, timezone="Asia/Shanghai", now=dt.datetime.now(dt.UTC)
    )

    home = tmp_path / "prefect-home"
    with fresh_pg_database() as prefect_db:
        server_db = sa.make_url(prefect_db).set(drivername="postgresql+asyncpg")
        with prefect_server(
            database_url=server_db.render_as_string(hide_password=False), home=home, logs=tmp_path
        ) as api:
            env = prefect_env(
                home,
                PREFECT_API_URL=api,
                DUALDUTY_DATABASE_URL=pg_fresh_url,
                DUALDUTY_DATA_DIR=str(tmp_path / "data"),
                COLUMNS="200",
            )
            out = _run(
                [
                    *(str(BIN / "dualduty"), "deploy", "--pack", str(world.pack), "--pool", POOL),
                    *("--scheme", str(DEFAULT_SCHEME_FILE)),
                ],
                env,
            )
            assert "inspect/branch-meetings-all-month-1" in out and POOL in out
            assert "assess/dual-duty-assessment-quarter-1" in out

            deployments = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
            schedules = {d["name"]: [s["schedule"] for s in d["schedules"]] for d in deployments}
            assert schedules["branch-meetings-all-month-1"] == [
                {"cron": "0 6 5 * *", "timezone": "Asia/Shanghai", "day_or": True}
            ]
            assert schedules["every-60-min"][0]["interval"] == 3600.0
            assert schedules["dual-duty-assessment-quarter-1"] == [
                {"cron": "0 6 10 1,4,7,10 *", "timezone": "Asia/Shanghai", "day_or": True}
            ]
            assert schedules["dual-duty-assessment-year-1"][0]["cron"] == "0 6 15 1 *"

            worker_env = env | {"PREFECT_WORKER_QUERY_SECONDS": "1"}
            with started(
                [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process"],
                env=worker_env,
                log=tmp_path / "worker.log",
            ):
                # No period given: the flows work it out from the run's scheduled time, as a
                # cron-triggered run does.
                states = _run_deployments(
                    api,
                    [
                        "inspect/branch-meetings-all-month-1",
                        "assess/dual-duty-assessment-quarter-1",
                    ],
                    timeout=150,
                )
                assert set(states.values()) == {"COMPLETED"}, (tmp_path / "worker.log").read_text(
                    errors="replace"
                )

    engine = make_engine(pg_fresh_url)
    with engine.connect() as conn:
        runs = conn.execute(
            select(InspectionRun.trigger, InspectionRun.period, InspectionRun.state)
        ).all()
        cases = conn.execute(select(Case.subject_id)).scalars().all()
        flow_run_ids = conn.execute(select(InspectionRun.flow_run_id)).scalars().all()
    engine.dispose()
    assert [tuple(run) for run in runs] == [("deployment", due.label, RunState.succeeded.value)]
    assert all(flow_run_ids)
    assert set(cases) == missing
    # No out_dir deployed: the worker's settings chose the folder (DATA_DIR/reports).
    reports = tmp_path / "data" / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        f"assessment-{quarter.label}-draft.html",
        f"assessment-{quarter.label}-draft.xlsx",
    ]
