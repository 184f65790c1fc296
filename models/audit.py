"""The audit log: append-only, tamper-evident.

Each entry carries the SHA-256 of a canonical serialisation of itself plus the previous entry's
hash, so editing an entry breaks its own hash and deleting one leaves a gap in ``seq`` or a
``prev_hash`` that points nowhere. A one-row ``audit_head`` table holds the last seq and hash:

- appends are serialised through it. ``record`` first UPDATEs the head row, which takes the
  row lock on PostgreSQL and the database write lock on SQLite, and holds it until the caller
  commits; two writers can therefore never read the same predecessor and fork the chain;
- ``verify`` compares the last entry with the head, so cutting entries off the end is detected
  too.

The chain proves integrity against edits made through the database, not against someone who
rewrites every later entry *and* the head; anchor ``VerifyReport.last_hash`` elsewhere (a
signed report, an external system) if that threat matters.

The head is a hot row: a long transaction that records audit entries blocks every other writer of
the log until it commits. Long runs (escalation) therefore commit in batches.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python
from sqlalchemy import Index, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

GENESIS_HASH = "0" * 64
_HEAD_ID = 1


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log__subject", "subject_type", "subject_id", "seq"),
        Index("ix_audit_log__actor", "actor", "seq"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(100))  # "user:zhangsan", "system:escalation"
    action: Mapped[str] = mapped_column(String(64))  # "case.decide", "case.view", "login" …
    subject_type: Mapped[str] = mapped_column(String(32))  # "case", "pack", "user" …
    subject_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's tip; also the lock that serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))


def canonical_detail(detail: Mapping[str, Any] | BaseModel | None) -> dict[str, Any]:
    """JSON-native detail that survives a database round trip unchanged.

    PostgreSQL's JSONB stores numbers as NUMERIC and may hand a float back in another form
    (1e20 comes back as an integer), which would break the hash. Floats and Decimals are
    therefore stored as their decimal strings; dates as ISO strings.
    """
    if detail is None:
        return {}
    plain = to_jsonable_python(detail, fallback=str)
    if not isinstance(plain, dict):
        raise TypeError(f"audit detail must be a mapping, not {type(detail).__name__}")
    result: dict[str, Any] = _no_floats(plain)
    return result


def _no_floats(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _no_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_floats(v) for v in value]
    if isinstance(value, float | decimal.Decimal):
        return str(value)
    return value


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over sorted-key compact JSON (UTF-8, no ASCII escaping) of every field."""
    payload = {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    text = json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lock_chain(session: Session) -> AuditHead:
    """Take the append lock (held until the transaction ends) and return the fresh head.

    Writers that also change cases call this *before* claiming case rows: one lock order
    (chain head, then cases) for everyone, so two writers can never deadlock on each other.
    """
    for _attempt in range(2):
        locked = session.execute(
            update(AuditHead)
            .where(AuditHead.id == _HEAD_ID)
            .values(seq=AuditHead.seq)
            .execution_options(synchronize_session=False)
        )
        if locked.rowcount:  # type: ignore[attr-defined]
            break
        # The very first entry: create the head. A concurrent creator makes our insert fail
        # on the primary key once it commits; then the UPDATE above finds its row.
        try:
            with session.begin_nested():
                session.add(AuditHead(id=_HEAD_ID, seq=0, hash=GENESIS_HASH))
        except IntegrityError:
            continue
        break
    head = session.scalars(
        select(AuditHead).where(AuditHead.id == _HEAD_ID).execution_options(populate_existing=True)
    ).one()
    return head


class AuditDraft(BaseModel):
    """An entry to append with ``record_many`` (many entries, one lock, one flush)."""

    model_config = ConfigDict(frozen=True)

    actor: str
    action: str
    subject_type: str
    subject_id: str
    detail: dict[str, Any] = {}


def record_many(
    session: Session, *, drafts: Sequence[AuditDraft], now: dt.datetime
) -> list[AuditEntry]:
    """Append entries in order under one lock: a reconcile of 100,000 cases stays one pass."""
    if not drafts:
        return []
    at = now.astimezone(dt.UTC)
    head = lock_chain(session)
    seq, prev = head.seq, head.hash
    added = []
    for draft in drafts:
        seq += 1
        plain = canonical_detail(draft.detail)
        digest = entry_hash(
            seq=seq,
            at=at,
            actor=draft.actor,
            action=draft.action,
            subject_type=draft.subject_type,
            subject_id=draft.subject_id,
            detail=plain,
            prev_hash=prev,
        )
        added.append(
            AuditEntry(
                seq=seq,
                at=at,
                actor=draft.actor,
                action=draft.action,
                subject_type=draft.subject_type,
                subject_id=draft.subject_id,
                detail=plain,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    head.seq, head.hash = seq, prev
    session.add_all(added)
    session.flush()
    return added


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    detail: Mapping[str, Any] | BaseModel | None = None,
    now: dt.datetime,
) -> AuditEntry:
    """Append one entry. It becomes visible, and the lock is released, when the caller commits."""
    draft = AuditDraft(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        detail=canonical_detail(detail),
    )
    return record_many(session, drafts=[draft], now=now)[0]


class BreakKind(StrEnum):
    edited = "edited"  # the entry's content no longer matches its own hash
    relinked = "relinked"  # prev_hash differs from the previous entry's hash
    missing = "missing"  # seq numbers absent: entries deleted
    truncated = "truncated"  # the head names a later or different last entry than the log has


class ChainBreak(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: BreakKind
    seq: int  # the entry where the break shows (for missing: the first missing seq)
    message: str


class VerifyReport(BaseModel):
    entries: int
    last_seq: int
    last_hash: str
    breaks: list[ChainBreak]

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(session: Session, *, batch: int = 2000) -> VerifyReport:
    """Walk the whole chain and report every place it is broken (not just the first)."""
    head = session.get(AuditHead, _HEAD_ID)
    head_seq = head.seq if head else 0
    breaks: list[ChainBreak] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.seq <= head_seq)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=batch)
    )
    for entry in rows:
        count += 1
        if entry.seq != expected_seq:
            breaks.append(
                ChainBreak(
                    kind=BreakKind.missing,
                    seq=expected_seq,
                    message=_range_message(expected_seq, entry.seq - 1),
                )
            )
        elif entry.prev_hash != prev_hash:
            breaks.append(
                ChainBreak(
                    kind=BreakKind.relinked,
                    seq=entry.seq,
                    message=(
                        f"条目 {entry.seq} 的 prev_hash 与条目 {entry.seq - 1} 的哈希不符 / entry "
                        f"{entry.seq}: prev_hash {entry.prev_hash[:12]}… does not match entry "
                        f"{entry.seq - 1}'s hash {prev_hash[:12]}… (an entry was replaced or "
                        "re-hashed)"
                    ),
                )
            )
        recomputed = entry_hash(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            detail=entry.detail,
            prev_hash=entry.prev_hash,
        )
        if recomputed != entry.hash:
            breaks.append(
                ChainBreak(
                    kind=BreakKind.edited,
                    seq=entry.seq,
                    message=(
                        f"条目 {entry.seq} 内容已被修改 / entry {entry.seq} "
                        f"({entry.action} {entry.subject_type}:{entry.subject_id}) was edited: "
                        f"stored hash {entry.hash[:12]}…, content hashes to {recomputed[:12]}…"
                    ),
                )
            )
        expected_seq = entry.seq + 1
        prev_hash = entry.hash
        session.expunge(entry)
    last_seq = expected_seq - 1
    if head is not None and last_seq != head_seq:
        breaks.append(
            ChainBreak(
                kind=BreakKind.truncated,
                seq=last_seq + 1,
                message=_range_message(last_seq + 1, head_seq) + " (at the end of the log)",
            )
        )
    elif head is not None and prev_hash != head.hash:
        breaks.append(
            ChainBreak(
                kind=BreakKind.truncated,
                seq=last_seq,
                message=(
                    f"最后条目 {last_seq} 与链头不符 / the last entry {last_seq} does not match "
                    f"the chain head ({head.hash[:12]}…)"
                ),
            )
        )
    return VerifyReport(entries=count, last_seq=last_seq, last_hash=prev_hash, breaks=breaks)


def _range_message(first: int, last: int) -> str:
    if first == last:
        return f"条目 {first} 缺失（已被删除）/ entry {first} is missing (deleted)"
    return f"条目 {first}–{last} 缺失（已被删除）/ entries {first}–{last} are missing (deleted)"


def entries(
    session: Session,
    *,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    actor: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first; page with ``before_seq`` = the last seq of the previous page."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if subject_type is not None:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == str(subject_id))
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    return list(session.scalars(query))
