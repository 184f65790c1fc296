"""The systems of record for the benchmark: a SQLite file and a throwaway PostgreSQL database,
filled from the generated DuckDB tables by each one's fastest bulk path.

Rows go into ``evidence_records`` exactly as ``evidence.store.ingest`` would write them (the
canonical JSON of the typed fields with sorted keys, decimals without trailing zeros, sha256
content and key hashes, version 1, current), keeping the generated ``_id`` as the record id so
findings cite the same ids on every path; ``check_canonical`` proves the equivalence on a sample
through the store's own functions. Filling is setup, reported but never part of a timed figure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa

import models
from benchmarks.load_evidence import without_indexes
from evidence import store
from evidence.frames import evidence_table
from evidence.values import FieldType
from models.org import PostType
from models.session import make_engine
from rules.compiler import CompiledPack

INGESTED = "2026-01-01 00:00:00.000000"
POSTS = ["党支部书记", "部门负责人", "矿长"]

# Store tables filled by the benchmark, in foreign-key order, with the DuckDB query for each.
ORG_SQL = {
    "units": "SELECT code, name, kind, parent_code FROM org_units",
    "people": "SELECT code, name, unit_code, party_member, to_json(tags) AS tags, "
    "'{}' AS contacts FROM org_people",
    "post_assignments": "SELECT row_number() OVER (ORDER BY unit_code, post_name, since) AS id, "
    "person_code, post_name, unit_code, since, until FROM org_posts",
}


def _json_value(name: str, field_type: FieldType) -> str:
    """SQL for the canonical JSON value of a field (``evidence.store.canonical_value``)."""
    column = f'"{name}"'
    if field_type in {FieldType.decimal, FieldType.float}:
        # DECIMAL(18,2) prints 1200000.00; the store writes 1200000 (no exponent, no zeros)
        return f"rtrim(rtrim(CAST({column} AS VARCHAR), '0'), '.')"
    return column


def records_sql(pack: CompiledPack, type_name: str) -> str:
    """The ``evidence_records`` rows of one type, in the store's column order."""
    fields = pack.evidence_type(type_name).fields
    members = ", ".join(f"{name} := {_json_value(name, fields[name])}" for name in sorted(fields))
    unit = store.unit_field(pack.evidence_type(type_name))
    unit_sql = f'"{unit}"' if unit else "NULL::VARCHAR"
    return f"""
    SELECT _id AS id, '{type_name}' AS type_name, _key AS natural_key,
        sha256(_key) AS key_hash, 1 AS version, sha256(f) AS content_hash, f AS fields,
        '{{}}' AS raw, unit_code, 'benchmark' AS source_name, 'file' AS source_kind,
        NULL::VARCHAR AS location, NULL::VARCHAR AS submitted_by,
        '{INGESTED}' AS fetched_at, '{INGESTED}' AS ingested_at, TRUE AS is_current,
        NULL::BIGINT AS supersedes_id, NULL::VARCHAR AS superseded_at
    FROM (SELECT _id, _key, {unit_sql} AS unit_code, to_json(struct_pack({members}))::VARCHAR AS f
          FROM {evidence_table(type_name)})"""


def check_canonical(con: duckdb.DuckDBPyConnection, pack: CompiledPack, sample: int = 200) -> int:
    """Compare generated store rows with what ``evidence.store`` computes for the same typed
    values; raises on the first difference. Returns the rows compared."""
    compared = 0
    for type_name, etype in pack.pack.evidence.items():
        names = list(etype.fields)
        typed = con.execute(
            f"SELECT _id, {', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)} "
            f"FROM {evidence_table(type_name)} USING SAMPLE {sample} ROWS (reservoir, 7)"
        ).fetchall()
        if not typed:
            continue
        ids = [row[0] for row in typed]
        generated = {
            row[0]: row[1:]
            for row in con.execute(
                f"SELECT id, natural_key, key_hash, content_hash, fields, unit_code "
                f"FROM ({records_sql(pack, type_name)}) WHERE id IN ({', '.join(map(str, ids))})"
            ).fetchall()
        }
        for row in typed:
            values: dict[str, Any] = dict(zip(names, row[1:], strict=True))
            canonical = store.canonical_fields(values, etype)
            key = store.natural_key(canonical, etype)
            unit = store.unit_field(etype)
            expected = (
                key,
                hashlib.sha256(key.encode()).hexdigest(),
                store.content_hash(canonical),
                json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                canonical.get(unit) if unit else None,
            )
            if generated[row[0]] != expected:
                raise AssertionError(
                    f"{type_name} #{row[0]}: generated {generated[row[0]]} != store {expected}"
                )
            compared += 1
    return compared


def create_schema(engine: sa.Engine) -> None:
    models.Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(PostType),
            [
                {"name": name, "name_en": "", "single_holder": True, "head_of_unit": True}
                for name in POSTS
            ],
        )


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return list(con.sql(f"SELECT * FROM ({sql}) LIMIT 0").columns)


def _tables(pack: CompiledPack) -> Iterator[tuple[str, str]]:
    yield from ORG_SQL.items()
    for type_name in pack.pack.evidence:
        yield "evidence_records", records_sql(pack, type_name)


def fill_sqlite(path: Path, con: duckdb.DuckDBPyConnection, pack: CompiledPack) -> None:
    """``executemany`` in batches of 100,000 rows on one transaction, journal off."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA synchronous=OFF")
        for table, sql in _tables(pack):
            names = _columns(con, sql)
            insert = (
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            )
            result = con.execute(sql)
            while batch := result.fetchmany(100_000):
                db.executemany(insert, batch)
        db.commit()
        db.execute("ANALYZE")
        db.commit()
    finally:
        db.close()


def fill_postgres(
    engine: sa.Engine, con: duckdb.DuckDBPyConnection, pack: CompiledPack, folder: Path
) -> None:
    """``COPY … FROM STDIN`` of a CSV that DuckDB writes, table by table, then ANALYZE."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for index, (table, sql) in enumerate(_tables(pack)):
            path = folder / f"{table}-{index}.csv"
            con.execute(f"COPY ({sql}) TO '{path}' (HEADER false)")
            names = ", ".join(_columns(con, sql))
            with path.open() as data:
                cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)", data)
            path.unlink()
        for table in ("evidence_records", "post_assignments"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of ``admin_url``, dropped afterwards whatever happens."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"dualduty_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def open_store(url: str) -> sa.Engine:
    engine = make_engine(url)
    create_schema(engine)
    return engine


def fill(
    engine: sa.Engine, con: duckdb.DuckDBPyConnection, pack: CompiledPack, folder: Path
) -> None:
    """The store filled by its fastest path, with evidence_records' indexes built afterwards."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        assert database is not None
        without_indexes(engine, lambda: fill_sqlite(Path(database), con, pack))
    else:
        without_indexes(engine, lambda: fill_postgres(engine, con, pack, folder))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
