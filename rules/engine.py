"""The evaluation engine: a compiled pack, the evaluation tables, a period and a scope in;
findings out.

Set-based by construction: each rule is one SQL query over the tables of ``evidence.frames``
(DuckDB, in process), so the cost grows with the data the way a database's does, not with a
Python loop. Python only turns result rows (one per finding) into ``Finding``s.

The connection is used by one evaluation at a time: the engine keeps two temporary tables on it
(``_dd_ancestors``, ``_dd_scope``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from dualduty.errors import NotFoundError
from evidence.frames import ORG_TABLES, create_evidence_table, evidence_table
from rules.compiler import CompiledPack, RulePlan
from rules.findings import Finding, Verdict
from rules.kinds import Check, Duty
from rules.periods import Period
from rules.queries.check import check_sql
from rules.queries.common import JudgedPeriod, judged_periods, literal
from rules.queries.duty import duty_sql
from rules.queries.window import window_sql
from rules.wording import explanation_sql


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
) -> str:
    """The rule's whole query: its kind's CTEs, then one row per finding with every column."""
    rule = plan.rule
    if isinstance(rule, Duty):
        body = duty_sql(plan, periods, scoped)
    elif isinstance(rule, Check):
        body = check_sql(plan, periods, scoped, bool(empty_lookups(con, plan)))
    else:
        body = window_sql(plan, periods, scoped)
    post = rule.bearer.post if rule.bearer is not None else None
    return f"""{body}
SELECT {literal(pack.id)} AS pack,
       {literal(pack.version)} AS pack_version,
       {literal(rule.id)} AS rule_id,
       period,
       {literal(plan.subject_kind.value)} AS subject_kind,
       subject_id,
       unit_code,
       verdict,
       {literal(rule.side.value)} AS side,
       {literal(rule.severity.value)} AS severity,
       {literal(rule.ladder)} AS ladder,
       bearer AS bearer_person,
       CASE WHEN bearer IS NULL THEN NULL ELSE {literal(post)} END AS bearer_post,
       {explanation_sql(pack, plan)} AS explanation,
       ids AS evidence_ids
FROM result
ORDER BY period, subject_id
"""


def empty_lookups(con: duckdb.DuckDBPyConnection, plan: RulePlan) -> list[str]:
    """Evidence types looked up by ``require`` that hold no record at all.

    A check that needs a decision record cannot tell "no decision was taken" from "decisions were
    never loaded"; with none loaded at all, it says so (no-evidence) instead of failing every
    record.
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


FINDINGS_SCHEMA = pa.schema(
    [
        pa.field("pack", pa.string()),
        pa.field("pack_version", pa.string()),
        pa.field("rule_id", pa.string()),
        pa.field("period", pa.string()),
        pa.field("subject_kind", pa.string()),
        pa.field("subject_id", pa.string()),
        pa.field("unit_code", pa.string()),
        pa.field("verdict", pa.string()),
        pa.field("side", pa.string()),
        pa.field("severity", pa.string()),
        pa.field("ladder", pa.string()),
        pa.field("bearer_person", pa.string()),
        pa.field("bearer_post", pa.string()),
        pa.field("explanation", pa.string()),
        pa.field("evidence_ids", pa.list_(pa.int64())),
    ]
)


def evaluate_table(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    scope: str | None = None,
    rules: Sequence[str] | None = None,
) -> pa.Table:
    """Every finding (pass, fail, no-evidence) as one Arrow table, columns named as ``Finding``'s
    fields.

    This is the bulk interface: an inspection of a large company yields hundreds of thousands of
    findings (most of them passes), which stay columnar here; turning each into a Python object
    costs far more than judging it. ``findings()`` converts the rows you need.
    """
    scoped = prepare(con, pack, scope)
    plans = [pack.plan(rule_id) for rule_id in rules] if rules is not None else pack.plans
    tables = []
    for plan in plans:
        periods = judged_periods(plan, period)
        if not periods:
            continue
        sql = rule_query(pack, con, plan, periods, scoped)
        tables.append(con.sql(sql).to_arrow_table().cast(FINDINGS_SCHEMA))
    if not tables:
        return FINDINGS_SCHEMA.empty_table()
    return pa.concat_tables(tables)


def findings(table: pa.Table) -> list[Finding]:
    """Findings from (a filtered part of) ``evaluate_table``'s result."""
    return [Finding.model_validate(row) for row in table.to_pylist()]


def evaluate(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    scope: str | None = None,
    rules: Sequence[str] | None = None,
    verdicts: Collection[Verdict] | None = None,
) -> list[Finding]:
    """Judge every rule (or the ``rules`` named) for the periods falling due in ``period``.

    ``scope`` (a unit code) limits the subjects to that unit's subtree; ``verdicts`` keeps only
    findings with those verdicts (``{Verdict.failed, Verdict.no_evidence}`` for what needs action).
    """
    table = evaluate_table(pack, con, period, scope=scope, rules=rules)
    if verdicts is not None:
        wanted = pa.array([v.value for v in verdicts], pa.string())
        table = table.filter(pc.is_in(table["verdict"], value_set=wanted))
    return findings(table)
