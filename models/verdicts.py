"""Verdict sets: what each inspection concluded for every subject, stored column-wise.

An inspection of a large company yields about a million findings, nearly all of them passes.
One row per finding made storing them take minutes, so every finding lives here instead: one
``verdict_sets`` row per (pack, rule, period, scope) an inspection judged, holding a Parquet blob
(zstd) of all that rule-period's findings. The ``findings`` table keeps only what cases need.

- **Written only when something changed.** A part's content hash (every column of every row,
  pack version included, order ignored) is compared with the latest set of the same pack, rule,
  period and scope; an identical re-run writes nothing. Content A, then B, then A again is three
  sets: the latest one is what counts, not whether the content was ever seen. One exception: a
  newer set of another scope holding one of the part's subjects (a subtree inspected after the
  whole organisation, or the other way round) would win over the unchanged set when read, so the
  part is written again to be the latest. Scopes of disjoint subtrees never rewrite each other.
- **Scopes merge by recency.** An inspection of one subtree writes sets for its scope; reading
  takes, per (pack, rule, subject, period), the row of the most recent set holding that subject,
  so a scoped set newer than the whole organisation's wins for its subjects only.
- **Findings without a period** (record checks, judged on every inspection) belong to the period
  of the inspection that first found them: the blob's ``first_period`` column, carried over per
  subject from the latest sets of the same pack and rule (any scope); a new subject gets the
  label of the inspection writing the set. Periodic rules store their own period there.

The hash combines DuckDB's 64-bit hash of each row, so it is computed where the data is, without
a Python loop. A new DuckDB whose ``hash()`` differs writes each part once more: harmless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel
from sqlalchemy import ForeignKey, Index, LargeBinary, String, func, insert, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from dualduty.errors import RunError
from models.base import Base

FIRST_PERIOD = "first_period"
"""The blob's extra column: the period a finding counts in (see the module docstring)."""

_HASH_FORMAT = "verdicts/1"
_KEY = ("pack", "rule_id", "period")
_SEPARATOR = "\x1f"


@cache
def _findings_schema() -> pa.Schema:
    # Imported when first needed: rules.engine imports models (through rules.parts).
    from rules.engine import FINDINGS_SCHEMA

    return FINDINGS_SCHEMA


@cache
def _stored_schema() -> pa.Schema:
    return _findings_schema().append(pa.field(FIRST_PERIOD, pa.string()))


@cache
def _summary_sql() -> str:
    hashed = ", ".join(
        # Dictionary columns as their values, so two dictionaries of one content hash alike.
        f"{field.name}::VARCHAR" if pa.types.is_dictionary(field.type) else field.name
        for field in _findings_schema()
        if field.name not in _KEY
    )
    return f"""
SELECT pack::VARCHAR, rule_id::VARCHAR, period,
       max(pack_version::VARCHAR),
       count(*),
       count(*) FILTER (WHERE verdict = 'pass'),
       count(*) FILTER (WHERE verdict = 'fail'),
       count(*) FILTER (WHERE verdict = 'no-evidence'),
       sum(h::HUGEINT)::VARCHAR,
       bit_xor(h)::VARCHAR
FROM (SELECT pack, rule_id, period, pack_version, verdict, hash({hashed}) AS h FROM _dd_verdicts)
GROUP BY ALL
"""


_UNIQUE = ["subject_id", "bearer_person", "explanation", "evidence_ids"]
_WRITERS = min(4, os.cpu_count() or 1)


