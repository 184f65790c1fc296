"""A rule pack, as written in YAML: evidence types, ladders, rules, schedule and tests.

``RulePack.model_json_schema()`` is the JSON Schema editors use (``dualduty rules schema``), so
field descriptions here are what an admin sees when hovering a key in VS Code.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from evidence.types import EvidenceType
from rules.findings import Verdict
from rules.kinds import Rule
from rules.ladders import Ladder
from rules.parts import RULE_ID_PATTERN, Bilingual
from rules.periods import Period, PeriodKind


def _year_as_text(value: Any) -> Any:
    """YAML reads ``2026`` as a number; as a period label it is the year ``"2026"``."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


PeriodLabel = Annotated[
    str,
    BeforeValidator(_year_as_text),
    WithJsonSchema(
        {
            "type": ["string", "integer"],
            "description": "period label: 2026-03 (month), 2026-Q1, 2026-H1 or 2026 (year)",
        }
    ),
]


class Schedule(BaseModel):
    """When the pack runs and which period each run inspects.

    ```yaml
    schedule:
      - cron: "0 6 5 * *"     # 06:00 on the 5th of each month
        period: month          # inspects the month before the run (offset -1)
    ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str = Field(description="crontab, 5 fields: minute hour day month weekday")
    timezone: str = "Asia/Shanghai"
    period: PeriodKind = Field(description="the kind of period a run inspects")
    offset: int = Field(
        default=-1, le=0, description="-1: the period before the run's; 0: the run's own"
    )
    scope: str | None = Field(default=None, description="unit code: inspect only its subtree")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as error:
            raise ValueError(f"invalid cron expression: {error}") from None
        return value

    def period_for(self, run_date: dt.date) -> Period:
        """The period a run on ``run_date`` inspects."""
        period = Period.containing(run_date, self.period)
        for _ in range(-self.offset):
            period = period.previous()
        return period


class UnitRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str = ""
    kind: str
    parent: str | None = None


class PersonRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str = ""
    unit: str | None = None
    party_member: bool = False
    tags: list[str] = Field(default_factory=list)


class PostRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    person: str
    post: str
    unit: str
    since: dt.date = dt.date(2000, 1, 1)
    until: dt.date | None = None


class OrgFixture(BaseModel):
    """A small organisation for pack tests: units (a tree), people and post assignments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    units: list[UnitRow] = Field(min_length=1)
    people: list[PersonRow] = Field(default_factory=list)
    posts: list[PostRow] = Field(default_factory=list)


EvidenceFixture = str | list[dict[str, Any]]
EVIDENCE_FIXTURE_DOC = (
    "evidence type -> a file (CSV/XLSX/JSON/YAML, path relative to the pack, columns named as "
    "the fields) or inline records"
)


class Expectation(BaseModel):
    """One finding a test expects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    subject: str
    period: PeriodLabel | None = Field(default=None, description="default: any period")
    verdict: Verdict
    bearer: str | None = Field(default=None, description="expected bearer's person code")
    evidence: list[int] | None = Field(default=None, description="expected evidence ids")
    explanation: str | None = Field(default=None, description="text the explanation contains")


class PackTest(BaseModel):
    """Fixture evidence for one period and the findings it must produce.

    Fail findings of the rules named in ``expect`` that are not expected fail the test too, so a
    rule that flags too much is caught as surely as one that flags too little.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    period: PeriodLabel = Field(description="the period inspected")
    scope: str | None = None
    org: OrgFixture | str | None = Field(default=None, description="default: the tests' org")
    evidence: dict[str, EvidenceFixture] = Field(
        default_factory=dict, description=EVIDENCE_FIXTURE_DOC
    )
    expect: list[Expectation] = Field(min_length=1)

    @field_validator("period")
    @classmethod
    def _period_label(cls, value: str) -> str:
        Period.parse(value)
        return value


class PackTests(BaseModel):
    """Tests inside a pack (or in ``<pack>.tests.yaml`` beside it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    org: OrgFixture | str | None = Field(
        default=None, description="the organisation shared by the cases (file or inline)"
    )
    evidence: dict[str, EvidenceFixture] = Field(
        default_factory=dict, description="evidence shared by the cases; " + EVIDENCE_FIXTURE_DOC
    )
    cases: list[PackTest] = Field(min_length=1)


class RulePack(BaseModel):
    """A rule pack: a versioned set of duties and checks over declared evidence."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"title": "dualduty rule pack / 规则包"},
    )

    pack: str = Field(pattern=RULE_ID_PATTERN, description="pack id, kebab-case")
    version: int | str = Field(description="human version; findings carry a content hash too")
    title: Bilingual
    description: Bilingual | None = None
    evidence: dict[str, EvidenceType] = Field(
        min_length=1, description="evidence types read by the rules, with typed fields"
    )
    ladders: dict[str, Ladder] = Field(
        default_factory=dict, description="ladders of this pack (besides the shipped ones)"
    )
    rules: list[Rule] = Field(min_length=1)
    schedule: list[Schedule] = Field(default_factory=list)
    tests: PackTests | None = None

    @field_validator("evidence")
    @classmethod
    def _type_names(cls, value: dict[str, EvidenceType]) -> dict[str, EvidenceType]:
        from evidence.types import IDENTIFIER

        bad = [name for name in value if not IDENTIFIER.match(name)]
        if bad:
            raise ValueError(f"evidence type names must be lower_snake_case: {', '.join(bad)}")
        return value


def pack_schema() -> dict[str, Any]:
    """The JSON Schema of a rule pack, for editors (``# yaml-language-server: $schema=…``)."""
    schema = RulePack.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
