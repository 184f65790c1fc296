"""The assessment scheme: what each finding costs, what a bonus earns, where the grades lie.

A scheme is data an admin edits beside the rule packs (``rules/packs/assessment.yaml``), so every
field is declared here with ``extra="forbid"`` and every cross-reference (a grade named by a
blocker, a side's cap above its base) is checked at load, before any scoring runs.

```yaml
scheme: dual-duty-quarterly
version: 1
title: 一岗双责季度考核办法
sides:
  business: {title: 业务工作, base: 50}
  integrity: {title: 党风廉政建设, base: 50}
deductions:
  - {id: default, title: 其他职责, match: {}, fail: 1, no_evidence: 0.5}
grades:
  - {name: 好, min: 90}
  - {name: 较好, min: 80}
  - {name: 一般, min: 60}
  - {name: 差, min: 0}
schedule:                      # the rule packs' schedule entries, without `scope`
  - cron: "0 6 10 1,4,7,10 *"  # 06:00 on the 10th of Jan, Apr, Jul, Oct …
    period: quarter            # … assesses the quarter that just closed (offset -1)
```
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from rules.findings import Severity, Side, SubjectKind
from rules.schema import Schedule

Points = Annotated[Decimal, Field(ge=0, max_digits=9, decimal_places=3)]
ItemId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$", max_length=64)]


def located(title: str, problems: list[tuple[tuple[str | int, ...], str]]) -> ValidationError:
    """A ValidationError with one entry per problem at its own location (relative to the model
    raising it), so the loader can point at the line of each offending key."""
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(type=PydanticCustomError("scheme", message), loc=loc, input=None)
            for loc, message in problems
        ],
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitScope(_Strict):
    """Which units get a scorecard, and which findings count against a unit."""

    kinds: list[str] = Field(
        default_factory=lambda: ["company", "subsidiary", "mine", "department", "branch"],
        description="Unit kinds scored (models.org.UnitKind values). Units of one kind are peers.",
    )
    findings_of: list[SubjectKind] = Field(
        default_factory=lambda: [SubjectKind.unit, SubjectKind.record],
        description="Subject kinds whose findings count against the unit they belong to. "
        "Add `person` to charge a unit for its members' own duties.",
    )


class PersonScope(_Strict):
    """Which people get a scorecard: holders of these posts during the period (cadres)."""

    posts: list[str] = Field(
        default_factory=list, description="Post type names (党支部书记, 部门负责人 …)."
    )
    party_members: bool = Field(
        default=False,
        description="Also score every party member with findings of their own, "
        "grouped as peers under 党员 when they hold no scored post.",
    )


class SideRule(_Strict):
    title: str
    base: Points = Field(description="Score of this side before deductions and bonuses.")
    max_deduction: Points | None = Field(
        default=None, description="Most this side can lose in one period. Default: its base."
    )

    @model_validator(mode="after")
    def _cap_within_base(self) -> SideRule:
        if self.max_deduction is not None and self.max_deduction > self.base:
            raise located(
                "SideRule",
                [
                    (
                        ("max_deduction",),
                        f"{self.max_deduction} exceeds base {self.base}: a side cannot go below 0",
                    )
                ],
            )
        return self

    @property
    def deduction_cap(self) -> Decimal:
        return self.base if self.max_deduction is None else self.max_deduction


class Sides(_Strict):
    business: SideRule
    integrity: SideRule

    def of(self, side: Side) -> SideRule:
        return self.business if side is Side.business else self.integrity


class Match(_Strict):
    """Which findings a deduction item covers. Every given condition must hold; an empty match
    covers everything (put it last)."""

    rules: list[str] = Field(default_factory=list, description="Rule ids.")
    tags: list[str] = Field(default_factory=list, description="Any of these rule tags.")
    side: Side | None = None
    severity: list[Severity] = Field(default_factory=list)
    packs: list[str] = Field(default_factory=list, description="Rule pack names.")


class Deduction(_Strict):
    """Points lost per failing finding and per finding without evidence.

    Items are tried in order and the first match wins, so a finding is never charged twice.
    """

    id: ItemId
    title: str
    match: Match
    fail: Points
    no_evidence: Points = Field(
        description="Charged per finding the engine could not decide for lack of evidence "
        "(无证据). Not a pass: choose how much it costs."
    )
    cap: Points | None = Field(default=None, description="Most this item costs one subject.")
    cap_per_rule: Points | None = Field(
        default=None, description="Most one rule of this item costs one subject."
    )


class NoEvidenceRule(_Strict):
    """What happens to a subject the period has no evidence about at all."""

    title: str = "无证据"
    without_findings: Literal["unrated", "deduct"] = Field(
        default="unrated",
        description="A subject with no finding at all: `unrated` (no score, grade 无证据) or "
        "`deduct` (base minus `deduction`). Never scored as perfect.",
    )
    deduction: Points = Field(
        default=Decimal(0), description="Charged (integrity side first) when `deduct`."
    )
    grade_cap: str | None = Field(
        default=None,
        description="Best grade for a subject whose findings are all 无证据 (or who has none).",
    )

    @model_validator(mode="after")
    def _deduct_means_points(self) -> NoEvidenceRule:
        if self.without_findings == "deduct" and self.deduction == 0 and self.grade_cap is None:
            raise ValueError(
                "without_findings: deduct with deduction 0 and no grade_cap would score a subject "
                "with no evidence as perfect; set a deduction or a grade_cap, or use unrated"
            )
        return self


class Bonus(_Strict):
    """Points earned from awards (上级表彰 …) or from passing findings of chosen rules."""

    id: ItemId
    title: str
    side: Side
    points: Points
    cap: Points | None = None
    awards: list[str] = Field(default_factory=list, description="Award kinds that earn it.")
    passing: Match | None = Field(
        default=None, description="Or: each passing finding matching this earns it."
    )

    @model_validator(mode="after")
    def _has_a_source(self) -> Bonus:
        if not self.awards and self.passing is None:
            raise ValueError("a bonus needs `awards` or `passing`")
        return self


class GradeBand(_Strict):
    name: str
    min: Decimal = Field(description="Lowest score that earns this grade.")


class BlockerKind(StrEnum):
    decision_in_impact_period = "decision_in_impact_period"
    open_case = "open_case"


class Blocker(_Strict):
    """A condition that caps a grade or blocks a commendation regardless of the score."""

    id: ItemId
    title: str
    kind: BlockerKind
    forms: list[str] = Field(
        default_factory=list,
        description="decision_in_impact_period: only these forms (default: every form "
        "listed in impact_periods).",
    )
    severity: list[Severity] = Field(
        default_factory=list, description="open_case: only cases of these severities (default all)."
    )
    cap_grade: str | None = None
    blocks_commendation: bool = False

    @model_validator(mode="after")
    def _does_something(self) -> Blocker:
        if self.cap_grade is None and not self.blocks_commendation:
            raise ValueError("a blocker must set cap_grade or blocks_commendation (or both)")
        if self.kind is BlockerKind.open_case and self.forms:
            raise ValueError("`forms` applies to decision_in_impact_period blockers only")
        if self.kind is BlockerKind.decision_in_impact_period and self.severity:
            raise ValueError("`severity` applies to open_case blockers only")
        return self


class Commendation(_Strict):
    """A 两优一先 title and who may be shortlisted for it."""

    kind: str = Field(description="优秀共产党员, 优秀党务工作者, 先进基层党组织 …")
    subject: Literal["person", "unit"]
    party_member: bool = Field(default=False, description="Persons: must be a party member.")
    posts: list[str] = Field(default_factory=list, description="Persons: must hold one of these.")
    unit_kinds: list[str] = Field(default_factory=list, description="Units: of these kinds.")
    min_grade: str
    max_rank: int | None = Field(
        default=None, ge=1, description="Must rank at most this among its peers."
    )


class Scheme(_Strict):
    scheme: ItemId = Field(description="Stable name; assessments are versioned per scheme name.")
    version: int = Field(ge=1, description="The admin's edition number, shown on reports.")
    title: str
    units: UnitScope = Field(default_factory=UnitScope)
    people: PersonScope = Field(default_factory=PersonScope)
    sides: Sides
    deductions: list[Deduction] = Field(min_length=1)
    no_evidence: NoEvidenceRule = Field(default_factory=NoEvidenceRule)
    bonuses: list[Bonus] = Field(default_factory=list)
    bonus_cap: Points | None = Field(default=None, description="Most bonus one subject earns.")
    grades: list[GradeBand] = Field(min_length=2, description="Best first, strictly descending.")
    impact_periods: dict[str, int] = Field(
        default_factory=dict,
        description="Months an accountability form weighs after its decision (影响期).",
    )
    blockers: list[Blocker] = Field(default_factory=list)
    commendations: list[Commendation] = Field(default_factory=list)
    schedule: list[Schedule] = Field(
        default_factory=list,
        description="When `dualduty scheduler --scheme` and `dualduty deploy --scheme` run the "
        "assessment, and which period each run assesses (offset -1: the one that just closed). "
        "The rule packs' entries, without `scope`: an assessment covers the whole organisation.",
    )
    auto_publish: bool = Field(
        default=False,
        description="Scheduled runs publish the closed period they assess. Default: they leave a "
        "draft, and a person publishes it (`dualduty assess --publish`).",
    )

    @model_validator(mode="after")
    def _cross_references(self) -> Scheme:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        names = [g.name for g in self.grades]
        for i, name in enumerate(names):
            if name in names[:i]:
                problems.append((("grades", i, "name"), f"duplicate grade {name!r}"))
        for i in range(1, len(self.grades)):
            if self.grades[i].min >= self.grades[i - 1].min:
                problems.append(
                    (
                        ("grades", i, "min"),
                        f"{self.grades[i].min} is not below {self.grades[i - 1].min}: list grades "
                        "best first with strictly decreasing `min`",
                    )
                )
        if self.grades[-1].min > 0:
            problems.append(
                (
                    ("grades", len(self.grades) - 1, "min"),
                    "the worst grade must start at 0 so every score has a grade",
                )
            )
        for loc, grade in self._grade_references():
            if grade not in names:
                problems.append((loc, f"unknown grade {grade!r}; grades are {', '.join(names)}"))
        for section, ids in (
            ("deductions", [d.id for d in self.deductions]),
            ("bonuses", [b.id for b in self.bonuses]),
            ("blockers", [b.id for b in self.blockers]),
        ):
            for i, item_id in enumerate(ids):
                if item_id in ids[:i]:
                    problems.append(((section, i, "id"), f"duplicate id {item_id!r}"))
        for form, months in self.impact_periods.items():
            if months < 0:
                problems.append((("impact_periods", form), "months must be 0 or more"))
        for i, blocker in enumerate(self.blockers):
            for j, form in enumerate(blocker.forms):
                if form not in self.impact_periods:
                    problems.append(
                        (
                            ("blockers", i, "forms", j),
                            f"{form!r} has no impact period; add it to impact_periods",
                        )
                    )
        for i, entry in enumerate(self.schedule):
            if entry.scope is not None:
                problems.append(
                    (
                        ("schedule", i, "scope"),
                        "考核覆盖整个组织，scope 只用于规则包，请删除 / an assessment covers the "
                        "whole organisation; `scope` applies to rule packs only: remove it",
                    )
                )
            if self.auto_publish and entry.offset == 0:
                problems.append(
                    (
                        ("schedule", i, "offset"),
                        "offset 0 考核尚未结束的期间，不能自动发布 / offset 0 assesses a period "
                        "still open, which cannot be published; use -1 or set auto_publish: false",
                    )
                )
        if problems:
            raise located("Scheme", problems)
        return self

    def _grade_references(self) -> list[tuple[tuple[str | int, ...], str]]:
        refs: list[tuple[tuple[str | int, ...], str]] = []
        if self.no_evidence.grade_cap:
            refs.append((("no_evidence", "grade_cap"), self.no_evidence.grade_cap))
        for i, b in enumerate(self.blockers):
            if b.cap_grade:
                refs.append((("blockers", i, "cap_grade"), b.cap_grade))
        for i, c in enumerate(self.commendations):
            refs.append((("commendations", i, "min_grade"), c.min_grade))
        return refs

    @property
    def base_total(self) -> Decimal:
        return self.sides.business.base + self.sides.integrity.base

    def grade_of(self, score: Decimal) -> str:
        for band in self.grades:
            if score >= band.min:
                return band.name
        return self.grades[-1].name

    def grade_rank(self, grade: str) -> int:
        """0 for the best grade; larger is worse."""
        return [g.name for g in self.grades].index(grade)

    def worse_grade(self, a: str, b: str) -> str:
        return a if self.grade_rank(a) >= self.grade_rank(b) else b
