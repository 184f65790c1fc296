"""Inspectors' decisions on a case, each with a mandatory written reason.

Accountability forms (提醒谈话 … 纪律处分 referral) enter the system only here, by a person's
decision; no ladder step can record one. A decision names the case version it was made on:
if anyone (another inspector, the escalation pass, a re-inspection) changed the case since, it
is refused with ConflictError and nothing of either change is lost.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.orm import Session

from dualduty.errors import ConflictError, NotFoundError, UserError
from dualduty.problems import Problem
from models.audit import lock_chain
from models.cases.history import add_audited_event, bump, local_date
from models.cases.tables import ACTIVE_STATES, Case, CaseState, EventKind, Outcome


class DecisionKind(StrEnum):
    dismiss = "dismiss"  # 不予追究（误报）
    order_rectification = "order_rectification"  # 责令整改
    extend_rectification = "extend_rectification"  # 延长整改期限
    approve_next_step = "approve_next_step"  # 批准下一步（约谈/函询 …）
    record_accountability = "record_accountability"  # 认定并记录问责方式
    close = "close"  # 结案


KIND_LABELS: dict[DecisionKind, str] = {
    DecisionKind.dismiss: "不予追究 / dismiss",
    DecisionKind.order_rectification: "责令整改 / order rectification",
    DecisionKind.extend_rectification: "延长整改 / extend rectification",
    DecisionKind.approve_next_step: "批准下一步 / approve next step",
    DecisionKind.record_accountability: "记录问责 / record accountability",
    DecisionKind.close: "结案 / close",
}


class AccountabilityForm(StrEnum):
    reminder_talk = "reminder_talk"  # 提醒谈话
    criticism = "criticism"  # 批评教育
    admonition = "admonition"  # 诫勉
    circulated_notice = "circulated_notice"  # 通报
    organisational = "organisational"  # 组织调整/组织处理
    discipline_referral = "discipline_referral"  # 移送纪律审查（纪律处分）


FORM_LABELS: dict[AccountabilityForm, str] = {
    AccountabilityForm.reminder_talk: "提醒谈话 / reminder talk",
    AccountabilityForm.criticism: "批评教育 / criticism and education",
    AccountabilityForm.admonition: "诫勉 / formal admonition",
    AccountabilityForm.circulated_notice: "通报 / circulated notice",
    AccountabilityForm.organisational: "组织调整/处理 / organisational adjustment",
    AccountabilityForm.discipline_referral: "纪律处分移送 / referral for disciplinary sanction",
}


class DismissCategory(StrEnum):
    """Why a finding was a false positive; the categories feed rule-quality reports."""

    data_error = "data_error"  # 数据错误或缺失
    evidence_elsewhere = "evidence_elsewhere"  # 证据在其他系统或纸质材料中
    rule_error = "rule_error"  # 规则本身有误
    not_applicable = "not_applicable"  # 不适用（人员变动、机构调整等）
    justified_exception = "justified_exception"  # 有正当理由的例外
    duplicate = "duplicate"  # 与其他案件重复


CATEGORY_LABELS: dict[DismissCategory, str] = {
    DismissCategory.data_error: "数据错误 / data error",
    DismissCategory.evidence_elsewhere: "证据在别处 / evidence elsewhere",
    DismissCategory.rule_error: "规则有误 / rule error",
    DismissCategory.not_applicable: "不适用 / not applicable",
    DismissCategory.justified_exception: "正当例外 / justified exception",
    DismissCategory.duplicate: "重复 / duplicate",
}

# Which fields each kind needs (everything else must be absent).
_NEEDS: dict[DecisionKind, frozenset[str]] = {
    DecisionKind.dismiss: frozenset({"category"}),
    DecisionKind.order_rectification: frozenset({"deadline"}),
    DecisionKind.extend_rectification: frozenset({"deadline"}),
    DecisionKind.approve_next_step: frozenset(),
    DecisionKind.record_accountability: frozenset({"form"}),
    DecisionKind.close: frozenset(),
}
_OPTIONAL: dict[DecisionKind, frozenset[str]] = {
    DecisionKind.approve_next_step: frozenset({"step"}),
    DecisionKind.record_accountability: frozenset({"reference"}),
}
_QUALIFIERS = ("category", "deadline", "form", "step", "reference")

# The states each kind may be taken from.
_FROM: dict[DecisionKind, frozenset[CaseState]] = {
    DecisionKind.dismiss: ACTIVE_STATES | {CaseState.resolved},
    DecisionKind.order_rectification: frozenset(
        {CaseState.open, CaseState.escalated, CaseState.under_review}
    ),
    DecisionKind.extend_rectification: frozenset({CaseState.rectifying}),
    DecisionKind.approve_next_step: frozenset({CaseState.escalated}),
    DecisionKind.record_accountability: ACTIVE_STATES | {CaseState.resolved},
    DecisionKind.close: frozenset({CaseState.decided, CaseState.resolved}),
}


class Decision(BaseModel):
    """What an inspector decided, and why. Example: ``Decision(kind="dismiss",
    category="evidence_elsewhere", reason="会议记录为纸质，已核实")``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DecisionKind
    reason: str = Field(max_length=4000, description="书面理由（必填）/ written reason")
    category: DismissCategory | None = None
    deadline: dt.date | None = None
    form: AccountabilityForm | None = None
    step: str | None = Field(default=None, description="the step id the approver saw")
    reference: str | None = Field(default=None, max_length=200, description="e.g. 纪律审查案号")

    @field_validator("reason")
    @classmethod
    def _reason_written(cls, value: str) -> str:
        value = value.strip()
        if len(value) < 2:
            raise ValueError("须填写书面理由（至少2个字）/ a written reason is required")
        return value

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Decision:
        needs = _NEEDS[self.kind]
        allowed = needs | _OPTIONAL.get(self.kind, frozenset())
        missing = [name for name in sorted(needs) if getattr(self, name) is None]
        extra = [n for n in _QUALIFIERS if n not in allowed and getattr(self, n) is not None]
        if missing:
            raise ValueError(f"{self.kind} 需要 / needs: {', '.join(missing)}")
        if extra:
            raise ValueError(f"{self.kind} 不接受 / does not take: {', '.join(extra)}")
        return self


