"""An inspection's findings recorded on both databases: every verdict in the verdict sets, only
the findings that act on cases in the findings table, cases opened and resolved from them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.cases import CaseState, find_by_key
from models.findings import StoredFinding
from models.recording import actionable, record_findings
from models.verdicts import VerdictSet, latest_verdicts
from rules.engine import findings, findings_table
from rules.findings import Finding, Verdict
from tests.cases.helpers import finding as base_finding

MARCH = dt.datetime(2026, 4, 2, 2, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 4, 20, 2, 0, tzinfo=dt.UTC)


def finding(subject: str, verdict: Verdict, **overrides: Any) -> Finding:
    told = verdict is not Verdict.passed
    return base_finding(
        subject,
        verdict=verdict,
        **{
            "pack": "branch-life",
            "explanation": f"2026-03 {subject} {verdict.value}" if told else "",
            "evidence_ids": [11] if told else [],
            **overrides,
        },
    )


def stored(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(select(StoredFinding.subject_id, StoredFinding.verdict))
    return sorted((subject, verdict) for subject, verdict in rows)


def test_failures_open_cases_and_every_verdict_is_kept(session: Session) -> None:
    first = [
        finding("B01", Verdict.failed),
        finding("B02", Verdict.passed),
        finding("B03", Verdict.no_evidence),
    ]
    recorded = record_findings(
        session,
        findings_table(first),
        inspected="2026-03",
        scope=None,
        inspection_id=None,
        now=MARCH,
    )
    session.commit()
    assert len(recorded.cases.opened) == 1
    assert recorded.verdicts.rows == 3
    # only the failure is a findings row; the pass and the no-evidence live in the verdict set
    assert stored(session) == [("B01", "fail")]
    kept = findings(latest_verdicts(session, periods=["2026-03"]))
    assert sorted((f.subject_id, f.verdict) for f in kept) == [
        ("B01", Verdict.failed),
        ("B02", Verdict.passed),
        ("B03", Verdict.no_evidence),
    ]

    # Next inspection: B01 now passes (told: its key has a case), B02 still passes.
    second = [
        finding("B01", Verdict.passed, explanation="2026-03 补开支委会 1 次", evidence_ids=[12]),
        finding("B02", Verdict.passed),
        finding("B03", Verdict.no_evidence),
    ]
    recorded = record_findings(
        session,
        findings_table(second),
        inspected="2026-03",
        scope=None,
        inspection_id=None,
        now=LATER,
    )
    session.commit()
    assert len(recorded.cases.resolved) == 1
    case = find_by_key(
        session, rule_id="branch-committee-monthly", subject_id="B01", period="2026-03"
    )
    assert case is not None and case.state == CaseState.resolved.value
    resolving = session.get(StoredFinding, case.finding_id)
    assert resolving is not None
    assert (resolving.verdict, resolving.explanation, resolving.evidence_ids) == (
        "pass",
        "2026-03 补开支委会 1 次",
        [12],
    )
    assert stored(session) == [("B01", "fail"), ("B01", "pass")]

    # The same findings again: nothing new anywhere.
    sets = session.scalar(select(func.count()).select_from(VerdictSet))
    again = record_findings(
        session,
        findings_table(second),
        inspected="2026-03",
        scope=None,
        inspection_id=None,
        now=LATER,
    )
    session.commit()
    assert not again.cases.changed
    assert again.verdicts.sets_written == 0
    assert session.scalar(select(func.count()).select_from(VerdictSet)) == sets
    assert stored(session) == [("B01", "fail"), ("B01", "pass")]


def test_an_empty_inspection_records_nothing(session: Session) -> None:
    recorded = record_findings(
        session, findings_table([]), inspected="2026-03", scope=None, inspection_id=None, now=MARCH
    )
    assert recorded.verdicts.rows == 0 and not recorded.cases.changed
    assert stored(session) == []


def test_actionable_keeps_failures_and_keys_with_cases() -> None:
    table = findings_table(
        [
            finding("B01", Verdict.failed),
            finding("B02", Verdict.passed),
            finding("B03", Verdict.no_evidence),
            finding("B04", Verdict.passed),
            finding("B04", Verdict.passed, period="2026-02"),
        ]
    )
    assert [f.subject_id for f in findings(actionable(table, set()))] == ["B01"]
    keys = {
        ("branch-committee-monthly", "B03", "2026-03"),
        ("branch-committee-monthly", "B04", "2026-03"),
        ("other-rule", "B02", "2026-03"),
    }
    kept = findings(actionable(table, keys))
    assert [(f.subject_id, f.period) for f in kept] == [
        ("B01", "2026-03"),
        ("B03", "2026-03"),
        ("B04", "2026-03"),
    ]
