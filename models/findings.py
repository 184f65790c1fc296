"""Stored findings: what each inspection concluded, kept so a case can show why it exists.

Rows are deduplicated by content: an inspection that re-runs with the same verdict, explanation,
evidence and pack version adds no row, so re-running is free and the table grows only when
something actually changed. ``inspection_id`` names the run that first produced the row.
The pydantic ``rules.findings.Finding`` stays the one definition of a finding; this table only
stores it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import ForeignKey, Index, String, Table, Text, UniqueConstraint, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base
from rules.findings import Finding, Severity, Side, SubjectKind, Verdict

_LOOKUP_CHUNK = 2000


class StoredFinding(Base):
    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("content_hash"),
        Index("ix_findings__key", "rule_id", "subject_id", "period", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_runs.id", ondelete="SET NULL"), index=True
    )
    recorded_at: Mapped[dt.datetime]
    pack: Mapped[str] = mapped_column(String(100))
    pack_version: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(16))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(128))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    ladder: Mapped[str | None] = mapped_column(String(64))
    bearer_person: Mapped[str | None] = mapped_column(String(64))
    bearer_post: Mapped[str | None] = mapped_column(String(64))
    explanation: Mapped[str] = mapped_column(Text, default="")
    evidence_ids: Mapped[list[int]] = mapped_column(default=list)

    def to_finding(self) -> Finding:
        return Finding(
            pack=self.pack,
            pack_version=self.pack_version,
            rule_id=self.rule_id,
            period=self.period,
            subject_kind=SubjectKind(self.subject_kind),
            subject_id=self.subject_id,
            unit_code=self.unit_code,
            verdict=Verdict(self.verdict),
            side=Side(self.side),
            severity=Severity(self.severity),
            ladder=self.ladder,
            bearer_person=self.bearer_person,
            bearer_post=self.bearer_post,
            explanation=self.explanation,
            evidence_ids=list(self.evidence_ids),
        )


def content_hash(finding: Finding) -> str:
    """SHA-256 of the finding's canonical JSON; evidence order does not matter."""
    data = finding.model_dump(mode="json")
    data["evidence_ids"] = sorted(set(finding.evidence_ids))
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def store(
    session: Session, *, findings: Iterable[Finding], inspection_id: int | None, now: dt.datetime
) -> dict[str, int]:
    """Store findings not seen before; return every input's row id by content hash.

    In bulk, new rows only (``ON CONFLICT DO NOTHING`` on the content hash), their ids returned
    by the insert; the ids of rows stored before are read back by hash. PostgreSQL gets the rows
    by COPY into a temporary table (measured: 58,749 failures in 1.2 s, against 3.5 s as
    multi-row INSERTs); SQLite by multi-row INSERTs. A first inspection of a large company
    stores tens of thousands of failures, which one ORM object each made take minutes.
    """
    by_hash = {content_hash(f): f for f in findings}
    if not by_hash:
        return {}
    rows = [
        {
            "content_hash": digest,
            "inspection_id": inspection_id,
            "recorded_at": now,
            "pack": f.pack,
            "pack_version": f.pack_version,
            "rule_id": f.rule_id,
            "period": f.period,
            "subject_kind": f.subject_kind.value,
            "subject_id": f.subject_id,
            "unit_code": f.unit_code,
            "verdict": f.verdict.value,
            "side": f.side.value,
            "severity": f.severity.value,
            "ladder": f.ladder,
            "bearer_person": f.bearer_person,
            "bearer_post": f.bearer_post,
            "explanation": f.explanation,
            "evidence_ids": sorted(set(f.evidence_ids)),
        }
        for digest, f in by_hash.items()
    ]
    if session.get_bind().dialect.name == "postgresql":
        ids = _copy_in(session, rows)
    else:
        ids = _insert_returning(session, rows)
    known = [digest for digest in by_hash if digest not in ids]  # stored by an earlier run
    table = _table()
    for start in range(0, len(known), _LOOKUP_CHUNK):
        chunk = known[start : start + _LOOKUP_CHUNK]
        query = select(table.c.content_hash, table.c.id).where(table.c.content_hash.in_(chunk))
        ids.update({digest: row_id for digest, row_id in session.execute(query)})
    return ids


def _table() -> Table:
    return cast(Table, StoredFinding.__table__)


def _insert_returning(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    table = _table()
    statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["content_hash"])
    returned = session.execute(statement.returning(table.c.content_hash, table.c.id), rows)
    return {digest: row_id for digest, row_id in returned}


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _copy_field(value: object) -> str:
    """A value in COPY's text format: ``\\N`` for NULL, the four special characters escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, list):
        value = json.dumps(value)
    elif isinstance(value, dt.datetime):
        value = value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _copy_in(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    columns = list(rows[0])
    names = ", ".join(columns)
    data = io.StringIO()
    for row in rows:
        data.write("\t".join(_copy_field(row[name]) for name in columns))
        data.write("\n")
    data.seek(0)
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("DROP TABLE IF EXISTS pg_temp._dd_findings_in")
        cursor.execute(
            f"CREATE TEMP TABLE _dd_findings_in ON COMMIT DROP AS SELECT {names} FROM findings "
            "WITH NO DATA"
        )
        cursor.copy_expert(f"COPY _dd_findings_in ({names}) FROM STDIN", data)
        cursor.execute(
            f"INSERT INTO findings ({names}) SELECT {names} FROM _dd_findings_in "
            "ON CONFLICT (content_hash) DO NOTHING RETURNING content_hash, id"
        )
        return {digest: row_id for digest, row_id in cursor.fetchall()}
    finally:
        cursor.close()
