"""Blockers cap grades and block commendations; peers are ranked 1, 1, 3 with a stated order."""

from __future__ import annotations

import datetime as dt

import pytest

from assessments.inputs import CaseSummary, DecisionRecord
from assessments.results import Scorecard
from assessments.scoring import score
from rules.findings import Severity, Side
from tests.assessments.builders import committee, finding, inputs, sample_scheme


def card(cards: list[Scorecard], subject_id: str) -> Scorecard:
    return next(c for c in cards if c.subject_id == subject_id)


PERFECT_QUARTER = [
    committee(unit, month, "pass", who)
    for unit, who in (("B02", "P03"), ("B03", "P04"))
    for month in ("2026-07", "2026-08", "2026-09")
]


@pytest.mark.parametrize(
    ("form", "decided_on", "blocked"),
    [
        ("诫勉", dt.date(2026, 2, 1), True),  # 6 months: until 2026-07-31, overlaps Q3
        ("诫勉", dt.date(2026, 1, 1), False),  # until 2026-06-30: over before Q3
        ("警告", dt.date(2025, 8, 1), True),  # 12 months: until 2026-07-31
        ("严重警告", dt.date(2025, 3, 1), True),  # 18 months: until 2026-08-31
        ("撤销党内职务", dt.date(2024, 7, 1), False),  # 24 months: until 2026-06-30
        ("提醒谈话", dt.date(2026, 8, 1), False),  # no impact period in the scheme
        ("警告", dt.date(2026, 10, 9), False),  # decided after the period
    ],
)
def test_decision_in_its_impact_period(form: str, decided_on: dt.date, blocked: bool) -> None:
    decision = DecisionRecord(
        subject_kind="person", subject_id="P03", form=form, decided_on=decided_on, reason="测试"
    )
    result = score(
        scheme=sample_scheme(), inputs=inputs(findings=PERFECT_QUARTER, decisions=[decision])
    )
    p03 = card(result.people, "P03")
    assert p03.score == 100 and p03.computed_grade == "好"
    candidates = [e for e in result.commendations if e.subject_id == "P03"]
    assert {e.kind for e in candidates} == {"优秀共产党员", "优秀党务工作者"}
    if blocked:
        [hit] = p03.blockers
        assert hit.blocker_id == "in-impact-period"
        assert form in hit.reason and "影响期" in hit.reason
        assert p03.grade == "一般"
        assert not any(e.qualifies for e in candidates)
        assert all(any(form in r and r.startswith("✗") for r in e.reasons) for e in candidates)
    else:
        assert p03.blockers == []
        assert p03.grade == "好"
        assert all(e.qualifies for e in candidates)


def test_an_open_serious_case_caps_the_grade_and_blocks_the_unit() -> None:
    cases = [
        CaseSummary(
            rule_id="major-procurement-decision",
            subject_kind="record",
            subject_id="PO-7",
            period="",
            unit_code="B02",
            severity=Severity.high,
            state="rectifying",
            open=True,
        ),
        CaseSummary(  # closed: no effect
            rule_id="major-procurement-decision",
            subject_kind="record",
            subject_id="PO-8",
            period="",
            unit_code="B03",
            severity=Severity.critical,
            state="closed",
            open=False,
        ),
        CaseSummary(  # low severity: not a blocker in the sample scheme
            rule_id="branch-committee-monthly",
            subject_kind="unit",
            subject_id="B03",
            period="2026-06",
            unit_code="B03",
            severity=Severity.low,
            state="open",
            open=True,
        ),
    ]
    result = score(scheme=sample_scheme(), inputs=inputs(findings=PERFECT_QUARTER, cases=cases))
    b02, b03 = card(result.units, "B02"), card(result.units, "B03")
    assert [h.blocker_id for h in b02.blockers] == ["open-serious-case"]
    assert "PO-7" in b02.blockers[0].reason and "rectifying" in b02.blockers[0].reason
    assert (b02.score, b02.grade) == (100, "较好")
    assert (b03.blockers, b03.grade) == ([], "好")
    advanced = {e.subject_id: e for e in result.commendations if e.kind == "先进基层党组织"}
    assert not advanced["B02"].qualifies and advanced["B03"].qualifies
    assert advanced["B03"].reasons[-1].startswith("✓ 同类排名第")


def test_a_unit_under_a_circulated_notice_is_blocked() -> None:
    decision = DecisionRecord(
        subject_kind="unit", subject_id="B03", form="通报", decided_on=dt.date(2026, 9, 20)
    )
    result = score(
        scheme=sample_scheme(), inputs=inputs(findings=PERFECT_QUARTER, decisions=[decision])
    )
    entry = next(
        e for e in result.commendations if e.kind == "先进基层党组织" and e.subject_id == "B03"
    )
    assert not entry.qualifies
    assert any("通报" in r for r in entry.reasons)


def test_ties_share_a_rank_and_the_next_rank_skips() -> None:
    findings = [
        finding("safety-report", "B01", "fail", side=Side.business),  # 99, integrity 50
        committee("B02", "2026-07", "fail", "P03"),  # 99, integrity 49
        committee("B03", "2026-07", "fail", "P04"),
        committee("B03", "2026-08", "fail", "P04"),  # 98
    ]
    result = score(scheme=sample_scheme(), inputs=inputs(findings=findings))
    branches = [c for c in result.units if c.peer_group == "unit:branch"]
    assert [(c.subject_id, c.score, c.rank, c.position) for c in branches] == [
        ("B01", 99, 1, 1),
        ("B02", 99, 1, 2),
        ("B03", 98, 3, 3),
    ]
    assert branches[0].tie_note.startswith("并列第1名（2个）")
    assert branches[2].tie_note == ""
    assert all(c.peers == 3 for c in branches)
    # Units of another kind are ranked apart.
    d01 = card(result.units, "D01")
    assert d01.peer_label == "部门" and d01.rank is None  # D01 had no finding: unrated


def test_identical_ties_are_listed_by_code_and_stable_across_runs() -> None:
    findings = [
        committee(unit, "2026-07", "fail", who)
        for unit, who in (("B03", "P04"), ("B01", "P01"), ("B02", "P03"))
    ]
    first = score(scheme=sample_scheme(), inputs=inputs(findings=findings))
    again = score(scheme=sample_scheme(), inputs=inputs(findings=list(reversed(findings))))
    order = [c.subject_id for c in first.units if c.peer_group == "unit:branch"]
    assert order == ["B01", "B02", "B03"]
    assert [c.rank for c in first.units if c.peer_group == "unit:branch"] == [1, 1, 1]
    assert first == again
