"""100,000 cases in a second or two: generated inside the database by one INSERT … SELECT.

Going through the ORM (or even executemany) costs several seconds per 100k rows here, which the
whole suite cannot afford; the database's own row generator does the same in a fraction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from models.findings import StoredFinding
from models.org import Unit

MINES = 10
BRANCHES = 20
STATES = ["open", "rectifying", "escalated", "under_review", "decided", "closed", "resolved"]
SEVERITIES = ["low", "medium", "high", "critical"]  # rank = index + 1


def seed_tree(session: Session) -> None:
    """G > M0..M9 > M{m}B{b} (20 branches each)."""
    session.add(Unit(code="G", name="集团", kind="company", parent_code=None))
    session.add_all(
        Unit(code=f"M{m}", name=f"第{m}矿", kind="mine", parent_code="G") for m in range(MINES)
    )
    session.flush()
    session.add_all(
        Unit(code=f"M{m}B{b}", name=f"{m}矿{b}支部", kind="branch", parent_code=f"M{m}")
        for m in range(MINES)
        for b in range(BRANCHES)
    )
    session.flush()


def seed_cases(engine: Engine, *, count: int, now: dt.datetime) -> None:
    with Session(engine) as session:
        seed_tree(session)
        finding = StoredFinding(
            content_hash="0" * 64,
            recorded_at=now,
            pack="bulk",
            pack_version="0",
            rule_id="rule-0",
            period="2026-03",
            subject_kind="unit",
            subject_id="G",
            unit_code="G",
            verdict="fail",
            side="integrity",
            severity="high",
            explanation="bulk",
        )
        session.add(finding)
        session.commit()
        finding_id = finding.id
    states = ", ".join(f"'{s}'" for s in STATES)
    severities = ", ".join(f"'{s}'" for s in SEVERITIES)
    # Different strides per column, so filters combine into uneven, realistic subsets.
    state_index = "((x * 5 + x / 7) % 7)"
    sev_index = "((x * 3 + x / 11) % 4)"
    unit = "'M' || (x % 10) || 'B' || ((x / 10) % 20)"
    step = "CASE x % 4 WHEN 0 THEN NULL ELSE 'L' || (x % 4) END"
    if engine.dialect.name == "sqlite":
        rows = f"WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {count})"
        due = "date('2026-01-01', '+' || ((x * 37) % 365) || ' days')"
        pick_state = f"json_extract(json_array({states}), '$[' || {state_index} || ']')"
        pick_sev = f"json_extract(json_array({severities}), '$[' || {sev_index} || ']')"
        moment = f"'{now.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
        source = "FROM n"
    else:
        rows = ""
        due = "DATE '2026-01-01' + ((x * 37) % 365)"
        pick_state = f"(ARRAY[{states}])[{state_index} + 1]"
        pick_sev = f"(ARRAY[{severities}])[{sev_index} + 1]"
        moment = f"TIMESTAMPTZ '{now.isoformat()}'"
        source = f"FROM generate_series(1, {count}) AS x"
    statement = f"""
        INSERT INTO cases (
            rule_id, subject_kind, subject_id, period, pack, unit_code, side, severity,
            severity_rank, finding_id, state, late, reopen_count, deadline_on, due_on, ladder,
            ladder_step, ladder_anchor_on, opened_at, updated_at, version
        )
        {rows}
        SELECT
            'rule-' || (x % 30), 'unit', {unit}, 'p' || x, 'bulk', {unit},
            CASE x % 2 WHEN 0 THEN 'business' ELSE 'integrity' END,
            {pick_sev}, {sev_index} + 1, {finding_id}, {pick_state}, false, 0, {due}, {due},
            'standard', {step}, {due}, {moment}, {moment}, 1
        {source}
    """
    with engine.begin() as conn:
        conn.execute(text(statement))
