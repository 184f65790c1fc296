"""Duties as SQL: per subject and period, count (or sum) the records that count, on time."""

from __future__ import annotations

from evidence.frames import evidence_table
from rules.compiler import RECORD, RulePlan
from rules.kinds import Duty
from rules.queries.common import (
    MAX_IDS,
    JudgedPeriod,
    bearer_column,
    bearer_join,
    bearers_cte,
    periods_cte,
    subjects_cte,
    verdict_sql,
)


def record_terms(plan: RulePlan) -> tuple[str, str, str]:
    """SQL for (the record belongs to the period, it is on time, it matches ``where``)."""
    rule = plan.rule
    assert isinstance(rule, Duty)
    where = f"coalesce(({plan.where.sql}), FALSE)" if plan.where else "TRUE"
    if plan.period.kind is None or plan.date_field is None:
        return "TRUE", "TRUE", where
    date = f'CAST({RECORD}."{plan.date_field}" AS DATE)'
    on_time = f"coalesce({date} <= p.due, FALSE)"
    if rule.period_field is not None:
        return f'{RECORD}."{rule.period_field}" = p.label', on_time, where
    return f"{date} BETWEEN p.p_start AND greatest(p.p_end, p.due)", on_time, where


def measure_sql(rule: Duty) -> str:
    counted = "ok AND on_time"
    if rule.sum is not None:
        return f"coalesce(sum(val) FILTER (WHERE {counted}), 0)"
    if rule.distinct is not None:
        return f"count(DISTINCT val) FILTER (WHERE {counted})"
    return f"count(*) FILTER (WHERE {counted})"


def threshold_sql(rule: Duty, measure: str) -> str:
    terms = []
    if rule.at_least is not None:
        terms.append(f"{measure} >= {rule.at_least}")
    if rule.at_most is not None:
        terms.append(f"{measure} <= {rule.at_most}")
    return " AND ".join(terms)


def recs_cte(plan: RulePlan) -> str:
    """``recs(_id, sid, label, ok, on_time, val, d)``: each record placed in its period."""
    rule = plan.rule
    assert isinstance(rule, Duty)
    member, on_time, where = record_terms(plan)
    value = rule.sum or rule.distinct
    value_sql = f'{RECORD}."{value}"' if value else "NULL"
    date_sql = f'CAST({RECORD}."{plan.date_field}" AS DATE)' if plan.date_field else "NULL::DATE"
    return (
        f'recs AS (SELECT {RECORD}._id, {RECORD}."{plan.subject_field}"::VARCHAR AS sid, '
        f"p.label, {where} AS ok, {on_time} AS on_time, {value_sql} AS val, {date_sql} AS d "
        f"FROM {evidence_table(plan.evidence)} {RECORD} JOIN periods p ON {member})"
    )


def duty_sql(plan: RulePlan, periods: list[JudgedPeriod], scoped: bool) -> str:
    rule = plan.rule
    assert isinstance(rule, Duty)
    return f"""
WITH {periods_cte(periods)},
{subjects_cte(rule.subject, scoped)},
{recs_cte(plan)},
agg AS (
  SELECT sid, label,
         count(*) FILTER (WHERE ok AND on_time) AS n,
         {measure_sql(rule)} AS measure,
         count(*) FILTER (WHERE ok AND NOT on_time) AS late,
         list(_id) FILTER (WHERE ok) AS ids
  FROM recs WHERE sid IN (SELECT subject_id FROM subjects) GROUP BY sid, label
),
present AS (SELECT label, count(*) AS records FROM recs GROUP BY label),
{bearers_cte(plan, "subjects")},
result AS (
  SELECT s.subject_id, s.unit_code, s.label AS period,
         {verdict_sql("coalesce(pr.records, 0) = 0", threshold_sql(rule, "coalesce(a.measure, 0)"))}
           AS verdict,
         {bearer_column(plan, "s.subject_id")} AS bearer,
         CASE WHEN len(a.ids) > 1 THEN list_sort(a.ids)[1:{MAX_IDS}]
              ELSE coalesce(a.ids, []::BIGINT[]) END AS ids,
         coalesce(a.n, 0) AS n,
         coalesce(a.measure, 0)::DECIMAL(38, 4) AS total,
         coalesce(a.late, 0) AS late
  FROM subjects s
  LEFT JOIN agg a ON a.sid = s.subject_id AND a.label = s.label
  LEFT JOIN present pr ON pr.label = s.label
  {bearer_join("s")}
)"""
