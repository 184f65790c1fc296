"""Evaluation-ready Parquet copies of the store, refreshed by record id.

Why: pulling 2M records' JSON out of SQLite or PostgreSQL and typing it costs 2.5-4 s on two
cores (docs/evidence.md has the figures); reading the same rows from local Parquet costs
0.2-0.3 s. Store rows are insert-only, and ingests of one type are serialised until commit
(``store._lock_type``), so "every row of the type with an id above the last one cached" is
exactly what is new. A changed record is a new row naming the row it supersedes, so the
current versions are the cached rows that no cached row supersedes.

Layout, under ``settings.data_dir/evidence-cache/<database>/``: ``<type>.json`` (manifest),
``<type>/<first id>-<last id>.parquet`` (parts), ``<type>.lock``, and ``.readers/`` (``Hold``:
what connections are reading). The cache is only ever a copy: deleting the folder costs one
full rebuild, never data. It is rebuilt by itself when the database behind it is not the one it
was built from, when the type's fields change, or when the parts were written in an older
layout (``CACHE_FORMAT``).

Evaluation reads the parts in place (``evidence.loader``: views, not copies), long after the
type's lock is released; compaction and rebuilds delete parts, and a rebuild may write a part
under an old name. So a reader first hard-links the parts it will read into a folder of its
own (``Hold.pin``, under the type's lock): whatever happens to the cache afterwards, its links
keep the very files it pinned until the connection is gone.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa
from pydantic import BaseModel, Field

from dualduty.settings import get_settings
from evidence.frames import DUCKDB_TYPES, connect
from evidence.store import fields_hash, unit_field
from evidence.transfer import query_into
from evidence.types import EvidenceType
from evidence.values import FieldType
from models.evidence import EvidenceRecord

COMPACT_AFTER = 8  # parts; then they are merged into one (superseded rows dropped)


# The parts' layout. Raise it when parts written by older code must not be read: format 2
# fixed fields named like the store's columns (``id`` held the record id in format 1).
CACHE_FORMAT = 2


class Manifest(BaseModel):
    type_name: str
    fields_hash: str
    format: int = 1
    last_id: int = 0
    last_check: str = ""  # content hash and ingest time of row ``last_id``: same database?
    parts: list[str] = Field(default_factory=list)
    rows: int = 0


class RefreshReport(BaseModel):
    type_name: str
    added: int  # rows copied from the store by this refresh
    rebuilt: bool  # the cache was (re)built from scratch
    rows: int  # rows in the cache, superseded versions included until compaction
    seconds: float


def cache_root(engine: sa.Engine, base: Path | None = None) -> Path:
    """The cache folder of one database (a hash of its URL without password)."""
    url = engine.url.render_as_string(hide_password=True)
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return (base or get_settings().data_dir / "evidence-cache") / digest


@contextmanager
def locked(root: Path, type_name: str) -> Iterator[None]:
    """One refresher or reader of a type's cache at a time, across processes."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / f"{type_name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


READERS = ".readers"  # not an evidence type name (those are lower_snake_case)


class Hold:
    """One connection's folder under ``<cache>/.readers/``: hard links to the parts its views
    read (``pin``), and DuckDB's spill folder (``spill``).

    Alive while the connection object is: removed when it is garbage-collected or the process
    exits (``weakref.finalize``), or, after a crash, by the next ``Hold`` made in that cache. A
    flock on ``<name>.lock`` beside the folder says the owner is alive; the kernel drops it when
    the process dies, however it dies.
    """

    def __init__(self, root: Path) -> None:
        readers = root / READERS
        readers.mkdir(parents=True, exist_ok=True)
        _sweep(readers)
        # The lock first: a sweeper that sees the lock file unlocked in the meantime deletes it,
        # which leaves this folder unlisted (never swept), not half-deleted.
        handle, lock = _locked_new(readers)
        self.folder = lock.with_suffix("")
        self.folder.mkdir(exist_ok=True)
        self.spill = self.folder / "spill"
        self._pins = itertools.count()
        weakref.finalize(self, _remove, self.folder, lock, handle)

    def pin(self, root: Path, manifest: Manifest) -> list[str] | None:
        """Hard links to ``manifest``'s parts in the cache at ``root`` (call it holding the
        type's lock). ``None`` when the file system refuses (no hard links, or ``root`` is on
        another one than the hold): then read the parts before releasing the lock."""
        folder = self.folder / f"{next(self._pins)}-{manifest.type_name}"
        folder.mkdir()
        links = []
        try:
            for part in manifest.parts:
                link = folder / part
                os.link(root / manifest.type_name / part, link)
                links.append(str(link))
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
            return None
        return links


