"""What every evidence source shares: its config fields, the fetch seam and record typing.

A source only *fetches* raw records (header -> raw value, with where each came from). Mapping
source columns to declared fields, parsing values (``evidence.values.coerce``) and the
``on_error`` policy live here, once, so a bad date reads the same whether it came from a CSV
line, a database row or a JSON page.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from dualduty.errors import UserError
from dualduty.problems import Location, Problem
from evidence.values import BadValue, FieldType, Value, coerce

if TYPE_CHECKING:
    from evidence.types import EvidenceType

OnError = Literal["fail", "skip"]


@dataclass(frozen=True)
class RawRecord:
    """One record as the source gave it, before typing. ``values`` is also kept as the raw
    payload of the stored record, so nothing the source said is lost."""

    values: Mapping[str, Any]
    location: Location


@dataclass(frozen=True)
class TypedRecord:
    """A record whose declared fields parsed. ``raw`` is the payload as fetched."""

    fields: dict[str, Value]
    raw: dict[str, Any]
    location: Location


@dataclass
class FetchContext:
    """What a fetch may use besides its config.

    ``env`` holds the secrets (sources name variables, never values); ``http`` is injected so
    tests point sources at loopback servers; ``watermark`` is the stored high-water mark of an
    incremental source (None on the first run).
    """

    source_name: str
    base_dir: Path = field(default_factory=Path.cwd)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    http: httpx.Client | None = None
    watermark: Any = None


@dataclass
class FetchResult:
    """Typed records plus every problem met; ``watermark`` is the new high-water mark."""

    records: list[TypedRecord]
    problems: list[Problem]
    watermark: Any = None
    fetched: int = 0  # raw records seen, including those skipped


class BaseSource(BaseModel, ABC):
    """Fields every source kind accepts.

    ``map`` maps a declared field to the source's column (``{held_on: 召开日期}``); fields not
    mapped are read from a column of the same name. ``on_error: skip`` reports bad records and
    imports the rest; ``fail`` (default) imports nothing when any record is bad.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Tabular sources (files, SQL) have a header: a mapped column missing from it is a
    # configuration error. JSON records may omit empty keys, so there it only warns.
    fixed_columns: ClassVar[bool] = True

    kind: str
    name: str | None = Field(
        default=None,
        description="Source name in provenance and watermarks. Default: the evidence type name.",
    )
    map: dict[str, str] = Field(
        default_factory=dict, description="declared field -> source column (源列名)"
    )
    on_error: OnError = Field(
        default="fail",
        description="fail: a bad record imports nothing; skip: report it and import the rest",
    )

    @abstractmethod
    def fetch(self, ctx: FetchContext) -> Iterator[RawRecord]:
        """Yield raw records. Raise UserError for bad configuration, RunError when the
        source cannot be reached. Never put a secret in a message."""

    def next_watermark(self, records: list[RawRecord], ctx: FetchContext) -> Any:
        """The high-water mark to store after a successful import (incremental sources)."""
        return None

    def column_for(self, field_name: str) -> str:
        return self.map.get(field_name, field_name)

    def read(self, evidence_type: EvidenceType, ctx: FetchContext) -> FetchResult:
        """Fetch and type every record, applying ``on_error``.

        Raises UserError listing every problem when the policy is ``fail`` and any record
        is bad, or when the source lacks a mapped column altogether (a configuration error
        no policy can skip).
        """
        raw_records = list(self.fetch(ctx))
        typed = type_records(raw_records, evidence_type, self)
        errors = [p for p in typed.problems if p.severity == "error"]
        if errors and (self.on_error == "fail" or typed.missing_columns):
            raise UserError(typed.problems)
        # Skipped records are reported as warnings: the import itself went ahead.
        problems = [p.model_copy(update={"severity": "warning"}) for p in typed.problems]
        return FetchResult(
            records=typed.records,
            problems=problems,
            watermark=self.next_watermark(raw_records, ctx),
            fetched=len(raw_records),
        )


@dataclass
class Typing:
    """The outcome of typing a batch. ``missing_columns`` (field -> column) is a
    configuration error that no ``on_error`` policy may skip."""

    records: list[TypedRecord]
    problems: list[Problem]
    missing_columns: dict[str, str] = field(default_factory=dict)


def lookup(values: Mapping[str, Any], column: str) -> tuple[bool, Any]:
    """Find ``column`` in a record; a dotted name reaches into nested JSON objects."""
    if column in values:
        return True, values[column]
    current: Any = values
    for part in column.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return False, None
    return True, current


def type_records(
    raw_records: list[RawRecord], evidence_type: EvidenceType, source: BaseSource
) -> Typing:
    """Map and coerce every record; bad records are reported and left out."""
    problems: list[Problem] = []
    records: list[TypedRecord] = []
    required = set(evidence_type.key)  # an explicit natural key must be present
    absent: dict[str, str] = {}  # field -> column missing from every record
    if raw_records:
        for name in evidence_type.fields:
            column = source.column_for(name)
            if not any(lookup(r.values, column)[0] for r in raw_records):
                absent[name] = column
        seen = sorted({str(k) for r in raw_records[:50] for k in r.values})
        for name, column in absent.items():
            if source.fixed_columns:
                message = f"来源缺少列 / the source has no column {column!r} for field {name!r}"
                severity: Literal["error", "warning"] = "error"
            else:
                message = (
                    f"所有记录都没有 {column!r}，字段 {name!r} 为空 / no record has {column!r}; "
                    f"field {name!r} is empty"
                )
                severity = "warning"
            problems.append(
                Problem(
                    message=message,
                    location=raw_records[0].location.model_copy(
                        update={"line": None, "column": None}
                    ),
                    field=name,
                    hint="columns present: " + ", ".join(seen) + " (fix `map`)",
                    severity=severity,
                )
            )
        if absent and source.fixed_columns:
            return Typing(records=[], problems=problems, missing_columns=absent)
    for raw in raw_records:
        typed: dict[str, Value] = {}
        bad = False
        for name, field_type in evidence_type.fields.items():
            column = source.column_for(name)
            _, value = lookup(raw.values, column)
            label = name if column == name else f"{name} ← {column}"
            try:
                typed[name] = coerce(value, field_type)
            except BadValue as error:
                problems.append(
                    Problem(
                        message=str(error),
                        location=raw.location,
                        field=label,
                        hint=_hint(field_type),
                    )
                )
                bad = True
                continue
            if typed[name] is None and name in required:
                problems.append(
                    Problem(
                        message="主键字段为空 / natural-key field is empty",
                        location=raw.location,
                        field=label,
                    )
                )
                bad = True
        if not bad:
            records.append(
                TypedRecord(fields=typed, raw=_jsonable(raw.values), location=raw.location)
            )
    return Typing(records=records, problems=problems)


def _hint(field_type: FieldType) -> str | None:
    match field_type:
        case FieldType.date | FieldType.datetime:
            return "日期格式 / date formats: 2026-03-01, 2026/3/1, 2026年3月1日"
        case FieldType.int | FieldType.decimal | FieldType.float:
            return "数字 / a number such as 1200, 1,200.50 or 120万"
        case FieldType.bool:
            return "是/否, yes/no, true/false, 1/0"
        case _:
            return None


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """The raw payload as JSON-safe values (dates and decimals from databases become text)."""
    return {str(k): _json_value(v) for k, v in values.items()}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
