"""The review queue: filtered, sorted, keyset-paged lists of cases, and counts by state.

Keyset paging (``WHERE (due_on, id) > (last_due_on, last_id)``) instead of OFFSET: page 2,000 of
100,000 cases costs what page 1 does, and the composite indexes on ``cases`` serve each sort.
The cursor is opaque to callers (URL-safe base64 of the last row's sort values).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Collection
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.orm import Session

from dualduty.errors import UserError
from dualduty.problems import Problem
from models import org
from models.cases.tables import ACTIVE_STATES, SEVERITY_RANK, Case, CaseEvent, CaseState
from models.findings import StoredFinding
from rules.findings import FindingKey, Severity, Side

MAX_PAGE = 500


class CaseSort(StrEnum):
    due = "due"  # earliest due date first
    severity = "severity"  # most severe first, then earliest due
    newest = "newest"  # most recently opened first


class CaseFilter(BaseModel):
    """All conditions must hold. Empty lists and None mean "any"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    states: list[CaseState] = Field(default_factory=list)
    rule_id: str | None = None
    severities: list[Severity] = Field(default_factory=list)
    side: Side | None = None
    unit_subtree: str | None = Field(default=None, description="this unit and all below it")
    unit_codes: list[str] | None = Field(
        default=None, description="only these units (e.g. an inspector's jurisdiction subtree)"
    )
    ladder_step: str | None = None
    bearer_person: str | None = None
    overdue_on: dt.date | None = Field(
        default=None, description="only active cases whose due date is before this day"
    )


