"""Two ``dualduty scheduler`` processes on one database: a missed run (an inspection, an
assessment) is caught up exactly once, one process leads and the other stands by, and the standby
takes over when the leader stops."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import Engine, select

from assessments.loading import DEFAULT_SCHEME_FILE, load_scheme
from models.inspections import InspectionRun, RunState
from models.session import session_scope
from rules.periods import PeriodKind
from tests.workflows.conftest import World
from tests.workflows.processes import started, stop
from workflows.packs import load_pack
from workflows.scheduler import SchedulerOptions, build_scheduler, sync_jobs
from workflows.schedules import period_due, scheduled_assessments, scheduled_inspections

DUALDUTY = str(Path(sys.executable).parent / "dualduty")


def _miss_last_runs(engine: Engine, world: World) -> None:
    """Register the pack's job and the scheme's quarterly one as a scheduler that went down
    before their last fire times would, with the arguments ``dualduty scheduler`` gives them."""
    pack = load_pack(world.pack)
    items = scheduled_inspections(pack.rules, str(pack.path))
    assessments = scheduled_assessments(
        load_scheme(DEFAULT_SCHEME_FILE).scheme, str(DEFAULT_SCHEME_FILE), [str(pack.path)]
    )
    scheduler = build_scheduler(engine, SchedulerOptions())
    scheduler.start(paused=True)
    sync_jobs(scheduler, items, SchedulerOptions(), assessments)
    missed = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    scheduler.modify_job(items[0].job_id, next_run_time=missed)
    scheduler.modify_job(assessments[0].job_id, next_run_time=missed)
    scheduler.shutdown(wait=False)


def _runs() -> list[InspectionRun]:
    with session_scope() as session:
        return list(session.scalars(select(InspectionRun).order_by(InspectionRun.id)))


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_schedulers_run_a_missed_job_once_and_hand_over(
    world: World, engine: Engine, tmp_path: Path
) -> None:
    due = period_due(
        period=PeriodKind.month, offset=-1, timezone="Asia/Shanghai", now=dt.datetime.now(dt.UTC)
    )
    world.write_meetings(due, missing=world.planted())
    _miss_last_runs(engine, world)
    quarter = period_due(
        period=PeriodKind.quarter, offset=-1, timezone="Asia/Shanghai", now=dt.datetime.now(dt.UTC)
    )
    reports = tmp_path / "data" / "reports"

    env = os.environ | {
        "DUALDUTY_DATABASE_URL": world.url,
        "DUALDUTY_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
        "PYTHONUNBUFFERED": "1",
    }
    args = [
        *(DUALDUTY, "scheduler", "--pack", str(world.pack), "--no-prefect", "--poll", "0.5"),
        *("--scheme", str(DEFAULT_SCHEME_FILE)),
    ]
    logs = [tmp_path / "scheduler-a.log", tmp_path / "scheduler-b.log"]
    with ExitStack() as stack:
        processes = [stack.enter_context(started(args, env=env, log=log)) for log in logs]

        _wait(lambda: any(r.state == RunState.succeeded for r in _runs()), 60, "the catch-up run")
        draft = reports / f"assessment-{quarter.label}-draft.xlsx"
        _wait(draft.exists, 60, "the caught-up assessment's reports")
        # Give the other scheduler time to do it again, were it able to.
        time.sleep(3)
        runs = _runs()
        assert [(r.period, r.state, r.trigger) for r in runs] == [
            (due.label, RunState.succeeded, "scheduler")
        ]
        assert runs[0].run_counts.failed == len(world.planted())

        texts = [log.read_text(errors="replace") for log in logs]
        leaders = [i for i, text in enumerate(texts) if "leader:" in text]
        standbys = [i for i, text in enumerate(texts) if "standby:" in text]
        assert len(leaders) == 1 and standbys == [1 - leaders[0]], texts
        assessed = f"assessment {quarter.label} (assessment.yaml): draft"
        assert [text.count(assessed) for text in texts] == [
            1 if i == leaders[0] else 0 for i in range(2)
        ], texts

        stop(processes[leaders[0]])
        other = logs[standbys[0]]
        _wait(lambda: "leader:" in other.read_text(errors="replace"), 20, "the standby to lead")
        time.sleep(2)
        assert len(_runs()) == 1  # the caught-up jobs are not due again after the hand-over
        assert assessed not in other.read_text(errors="replace")
