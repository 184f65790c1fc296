"""The evaluation tables: the contract between the evidence store and the rule engine.

The engine evaluates rules as SQL over an in-process DuckDB connection holding:

- ``org_units(code, name, kind, parent_code)``
- ``org_people(code, name, unit_code, party_member, tags VARCHAR[])``
- ``org_posts(person_code, post_name, unit_code, since DATE, until DATE)`` (until NULL = current)
- one table per evidence type, ``ev_<type>(_id BIGINT, _key VARCHAR, <declared fields>)``:
  ``_id`` is the evidence store's record id (cited by findings), ``_key`` the natural key.
  ``load_frames`` makes these views over the evidence cache's Parquet files (same columns and
  types), so the records stay on disk instead of in the process (``evidence.memory``).

Whoever fills the connection (the store loader for inspections, fixture files for
``rules test``, a benchmark generator) goes through this module, so the shapes stay one thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import pyarrow as pa

from evidence.values import FieldType

DUCKDB_TYPES: dict[FieldType, str] = {
    FieldType.str: "VARCHAR",
    FieldType.unit: "VARCHAR",
    FieldType.person: "VARCHAR",
    FieldType.int: "BIGINT",
    FieldType.decimal: "DECIMAL(18,2)",
    FieldType.float: "DOUBLE",
    FieldType.bool: "BOOLEAN",
    FieldType.date: "DATE",
    FieldType.datetime: "TIMESTAMP",
    FieldType.list: "VARCHAR[]",
}

ARROW_TYPES: dict[FieldType, pa.DataType] = {
    FieldType.str: pa.string(),
    FieldType.unit: pa.string(),
    FieldType.person: pa.string(),
    FieldType.int: pa.int64(),
    FieldType.decimal: pa.decimal128(18, 2),
    FieldType.float: pa.float64(),
    FieldType.bool: pa.bool_(),
    FieldType.date: pa.date32(),
    FieldType.datetime: pa.timestamp("us"),
    FieldType.list: pa.list_(pa.string()),
}

ORG_TABLES: dict[str, dict[str, str]] = {
    "org_units": {
        "code": "VARCHAR",
        "name": "VARCHAR",
        "kind": "VARCHAR",
        "parent_code": "VARCHAR",
    },
    "org_people": {
        "code": "VARCHAR",
        "name": "VARCHAR",
        "unit_code": "VARCHAR",
        "party_member": "BOOLEAN",
        "tags": "VARCHAR[]",
    },
    "org_posts": {
        "person_code": "VARCHAR",
        "post_name": "VARCHAR",
        "unit_code": "VARCHAR",
        "since": "DATE",
        "until": "DATE",
    },
}


def evidence_table(type_name: str) -> str:
    return f"ev_{type_name}"


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never downloads extensions (there is no internet here)."""
    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute("SET TimeZone = 'UTC'")
    return con


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def create_org_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table, columns in ORG_TABLES.items():
        body = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns.items())
        con.execute(f"CREATE OR REPLACE TABLE {table} ({body})")


def create_evidence_table(
    con: duckdb.DuckDBPyConnection, type_name: str, fields: Mapping[str, FieldType]
) -> None:
    columns = ['"_id" BIGINT', '"_key" VARCHAR'] + [
        f'"{n}" {DUCKDB_TYPES[t]}' for n, t in fields.items()
    ]
    con.execute(f"CREATE OR REPLACE TABLE {evidence_table(type_name)} ({', '.join(columns)})")


def arrow_schema(fields: Mapping[str, FieldType]) -> pa.Schema:
    return pa.schema(
        [pa.field("_id", pa.int64()), pa.field("_key", pa.string())]
        + [pa.field(name, ARROW_TYPES[t]) for name, t in fields.items()]
    )


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    """Append an Arrow table whose columns match ``table`` by name."""
    con.register("_incoming", data)
    try:
        names = ", ".join(f'"{n}"' for n in data.column_names)
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _incoming")
    finally:
        con.unregister("_incoming")


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    type_name: str,
    fields: Mapping[str, FieldType],
    rows: Iterable[Mapping[str, Any]],
) -> None:
    """Append already-typed rows (dicts with ``_id``, ``_key`` and the fields) to an evidence table.

    For fixtures and small sets; the store loader moves large sets as Arrow batches instead.
    """
    schema = arrow_schema(fields)
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for row in rows:
        for name in schema.names:
            columns[name].append(row.get(name))
    insert_arrow(con, evidence_table(type_name), pa.table(columns, schema=schema))
