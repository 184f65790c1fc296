"""Duties as SQL: per subject and period, count (or sum) the records that count, on time."""

from __future__ import annotations

from evidence.frames import evidence_table
from rules.compiler import RECORD, RulePlan
from rules.kinds import Duty
from rules.queries.common import (
    JudgedPeriod,
    bearers_cte,
    capped,
    ids_sql,
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
    measure = measure_sql(rule)
    return f"""
WITH {periods_cte(periods)},
{subjects_cte(rule.subject, scoped)},
{recs_cte(plan)},
agg AS (
  SELECT sid, label,
         count(*) FILTER (WHERE ok AND on_time) AS n,
         {measure} AS measure,
         count(*) FILTER (WHERE ok AND NOT on_time) AS late,
         {ids_sql("_id", "ok AND on_time")} AS ids,
         {ids_sql("_id", "ok AND NOT on_time")} AS late_ids
  FROM recs WHERE sid IN (SELECT subject_id FROM subjects) GROUP BY sid, label
),
present AS (SELECT label, count(*) AS records FROM recs GROUP BY label),
bearer_src AS (
  SELECT s.subject_id, s.label, s.unit_code, p.ref AS at FROM subjects s JOIN periods p USING (label)
),
{bearers_cte(plan, "bearer_src", "subject_id", "unit_code", "at")}
SELECT s.subject_id, s.unit_code, s.label AS period,
       {verdict_sql("coalesce(pr.records, 0) = 0", threshold_sql(rule, "coalesce(a.measure, 0)"))}
         AS verdict,
       b.bearer,
       {capped("a.ids")} || {capped("a.late_ids")} AS ids,
       coalesce(a.n, 0) AS n,
       coalesce(a.measure, 0)::DECIMAL(38, 4) AS total,
       coalesce(a.late, 0) AS late
FROM subjects s
LEFT JOIN agg a ON a.sid = s.subject_id AND a.label = s.label
LEFT JOIN present pr ON pr.label = s.label
LEFT JOIN bearers b ON b.subject_id = s.subject_id AND b.label = s.label
ORDER BY period, subject_id
"""
