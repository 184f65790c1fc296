"""Filling the evaluation tables (``evidence.frames``) from the store and the organisation.

``load_frames`` is what an inspection calls before evaluating: org_* tables from the org
tables, one ev_<type> table per evidence type with the current version of every record. The
evidence comes through the columnar cache (``evidence.cache``), so a load costs a Parquet
read plus copying whatever the store gained since the last load.
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
from evidence.cache import Manifest, RefreshReport, cache_root, locked, part_paths, refresh
from evidence.frames import ORG_TABLES, create_evidence_table, create_org_tables, evidence_table
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
    """Create and fill org_* and ev_<type> tables on ``con`` from committed store contents.

    ``unit_scope`` keeps only evidence of that unit and the units below it (by the type's
    first ``unit`` field, else by the unit of its first ``person`` field; types with neither
    are kept whole). The org tables are always whole: bearers and superiors may sit above
    the scope. Reads go through new connections, so a session's uncommitted records are not
    seen: commit the gathering first.
    """
    started = time.perf_counter()
    engine = source.get_bind() if isinstance(source, Session) else source
    assert isinstance(engine, sa.Engine)
    report = LoadReport(unit_scope=unit_scope)
    _load_org(engine, con, report)
    report.org_seconds = round(time.perf_counter() - started, 3)
    if unit_scope is not None:
        _scope_units(con, unit_scope)
    root = cache_root(engine, cache_dir)
    for type_name, evidence_type in types.items():
        check_type_name(type_name)
        report.types[type_name] = _load_type(
            engine, con, root, type_name, evidence_type, scoped=unit_scope is not None
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


def _load_type(
    engine: sa.Engine,
    con: duckdb.DuckDBPyConnection,
    root: Path,
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
        rows = read_cached(con, root, manifest, evidence_type, scoped=scoped)
    return TypeLoad(
        rows=rows,
        added_to_cache=refreshed.added,
        cache_rebuilt=refreshed.rebuilt,
        seconds=round(time.perf_counter() - started, 3),
    )


def read_cached(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    manifest: Manifest,
    evidence_type: EvidenceType,
    *,
    scoped: bool = False,
) -> int:
    """Fill ev_<type> on ``con`` with the current versions in the cache parts of ``manifest``.
    Call it holding the type's lock (``evidence.cache.locked``). Returns the rows."""
    table = evidence_table(manifest.type_name)
    create_evidence_table(con, manifest.type_name, evidence_type.fields)
    paths = part_paths(root, manifest)
    if paths:
        names = ", ".join(f'"{n}"' for n in evidence_type.fields)
        where = (
            f"_id NOT IN (SELECT _supersedes FROM read_parquet({paths!r}) "
            "WHERE _supersedes IS NOT NULL)"
        )
        if scoped:
            where += " AND " + _scope_condition(evidence_type)
        con.execute(
            f"INSERT INTO {table} (_id, _key, {names}) "
            f"SELECT _id, _key, {names} FROM read_parquet({paths!r}) WHERE {where}"
        )
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _scope_condition(evidence_type: EvidenceType) -> str:
    if unit_field(evidence_type) is not None:
        return "_unit IN (SELECT code FROM _scope)"
    person = next((n for n, t in evidence_type.fields.items() if t == FieldType.person), None)
    if person is not None:
        return (
            f'"{person}" IN (SELECT p.code FROM org_people p '
            "WHERE p.unit_code IN (SELECT code FROM _scope))"
        )
    return "TRUE"
