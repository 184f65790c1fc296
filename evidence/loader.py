"""Filling the evaluation tables (``evidence.frames``) from the store and the organisation.

``load_frames`` is what an inspection calls before evaluating: org_* tables from the org
tables, one ev_<type> per evidence type with the current version of every record. The
evidence comes through the columnar cache (``evidence.cache``), so a load costs copying
whatever the store gained since the last load into it. The ev_<type> are views over the cache's
Parquet parts, not copies: 2M records took 238 MiB as DuckDB tables, and the rules read the
Parquet files about as fast (docs/evidence.md, "Memory").
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import duckdb
import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from dualduty.errors import NotFoundError
from dualduty.settings import get_settings
from evidence.cache import (
    Hold,
    Manifest,
    RefreshReport,
    cache_root,
    hold,
    locked,
    part_paths,
    refresh,
)
from evidence.frames import (
    DUCKDB_TYPES,
    ORG_TABLES,
    create_evidence_table,
    create_org_tables,
    evidence_table,
    sql_string,
)
from evidence.memory import limit_memory
from evidence.store import check_type_name, unit_field
from evidence.transfer import query_into
from evidence.types import EvidenceType
from evidence.values import FieldType


class TypeLoad(BaseModel):
    rows: int
    added_to_cache: int
    cache_rebuilt: bool
    seconds: float


class LoadReport(BaseModel):
    """Rows per table and where the time went (printed by the inspect command)."""

    org_rows: dict[str, int] = Field(default_factory=dict)
    types: dict[str, TypeLoad] = Field(default_factory=dict)
    unit_scope: str | None = None
    org_seconds: float = 0.0
    seconds: float = 0.0


def load_frames(
    source: sa.Engine | Session,
    *,
    types: Mapping[str, EvidenceType],
    con: duckdb.DuckDBPyConnection,
    unit_scope: str | None = None,
    cache_dir: Path | None = None,
) -> LoadReport:
    """Create and fill org_* tables and ev_<type> views on ``con`` from committed store
    contents.

    ``unit_scope`` keeps only evidence of that unit and the units below it (by the type's
    first ``unit`` field, else by the unit of its first ``person`` field; types with neither
    are kept whole). The org tables are always whole: bearers and superiors may sit above
    the scope. Reads go through new connections, so a session's uncommitted records are not
    seen: commit the gathering first.

    The views read the cache's parts through hard links that live as long as ``con``
    (``evidence.cache.Hold``), so later refreshes and compactions cannot change what they
    read. Where the file system has no hard links, the parts are copied into tables instead.
    The first load on a connection also caps DuckDB's memory on it at
    ``settings.evaluation_memory_mib`` (``evidence.memory``, spilling into the hold's
    folder): load into a fresh connection from ``frames.connect()``.
    """
    started = time.perf_counter()
    engine = source.get_bind() if isinstance(source, Session) else source
    assert isinstance(engine, sa.Engine)
    report = LoadReport(unit_scope=unit_scope)
    root = cache_root(engine, cache_dir)
    held = prepare(con, root)
    _load_org(engine, con, report)
    report.org_seconds = round(time.perf_counter() - started, 3)
    if unit_scope is not None:
        _scope_units(con, unit_scope)
    for type_name, evidence_type in types.items():
        check_type_name(type_name)
        report.types[type_name] = _load_type(
            engine, con, root, held, type_name, evidence_type, scoped=unit_scope is not None
        )
    report.seconds = round(time.perf_counter() - started, 3)
    return report


# Every org column crosses as text (portable), then is typed in DuckDB.
_ORG_SQL = {
    "org_units": "SELECT code, name, kind, parent_code FROM units",
    "org_people": "SELECT code, name, unit_code, CAST(party_member AS VARCHAR(5)), "
    "CAST(tags AS TEXT) FROM people",
    "org_posts": "SELECT person_code, post_name, unit_code, CAST(since AS VARCHAR(10)), "
    "CAST(until AS VARCHAR(10)) FROM post_assignments",
}


def prepare(con: duckdb.DuckDBPyConnection, root: Path) -> Hold:
    """``con``'s hold on the cache at ``root``; on the first call for ``con``, its memory cap."""
    held, new = hold(con, root)
    if new:
        limit_memory(con, get_settings().evaluation_memory_mib, held.spill)
    return held


def refresh_cache(
    engine: sa.Engine, *, types: Mapping[str, EvidenceType], cache_dir: Path | None = None
) -> list[RefreshReport]:
    """Copy what the store gained into the columnar cache now (after gathering commits), so
    the next ``load_frames`` only reads Parquet. Optional: ``load_frames`` refreshes too."""
    root = cache_root(engine, cache_dir)
    reports = []
    for type_name, evidence_type in types.items():
        check_type_name(type_name)
        with locked(root, type_name):
            _, report = refresh(engine, type_name=type_name, evidence_type=evidence_type, root=root)
        reports.append(report)
    return reports


