"""query_into: rows from the store's database into DuckDB, values exact on both paths."""

from __future__ import annotations

import sqlalchemy as sa

from evidence import frames
from evidence.transfer import query_into

ROWS = [(1, "一矿/支委会", '{"kind":"支委会"}', 1.5), (2, "", None, None), (3, None, "x", 2.0)]


def test_text_numbers_null_and_empty_cross_unchanged(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t_transfer (n BIGINT, a TEXT, b TEXT, f FLOAT)"))
        connection.execute(
            sa.text("INSERT INTO t_transfer VALUES (:n, :a, :b, :f)"),
            [dict(zip("nabf", row, strict=True)) for row in ROWS],
        )
    try:
        con = frames.connect()
        query_into(
            con,
            engine,
            table="moved",
            sql="SELECT n, a, b, f FROM t_transfer WHERE n >= ? ORDER BY n",
            params=(1,),
            columns={"n": "BIGINT", "a": "VARCHAR", "b": "VARCHAR", "f": "DOUBLE"},
        )
        assert con.execute("SELECT * FROM moved ORDER BY n").fetchall() == ROWS
        # The pooled connection reads text as str again afterwards (SQLite: bytes only inside).
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT a FROM t_transfer WHERE n = 1")).scalar() == (
                "一矿/支委会"
            )
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE t_transfer"))
