"""The pieces rules are built from: bilingual text, subjects, periods, bearers, lookups.

Every model forbids unknown keys, so a misspelt key is an error (with a "did you mean") rather
than a setting that silently does nothing. Cross-references (a field of an evidence type, a
ladder's name) are checked when the pack is compiled (``rules.compiler``), where the whole pack
is in view.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from models.org import UnitKind
from rules.findings import SubjectKind
from rules.periods import Period, PeriodKind

RULE_ID_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"

Expression = Annotated[
    str,
    StringConstraints(min_length=1),
    Field(
        description="SQL expression over the record's fields, e.g. "
        "\"amount >= 1000000 AND kind IN ('支委会', '党员大会')\". Text in single quotes; "
        "AND/OR/NOT; =, <>, <, <=, >, >=, IN, BETWEEN, LIKE, IS NULL; + - * /; "
        "functions: has(lookup), coalesce, lower, upper, length, abs, round, year, month, "
        "day, contains(list, text).",
        json_schema_extra={"examples": ["kind = '支委会'", "decision.decided_on <= contract_date"]},
    ),
]
FieldName = Annotated[str, StringConstraints(pattern=FIELD_NAME_PATTERN)]
FieldRef = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"),
    Field(description="a field of the record (`vendor`) or of an earlier lookup (`vendor.rep`)"),
]


def _or_string(
    schema: JsonSchemaValue, description: str, *, choices: Sequence[str] = ()
) -> JsonSchemaValue:
    """The schema of a model that YAML may also write as a plain string (its shorthand),
    limited to ``choices`` when the shorthand is one of a few names."""
    shorthand: JsonSchemaValue = {"type": "string", "description": description}
    if choices:
        shorthand["enum"] = list(choices)
    return {"anyOf": [shorthand, schema]}


class Bilingual(BaseModel):
    """Text in Chinese, optionally in English. YAML may give a plain string (Chinese only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str = Field(min_length=1, description="中文")
    en: str | None = Field(default=None, description="English")

    @model_validator(mode="before")
    @classmethod
    def _plain_string(cls, data: Any) -> Any:
        return {"zh": data} if isinstance(data, str) else data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _or_string(handler(core_schema), "中文（只写中文时）/ Chinese text only")

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}" if self.en else self.zh


class Subject(BaseModel):
    """Who or what a rule judges: units of some kinds, people, or each record of a type.

    People selectors combine with AND: ``{posts: [党支部书记], party_member: true}`` selects
    party members who hold a 党支部书记 post at the rule's reference date.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit_kinds: list[UnitKind] | None = Field(
        default=None, min_length=1, description="units of these kinds (branch, department …)"
    )
    posts: list[str] | None = Field(
        default=None, min_length=1, description="people holding one of these posts at the date"
    )
    party_member: bool | None = Field(default=None, description="people who are party members")
    tags: list[str] | None = Field(
        default=None, min_length=1, description="people carrying at least one of these tags"
    )
    record: str | None = Field(default=None, description="each record of this evidence type")

    @model_validator(mode="after")
    def _one_kind(self) -> Subject:
        people = self.posts is not None or self.party_member is not None or self.tags is not None
        chosen = sum([self.unit_kinds is not None, people, self.record is not None])
        if chosen != 1:
            raise ValueError(
                "choose exactly one kind of subject: unit_kinds, people (posts / party_member / "
                "tags), or record / 主体只能是单位、人员或记录之一"
            )
        return self

    @property
    def kind(self) -> SubjectKind:
        if self.unit_kinds is not None:
            return SubjectKind.unit
        if self.record is not None:
            return SubjectKind.record
        return SubjectKind.person


class BearerAt(StrEnum):
    """The date at which the bearer post's holder is looked up."""

    period_start = "period_start"
    period_end = "period_end"
    due = "due"  # the period's deadline plus grace days
    record_date = "record_date"  # checks: the record's date


