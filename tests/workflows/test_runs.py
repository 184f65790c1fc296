"""Inspection run records: opened before work, closed after, abandoned when the process died."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from models import inspections
from models.inspections import RunCounts, RunState

NOW = dt.datetime(2026, 4, 5, 6, 0, tzinfo=dt.UTC)


def _start(session: Session, scope: str | None = None) -> inspections.InspectionRun:
    return inspections.start(
        session,
        pack="party-conduct",
        pack_version="abc",
        period="2026-03",
        scope=scope,
        trigger="cli",
        now=NOW,
    )


def test_a_run_goes_from_running_to_succeeded_with_its_counts(session: Session) -> None:
    run = _start(session)
    assert run.state == RunState.running
    assert run.scope == ""
    inspections.mark_step(session, run_id=run.id, step="evaluate", counts=RunCounts(findings=3))
    inspections.finish(
        session, run_id=run.id, counts=RunCounts(findings=3, failed=1, passed=2), now=NOW
    )
    session.commit()
    stored = inspections.get_or_raise(session, run_id=run.id)
    assert stored.state == RunState.succeeded
    assert stored.step == "evaluate"
    assert stored.run_counts == RunCounts(findings=3, failed=1, passed=2)
    assert stored.finished_at == NOW


def test_a_failed_run_keeps_its_error(session: Session) -> None:
    run = _start(session)
    inspections.fail(session, run_id=run.id, error="source down", now=NOW)
    session.commit()
    assert inspections.get_or_raise(session, run_id=run.id).error == "source down"


def test_stale_running_runs_of_the_same_pack_and_scope_are_abandoned(session: Session) -> None:
    dead = _start(session)
    other_scope = _start(session, scope="B01")
    session.commit()
    assert inspections.abandon_stale(session, pack="party-conduct", scope=None, now=NOW) == 1
    session.commit()
    assert inspections.get_or_raise(session, run_id=dead.id).state == RunState.abandoned
    assert inspections.get_or_raise(session, run_id=other_scope.id).state == RunState.running
    assert [r.id for r in inspections.latest(session, pack="party-conduct")] == [
        other_scope.id,
        dead.id,
    ]
