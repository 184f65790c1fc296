"""The evaluation engine: a compiled pack, the evaluation tables, a period and a scope in;
findings out.

Set-based by construction: each rule is one SQL query over the tables of ``evidence.frames``
(DuckDB, in process), so the cost grows with the data the way a database's does, not with a
Python loop. Python only turns result rows (one per finding) into ``Finding``s.

The connection is used by one evaluation at a time: the engine keeps two temporary tables on it
(``_dd_ancestors``, ``_dd_scope``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import duckdb

from dualduty.errors import NotFoundError
from evidence.frames import ORG_TABLES, create_evidence_table, evidence_table
from rules.compiler import CompiledPack, RulePlan
from rules.findings import Finding, Verdict
from rules.kinds import Check, Duty, Window
from rules.periods import Period
from rules.queries.check import check_sql
from rules.queries.common import JudgedPeriod, judged_periods
from rules.queries.duty import duty_sql
from rules.queries.window import window_sql
from rules.wording import check_words, duty_words, window_words

COLUMNS = ("subject_id", "unit_code", "period", "verdict", "bearer", "ids", "n", "total", "late")


def prepare(con: duckdb.DuckDBPyConnection, pack: CompiledPack, scope: str | None) -> bool:
    """Make sure every table a rule reads exists, and build the unit tree and scope tables.

    Returns whether a scope applies. A missing evidence table is created empty: a type nobody
    loaded yet has no records, which duties report as no-evidence.
    """
    existing = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    missing_org = [table for table in ORG_TABLES if table not in existing]
    if missing_org:
        from evidence.frames import create_org_tables

        create_org_tables(con)
    for name, etype in pack.pack.evidence.items():
        if evidence_table(name) not in existing:
            create_evidence_table(con, name, etype.fields)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _dd_ancestors AS
        WITH RECURSIVE anc(unit, ancestor, depth) AS (
            SELECT code, code, 0 FROM org_units
            UNION ALL
            SELECT a.unit, u.parent_code, a.depth + 1
            FROM anc a JOIN org_units u ON u.code = a.ancestor
            WHERE u.parent_code IS NOT NULL AND a.depth < 64
        )
        SELECT unit, ancestor, min(depth) AS depth FROM anc GROUP BY unit, ancestor
        """
    )
    if scope is None:
        con.execute("CREATE OR REPLACE TEMP TABLE _dd_scope AS SELECT code AS unit FROM org_units")
        return False
    found = con.execute("SELECT count(*) FROM org_units WHERE code = ?", [scope]).fetchall()
    if not found[0][0]:
        raise NotFoundError(
            f"范围单位不存在 / no unit '{scope}' to scope the inspection to",
            hint="scope is a unit code from the organisation",
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _dd_scope AS "
        "SELECT unit FROM _dd_ancestors WHERE ancestor = ?",
        [scope],
    )
    return True


def rule_query(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    plan: RulePlan,
    periods: list[JudgedPeriod],
    scoped: bool,
) -> tuple[str, list[str]]:
    """The rule's SQL, and (checks) the evidence types whose total absence means no-evidence."""
    if isinstance(plan.rule, Duty):
        return duty_sql(plan, periods, scoped), []
    if isinstance(plan.rule, Check):
        missing = empty_lookups(con, plan)
        return check_sql(plan, periods, scoped, bool(missing)), missing
    return window_sql(plan, periods, scoped), []


def empty_lookups(con: duckdb.DuckDBPyConnection, plan: RulePlan) -> list[str]:
    """Evidence types looked up by ``require`` that hold no record at all.

    A check that needs a decision record cannot tell "no decision was taken" from "decisions were
    never loaded"; with none loaded at all, it says so instead of failing every record.
    """
    used = plan.require.lookups if plan.require else frozenset()
    missing = []
    for lookup in plan.lookups:
        if lookup.evidence is None or lookup.name not in used:
            continue
        count = con.execute(f"SELECT count(*) FROM {evidence_table(lookup.evidence)}").fetchall()
        if not count[0][0]:
            missing.append(lookup.evidence)
    return missing


def evaluate(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    scope: str | None = None,
    rules: Sequence[str] | None = None,
) -> list[Finding]:
    """Judge every rule (or the ``rules`` named) for the periods falling due in ``period``.

    ``scope`` (a unit code) limits the subjects to that unit's subtree.
    """
    scoped = prepare(con, pack, scope)
    plans = [pack.plan(rule_id) for rule_id in rules] if rules is not None else pack.plans
    findings: list[Finding] = []
    for plan in plans:
        findings.extend(_evaluate_plan(pack, con, plan, period, scoped))
    return findings


def _evaluate_plan(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    plan: RulePlan,
    period: Period,
    scoped: bool,
) -> list[Finding]:
    periods = judged_periods(plan, period)
    if not periods:
        return []
    sql, missing = rule_query(pack, con, plan, periods, scoped)
    rows = con.execute(sql).fetchall()
    return [_finding(pack, plan, dict(zip(COLUMNS, row, strict=True)), missing) for row in rows]


def _finding(
    pack: CompiledPack, plan: RulePlan, row: dict[str, Any], missing: list[str]
) -> Finding:
    rule = plan.rule
    verdict = Verdict(row["verdict"])
    total: Decimal | None = row["total"]
    if isinstance(rule, Duty):
        words = duty_words(pack, plan, verdict, row["period"], row["n"], total, row["late"])
    elif isinstance(rule, Check):
        words = check_words(plan, verdict, row["subject_id"], missing)
    else:
        assert isinstance(rule, Window)
        words = window_words(plan, verdict, row["subject_id"], row["n"], total)
    bearer_post = rule.bearer.post if rule.bearer is not None else None
    return Finding(
        pack=pack.id,
        pack_version=pack.version,
        rule_id=rule.id,
        period=row["period"],
        subject_kind=plan.subject_kind,
        subject_id=row["subject_id"],
        unit_code=row["unit_code"],
        verdict=verdict,
        side=rule.side,
        severity=rule.severity,
        ladder=rule.ladder,
        bearer_person=row["bearer"],
        bearer_post=bearer_post if row["bearer"] is not None else None,
        explanation=words,
        evidence_ids=list(row["ids"] or []),
    )
