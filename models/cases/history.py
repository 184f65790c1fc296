"""How every change to a case is made: claim the version, change, append an event.

``bump`` is an ``UPDATE … WHERE id = ? AND version = ?``. On PostgreSQL it waits for a concurrent
writer's row lock and then matches nothing if that writer committed first; on SQLite the
database write lock serialises writers the same way. Either way the later writer gets a
ConflictError *before* it has changed anything, so its transaction stays usable and nothing of
the earlier change is lost. Call it before touching the case's attributes: a dirty case would be
autoflushed without the version check. ``claim`` does the same for many cases in one statement.

Writers that also append to the audit log take its lock first (``models.audit.lock_chain``)
and claim cases second, so two writers never hold one lock each while waiting for the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from dualduty.errors import ConflictError
from dualduty.settings import get_settings
from models.audit import canonical_detail, record
from models.cases.tables import Case, CaseEvent, EventKind

_CLAIM_CHUNK = 500


def local_date(now: dt.datetime) -> dt.date:
    """The calendar day of ``now`` where the organisation works (settings.timezone)."""
    return now.astimezone(ZoneInfo(get_settings().timezone)).date()


def claim(session: Session, cases: Sequence[Case], *, now: dt.datetime) -> list[Case]:
    """Bump the version of many cases in one statement per chunk; return the cases that someone
    else changed first (not claimed, untouched). Claimed cases carry their new version."""
    conflicted: list[Case] = []
    for start in range(0, len(cases), _CLAIM_CHUNK):
        chunk = cases[start : start + _CLAIM_CHUNK]
        with session.no_autoflush:
            rows = session.execute(
                update(Case)
                .where(tuple_(Case.id, Case.version).in_([(c.id, c.version) for c in chunk]))
                .values(version=Case.version + 1, updated_at=now)
                .returning(Case.id, Case.version)
                .execution_options(synchronize_session=False)
            ).all()
        versions = {row.id: row.version for row in rows}
        for case in chunk:
            if case.id in versions:
                set_committed_value(case, "version", versions[case.id])
                set_committed_value(case, "updated_at", now)
            else:
                conflicted.append(case)
    return conflicted


def bump(session: Session, case: Case, *, now: dt.datetime) -> None:
    expected = case.version
    if claim(session, [case], now=now):
        raise ConflictError(
            f"案件 {case.id} 已被他人修改，请刷新后重试 / case {case.id} was changed by someone "
            f"else since version {expected} was loaded; reload it and decide again"
        )


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


def add_audited_event(
    session: Session,
    case: Case,
    *,
    kind: EventKind,
    action: str,
    actor: str,
    now: dt.datetime,
    from_state: str | None,
    detail: Mapping[str, Any],
    audit_detail: Mapping[str, Any] | None = None,
) -> CaseEvent:
    """Append the event and its entry in the audit log (``action`` on the case), both with
    ``detail`` unless the audit entry is to say more (``audit_detail``)."""
    event = add_event(
        session, case, kind=kind, actor=actor, now=now, from_state=from_state, detail=detail
    )
    record(
        session,
        actor=actor,
        action=action,
        subject_type="case",
        subject_id=case.id,
        detail=detail if audit_detail is None else audit_detail,
        now=now,
    )
    return event
