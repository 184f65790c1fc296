"""Everything the case page (and the API's case detail) shows about one case, gathered once.

The finding in words, the evidence records that decided it, the bearer and their post, the
ladder with what was sent when, comments, attachments and the history. Rule titles are not
stored with cases, so the page names rules by id.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.access import Access, CasePermissions
from models import cases, org
from models.cases.tables import Case, CaseAttachment, CaseComment, CaseEvent
from models.evidence import EvidenceRecord
from models.findings import StoredFinding
from models.org import Person, Unit
from models.outbox import OutboxMessage
from models.users import User
from rules.ladders import Ladder, LadderStep, default_ladders


@functools.cache
def shipped_ladders() -> dict[str, Ladder]:
    """Parsed once per process: the shipped ladders file does not change while we run."""
    return default_ladders()


@dataclass(frozen=True)
class LadderRow:
    """One step of the case's ladder and what became of it."""

    step: LadderStep
    status: str  # done | pending | approved | later
    fired_at: dt.datetime | None
    messages: list[OutboxMessage]

    @property
    def status_label(self) -> str:
        return {
            "done": "已执行 / sent",
            "pending": "待批准 / awaiting approval",
            "approved": "已批准 / approved",
            "later": "未到 / not yet",
        }[self.status]


@dataclass
class CaseView:
    case: Case
    finding: StoredFinding
    unit: Unit | None
    bearer: Person | None
    evidence: list[EvidenceRecord]
    ladder: Ladder | None
    ladder_rows: list[LadderRow]
    unsent_messages: list[OutboxMessage]  # outbox rows for steps the ladder no longer names
    comments: list[CaseComment]
    attachments: list[CaseAttachment]
    events: list[CaseEvent]
    permissions: CasePermissions
    today: dt.date
    routed_to: list[User] = field(default_factory=list)

    @property
    def overdue(self) -> bool:
        return self.case.is_active and self.case.due_on < self.today


def _ladder_rows(
    case: Case, ladder: Ladder | None, events: list[CaseEvent], messages: list[OutboxMessage]
) -> tuple[list[LadderRow], list[OutboxMessage]]:
    if ladder is None:
        return [], messages
    fired = {
        str(e.detail.get("step")): e.at
        for e in events
        if e.kind == "step_fired" and e.detail.get("step")
    }
    reached = ladder.index(case.ladder_step)
    rows = []
    for position, step in enumerate(ladder.steps):
        if step.id == case.pending_step:
            status = "pending"
        elif step.id == case.approved_step:
            status = "approved"
        elif step.id in fired or (reached is not None and position <= reached):
            status = "done"
        else:
            status = "later"
        rows.append(
            LadderRow(
                step=step,
                status=status,
                fired_at=fired.get(step.id),
                messages=[m for m in messages if m.step == step.id],
            )
        )
    named = {step.id for step in ladder.steps}
    return rows, [m for m in messages if m.step not in named]


def build(session: Session, *, access: Access, case: Case) -> CaseView:
    finding = cases.finding_of(session, case=case)
    evidence = list(
        session.scalars(
            select(EvidenceRecord)
            .where(EvidenceRecord.id.in_(finding.evidence_ids or [-1]))
            .order_by(EvidenceRecord.id)
        )
    )
    events = cases.history(session, case_id=case.id)
    messages = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.case_id == case.id)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
    )
    ladder = shipped_ladders().get(case.ladder or "")
    rows, unsent = _ladder_rows(case, ladder, events, messages)
    permissions = access.permissions(case)
    return CaseView(
        case=case,
        finding=finding,
        unit=org.get_unit(session, code=case.unit_code) if case.unit_code else None,
        bearer=org.get_person(session, code=case.bearer_person) if case.bearer_person else None,
        evidence=evidence,
        ladder=ladder,
        ladder_rows=rows,
        unsent_messages=unsent,
        comments=cases.comments(session, case_id=case.id),
        attachments=cases.attachments(session, case_id=case.id),
        events=events,
        permissions=permissions,
        today=access.today,
        routed_to=access.routed_to(case) if permissions.recused else [],
    )


def changes_since(view: CaseView, *, version: int) -> list[CaseEvent]:
    """The history entries made after the page the user acted on was loaded."""
    return [event for event in view.events if event.version > version]
