"""The input snapshot of an assessment: everything scoring reads, and nothing else.

Scoring is a pure function of (scheme, inputs). The snapshot is stored with a published
assessment and hashed, so re-scoring it later gives the same result even after the org tree,
the findings or the cases have moved on. These shapes are the snapshot's, not copies of the ORM
tables: they keep only the columns scoring needs, frozen at the moment the snapshot was taken.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rules.findings import Finding, Severity
from rules.periods import Period


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitInfo(_Frozen):
    code: str
    name: str
    kind: str
    parent_code: str | None = None


class PersonInfo(_Frozen):
    code: str
    name: str
    unit_code: str | None = None
    party_member: bool = False


class PostHeld(_Frozen):
    """A post assignment; ``until`` inclusive, None while still held."""

    person_code: str
    post_name: str
    unit_code: str
    since: dt.date
    until: dt.date | None = None

    def days_within(self, period: Period) -> int:
        start = max(self.since, period.start)
        end = min(self.until or period.end, period.end)
        return max((end - start).days + 1, 0)


class RuleInfo(_Frozen):
    """What scoring needs to know about a rule beyond its findings: its title and tags."""

    pack: str
    rule_id: str
    title: str = ""
    tags: list[str] = Field(default_factory=list)


class CaseSummary(_Frozen):
    """A case as of the snapshot: open or not, and how serious."""

    rule_id: str
    subject_kind: str
    subject_id: str
    period: str
    unit_code: str | None = None
    bearer_person: str | None = None
    severity: Severity
    state: str
    open: bool


class DecisionRecord(_Frozen):
    """A confirmed accountability decision (通报, 诫勉, 警告 …) recorded by an inspector."""

    subject_kind: Literal["person", "unit"]
    subject_id: str
    form: str
    decided_on: dt.date
    case_rule_id: str | None = None
    reason: str = ""


class AwardRecord(_Frozen):
    """A recognition received (上级表彰 …) that a scheme's bonus items may reward."""

    subject_kind: Literal["person", "unit"]
    subject_id: str
    kind: str
    title: str
    awarded_on: dt.date


class PreviousScore(_Frozen):
    subject_kind: Literal["person", "unit"]
    subject_id: str
    score: Decimal | None


class PreviousScores(_Frozen):
    """The previous period's scores, frozen into the snapshot so deltas re-score identically."""

    period: str
    source: str = Field(description="Where they came from: 已发布第2版 / computed, unpublished.")
    scores: list[PreviousScore] = Field(default_factory=list)


class AssessmentInputs(_Frozen):
    """Lists are sorted at construction, so equal content always hashes the same."""

    period: str
    previous: PreviousScores | None = None
    units: list[UnitInfo] = Field(default_factory=list)
    people: list[PersonInfo] = Field(default_factory=list)
    posts: list[PostHeld] = Field(default_factory=list)
    rules: list[RuleInfo] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    cases: list[CaseSummary] = Field(default_factory=list)
    decisions: list[DecisionRecord] = Field(default_factory=list)
    awards: list[AwardRecord] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _canonical_order(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        keys: dict[str, Callable[[Any], tuple[str, ...]]] = {
            "units": lambda x: (_get(x, "code"),),
            "people": lambda x: (_get(x, "code"),),
            "posts": lambda x: (
                _get(x, "person_code"),
                str(_get(x, "since")),
                _get(x, "post_name"),
                _get(x, "unit_code"),
            ),
            "rules": lambda x: (_get(x, "pack"), _get(x, "rule_id")),
            "findings": lambda x: (
                _get(x, "rule_id"),
                _get(x, "subject_id"),
                _get(x, "period"),
                _get(x, "pack"),
            ),
            "cases": lambda x: (_get(x, "rule_id"), _get(x, "subject_id"), _get(x, "period")),
            "decisions": lambda x: (
                _get(x, "subject_id"),
                str(_get(x, "decided_on")),
                _get(x, "form"),
            ),
            "awards": lambda x: (
                _get(x, "subject_id"),
                str(_get(x, "awarded_on")),
                _get(x, "kind"),
            ),
        }
        out = dict(data)
        for name, key in keys.items():
            if name in out and isinstance(out[name], list):
                out[name] = sorted(out[name], key=key)
        return out

    @model_validator(mode="after")
    def _unique_keys(self) -> AssessmentInputs:
        for name, ids in (
            ("units", [u.code for u in self.units]),
            ("people", [p.code for p in self.people]),
            ("findings", [(f.pack, *f.key) for f in self.findings]),
        ):
            seen: set[object] = set()
            for key in ids:
                if key in seen:
                    raise ValueError(f"{name}: {key} appears twice; pass one entry per key")
                seen.add(key)
        return self

    def sha256(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()

    def pack_versions(self) -> list[str]:
        return sorted({f"{f.pack}@{f.pack_version}" for f in self.findings})


def _get(item: object, name: str) -> str:
    value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
    return "" if value is None else str(value)