def allowed_decisions(case: Case) -> list[DecisionKind]:
    """The kinds of decision the case's state allows, in ``DecisionKind`` order: what a
    decision form should offer. ``decide`` refuses every other kind with a message naming the
    state. An approval is offered only while a ladder step waits for it."""
    state = case.state_enum
    return [
        kind
        for kind in DecisionKind
        if state in _FROM[kind]
        and (kind is not DecisionKind.approve_next_step or case.pending_step is not None)
    ]


def get_or_raise(session: Session, *, case_id: int) -> Case:
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFoundError(
            f"案件不存在 / no case {case_id}", hint="list cases with `dualduty cases list`"
        )
    return case


def decide(
    session: Session,
    *,
    case_id: int,
    actor: str,
    decision: Decision,
    expected_version: int,
    now: dt.datetime,
) -> Case:
    """Apply a decision. Raises ConflictError if the case changed since ``expected_version``."""
    case = get_or_raise(session, case_id=case_id)
    if case.version != expected_version:
        # Checked before validating: the person must see the new state before anything else.
        raise ConflictError(
            f"案件 {case_id} 已被他人修改（版本 {expected_version} → {case.version}），请刷新后重试 / "
            f"case {case_id} changed since version {expected_version} (now {case.version}); "
            "reload it and decide again"
        )
    _check_allowed(case, decision, today=local_date(now))
    lock_chain(session)  # lock order: the audit chain first, then the case (history.py)
    bump(session, case, now=now)
    before = case.state
    detail: dict[str, object] = {"kind": decision.kind.value, "reason": decision.reason}

    match decision.kind:
        case DecisionKind.dismiss:
            assert decision.category is not None
            case.state = CaseState.decided.value
            case.outcome = Outcome.dismissed.value
            case.dismiss_category = decision.category.value
            _stop_ladder(case)
            detail["category"] = decision.category.value
        case DecisionKind.order_rectification | DecisionKind.extend_rectification:
            assert decision.deadline is not None
            detail["previous_due_on"] = case.due_on.isoformat()
            case.state = CaseState.rectifying.value
            case.due_on = decision.deadline
            case.paused_until = decision.deadline
            case.pending_step = None
            case.ladder_due_on = decision.deadline + dt.timedelta(days=1) if case.ladder else None
            detail["deadline"] = decision.deadline.isoformat()
        case DecisionKind.approve_next_step:
            case.approved_step = case.pending_step
            case.pending_step = None
            case.state = CaseState.under_review.value
            case.ladder_due_on = local_date(now)
            detail["step"] = case.approved_step
        case DecisionKind.record_accountability:
            assert decision.form is not None
            case.state = CaseState.decided.value
            case.outcome = Outcome.confirmed.value
            case.accountability_form = decision.form.value
            _stop_ladder(case)
            detail["form"] = decision.form.value
            if decision.reference:
                detail["reference"] = decision.reference
        case DecisionKind.close:
            case.state = CaseState.closed.value
            case.closed_at = now
            _stop_ladder(case)
    add_audited_event(
        session,
        case,
        kind=EventKind.decision,
        action="case.decide",
        actor=actor,
        now=now,
        from_state=before,
        detail=detail,
        audit_detail={
            **detail,
            "from_state": before,
            "to_state": case.state,
            "version": case.version,
        },
    )
    session.flush()
    return case


