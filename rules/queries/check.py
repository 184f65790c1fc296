"""Checks as SQL: each selected record joined to its lookups; it passes if any combination of
looked-up records satisfies ``require``."""

from __future__ import annotations

from evidence.frames import evidence_table
from rules.compiler import RECORD, LookupPlan, RulePlan
from rules.queries.common import (
    JudgedPeriod,
    bearers_cte,
    capped,
    in_scope,
    literal,
    periods_cte,
    verdict_sql,
)


def lookup_join(lookup: LookupPlan) -> str:
    alias = lookup.alias
    if lookup.evidence is None:
        source = (
            "SELECT person_code AS person, unit_code AS unit, since, until, TRUE AS _hit "
            f"FROM org_posts WHERE post_name = {literal(lookup.post)}"
        )
        condition = (
            f"{alias}.unit = {lookup.unit_sql} AND {alias}.since <= {lookup.at_sql} "
            f"AND ({alias}.until IS NULL OR {alias}.until >= {lookup.at_sql})"
        )
    else:
        where = f" WHERE coalesce(({lookup.where.sql}), FALSE)" if lookup.where else ""
        source = f"SELECT *, TRUE AS _hit FROM {evidence_table(lookup.evidence)} {alias}{where}"
        condition = " AND ".join(f'{alias}."{field}" = {value}' for field, value in lookup.match)
    return f"LEFT JOIN ({source}) {alias} ON {condition}"


def base_cte(plan: RulePlan, scoped: bool) -> str:
    """Selected records with their period label and the bearer's reference date."""
    member = "TRUE"
    date = f'CAST({RECORD}."{plan.date_field}" AS DATE)' if plan.date_field else None
    if plan.period.kind is not None and date is not None:
        member = f"{date} BETWEEN p.p_start AND p.p_end"
    ref = date if date is not None and plan.bearer_at.value == "record_date" else "p.ref"
    when = f"coalesce(({plan.when.sql}), FALSE)" if plan.when else "TRUE"
    unit = f'{RECORD}."{plan.unit_field}"'
    return (
        f"base AS (SELECT {RECORD}.*, p.label AS _period, coalesce({ref}, p.ref) AS _ref "
        f"FROM {evidence_table(plan.evidence)} {RECORD} JOIN periods p ON {member} "
        f"WHERE {when} AND {in_scope(unit, scoped)})"
    )


def rows_cte(plan: RulePlan) -> str:
    assert plan.require is not None
    joins = "\n  ".join(lookup_join(lookup) for lookup in plan.lookups)
    found = [
        f"list(DISTINCT {lk.alias}._id) FILTER (WHERE {lk.alias}._id IS NOT NULL)"
        for lk in plan.lookups
        if lk.evidence is not None
    ]
    looked_up = "flatten([" + ", ".join(f"coalesce({f}, [])" for f in found) + "])"
    return f"""rows AS (
  SELECT {RECORD}._id, coalesce({RECORD}._key, {RECORD}._id::VARCHAR) AS subject_id,
         {RECORD}._period AS label, {RECORD}."{plan.unit_field}"::VARCHAR AS unit_code,
         {RECORD}._ref AS at,
         bool_or(coalesce(({plan.require.sql}), FALSE)) AS ok,
         {looked_up if found else "[]::BIGINT[]"} AS looked_up
  FROM base {RECORD}
  {joins}
  GROUP BY ALL
)"""


def check_sql(
    plan: RulePlan, periods: list[JudgedPeriod], scoped: bool, missing_evidence: bool
) -> str:
    return f"""
WITH {periods_cte(periods)},
{base_cte(plan, scoped)},
{rows_cte(plan)},
{bearers_cte(plan, "rows", "_id", "unit_code", "at")}
SELECT rw.subject_id, rw.unit_code, rw.label AS period,
       {verdict_sql("TRUE" if missing_evidence else "FALSE", "rw.ok")} AS verdict,
       b.bearer,
       [rw._id] || {capped("rw.looked_up")} AS ids,
       1::BIGINT AS n,
       NULL::DECIMAL(38, 4) AS total,
       0::BIGINT AS late
FROM rows rw
LEFT JOIN bearers b ON b._id = rw._id AND b.label = rw.label
ORDER BY period, subject_id
"""
