"""Putting the builders' company, findings and decisions into a real database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from models import inspections
from models.cases import AccountabilityForm, Decision, DecisionKind, decide, find_by_key
from models.org import Person, PostAssignment, PostType, Unit
from models.recording import record_findings
from rules.engine import findings_table
from rules.findings import Finding
from tests.assessments.builders import PEOPLE, POSTS, UNITS

# 2026-10-10 10:00 in Beijing: Q3 2026 is closed.
AFTER_Q3 = dt.datetime(2026, 10, 10, 2, 0, tzinfo=dt.UTC)


def seed_org(session: Session) -> None:
    session.add_all(
        Unit(code=u.code, name=u.name, kind=u.kind, parent_code=u.parent_code) for u in UNITS
    )
    session.flush()
    session.add_all(
        Person(code=p.code, name=p.name, unit_code=p.unit_code, party_member=p.party_member)
        for p in PEOPLE
    )
    session.add_all(PostType(name=name) for name in sorted({p.post_name for p in POSTS}))
    session.flush()
    session.add_all(
        PostAssignment(
            person_code=p.person_code,
            post_name=p.post_name,
            unit_code=p.unit_code,
            since=p.since,
            until=p.until,
        )
        for p in POSTS
    )
    session.flush()


def inspect(
    session: Session,
    findings: list[Finding],
    *,
    period: str = "2026-Q3",
    now: dt.datetime = AFTER_Q3,
) -> None:
    """Store findings (cases and verdict sets) the way an inspection run for ``period`` does."""
    run = inspections.start(
        session,
        pack="party-conduct",
        pack_version=findings[0].pack_version,
        period=period,
        scope=None,
        trigger="cli",
        now=now,
    )
    record_findings(
        session,
        findings_table(findings),
        inspected=period,
        scope=None,
        inspection_id=run.id,
        now=now,
    )
    session.flush()


def hold_accountable(
    session: Session,
    finding: Finding,
    form: AccountabilityForm,
    *,
    now: dt.datetime = AFTER_Q3,
) -> None:
    case = find_by_key(
        session, rule_id=finding.rule_id, subject_id=finding.subject_id, period=finding.period
    )
    assert case is not None, "reconcile the failing finding first"
    decide(
        session,
        case_id=case.id,
        actor="inspector:zhao",
        decision=Decision(
            kind=DecisionKind.record_accountability, form=form, reason="经核实，予以认定"
        ),
        expected_version=case.version,
        now=now,
    )
    session.flush()
