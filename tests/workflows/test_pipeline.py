"""The library pipeline end to end on SQLite and PostgreSQL: real org, real files, real cases."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from dualduty.demo import sample_paths
from dualduty.errors import RunError, UserError
from models import org
from models.cases import Case
from models.inspections import InspectionRun, RunState
from models.session import get_engine, session_scope
from rules.periods import Period
from tests.workflows.conftest import World
from workflows import locks, pipeline
from workflows.summary import STEPS, InspectionRequest, InspectionSummary

MARCH = Period.parse("2026-03")


def _run(world: World, period: str = "2026-03", scope: str | None = None) -> InspectionSummary:
    return pipeline.run_inspection(
        InspectionRequest(pack=str(world.pack), period=period, scope=scope, trigger="test")
    )


def _cases() -> dict[tuple[str, str, str], str]:
    with session_scope() as session:
        return {(c.rule_id, c.subject_id, c.period): c.state for c in session.scalars(select(Case))}


def test_an_inspection_finds_the_planted_gaps_and_opens_one_case_each(world: World) -> None:
    missing = world.planted()
    world.write_meetings(MARCH, missing=missing)

    summary = _run(world)

    assert summary.counts.findings == len(world.branches)
    assert summary.counts.failed == len(missing)
    assert summary.counts.passed == len(world.branches) - len(missing)
    assert {f.subject_id for f in summary.failing} == missing
    assert summary.counts.cases_opened == len(missing)
    assert {key[1] for key in _cases()} == missing
    assert summary.counts.evidence_new == 2 * len(world.branches) - len(missing)
    assert [s.step for s in summary.steps] == list(STEPS)
    with session_scope() as session:
        run = session.get(InspectionRun, summary.run_id)
        assert run is not None
        assert run.state == RunState.succeeded
        assert run.run_counts == summary.counts


def test_a_rerun_changes_nothing_and_late_evidence_resolves_the_case(world: World) -> None:
    missing = world.planted()
    world.write_meetings(MARCH, missing=missing)
    first = _run(world)
    before = _cases()

    again = _run(world)
    assert again.counts.cases_opened == 0
    assert again.counts.cases_still_open == len(missing)
    assert again.counts.evidence_new == 0
    assert _cases() == before

    late = sorted(missing)[0]
    world.write_meetings(MARCH, missing=set(world.branches) - {late})
    third = _run(world)
    assert third.counts.cases_resolved == 1
    assert third.counts.failed == first.counts.failed - 1
    states = _cases()
    assert set(states) == set(before)
    assert (
        states[("branch-committee-monthly", late, "2026-03")]
        != before[("branch-committee-monthly", late, "2026-03")]
    )


def test_a_scope_inspects_only_that_subtree(sqlite_world: World) -> None:
    world = sqlite_world
    world.write_meetings(MARCH, missing=set(world.branches))
    with session_scope() as session:
        branch = org.get_unit_or_raise(session, code=world.branches[-1])
        scope = branch.parent_code
        assert scope is not None
        inside = set(org.subtree(session, unit_code=scope)) & set(world.branches)
    assert 0 < len(inside) < len(world.branches)
    summary = _run(world, scope=scope)
    assert {f.subject_id for f in summary.failing} == inside
    assert all(row.key in inside for row in summary.by_unit)


def test_bad_input_is_a_user_error_and_leaves_no_run(sqlite_world: World) -> None:
    world = sqlite_world
    with pytest.raises(UserError, match="2026-13"):
        _run(world, period="2026-13")
    with pytest.raises(UserError, match="no-such-rule"):
        pipeline.run_inspection(
            InspectionRequest(pack=str(world.pack), period="2026-03", rules=["no-such-rule"])
        )
    with session_scope() as session:
        assert session.scalars(select(InspectionRun)).all() == []


def test_a_source_that_fails_fails_the_run_and_records_why(sqlite_world: World) -> None:
    world = sqlite_world
    # No meetings file: the file source cannot read, the run is recorded as failed.
    with pytest.raises(UserError, match=r"meetings\.csv"):
        _run(world)
    with session_scope() as session:
        (run,) = session.scalars(select(InspectionRun)).all()
        assert run.state == RunState.failed
        assert run.step == "gather"
        assert "meetings.csv" in (run.error or "")


def test_a_second_run_of_the_same_pack_and_scope_waits_its_turn(sqlite_world: World) -> None:
    world = sqlite_world
    world.write_meetings(MARCH, missing=set())
    name = pipeline.lock_name("branch-meetings", None)
    held = locks.try_acquire(get_engine(), name)
    assert held is not None
    release = threading.Timer(1.0, held.release)
    try:
        # At the command line: told at once.
        with pytest.raises(RunError, match="already running"):
            _run(world)
        # Another scope is independent.
        assert _run(world, scope=world.branches[0]).counts.findings == 1
        # Scheduled: waits until the holder lets go, then runs.
        release.start()
        request = InspectionRequest(pack=str(world.pack), period="2026-03", trigger="test")
        waited = pipeline.run_inspection(request, wait_seconds=30)
        assert waited.counts.failed == 0
    finally:
        release.cancel()
        held.release()


def test_an_abandoned_run_is_closed_by_the_next_one(sqlite_world: World) -> None:
    world = sqlite_world
    world.write_meetings(MARCH, missing=set())
    handle = pipeline.open_run(
        InspectionRequest(pack=str(world.pack), period="2026-03"),
        now=pipeline.utcnow(),
    )
    summary = _run(world)
    with session_scope() as session:
        dead = session.get(InspectionRun, handle.run_id)
        assert dead is not None and dead.state == RunState.abandoned
        ok = session.get(InspectionRun, summary.run_id)
        assert ok is not None and ok.state == RunState.succeeded


def test_org_files_are_synced_before_the_rules_are_judged(
    sqlite_world: World, tmp_path: Path
) -> None:
    """A new branch secretary from 1 March, in the HR export given with the run: March's
    missed meeting is borne by the new secretary, not the predecessor."""
    world = sqlite_world
    branch = sorted(world.planted())[0]
    world.write_meetings(MARCH, missing={branch})
    hr = tmp_path / "hr"
    hr.mkdir()
    for path in sample_paths():
        shutil.copy(path, hr / path.name)
    posts = (hr / "posts.csv").read_text(encoding="utf-8-sig").splitlines()
    header, rows = posts[0], posts[1:]
    secretary_rows = [r for r in rows if f",{branch},党支部书记," in r]
    assert len(secretary_rows) == 1 and secretary_rows[0].endswith(",")
    old = secretary_rows[0].split(",")[0]
    with session_scope() as session:
        holders = select(org.PostAssignment.person_code)
        newcomer = session.scalars(
            select(org.Person.code).where(org.Person.code.not_in(holders)).order_by(org.Person.code)
        ).first()
    assert newcomer is not None
    rows[rows.index(secretary_rows[0])] = secretary_rows[0] + "2026/2/28"
    rows.append(f"{newcomer},,{branch},党支部书记,2026/3/1,")
    (hr / "posts.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8-sig")

    summary = pipeline.run_inspection(
        InspectionRequest(pack=str(world.pack), period="2026-03"),
        org_files=[str(hr / p.name) for p in sample_paths()],
    )

    (failing,) = summary.failing
    assert failing.subject_id == branch
    assert failing.bearer == newcomer != old
