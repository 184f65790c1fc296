"""Reconcile an inspection's findings into cases: one case per (rule, subject, period).

- a failing finding opens a case, or updates the still-open one when its content changed;
- a passing finding resolves an active case and marks it ``late`` when the duty deadline had
  passed (整改/补录 late is not never): the case and its history stay;
- a failing finding on a resolved case reopens *the same* case, its ladder where it left off;
- ``no-evidence`` opens and resolves nothing, so a source outage can never close cases;
- the same findings again change nothing and add nothing (no rows, no events, no versions).
Decided and closed cases keep their state; a changed finding is still recorded in their history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dualduty.errors import ConflictError, UserError
from dualduty.problems import Problem
from models import findings as stored_findings
from models.audit import AuditDraft, lock_chain, record_many
from models.cases.history import add_event, claim, local_date
from models.cases.tables import ACTIVE_STATES, SEVERITY_RANK, Case, CaseState, EventKind
from models.findings import StoredFinding
from rules.findings import Finding, Verdict
from rules.periods import Period

ACTOR = "system:reconcile"
_LOOKUP_CHUNK = 500
_CONFLICT_RETRIES = 3


class ReconcileReport(BaseModel):
    findings: int = 0
    findings_stored: int = 0  # rows new to the findings table
    opened: list[int] = Field(default_factory=list)
    reopened: list[int] = Field(default_factory=list)
    resolved: list[int] = Field(default_factory=list)
    resolved_late: list[int] = Field(default_factory=list)  # subset of resolved
    updated: list[int] = Field(default_factory=list)  # finding content changed, state kept
    still_open: int = 0  # failing findings whose case was already active
    ignored: int = 0  # passing without a case, or no-evidence

    @property
    def changed(self) -> bool:
        return bool(self.opened or self.reopened or self.resolved or self.updated)


def reconcile(
    session: Session, *, findings: list[Finding], inspection_id: int | None, now: dt.datetime
) -> ReconcileReport:
    _refuse_duplicate_keys(findings)
    report = ReconcileReport(findings=len(findings))
    # Serialise with every other writer of cases (lock order: the chain, then cases): what is
    # read below is then current, and two overlapping inspections cannot both create a case.
    lock_chain(session)
    before = session.scalar(select(StoredFinding.id).order_by(StoredFinding.id.desc()).limit(1))
    rows = stored_findings.store(session, findings=findings, inspection_id=inspection_id, now=now)
    report.findings_stored = len({i for i in rows if before is None or i > before})
    cases = _load_cases(session, [f.key for f in findings])
    today = local_date(now)
    drafts: list[AuditDraft] = []
    new_cases: list[Case] = []

    todo: list[tuple[Case, Finding, int]] = []
    for finding, finding_id in zip(findings, rows, strict=True):
        case = cases.get(finding.key)
        if case is None:
            if finding.verdict is Verdict.failed:
                new_cases.append(_new_case(finding, finding_id, now=now, today=today))
            else:
                report.ignored += 1
        else:
            todo.append((case, finding, finding_id))

    changing = [item for item in todo if _action(*item) is not None]
    for attempt in range(_CONFLICT_RETRIES):
        conflicted = {c.id for c in claim(session, [c for c, _, _ in changing], now=now)}
        for case, finding, finding_id in changing:
            if case.id not in conflicted:
                action = _action(case, finding, finding_id)
                assert action is not None
                _perform(
                    session, case, finding, finding_id, action, now=now, today=today, report=report
                )
        if not conflicted:
            break
        if attempt == _CONFLICT_RETRIES - 1:
            raise ConflictError(
                f"案件在对账期间被反复修改 / cases {sorted(conflicted)[:10]} kept changing during "
                "reconcile; run the inspection again"
            )
        # Someone changed these after we loaded them: reload and decide again what to do.
        session.scalars(
            select(Case).where(Case.id.in_(conflicted)).execution_options(populate_existing=True)
        ).all()
        changing = [item for item in changing if item[0].id in conflicted and _action(*item)]
    changed = {*report.updated, *report.resolved, *report.reopened}
    for case, finding, _row in todo:
        if case.is_active and finding.verdict is Verdict.failed:
            report.still_open += 1
        elif case.id not in changed:
            report.ignored += 1

    if new_cases:
        session.add_all(new_cases)
        session.flush()
        for case in new_cases:
            add_event(
                session,
                case,
                kind=EventKind.opened,
                actor=ACTOR,
                now=now,
                detail={"finding_id": case.finding_id, "inspection_id": inspection_id},
            )
            report.opened.append(case.id)

    for case_id in report.opened:
        drafts.append(_draft("case.open", case_id, inspection_id))
    for case_id in report.reopened:
        drafts.append(_draft("case.reopen", case_id, inspection_id))
    for case_id in report.resolved:
        drafts.append(
            _draft("case.resolve", case_id, inspection_id, late=case_id in report.resolved_late)
        )
    record_many(session, drafts=drafts, now=now)
    session.flush()
    return report


def _draft(action: str, case_id: int, inspection_id: int | None, **extra: bool) -> AuditDraft:
    return AuditDraft(
        actor=ACTOR,
        action=action,
        subject_type="case",
        subject_id=str(case_id),
        detail={"inspection_id": inspection_id, **extra},
    )


def _refuse_duplicate_keys(findings: list[Finding]) -> None:
    seen: set[tuple[str, str, str]] = set()
    duplicates: list[tuple[str, str, str]] = []
    for finding in findings:
        if finding.key in seen:
            duplicates.append(finding.key)
        seen.add(finding.key)
    if duplicates:
        raise UserError(
            [
                Problem(
                    message=f"同一键出现多次 / finding key repeated: {rule} {subject} {period}",
                    field=f"finding {rule}/{subject}/{period or '-'}",
                    hint="the engine must give one verdict per rule, subject and period",
                )
                for rule, subject, period in duplicates[:20]
            ]
        )


def _load_cases(
    session: Session, keys: list[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Case]:
    by_rule_period: dict[tuple[str, str], list[str]] = defaultdict(list)
    for rule_id, subject_id, period in keys:
        by_rule_period[(rule_id, period)].append(subject_id)
    cases: dict[tuple[str, str, str], Case] = {}
    for (rule_id, period), subjects in by_rule_period.items():
        for start in range(0, len(subjects), _LOOKUP_CHUNK):
            chunk = subjects[start : start + _LOOKUP_CHUNK]
            query = select(Case).where(
                Case.rule_id == rule_id, Case.period == period, Case.subject_id.in_(chunk)
            )
            for case in session.scalars(query.execution_options(populate_existing=True)):
                cases[(case.rule_id, case.subject_id, case.period)] = case
    return cases


def deadline_of(finding: Finding, *, today: dt.date) -> dt.date:
    """The duty deadline T: the period's last day; for checks without a period, today."""
    return Period.parse(finding.period).end if finding.period else today


