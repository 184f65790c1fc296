"""A query against another system's database (ERP, OA, finance), read-only and incremental."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import sqlalchemy as sa
import sqlglot
from pydantic import Field, field_validator, model_validator
from sqlglot import exp

from dualduty.errors import RunError, UserError
from dualduty.problems import Location, Problem
from evidence.sources.base import BaseSource, FetchContext, RawRecord

# Nodes that write, lock or change state, even when nested in a SELECT
# (``WITH d AS (DELETE … RETURNING *) SELECT …``, ``SELECT … INTO t``, ``FOR UPDATE``).
_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Drop,
    exp.Create,
    exp.Alter,
    exp.TruncateTable,
    exp.Command,
    exp.Into,
    exp.Lock,
    exp.Copy,
)

_READ_ONLY_HINT = (
    "只允许一条 SELECT 查询 / only one SELECT statement is allowed (WITH and UNION are fine)"
)


def check_select(query: str, *, dialect: str | None = None) -> list[str]:
    """Why ``query`` is not a single read-only SELECT (empty list: it is)."""
    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as error:
        return [f"SQL 语法错误 / SQL syntax error: {str(error).splitlines()[0]}"]
    if len(statements) != 1:
        return [
            f"查询应为一条语句，实际 {len(statements)} 条 / expected one statement, got {len(statements)}"
        ]
    statement = statements[0]
    if not isinstance(statement, exp.Select | exp.SetOperation):
        return [f"不是 SELECT 查询 / not a SELECT query: {statement.key.upper()}"]
    bad = sorted(
        {node.key.upper() for node in statement.walk() if isinstance(node, _FORBIDDEN_NODES)}
    )
    if bad:
        return [f"查询包含写入或加锁操作 / the query writes or locks: {', '.join(bad)}"]
    return []


class SqlSource(BaseSource):
    """Rows of a SELECT on any SQLAlchemy URL, read in a read-only transaction.

    The URL (with its password) comes from the environment variable named by ``url_env``.
    With ``watermark`` only rows whose column is at or after the last stored value are read;
    rows at the mark itself are read again and recognised as unchanged by the store.

    ```yaml
    source:
      kind: sql
      url_env: ERP_DATABASE_URL
      query: SELECT contract_no, dept_code, vendor, amount, signed_on, updated_at FROM contracts
      watermark: updated_at
      map: {unit: dept_code}
    ```
    """

    kind: Literal["sql"] = "sql"
    url_env: str = Field(description="Environment variable holding the SQLAlchemy URL")
    query: str
    watermark: str | None = Field(
        default=None, description="Column of the query that only grows (updated_at, id)"
    )
    timeout: float = Field(default=300, gt=0, description="Statement timeout in seconds")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "sql" in data and "query" not in data:
            data = {k: v for k, v in data.items() if k != "sql"} | {"query": data["sql"]}
            data.setdefault("kind", "sql")
        return data

    @field_validator("query")
    @classmethod
    def _single_select(cls, query: str) -> str:
        reasons = check_select(query)
        if reasons:
            raise ValueError("; ".join(reasons) + f" ({_READ_ONLY_HINT})")
        return query.strip().rstrip(";").strip()

    def _engine(self, ctx: FetchContext) -> sa.Engine:
        url = ctx.env.get(self.url_env)
        if not url:
            raise UserError(
                [
                    Problem(
                        message=f"环境变量 {self.url_env} 未设置 / environment variable {self.url_env} is not set",
                        field=f"source {ctx.source_name}.url_env",
                        hint="export it with the SQLAlchemy URL of the database (never in the rule file)",
                    )
                ]
            )
        try:
            return sa.create_engine(url, poolclass=sa.pool.NullPool)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError):
            # The message of these errors may quote the URL, password included: never show it.
            raise UserError(
                [
                    Problem(
                        message=f"{self.url_env} 不是有效的 SQLAlchemy URL / is not a valid SQLAlchemy URL",
                        field=f"source {ctx.source_name}.url_env",
                        hint="e.g. postgresql+psycopg2://user:password@host/db",
                    )
                ]
            ) from None

    def fetch(self, ctx: FetchContext) -> Iterator[RawRecord]:
        engine = self._engine(ctx)
        reasons = check_select(self.query, dialect=_sqlglot_dialect(engine.dialect.name))
        if reasons:
            raise UserError(
                [
                    Problem(
                        message=r, field=f"source {ctx.source_name}.query", hint=_READ_ONLY_HINT
                    )
                    for r in reasons
                ]
            )
        statement, params = self._statement(engine, ctx.watermark)
        try:
            try:
                connection = engine.connect()
            except sa.exc.DBAPIError as error:
                raise RunError(
                    f"无法连接来源 {ctx.source_name} 的数据库 / cannot connect to the database of "
                    f"source {ctx.source_name} (URL from ${self.url_env}): {_first_line(error)}"
                ) from None
            with connection:
                rows = self._run(connection, statement, params, ctx)
                for index, row in enumerate(rows, start=1):
                    yield RawRecord(
                        values=dict(row), location=Location(file=f"{ctx.source_name}#{index}")
                    )
        finally:
            engine.dispose()

    def _statement(self, engine: sa.Engine, watermark: Any) -> tuple[sa.TextClause, dict[str, Any]]:
        if self.watermark is None:
            return sa.text(self.query), {}
        column = engine.dialect.identifier_preparer.quote(self.watermark)
        order = f"ORDER BY _src.{column}"
        if watermark is None:
            return sa.text(f"SELECT * FROM ({self.query}) AS _src {order}"), {}
        return (
            sa.text(
                f"SELECT * FROM ({self.query}) AS _src WHERE _src.{column} >= :_watermark {order}"
            ),
            {"_watermark": watermark},
        )

    def _run(
        self,
        connection: sa.Connection,
        statement: sa.TextClause,
        params: dict[str, Any],
        ctx: FetchContext,
    ) -> list[sa.RowMapping]:
        dialect = connection.dialect.name
        try:
            with connection.begin():
                if dialect == "postgresql":
                    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                    connection.exec_driver_sql(
                        f"SET LOCAL statement_timeout = {int(self.timeout * 1000)}"
                    )
                elif dialect in {"mysql", "mariadb"}:
                    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                elif dialect == "sqlite":
                    connection.exec_driver_sql("PRAGMA query_only = ON")
                try:
                    return list(connection.execute(statement, params).mappings())
                finally:
                    if dialect == "sqlite":
                        connection.exec_driver_sql("PRAGMA query_only = OFF")
        except sa.exc.DBAPIError as error:
            if error.connection_invalidated:
                raise RunError(
                    f"来源 {ctx.source_name} 的数据库连接中断 / lost the connection to the database "
                    f"of source {ctx.source_name}: {_first_line(error)}"
                ) from None
            raise UserError(
                [
                    Problem(
                        message=f"查询失败 / the query failed: {_first_line(error)}",
                        field=f"source {ctx.source_name}.query",
                        hint="check the table and column names against the source database"
                        + (
                            f" (and the watermark column {self.watermark!r})"
                            if self.watermark
                            else ""
                        ),
                    )
                ]
            ) from None

    def next_watermark(self, records: list[RawRecord], ctx: FetchContext) -> Any:
        if self.watermark is None:
            return None
        values = [r.values.get(self.watermark) for r in records]
        present = [v for v in values if v is not None]
        if not present:
            return ctx.watermark
        return max(present)


def _first_line(error: sa.exc.DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__


def _sqlglot_dialect(name: str) -> str | None:
    """sqlglot's name for a SQLAlchemy dialect; None (generic SQL) when sqlglot lacks it."""
    name = {"postgresql": "postgres", "mssql": "tsql", "mariadb": "mysql"}.get(name, name)
    try:
        sqlglot.Dialect.get_or_raise(name)
    except ValueError:
        return None
    return name
