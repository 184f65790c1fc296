"""Why one subject got its verdict: the records behind one finding, each with what it did.

The engine judges sets; explaining goes the other way, for a single finding. It reuses the
engine's own query pieces, filtered to the subject, so an explanation can never disagree with
the verdict it explains.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

import duckdb
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from evidence.frames import evidence_table
from rules.compiler import RECORD, CompiledPack, RulePlan, describe
from rules.engine import evaluate_table, findings
from rules.findings import Finding
from rules.kinds import Check, Duty, Window
from rules.periods import Period
from rules.queries.check import base_cte, lookup_join
from rules.queries.common import JudgedPeriod, judged_periods, periods_cte
from rules.queries.duty import recs_cte
from rules.queries.window import window_ctes

MAX_RECORDS = 1000


class RecordStatus(StrEnum):
    counted = "counted"  # 计入
    late = "late"  # 逾期，不计入
    not_matching = "not_matching"  # 不符合条件，不计入 / not selected
    passed = "passed"  # 满足要求
    failed = "failed"  # 不满足要求
    looked_up = "looked_up"  # 关联到的记录
    in_window = "in_window"  # 属于超限窗口
    outside_window = "outside_window"  # 同组，但不在超限窗口内


STATUS_WORDS = {
    RecordStatus.counted: "计入 / counted",
    RecordStatus.late: "逾期不计入 / late, not counted",
    RecordStatus.not_matching: "不符合条件 / does not match",
    RecordStatus.passed: "满足要求 / satisfies",
    RecordStatus.failed: "不满足要求 / fails",
    RecordStatus.looked_up: "关联记录 / looked up",
    RecordStatus.in_window: "属于超限窗口 / in a window over the limit",
    RecordStatus.outside_window: "不在超限窗口内 / in no window over the limit",
}


class RecordDetail(BaseModel):
    evidence: str
    id: int
    key: str | None
    status: RecordStatus
    note: str = ""
    values: dict[str, str] = Field(default_factory=dict)


class Explanation(BaseModel):
    rule_id: str
    subject_id: str
    period: str
    finding: Finding | None
    summary: str
    records: list[RecordDetail] = Field(default_factory=list)
    truncated: bool = False


def explain(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    rule_id: str,
    subject_id: str,
    period: Period,
) -> Explanation:
    """The finding of ``rule_id`` for ``subject_id`` in ``period``, with its records."""
    plan = pack.plan(rule_id)
    table = evaluate_table(pack, con, period, rules=[rule_id])
    mine = findings(table.filter(pc.equal(table["subject_id"], subject_id)))
    periods = judged_periods(plan, period)
    finding = mine[-1] if mine else None
    label = finding.period if finding is not None else (periods[0].label if periods else "")
    chosen = [p for p in periods if p.label == label]
    if finding is None or not chosen:
        subjects = sorted(set(table["subject_id"].to_pylist()))[:10]
        return Explanation(
            rule_id=rule_id,
            subject_id=subject_id,
            period=period.label,
            finding=None,
            summary=(
                f"本期没有 {subject_id} 的结论 / no finding for {subject_id} in {period.label}"
                + (f" (subjects: {', '.join(subjects)} …)" if subjects else "")
            ),
        )
    if isinstance(plan.rule, Duty):
        records = _duty_records(pack, con, plan, chosen, subject_id)
    elif isinstance(plan.rule, Check):
        records = _check_records(pack, con, plan, chosen, subject_id)
    else:
        records = _window_records(pack, con, plan, chosen, subject_id)
    return Explanation(
        rule_id=rule_id,
        subject_id=subject_id,
        period=finding.period,
        finding=finding,
        summary=finding.explanation,
        records=records[:MAX_RECORDS],
        truncated=len(records) > MAX_RECORDS,
    )


def _values(
    pack: CompiledPack, con: duckdb.DuckDBPyConnection, type_name: str, ids: list[int]
) -> dict[int, tuple[str | None, dict[str, str]]]:
    if not ids:
        return {}
    fields = list(pack.evidence_type(type_name).fields)
    columns = ", ".join(f'"{name}"' for name in fields)
    rows = con.execute(
        f"SELECT _id, _key, {columns} FROM {evidence_table(type_name)} WHERE _id IN "
        f"(SELECT unnest(?::BIGINT[]))",
        [ids[: MAX_RECORDS + 1]],
    ).fetchall()
    return {
        row[0]: (row[1], {name: _text(value) for name, value in zip(fields, row[2:], strict=True)})
        for row in rows
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return describe(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def _details(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    type_name: str,
    statuses: list[tuple[int, RecordStatus, str]],
) -> list[RecordDetail]:
    values = _values(pack, con, type_name, [record_id for record_id, _, _ in statuses])
    details = []
    for record_id, status, note in statuses:
        key, fields = values.get(record_id, (None, {}))
        details.append(
            RecordDetail(
                evidence=type_name,
                id=record_id,
                key=key,
                status=status,
                note=note or STATUS_WORDS[status],
                values=fields,
            )
        )
    return details


def _duty_records(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    plan: RulePlan,
    periods: list[JudgedPeriod],
    subject_id: str,
) -> list[RecordDetail]:
    rows = con.execute(
        f"WITH {periods_cte(periods)}, {recs_cte(plan, periods)} "
        "SELECT _id, ok, on_time, d FROM recs WHERE sid = ? ORDER BY d NULLS LAST, _id",
        [subject_id],
    ).fetchall()
    due = periods[0].due
    statuses: list[tuple[int, RecordStatus, str]] = []
    for record_id, ok, on_time, day in rows:
        if not ok:
            statuses.append((record_id, RecordStatus.not_matching, ""))
        elif on_time:
            statuses.append((record_id, RecordStatus.counted, ""))
        else:
            when = day.isoformat() if day else "?"
            statuses.append(
                (
                    record_id,
                    RecordStatus.late,
                    f"{when} 晚于截止日 {due.isoformat()} / dated after the due date {due}",
                )
            )
    return _details(pack, con, plan.evidence, statuses)


def _check_records(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    plan: RulePlan,
    periods: list[JudgedPeriod],
    subject_id: str,
) -> list[RecordDetail]:
    assert plan.require is not None
    joins = " ".join(lookup_join(lookup) for lookup in plan.lookups)
    evidence_lookups = [lk for lk in plan.lookups if lk.evidence is not None]
    looked = "".join(f", {lk.alias}._id" for lk in evidence_lookups)
    rows = con.execute(
        f"WITH {periods_cte(periods)}, {base_cte(plan, periods, False)} "
        f"SELECT {RECORD}._id, coalesce(({plan.require.sql}), FALSE){looked} "
        f"FROM base {RECORD} {joins} "
        f"WHERE coalesce({RECORD}._key, {RECORD}._id::VARCHAR) = ?",
        [subject_id],
    ).fetchall()
    if not rows:
        return []
    record_id = rows[0][0]
    ok = any(row[1] for row in rows)
    details = _details(
        pack,
        con,
        plan.evidence,
        [(record_id, RecordStatus.passed if ok else RecordStatus.failed, "")],
    )
    for position, lookup in enumerate(evidence_lookups):
        assert lookup.evidence is not None
        found: dict[int, bool] = {}
        for row in rows:
            looked_id = row[2 + position]
            if looked_id is not None:
                found[looked_id] = found.get(looked_id, False) or bool(row[1])
        statuses = [
            (
                looked_id,
                RecordStatus.looked_up,
                f"关联 {lookup.name}："
                + ("满足要求 / satisfies require" if good else "不满足要求 / fails require"),
            )
            for looked_id, good in sorted(found.items())
        ]
        if not found:
            details.append(
                RecordDetail(
                    evidence=lookup.evidence,
                    id=0,
                    key=None,
                    status=RecordStatus.looked_up,
                    note=f"关联 {lookup.name}：未找到 / no {lookup.evidence} record found",
                )
            )
        details.extend(_details(pack, con, lookup.evidence, statuses))
    return details


def _window_records(
    pack: CompiledPack,
    con: duckdb.DuckDBPyConnection,
    plan: RulePlan,
    periods: list[JudgedPeriod],
    subject_id: str,
) -> list[RecordDetail]:
    rule = plan.rule
    assert isinstance(rule, Window)
    label = periods[0].label
    rows = con.execute(
        f"WITH {periods_cte(periods)}, {window_ctes(plan, periods, False)} "
        "SELECT w._id, w.wn, w.wtotal, "
        "  EXISTS (SELECT 1 FROM members m WHERE m._id = w._id AND m.label = ?) "
        "FROM win w WHERE w.g = ? "
        "AND w.d <= (SELECT max(p_end) FROM periods) ORDER BY w.d, w._id",
        [label, subject_id],
    ).fetchall()
    statuses = []
    for record_id, count, total, member in rows:
        running = (
            f"截至此笔 {rule.within_days} 天内 {count} 笔合计 {describe(total)} / "
            f"{count} records within {rule.within_days} days up to here total {describe(total)}"
        )
        status = RecordStatus.in_window if member else RecordStatus.outside_window
        statuses.append((record_id, status, f"{STATUS_WORDS[status]}；{running}"))
    return _details(pack, con, plan.evidence, statuses)
