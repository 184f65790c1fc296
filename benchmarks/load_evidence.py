"""Benchmark: the evidence store -> DuckDB evaluation tables, at 2M records, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/load_evidence.py [--records 2000000] [--db sqlite,postgres]

Generates a synthetic company (5,000 units, 100,000 people, one post each) and N evidence
records (60% meetings, 40% procurements) written straight into ``evidence_records`` in the
store's canonical form, then times ``evidence.loader.load_frames``:

- cold: an empty cache (first load on a machine, or after the type's fields changed),
- warm: nothing new in the store since the last load (the everyday inspection),
- incremental: after ``store.ingest`` of 1,000 changed and 1,000 new records.

PostgreSQL: a throwaway database on DUALDUTY_BENCH_PG_URL (default the local server), dropped
at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

import models
from dualduty.problems import Location
from evidence import frames, store
from evidence.loader import load_frames
from evidence.sources import TypedRecord
from evidence.types import EvidenceType
from models.session import make_engine

PG_ADMIN = os.environ.get(
    "DUALDUTY_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
MEETING = EvidenceType.model_validate(
    {
        "fields": {"unit": "unit", "kind": "str", "held_on": "date", "attendance": "int"},
        "key": ["unit", "kind", "held_on"],
    }
)
PROCUREMENT = EvidenceType.model_validate(
    {
        "fields": {
            "no": "str",
            "unit": "unit",
            "vendor": "str",
            "amount": "decimal",
            "method": "str",
            "signed_on": "date",
        },
        "key": ["no"],
    }
)
TYPES = {"meeting": MEETING, "procurement": PROCUREMENT}
console = Console()


def generate(con: duckdb.DuckDBPyConnection, records: int, units: int, people: int) -> None:
    """Org and evidence rows as DuckDB tables, in the exact shape of the store's tables."""
    meetings = records * 6 // 10
    con.execute(
        f"""CREATE TABLE units AS
        SELECT 'U' || i AS code, '单位' || i AS name,
               CASE WHEN i = 0 THEN 'company' WHEN i <= 50 THEN 'mine' ELSE 'branch' END AS kind,
               CASE WHEN i = 0 THEN NULL WHEN i <= 50 THEN 'U0' ELSE 'U' || (1 + i % 50) END AS parent_code
        FROM range({units}) t(i)"""
    )
    con.execute(
        f"""CREATE TABLE people AS
        SELECT 'P' || i AS code, '员工' || i AS name, 'U' || (i % {units}) AS unit_code,
               i % 3 = 0 AS party_member, '[]' AS tags, '{{}}' AS contacts
        FROM range({people}) t(i)"""
    )
    con.execute(
        f"""CREATE TABLE post_assignments AS
        SELECT i + 1 AS id, 'P' || i AS person_code, '党支部书记' AS post_name,
               'U' || (i % {units}) AS unit_code, DATE '2025-01-01' AS since, NULL::DATE AS until
        FROM range({units}) t(i)"""
    )
    common = """key_hash, 1 AS version, sha256(fields) AS content_hash, fields,
        '{}' AS raw, unit_code, 'bench' AS source_name, 'file' AS source_kind,
        NULL::VARCHAR AS location, NULL::VARCHAR AS submitted_by,
        '2026-01-01 00:00:00.000000' AS fetched_at, '2026-01-01 00:00:00.000000' AS ingested_at,
        true AS is_current, NULL::BIGINT AS supersedes_id, NULL::VARCHAR AS superseded_at"""
    con.execute(
        f"""CREATE TABLE evidence AS
        SELECT i + 1 AS id, 'meeting' AS type_name, natural_key, {common} FROM (
            SELECT i, unit_code, natural_key, sha256(natural_key) AS key_hash,
                   '{{"attendance":' || (3 + i % 40) || ',"held_on":"' || held_on
                   || '","kind":"支委会","unit":"' || unit_code || '"}}' AS fields
            FROM (SELECT i, 'U' || (i % {units}) AS unit_code,
                         strftime(DATE '2025-01-01' + (i // {units})::INTEGER, '%Y-%m-%d') AS held_on
                  FROM range({meetings}) t(i))
            , LATERAL (SELECT unit_code || '/支委会/' || held_on AS natural_key))
        UNION ALL
        SELECT i + 1 AS id, 'procurement' AS type_name, natural_key, {common} FROM (
            SELECT i, unit_code, natural_key, sha256(natural_key) AS key_hash,
                   '{{"amount":"' || (1000 + (i * 7919) % 3000000) || '","method":"公开招标","no":"'
                   || natural_key || '","signed_on":"' || strftime(DATE '2025-01-01' + (i % 365)::INTEGER, '%Y-%m-%d')
                   || '","unit":"' || unit_code || '","vendor":"V' || (i % 20000) || '"}}' AS fields
            FROM (SELECT i, 'U' || (i % {units}) AS unit_code, 'HT' || i AS natural_key
                  FROM range({meetings}, {records}) t(i)))
        ORDER BY id"""
    )


def without_indexes(engine: sa.Engine, fill: Callable[[], None]) -> None:
    """Bulk loads run several times faster with the store's indexes built afterwards."""
    indexes = list(models.Base.metadata.tables["evidence_records"].indexes)
    for index in indexes:
        index.drop(engine)
    fill()
    for index in indexes:
        index.create(engine)


