"""A small company for assessment tests, and a finding factory.

C01 集团公司 (company)
└── M01 一号矿 (mine)
    ├── B01 第一党支部 (branch)   secretary: P01 张伟 until 2026-08-31, then P02 李娜
    ├── B02 第二党支部 (branch)   secretary: P03 王芳
    ├── B03 第三党支部 (branch)   secretary: P04 刘洋
    └── D01 采购部 (department)   head: P01 张伟 from 2026-09-01
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from assessments.inputs import AssessmentInputs, PersonInfo, PostHeld, RuleInfo, UnitInfo
from assessments.loading import LoadedScheme, load_scheme
from rules.findings import Finding, Severity, Side, SubjectKind, Verdict

PERIOD = "2026-Q3"
PACK_VERSION = "a" * 64

UNITS = [
    UnitInfo(code="C01", name="集团公司", kind="company"),
    UnitInfo(code="M01", name="一号矿", kind="mine", parent_code="C01"),
    UnitInfo(code="B01", name="第一党支部", kind="branch", parent_code="M01"),
    UnitInfo(code="B02", name="第二党支部", kind="branch", parent_code="M01"),
    UnitInfo(code="B03", name="第三党支部", kind="branch", parent_code="M01"),
    UnitInfo(code="D01", name="采购部", kind="department", parent_code="M01"),
]
PEOPLE = [
    PersonInfo(code="P01", name="张伟", unit_code="B01", party_member=True),
    PersonInfo(code="P02", name="李娜", unit_code="B01", party_member=True),
    PersonInfo(code="P03", name="王芳", unit_code="B02", party_member=True),
    PersonInfo(code="P04", name="刘洋", unit_code="B03", party_member=True),
]
POSTS = [
    PostHeld(
        person_code="P01",
        post_name="党支部书记",
        unit_code="B01",
        since=dt.date(2024, 1, 1),
        until=dt.date(2026, 8, 31),
    ),
    PostHeld(person_code="P01", post_name="部门负责人", unit_code="D01", since=dt.date(2026, 9, 1)),
    PostHeld(person_code="P02", post_name="党支部书记", unit_code="B01", since=dt.date(2026, 9, 1)),
    PostHeld(person_code="P03", post_name="党支部书记", unit_code="B02", since=dt.date(2025, 3, 1)),
    PostHeld(person_code="P04", post_name="党支部书记", unit_code="B03", since=dt.date(2025, 3, 1)),
]
RULES = [
    RuleInfo(
        pack="party-conduct",
        rule_id="branch-committee-monthly",
        title="支委会每月至少召开一次",
        tags=["A2"],
    ),
    RuleInfo(pack="party-conduct", rule_id="themed-party-day", title="每月主题党日", tags=["A5"]),
    RuleInfo(
        pack="party-conduct",
        rule_id="major-procurement-decision",
        title="三重一大：大额采购须事先集体决策",
    ),
    RuleInfo(pack="party-conduct", rule_id="safety-report", title="安全生产月报"),
]


def finding(
    rule_id: str,
    subject_id: str,
    verdict: Verdict | str,
    *,
    period: str = "2026-07",
    side: Side = Side.integrity,
    severity: Severity = Severity.medium,
    subject_kind: SubjectKind = SubjectKind.unit,
    unit_code: str | None = None,
    bearer_person: str | None = None,
    bearer_post: str | None = None,
    explanation: str = "",
) -> Finding:
    return Finding(
        pack="party-conduct",
        pack_version=PACK_VERSION,
        rule_id=rule_id,
        period=period,
        subject_kind=subject_kind,
        subject_id=subject_id,
        unit_code=unit_code if unit_code is not None else subject_id,
        verdict=Verdict(verdict),
        side=side,
        severity=severity,
        bearer_person=bearer_person,
        bearer_post=bearer_post,
        explanation=explanation or f"{period} {rule_id} {verdict}",
    )


def committee(unit: str, month: str, verdict: str, bearer: str | None = None) -> Finding:
    """A branch-committee duty finding, borne by the branch secretary of that month."""
    return finding(
        "branch-committee-monthly",
        unit,
        verdict,
        period=month,
        bearer_person=bearer,
        bearer_post="党支部书记" if bearer else None,
    )


def inputs(**changes: Any) -> AssessmentInputs:
    data: dict[str, Any] = {
        "period": PERIOD,
        "units": UNITS,
        "people": PEOPLE,
        "posts": POSTS,
        "rules": RULES,
    }
    data.update(changes)
    return AssessmentInputs(**data)


def sample_scheme() -> LoadedScheme:
    return load_scheme()
