"""The review queue: filters, counts, keyset paging that neither skips nor repeats, and speed
at 100,000 cases."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from dualduty.errors import UserError
from models.cases import (
    ACTIVE_STATES,
    Case,
    CaseFilter,
    CaseSort,
    CaseState,
    Decision,
    count_by_state,
    count_cases,
    decide,
    list_cases,
    reconcile,
)
from rules.findings import Severity, Side
from tests.cases.helpers import NOW, finding
from tests.ladders import orgdata

SEVERITIES = [Severity.low, Severity.medium, Severity.high, Severity.critical]


def _seed(session: Session) -> list[int]:
    orgdata.build(session)
    items = [
        finding(
            f"S{i:02d}",
            unit_code="B01" if i % 2 else "B02",
            severity=SEVERITIES[i % 4],
            side=Side.business if i % 3 == 0 else Side.integrity,
            # Five periods: many cases share a due date, so ties must page correctly.
            period=f"2026-0{1 + i % 5}",
        )
        for i in range(23)
    ]
    ids = reconcile(session, findings=items, inspection_id=None, now=NOW).opened
    session.commit()
    return ids


def _walk(session: Session, sort: CaseSort, filters: CaseFilter | None = None) -> list[Case]:
    seen: list[Case] = []
    cursor = None
    while True:
        page = list_cases(session, filters=filters, sort=sort, cursor=cursor, limit=4)
        seen += page.items
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", list(CaseSort))
def test_keyset_pages_cover_every_case_once_in_order(session: Session, sort: CaseSort) -> None:
    ids = _seed(session)
    walked = _walk(session, sort)
    assert sorted(c.id for c in walked) == sorted(ids)
    keys = {
        CaseSort.due: lambda c: (c.due_on, c.id),
        CaseSort.severity: lambda c: (-c.severity_rank, c.due_on, c.id),
        CaseSort.newest: lambda c: (-c.id,),
    }[sort]
    assert walked == sorted(walked, key=keys)


def test_the_severity_walk_crosses_severities_with_filters(session: Session) -> None:
    """The severity sort reads one severity at a time: every page boundary, including those
    between severities and those a filter skips, continues exactly where the last page ended."""
    _seed(session)
    everything = _walk(session, CaseSort.due)
    for filters in [
        CaseFilter(severities=[Severity.low, Severity.critical]),
        CaseFilter(severities=[Severity.medium], side=Side.integrity),
        CaseFilter(unit_codes=["B01"]),
        CaseFilter(states=[CaseState.open], overdue_on=dt.date(2026, 4, 10)),
    ]:
        walked = _walk(session, CaseSort.severity, filters)
        expected = {c.id for c in _walk(session, CaseSort.due, filters)}
        assert {c.id for c in walked} == expected and len(walked) == len(expected)
        assert walked == sorted(walked, key=lambda c: (-c.severity_rank, c.due_on, c.id))
    assert len(everything) == 23


def test_count_cases_is_the_total_of_every_page(session: Session) -> None:
    ids = _seed(session)
    decide(
        session,
        case_id=ids[0],
        actor="user:x",
        decision=Decision(kind="dismiss", category="duplicate", reason="重复"),
        expected_version=1,
        now=NOW,
    )
    session.commit()
    overdue = dt.date(2026, 4, 10)
    for filters in [
        CaseFilter(),
        CaseFilter(states=[CaseState.open]),
        CaseFilter(states=[CaseState.decided]),
        CaseFilter(states=[CaseState.open], severities=[Severity.high, Severity.low]),
        CaseFilter(unit_subtree="B01", side=Side.business),
        CaseFilter(overdue_on=overdue),
        # "Overdue" is active only: a decided case is never overdue, whatever states say.
        CaseFilter(states=[CaseState.decided, CaseState.open], overdue_on=overdue),
        CaseFilter(states=[CaseState.decided], overdue_on=overdue),
    ]:
        assert count_cases(session, filters=filters) == len(_walk(session, CaseSort.due, filters))
    assert count_cases(session, filters=CaseFilter(states=[CaseState.decided])) == 1
    decided_overdue = CaseFilter(states=[CaseState.decided], overdue_on=overdue)
    assert count_cases(session, filters=decided_overdue) == 0
    assert count_cases(session) == 23


def test_filters_and_counts(session: Session) -> None:
    ids = _seed(session)
    decide(
        session,
        case_id=ids[0],
        actor="user:x",
        decision=Decision(kind="dismiss", category="duplicate", reason="重复"),
        expected_version=1,
        now=NOW,
    )
    session.commit()

    def subjects(**kw: object) -> set[str]:
        return {c.subject_id for c in _walk(session, CaseSort.due, CaseFilter.model_validate(kw))}

    assert subjects(unit_subtree="B01") == {f"S{i:02d}" for i in range(23) if i % 2}
    assert subjects(unit_subtree="M1") == {f"S{i:02d}" for i in range(23)}
    assert subjects(severities=["critical"], side="business") == {"S03", "S15"}
    assert subjects(states=["decided"]) == {"S00"}
    assert subjects(
        unit_codes=["B02"], rule_id="branch-committee-monthly", bearer_person="P-S04"
    ) == {"S04"}
    # Due 2026-03-31 and earlier are overdue on 2026-04-10 (S00 is decided: not overdue).
    assert subjects(overdue_on=dt.date(2026, 4, 10)) == {
        f"S{i:02d}" for i in range(1, 23) if 1 + i % 5 <= 3
    }
    counts = count_by_state(session, filters=CaseFilter(states=[CaseState.open], unit_subtree="M1"))
    assert counts[CaseState.open] == 22 and counts[CaseState.decided] == 1
    assert sum(counts.values()) == 23


def test_bad_paging_input(session: Session) -> None:
    _seed(session)
    with pytest.raises(UserError, match="limit must be"):
        list_cases(session, limit=0)
    with pytest.raises(UserError, match="invalid page cursor"):
        list_cases(session, cursor="not-a-cursor")
    newest = list_cases(session, sort=CaseSort.newest, limit=2).next_cursor
    assert newest is not None
    with pytest.raises(UserError, match="invalid page cursor"):
        list_cases(session, sort=CaseSort.severity, cursor=newest)


@pytest.mark.postgres
def test_deep_pages_stay_fast_at_100k_cases(pg_engine: Engine) -> None:
    with Session(pg_engine) as s:
        s.execute(
            sa.text(
                "INSERT INTO findings (content_hash, recorded_at, pack, pack_version, rule_id, period,"
                " subject_kind, subject_id, verdict, side, severity, explanation, evidence_ids)"
                " VALUES (repeat('0', 64), now(), 'bulk', '0', 'r', '2026-03', 'unit', 'U', 'fail',"
                " 'integrity', 'high', '', '[]')"
            )
        )
        s.execute(
            sa.text(
                "INSERT INTO cases (rule_id, subject_kind, subject_id, period, pack, unit_code, side,"
                " severity, severity_rank, finding_id, state, late, reopen_count, deadline_on, due_on,"
                " ladder, ladder_anchor_on, opened_at, updated_at, version)"
                " SELECT 'rule-' || (g % 40), 'unit', 'U' || g, '2026-03', 'bulk', 'U' || (g % 200),"
                " 'integrity', (ARRAY['low','medium','high','critical'])[1 + g % 4], 1 + g % 4,"
                " (SELECT min(id) FROM findings),"
                " (ARRAY['open','rectifying','escalated','under_review','decided','closed','resolved'])"
                "[1 + g % 7], false, 0, DATE '2026-01-01' + (g % 365), DATE '2026-01-01' + (g % 365),"
                " 'standard', DATE '2026-01-01', now(), now(), 1"
                " FROM generate_series(1, 100000) AS g"
            )
        )
        s.commit()
        s.execute(sa.text("ANALYZE cases"))
        filters = CaseFilter(states=[CaseState.escalated])
        cursor = None
        timings = []
        for _ in range(40):  # 40 pages in: the 2,000th case of the state
            started = time.perf_counter()
            page = list_cases(s, filters=filters, sort=CaseSort.severity, cursor=cursor, limit=50)
            timings.append(time.perf_counter() - started)
            cursor = page.next_cursor
        assert cursor is not None and len(page.items) == 50
        assert all(c.state == "escalated" for c in page.items)
        # Generous bound for a loaded 2-core machine; a sequential scan + sort takes far longer.
        assert max(timings[1:]) < 0.25, timings
        started = time.perf_counter()
        counts = count_by_state(s, filters=CaseFilter(unit_subtree=None))
        assert sum(counts.values()) == 100_000 and time.perf_counter() - started < 1.0
        # The plans, which a loaded machine cannot blur: every page is an index read in order.
        active = CaseFilter(states=sorted(ACTIVE_STATES))
        pages = [
            (filters, CaseSort.severity, cursor),
            (active, CaseSort.severity, None),
            (active, CaseSort.due, None),
            (CaseFilter(), CaseSort.due, None),
        ]
        for wanted, sort, at in pages:
            for plan in _plans(s, partial(list_cases, s, filters=wanted, sort=sort, cursor=at)):
                assert "Index Scan" in plan and "Sort" not in plan, plan


def _plans(session: Session, call: Callable[[], object]) -> list[str]:
    """PostgreSQL's plans of the SELECTs on cases that ``call`` runs."""
    statements: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM cases" in statement:
            statements.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    connection = session.connection()
    return [
        " | ".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql, params))
        for sql, params in statements
    ]
