"""Taking the input snapshot of an assessment from the database.

What is read, and why that way:

- the org (units, people, post assignments overlapping the period) as it stands now: an
  assignment already carries its dates, so a later edit of the tree does not move the past;
- findings whose period lies inside the assessed one (its months, quarters, halves), the latest
  verdict per key from the verdict sets (``models.verdicts``); findings without a period (record
  checks) belong to the period of the inspection that first found them;
- active cases (the only ones a blocker looks at);
- confirmed accountability decisions, dated by their decision event, named in Chinese as the
  scheme's ``impact_periods`` name them (诫勉, 通报 …);
- rule titles and catalogue items from the rule packs given (titles for the report, catalogue
  items as the tags a scheme may match on).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from assessments.inputs import (
    AssessmentInputs,
    CaseSummary,
    DecisionRecord,
    PersonInfo,
    PostHeld,
    PreviousScores,
    RuleInfo,
    UnitInfo,
)
from assessments.scheme import Scheme
from assessments.scoring import add_months
from dualduty.settings import get_settings
from models.cases import (
    ACTIVE_STATES,
    FORM_LABELS,
    AccountabilityForm,
    Case,
    CaseEvent,
    DecisionKind,
    Outcome,
)
from models.cases.tables import EventKind
from models.org import Person, PostAssignment, Unit
from models.verdicts import latest_verdicts
from rules.compiler import CompiledPack
from rules.engine import findings
from rules.findings import Finding, Severity, SubjectKind
from rules.periods import Period, PeriodKind

_FINER = {
    PeriodKind.month: [PeriodKind.month],
    PeriodKind.quarter: [PeriodKind.month, PeriodKind.quarter],
    PeriodKind.half: [PeriodKind.month, PeriodKind.quarter, PeriodKind.half],
    PeriodKind.year: [PeriodKind.month, PeriodKind.quarter, PeriodKind.half, PeriodKind.year],
}


def form_name(form: str) -> str:
    """A case decision's form code as the scheme names it: ``admonition`` -> ``诫勉``."""
    try:
        return FORM_LABELS[AccountabilityForm(form)].split(" / ")[0]
    except ValueError:
        return form


def period_labels(period: Period) -> list[str]:
    """The labels of every period inside ``period`` (a quarter: its three months and itself)."""
    return [p.label for kind in _FINER[period.kind] for p in period.within(kind)]


def rule_infos(packs: Iterable[CompiledPack]) -> list[RuleInfo]:
    return [
        RuleInfo(pack=pack.id, rule_id=rule.id, title=rule.title.zh, tags=list(rule.catalogue))
        for pack in packs
        for rule in pack.pack.rules
    ]


def gather_inputs(
    session: Session,
    *,
    period: Period,
    scheme: Scheme,
    rules: list[RuleInfo] | None = None,
    previous: PreviousScores | None = None,
) -> AssessmentInputs:
    return AssessmentInputs(
        period=period.label,
        previous=previous,
        units=[
            UnitInfo(code=u.code, name=u.name, kind=u.kind, parent_code=u.parent_code)
            for u in session.scalars(select(Unit))
        ],
        people=[
            PersonInfo(code=p.code, name=p.name, unit_code=p.unit_code, party_member=p.party_member)
            for p in session.scalars(select(Person))
        ],
        posts=[
            PostHeld(
                person_code=a.person_code,
                post_name=a.post_name,
                unit_code=a.unit_code,
                since=a.since,
                until=a.until,
            )
            for a in session.scalars(
                select(PostAssignment).where(
                    PostAssignment.since <= period.end,
                    or_(PostAssignment.until.is_(None), PostAssignment.until >= period.start),
                )
            )
        ],
        rules=rules or [],
        findings=_findings(session, period),
        cases=_open_cases(session),
        decisions=_decisions(session, period, scheme),
    )


def _findings(session: Session, period: Period) -> list[Finding]:
    """The latest verdict per key of every period inside ``period``, and the findings without a
    period first found by an inspection of one of those periods (the verdict sets)."""
    return findings(latest_verdicts(session, periods=period_labels(period)))


def _open_cases(session: Session) -> list[CaseSummary]:
    return [
        CaseSummary(
            rule_id=c.rule_id,
            subject_kind=c.subject_kind,
            subject_id=c.subject_id,
            period=c.period,
            unit_code=c.unit_code,
            bearer_person=c.bearer_person,
            severity=Severity(c.severity),
            state=c.state,
            open=True,
        )
        for c in session.scalars(
            select(Case).where(Case.state.in_([s.value for s in ACTIVE_STATES]))
        )
    ]


def _decisions(session: Session, period: Period, scheme: Scheme) -> list[DecisionRecord]:
    """Confirmed decisions that can still weigh on the period: decided before its end, and no
    longer ago than the longest impact period the scheme knows."""
    zone = ZoneInfo(get_settings().timezone)
    earliest = add_months(period.start, -max(scheme.impact_periods.values(), default=0))
    decided = (
        select(CaseEvent.case_id, func.max(CaseEvent.at).label("at"))
        .where(
            CaseEvent.kind == EventKind.decision.value,
            CaseEvent.detail["kind"].as_string() == DecisionKind.record_accountability.value,
        )
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    rows = session.execute(
        select(Case, decided.c.at)
        .join(decided, Case.id == decided.c.case_id)
        .where(and_(Case.outcome == Outcome.confirmed.value, Case.accountability_form.is_not(None)))
    )
    records = []
    for case, at in rows:
        decided_on = _as_utc(at).astimezone(zone).date()
        if not earliest <= decided_on <= period.end:
            continue
        assert case.accountability_form is not None
        if case.bearer_person:
            subject_kind, subject_id = "person", case.bearer_person
        elif case.subject_kind == SubjectKind.unit.value:
            subject_kind, subject_id = "unit", case.subject_id
        elif case.unit_code:
            subject_kind, subject_id = "unit", case.unit_code
        else:
            continue
        records.append(
            DecisionRecord(
                subject_kind=subject_kind,
                subject_id=subject_id,
                form=form_name(case.accountability_form),
                decided_on=decided_on,
                case_rule_id=case.rule_id,
                reason=f"案件 {case.id}：{case.rule_id} / {case.subject_id} / {case.period or '-'}",
            )
        )
    return records


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