class CasePage(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    items: list[Case]
    next_cursor: str | None


def _conditions(session: Session, filters: CaseFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    # "Overdue" means active: one IN list of the states both allow, not two conditions on the
    # same column (which the planners would count twice and misjudge the index by).
    states = set(filters.states) or None
    if filters.overdue_on is not None:
        states = states & ACTIVE_STATES if states is not None else set(ACTIVE_STATES)
    if states is not None:
        where.append(Case.state.in_(sorted(s.value for s in states)))
    if filters.rule_id is not None:
        where.append(Case.rule_id == filters.rule_id)
    if filters.severities:
        # By rank, the column the severity indexes hold (the name is not indexed).
        where.append(Case.severity_rank.in_(sorted({SEVERITY_RANK[s] for s in filters.severities})))
    if filters.side is not None:
        where.append(Case.side == filters.side.value)
    if filters.unit_subtree is not None:
        where.append(Case.unit_code.in_(org.subtree(session, unit_code=filters.unit_subtree)))
    if filters.unit_codes is not None:
        where.append(Case.unit_code.in_(filters.unit_codes))
    if filters.ladder_step is not None:
        where.append(Case.ladder_step == filters.ladder_step)
    if filters.bearer_person is not None:
        where.append(Case.bearer_person == filters.bearer_person)
    if filters.overdue_on is not None:
        where.append(Case.due_on < filters.overdue_on)
    return where


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str, sort: CaseSort) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        expected = {CaseSort.due: 2, CaseSort.severity: 3, CaseSort.newest: 1}[sort]
        if not isinstance(values, list) or len(values) != expected:
            raise ValueError("wrong shape")
        if sort is not CaseSort.newest:
            values[-2] = dt.date.fromisoformat(values[-2])
        if not all(isinstance(v, int) for v in (values[0:1] if sort is CaseSort.severity else [])):
            raise ValueError("wrong rank")
        if not isinstance(values[-1], int):
            raise ValueError("wrong id")
        return values
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as error:
        raise UserError(
            [
                Problem(
                    message=f"无效的翻页游标 / invalid page cursor ({error})",
                    field="cursor",
                    hint="start again from the first page (the sort may have changed)",
                )
            ]
        ) from error


def _ranks(filters: CaseFilter) -> list[int]:
    """The severity ranks the filter lets through, most severe first."""
    wanted = filters.severities or list(SEVERITY_RANK)
    return sorted({SEVERITY_RANK[s] for s in wanted}, reverse=True)


def _rows(
    session: Session, filters: CaseFilter, sort: CaseSort, after: list[Any] | None, count: int
) -> list[Case]:
    """Up to ``count`` matching cases in ``sort`` order, after the cursor's values."""
    query = select(Case).where(*_conditions(session, filters))
    match sort:
        case CaseSort.due:
            if after:
                query = query.where(tuple_(Case.due_on, Case.id) > tuple_(*after))
            return list(session.scalars(query.order_by(Case.due_on, Case.id).limit(count)))
        case CaseSort.newest:
            if after:
                query = query.where(Case.id < after[0])
            return list(session.scalars(query.order_by(Case.id.desc()).limit(count)))
        case CaseSort.severity:
            # One severity at a time, from the cursor's down: each is a range of an index on
            # (…, severity_rank, due_on, id) already in due order. Across severities in one
            # query, SQLite without statistics sorts every match (60 ms at 100,000 cases) and an
            # OR-ed cursor reads its severity from the start on every page.
            rows: list[Case] = []
            for rank in _ranks(filters):
                if after and rank > after[0]:
                    continue
                same = query.where(Case.severity_rank == rank)
                if after and rank == after[0]:
                    same = same.where(tuple_(Case.due_on, Case.id) > tuple_(after[1], after[2]))
                rows += session.scalars(
                    same.order_by(Case.due_on, Case.id).limit(count - len(rows))
                )
                if len(rows) == count:
                    break
            return rows


def _cursor_of(case: Case, sort: CaseSort) -> str:
    match sort:
        case CaseSort.due:
            return _encode([case.due_on.isoformat(), case.id])
        case CaseSort.severity:
            return _encode([case.severity_rank, case.due_on.isoformat(), case.id])
        case CaseSort.newest:
            return _encode([case.id])


def list_cases(
    session: Session,
    *,
    filters: CaseFilter | None = None,
    sort: CaseSort = CaseSort.due,
    cursor: str | None = None,
    limit: int = 50,
) -> CasePage:
    if not 1 <= limit <= MAX_PAGE:
        raise UserError(
            [Problem(message=f"每页 1–{MAX_PAGE} 条 / limit must be 1–{MAX_PAGE}", field="limit")]
        )
    filters = filters or CaseFilter()
    after = _decode(cursor, sort) if cursor else None
    rows = _rows(session, filters, sort, after, limit + 1)
    more = len(rows) > limit
    items = rows[:limit]
    return CasePage(items=items, next_cursor=_cursor_of(items[-1], sort) if more else None)


def count_cases(session: Session, *, filters: CaseFilter | None = None) -> int:
    """How many cases match ``filters``, its ``states`` included: the total over every page of
    ``list_cases``. A count reads every match, so it grows with them; the conditions are the
    page's own, so the same indexes narrow it."""
    query = (
        select(func.count()).select_from(Case).where(*_conditions(session, filters or CaseFilter()))
    )
    return int(session.scalar(query) or 0)


def count_by_state(session: Session, *, filters: CaseFilter | None = None) -> dict[CaseState, int]:
    """Counts for the queue's header; the filter's own ``states`` are ignored."""
    filters = (filters or CaseFilter()).model_copy(update={"states": []})
    rows = session.execute(
        select(Case.state, func.count()).where(*_conditions(session, filters)).group_by(Case.state)
    ).tuples()
    counts = dict.fromkeys(CaseState, 0)
    for state, count in rows:
        counts[CaseState(state)] = count
    return counts


def history(session: Session, *, case_id: int) -> list[CaseEvent]:
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
    )


def finding_of(session: Session, *, case: Case) -> StoredFinding:
    finding = session.get(StoredFinding, case.finding_id)
    assert finding is not None, "cases.finding_id is a foreign key"
    return finding


def find_by_key(session: Session, *, rule_id: str, subject_id: str, period: str) -> Case | None:
    return session.scalars(
        select(Case).where(
            Case.rule_id == rule_id, Case.subject_id == subject_id, Case.period == period
        )
    ).first()


def case_keys(session: Session, *, packs: Collection[str]) -> set[FindingKey]:
    """The keys ``(rule_id, subject_id, period)`` of every case of these packs, whatever its
    state: an inspection details the passes on these keys (a pass resolving a case must say why)
    and hands them to reconcile with the failures."""
    query = select(Case.rule_id, Case.subject_id, Case.period).where(Case.pack.in_(list(packs)))
    return {(rule_id, subject_id, period) for rule_id, subject_id, period in session.execute(query)}
