"""How every change to a case is made: claim the version, change, append an event.

``bump`` is an ``UPDATE … WHERE id = ? AND version = ?``. On PostgreSQL it waits for a concurrent
writer's row lock and then matches nothing if that writer committed first; on SQLite the
database write lock serialises writers the same way. Either way the later writer gets a
ConflictError *before* it has changed anything, so its transaction stays usable and nothing of
the earlier change is lost. Call it before touching the case's attributes: a dirty case would be
autoflushed without the version check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from dualduty.errors import ConflictError
from dualduty.settings import get_settings
from models.audit import canonical_detail
from models.cases.tables import Case, CaseEvent, EventKind


def local_date(now: dt.datetime) -> dt.date:
    """The calendar day of ``now`` where the organisation works (settings.timezone)."""
    return now.astimezone(ZoneInfo(get_settings().timezone)).date()


def bump(session: Session, case: Case, *, now: dt.datetime) -> None:
    expected = case.version
    result = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.version == expected)
        .values(version=expected + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            f"案件 {case.id} 已被他人修改，请刷新后重试 / case {case.id} was changed by someone "
            f"else since version {expected} was loaded; reload it and decide again"
        )
    set_committed_value(case, "version", expected + 1)
    set_committed_value(case, "updated_at", now)


def add_event(
    session: Session,
    case: Case,
    *,
    kind: EventKind,
    actor: str,
    now: dt.datetime,
    from_state: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id,
        at=now,
        actor=actor,
        kind=kind.value,
        from_state=from_state,
        to_state=case.state,
        version=case.version,
        detail=canonical_detail(detail),
    )
    session.add(event)
    return event
