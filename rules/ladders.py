"""Accountability ladders: how an open case moves, step by step, and who hears about it.

A ladder is declared in YAML (``rules/packs/ladders.yaml`` for the defaults, or a pack's
``ladders:`` section) and validated here before anything runs. The engine's escalation pass
(``models.escalation``) only *reads* ladders; it never invents steps.

Two limits are structural, not conventions:

- Once a step ``requires_approval`` (约谈/函询 and above), every later step does too: automation
  may remind, notify and order rectification, never more (问责 is decided by people).
- A step carries no accountability form. 提醒谈话, 批评教育, 诫勉, 通报, 组织调整/处理 and a
  纪律处分 referral are recorded only by an inspector's decision (``models.cases.decide``).

Example::

    ladders:
      standard:
        name: 标准问责阶梯
        name_en: standard ladder
        steps:
          - id: L1
            name: 逾期催办
            name_en: overdue notice
            after: deadline
            delay: 1
            recipients: [bearer, bearer_superior]
            channels: [inbox]
            template: overdue
"""

from __future__ import annotations

import difflib
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from rules.parts import _or_string

DEFAULT_LADDERS_FILE = Path(__file__).parent / "packs" / "ladders.yaml"

_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9]*([-_][A-Za-z0-9]+)*$"
_TEMPLATE_PATTERN = r"^[a-z][a-z0-9_-]*$"  # as models.outbox.Notice.template


class DelayUnit(StrEnum):
    calendar = "calendar"  # 自然日
    working = "working"  # 工作日 (rules.workdays)


class Anchor(StrEnum):
    """What a step's delay is counted from."""

    deadline = "deadline"  # the duty deadline T (period end, or the day the case opened)
    previous = "previous"  # the day the previous step fired (or the case opened), or a pause's end


class RecipientRole(StrEnum):
    bearer = "bearer"  # 责任人: the post holder who bears the duty
    bearer_superior = "bearer_superior"  # 直接上级: first link of the bearer's supervisor chain
    unit_head = "unit_head"  # 单位主要负责人: holders of the unit's head-of-unit post
    unit_discipline = "unit_discipline"  # 本单位纪委书记 / 纪检委员
    unit_post = "unit_post"  # holders of a named post at the case's unit (e.g. 党委书记)
    inspectors = "inspectors"  # 纪检监察人员 whose jurisdiction covers the unit
    group = "group"  # a named group configured by the admin (e.g. 纪委办公室)


_QUALIFIED = frozenset({RecipientRole.unit_post, RecipientRole.group})


class Recipient(BaseModel):
    """Who a step addresses, by role. YAML may write a bare role name: ``bearer``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: RecipientRole
    post: str | None = Field(default=None, description="unit_post only: the post type's name")
    group: str | None = Field(default=None, description="group only: the group's name")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"role": data} if isinstance(data, str) else data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The bare name is valid only for roles that take no qualifier (post, group).
        bare = [r.value for r in RecipientRole if r not in _QUALIFIED]
        return _or_string(
            handler(core_schema), "只写角色名 / a role name alone: bearer", choices=bare
        )

    @model_validator(mode="after")
    def _qualifier_matches_role(self) -> Recipient:
        if (self.role is RecipientRole.unit_post) != (self.post is not None):
            raise ValueError("'post' is required for role unit_post and only for it")
        if (self.role is RecipientRole.group) != (self.group is not None):
            raise ValueError("'group' is required for role group and only for it")
        return self

    def __str__(self) -> str:
        return f"{self.role}:{self.post or self.group}" if self.post or self.group else self.role


class Term(BaseModel):
    """A length of time: so many calendar or working days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: int = Field(ge=1)
    unit: DelayUnit = DelayUnit.calendar