def _new_case(finding: Finding, finding_id: int, *, now: dt.datetime, today: dt.date) -> Case:
    deadline = deadline_of(finding, today=today)
    return Case(
        rule_id=finding.rule_id,
        subject_kind=finding.subject_kind.value,
        subject_id=finding.subject_id,
        period=finding.period,
        pack=finding.pack,
        unit_code=finding.unit_code,
        side=finding.side.value,
        severity=finding.severity.value,
        severity_rank=SEVERITY_RANK[finding.severity],
        bearer_person=finding.bearer_person,
        bearer_post=finding.bearer_post,
        finding_id=finding_id,
        state=CaseState.open.value,
        late=False,
        reopen_count=0,
        deadline_on=deadline,
        due_on=deadline,
        ladder=finding.ladder,
        ladder_anchor_on=today,
        ladder_due_on=today if finding.ladder else None,
        opened_at=now,
        updated_at=now,
        version=1,
    )


def _take_finding(case: Case, finding: Finding, finding_id: int) -> None:
    case.finding_id = finding_id
    case.unit_code = finding.unit_code
    case.severity = finding.severity.value
    case.severity_rank = SEVERITY_RANK[finding.severity]
    case.side = finding.side.value
    case.bearer_person = finding.bearer_person
    case.bearer_post = finding.bearer_post


class _Action(StrEnum):
    resolve = "resolve"
    reopen = "reopen"
    update = "update"


def _action(case: Case, finding: Finding, finding_id: int) -> _Action | None:
    if case.state_enum in ACTIVE_STATES and finding.verdict is Verdict.passed:
        return _Action.resolve
    if case.state_enum is CaseState.resolved and finding.verdict is Verdict.failed:
        return _Action.reopen
    if case.finding_id != finding_id:
        return _Action.update
    return None


def _perform(
    session: Session,
    case: Case,
    finding: Finding,
    finding_id: int,
    action: _Action,
    *,
    now: dt.datetime,
    today: dt.date,
    report: ReconcileReport,
) -> None:
    """Change a claimed case (its version already bumped) and record the event."""
    before = case.state
    previous_finding = case.finding_id
    _take_finding(case, finding, finding_id)
    match action:
        case _Action.resolve:
            case.state = CaseState.resolved.value
            case.resolved_at = now
            case.late = today > case.deadline_on
            case.ladder_due_on = None
            case.pending_step = None
            case.approved_step = None
            add_event(
                session,
                case,
                kind=EventKind.resolved,
                actor=ACTOR,
                now=now,
                from_state=before,
                detail={
                    "finding_id": finding_id,
                    "late": case.late,
                    "days_late": max(0, (today - case.deadline_on).days),
                },
            )
            report.resolved.append(case.id)
            if case.late:
                report.resolved_late.append(case.id)
        case _Action.reopen:
            case.state = CaseState.open.value
            case.reopen_count += 1
            case.resolved_at = None
            case.late = False
            case.paused_until = None
            case.ladder_anchor_on = today
            case.ladder_due_on = today if case.ladder else None
            add_event(
                session,
                case,
                kind=EventKind.reopened,
                actor=ACTOR,
                now=now,
                from_state=before,
                detail={"finding_id": finding_id, "reopen_count": case.reopen_count},
            )
            report.reopened.append(case.id)
        case _Action.update:
            add_event(
                session,
                case,
                kind=EventKind.finding_updated,
                actor=ACTOR,
                now=now,
                from_state=before,
                detail={
                    "finding_id": finding_id,
                    "previous_finding_id": previous_finding,
                    "verdict": finding.verdict.value,
                },
            )
            report.updated.append(case.id)