def _stop_ladder(case: Case) -> None:
    case.ladder_due_on = None
    case.pending_step = None
    case.approved_step = None
    case.paused_until = None


def _check_allowed(case: Case, decision: Decision, *, today: dt.date) -> None:
    state = case.state_enum
    allowed = _FROM[decision.kind]
    if state not in allowed:
        raise UserError(
            [
                Problem(
                    message=(
                        f"案件 {case.id} 处于「{state.value}」状态，不能执行「{decision.kind.value}」/ "
                        f"case {case.id} is {state.value}: {decision.kind.value} is not possible"
                    ),
                    field="kind",
                    hint="allowed from: " + ", ".join(sorted(s.value for s in allowed)),
                )
            ]
        )
    if decision.kind is DecisionKind.approve_next_step:
        if case.pending_step is None:
            raise UserError(
                "没有等待批准的步骤 / no ladder step is waiting for approval",
                hint="a step waits for approval once the escalation pass reaches it",
            )
        if decision.step is not None and decision.step != case.pending_step:
            raise UserError(
                [
                    Problem(
                        message=(
                            f"等待批准的是 {case.pending_step}，不是 {decision.step} / the step "
                            f"waiting is {case.pending_step}, not {decision.step}"
                        ),
                        field="step",
                        hint="reload the case and approve the step it shows",
                    )
                ]
            )
    if decision.deadline is not None:
        if decision.deadline <= today:
            raise UserError(
                [
                    Problem(
                        message=f"整改期限须晚于今天 / the deadline must be after today ({today})",
                        field="deadline",
                    )
                ]
            )
        if (
            decision.kind is DecisionKind.extend_rectification
            and case.paused_until is not None
            and decision.deadline <= case.paused_until
        ):
            raise UserError(
                [
                    Problem(
                        message=(
                            f"延长后的期限须晚于当前期限 {case.paused_until} / an extension must end "
                            f"after the current deadline {case.paused_until}"
                        ),
                        field="deadline",
                    )
                ]
            )
