"""Scoring: a pure function from (scheme, input snapshot) to scorecards.

Each failing or undecided finding becomes a line that names the scheme item it fell under,
what the item charges and what was actually charged after the caps. Caps are applied in a
fixed order (rule id, subject, period), so the same snapshot always charges the same lines.

Findings without evidence (无证据) are never passes: they are charged what the scheme's
``no_evidence`` column says, and a subject the period says nothing about is either unrated or
charged ``no_evidence.deduction`` — never reported as a perfect score.

A cadre who held several posts in the period (调岗, 兼任) is scored once, over every finding they
bore; the scorecard then splits the score between the posts: findings borne under a post count
against that post (the rule engine decided the bearer by who held the post at the time), and
everything not tied to a post (the base score, their own duties, bonuses) is shared pro rata by
days held. The cadre is ranked among holders of the post they held longest.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from assessments.commendation import shortlist
from assessments.inputs import (
    AssessmentInputs,
    AwardRecord,
    CaseSummary,
    DecisionRecord,
    PersonInfo,
    PostHeld,
    RuleInfo,
    UnitInfo,
)
from assessments.loading import LoadedScheme
from assessments.ranking import TIEBREAK_NOTE, rank_peers
from assessments.results import (
    AssessmentResult,
    BlockerHit,
    EvidenceStatus,
    EvidenceSummary,
    PostShare,
    Scorecard,
    ScoreLine,
    SideScore,
)
from assessments.scheme import Blocker, BlockerKind, Deduction, Match, Scheme
from models.org import kind_label
from rules.findings import Finding, Side, SubjectKind, Verdict
from rules.periods import Period

CENT = Decimal("0.01")
ZERO = Decimal(0)
MEMBER_GROUP = "member"
MEMBER_LABEL = "党员"
VERDICT_LABELS = {Verdict.failed: "未通过", Verdict.no_evidence: "无证据", Verdict.passed: "通过"}

SubjectRef = tuple[Literal["unit", "person"], str]


def score(*, scheme: LoadedScheme, inputs: AssessmentInputs) -> AssessmentResult:
    """Score every unit and every cadre in ``inputs`` for its period under ``scheme``."""
    period = Period.parse(inputs.period)
    context = _Context.build(scheme.scheme, inputs, period)
    units = [_score_unit(context, code) for code in context.scored_units()]
    people = [_score_person(context, code) for code in context.scored_people()]
    units = rank_peers(units)
    people = rank_peers(people)
    previous = inputs.previous
    return AssessmentResult(
        period=period.label,
        scheme_name=scheme.scheme.scheme,
        scheme_version=scheme.scheme.version,
        scheme_title=scheme.scheme.title,
        scheme_sha256=scheme.sha256,
        inputs_sha256=inputs.sha256(),
        pack_versions=inputs.pack_versions(),
        previous_period=previous.period if previous else None,
        previous_source=previous.source if previous else None,
        evidence=context.summary,
        units=units,
        people=people,
        commendations=shortlist(scheme=scheme.scheme, inputs=inputs, units=units, people=people),
        method=_method_notes(scheme.scheme),
    )


def within(label: str, period: Period) -> bool:
    """Whether a finding's period lies inside the assessed one (monthly findings of a quarter).

    Findings without a period (record checks) were selected by date when the snapshot was taken.
    """
    if not label:
        return True
    inner = _parse_period(label)
    return period.start <= inner.start and inner.end <= period.end


@lru_cache(maxsize=256)
def _parse_period(label: str) -> Period:
    return Period.parse(label)


@dataclass
class _Context:
    scheme: Scheme
    inputs: AssessmentInputs
    period: Period
    summary: EvidenceSummary
    rules: dict[tuple[str, str], RuleInfo]
    units: dict[str, UnitInfo]
    people: dict[str, PersonInfo]
    by_unit_subject: dict[str, list[Finding]] = field(default_factory=lambda: defaultdict(list))
    by_unit_code: dict[tuple[str, str], list[Finding]] = field(
        default_factory=lambda: defaultdict(list)
    )
    by_person: dict[str, list[Finding]] = field(default_factory=lambda: defaultdict(list))
    posts: dict[str, list[PostHeld]] = field(default_factory=lambda: defaultdict(list))
    decisions: dict[SubjectRef, list[DecisionRecord]] = field(
        default_factory=lambda: defaultdict(list)
    )
    awards: dict[SubjectRef, list[AwardRecord]] = field(default_factory=lambda: defaultdict(list))
    # Open cases by the subject they weigh on: a unit (its own, or its records'), the bearer,
    # the person a personal duty is about.
    open_cases: dict[SubjectRef, list[CaseSummary]] = field(
        default_factory=lambda: defaultdict(list)
    )
    previous: dict[SubjectRef, Decimal | None] = field(default_factory=dict)

    @classmethod
    def build(cls, scheme: Scheme, inputs: AssessmentInputs, period: Period) -> _Context:
        kept = [f for f in inputs.findings if within(f.period, period)]
        summary = EvidenceSummary(
            findings=len(kept),
            passed=sum(f.verdict is Verdict.passed for f in kept),
            failed=sum(f.verdict is Verdict.failed for f in kept),
            no_evidence=sum(f.verdict is Verdict.no_evidence for f in kept),
            ignored=len(inputs.findings) - len(kept),
        )
        context = cls(
            scheme=scheme,
            inputs=inputs,
            period=period,
            summary=summary,
            rules={(r.pack, r.rule_id): r for r in inputs.rules},
            units={u.code: u for u in inputs.units},
            people={p.code: p for p in inputs.people},
        )
        for f in kept:
            if f.subject_kind is SubjectKind.unit:
                context.by_unit_subject[f.subject_id].append(f)
            elif f.unit_code is not None:
                context.by_unit_code[(f.subject_kind.value, f.unit_code)].append(f)
            people = {f.bearer_person} if f.bearer_person else set()
            if f.subject_kind is SubjectKind.person:
                people.add(f.subject_id)
            for person in people:
                context.by_person[person].append(f)
        for post in inputs.posts:
            if post.days_within(period) > 0:
                context.posts[post.person_code].append(post)
        for d in inputs.decisions:
            context.decisions[(d.subject_kind, d.subject_id)].append(d)
        for a in inputs.awards:
            if period.contains(a.awarded_on):
                context.awards[(a.subject_kind, a.subject_id)].append(a)
        unit_kinds = {k.value for k in scheme.units.findings_of} - {SubjectKind.unit.value}
        for case in inputs.cases:
            if not case.open:
                continue
            refs: set[SubjectRef] = set()
            if case.subject_kind == SubjectKind.unit.value:
                refs.add(("unit", case.subject_id))
            elif case.subject_kind in unit_kinds and case.unit_code:
                refs.add(("unit", case.unit_code))
            if case.bearer_person:
                refs.add(("person", case.bearer_person))
            if case.subject_kind == SubjectKind.person.value:
                refs.add(("person", case.subject_id))
            for ref in refs:
                context.open_cases[ref].append(case)
        if inputs.previous:
            context.previous = {
                (s.subject_kind, s.subject_id): s.score for s in inputs.previous.scores
            }
        return context

    def scored_units(self) -> list[str]:
        kinds = set(self.scheme.units.kinds)
        return [u.code for u in self.inputs.units if u.kind in kinds]

    def scored_people(self) -> list[str]:
        posts = set(self.scheme.people.posts)
        codes = {p for p, held in self.posts.items() if any(h.post_name in posts for h in held)}
        if self.scheme.people.party_members:
            codes |= {
                p.code for p in self.inputs.people if p.party_member and p.code in self.by_person
            }
        return sorted(codes)

    def unit_findings(self, code: str) -> list[Finding]:
        found: list[Finding] = []
        for kind in self.scheme.units.findings_of:
            if kind is SubjectKind.unit:
                found += self.by_unit_subject.get(code, [])
            else:
                found += self.by_unit_code.get((kind.value, code), [])
        return sorted(found, key=_finding_order)

    def rule_title(self, f: Finding) -> str:
        info = self.rules.get((f.pack, f.rule_id))
        return info.title if info and info.title else f.rule_id

    def matches(self, match: Match, f: Finding) -> bool:
        if match.rules and f.rule_id not in match.rules:
            return False
        if match.tags:
            info = self.rules.get((f.pack, f.rule_id))
            if info is None or not set(info.tags) & set(match.tags):
                return False
        if match.side is not None and f.side is not match.side:
            return False
        if match.severity and f.severity not in match.severity:
            return False
        return not (match.packs and f.pack not in match.packs)


class _Ledger:
    """Running totals per subject, so every cap is applied exactly once and in order."""

    def __init__(self, scheme: Scheme) -> None:
        self.scheme = scheme
        self.item: dict[str, Decimal] = defaultdict(Decimal)
        self.item_rule: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self.side: dict[Side, Decimal] = defaultdict(Decimal)
        self.bonus_item: dict[str, Decimal] = defaultdict(Decimal)
        self.bonus_total = ZERO

    def charge(
        self, item: Deduction, rule_id: str, side: Side, nominal: Decimal
    ) -> tuple[Decimal, str | None]:
        side_rule = self.scheme.sides.of(side)
        limits: list[tuple[Decimal, str]] = []
        if item.cap_per_rule is not None:
            limits.append(
                (
                    item.cap_per_rule - self.item_rule[(item.id, rule_id)],
                    f"单条规则最多扣{_fmt(item.cap_per_rule)}分 / per-rule cap",
                )
            )
        if item.cap is not None:
            limits.append(
                (item.cap - self.item[item.id], f"本项最多扣{_fmt(item.cap)}分 / item cap")
            )
        limits.append(
            (
                side_rule.deduction_cap - self.side[side],
                f"{side_rule.title}最多扣{_fmt(side_rule.deduction_cap)}分 / side cap",
            )
        )
        charged, capped_by = self._limit(nominal, limits)
        self.item_rule[(item.id, rule_id)] += charged
        self.item[item.id] += charged
        self.side[side] += charged
        return charged, capped_by

    def charge_side(self, side: Side, nominal: Decimal) -> tuple[Decimal, str | None]:
        side_rule = self.scheme.sides.of(side)
        charged, capped_by = self._limit(
            nominal,
            [
                (
                    side_rule.deduction_cap - self.side[side],
                    f"{side_rule.title}最多扣{_fmt(side_rule.deduction_cap)}分 / side cap",
                )
            ],
        )
        self.side[side] += charged
        return charged, capped_by

    def grant(
        self, bonus_id: str, cap: Decimal | None, nominal: Decimal
    ) -> tuple[Decimal, str | None]:
        limits: list[tuple[Decimal, str]] = []
        if cap is not None:
            limits.append((cap - self.bonus_item[bonus_id], f"本项最多加{_fmt(cap)}分 / item cap"))
        if self.scheme.bonus_cap is not None:
            limits.append(
                (
                    self.scheme.bonus_cap - self.bonus_total,
                    f"加分合计最多{_fmt(self.scheme.bonus_cap)}分 / bonus cap",
                )
            )
        granted, capped_by = self._limit(nominal, limits)
        self.bonus_item[bonus_id] += granted
        self.bonus_total += granted
        return granted, capped_by

    @staticmethod
    def _limit(nominal: Decimal, limits: list[tuple[Decimal, str]]) -> tuple[Decimal, str | None]:
        amount, capped_by = nominal, None
        for remaining, label in limits:
            remaining = max(remaining, ZERO)
            if remaining < amount:
                amount, capped_by = remaining, label
        return amount, capped_by


@dataclass
class _Scored:
    lines: list[ScoreLine]
    sides: list[SideScore]
    score: Decimal | None
    evidence: EvidenceStatus
    passed: int
    failed: int
    no_evidence: int


def _score_subject(
    context: _Context,
    ref: SubjectRef,
    findings: list[Finding],
    post_of: dict[tuple[str, str], str] | None = None,
) -> _Scored:
    """Lines, side scores and total for one subject. ``post_of`` maps (post, unit) to the post
    key for persons, so each line records the post it was borne under."""
    scheme = context.scheme
    ledger = _Ledger(scheme)
    lines: list[ScoreLine] = []
    passed = sum(f.verdict is Verdict.passed for f in findings)
    failed = sum(f.verdict is Verdict.failed for f in findings)
    undecided = sum(f.verdict is Verdict.no_evidence for f in findings)
    evidence: EvidenceStatus = (
        "none" if passed + failed == 0 else "partial" if undecided else "complete"
    )
    if not findings and scheme.no_evidence.without_findings == "unrated":
        line = ScoreLine(
            kind="no_evidence",
            side=Side.integrity,
            item_id="no-evidence",
            item_title=scheme.no_evidence.title,
            label="无证据",
            nominal=ZERO,
            points=ZERO,
            explanation=f"{context.period.label} 无任何检查结果，不予评分 / "
            "no finding at all this period: unrated, not perfect",
        )
        return _Scored([line], [], None, evidence, 0, 0, 0)
    for f in findings:
        if f.verdict is Verdict.passed:
            continue
        item = next((d for d in scheme.deductions if context.matches(d.match, f)), None)
        post = None
        if post_of is not None and f.bearer_person == ref[1] and f.bearer_post:
            post = post_of.get((f.bearer_post, f.unit_code or "")) or post_of.get(
                (f.bearer_post, "")
            )
        if item is None:
            # Listed, at no cost, so a gap in the scheme shows instead of vanishing.
            item_id, item_title, nominal = "-", "方案未规定扣分 / not covered by the scheme", ZERO
            charged, capped_by = ZERO, None
        else:
            item_id, item_title = item.id, item.title
            nominal = item.fail if f.verdict is Verdict.failed else item.no_evidence
            charged, capped_by = ledger.charge(item, f.rule_id, f.side, nominal)
        lines.append(
            ScoreLine(
                kind="deduction",
                side=f.side,
                item_id=item_id,
                item_title=item_title,
                rule_id=f.rule_id,
                rule_title=context.rule_title(f),
                finding_subject=f.subject_id,
                finding_period=f.period,
                verdict=f.verdict,
                label=VERDICT_LABELS[f.verdict],
                nominal=nominal,
                points=-charged,
                capped_by=capped_by,
                post=post,
                explanation=f.explanation,
            )
        )
    if not findings:
        lines += _no_evidence_deduction(context, ledger)
    lines += _bonus_lines(context, ledger, ref, findings)
    sides = []
    for side in (Side.business, Side.integrity):
        rule = scheme.sides.of(side)
        deducted = -sum((ln.points for ln in lines if ln.side is side and ln.points < 0), ZERO)
        bonus = sum((ln.points for ln in lines if ln.side is side and ln.points > 0), ZERO)
        sides.append(
            SideScore(
                side=side,
                title=rule.title,
                base=rule.base,
                deducted=deducted,
                bonus=bonus,
                score=rule.base - deducted + bonus,
            )
        )
    total = sum((s.score for s in sides), ZERO)
    return _Scored(lines, sides, total, evidence, passed, failed, undecided)


def _no_evidence_deduction(context: _Context, ledger: _Ledger) -> list[ScoreLine]:
    """``without_findings: deduct``: charge the integrity side first, then business."""
    rule = context.scheme.no_evidence
    remaining = rule.deduction
    lines = []
    for side in (Side.integrity, Side.business):
        if remaining <= 0:
            break
        charged, capped_by = ledger.charge_side(side, remaining)
        lines.append(
            ScoreLine(
                kind="no_evidence",
                side=side,
                item_id="no-evidence",
                item_title=rule.title,
                label="无证据",
                nominal=remaining,
                points=-charged,
                capped_by=capped_by,
                explanation=f"{context.period.label} 无任何检查结果 / no finding at all this period",
            )
        )
        remaining -= charged
    return lines


def _bonus_lines(
    context: _Context, ledger: _Ledger, ref: SubjectRef, findings: list[Finding]
) -> list[ScoreLine]:
    lines = []
    for bonus in context.scheme.bonuses:
        for award in context.awards.get(ref, []):
            if award.kind not in bonus.awards:
                continue
            granted, capped_by = ledger.grant(bonus.id, bonus.cap, bonus.points)
            lines.append(
                ScoreLine(
                    kind="bonus",
                    side=bonus.side,
                    item_id=bonus.id,
                    item_title=bonus.title,
                    label="加分",
                    nominal=bonus.points,
                    points=granted,
                    capped_by=capped_by,
                    explanation=f"{award.awarded_on.isoformat()} {award.kind}：{award.title}",
                )
            )
        if bonus.passing is None:
            continue
        for f in findings:
            if f.verdict is not Verdict.passed or not context.matches(bonus.passing, f):
                continue
            granted, capped_by = ledger.grant(bonus.id, bonus.cap, bonus.points)
            lines.append(
                ScoreLine(
                    kind="bonus",
                    side=bonus.side,
                    item_id=bonus.id,
                    item_title=bonus.title,
                    rule_id=f.rule_id,
                    rule_title=context.rule_title(f),
                    finding_subject=f.subject_id,
                    finding_period=f.period,
                    verdict=f.verdict,
                    label="加分",
                    nominal=bonus.points,
                    points=granted,
                    capped_by=capped_by,
                    explanation=f.explanation or _passed_line(f),
                )
            )
    return lines


def _passed_line(f: Finding) -> str:
    """A pass as a line of the report. Inspections explain a pass only when a case needs it, so
    most passes come without an explanation: ``2026-07 通过 / passed``."""
    return f"{f.period or f.subject_id} 通过 / passed"


def _score_unit(context: _Context, code: str) -> Scorecard:
    unit = context.units[code]
    findings = context.unit_findings(code)
    scored = _score_subject(context, ("unit", code), findings)
    blockers = _blockers(context, ("unit", code))
    return _card(
        context,
        scored,
        blockers,
        subject_kind="unit",
        subject_id=code,
        name=unit.name,
        unit_code=code,
        unit_name=unit.name,
        peer_group=f"unit:{unit.kind}",
        peer_label=kind_label(unit.kind),
    )


def _score_person(context: _Context, code: str) -> Scorecard:
    person = context.people.get(code)
    units = {c: u.name for c, u in context.units.items()}
    held = context.posts.get(code, [])
    days: dict[tuple[str, str], int] = defaultdict(int)
    first: dict[tuple[str, str], PostHeld] = {}
    last: dict[tuple[str, str], PostHeld] = {}
    for h in sorted(held, key=lambda h: h.since):
        key = (h.post_name, h.unit_code)
        days[key] += h.days_within(context.period)
        first.setdefault(key, h)
        last[key] = h
    post_of = {key: f"{key[0]}@{key[1]}" for key in days}
    # A bearer post without a unit on the finding still finds the post by name when unique.
    by_name: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in days:
        by_name[key[0]].append(key)
    for name, keys in by_name.items():
        if len(keys) == 1:
            post_of[(name, "")] = post_of[keys[0]]
    findings = sorted(
        {(f.pack, *f.key): f for f in context.by_person.get(code, [])}.values(), key=_finding_order
    )
    scored = _score_subject(context, ("person", code), findings, post_of)
    shares = _post_shares(context, scored, days, first, last, post_of, units)
    unit_code: str | None
    # Peers are holders of a scored post: a concurrent post outside the scheme (工会主席 held
    # beside 班子成员) shares the score but never decides whom the cadre is ranked with.
    candidates = [k for k in days if k[0] in context.scheme.people.posts] or list(days)
    if candidates:
        main = max(candidates, key=lambda k: (days[k], last[k].since, k))
        peer_group, peer_label, unit_code = f"post:{main[0]}", main[0], main[1]
    else:
        peer_group, peer_label = MEMBER_GROUP, MEMBER_LABEL
        unit_code = person.unit_code if person else None
    return _card(
        context,
        scored,
        _blockers(context, ("person", code)),
        subject_kind="person",
        subject_id=code,
        name=person.name if person else code,
        unit_code=unit_code,
        unit_name=units.get(unit_code or "", ""),
        party_member=bool(person and person.party_member),
        peer_group=peer_group,
        peer_label=peer_label,
        posts=shares,
    )


def _post_shares(
    context: _Context,
    scored: _Scored,
    days: dict[tuple[str, str], int],
    first: dict[tuple[str, str], PostHeld],
    last: dict[tuple[str, str], PostHeld],
    post_of: dict[tuple[str, str], str],
    units: dict[str, str],
) -> list[PostShare]:
    total_days = sum(days.values())
    if not total_days or scored.score is None:
        return []
    held_keys = set(post_of[k] for k in days)
    unattached = sum((ln.points for ln in scored.lines if ln.post not in held_keys), ZERO)
    base = context.scheme.base_total
    shares = []
    for key in sorted(days, key=lambda k: (first[k].since, k)):
        share = Decimal(days[key]) / Decimal(total_days)
        borne = sum((ln.points for ln in scored.lines if ln.post == post_of[key]), ZERO)
        shared = share * unattached
        until = min(last[key].until or context.period.end, context.period.end)
        shares.append(
            PostShare(
                post_name=key[0],
                unit_code=key[1],
                unit_name=units.get(key[1], key[1]),
                since=max(first[key].since, context.period.start),
                until=until,
                days=days[key],
                share=share.quantize(Decimal("0.0001")),
                base_share=(share * base).quantize(CENT),
                borne=borne,
                shared=shared.quantize(CENT),
                contribution=(share * base + borne + shared).quantize(CENT),
            )
        )
    return shares


def _card(
    context: _Context,
    scored: _Scored,
    blockers: list[BlockerHit],
    *,
    subject_kind: Literal["unit", "person"],
    subject_id: str,
    name: str,
    unit_code: str | None,
    unit_name: str,
    peer_group: str,
    peer_label: str,
    party_member: bool = False,
    posts: Iterable[PostShare] = (),
) -> Scorecard:
    scheme = context.scheme
    computed = None if scored.score is None else scheme.grade_of(scored.score)
    grade = computed or scheme.no_evidence.title
    if computed is not None:
        if scored.evidence == "none" and scheme.no_evidence.grade_cap:
            grade = scheme.worse_grade(grade, scheme.no_evidence.grade_cap)
        for hit in blockers:
            if hit.cap_grade:
                grade = scheme.worse_grade(grade, hit.cap_grade)
    previous = context.previous.get((subject_kind, subject_id))
    delta = None
    if previous is not None and scored.score is not None:
        delta = scored.score - previous
    return Scorecard(
        subject_kind=subject_kind,
        subject_id=subject_id,
        name=name,
        unit_code=unit_code,
        unit_name=unit_name,
        party_member=party_member,
        peer_group=peer_group,
        peer_label=peer_label,
        evidence=scored.evidence,
        passed=scored.passed,
        failed=scored.failed,
        no_evidence=scored.no_evidence,
        sides=scored.sides,
        score=scored.score,
        computed_grade=computed,
        grade=grade,
        blockers=blockers,
        lines=scored.lines,
        posts=list(posts),
        previous_score=previous,
        delta=delta,
    )


def _blockers(context: _Context, ref: SubjectRef) -> list[BlockerHit]:
    hits: list[BlockerHit] = []
    for blocker in context.scheme.blockers:
        if blocker.kind is BlockerKind.decision_in_impact_period:
            hits += _impact_hits(context, blocker, ref)
            continue
        for case in context.open_cases.get(ref, []):
            if blocker.severity and case.severity not in blocker.severity:
                continue
            hits.append(
                _hit(
                    blocker,
                    f"案件 {case.rule_id} / {case.subject_id} / {case.period or '-'} 未办结"
                    f"（状态 {case.state}，严重程度 {case.severity.value}）",
                )
            )
    return hits


def _impact_hits(context: _Context, blocker: Blocker, ref: SubjectRef) -> list[BlockerHit]:
    hits = []
    forms = set(blocker.forms or context.scheme.impact_periods)
    for decision in context.decisions.get(ref, []):
        if decision.form not in forms:
            continue
        months = context.scheme.impact_periods[decision.form]
        end = max(
            decision.decided_on, add_months(decision.decided_on, months) - dt.timedelta(days=1)
        )
        if decision.decided_on > context.period.end or end < context.period.start:
            continue
        hits.append(
            _hit(
                blocker,
                f"{decision.decided_on.isoformat()} {decision.form}，影响期{months}个月至 "
                f"{end.isoformat()} / impact period until {end.isoformat()}",
            )
        )
    return hits


def _hit(blocker: Blocker, reason: str) -> BlockerHit:
    return BlockerHit(
        blocker_id=blocker.id,
        title=blocker.title,
        reason=reason,
        cap_grade=blocker.cap_grade,
        blocks_commendation=blocker.blocks_commendation,
    )


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clipped to the month's end (31 Aug + 6 months = 28 Feb)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _finding_order(f: Finding) -> tuple[str, str, str, str]:
    return (f.rule_id, f.subject_id, f.period, f.pack)


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _method_notes(scheme: Scheme) -> list[str]:
    notes = [
        "扣分项按方案顺序匹配，每条检查结果只计一次（首个匹配项）；上限按规则、项目、方面依次计算。"
        " / Each finding falls under the first matching item; caps apply per rule, item, then side.",
        "无证据不视为通过：按方案“无证据”扣分；本期无任何检查结果的对象"
        + ("不予评分。" if scheme.no_evidence.without_findings == "unrated" else "按方案扣分。")
        + " / No evidence is never a pass.",
        "调岗或兼任：岗位承担的检查结果计入该岗位；基础分、个人职责扣分和加分按任职天数分摊；"
        "按任职最长的岗位参加同岗排名。 / Post changes: findings count against the post they were"
        " borne under; the rest is shared by days held; ranked with the post held longest.",
        "排名采用并列排名（1,1,3）；" + TIEBREAK_NOTE,
        "影响期：决定日起按月计算，与考核期有交叠即视为在影响期内。"
        " / Impact periods run from the decision date and count if they overlap the period.",
    ]
    return notes