def _load_org(engine: sa.Engine, con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    create_org_tables(con)
    for table, sql in _ORG_SQL.items():
        columns = ORG_TABLES[table]
        staging = f"_{table}"
        query_into(con, engine, table=staging, sql=sql, columns=dict.fromkeys(columns, "VARCHAR"))
        typed = []
        for name, sql_type in columns.items():
            if sql_type == "VARCHAR[]":
                typed.append(f'COALESCE(json_transform("{name}", \'["VARCHAR"]\'), [])')
            elif sql_type == "BOOLEAN":
                typed.append(f"\"{name}\" IN ('1', 'true', 't')")
            else:
                typed.append(f'CAST("{name}" AS {sql_type})')
        con.execute(f"INSERT INTO {table} SELECT {', '.join(typed)} FROM {staging}")
        report.org_rows[table] = con.execute(f"SELECT count(*) FROM {staging}").fetchall()[0][0]
        con.execute(f"DROP TABLE {staging}")


def _scope_units(con: duckdb.DuckDBPyConnection, unit_scope: str) -> None:
    found = con.execute("SELECT count(*) FROM org_units WHERE code = ?", [unit_scope]).fetchall()
    if not found[0][0]:
        raise NotFoundError(
            f"单位 {unit_scope} 不存在 / no unit {unit_scope!r}",
            hint="the scope is a unit code from the organisation (dualduty org list)",
        )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _scope AS
        WITH RECURSIVE sub(code) AS (
            SELECT ?::VARCHAR
            UNION SELECT u.code FROM org_units u JOIN sub ON u.parent_code = sub.code
        ) SELECT code FROM sub""",
        [unit_scope],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _scope_people AS "
        "SELECT code FROM org_people WHERE unit_code IN (SELECT code FROM _scope)"
    )


def _load_type(
    engine: sa.Engine,
    con: duckdb.DuckDBPyConnection,
    root: Path,
    held: Hold,
    type_name: str,
    evidence_type: EvidenceType,
    *,
    scoped: bool,
) -> TypeLoad:
    started = time.perf_counter()
    with locked(root, type_name):
        manifest, refreshed = refresh(
            engine, type_name=type_name, evidence_type=evidence_type, root=root
        )
        rows = read_cached(con, held, root, manifest, evidence_type, scoped=scoped)
    return TypeLoad(
        rows=rows,
        added_to_cache=refreshed.added,
        cache_rebuilt=refreshed.rebuilt,
        seconds=round(time.perf_counter() - started, 3),
    )


def read_cached(
    con: duckdb.DuckDBPyConnection,
    held: Hold,
    root: Path,
    manifest: Manifest,
    evidence_type: EvidenceType,
    *,
    scoped: bool = False,
) -> int:
    """Make ev_<type> on ``con`` the current versions in the cache parts of ``manifest``: a
    view over links pinned by ``held``, or a copy where the file system has no hard links.
    Call it holding the type's lock (``evidence.cache.locked``). Returns the rows."""
    type_name = manifest.type_name
    table = evidence_table(type_name)
    _drop(con, table)
    if not manifest.parts:
        create_evidence_table(con, type_name, evidence_type.fields)
        return 0
    pinned = held.pin(root, manifest)
    if pinned is not None:
        select = current_sql(con, type_name, evidence_type, pinned, scoped)
        con.execute(f"CREATE VIEW {table} AS {select}")
    else:
        paths = part_paths(root, manifest)
        create_evidence_table(con, type_name, evidence_type.fields)
        con.execute(
            f"INSERT INTO {table} " + current_sql(con, type_name, evidence_type, paths, scoped)
        )
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def current_sql(
    con: duckdb.DuckDBPyConnection,
    type_name: str,
    evidence_type: EvidenceType,
    paths: list[str],
    scoped: bool,
) -> str:
    """A SELECT of the current versions in the cache parts ``paths``, in the columns and types
    of ``frames.create_evidence_table`` (casts to the same type cost nothing).

    The ids of superseded rows (few: compaction drops them) are gathered once into a temporary
    table, so that the views do not scan the parts' ``_supersedes`` column at every read.
    """
    files = "[" + ", ".join(sql_string(path) for path in paths) + "]"
    superseded = f"_superseded_{type_name}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {superseded} AS SELECT DISTINCT _supersedes AS _id "
        f"FROM read_parquet({files}) WHERE _supersedes IS NOT NULL"
    )
    conditions = []
    if con.execute(f"SELECT count(*) FROM {superseded}").fetchall()[0][0]:
        conditions.append(f"_id NOT IN (SELECT _id FROM {superseded})")
    else:
        con.execute(f"DROP TABLE {superseded}")
    if scoped:
        conditions.append(_scope_condition(evidence_type))
    columns = ["CAST(_id AS BIGINT) AS _id", "CAST(_key AS VARCHAR) AS _key"] + [
        f'CAST("{name}" AS {DUCKDB_TYPES[field_type]}) AS "{name}"'
        for name, field_type in evidence_type.fields.items()
    ]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {', '.join(columns)} FROM read_parquet({files}){where}"


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table or view ``name`` of the main schema, if there is one."""
    found = con.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name = ? AND table_type IN ('BASE TABLE', 'VIEW')",
        [name],
    ).fetchall()
    if found:
        con.execute(f"DROP {'VIEW' if found[0][0] == 'VIEW' else 'TABLE'} {name}")


def _scope_condition(evidence_type: EvidenceType) -> str:
    if unit_field(evidence_type) is not None:
        return "_unit IN (SELECT code FROM _scope)"
    person = next((n for n, t in evidence_type.fields.items() if t == FieldType.person), None)
    if person is not None:
        return f'"{person}" IN (SELECT code FROM _scope_people)'
    return "TRUE"
