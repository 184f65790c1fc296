"""Reconciling findings into cases on both databases: idempotency, late resolution, reopening."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dualduty.errors import UserError
from models import audit
from models.cases import (
    Case,
    CaseEvent,
    CaseState,
    EventKind,
    history,
    reconcile,
)
from models.findings import StoredFinding
from rules.findings import Severity, Verdict
from tests.cases.helpers import NOW, days, finding


def _counts(session: Session) -> tuple[int, int, int, int]:
    def count(table: type) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(table)) or 0

    return (count(Case), count(CaseEvent), count(StoredFinding), count(audit.AuditEntry))


def test_failing_findings_open_one_case_per_key(session: Session) -> None:
    findings = [
        finding("B01"),
        finding("B02"),
        finding("B03", verdict=Verdict.passed),
        finding("B04", verdict=Verdict.no_evidence),
    ]
    report = reconcile(session, findings=findings, inspection_id=None, now=NOW)
    session.commit()
    assert len(report.opened) == 2 and report.ignored == 2 and report.findings_stored == 4
    case = session.get(Case, report.opened[0])
    assert case is not None
    assert (case.state, case.version, str(case.deadline_on)) == ("open", 1, "2026-03-31")
    assert [e.kind for e in history(session, case_id=case.id)] == ["opened"]
    assert [e.action for e in audit.entries(session)] == ["case.open", "case.open"]
    assert audit.verify(session).ok


def test_rerun_with_the_same_findings_changes_nothing(session: Session) -> None:
    findings = [finding("B01"), finding("B02", verdict=Verdict.passed)]
    reconcile(session, findings=findings, inspection_id=None, now=NOW)
    session.commit()
    before = _counts(session)
    versions = session.execute(sa.select(Case.id, Case.version, Case.updated_at)).all()

    again = reconcile(session, findings=findings, inspection_id=None, now=NOW + days(1))
    session.commit()
    assert not again.changed and again.findings_stored == 0 and again.still_open == 1
    assert _counts(session) == before
    assert session.execute(sa.select(Case.id, Case.version, Case.updated_at)).all() == versions


def test_late_evidence_resolves_with_a_late_mark_and_keeps_history(session: Session) -> None:
    opened = reconcile(session, findings=[finding("B01")], inspection_id=None, now=NOW)
    session.commit()
    case_id = opened.opened[0]

    passed = finding("B01", verdict=Verdict.passed, evidence_ids=[42], explanation="补录支委会记录")
    report = reconcile(session, findings=[passed], inspection_id=None, now=NOW + days(3))
    session.commit()
    assert report.resolved == [case_id] and report.resolved_late == [case_id]
    case = session.get(Case, case_id)
    assert case is not None
    assert case.state == CaseState.resolved and case.late and case.version == 2
    assert case.ladder_due_on is None  # a resolved case stops its ladder
    events = history(session, case_id=case_id)
    assert [e.kind for e in events] == ["opened", "resolved"]
    assert events[1].detail["late"] is True and events[1].detail["days_late"] == 13
    # The finding that opened the case is still there.
    assert session.get(StoredFinding, events[0].detail["finding_id"]) is not None


def test_passing_before_the_deadline_is_not_late(session: Session) -> None:
    early = NOW - days(20)  # 2026-03-21: inside the period
    reconcile(session, findings=[finding("B01")], inspection_id=None, now=early)
    report = reconcile(
        session,
        findings=[finding("B01", verdict=Verdict.passed, evidence_ids=[1])],
        inspection_id=None,
        now=early + days(2),
    )
    assert report.resolved and not report.resolved_late


def test_flip_back_to_fail_reopens_the_same_case(session: Session) -> None:
    case_id = reconcile(session, findings=[finding("B01")], inspection_id=None, now=NOW).opened[0]
    reconcile(
        session,
        findings=[finding("B01", verdict=Verdict.passed, evidence_ids=[7])],
        inspection_id=None,
        now=NOW + days(1),
    )
    # The evidence record was withdrawn: the finding fails again, with its first content.
    report = reconcile(session, findings=[finding("B01")], inspection_id=None, now=NOW + days(2))
    session.commit()
    assert report.reopened == [case_id] and report.opened == []
    case = session.get(Case, case_id)
    assert case is not None
    assert (case.state, case.reopen_count, case.late, case.version) == ("open", 1, False, 3)
    assert [e.kind for e in history(session, case_id=case_id)] == ["opened", "resolved", "reopened"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
    # Two distinct contents for the key: the first one was reused on the flip back.
    assert session.scalar(sa.select(sa.func.count()).select_from(StoredFinding)) == 2


def test_changed_failing_finding_updates_the_open_case(session: Session) -> None:
    case_id = reconcile(session, findings=[finding("B01")], inspection_id=None, now=NOW).opened[0]
    worse = finding("B01", severity=Severity.high, explanation="连续两月未召开")
    report = reconcile(session, findings=[worse], inspection_id=None, now=NOW + days(1))
    assert report.updated == [case_id] and report.still_open == 1
    case = session.get(Case, case_id)
    assert case is not None and case.severity == "high" and case.severity_rank == 3
    assert case.state == CaseState.open and case.version == 2
    assert [e.kind for e in history(session, case_id=case_id)] == [
        EventKind.opened,
        EventKind.finding_updated,
    ]


def test_duplicate_keys_are_refused_before_anything_is_written(session: Session) -> None:
    with pytest.raises(UserError, match="finding key repeated"):
        reconcile(session, findings=[finding("B01"), finding("B01")], inspection_id=None, now=NOW)
    assert _counts(session) == (0, 0, 0, 0)


def test_findings_without_a_period_use_the_opening_day_as_deadline(session: Session) -> None:
    check = finding(
        "PO-2026-0001", rule="major-procurement-decision", period="", ladder="integrity"
    )
    case_id = reconcile(session, findings=[check], inspection_id=None, now=NOW).opened[0]
    case = session.get(Case, case_id)
    assert case is not None and str(case.deadline_on) == "2026-04-10"
