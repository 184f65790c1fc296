"""The evidence store: typed records with provenance, versioned, never overwritten.

A record is identified across fetches by its evidence type and natural key. Seeing the same
key with the same content again changes nothing; different content adds a new version and
marks the previous one superseded, so a finding can always show the record as it stood when
it was judged. Rows are only ever inserted, plus the one-way flip of ``is_current``: the
evaluation cache relies on that (see ``evidence.cache``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from models.base import Base, utcnow

# SQLite only auto-numbers an INTEGER PRIMARY KEY; PostgreSQL needs BIGINT for billions of rows.
RecordId = BigInteger().with_variant(Integer, "sqlite")


class JsonText(TypeDecorator[dict[str, Any]]):
    """JSON kept as compact text with keys sorted and Chinese unescaped.

    The store reads payloads back whole (the loader streams millions of them as text) and
    never queries inside them, so text beats jsonb: nothing to re-serialise on the way out,
    and 张三 takes 9 bytes instead of the 18 of its ``\\u`` escapes.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> dict[str, Any] | None:
        return None if value is None else dict(json.loads(value))


class EvidenceRecord(Base):
    __tablename__ = "evidence_records"
    __table_args__ = (
        Index("uq_evidence_records__key_version", "type_name", "key_hash", "version", unique=True),
        Index("ix_evidence_records__type_id", "type_name", "id"),
    )

    id: Mapped[int] = mapped_column(RecordId, primary_key=True, autoincrement=True)
    type_name: Mapped[str] = mapped_column(String(64))
    natural_key: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64))  # sha256 of natural_key: short, indexable
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical typed fields
    fields: Mapped[dict[str, Any]] = mapped_column(JsonText())  # canonical JSON of the typed fields
    raw: Mapped[dict[str, Any]] = mapped_column(JsonText())  # the record as the source gave it
    unit_code: Mapped[str | None] = mapped_column(String(64), index=True)
    source_name: Mapped[str] = mapped_column(String(128))
    source_kind: Mapped[str] = mapped_column(String(16))
    location: Mapped[str | None] = mapped_column(String(500))  # file:line or source#index
    submitted_by: Mapped[str | None] = mapped_column(String(64))  # manual records: who
    fetched_at: Mapped[dt.datetime]
    ingested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    supersedes_id: Mapped[int | None] = mapped_column(
        RecordId, ForeignKey("evidence_records.id", ondelete="RESTRICT")
    )
    superseded_at: Mapped[dt.datetime | None]


# At most one current version per key, even with two ingesters racing.
Index(
    "uq_evidence_records__current_key",
    EvidenceRecord.type_name,
    EvidenceRecord.key_hash,
    unique=True,
    sqlite_where=text("is_current"),
    postgresql_where=text("is_current"),
)


class EvidenceWatermark(Base):
    """The high-water mark of an incremental source, advanced in the transaction that stores
    the records it covers (a failed import leaves it where it was)."""

    __tablename__ = "evidence_watermarks"

    source_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JsonText())  # {"type": "datetime", "value": "…"}
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EvidenceTypeDeclaration(Base):
    """The last declaration each type was ingested under, so ``evidence add`` can type a
    record without the pack at hand and the cache can tell when a type's fields changed."""

    __tablename__ = "evidence_types"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    declaration: Mapped[dict[str, Any]] = mapped_column(JsonText())
    fields_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
