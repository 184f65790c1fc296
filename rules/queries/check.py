"""Checks as SQL: each selected record joined to its lookups; it passes if any combination of
looked-up records satisfies ``require``."""

from __future__ import annotations

from evidence.frames import evidence_table
from rules.compiler import RECORD, LookupPlan, RulePlan
from rules.queries.common import (
    JudgedPeriod,
    bearer_column,
    bearer_join,
    bearers_cte,
    ids_list,
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
    """``base``: the selected records (``when``) with their period label and reference date."""
    member = "TRUE"
    date = f'CAST({RECORD}."{plan.date_field}" AS DATE)' if plan.date_field else None
    if plan.period.kind is not None and date is not None:
        member = f"{date} BETWEEN p.p_start AND p.p_end"
    ref = f"coalesce({date}, p.ref)" if date and plan.bearer_at.value == "record_date" else "p.ref"
    when = f"coalesce(({plan.when.sql}), FALSE)" if plan.when else "TRUE"
    unit = f'{RECORD}."{plan.unit_field}"'
    return (
        f"base AS (SELECT {RECORD}.*, p.label AS _period, {ref} AS _ref "
        f"FROM {evidence_table(plan.evidence)} {RECORD} JOIN periods p ON {member} "
        f"WHERE {when} AND {in_scope(unit, scoped)})"
    )


def judged_cte(plan: RulePlan) -> str:
    """``judged``: one row per record. Grouped by ``_id`` only, other columns carried with
    ``any_value``: grouping on wide text keys costs more than the joins themselves."""
    assert plan.require is not None
    joins = "\n  ".join(lookup_join(lookup) for lookup in plan.lookups)
    found = [f"list({lk.alias}._id)" for lk in plan.lookups if lk.evidence is not None]
    looked_up = " || ".join(found) if found else "[]::BIGINT[]"
    return f"""judged AS (
  SELECT {RECORD}._id,
         any_value(coalesce({RECORD}._key, {RECORD}._id::VARCHAR)) AS subject_id,
         any_value({RECORD}._period) AS period,
         any_value({RECORD}."{plan.unit_field}"::VARCHAR) AS unit_code,
         any_value({RECORD}._ref) AS at_day,
         bool_or(coalesce(({plan.require.sql}), FALSE)) AS ok,
         {looked_up} AS looked_up
  FROM base {RECORD}
  {joins}
  GROUP BY {RECORD}._id
)"""


def check_sql(
    plan: RulePlan, periods: list[JudgedPeriod], scoped: bool, missing_evidence: bool
) -> str:
    return f"""
WITH {periods_cte(periods)},
{base_cte(plan, scoped)},
{judged_cte(plan)},
{bearers_cte(plan, "judged")},
result AS (
  SELECT j.subject_id, j.unit_code, j.period,
         {verdict_sql("TRUE" if missing_evidence else "FALSE", "j.ok")} AS verdict,
         {bearer_column(plan, "j.subject_id")} AS bearer,
         [j._id] || {ids_list("j.looked_up")} AS ids
  FROM judged j
  {bearer_join("j")}
)"""
