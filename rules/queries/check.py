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
    in_period,
    in_scope,
    literal,
    periods_cte,
    told_cte,
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


def base_cte(plan: RulePlan, periods: list[JudgedPeriod], scoped: bool) -> str:
    """``base``: the selected records (``when``) with their period label and reference date."""
    member = "TRUE"
    date = f'CAST({RECORD}."{plan.date_field}" AS DATE)' if plan.date_field else None
    if plan.period.kind is not None and date is not None:
        member = in_period(plan.period.kind, date, periods)
    ref = f"coalesce({date}, p.ref)" if date and plan.bearer_at.value == "record_date" else "p.ref"
    when = f"coalesce(({plan.when.sql}), FALSE)" if plan.when else "TRUE"
    unit = f'{RECORD}."{plan.unit_field}"'
    return (
        f"base AS (SELECT {RECORD}.*, p.label AS _period, {ref} AS _ref "
        f"FROM {evidence_table(plan.evidence)} {RECORD} JOIN periods p ON {member} "
        f"WHERE {when} AND {in_scope(unit, scoped)})"
    )


def judged_cte(plan: RulePlan, single: bool) -> str:
    """``judged``: one row per record.

    ``single``: every lookup finds at most one record (the engine checked the data), so the joins
    cannot multiply a record's row and no grouping is needed. Otherwise rows are grouped by ``_id``
    only, other columns carried with ``any_value``: grouping on wide text keys costs more than the
    joins themselves.
    """
    assert plan.require is not None
    joins = "\n  ".join(lookup_join(lookup) for lookup in plan.lookups)
    found = [f"{lk.alias}._id" for lk in plan.lookups if lk.evidence is not None]
    if single:
        return f"""judged AS (
  SELECT {RECORD}._id,
         coalesce({RECORD}._key, {RECORD}._id::VARCHAR) AS subject_id,
         {RECORD}._period AS period,
         {RECORD}."{plan.unit_field}"::VARCHAR AS unit_code,
         {RECORD}._ref AS at_day,
         coalesce(({plan.require.sql}), FALSE) AS ok{"".join(f", {f} AS _found{i}" for i, f in enumerate(found))}
  FROM base {RECORD}
  {joins}
)"""
    looked_up = " || ".join(f"list({f})" for f in found) if found else "[]::BIGINT[]"
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


def lookup_is_single_sql(lookup: LookupPlan) -> str:
    """SQL answering TRUE when the lookup can find at most one record for any record: its match
    fields are unique (evidence), or the post never has two holders at once at a unit."""
    if lookup.evidence is None:
        return (
            "SELECT NOT EXISTS (SELECT 1 FROM (SELECT since, lag(coalesce(until, DATE '9999-12-31')) "
            "OVER (PARTITION BY unit_code ORDER BY since) AS previous_until FROM org_posts "
            f"WHERE post_name = {literal(lookup.post)}) WHERE previous_until >= since)"
        )
    alias = lookup.alias
    where = f"WHERE coalesce(({lookup.where.sql}), FALSE)" if lookup.where else ""
    keys = ", ".join(f'{alias}."{field}"' for field, _ in lookup.match)
    return (
        f"SELECT NOT EXISTS (SELECT 1 FROM {evidence_table(lookup.evidence)} {alias} {where} "
        f"GROUP BY {keys} HAVING count(*) > 1)"
    )


def looked_up_sql(plan: RulePlan, single: bool) -> str:
    """The looked-up records' ids as a list: built only for the findings that cite them."""
    if not single:
        return "looked_up"
    found = [
        f"_found{i}" for i, lk in enumerate(lk for lk in plan.lookups if lk.evidence is not None)
    ]
    return f"[{', '.join(found)}]::BIGINT[]"


def check_sql(
    plan: RulePlan,
    periods: list[JudgedPeriod],
    scoped: bool,
    missing_evidence: bool,
    single: bool = False,
    all_passes_detailed: bool = True,
) -> str:
    return f"""
WITH {periods_cte(periods)},
{base_cte(plan, periods, scoped)},
{judged_cte(plan, single)},
{bearers_cte(plan, "judged")},
verdicts AS (
  SELECT j.*,
         {verdict_sql("TRUE" if missing_evidence else "FALSE", "j.ok")} AS verdict,
         {bearer_column(plan, "j.subject_id")} AS bearer
  FROM judged j
  {bearer_join("j")}
),
{told_cte(plan.id, all_passes_detailed, source="verdicts", name="told_rows")},
result AS (
  SELECT subject_id, unit_code, period, verdict, bearer, told,
         CASE WHEN told THEN [_id] || {ids_list(looked_up_sql(plan, single))}
              ELSE []::BIGINT[] END AS ids
  FROM told_rows
)"""
