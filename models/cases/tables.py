"""Case tables: the case itself, its append-only history, comments and attachments.

A case is keyed by (rule, subject, period) and carries the denormalised columns the review
queue filters and sorts on (unit, severity, side, ladder step, due date), each indexed so the
queue stays fast at 100,000 cases. ``version`` is bumped by every change (see ``history.bump``):
a decision made on a page loaded before that change is refused, never silently merged.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from rules.findings import Severity


class CaseState(StrEnum):
    open = "open"  # 待处理: the ladder runs automatically
    rectifying = "rectifying"  # 整改中: a rectification order runs until its deadline
    escalated = "escalated"  # 已升级: the next step waits for an inspector's approval
    under_review = "under_review"  # 审查中: inspectors approved a step and handle the case
    decided = "decided"  # 已决定: dismissed, or confirmed with an accountability form
    closed = "closed"  # 已关闭
    resolved = "resolved"  # 已纠正: a later finding passed (possibly late)


STATE_LABELS: dict[CaseState, str] = {
    CaseState.open: "待处理 / open",
    CaseState.rectifying: "整改中 / rectifying",
    CaseState.escalated: "已升级 / escalated",
    CaseState.under_review: "审查中 / under review",
    CaseState.decided: "已决定 / decided",
    CaseState.closed: "已关闭 / closed",
    CaseState.resolved: "已纠正 / resolved",
}

# States in which the finding still matters and the ladder may move.
ACTIVE_STATES: frozenset[CaseState] = frozenset(
    {CaseState.open, CaseState.rectifying, CaseState.escalated, CaseState.under_review}
)

SEVERITY_RANK: dict[Severity, int] = {
    Severity.low: 1,
    Severity.medium: 2,
    Severity.high: 3,
    Severity.critical: 4,
}


class Outcome(StrEnum):
    dismissed = "dismissed"  # 不予追究 (false positive)
    confirmed = "confirmed"  # 予以认定, with an accountability form


class EventKind(StrEnum):
    opened = "opened"
    finding_updated = "finding_updated"
    resolved = "resolved"
    reopened = "reopened"
    decision = "decision"
    step_fired = "step_fired"
    awaiting_approval = "awaiting_approval"


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("rule_id", "subject_id", "period"),
        Index("ix_cases__state_due", "state", "due_on", "id"),
        Index("ix_cases__unit_state", "unit_code", "state", "due_on", "id"),
        Index("ix_cases__rule_state", "rule_id", "state"),
        Index("ix_cases__ladder_step", "ladder_step", "state"),
        Index("ix_cases__ladder_due", "ladder_due_on"),
        Index("ix_cases__bearer", "bearer_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(String(100))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(16))
    pack: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    severity_rank: Mapped[int] = mapped_column(Integer)
    bearer_person: Mapped[str | None] = mapped_column(String(64))
    bearer_post: Mapped[str | None] = mapped_column(String(64))
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"))

    state: Mapped[str] = mapped_column(String(16), default=CaseState.open)
    outcome: Mapped[str | None] = mapped_column(String(16))
    accountability_form: Mapped[str | None] = mapped_column(String(32))
    dismiss_category: Mapped[str | None] = mapped_column(String(32))
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # resolved after its deadline
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    # The duty deadline T (fixed), and the date the bearer must meet now (T, or a
    # rectification deadline).
    deadline_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    # Ladder position: the last step fired, what "previous" counts from, when to look again
    # (NULL: nothing until a person acts), a pause, a step waiting for approval, an approval.
    ladder: Mapped[str | None] = mapped_column(String(64))
    ladder_step: Mapped[str | None] = mapped_column(String(64))
    ladder_anchor_on: Mapped[dt.date] = mapped_column(Date)
    ladder_due_on: Mapped[dt.date | None] = mapped_column(Date)
    paused_until: Mapped[dt.date | None] = mapped_column(Date)
    pending_step: Mapped[str | None] = mapped_column(String(64))
    approved_step: Mapped[str | None] = mapped_column(String(64))

    opened_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    @property
    def state_enum(self) -> CaseState:
        return CaseState(self.state)

    @property
    def is_active(self) -> bool:
        return self.state_enum in ACTIVE_STATES


# The queue's sorts, each served by an index that yields the rows in order, so a page reads
# about as many rows as it shows, whatever its depth. The severity sort reads one severity at a
# time (models.cases.queries): (severity_rank, due_on, id) within all states, and
# (severity_rank, state, due_on, id) within some, which SQLite reads state by state and stops
# early. Severity leads that index on purpose: as (state, severity_rank, …) it would tie with
# ix_cases__state_due for the due sort, and SQLite without statistics breaks ties by creation
# order; the wrong pick sorts every active case for each page.
Index("ix_cases__due", Case.due_on, Case.id)
Index("ix_cases__severity", Case.severity_rank.desc(), Case.due_on, Case.id)
Index("ix_cases__severity_state", Case.severity_rank, Case.state, Case.due_on, Case.id)


class CaseEvent(Base):
    """One change to a case. Rows are only ever inserted."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events__case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)  # the case's version after this change
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CaseComment(Base):
    __tablename__ = "case_comments"
    __table_args__ = (Index("ix_case_comments__case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime]


class CaseAttachment(Base):
    """A file (a rectification report, a talk record) stored under ``settings.data_dir``."""

    __tablename__ = "case_attachments"
    __table_args__ = (Index("ix_case_attachments__case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime]
    note: Mapped[str] = mapped_column(Text, default="")