_HOLDS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Hold] = weakref.WeakKeyDictionary()


def hold(con: duckdb.DuckDBPyConnection, root: Path) -> tuple[Hold, bool]:
    """``con``'s ``Hold`` (made in the cache at ``root`` on first use, which the ``bool`` says);
    it lives as long as ``con``."""
    held = _HOLDS.get(con)
    if held is not None:
        return held, False
    held = _HOLDS[con] = Hold(root)
    return held, True


def _locked_new(readers: Path) -> tuple[int, Path]:
    handle, name = tempfile.mkstemp(dir=readers, prefix=f"{os.getpid()}-", suffix=".lock")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle, Path(name)


def _remove(folder: Path, lock: Path, handle: int) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    lock.unlink(missing_ok=True)
    os.close(handle)


def _sweep(readers: Path) -> None:
    """Remove the folders of holders that died without cleaning up."""
    for lock in readers.glob("*.lock"):
        try:
            handle = lock.open("rb")
        except FileNotFoundError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # alive
            shutil.rmtree(lock.with_suffix(""), ignore_errors=True)
            lock.unlink(missing_ok=True)


def _read_manifest(root: Path, type_name: str) -> Manifest | None:
    path = root / f"{type_name}.json"
    if not path.exists():
        return None
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None  # a damaged manifest only costs a rebuild