def fill_postgres(engine: sa.Engine, con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "INSERT INTO post_types (name, name_en, single_holder, head_of_unit) VALUES ('党支部书记', '', true, false)"
        )
        for table, source in [
            ("units", "units"),
            ("people", "people"),
            ("post_assignments", "post_assignments"),
            ("evidence_records", "evidence"),
        ]:
            path = folder / f"{table}.csv"
            con.execute(f"COPY {source} TO '{path}' (HEADER false)")
            with path.open() as data:
                cursor.copy_expert(
                    f"COPY {table} ({', '.join(con.sql(f'SELECT * FROM {source} LIMIT 0').columns)}) FROM STDIN WITH (FORMAT csv)",
                    data,
                )
            path.unlink()
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('evidence_records', 'id'), (SELECT max(id) FROM evidence_records))"
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('post_assignments', 'id'), (SELECT max(id) FROM post_assignments))"
        )
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def fill_sqlite(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("INSERT INTO post_types VALUES ('党支部书记', '', 1, 0)")
        for table, source in [
            ("units", "units"),
            ("people", "people"),
            ("post_assignments", "post_assignments"),
            ("evidence_records", "evidence"),
        ]:
            names = con.sql(f"SELECT * FROM {source} LIMIT 0").columns
            insert = (
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            )
            result = con.execute(f"SELECT * FROM {source}")
            while rows := result.fetchmany(200_000):
                db.executemany(insert, rows)
        db.commit()
        db.execute("ANALYZE")
    finally:
        db.close()


def changes(count: int) -> dict[str, list[TypedRecord]]:
    """Changed attendance for existing meetings (new versions) and brand-new procurements."""
    changed = [
        TypedRecord(
            fields={
                "unit": f"U{i}",
                "kind": "支委会",
                "held_on": dt.date(2025, 1, 1),
                "attendance": 99,
            },
            raw={},
            location=Location(file="bench"),
        )
        for i in range(count)
    ]
    new = [
        TypedRecord(
            fields={
                "no": f"NEW{uuid.uuid4().hex[:12]}",
                "unit": f"U{i}",
                "vendor": "V1",
                "amount": Decimal("5000"),
                "method": "询比价",
                "signed_on": dt.date(2026, 3, 1),
            },
            raw={},
            location=Location(file="bench"),
        )
        for i in range(count)
    ]
    return {"meeting": changed, "procurement": new}


def measure(name: str, engine: sa.Engine, cache: Path, results: Table) -> None:
    def load(label: str) -> None:
        con = frames.connect()
        started = time.perf_counter()
        report = load_frames(engine, types=TYPES, con=con, cache_dir=cache)
        seconds = time.perf_counter() - started
        rows = sum(t.rows for t in report.types.values())
        added = sum(t.added_to_cache for t in report.types.values())
        results.add_row(
            name, label, f"{rows:,}", f"{added:,}", f"{report.org_seconds:.2f}", f"{seconds:.2f}"
        )
        con.close()
        with Session(engine) as session:
            current = sum(store.count_current(session, type_name=t) for t in TYPES)
        assert rows == current, (label, rows, current)

    load("cold")
    load("warm")
    with Session(engine) as session:
        for type_name, records in changes(1000).items():
            store.ingest(
                session,
                type_name=type_name,
                evidence_type=TYPES[type_name],
                records=records,
                source_name="bench",
                source_kind="file",
            )
        session.commit()
    load("incremental")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--units", type=int, default=5_000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite,postgres")
    args = parser.parse_args()
    results = Table(
        title=f"load_frames: {args.records:,} records, {args.people:,} people, {args.units:,} units ({os.cpu_count()} cores)"
    )
    for column in ("database", "load", "ev rows", "copied to cache", "org s", "total s"):
        results.add_column(
            column, justify="right" if column not in ("database", "load") else "left"
        )
    con = duckdb.connect()
    started = time.perf_counter()
    generate(con, args.records, args.units, args.people)
    console.print(f"generated in {time.perf_counter() - started:.1f}s")
    with tempfile.TemporaryDirectory(prefix="dualduty-bench-") as tmp:
        folder = Path(tmp)
        if "sqlite" in args.db:
            path = folder / "store.db"
            engine = make_engine(f"sqlite:///{path}")
            models.Base.metadata.create_all(engine)
            started = time.perf_counter()
            without_indexes(engine, lambda: fill_sqlite(path, con))
            console.print(f"sqlite filled in {time.perf_counter() - started:.1f}s")
            measure("sqlite", engine, folder / "cache", results)
            engine.dispose()
        if "postgres" in args.db:
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            database = f"dualduty_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
            try:
                engine = make_engine(
                    sa.make_url(PG_ADMIN)
                    .set(database=database)
                    .render_as_string(hide_password=False)
                )
                models.Base.metadata.create_all(engine)
                started = time.perf_counter()
                without_indexes(engine, lambda: fill_postgres(engine, con, folder))
                console.print(f"postgres filled in {time.perf_counter() - started:.1f}s")
                measure("postgres", engine, folder / "cache", results)
                engine.dispose()
            finally:
                with admin.connect() as connection:
                    connection.execute(
                        sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                    )
                admin.dispose()
    console.print(results)


if __name__ == "__main__":
    main()
