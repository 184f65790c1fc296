"""From the database to a published, reproducible assessment (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.gather import gather_inputs
from assessments.loading import parse_scheme
from assessments.service import run_assessment
from assessments.snapshots import result_of, verify, versions
from dualduty.errors import UserError
from models.assessments import AssessmentStatus
from models.audit import AuditEntry
from models.cases import AccountabilityForm
from rules.findings import Severity, SubjectKind
from rules.periods import Period
from tests.assessments.builders import RULES, committee, finding, sample_scheme
from tests.assessments.db import AFTER_Q3, hold_accountable, inspect, seed_org

Q3 = Period.parse("2026-Q3")


def quarter_of_findings() -> list:
    return [
        committee("B01", "2026-07", "fail", "P01"),
        committee("B01", "2026-08", "pass", "P01"),
        committee("B01", "2026-09", "fail", "P02"),
        committee("B02", "2026-07", "pass", "P03"),
        committee("B02", "2026-08", "fail", "P03"),
        committee("B02", "2026-09", "pass", "P03"),
        committee("B03", "2026-06", "fail", "P04"),  # Q2: not this period
        finding(
            "major-procurement-decision",
            "PO-1",
            "fail",
            period="",
            subject_kind=SubjectKind.record,
            unit_code="D01",
            severity=Severity.high,
            bearer_person="P01",
            bearer_post="部门负责人",
        ),
    ]


def test_gather_takes_the_period_from_the_database(session: Session) -> None:
    seed_org(session)
    findings = quarter_of_findings()
    # August's monthly inspection finds B02 failing; on 20 September it is confirmed with 诫勉
    # against its secretary. The quarter's inspection then runs in October.
    september = dt.datetime(2026, 9, 5, 2, 0, tzinfo=dt.UTC)
    inspect(session, [findings[4]], period="2026-08", now=september)
    hold_accountable(
        session, findings[4], AccountabilityForm.admonition, now=september + dt.timedelta(days=15)
    )
    inspect(session, findings)
    # The quarter is inspected again and explains B01's July anew: the latest verdicts count.
    recheck = committee("B01", "2026-07", "fail", "P01").model_copy(
        update={"explanation": "复查仍无记录"}
    )
    again = [recheck if f.key == recheck.key else f for f in findings]
    inspect(session, again, now=AFTER_Q3 + dt.timedelta(days=1))
    # The Q4 inspection judges the record checks again: PO-1 stays in Q3, where it was first
    # found; PO-2, first found by the Q4 inspection, belongs to Q4.
    later = finding(
        "major-procurement-decision",
        "PO-2",
        "fail",
        period="",
        subject_kind=SubjectKind.record,
        unit_code="D01",
        severity=Severity.high,
    )
    inspect(session, [findings[7], later], period="2026-Q4", now=AFTER_Q3 + dt.timedelta(days=2))

    inputs = gather_inputs(session, period=Q3, scheme=sample_scheme().scheme, rules=RULES)
    assert {u.code for u in inputs.units} == {"C01", "M01", "B01", "B02", "B03", "D01"}
    assert len(inputs.posts) == 5
    keys = {(f.rule_id, f.subject_id, f.period) for f in inputs.findings}
    assert ("branch-committee-monthly", "B03", "2026-06") not in keys
    assert ("major-procurement-decision", "PO-1", "") in keys  # found by the Q3 inspection
    assert ("major-procurement-decision", "PO-2", "") not in keys
    july = next(f for f in inputs.findings if f.subject_id == "B01" and f.period == "2026-07")
    assert july.explanation == "复查仍无记录"
    [decision] = inputs.decisions
    assert (decision.subject_kind, decision.subject_id, decision.form) == ("person", "P03", "诫勉")
    assert decision.decided_on == dt.date(2026, 9, 20)
    open_keys = {(c.rule_id, c.subject_id, c.period) for c in inputs.cases}
    assert ("branch-committee-monthly", "B01", "2026-07") in open_keys
    assert ("branch-committee-monthly", "B02", "2026-08") not in open_keys  # decided


def test_published_assessment_is_reproducible_and_survives_later_changes(session: Session) -> None:
    seed_org(session)
    inspect(session, quarter_of_findings())
    scheme = sample_scheme()

    def run(**options: object) -> object:
        return run_assessment(
            session,
            period=Q3,
            scheme=options.pop("scheme", scheme),
            rules=RULES,
            now=AFTER_Q3,
            actor="admin:wang",
            **options,  # type: ignore[arg-type]
        )

    draft = run()
    assert draft.status == "draft" and draft.assessment_id is None
    assert run().result == draft.result  # same data, same draft
    first = run(publish_it=True)
    assert (first.status, first.version) == ("published", 1)
    assert first.result == draft.result
    assert run(publish_it=True).status == "unchanged"
    shown = run()
    assert (shown.status, shown.stale, shown.result) == ("published_stands", False, first.result)
    assert verify(session, assessment_id=first.assessment_id).ok

    # After the fact: the pack changes (a new version re-evaluates July, where B02 now fails)
    # and so does the scheme.
    july = [
        committee("B01", "2026-07", "fail", "P01"),
        committee("B02", "2026-07", "fail", "P03"),
    ]
    new_pack = [f.model_copy(update={"pack_version": "b" * 64}) for f in july]
    inspect(session, new_pack, period="2026-07", now=AFTER_Q3 + dt.timedelta(days=3))
    harsher = parse_scheme(
        scheme.text.replace(
            "    match: {tags: [A1, A2, A3, A4, A5]}\n    fail: 1\n",
            "    match: {tags: [A1, A2, A3, A4, A5]}\n    fail: 3\n",
        )
    )
    assert harsher.sha256 != scheme.sha256
    stands = run(scheme=harsher)
    assert (stands.status, stands.stale) == ("published_stands", True)
    assert stands.result == first.result
    assert any("--reissue" in note for note in stands.notes)
    with pytest.raises(UserError, match="已发布第1版"):
        run(scheme=harsher, publish_it=True)
    with pytest.raises(UserError, match="理由"):
        run(scheme=harsher, reissue=True)

    reissued = run(scheme=harsher, reissue=True, reason="考核办法修订后重新计算")
    assert (reissued.status, reissued.version) == ("reissued", 2)
    b02_before = next(c for c in first.result.units if c.subject_id == "B02")
    b02_after = next(c for c in reissued.result.units if c.subject_id == "B02")
    # July (re-evaluated by the new pack) and August now cost 3 each, within a 3-point rule cap.
    assert b02_before.score == 99 and b02_after.score == 97
    assert [ln.points for ln in b02_after.lines] == [-3, 0]
    old, new = versions(session, scheme_name=scheme.scheme.scheme, period="2026-Q3")
    assert (old.status, new.status) == (AssessmentStatus.superseded, AssessmentStatus.published)
    assert old.superseded_by == new.id and new.reason == "考核办法修订后重新计算"
    assert result_of(old) == first.result  # the old version is kept exactly as published
    assert old.pack_versions == ["party-conduct@" + "a" * 64]
    assert sorted(new.pack_versions) == ["party-conduct@" + "a" * 64, "party-conduct@" + "b" * 64]
    assert verify(session, assessment_id=old.id).ok and verify(session, assessment_id=new.id).ok
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_type == "assessment")
    ).all()
    assert sorted(actions) == ["assessment.publish", "assessment.reissue"]


def test_only_closed_periods_are_published(session: Session) -> None:
    seed_org(session)
    with pytest.raises(UserError, match="尚未结束"):
        run_assessment(
            session,
            period=Period.parse("2026-Q4"),
            scheme=sample_scheme(),
            now=AFTER_Q3,
            publish_it=True,
        )
    with pytest.raises(UserError, match="无需重新发布"):
        run_assessment(
            session, period=Q3, scheme=sample_scheme(), now=AFTER_Q3, reissue=True, reason="x"
        )


def test_previous_period_comes_from_its_published_version(session: Session) -> None:
    seed_org(session)
    q2_now = dt.datetime(2026, 7, 10, 2, 0, tzinfo=dt.UTC)
    inspect(session, [committee("B01", "2026-06", "fail", "P01")], period="2026-Q2", now=q2_now)
    q2 = run_assessment(
        session,
        period=Period.parse("2026-Q2"),
        scheme=sample_scheme(),
        rules=RULES,
        now=q2_now,
        publish_it=True,
    )
    inspect(session, quarter_of_findings())
    q3 = run_assessment(session, period=Q3, scheme=sample_scheme(), rules=RULES, now=AFTER_Q3)
    assert q3.result.previous_period == "2026-Q2"
    assert q3.result.previous_source and "已发布第1版" in q3.result.previous_source
    b01 = next(c for c in q3.result.units if c.subject_id == "B01")
    q2_b01 = next(c for c in q2.result.units if c.subject_id == "B01")
    assert b01.previous_score == q2_b01.score == 99
    assert b01.delta == b01.score - 99  # type: ignore[operator]
    assert [h.period for h in q3.history] == ["2026-Q2"]
