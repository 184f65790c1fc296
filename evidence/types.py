"""Evidence type declarations: the typed fields of a kind of record and its natural key.

Declared in rule packs (``evidence:`` section) and used by the sources (to type what they fetch),
the store (to deduplicate by natural key) and the engine (to build typed tables).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from evidence.sources import AnySource
from evidence.values import FieldType

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")

# Names with a leading underscore belong to the evaluation tables and the engine: ``_id`` (the
# store's record id, cited by findings) and ``_key`` (the natural key) in every ``ev_<type>``
# table, ``_supersedes`` and ``_unit`` in the cache, ``_hit``, ``_period`` and ``_ref`` in the
# rule queries. The store's own columns cross to DuckDB under such names too (``evidence.cache``),
# so a declared field, which never starts with one, cannot collide with any of them.
RESERVED_PREFIX = "_"


def check_field_name(name: str) -> str:
    """A declared field name: lower_snake_case ASCII, never a reserved ``_`` name."""
    if name.startswith(RESERVED_PREFIX):
        raise PydanticCustomError(
            "reserved_field_name",
            "字段名 '{name}' 为系统保留 / field name '{name}' is reserved: names starting "
            "with '_' belong to the evaluation tables (_id = record id, _key = natural key)",
            {
                "name": name,
                "hint": f"rename it, e.g. '{name.lstrip('_') or 'value'}' (findings already "
                "cite each record's store id and natural key)",
            },
        )
    if not IDENTIFIER.match(name):
        raise PydanticCustomError(
            "field_name",
            "字段名 '{name}' 无效 / field name '{name}' must be lower_snake_case ASCII",
            {"name": name, "hint": "map Chinese source columns to it with a source `map`"},
        )
    return name


FieldName = Annotated[str, AfterValidator(check_field_name)]


class EvidenceType(BaseModel):
    """A kind of evidence record (meeting, talk, procurement …).

    ```yaml
    meeting:
      title: 会议记录 / meetings
      fields: {unit: unit, kind: str, held_on: date, attendance: int}
      key: [unit, kind, held_on]
      source: {kind: file, path: data/meetings.csv, map: {unit: 单位编码, held_on: 召开日期}}
    ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = None
    fields: dict[FieldName, FieldType] = Field(
        min_length=1,
        description="field name (lower_snake_case; a leading '_' is reserved) -> type",
        json_schema_extra={"propertyNames": {"pattern": IDENTIFIER.pattern}},
    )
    key: list[str] = Field(
        default_factory=list,
        description="Fields that identify a record across fetches (natural key). "
        "Default: all fields, so any change makes a new record.",
    )
    source: AnySource | None = Field(
        default=None,
        description="Where records come from (file, sql, http, manual). None: filled elsewhere.",
    )

    @model_validator(mode="after")
    def _key_fields_exist(self) -> EvidenceType:
        unknown = [k for k in self.key if k not in self.fields]
        if unknown:
            raise ValueError(f"key names undeclared fields: {', '.join(unknown)}")
        return self

    @property
    def key_fields(self) -> list[str]:
        return self.key or list(self.fields)
