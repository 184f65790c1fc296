"""Storing typed records: deduplicated by natural key, versioned on change, with provenance.

``ingest`` is the only writer. It takes typed records (from a source, a manual submission or a
test), compares them with the current version of each natural key, and inserts what is new or
changed. It never commits: the caller's transaction decides, so a failure leaves nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from dualduty.errors import NotFoundError, UserError
from dualduty.problems import Problem
from dualduty.settings import get_settings
from evidence.sources.base import TypedRecord
from evidence.types import IDENTIFIER, EvidenceType
from evidence.values import FieldType, Value
from models.base import utcnow
from models.evidence import EvidenceRecord, EvidenceTypeDeclaration, EvidenceWatermark

CHUNK = 2000  # keys looked up per query; well under every driver's parameter limit


class IngestReport(BaseModel):
    """What one ingest did. ``ids`` are the records it inserted (new and changed)."""

    type_name: str
    source_name: str
    received: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    duplicates: int = 0  # same key twice in the batch
    ids: list[int] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)


# --- canonical form -------------------------------------------------------------------------


def canonical_value(value: Value, field_type: FieldType) -> Any:
    """The JSON form a typed value is stored and hashed in.

    Decimals become plain text without exponent or trailing zeros (``1200000``), so a source
    that switches between ``1,200,000.00`` and ``120万`` does not create a new version.
    Datetimes are wall-clock time in the configured zone (aware values are converted).
    """
    if value is None:
        return None
    match field_type:
        case FieldType.decimal | FieldType.float:
            assert isinstance(value, Decimal | int)
            number = Decimal(value).normalize()
            return format(number, "f")
        case FieldType.datetime:
            assert isinstance(value, dt.datetime)
            if value.tzinfo is not None:
                value = value.astimezone(ZoneInfo(get_settings().timezone)).replace(tzinfo=None)
            return value.isoformat(sep=" ")
        case FieldType.date:
            assert isinstance(value, dt.date)
            return value.isoformat()
        case _:
            return value


def canonical_fields(fields: dict[str, Value], evidence_type: EvidenceType) -> dict[str, Any]:
    return {
        name: canonical_value(fields.get(name), field_type)
        for name, field_type in evidence_type.fields.items()
    }


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(canonical: dict[str, Any]) -> str:
    return hashlib.sha256(_dumps(canonical).encode()).hexdigest()


def natural_key(canonical: dict[str, Any], evidence_type: EvidenceType) -> str:
    """Readable and unambiguous: ``B01/支委会/2026-03-05`` (``/`` and ``\\`` escaped)."""
    parts = []
    for name in evidence_type.key_fields:
        value = canonical.get(name)
        text = "" if value is None else value if isinstance(value, str) else _dumps(value)
        parts.append(text.replace("\\", "\\\\").replace("/", "\\/"))
    return "/".join(parts)


def fields_hash(evidence_type: EvidenceType) -> str:
    """Identity of a type's shape (fields and key): the cache is rebuilt when it changes."""
    shape = {
        "fields": {n: str(t) for n, t in evidence_type.fields.items()},
        "key": evidence_type.key_fields,
    }
    return hashlib.sha256(_dumps(shape).encode()).hexdigest()


def unit_field(evidence_type: EvidenceType) -> str | None:
    """The field that places a record in the organisation: the first of type ``unit``."""
    return next((n for n, t in evidence_type.fields.items() if t == FieldType.unit), None)


# --- writing ---------------------------------------------------------------------------------


def check_type_name(type_name: str) -> None:
    if not IDENTIFIER.match(type_name):
        raise UserError(
            [
                Problem(
                    message=f"证据类型名无效 / invalid evidence type name {type_name!r}",
                    field="type",
                    hint="lower_snake_case ASCII, e.g. meeting, procurement",
                )
            ]
        )


