"""Escalation: move every due case one or more rungs up its ladder.

One pass looks only at active cases whose ``ladder_due_on`` has come (an indexed query, so a
pass over 100,000 open cases touches only the due ones). For each it plans the next rung with
``plan`` (pure: the case, the ladder, today, the calendar) and then applies the plan:

- a pause (rectification until a date) holds the ladder; the next rung counts from its end;
- reminders due before the duty deadline lapse once the deadline has passed;
- a rung that ``requires_approval`` moves the case to ``escalated`` and waits, with nothing
  sent, until an inspector's ``approve_next_step`` decision;
- a rung that fires writes a case event, an audit entry and one outbox row per
  (channel, recipient) through ``models.outbox.enqueue``, all in the caller's transaction.

Re-running is safe at any point: a committed rung is not due again, and the outbox key
(case, step, channel, recipient) turns a repeated enqueue into nothing. Anything that can fail
for one case (an unknown ladder, a recipient lookup) is reported and skipped before that case is
changed, so one bad case never stops the run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from dualduty.errors import ConflictError, NotFoundError, UserError
from dualduty.problems import Problem
from models import org, outbox, users
from models.audit import lock_chain
from models.cases.history import add_audited_event, bump, local_date
from models.cases.tables import ACTIVE_STATES, Case, CaseState, EventKind
from rules.ladders import Anchor, Ladder, LadderStep, Recipient, RecipientRole
from rules.workdays import WorkCalendar

log = logging.getLogger(__name__)

ACTOR = "system:escalation"
DISCIPLINE_POSTS: tuple[str, ...] = ("纪委书记", "纪检委员")


# --- recipients -------------------------------------------------------------------------------


class RecipientResolver(Protocol):
    """Turns a ladder role into outbox recipients (person codes or ``group:NAME``)."""

    def resolve(
        self, session: Session, *, recipient: Recipient, case: Case, on: dt.date
    ) -> list[str]: ...


class OrgRecipientResolver:
    """Roles resolved through the organisation on the day the rung fires, and the console's
    users for inspectors. A post looked up at the case's unit falls back to the nearest unit
    above it that has a holder (a branch without its own 纪检委员 reports to the mine's 纪委书记).
    Inspectors are those the case routes to in the console (``users.eligible_inspectors``): a
    recused inspector is never told about a case they must stay out of.
    """

    def __init__(
        self,
        *,
        discipline_posts: Sequence[str] = DISCIPLINE_POSTS,
        relatives: users.RelativesLookup = users.no_declared_relatives,
    ) -> None:
        self.discipline_posts = tuple(discipline_posts)
        self.relatives = relatives

    def resolve(
        self, session: Session, *, recipient: Recipient, case: Case, on: dt.date
    ) -> list[str]:
        match recipient.role:
            case RecipientRole.bearer:
                return [case.bearer_person] if case.bearer_person else []
            case RecipientRole.bearer_superior:
                return self._superior(session, case=case, on=on)
            case RecipientRole.unit_head:
                return self._nearest(
                    session,
                    case=case,
                    lookup=lambda code: [
                        p.code for p, _ in org.unit_heads(session, unit_code=code, on=on)
                    ],
                )
            case RecipientRole.unit_discipline:
                return self._posts(session, case=case, posts=self.discipline_posts, on=on)
            case RecipientRole.unit_post:
                assert recipient.post is not None
                return self._posts(session, case=case, posts=(recipient.post,), on=on)
            case RecipientRole.inspectors:
                found = users.eligible_inspectors(
                    session,
                    subject=users.RecusalSubject.of_case(case, today=on),
                    relatives=self.relatives,
                )
                return [u.person_code for u in found if u.person_code]
            case RecipientRole.group:
                assert recipient.group is not None
                return [outbox.group_recipient(recipient.group)]

    def _superior(self, session: Session, *, case: Case, on: dt.date) -> list[str]:
        if case.bearer_person is None or org.get_person(session, code=case.bearer_person) is None:
            return []
        unit = (
            case.unit_code
            if case.unit_code and org.get_unit(session, code=case.unit_code)
            else None
        )
        chain = org.supervisor_chain(session, person_code=case.bearer_person, on=on, unit_code=unit)
        return [chain[0].person_code] if chain else []

    def _posts(
        self, session: Session, *, case: Case, posts: Sequence[str], on: dt.date
    ) -> list[str]:
        def holders_at(code: str) -> list[str]:
            return [
                person.code
                for post in posts
                for person in org.holders(session, unit_code=code, post_name=post, on=on)
            ]

        return self._nearest(session, case=case, lookup=holders_at)

    def _nearest(self, session: Session, *, case: Case, lookup: _Lookup) -> list[str]:
        if case.unit_code is None or org.get_unit(session, code=case.unit_code) is None:
            return []
        for code in [case.unit_code, *org.ancestors(session, unit_code=case.unit_code)]:
            found = lookup(code)
            if found:
                return found
        return []


class _Lookup(Protocol):
    def __call__(self, code: str, /) -> list[str]: ...


# --- planning ---------------------------------------------------------------------------------


class Plan(BaseModel):
    """What the ladder wants for one case today."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    lapsed: list[str] = Field(default_factory=list)  # reminders whose moment passed
    fire: LadderStep | None = None
    await_approval: LadderStep | None = None
    next_due: dt.date | None = None  # look again on this day
    finished: bool = False


class LadderProblem(Exception):
    """The case names a ladder or a step that the ladders given do not have."""


def step_due(case: Case, step: LadderStep, *, calendar: WorkCalendar) -> dt.date:
    if step.after is Anchor.deadline:
        base = case.deadline_on
    else:
        base = case.ladder_anchor_on
        if case.paused_until is not None:
            base = max(base, case.paused_until)
    return calendar.add(base, step.delay, step.unit)


def plan(case: Case, ladder: Ladder, *, today: dt.date, calendar: WorkCalendar) -> Plan:
    position = ladder.index(case.ladder_step)
    if position is None:
        raise LadderProblem(
            f"阶梯 {case.ladder} 中没有步骤 {case.ladder_step} / ladder {case.ladder} has no "
            f"step {case.ladder_step} (case {case.id}); restore the step or move the case by a "
            "decision"
        )
    result = Plan()
    for step in ladder.steps[position + 1 :]:
        if case.paused_until is not None and today <= case.paused_until:
            result.next_due = case.paused_until + dt.timedelta(days=1)
            return result
        if step.after is Anchor.deadline and step.delay < 0 and today > case.deadline_on:
            result.lapsed.append(step.id)
            continue
        due = step_due(case, step, calendar=calendar)
        if due > today:
            result.next_due = due
            return result
        if step.requires_approval and case.approved_step != step.id:
            result.await_approval = step
            return result
        result.fire = step
        return result
    result.finished = True
    return result


# --- the pass ---------------------------------------------------------------------------------


class FiredStep(BaseModel):
    case_id: int
    step: str
    recipients: list[str]
    messages: int  # new outbox rows
    duplicates: int  # rows that already existed (a re-run): not sent again


class CaseFailure(BaseModel):
    case_id: int
    error: str


class EscalationReport(BaseModel):
    examined: int = 0
    fired: list[FiredStep] = Field(default_factory=list)
    awaiting_approval: list[int] = Field(default_factory=list)
    rescheduled: int = 0
    finished: int = 0
    conflicts: list[int] = Field(default_factory=list)  # changed by someone else: next pass
    failures: list[CaseFailure] = Field(default_factory=list)
    unresolved: list[str] = Field(default_factory=list)  # "case 12 L1: bearer_superior"
    fallback_years: list[int] = Field(default_factory=list)  # working days estimated
    last_case_id: int | None = None  # continue after this one (batches)

    @property
    def messages(self) -> int:
        return sum(f.messages for f in self.fired)


def check_templates(ladders: Mapping[str, Ladder], *, known: set[str]) -> None:
    """Refuse, before any work, ladders whose steps name a template that does not exist."""
    problems = [
        Problem(
            message=f"未知的消息模板 / unknown message template {step.template!r}",
            field=f"ladders.{name}.steps[{index}].template",
            hint="available: " + ", ".join(sorted(known)),
        )
        for name, ladder in ladders.items()
        for index, step in enumerate(ladder.steps)
        if step.template not in known
    ]
    if problems:
        raise UserError(problems)


def escalate_due(
    session: Session,
    *,
    ladders: Mapping[str, Ladder],
    now: dt.datetime,
    calendar: WorkCalendar,
    recipients: RecipientResolver,
    titles: Mapping[str, str] | None = None,
    case_ids: Sequence[int] | None = None,
    after_case_id: int | None = None,
    limit: int | None = None,
) -> EscalationReport:
    """One pass. ``case_ids`` restricts it (e.g. right after an approval); ``after_case_id`` and
    ``limit`` split a large pass into batches the caller commits one by one."""
    today = local_date(now)
    query = (
        select(Case)
        .where(
            Case.state.in_([s.value for s in ACTIVE_STATES]),
            Case.ladder_due_on.is_not(None),
            Case.ladder_due_on <= today,
        )
        .order_by(Case.id)
        .execution_options(populate_existing=True)
    )
    if case_ids is not None:
        query = query.where(Case.id.in_(list(case_ids)))
    if after_case_id is not None:
        query = query.where(Case.id > after_case_id)
    if limit is not None:
        query = query.limit(limit)
    report = EscalationReport()
    # Lock order: the audit chain first, then cases (models.cases.history); taken before the
    # read so that what we read is current.
    lock_chain(session)
    for case in list(session.scalars(query)):
        report.examined += 1
        report.last_case_id = case.id
        try:
            _advance(
                session,
                case,
                ladders=ladders,
                now=now,
                today=today,
                calendar=calendar,
                recipients=recipients,
                titles=titles or {},
                report=report,
            )
        except ConflictError:
            report.conflicts.append(case.id)
        except LadderProblem as problem:
            report.failures.append(CaseFailure(case_id=case.id, error=str(problem)))
    report.fallback_years = sorted(calendar.fallback_years)
    return report


def _advance(
    session: Session,
    case: Case,
    *,
    ladders: Mapping[str, Ladder],
    now: dt.datetime,
    today: dt.date,
    calendar: WorkCalendar,
    recipients: RecipientResolver,
    titles: Mapping[str, str],
    report: EscalationReport,
) -> None:
    ladder = ladders.get(case.ladder or "")
    if ladder is None:
        raise LadderProblem(
            f"未知的阶梯 {case.ladder!r}（案件 {case.id}）/ unknown ladder {case.ladder!r} "
            f"(case {case.id}); known: {', '.join(sorted(ladders)) or 'none'}"
        )
    lapsed: list[str] = []
    for _ in range(len(ladder.steps) + 1):
        step_plan = plan(case, ladder, today=today, calendar=calendar)
        lapsed += step_plan.lapsed
        if step_plan.fire is not None:
            _fire(
                session,
                case,
                step_plan.fire,
                ladder=ladder,
                lapsed=lapsed,
                now=now,
                today=today,
                calendar=calendar,
                recipients=recipients,
                titles=titles,
                report=report,
            )
            lapsed = []
            continue
        if step_plan.await_approval is not None:
            _await(session, case, step_plan.await_approval, lapsed=lapsed, now=now, report=report)
        elif step_plan.finished:
            _schedule(session, case, ladder_step=lapsed[-1] if lapsed else None, due=None)
            report.finished += 1
        else:
            _schedule(
                session, case, ladder_step=lapsed[-1] if lapsed else None, due=step_plan.next_due
            )
            report.rescheduled += 1
        return


def _schedule(
    session: Session, case: Case, *, ladder_step: str | None, due: dt.date | None
) -> None:
    """Bookkeeping without a version bump (an inspector's open page stays valid), guarded by
    the version so a concurrent change wins."""
    values: dict[str, object] = {"ladder_due_on": due}
    if ladder_step is not None:
        values["ladder_step"] = ladder_step
    result = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.version == case.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        for key, value in values.items():
            set_committed_value(case, key, value)


def _await(
    session: Session,
    case: Case,
    step: LadderStep,
    *,
    lapsed: list[str],
    now: dt.datetime,
    report: EscalationReport,
) -> None:
    if case.state == CaseState.escalated and case.pending_step == step.id:
        return
    before = case.state
    bump(session, case, now=now)
    if lapsed:
        case.ladder_step = lapsed[-1]
    case.state = CaseState.escalated.value
    case.pending_step = step.id
    case.ladder_due_on = None
    detail = {"step": step.id, "step_name": step.name, "lapsed": lapsed}
    add_audited_event(
        session,
        case,
        kind=EventKind.awaiting_approval,
        action="case.await_approval",
        actor=ACTOR,
        now=now,
        from_state=before,
        detail=detail,
    )
    report.awaiting_approval.append(case.id)


def _fire(
    session: Session,
    case: Case,
    step: LadderStep,
    *,
    ladder: Ladder,
    lapsed: list[str],
    now: dt.datetime,
    today: dt.date,
    calendar: WorkCalendar,
    recipients: RecipientResolver,
    titles: Mapping[str, str],
    report: EscalationReport,
) -> None:
    # Everything that can fail for this case happens before the case is changed.
    addressed: list[str] = []
    unresolved: list[str] = []
    for role in step.recipients:
        try:
            found = recipients.resolve(session, recipient=role, case=case, on=today)
        except NotFoundError as error:
            log.warning("case %s %s: %s", case.id, role, error)
            found = []
        if not found:
            unresolved.append(str(role))
        addressed += [r for r in found if r not in addressed]
    report.unresolved += [f"case {case.id} {step.id}: {role}" for role in unresolved]
    names = _names(session, case)

    before = case.state
    bump(session, case, now=now)
    case.ladder_step = step.id
    case.ladder_anchor_on = today
    case.approved_step = None
    case.pending_step = None
    if step.rectification is not None:
        until = calendar.add(today, step.rectification.days, step.rectification.unit)
        case.paused_until = until
        case.due_on = until
        case.state = CaseState.rectifying.value
    else:
        case.paused_until = None
        case.state = (
            CaseState.under_review.value if step.requires_approval else CaseState.open.value
        )
    case.ladder_due_on = today  # re-planned by the caller's loop right after
    due_date = _act_by(case, step, ladder=ladder, calendar=calendar)

    notice = outbox.Notice(
        template=step.template,
        case_id=case.id,
        rule_id=case.rule_id,
        rule_title=titles.get(case.rule_id, case.rule_id),
        side=_SIDE_LABELS.get(case.side, case.side),
        severity=case.severity,
        subject_name=names.subject,
        unit_name=names.unit,
        bearer_name=names.bearer,
        period=case.period,
        step=step.id,
        step_name=step.name,
        due_date=due_date,
    )
    new = duplicates = 0
    for channel in step.channels:
        for recipient in addressed:
            message = outbox.enqueue(
                session,
                case_id=case.id,
                step=step.id,
                channel=channel,
                recipient=recipient,
                notice=notice,
                now=now,
            )
            if message is None:
                duplicates += 1
            else:
                new += 1
    detail = {
        "step": step.id,
        "step_name": step.name,
        "recipients": addressed,
        "unresolved": unresolved,
        "channels": step.channels,
        "messages": new,
        "lapsed": lapsed,
        "due_date": due_date,
    }
    add_audited_event(
        session,
        case,
        kind=EventKind.step_fired,
        action="case.step",
        actor=ACTOR,
        now=now,
        from_state=before,
        detail=detail,
    )
    session.flush()
    report.fired.append(
        FiredStep(
            case_id=case.id,
            step=step.id,
            recipients=addressed,
            messages=new,
            duplicates=duplicates,
        )
    )


def _act_by(
    case: Case, step: LadderStep, *, ladder: Ladder, calendar: WorkCalendar
) -> dt.date | None:
    """The date a notice asks the recipient to act by: the rectification deadline, or the day
    the next rung would fire."""
    if step.rectification is not None:
        return case.due_on
    index = ladder.index(step.id)
    following = (
        ladder.steps[index + 1] if index is not None and index + 1 < len(ladder.steps) else None
    )
    if following is None:
        return None
    return step_due(case, following, calendar=calendar)


_SIDE_LABELS = {"business": "业务", "integrity": "党风廉政"}


class _Names(BaseModel):
    subject: str
    unit: str
    bearer: str


def _names(session: Session, case: Case) -> _Names:
    """Display names for the notice; codes when the org does not know them."""
    unit = org.get_unit(session, code=case.unit_code) if case.unit_code else None
    bearer = org.get_person(session, code=case.bearer_person) if case.bearer_person else None
    subject = case.subject_id
    if case.subject_kind == "unit":
        found = org.get_unit(session, code=case.subject_id)
        subject = found.name if found else subject
    elif case.subject_kind == "person":
        person = org.get_person(session, code=case.subject_id)
        subject = person.name if person else subject
    return _Names(
        subject=subject,
        unit=unit.name if unit else (case.unit_code or ""),
        bearer=bearer.name if bearer else (case.bearer_person or ""),
    )