class LadderStep(BaseModel):
    """One rung. It is due ``delay`` days (``unit``) after its anchor (``after``).

    A step due before the duty deadline (negative delay from ``deadline``) is a reminder: once
    the deadline has passed it lapses instead of firing, since a reminder after the fact is noise.
    ``rectification`` makes the step a rectification order: firing it pauses the ladder until
    the rectification deadline, and the next step counts from that deadline.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID_PATTERN, description="stable id, used in outbox keys (L1, L3 …)")
    name: str = Field(min_length=1, description="中文名称")
    name_en: str = Field(min_length=1, description="English name")
    after: Anchor = Anchor.previous
    delay: int = Field(default=0, description="days after the anchor; negative only from deadline")
    unit: DelayUnit = DelayUnit.calendar
    recipients: list[Recipient] = Field(min_length=1)
    channels: list[str] = Field(default_factory=lambda: ["inbox"], min_length=1)
    template: str = Field(
        pattern=_TEMPLATE_PATTERN, description="message template name (notifiers/templates)"
    )
    requires_approval: bool = False
    rectification: Term | None = None

    @model_validator(mode="after")
    def _negative_only_before_deadline(self) -> LadderStep:
        if self.delay < 0 and self.after is not Anchor.deadline:
            raise ValueError("a negative delay counts back from the deadline: set after: deadline")
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("channels are listed twice")
        return self


class Ladder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    description: str = ""
    steps: list[LadderStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _well_ordered(self) -> Ladder:
        ids = [step.id for step in self.steps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"step ids must be unique; repeated: {', '.join(duplicates)}")
        gated = False
        for step in self.steps:
            if gated and not step.requires_approval:
                raise ValueError(
                    f"step {step.id} follows a step that requires approval and must require it "
                    "too (约谈/函询 及以上须纪检监察人员批准 / inspectors approve from here on)"
                )
            gated = gated or step.requires_approval
        return self

    def step(self, step_id: str) -> LadderStep | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def index(self, step_id: str | None) -> int | None:
        """Position of ``step_id``; -1 for None (nothing fired yet); None if unknown."""
        if step_id is None:
            return -1
        return next((i for i, s in enumerate(self.steps) if s.id == step_id), None)


class LadderFile(BaseModel):
    """A shared ladders file: ``ladders: {name: Ladder}``."""

    model_config = ConfigDict(extra="forbid")

    ladders: dict[str, Ladder] = Field(min_length=1)


def load_ladders(path: Path) -> dict[str, Ladder]:
    """Load and validate a ladders file; every problem is reported at once, with its line."""
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as error:
        raise UserError(
            f"找不到阶梯文件 / ladders file not found: {path}", hint="check the path"
        ) from error
    except YAMLError as error:
        location = Location.at_mark(str(path), getattr(error, "problem_mark", None))
        raise UserError(
            [Problem(message=f"YAML 语法错误 / YAML syntax error: {error}", location=location)]
        ) from error
    try:
        return LadderFile.model_validate(data).ladders
    except ValidationError as error:
        raise UserError(validation_problems(error, data, file=str(path))) from error


def default_ladders() -> dict[str, Ladder]:
    """The shipped ladders (DOMAIN.md §2: standard L0–L6, and the integrity variant)."""
    return load_ladders(DEFAULT_LADDERS_FILE)


def validation_problems(error: ValidationError, data: Any, *, file: str | None) -> list[Problem]:
    """Turn pydantic errors into Problems with the YAML line of each offending key."""
    problems = []
    for item in error.errors():
        loc = item["loc"]
        field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
        hint = None
        if item["type"] == "extra_forbidden" and loc:
            hint = _did_you_mean(str(loc[-1]))
        problems.append(
            Problem(
                message=item["msg"],
                location=Location(file=file, line=_line_of(data, loc)),
                field=field or None,
                hint=hint,
            )
        )
    return problems


_KNOWN_KEYS = (
    set(Ladder.model_fields)
    | set(LadderStep.model_fields)
    | set(Recipient.model_fields)
    | set(Term.model_fields)
)


def _did_you_mean(key: str) -> str | None:
    close = difflib.get_close_matches(key, sorted(_KNOWN_KEYS), n=1)
    return f"did you mean '{close[0]}'? / 是否应为 '{close[0]}'?" if close else None


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest key of ``loc`` that exists in ruamel's round-trip data."""
    line = None
    node = data
    for part in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(part, int) and isinstance(node, list):
                line = lc.item(part)[0] + 1 if lc else line
                node = node[part]
            elif isinstance(node, dict) and part in node:
                line = lc.key(part)[0] + 1 if lc else line
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    return line