class VerdictSet(Base):
    __tablename__ = "verdict_sets"
    __table_args__ = (Index("ix_verdict_sets__key", "pack", "rule_id", "period", "scope", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    pack: Mapped[str] = mapped_column(String(100))
    pack_version: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(16))  # "" for rules without a period
    scope: Mapped[str] = mapped_column(String(64))  # unit code; "" = the whole organisation
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_runs.id", ondelete="SET NULL"), index=True
    )
    inspected: Mapped[str] = mapped_column(String(16))  # period label of the writing inspection
    recorded_at: Mapped[dt.datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    subjects: Mapped[int]
    passed: Mapped[int]
    failed: Mapped[int]
    no_evidence: Mapped[int]
    data: Mapped[bytes] = mapped_column(
        LargeBinary
    )  # Parquet (zstd): FINDINGS_SCHEMA + first_period


class StoredVerdicts(BaseModel):
    """What ``store_verdicts`` did. ``rows``: findings in the sets written (0 when unchanged)."""

    sets_written: int
    sets_unchanged: int
    rows: int


PartKey = tuple[str, str, str]
"""``(pack, rule_id, period)``."""


@dataclass(frozen=True)
class _Summary:
    pack_version: str
    subjects: int
    passed: int
    failed: int
    no_evidence: int
    content_hash: str


def store_verdicts(
    session: Session,
    table: pa.Table,
    *,
    inspected: str,
    scope: str | None,
    inspection_id: int | None,
    now: dt.datetime,
) -> StoredVerdicts:
    """Store an inspection's findings (``FINDINGS_SCHEMA``) as one set per pack, rule and period,
    skipping each part whose content equals the latest set of its pack, rule, period and scope
    (unless a newer set of another scope holds one of its subjects: see the module docstring).

    ``inspected`` is the period label of the inspection (the first period of new findings
    without a period). Never commits: the caller owns the transaction.
    """
    scope = scope or ""
    if table.num_rows == 0:
        return StoredVerdicts(sets_written=0, sets_unchanged=0, rows=0)
    if not table.schema.equals(_findings_schema()):
        table = table.select(_findings_schema().names).cast(_findings_schema())
    if any(table.column(name).null_count for name in _KEY):
        raise ValueError("findings without pack, rule or period (use '' for no period)")
    summaries = _summaries(table)
    latest = _latest_sets(session, list(summaries))
    # Unchanged: the scope's latest set has the same content, and no newer set of another scope
    # holds one of the part's subjects (reading would take that set's row instead).
    newer: dict[PartKey, list[_Latest]] = {}
    for key, summary in summaries.items():
        sets = latest.get(key, [])
        own = next((s for s in sets if s.scope == scope), None)
        if own is not None and own.content_hash == summary.content_hash:
            newer[key] = [s for s in sets if s.id > own.id]
    # Arrow's kernels, Parquet and zstd run without the GIL: the parts are cut and written on
    # several threads.
    with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        parts = _split(table, {key for key in summaries if newer.get(key) != []}, pool)
        changed = [
            key
            for key in summaries
            if key not in newer or (newer[key] and _overlaps(session, key, parts[key], newer[key]))
        ]
        if not changed:
            return StoredVerdicts(sets_written=0, sets_unchanged=len(summaries), rows=0)
        with_first = [
            _with_first_period(session, key, parts[key], latest.get(key, []), inspected=inspected)
            for key in changed
        ]
        blobs = dict(zip(changed, pool.map(_parquet, with_first), strict=True))
    session.execute(
        insert(VerdictSet),
        [
            {
                "pack": key[0],
                "pack_version": summaries[key].pack_version,
                "rule_id": key[1],
                "period": key[2],
                "scope": scope,
                "inspection_id": inspection_id,
                "inspected": inspected,
                "recorded_at": now,
                "content_hash": summaries[key].content_hash,
                "subjects": summaries[key].subjects,
                "passed": summaries[key].passed,
                "failed": summaries[key].failed,
                "no_evidence": summaries[key].no_evidence,
                "data": blobs[key],
            }
            for key in changed
        ],
    )
    return StoredVerdicts(
        sets_written=len(changed),
        sets_unchanged=len(summaries) - len(changed),
        rows=sum(summaries[key].subjects for key in changed),
    )


def latest_verdicts(session: Session, *, periods: Collection[str]) -> pa.Table:
    """Every finding of the periods labelled ``periods``, plus the findings without a period
    first found in one of them, as ``FINDINGS_SCHEMA``.

    Per (pack, rule, subject, period) the row of the most recent set holding it; reads one set
    per (pack, rule, period, scope), never a superseded one.
    """
    labels = sorted(set(periods))
    latest = (
        select(func.max(VerdictSet.id))
        .where(or_(VerdictSet.period.in_(labels), VerdictSet.period == ""))
        .group_by(VerdictSet.pack, VerdictSet.rule_id, VerdictSet.period, VerdictSet.scope)
    )
    rows = session.execute(
        select(
            VerdictSet.id, VerdictSet.pack, VerdictSet.rule_id, VerdictSet.period, VerdictSet.data
        )
        .where(VerdictSet.id.in_(latest))
        .order_by(VerdictSet.id.desc())
    )
    newest_first: dict[PartKey, list[pa.Table]] = defaultdict(list)
    for set_id, pack, rule_id, period, data in rows:
        key = (pack, rule_id, period)
        newest_first[key].append(_read(data, set_id=set_id, key=key))
    tables = []
    for key, sets in newest_first.items():
        merged = _merge(sets)
        if key[2] == "":
            merged = merged.filter(
                pc.is_in(merged[FIRST_PERIOD], value_set=pa.array(labels, pa.string()))
            )
        tables.append(merged.select(_findings_schema().names).cast(_findings_schema()))
    if not tables:
        return _findings_schema().empty_table()
    return pa.concat_tables(tables)


def _summaries(table: pa.Table) -> dict[PartKey, _Summary]:
    """Per part: pack version, counts and content hash, in one DuckDB pass over the table."""
    con = duckdb.connect()
    try:
        con.register("_dd_verdicts", table)
        rows = con.execute(_summary_sql()).fetchall()
    finally:
        con.close()
    summaries = {}
    for pack, rule_id, period, version, n, passed, failed, no_evidence, total, xor in rows:
        text = _SEPARATOR.join([_HASH_FORMAT, pack, rule_id, period, str(n), total, xor])
        summaries[(pack, rule_id, period)] = _Summary(
            pack_version=version or "",
            subjects=n,
            passed=passed,
            failed=failed,
            no_evidence=no_evidence,
            content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )
    return summaries


@dataclass(frozen=True)
class _Latest:
    id: int
    scope: str
    content_hash: str


def _latest_sets(session: Session, keys: Sequence[PartKey]) -> dict[PartKey, list[_Latest]]:
    """The latest set of each scope for each part, oldest first."""
    latest = (
        select(func.max(VerdictSet.id))
        .where(
            VerdictSet.pack.in_(sorted({k[0] for k in keys})),
            VerdictSet.rule_id.in_(sorted({k[1] for k in keys})),
            VerdictSet.period.in_(sorted({k[2] for k in keys})),
        )
        .group_by(VerdictSet.pack, VerdictSet.rule_id, VerdictSet.period, VerdictSet.scope)
    )
    rows = session.execute(
        select(
            VerdictSet.pack,
            VerdictSet.rule_id,
            VerdictSet.period,
            VerdictSet.id,
            VerdictSet.scope,
            VerdictSet.content_hash,
        )
        .where(VerdictSet.id.in_(latest))
        .order_by(VerdictSet.id)
    )
    found: dict[PartKey, list[_Latest]] = defaultdict(list)
    for pack, rule_id, period, set_id, set_scope, digest in rows:
        found[(pack, rule_id, period)].append(_Latest(set_id, set_scope, digest))
    return found


def _overlaps(session: Session, key: PartKey, part: pa.Table, newer: list[_Latest]) -> bool:
    """Whether a newer set of another scope holds one of the part's subjects: it would then
    win over the unchanged set, so the part has to be written again to be the latest."""
    subjects = part["subject_id"]
    for other in newer:
        data = session.scalar(select(VerdictSet.data).where(VerdictSet.id == other.id))
        held = _read(data or b"", set_id=other.id, key=key, columns=["subject_id"])
        value_set = held["subject_id"].combine_chunks()
        if pc.any(pc.is_in(subjects, value_set=value_set)).as_py():
            return True
    return False


def _split(
    table: pa.Table, wanted: set[PartKey], pool: ThreadPoolExecutor
) -> dict[PartKey, pa.Table]:
    """The rows of each wanted part, batch by batch (no copy of the whole table): the engine's
    batches each hold one rule, so most are taken whole; a batch of several periods (a monthly
    rule inspected for a quarter) is filtered once per period."""
    batches: dict[PartKey, list[pa.RecordBatch]] = {key: [] for key in wanted}
    if wanted:
        cut = pool.map(lambda batch: list(_batch_parts(batch, wanted)), table.to_batches())
        for parts in cut:
            for key, part in parts:
                batches[key].append(part)
    return {key: pa.Table.from_batches(found, _findings_schema()) for key, found in batches.items()}


def _batch_parts(
    batch: pa.RecordBatch, wanted: set[PartKey]
) -> Iterator[tuple[PartKey, pa.RecordBatch]]:
    columns = [batch.column(name) for name in _KEY]
    distinct = [pc.unique(column).to_pylist() for column in columns]
    if all(len(values) == 1 for values in distinct):
        key = (distinct[0][0], distinct[1][0], distinct[2][0])
        if key in wanted:
            yield key, batch
        return
    joined = pc.binary_join_element_wise(*(c.cast(pa.string()) for c in columns), _SEPARATOR)
    for value in pc.unique(joined).to_pylist():
        pack, rule_id, period = value.split(_SEPARATOR)
        if (pack, rule_id, period) in wanted:
            yield (pack, rule_id, period), batch.filter(pc.equal(joined, value))


def _with_first_period(
    session: Session, key: PartKey, part: pa.Table, latest: list[_Latest], *, inspected: str
) -> pa.Table:
    """The part with its ``first_period`` column: the period itself for periodic rules; for
    rules without a period, each subject's first period from the latest sets of the same pack
    and rule (any scope; the oldest of them wins), ``inspected`` for subjects new to them all."""
    period = key[2]
    if period:
        return part.append_column(FIRST_PERIOD, pa.repeat(pa.scalar(period), part.num_rows))
    previous = [
        _read(data, set_id=set_id, key=key, columns=["subject_id", FIRST_PERIOD])
        for set_id, data in session.execute(
            select(VerdictSet.id, VerdictSet.data)
            .where(VerdictSet.id.in_([s.id for s in latest]))
            .order_by(VerdictSet.id)
        )
    ]
    subjects = part["subject_id"]
    if previous:
        known = pa.concat_tables(previous)
        at = pc.index_in(subjects, value_set=known["subject_id"].combine_chunks())
        carried = pc.take(known[FIRST_PERIOD].cast(pa.string()), at)
        first_periods = pc.fill_null(carried, inspected)
    else:
        first_periods = pa.chunked_array([pa.repeat(pa.scalar(inspected), part.num_rows)])
    return part.append_column(FIRST_PERIOD, first_periods.cast(pa.string()))


def _parquet(part: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(
        part,
        sink,
        compression="zstd",
        # Mostly distinct values: trying a dictionary first only costs time.
        use_dictionary=[name for name in part.column_names if name not in _UNIQUE],
        write_statistics=[FIRST_PERIOD],
    )
    return bytes(sink.getvalue())


def _read(data: bytes, *, set_id: int, key: PartKey, columns: list[str] | None = None) -> pa.Table:
    """A set's findings; a blob that cannot be read names the set."""
    pack, rule_id, period = key
    try:
        table = pq.read_table(pa.BufferReader(data), columns=columns)
        missing = [n for n in columns or _stored_schema().names if n not in table.schema.names]
        if missing:
            raise ValueError(f"missing columns {', '.join(missing)}")
    except (pa.ArrowException, OSError, ValueError) as error:
        raise RunError(
            f"判定集 {set_id} 无法读取 / verdict set {set_id} cannot be read "
            f"(pack {pack}, rule {rule_id}, period {period or '-'}): {error}"
        ) from error
    return table


def _merge(newest_first: list[pa.Table]) -> pa.Table:
    """One part's sets of several scopes, newest first: each subject from the newest holding it."""
    if len(newest_first) == 1:
        return newest_first[0]
    kept = []
    seen: pa.Array | None = None
    for table in newest_first:
        subjects = table["subject_id"].combine_chunks().cast(pa.string())
        if seen is not None:
            table = table.filter(pc.invert(pc.is_in(subjects, value_set=seen)))
            seen = pa.concat_arrays([seen, pc.unique(subjects)])
        else:
            seen = pc.unique(subjects)
        kept.append(table.select(_stored_schema().names).cast(_stored_schema()))
    return pa.concat_tables(kept)