class Bearer(BaseModel):
    """Who answers for the rule: the holder of ``post`` at the subject's unit on a date.

    Duties follow the post: with ``at: period_end`` (the default for duties) a branch secretary
    who took over in June bears the first half-year's duty, not their predecessor. YAML may give
    the post's name alone: ``bearer: 党支部书记``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    post: str = Field(min_length=1, description="post type name (党支部书记, 部门负责人 …)")
    at: BearerAt | None = Field(
        default=None, description="default: period_end for duties, record_date for checks"
    )
    up: bool = Field(
        default=False,
        description="if the unit has no holder, take the nearest ancestor unit's holder",
    )

    @model_validator(mode="before")
    @classmethod
    def _post_only(cls, data: Any) -> Any:
        return {"post": data} if isinstance(data, str) else data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _or_string(handler(core_schema), "the post's name alone: 党支部书记")


_DEADLINE = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")

PERIOD_NAMES = ("month", "quarter", "half", "year", "none")


def _check_period(value: str) -> str:
    if value in PERIOD_NAMES or _DEADLINE.match(value):
        return value
    raise ValueError(
        f"期间应为 month、quarter、half、year、none 或截止日 MM-DD / period is month, quarter, "
        f"half, year, none or a yearly deadline MM-DD (03-31), not {value!r}"
    )


RulePeriod = Annotated[
    str,
    AfterValidator(_check_period),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(PERIOD_NAMES)},
                {"type": "string", "pattern": _DEADLINE.pattern},
            ],
            "description": "month, quarter, half, year, none, or a fixed yearly deadline MM-DD",
        }
    ),
]


class PeriodSpec(BaseModel):
    """A rule's period, resolved: its kind and, for a fixed yearly deadline, the deadline."""

    model_config = ConfigDict(frozen=True)

    kind: PeriodKind | None  # None: the rule has no period
    deadline: tuple[int, int] | None = None  # (month, day) within the year

    @classmethod
    def parse(cls, value: str) -> PeriodSpec:
        if value == "none":
            return cls(kind=None)
        if _DEADLINE.match(value):
            month, day = (int(part) for part in value.split("-"))
            return cls(kind=PeriodKind.year, deadline=(month, day))
        return cls(kind=PeriodKind(value))

    def due(self, period: Period, grace_days: int) -> dt.date:
        """The last date a record may carry and still count for ``period``."""
        end = period.end
        if self.deadline is not None:
            month, day = self.deadline
            end = _clamped_date(period.start.year, month, day)
        return end + dt.timedelta(days=grace_days)


def _clamped_date(year: int, month: int, day: int) -> dt.date:
    """02-29 in a common year is 02-28, so a deadline never vanishes."""
    while True:
        try:
            return dt.date(year, month, day)
        except ValueError:
            day -= 1


class EvidenceLookup(BaseModel):
    """Records of another evidence type that belong to this record, by equal fields.

    ```yaml
    lookups:
      decision: {evidence: decision, match: {decision_no: decision_id}}
      vendor: {evidence: vendor, match: {code: vendor}}
      relative: {evidence: relative, match: {relative_id: vendor.legal_rep_id}}
    ```
    ``match`` maps the looked-up type's field to a field of the record or of an earlier lookup.
    In expressions, ``decision.decided_on`` reads a field and ``has(decision)`` asks whether
    there is one. With several matches a record passes if *any* combination satisfies
    ``require``. ``where`` filters the looked-up records (their own fields, unqualified).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    evidence: str = Field(description="evidence type looked up")
    match: dict[FieldName, FieldRef] = Field(min_length=1)
    where: Expression | None = None


class PostLookup(BaseModel):
    """The holder of a post at a unit on a date, as seen by the record.

    ```yaml
    lookups:
      head: {post: 部门负责人, unit: unit, at: contract_date}
    ```
    Fields: ``head.person`` (person), ``head.unit`` (unit), ``head.since``/``head.until`` (date).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    post: str = Field(min_length=1)
    unit: FieldRef = Field(description="field holding the unit code")
    at: FieldRef = Field(description="date field: the holder on that day")


def _lookup_tag(data: Any) -> str | None:
    if isinstance(data, dict):
        return "post" if "post" in data else "evidence"
    return "post" if isinstance(data, PostLookup) else "evidence"


Lookup = Annotated[
    Annotated[EvidenceLookup, Tag("evidence")] | Annotated[PostLookup, Tag("post")],
    Discriminator(_lookup_tag),
]
