"""Scoring over a small company: lines, caps, no evidence, post changes, bonuses, deltas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from assessments.inputs import AwardRecord, PostHeld, PreviousScore, PreviousScores
from assessments.loading import parse_scheme
from assessments.results import Scorecard
from assessments.scoring import add_months, score
from rules.findings import Severity, Side, SubjectKind, Verdict
from tests.assessments.builders import (
    POSTS,
    committee,
    finding,
    inputs,
    sample_scheme,
)


def card(cards: list[Scorecard], subject_id: str) -> Scorecard:
    return next(c for c in cards if c.subject_id == subject_id)


def test_each_line_says_which_finding_cost_how_much() -> None:
    findings = [
        committee("B01", "2026-07", "fail", "P01"),
        committee("B01", "2026-08", "pass", "P01"),
        committee("B01", "2026-09", "no-evidence", "P02"),
        finding(
            "safety-report",
            "B01",
            "fail",
            side=Side.business,
            period="2026-08",
            explanation="2026-08 未报送安全生产月报",
        ),
    ]
    result = score(scheme=sample_scheme(), inputs=inputs(findings=findings))
    b01 = card(result.units, "B01")
    lines = {(ln.rule_id, ln.finding_period): ln for ln in b01.lines}
    july = lines[("branch-committee-monthly", "2026-07")]
    assert (july.label, july.item_id, july.points) == ("未通过", "three-meetings-one-lecture", -1)
    assert july.rule_title == "支委会每月至少召开一次"
    september = lines[("branch-committee-monthly", "2026-09")]
    assert (september.label, september.verdict, september.points) == (
        "无证据",
        Verdict.no_evidence,
        -1,
    )
    safety = lines[("safety-report", "2026-08")]
    assert (safety.item_id, safety.points, safety.side) == ("business-duties", -1, Side.business)
    assert safety.explanation == "2026-08 未报送安全生产月报"
    # The score is the bases minus exactly what the lines say.
    assert b01.score == Decimal(100) + sum(ln.points for ln in b01.lines)
    assert b01.side(Side.integrity).deducted == 2
    assert b01.side(Side.business).deducted == 1
    assert (b01.passed, b01.failed, b01.no_evidence, b01.evidence) == (1, 2, 1, "partial")


def test_caps_per_rule_per_item_and_per_side_in_a_fixed_order() -> None:
    # 12 failing integrity findings of severity high at 5 points each = 60 nominal; the item
    # caps at 20 and then nothing else on the integrity side may pass 50.
    serious = [
        finding(
            "major-procurement-decision",
            f"PO-{i:02d}",
            "fail",
            period="",
            subject_kind=SubjectKind.record,
            unit_code="D01",
            severity=Severity.high,
        )
        for i in range(12)
    ]
    # 5 months of committee failures can't happen in a quarter, so use distinct rules with the
    # same tag: 4 themed-party-day failures cost 1 each but the per-rule cap is 3.
    themed = [
        finding(
            "themed-party-day",
            f"D01-{m}",
            "fail",
            period=f"2026-0{m}",
            unit_code="D01",
            subject_kind=SubjectKind.record,
        )
        for m in (7, 8, 9)
    ] + [
        finding(
            "themed-party-day",
            "D01-extra",
            "fail",
            period="2026-Q3",
            unit_code="D01",
            subject_kind=SubjectKind.record,
        )
    ]
    result = score(scheme=sample_scheme(), inputs=inputs(findings=serious + themed))
    d01 = card(result.units, "D01")
    serious_points = [ln.points for ln in d01.lines if ln.item_id == "integrity-serious"]
    assert serious_points == [-5, -5, -5, -5] + [0] * 8
    capped = [ln for ln in d01.lines if ln.item_id == "integrity-serious" and ln.points == 0]
    assert all(ln.capped_by and "本项最多扣20分" in ln.capped_by for ln in capped)
    themed_points = [ln.points for ln in d01.lines if ln.rule_id == "themed-party-day"]
    assert themed_points == [-1, -1, -1, 0]
    assert "单条规则最多扣3分" in (d01.lines[-1].capped_by or "")
    assert d01.side(Side.integrity).deducted == 23
    assert d01.score == 77


def test_side_cap_stops_a_side_at_its_maximum_deduction() -> None:
    text = sample_scheme().text.replace("    max_deduction: 50\n", "    max_deduction: 12\n")
    scheme = parse_scheme(text)
    serious = [
        finding(
            "major-procurement-decision",
            f"PO-{i}",
            "fail",
            period="",
            subject_kind=SubjectKind.record,
            unit_code="D01",
            severity=Severity.critical,
        )
        for i in range(3)
    ]
    d01 = card(score(scheme=scheme, inputs=inputs(findings=serious)).units, "D01")
    assert [ln.points for ln in d01.lines] == [-5, -5, -2]
    assert "党风廉政建设最多扣12分" in (d01.lines[-1].capped_by or "")
    assert d01.side(Side.integrity).score == 38


def test_a_period_with_no_evidence_at_all_is_not_scored_as_perfect() -> None:
    result = score(scheme=sample_scheme(), inputs=inputs(findings=[]))
    assert result.evidence.nothing_at_all
    everyone = result.units + result.people
    assert everyone, "the org's units and cadres are still listed"
    for c in everyone:
        assert c.score is None
        assert c.grade == "无证据"
        assert c.rank is None
        assert c.evidence == "none"
        assert [ln.label for ln in c.lines] == ["无证据"]
    # Nobody is put forward for a commendation on an empty period.
    assert result.commendations
    assert not any(e.qualifies for e in result.commendations)
    assert all(any("无证据" in r for r in e.reasons) for e in result.commendations)


def test_no_evidence_findings_are_charged_and_cap_the_grade() -> None:
    findings = [
        committee("B02", m, "no-evidence", "P03") for m in ("2026-07", "2026-08", "2026-09")
    ]
    result = score(scheme=sample_scheme(), inputs=inputs(findings=findings))
    b02 = card(result.units, "B02")
    assert b02.evidence == "none"
    assert b02.score == 97  # 3 × 1 point per 无证据, per the scheme
    assert b02.computed_grade == "好"
    assert b02.grade == "一般"  # no_evidence.grade_cap: 97 points of nothing is not 好
    assert all(ln.label == "无证据" for ln in b02.lines)


def test_a_scheme_may_charge_a_subject_without_findings_instead() -> None:
    text = sample_scheme().text.replace(
        "  without_findings: unrated\n", "  without_findings: deduct\n  deduction: 60\n"
    )
    result = score(scheme=parse_scheme(text), inputs=inputs(findings=[]))
    b03 = card(result.units, "B03")
    assert b03.score == 40
    assert [(ln.side, ln.points) for ln in b03.lines] == [
        (Side.integrity, -50),
        (Side.business, -10),
    ]
    assert b03.grade == "差"


def test_a_cadre_who_changed_post_mid_period_gets_each_posts_share() -> None:
    # P01 张伟: 党支部书记 of B01 from 1 Jul to 31 Aug (62 days), then 部门负责人 of D01 from
    # 1 Sep (30 days). P02 李娜 takes over B01 on 1 Sep.
    findings = [
        committee("B01", "2026-07", "fail", "P01"),
        committee("B01", "2026-08", "fail", "P01"),
        committee("B01", "2026-09", "fail", "P02"),
        finding(
            "major-procurement-decision",
            "PO-9",
            "fail",
            period="",
            subject_kind=SubjectKind.record,
            unit_code="D01",
            severity=Severity.high,
            bearer_person="P01",
            bearer_post="部门负责人",
        ),
        # P01's own duty (training hours), tied to no post: shared by days held.
        finding(
            "training-hours",
            "P01",
            "fail",
            period="2026-Q3",
            subject_kind=SubjectKind.person,
            unit_code="B01",
        ),
    ]
    result = score(scheme=sample_scheme(), inputs=inputs(findings=findings))
    p01 = card(result.people, "P01")
    assert p01.score == 100 - 1 - 1 - 5 - 2
    secretary, head = p01.posts
    assert (secretary.post_name, secretary.unit_name, secretary.days) == (
        "党支部书记",
        "第一党支部",
        62,
    )
    assert (head.post_name, head.unit_name, head.days) == ("部门负责人", "采购部", 30)
    assert (secretary.since, secretary.until) == (dt.date(2026, 7, 1), dt.date(2026, 8, 31))
    assert (head.since, head.until) == (dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert secretary.share == Decimal("0.6739") and head.share == Decimal("0.3261")
    assert secretary.borne == -2 and head.borne == -5  # findings borne per post
    assert secretary.shared == Decimal("-1.35") and head.shared == Decimal("-0.65")  # 2 × 62/92
    assert secretary.contribution + head.contribution == p01.score
    # Ranked with the post held longest; September's failure is P02's, not P01's.
    assert p01.peer_label == "党支部书记"
    p02 = card(result.people, "P02")
    assert p02.score == 99
    assert [ln.finding_period for ln in p02.lines] == ["2026-09"]
    # The branch itself carries all three months whoever was secretary.
    assert card(result.units, "B01").side(Side.integrity).deducted == 3


def test_bonuses_are_capped_and_explained() -> None:
    awards = [
        AwardRecord(
            subject_kind="unit",
            subject_id="B02",
            kind="上级表彰",
            title=f"表彰{i}",
            awarded_on=dt.date(2026, 7, i + 1),
        )
        for i in range(3)
    ] + [
        AwardRecord(
            subject_kind="unit",
            subject_id="B02",
            kind="上级表彰",
            title="上期表彰",
            awarded_on=dt.date(2026, 6, 30),
        ),
    ]
    findings = [committee("B02", "2026-07", "pass", "P03")]
    b02 = card(
        score(scheme=sample_scheme(), inputs=inputs(findings=findings, awards=awards)).units, "B02"
    )
    bonus = [ln for ln in b02.lines if ln.kind == "bonus"]
    assert [ln.points for ln in bonus] == [2, 2, 0]  # item cap 4; June's award is outside Q3
    assert "表彰0" in bonus[0].explanation
    assert b02.score == 104


def test_a_pass_without_explanation_still_reads_as_a_bonus_line() -> None:
    # Inspections explain passes only where a case needs them: most come with explanation "".
    text = sample_scheme().text.replace(
        "bonus_cap: 5\n",
        "  - id: every-meeting-held\n"
        "    title: 按时召开支委会\n"
        "    side: integrity\n"
        "    passing: {rules: [branch-committee-monthly]}\n"
        "    points: 1\n"
        "    cap: 3\n"
        "bonus_cap: 5\n",
    )
    findings = [
        committee("B02", "2026-07", "pass", "P03").model_copy(update={"explanation": ""}),
        committee("B02", "2026-08", "pass", "P03"),
    ]
    b02 = card(score(scheme=parse_scheme(text), inputs=inputs(findings=findings)).units, "B02")
    bonus = [ln for ln in b02.lines if ln.kind == "bonus"]
    assert [(ln.points, ln.explanation) for ln in bonus] == [
        (1, "2026-07 通过 / passed"),
        (1, "2026-08 branch-committee-monthly pass"),  # an explained pass keeps its words
    ]


def test_delta_against_the_previous_period() -> None:
    previous = PreviousScores(
        period="2026-Q2",
        source="已发布第1版 / published v1",
        scores=[
            PreviousScore(subject_kind="unit", subject_id="B01", score=Decimal(95)),
            PreviousScore(subject_kind="unit", subject_id="B02", score=None),
        ],
    )
    findings = [
        committee("B01", "2026-07", "fail", "P01"),
        committee("B02", "2026-07", "pass", "P03"),
    ]
    result = score(scheme=sample_scheme(), inputs=inputs(findings=findings, previous=previous))
    assert result.previous_period == "2026-Q2"
    b01, b02 = card(result.units, "B01"), card(result.units, "B02")
    assert (b01.previous_score, b01.delta) == (95, 4)
    assert (b02.previous_score, b02.delta) == (None, None)


def test_findings_of_other_periods_are_left_out_and_counted() -> None:
    findings = [
        committee("B01", "2026-06", "fail", "P01"),
        committee("B01", "2026-07", "pass", "P01"),
    ]
    result = score(scheme=sample_scheme(), inputs=inputs(findings=findings))
    assert result.evidence.ignored == 1
    assert card(result.units, "B01").score == 100


def test_impact_periods_add_calendar_months() -> None:
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 3, 15), 18) == dt.date(2027, 9, 15)


def test_a_finding_no_item_covers_is_listed_at_no_cost() -> None:
    from tests.assessments.test_scheme import MINIMAL

    text = MINIMAL.replace(
        "  - {id: default, title: 其他, match: {}, fail: 1, no_evidence: 0.5}",
        "  - {id: integrity-only, title: 廉政, match: {side: integrity}, fail: 1, no_evidence: 1}",
    )
    findings = [finding("safety-report", "D01", "fail", side=Side.business)]
    d01 = card(score(scheme=parse_scheme(text), inputs=inputs(findings=findings)).units, "D01")
    [line] = d01.lines
    assert (line.item_id, line.points, line.rule_id) == ("-", 0, "safety-report")
    assert "not covered by the scheme" in line.item_title
    assert d01.score == 100 and d01.failed == 1


def test_a_concurrent_post_outside_the_scheme_shares_the_score_but_not_the_peer_group() -> None:
    posts = [
        *POSTS,
        # P03 is also 工会主席 (not a scored post) of B02 for the whole quarter, from later on.
        PostHeld(
            person_code="P03", post_name="工会主席", unit_code="B02", since=dt.date(2026, 1, 1)
        ),
    ]
    findings = [
        committee("B02", "2026-07", "fail", "P03"),
        finding(
            "union-report",
            "B02",
            "fail",
            side=Side.business,
            bearer_person="P03",
            bearer_post="工会主席",
        ),
    ]
    p03 = card(
        score(scheme=sample_scheme(), inputs=inputs(posts=posts, findings=findings)).people, "P03"
    )
    assert p03.peer_label == "党支部书记"
    shares = {p.post_name: p for p in p03.posts}
    assert shares["党支部书记"].days == shares["工会主席"].days == 92
    assert shares["党支部书记"].borne == -1 and shares["工会主席"].borne == -1
    assert sum(p.contribution for p in p03.posts) == p03.score == 98
