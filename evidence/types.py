"""Evidence type declarations: the typed fields of a kind of record and its natural key.

Declared in rule packs (``evidence:`` section) and used by the sources (to type what they fetch),
the store (to deduplicate by natural key) and the engine (to build typed tables).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evidence.sources import AnySource
from evidence.values import FieldType

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


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
    fields: dict[str, FieldType] = Field(min_length=1)
    key: list[str] = Field(
        default_factory=list,
        description="Fields that identify a record across fetches (natural key). "
        "Default: all fields, so any change makes a new record.",
    )
    source: AnySource | None = Field(
        default=None,
        description="Where records come from (file, sql, http, manual). None: filled elsewhere.",
    )

    @field_validator("fields")
    @classmethod
    def _names_are_identifiers(cls, fields: dict[str, FieldType]) -> dict[str, FieldType]:
        for name in fields:
            if not IDENTIFIER.match(name):
                raise ValueError(
                    f"field name {name!r} must be lower_snake_case ASCII "
                    "(map Chinese source columns to it with a source `map`)"
                )
        return fields

    @model_validator(mode="after")
    def _key_fields_exist(self) -> EvidenceType:
        unknown = [k for k in self.key if k not in self.fields]
        if unknown:
            raise ValueError(f"key names undeclared fields: {', '.join(unknown)}")
        return self

    @property
    def key_fields(self) -> list[str]:
        return self.key or list(self.fields)
