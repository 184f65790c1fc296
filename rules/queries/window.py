"""Windows as SQL: a RANGE window per group over the record date finds every run of records
within N days whose total reaches the threshold, in one pass over the table."""

from __future__ import annotations

from evidence.frames import evidence_table
from rules.compiler import RECORD, RulePlan
from rules.kinds import Window
from rules.queries.common import (
    JudgedPeriod,
    bearer_column,
    bearer_join,
    bearers_cte,
    ids_list,
    in_period,
    in_scope,
    periods_cte,
    told_cte,
)


def group_key_sql(rule: Window) -> str:
    """The group as text, ``D1/V04``: the subject of the group's findings."""
    parts = ", ".join(f"coalesce({RECORD}.\"{name}\"::VARCHAR, '')" for name in rule.group_by)
    return f"concat_ws('/', {parts})"


def base_cte(plan: RulePlan, scoped: bool) -> str:
    rule = plan.rule
    assert isinstance(rule, Window)
    where = f"coalesce(({plan.where.sql}), FALSE)" if plan.where else "TRUE"
    date = f'CAST({RECORD}."{plan.date_field}" AS DATE)'
    bounded = (
        f"{date} BETWEEN (SELECT min(p_start) FROM periods) - {rule.within_days} "
        "AND (SELECT max(p_end) FROM periods)"
        if plan.period.kind is not None
        else f"{date} IS NOT NULL"
    )
    unit = f'{RECORD}."{plan.unit_field}"'
    return (
        f"base AS (SELECT {RECORD}._id, {unit}::VARCHAR AS unit_code, "
        f'{date} AS d, {RECORD}."{rule.sum}" AS v, {group_key_sql(rule)} AS g '
        f"FROM {evidence_table(plan.evidence)} {RECORD} "
        f"WHERE {where} AND {bounded} AND {in_scope(unit, scoped)})"
    )


def window_ctes(plan: RulePlan, periods: list[JudgedPeriod], scoped: bool) -> str:
    """``win`` (each record with the count and total of the N days up to it), ``ends`` (those in
    a judged period), ``flagged`` (windows over the line) and ``members`` (their records)."""
    rule = plan.rule
    assert isinstance(rule, Window)
    days = rule.within_days
    return f"""{base_cte(plan, scoped)},
win AS (
  SELECT *, count(*) OVER w AS wn, sum(v) OVER w AS wtotal FROM base
  WINDOW w AS (PARTITION BY g ORDER BY d RANGE BETWEEN INTERVAL {days} DAYS PRECEDING AND CURRENT ROW)
),
ends AS (SELECT w.*, p.label FROM win w JOIN periods p ON {in_period(plan.period.kind, "w.d", periods)}),
flagged AS (SELECT * FROM ends WHERE wn >= {rule.min_count} AND wtotal >= {rule.at_least}),
members AS (
  SELECT DISTINCT f.g, f.label, b._id FROM flagged f
  JOIN base b ON b.g = f.g AND b.d BETWEEN f.d - {days} AND f.d
)"""


def window_sql(
    plan: RulePlan, periods: list[JudgedPeriod], scoped: bool, all_passes_detailed: bool = True
) -> str:
    return f"""
WITH {periods_cte(periods)},
{window_ctes(plan, periods, scoped)},
groups AS (
  SELECT g, label, arg_max(unit_code, d) AS unit_code, max(d) AS at_day, count(*) AS records
  FROM ends GROUP BY g, label
),
worst AS (SELECT g, label, max(wtotal) AS total, arg_max(wn, wtotal) AS n FROM flagged GROUP BY g, label),
cited AS (SELECT g, label, list(_id) AS ids FROM members GROUP BY g, label),
{bearers_cte(plan, "groups")},
verdicts AS (
  SELECT gr.g AS subject_id, gr.unit_code, gr.label AS period,
         CASE WHEN w.total IS NULL THEN 'pass' ELSE 'fail' END AS verdict,
         {bearer_column(plan, "gr.g")} AS bearer,
         {ids_list("c.ids")} AS ids,
         coalesce(w.n, gr.records) AS n,
         w.total::DECIMAL(38, 4) AS total
  FROM groups gr
  LEFT JOIN worst w ON w.g = gr.g AND w.label = gr.label
  LEFT JOIN cited c ON c.g = gr.g AND c.label = gr.label
  {bearer_join("gr")}
),
{told_cte(plan.id, all_passes_detailed, source="verdicts", name="result")}"""