def _lock_type(session: Session, type_name: str) -> None:
    """Serialise ingests of one type until commit.

    Record ids of a type then grow in commit order, which is what lets the columnar cache
    refresh by "ids above the last one seen" without missing a slower transaction's rows.
    SQLite allows one writer at a time anyway.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"evidence:{type_name}"},
        )


def declare_type(session: Session, *, type_name: str, evidence_type: EvidenceType) -> None:
    """Remember the declaration a type was last ingested under."""
    declaration = evidence_type.model_dump(mode="json", exclude_none=True)
    shape = fields_hash(evidence_type)
    row = session.get(EvidenceTypeDeclaration, type_name)
    if row is None:
        session.add(
            EvidenceTypeDeclaration(name=type_name, declaration=declaration, fields_hash=shape)
        )
    elif row.declaration != declaration:
        row.declaration = declaration
        row.fields_hash = shape
    session.flush()


def ingest(
    session: Session,
    *,
    type_name: str,
    evidence_type: EvidenceType,
    records: Iterable[TypedRecord],
    source_name: str,
    fetched_at: dt.datetime | None = None,
    source_kind: str = "direct",
    submitted_by: str | None = None,
) -> IngestReport:
    """Insert new records and new versions of changed ones; leave unchanged ones alone.

    Within one batch a natural key seen twice keeps the last record and is reported as a
    warning (the source sent two different records for one key). ``source_kind`` records how
    the records came (file, sql, http, manual; "direct" when code ingests them itself).
    """
    check_type_name(type_name)
    fetched_at = fetched_at or utcnow()
    report = IngestReport(type_name=type_name, source_name=source_name)
    _lock_type(session, type_name)
    declare_type(session, type_name=type_name, evidence_type=evidence_type)
    unit_name = unit_field(evidence_type)

    batch: dict[str, dict[str, Any]] = {}  # key_hash -> row to insert
    for record in records:
        report.received += 1
        canonical = canonical_fields(record.fields, evidence_type)
        key = natural_key(canonical, evidence_type)
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        row = {
            "type_name": type_name,
            "natural_key": key,
            "key_hash": key_hash,
            "content_hash": content_hash(canonical),
            "fields": canonical,
            "raw": record.raw,
            "unit_code": canonical.get(unit_name) if unit_name else None,
            "source_name": source_name,
            "source_kind": source_kind,
            "location": str(record.location)[:500],
            "submitted_by": submitted_by,
            "fetched_at": fetched_at,
        }
        previous = batch.get(key_hash)
        if previous is not None:
            report.duplicates += 1
            if previous["content_hash"] != row["content_hash"]:
                report.problems.append(
                    Problem(
                        message=f"同一主键出现两次且内容不同，以后者为准 / key {key!r} appears twice "
                        f"with different content; the later record ({row['location']}) wins over "
                        f"{previous['location']}",
                        field=f"{type_name} key {', '.join(evidence_type.key_fields)}",
                        severity="warning",
                    )
                )
        batch[key_hash] = row

    now = utcnow()
    rows = list(batch.values())
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        current = {
            r.key_hash: r
            for r in session.execute(
                sa.select(
                    EvidenceRecord.id,
                    EvidenceRecord.key_hash,
                    EvidenceRecord.content_hash,
                    EvidenceRecord.version,
                ).where(
                    EvidenceRecord.type_name == type_name,
                    EvidenceRecord.is_current.is_(True),
                    EvidenceRecord.key_hash.in_([r["key_hash"] for r in chunk]),
                )
            )
        }
        inserts: list[dict[str, Any]] = []
        superseded: list[int] = []
        for row in chunk:
            existing = current.get(row["key_hash"])
            if existing is None:
                report.new += 1
                inserts.append(row | {"version": 1, "supersedes_id": None})
            elif existing.content_hash == row["content_hash"]:
                report.unchanged += 1
            else:
                report.changed += 1
                superseded.append(existing.id)
                inserts.append(
                    row | {"version": existing.version + 1, "supersedes_id": existing.id}
                )
        if superseded:
            # Before the inserts: the partial unique index allows one current row per key.
            session.execute(
                sa.update(EvidenceRecord)
                .where(EvidenceRecord.id.in_(superseded))
                .values(is_current=False, superseded_at=now)
            )
        if inserts:
            for row in inserts:
                row.update(is_current=True, ingested_at=now)
            # Core executemany, no RETURNING: with RETURNING in parameter order SQLAlchemy
            # falls back to one statement per row on SQLite (20k rows: 6 s instead of 1 s).
            table = EvidenceRecord.__table__
            assert isinstance(table, sa.Table)
            session.execute(sa.insert(table), inserts)
            ids = dict(
                session.execute(
                    sa.select(EvidenceRecord.key_hash, EvidenceRecord.id).where(
                        EvidenceRecord.type_name == type_name,
                        EvidenceRecord.is_current.is_(True),
                        EvidenceRecord.key_hash.in_([r["key_hash"] for r in inserts]),
                    )
                )
                .tuples()
                .all()
            )
            report.ids.extend(ids[r["key_hash"]] for r in inserts)
    return report


# --- watermarks ------------------------------------------------------------------------------


def _encode_watermark(value: Any) -> dict[str, Any]:
    match value:
        case bool():
            raise TypeError("a boolean cannot be a watermark")
        case int():
            return {"type": "int", "value": value}
        case Decimal():
            return {"type": "decimal", "value": str(value)}
        case float():
            return {"type": "float", "value": value}
        case dt.datetime():
            return {"type": "datetime", "value": value.isoformat()}
        case dt.date():
            return {"type": "date", "value": value.isoformat()}
        case str():
            return {"type": "str", "value": value}
    raise TypeError(f"unsupported watermark value {type(value).__name__}")


def _decode_watermark(data: dict[str, Any]) -> Any:
    value = data["value"]
    match data["type"]:
        case "decimal":
            return Decimal(value)
        case "datetime":
            return dt.datetime.fromisoformat(value)
        case "date":
            return dt.date.fromisoformat(value)
        case _:
            return value


def get_watermark(session: Session, *, source_name: str) -> Any:
    row = session.get(EvidenceWatermark, source_name)
    return None if row is None else _decode_watermark(row.value)


def set_watermark(session: Session, *, source_name: str, value: Any) -> None:
    encoded = _encode_watermark(value)
    row = session.get(EvidenceWatermark, source_name)
    if row is None:
        session.add(EvidenceWatermark(source_name=source_name, value=encoded))
    else:
        row.value = encoded
    session.flush()


# --- reading ---------------------------------------------------------------------------------


def get_or_raise(session: Session, *, record_id: int) -> EvidenceRecord:
    record = session.get(EvidenceRecord, record_id)
    if record is None:
        raise NotFoundError(f"证据记录 #{record_id} 不存在 / no evidence record #{record_id}")
    return record


def versions(session: Session, *, record: EvidenceRecord) -> Sequence[EvidenceRecord]:
    """Every version of the record's natural key, oldest first."""
    return session.scalars(
        sa.select(EvidenceRecord)
        .where(
            EvidenceRecord.type_name == record.type_name, EvidenceRecord.key_hash == record.key_hash
        )
        .order_by(EvidenceRecord.version)
    ).all()


