"""The review queue as the console shows it: the query string, the user's jurisdiction, counts.

Filtering, sorting and keyset paging are ``models.cases.list_cases``; this module turns a query
string into its ``CaseFilter``, always adding the user's jurisdiction, so no page or API call
can list a case outside it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.access import Access
from models import cases, org
from models.cases import CaseFilter, CaseSort
from models.cases.tables import ACTIVE_STATES, Case, CaseState
from rules.findings import Severity, Side

PAGE_SIZE = 50
ACTIVE = "active"
ALL = "all"


class QueueFilter(BaseModel):
    """The queue's query string. Empty form fields mean "any"."""

    model_config = ConfigDict(extra="ignore")

    rule: str | None = Field(default=None, max_length=100)
    severity: Severity | None = None
    side: Side | None = None
    unit: str | None = Field(default=None, max_length=64)
    step: str | None = Field(default=None, max_length=64)
    state: str = Field(default=ACTIVE, description="active | all | one case state")
    overdue: bool = False
    sort: CaseSort = CaseSort.due
    cursor: str | None = Field(default=None, max_length=300)
    size: int = Field(default=PAGE_SIZE, ge=1, le=200)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("state", mode="before")
    @classmethod
    def _known_state(cls, value: Any) -> Any:
        if value is None:
            return ACTIVE
        if value not in {ACTIVE, ALL, *(s.value for s in CaseState)}:
            raise ValueError(f"unknown state {value!r}: use active, all or a case state")
        return value

    def link(self, **changes: Any) -> str:
        """Query string for this filter with ``changes`` applied (paging and sort links)."""
        data = self.model_dump(mode="json") | changes
        defaults = QueueFilter().model_dump(mode="json")
        kept = {
            key: "true" if value is True else value
            for key, value in data.items()
            if value not in (None, False, "") and value != defaults[key]
        }
        return "?" + urlencode(kept)

    def states(self) -> list[CaseState]:
        if self.state == ACTIVE:
            return sorted(ACTIVE_STATES)
        if self.state == ALL:
            return []
        return [CaseState(self.state)]


class QueuePage(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    rows: list[Case]
    next_cursor: str | None


class QueueCounts(BaseModel):
    """The figures at the top of the queue, over the user's whole jurisdiction."""

    by_state: dict[CaseState, int]
    active: int
    overdue: int


def case_filter(access: Access, query: QueueFilter) -> CaseFilter:
    # A unit filter naming no known unit matches nothing, rather than failing on a stale
    # bookmarked link.
    unknown_unit = bool(query.unit) and org.get_unit(access.session, code=query.unit or "") is None
    return CaseFilter(
        states=query.states(),
        rule_id=query.rule,
        severities=[query.severity] if query.severity else [],
        side=query.side,
        unit_subtree=None if unknown_unit else query.unit,
        unit_codes=[] if unknown_unit else access.scope,
        ladder_step=query.step,
        overdue_on=access.today if query.overdue else None,
    )


def page(session: Session, *, access: Access, query: QueueFilter) -> QueuePage:
    found = cases.list_cases(
        session,
        filters=case_filter(access, query),
        sort=query.sort,
        cursor=query.cursor,
        limit=query.size,
    )
    return QueuePage(rows=found.items, next_cursor=found.next_cursor)


def total(session: Session, *, access: Access, query: QueueFilter) -> int:
    """Cases matching the filter over all pages. A count reads every match, so unlike a page
    it grows with the data; it is kept apart so the page itself stays cheap."""
    return cases.count_cases(session, filters=case_filter(access, query))


def counts(session: Session, *, access: Access) -> QueueCounts:
    scope = CaseFilter(unit_codes=access.scope)
    by_state = cases.count_by_state(session, filters=scope)
    overdue = cases.count_cases(
        session, filters=scope.model_copy(update={"overdue_on": access.today})
    )
    return QueueCounts(
        by_state=by_state, active=sum(by_state[s] for s in ACTIVE_STATES), overdue=overdue
    )


def filter_choices(session: Session, *, access: Access) -> dict[str, list[str]]:
    """Values offered in the filter drop-downs: the rules and ladder steps present in scope."""
    clause = access.scope_clause()
    where = [clause] if clause is not None else []
    rules = session.scalars(select(Case.rule_id).where(*where).distinct().order_by(Case.rule_id))
    steps = session.scalars(
        select(Case.ladder_step)
        .where(*where, Case.ladder_step.is_not(None))
        .distinct()
        .order_by(Case.ladder_step)
    )
    return {"rules": list(rules), "steps": [s for s in steps if s]}
