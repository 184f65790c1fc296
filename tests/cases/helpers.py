"""Builders shared by the case, ladder, audit and findings-storage tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rules.findings import Finding, Severity, Side, SubjectKind, Verdict

# 2026-04-10 10:00 in Beijing: March's duties are due (T = 2026-03-31), and overdue.
NOW = dt.datetime(2026, 4, 10, 2, 0, tzinfo=dt.UTC)


def finding(
    subject: str = "B01",
    *,
    verdict: Verdict = Verdict.failed,
    rule: str = "branch-committee-monthly",
    period: str = "2026-03",
    **overrides: Any,
) -> Finding:
    values: dict[str, Any] = {
        "pack": "party-conduct",
        "pack_version": "v1",
        "rule_id": rule,
        "period": period,
        "subject_kind": SubjectKind.unit,
        "subject_id": subject,
        "unit_code": subject,
        "verdict": verdict,
        "side": Side.integrity,
        "severity": Severity.medium,
        "ladder": "standard",
        "bearer_person": f"P-{subject}",
        "bearer_post": "党支部书记",
        "explanation": f"{period} 无支委会记录（要求 ≥1，实际 0）",
        "evidence_ids": [],
    }
    values.update(overrides)
    return Finding(**values)


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)
