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
    in_period,
    periods_cte,
    subjects_cte,
    told_cte,
    verdict_sql,
)


def record_terms(plan: RulePlan, periods: list[JudgedPeriod]) -> tuple[str, str, str]:
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
    return in_period(plan.period.kind, date, periods, until_due=True), on_time, where


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


def recs_cte(plan: RulePlan, periods: list[JudgedPeriod]) -> str:
    """``recs(_id, sid, label, ok, on_time, val, d)``: each record placed in its period."""
    rule = plan.rule
    assert isinstance(rule, Duty)
    member, on_time, where = record_terms(plan, periods)
    value = rule.sum or rule.distinct
    value_sql = f'{RECORD}."{value}"' if value else "NULL"
    date_sql = f'CAST({RECORD}."{plan.date_field}" AS DATE)' if plan.date_field else "NULL::DATE"
    return (
        f'recs AS (SELECT {RECORD}._id, {RECORD}."{plan.subject_field}"::VARCHAR AS sid, '
        f"p.label, {where} AS ok, {on_time} AS on_time, {value_sql} AS val, {date_sql} AS d "
        f"FROM {evidence_table(plan.evidence)} {RECORD} JOIN periods p ON {member})"
    )


def duty_sql(
    plan: RulePlan, periods: list[JudgedPeriod], scoped: bool, all_passes_detailed: bool = True
) -> str:
    """Counts first, cited records after: the evidence ids are gathered only for the findings
    that are told (``told_cte``), which at scale is a few percent of them."""
    rule = plan.rule
    assert isinstance(rule, Duty)
    return f"""
WITH {periods_cte(periods)},
{subjects_cte(rule.subject, scoped)},
{recs_cte(plan, periods)},
agg AS (
  SELECT sid, label,
         count(*) FILTER (WHERE ok AND on_time) AS n,
         {measure_sql(rule)} AS measure,
         count(*) FILTER (WHERE ok AND NOT on_time) AS late
  FROM recs WHERE ok GROUP BY sid, label
),
present AS (SELECT label, count(*) AS records FROM recs GROUP BY label),
{bearers_cte(plan, "subjects")},
verdicts AS (
  SELECT s.subject_id, s.unit_code, s.label AS period,
         {verdict_sql("coalesce(pr.records, 0) = 0", threshold_sql(rule, "coalesce(a.measure, 0)"))}
           AS verdict,
         {bearer_column(plan, "s.subject_id")} AS bearer,
         coalesce(a.n, 0) AS n,
         coalesce(a.measure, 0)::DECIMAL(38, 4) AS total,
         coalesce(a.late, 0) AS late
  FROM subjects s
  LEFT JOIN agg a ON a.sid = s.subject_id AND a.label = s.label
  LEFT JOIN present pr ON pr.label = s.label
  {bearer_join("s")}
),
{told_cte(plan.id, all_passes_detailed, source="verdicts", name="told_rows")},
cited AS (
  SELECT r.sid, r.label, list(r._id ORDER BY r._id)[1:{MAX_IDS}] AS ids
  FROM recs r SEMI JOIN (SELECT subject_id, period FROM told_rows WHERE told) t
    ON t.subject_id = r.sid AND t.period = r.label
  WHERE r.ok GROUP BY r.sid, r.label
),
result AS (
  SELECT t.*, coalesce(c.ids, []::BIGINT[]) AS ids
  FROM told_rows t LEFT JOIN cited c ON c.sid = t.subject_id AND c.label = t.period
)"""