def _write_atomic(path: Path, data: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


def _row_check(connection: sa.Connection, record_id: int, type_name: str) -> str:
    row = connection.execute(
        sa.select(EvidenceRecord.content_hash, EvidenceRecord.ingested_at).where(
            EvidenceRecord.id == record_id, EvidenceRecord.type_name == type_name
        )
    ).first()
    return "" if row is None else f"{row.content_hash}@{row.ingested_at.isoformat()}"


def _last_id(connection: sa.Connection, type_name: str) -> int | None:
    """The type's highest record id, read from the end of the (type_name, id) index.

    Not ``max(id) WHERE type_name = ?``: PostgreSQL answers that by walking the primary key
    backwards and filtering, betting the type's rows are spread over all ids; when a type was
    ingested in one early batch it reads nearly the whole table (340 ms for 2M rows, per type and
    load). A range on ``type_name`` keeps both ORDER BY columns open, so only the composite index
    can give the order, and one index entry answers (0.05 ms).
    """
    record = EvidenceRecord
    return connection.scalar(
        sa.select(record.id)
        .where(record.type_name >= type_name, record.type_name <= type_name)
        .order_by(record.type_name.desc(), record.id.desc())
        .limit(1)
    )


def json_structure(fields: dict[str, FieldType]) -> str:
    """The ``json_transform`` structure that types the canonical JSON of ``fields``."""
    structure: dict[str, Any] = {
        name: ["VARCHAR"] if t == FieldType.list else DUCKDB_TYPES[t] for name, t in fields.items()
    }
    return json.dumps(structure)


def part_paths(root: Path, manifest: Manifest) -> list[str]:
    return [str(root / manifest.type_name / part) for part in manifest.parts]


def refresh(
    engine: sa.Engine, *, type_name: str, evidence_type: EvidenceType, root: Path
) -> tuple[Manifest, RefreshReport]:
    """Bring a type's cache up to date with the store. Call it holding ``locked``."""
    started = time.perf_counter()
    shape = fields_hash(evidence_type)
    manifest = _read_manifest(root, type_name)
    with engine.connect() as connection:
        valid = (
            manifest is not None
            and manifest.format == CACHE_FORMAT
            and manifest.fields_hash == shape
            and (
                manifest.last_id == 0
                or _row_check(connection, manifest.last_id, type_name) == manifest.last_check
            )
        )
        rebuilt = not valid
        if manifest is None or rebuilt:
            _clear(root, type_name)
            manifest = Manifest(type_name=type_name, fields_hash=shape, format=CACHE_FORMAT)
        last_id = _last_id(connection, type_name)
        added = 0
        if last_id is not None and last_id > manifest.last_id:
            folder = root / type_name
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{manifest.last_id + 1:012d}-{last_id:012d}.parquet"
            con = connect()
            try:
                _delta_into(con, engine, type_name, manifest.last_id, last_id, folder)
                added = _write_part(con, evidence_type, folder / name)
            finally:
                con.close()
            if added:
                manifest.parts.append(name)
                manifest.rows += added
            manifest.last_id = last_id
            manifest.last_check = _row_check(connection, last_id, type_name)
    if len(manifest.parts) > COMPACT_AFTER:
        _compact(root, manifest, evidence_type)
    _write_atomic(root / f"{type_name}.json", manifest.model_dump_json())
    report = RefreshReport(
        type_name=type_name,
        added=added,
        rebuilt=rebuilt,
        rows=manifest.rows,
        seconds=round(time.perf_counter() - started, 3),
    )
    return manifest, report


def _clear(root: Path, type_name: str) -> None:
    folder = root / type_name
    if folder.exists():
        for part in folder.iterdir():
            part.unlink()


def _delta_into(
    con: duckdb.DuckDBPyConnection,
    engine: sa.Engine,
    type_name: str,
    after_id: int,
    up_to_id: int,
    folder: Path,
) -> None:
    """Load the store rows ``after_id < id <= up_to_id`` of a type into DuckDB: ``delta``
    (``_id``, ``_key``, ``_fields`` JSON) and ``links`` (``_id``, ``_supersedes``: the few rows
    that supersede another).

    The store's columns take names with a leading underscore, which no declared field may have
    (``evidence.types.RESERVED_PREFIX``): unpacking the fields next to them can then never
    shadow or collide with them, whatever the fields are called (``id``, ``fields`` …).

    Three columns, not five: with SQLite each extra column costs about a second per 2M rows
    on the way through Python, and the unit is one of the fields anyway.
    """
    where = "type_name = ? AND id > ? AND id <= ?"
    params = (type_name, after_id, up_to_id)
    query_into(
        con,
        engine,
        table="delta",
        sql=f"SELECT id, natural_key, fields FROM evidence_records WHERE {where}",
        params=params,
        columns={"_id": "BIGINT", "_key": "VARCHAR", "_fields": "VARCHAR"},
        work_dir=folder,
    )
    query_into(
        con,
        engine,
        table="links",
        sql=f"SELECT id, supersedes_id FROM evidence_records WHERE {where} "
        "AND supersedes_id IS NOT NULL",
        params=params,
        columns={"_id": "BIGINT", "_supersedes": "BIGINT"},
        work_dir=folder,
    )


def _write_part(con: duckdb.DuckDBPyConnection, evidence_type: EvidenceType, path: Path) -> int:
    count = con.execute("SELECT count(*) FROM delta").fetchall()[0][0]
    if not count:
        return 0
    names = ", ".join(f'd."{n}"' for n in evidence_type.fields)
    unit = unit_field(evidence_type)
    structure = json_structure(dict(evidence_type.fields)).replace("'", "''")
    tmp = path.with_suffix(".tmp")
    # Only ``_``-prefixed names besides the declared fields, so none can be shadowed.
    con.execute(
        f"""COPY (
            SELECT d._id, d._key, l._supersedes,
                   {f'd."{unit}"' if unit else "NULL::VARCHAR"} AS _unit, {names}
            FROM (SELECT _id, _key, unnest(json_transform(_fields, '{structure}')) FROM delta) d
            LEFT JOIN links l ON l._id = d._id
        ) TO '{tmp}' (FORMAT parquet)"""
    )
    os.replace(tmp, path)
    return int(count)


def _compact(root: Path, manifest: Manifest, evidence_type: EvidenceType) -> None:
    """Merge the parts into one, keeping only current versions."""
    folder = root / manifest.type_name
    paths = part_paths(root, manifest)
    name = f"{1:012d}-{manifest.last_id:012d}.parquet"
    tmp = folder / (name + ".tmp")
    con = connect()
    try:
        con.execute(
            f"""COPY (
                SELECT * FROM read_parquet({paths!r}) WHERE _id NOT IN (
                    SELECT _supersedes FROM read_parquet({paths!r}) WHERE _supersedes IS NOT NULL)
            ) TO '{tmp}' (FORMAT parquet)"""
        )
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{tmp}')").fetchall()[0][0]
    finally:
        con.close()
    os.replace(tmp, folder / name)
    for old in manifest.parts:
        if old != name:
            (folder / old).unlink(missing_ok=True)
    manifest.parts = [name]
    manifest.rows = int(rows)
