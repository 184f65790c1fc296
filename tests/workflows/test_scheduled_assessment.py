"""The embedded scheduler runs the assessment scheme's schedule: a missed quarterly run is caught
up, assesses the quarter that closed before it, and writes its reports; a draft unless the
scheme publishes on its own. In process, on SQLite, without Prefect (``test_two_schedulers.py``
runs it in two real scheduler processes)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from assessments.loading import DEFAULT_SCHEME_FILE, load_scheme
from models.assessments import Assessment
from models.session import session_scope
from rules.periods import Period
from tests.workflows.conftest import World
from workflows import runner
from workflows.scheduler import SchedulerOptions, build_scheduler, serve, sync_jobs
from workflows.schedules import ScheduledAssessment, scheduled_assessments


def _quarterly(world: World, tmp_path: Path, *, auto_publish: bool) -> ScheduledAssessment:
    """The sample scheme's quarterly entry, from a copy with ``auto_publish`` as given."""
    text = DEFAULT_SCHEME_FILE.read_text(encoding="utf-8")
    assert "auto_publish: false\n" in text
    path = tmp_path / "assessment.yaml"
    path.write_text(
        text.replace("auto_publish: false\n", f"auto_publish: {str(auto_publish).lower()}\n"),
        encoding="utf-8",
    )
    items = scheduled_assessments(load_scheme(path).scheme, str(path), [str(world.pack.resolve())])
    return next(i for i in items if i.period == "quarter")


def _inspect_month(world: World, month: Period, *, every: int = 7) -> None:
    world.write_meetings(month, missing=world.planted(every))
    runner.inspect(
        pack=str(world.pack),
        period=month.label,
        scope=None,
        trigger="cli",
        use_prefect=False,
        escalate=False,
    )


def _catch_up(
    engine: Engine, item: ScheduledAssessment, options: SchedulerOptions, done: Path
) -> None:
    """Register the job as a scheduler that was down when it was due, then run the scheduler
    until ``done`` exists."""
    scheduler = build_scheduler(engine, options)
    scheduler.start(paused=True)
    sync_jobs(scheduler, [], options, [item])
    scheduler.modify_job(item.job_id, next_run_time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    scheduler.shutdown(wait=False)

    stop = threading.Event()
    thread = threading.Thread(
        target=serve,
        args=([],),
        kwargs={"options": options, "stop": stop, "engine": engine, "assessments": [item]},
    )
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()


def test_a_missed_assessment_is_caught_up_as_a_draft(
    sqlite_world: World,
    sqlite_engine: Engine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    item = _quarterly(sqlite_world, tmp_path, auto_publish=False)
    quarter = item.due(dt.datetime.now(dt.UTC))
    # No --reports: the settings' folder, DATA_DIR/reports.
    reports = tmp_path / "data" / "reports"
    stem = f"assessment-{quarter.label}-draft"
    caplog.set_level("INFO", logger="dualduty.scheduler")

    _catch_up(
        sqlite_engine,
        item,
        SchedulerOptions(use_prefect=False, poll_seconds=0.1),
        reports / f"{stem}.xlsx",
    )

    assert (reports / f"{stem}.html").exists()
    ran = [r.getMessage() for r in caplog.records if r.getMessage().startswith("assessment ")]
    assert len(ran) == 1 and ran[0].startswith(f"assessment {quarter.label} "), ran
    with session_scope(sqlite_engine) as session:
        assert session.scalars(select(Assessment)).all() == []  # publishing is a person's act


def test_a_scheme_that_publishes_on_its_own_publishes_once(
    sqlite_world: World, sqlite_engine: Engine, tmp_path: Path
) -> None:
    item = _quarterly(sqlite_world, tmp_path, auto_publish=True)
    quarter = item.due(dt.datetime.now(dt.UTC))
    # Something to score: the quarter's last month inspected, with planted gaps.
    _inspect_month(sqlite_world, Period.parse(quarter.end.strftime("%Y-%m")))
    reports = tmp_path / "reports"

    _catch_up(
        sqlite_engine,
        item,
        SchedulerOptions(use_prefect=False, poll_seconds=0.1, reports_dir=str(reports)),
        reports / f"assessment-{quarter.label}-v1.xlsx",
    )

    assert (reports / f"assessment-{quarter.label}-v1.html").exists()
    with session_scope(sqlite_engine) as session:
        [row] = session.scalars(select(Assessment)).all()
        assert (row.period, row.version, row.published_by) == (quarter.label, 1, "scheduler")
        scores = {
            card["subject_id"]: float(card["score"])
            for card in row.results["units"]
            if card["subject_id"] in sqlite_world.branches
        }
    # The inspection's findings were scored: the branches that missed a meeting lost points.
    planted = sqlite_world.planted()
    assert max(scores[code] for code in planted) < min(
        score for code, score in scores.items() if code not in planted
    )

    # The data change (another month inspected); the next scheduled run leaves the published
    # version standing instead of failing or re-issuing: re-issuing is a person's act.
    _inspect_month(sqlite_world, Period.parse(quarter.start.strftime("%Y-%m")), every=3)
    brief = runner.assess(
        scheme=item.scheme,
        packs=item.packs,
        period=quarter.label,
        out_dir=str(reports),
        publish=item.publish,
        actor="scheduler",
        use_prefect=False,
    )
    assert (brief.status, brief.version, brief.stale) == ("published_stands", 1, True)
    with session_scope(sqlite_engine) as session:
        assert len(session.scalars(select(Assessment)).all()) == 1