def list_current(
    session: Session,
    *,
    type_name: str,
    unit_code: str | None = None,
    limit: int | None = None,
) -> Sequence[EvidenceRecord]:
    """Current versions of a type, newest first; ``unit_code`` matches the record's unit."""
    query = (
        sa.select(EvidenceRecord)
        .where(EvidenceRecord.type_name == type_name, EvidenceRecord.is_current.is_(True))
        .order_by(EvidenceRecord.id.desc())
    )
    if unit_code is not None:
        query = query.where(EvidenceRecord.unit_code == unit_code)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def count_current(session: Session, *, type_name: str, unit_code: str | None = None) -> int:
    query = sa.select(sa.func.count()).where(
        EvidenceRecord.type_name == type_name, EvidenceRecord.is_current.is_(True)
    )
    if unit_code is not None:
        query = query.where(EvidenceRecord.unit_code == unit_code)
    return session.scalar(query) or 0


def declared_type(session: Session, *, type_name: str) -> EvidenceType | None:
    row = session.get(EvidenceTypeDeclaration, type_name)
    return None if row is None else EvidenceType.model_validate(row.declaration)


def declared_types(session: Session) -> Iterator[tuple[str, EvidenceType]]:
    for row in session.scalars(
        sa.select(EvidenceTypeDeclaration).order_by(EvidenceTypeDeclaration.name)
    ):
        yield row.name, EvidenceType.model_validate(row.declaration)
