"""Findings: the verdict of one rule for one subject and period.

This is the contract between the engine (which produces findings), cases (which reconcile
them) and reports (which explain them).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

FindingKey = tuple[str, str, str]
"""``(rule_id, subject_id, period)``: one case per key."""


class Verdict(StrEnum):
    passed = "pass"
    failed = "fail"
    no_evidence = "no-evidence"


class Side(StrEnum):
    """The two halves of 一岗双责."""

    business = "business"  # 业务
    integrity = "integrity"  # 党风廉政 / 党建


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class SubjectKind(StrEnum):
    unit = "unit"
    person = "person"
    record = "record"  # a check over one evidence record (a procurement) or one group of them


class Finding(BaseModel):
    """One verdict. ``(rule_id, subject_id, period)`` is the case key."""

    model_config = ConfigDict(frozen=True)

    pack: str
    pack_version: str  # sha256 of the pack's content
    rule_id: str
    period: str  # Period label, or "" for rules without a period
    subject_kind: SubjectKind
    subject_id: str  # unit code, person code, or record key
    unit_code: str | None  # the unit the subject belongs to: decides jurisdiction
    verdict: Verdict
    side: Side
    severity: Severity
    ladder: str | None = None
    bearer_person: str | None = None  # person code of the post holder who bears the duty
    bearer_post: str | None = None
    explanation: str = ""  # Chinese first: "2026-03 无支委会记录（要求 ≥1，实际 0）"
    evidence_ids: list[int] = Field(default_factory=list)  # evidence store record ids

    @property
    def key(self) -> FindingKey:
        return (self.rule_id, self.subject_id, self.period)
