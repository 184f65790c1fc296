"""SQL shared by the rule kinds: the periods a rule is judged for, subjects, bearers, scope.

Every query reads the evaluation tables of ``evidence.frames`` plus two temporary tables the engine
prepares once per evaluation: ``_dd_ancestors(unit, ancestor, depth)`` (each unit with itself at
depth 0 and every ancestor above it) and ``_dd_scope(unit)`` (the units in scope).

Every rule query returns the same columns, so findings are built one way:
``subject_id, unit_code, period, verdict, bearer, ids, n, total, late``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.org import UnitKind
from rules.compiler import RulePlan
from rules.findings import SubjectKind
from rules.parts import BearerAt, Subject
from rules.periods import Period, PeriodKind

MAX_IDS = 50  # evidence ids cited per finding; explain() lists every record
EARLIEST = dt.date(1, 1, 1)
LATEST = dt.date(9999, 12, 31)


@dataclass(frozen=True)
class JudgedPeriod:
    """One period a rule is judged for, with its due date and the bearer's reference date."""

    label: str
    start: dt.date
    end: dt.date
    due: dt.date
    ref: dt.date


def judged_periods(plan: RulePlan, inspected: Period) -> list[JudgedPeriod]:
    """The rule's periods that fall due within the inspected period.

    Inspecting March judges monthly rules for March and quarterly rules for Q1 (which ends in
    March), but not yearly ones; inspecting the year judges all of them. A rule with a fixed yearly
    deadline falls due on its deadline. Rules without a period are judged on every inspection.
    """
    spec = plan.period
    grace = getattr(plan.rule, "grace_days", 0)
    if spec.kind is None:
        return [
            JudgedPeriod(
                label="", start=EARLIEST, end=LATEST, due=LATEST, ref=_ref(plan, inspected, None)
            )
        ]
    result: list[JudgedPeriod] = []
    candidates = _periods_overlapping(inspected, spec.kind)
    for period in candidates:
        falls_due = spec.due(period, 0) if spec.deadline else period.end
        if not inspected.start <= falls_due <= inspected.end:
            continue
        due = spec.due(period, grace)
        result.append(
            JudgedPeriod(
                label=period.label,
                start=period.start,
                end=period.end,
                due=due,
                ref=_ref(plan, period, due),
            )
        )
    return result


def _periods_overlapping(inspected: Period, kind: PeriodKind) -> list[Period]:
    periods = []
    current = Period.containing(inspected.start, kind)
    while current.start <= inspected.end:
        periods.append(current)
        current = current.next()
    return periods


def _ref(plan: RulePlan, period: Period, due: dt.date | None) -> dt.date:
    match plan.bearer_at:
        case BearerAt.period_start:
            return period.start
        case BearerAt.due:
            return due or period.end
        case _:
            return period.end


def literal(value: str | None) -> str:
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def date_literal(value: dt.date) -> str:
    return f"DATE '{value.isoformat()}'"


def text_list(values: list[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def periods_cte(periods: list[JudgedPeriod]) -> str:
    rows = ", ".join(
        f"({literal(p.label)}, {date_literal(p.start)}, {date_literal(p.end)}, "
        f"{date_literal(p.due)}, {date_literal(p.ref)})"
        for p in periods
    )
    return f"periods(label, p_start, p_end, due, ref) AS (VALUES {rows})"


def in_scope(column: str, scoped: bool) -> str:
    return f"{column} IN (SELECT unit FROM _dd_scope)" if scoped else "TRUE"


def holds_post(alias: str, posts: list[str], at: str) -> str:
    """SQL condition: the post assignment ``alias`` is one of ``posts`` and current on ``at``."""
    return (
        f"{alias}.post_name IN {text_list(posts)} AND {alias}.since <= {at} "
        f"AND ({alias}.until IS NULL OR {alias}.until >= {at})"
    )


def subjects_cte(subject: Subject, scoped: bool) -> str:
    """``subjects(subject_id, unit_code, label)``: units or people judged in each period."""
    if subject.kind is SubjectKind.unit:
        kinds = [UnitKind(k).value for k in subject.unit_kinds or []]
        return (
            "subjects AS (SELECT u.code AS subject_id, u.code AS unit_code, p.label "
            "FROM org_units u CROSS JOIN periods p "
            f"WHERE u.kind IN {text_list(kinds)} AND {in_scope('u.code', scoped)})"
        )
    conditions = []
    if subject.party_member is not None:
        conditions.append(f"pe.party_member = {'TRUE' if subject.party_member else 'FALSE'}")
    if subject.tags:
        tags = "[" + ", ".join(literal(t) for t in subject.tags) + "]"
        conditions.append(f"list_has_any(coalesce(pe.tags, []), {tags})")
    if subject.posts:
        # People selected by post are judged where they hold it: that unit is the jurisdiction.
        return (
            "subjects AS (SELECT pe.code AS subject_id, min(o.unit_code) AS unit_code, p.label "
            "FROM org_people pe CROSS JOIN periods p "
            f"JOIN org_posts o ON o.person_code = pe.code AND {holds_post('o', subject.posts, 'p.ref')} "
            f"WHERE {' AND '.join(conditions) or 'TRUE'} AND {in_scope('o.unit_code', scoped)} "
            "GROUP BY pe.code, p.label)"
        )
    return (
        "subjects AS (SELECT pe.code AS subject_id, pe.unit_code, p.label "
        "FROM org_people pe CROSS JOIN periods p "
        f"WHERE {' AND '.join(conditions) or 'TRUE'} AND {in_scope('pe.unit_code', scoped)})"
    )


def bearers_cte(plan: RulePlan, source: str, key: str, unit: str, at: str) -> str:
    """``bearers(<key>, label, bearer)``: the bearer post's holder at each row's unit on ``at``.

    ``source`` is a CTE with columns ``key``, ``label``, ``unit`` and ``at``. Without a bearer post,
    a person subject bears their own duty and other subjects have no bearer.
    """
    bearer = plan.rule.bearer
    if bearer is None:
        own = key if plan.subject_kind is SubjectKind.person else "NULL"
        return f"bearers AS (SELECT s.{key}, s.label, {own}::VARCHAR AS bearer FROM {source} s)"
    depth = "" if bearer.up else "AND a.depth = 0"
    return (
        f"bearers AS (SELECT s.{key}, s.label, o.person_code AS bearer FROM {source} s "
        f"JOIN _dd_ancestors a ON a.unit = s.{unit} {depth} "
        f"JOIN org_posts o ON o.unit_code = a.ancestor AND {holds_post('o', [bearer.post], f's.{at}')} "
        f"QUALIFY row_number() OVER (PARTITION BY s.{key}, s.label "
        "ORDER BY a.depth, o.person_code) = 1)"
    )


def verdict_sql(no_evidence: str, passed: str) -> str:
    return f"CASE WHEN {no_evidence} THEN 'no-evidence' WHEN {passed} THEN 'pass' ELSE 'fail' END"


def ids_sql(column: str, condition: str) -> str:
    return f"list({column} ORDER BY {column}) FILTER (WHERE {condition})"


def capped(column: str) -> str:
    return f"coalesce({column}, [])[1:{MAX_IDS}]"
