"""SQL sources against real SQLite and PostgreSQL databases: read-only, incremental, clear errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from dualduty.errors import RunError, UserError
from evidence import store
from evidence.gather import gather
from evidence.sources import FetchContext, SqlSource
from evidence.sources.sql import check_select
from evidence.types import EvidenceType

CONTRACT = EvidenceType.model_validate(
    {
        "fields": {
            "no": "str",
            "unit": "unit",
            "vendor": "str",
            "amount": "decimal",
            "signed_on": "date",
        },
        "key": ["no"],
    }
)
QUERY = "SELECT contract_no, dept_code, vendor, amount, signed_on, updated_at FROM erp_contracts"
MAP = {"no": "contract_no", "unit": "dept_code"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def erp_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Another system's database (an ERP) with a contracts table.

    On PostgreSQL: a schema of its own in the session's database (search_path in the URL),
    cheaper than creating and dropping a database per test.
    """
    schema = f"erp_{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'erp.db'}"
    else:
        base = sa.make_url(request.getfixturevalue("pg_url"))
        admin = sa.create_engine(base)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE erp_contracts (contract_no VARCHAR(20) PRIMARY KEY, dept_code VARCHAR(10), "
                "vendor VARCHAR(50), amount NUMERIC(14, 2), signed_on DATE, updated_at TIMESTAMP)"
            )
        )
    engine.dispose()
    yield url
    if request.param == "postgres":
        admin = sa.create_engine(request.getfixturevalue("pg_url"))
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def add_contracts(url: str, rows: list[tuple[str, str, str, str, str, str]]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for no, unit, vendor, amount, signed_on, updated_at in rows:
            connection.execute(
                sa.text("DELETE FROM erp_contracts WHERE contract_no = :no"), {"no": no}
            )
            connection.execute(
                sa.text(
                    "INSERT INTO erp_contracts VALUES (:no, :unit, :vendor, :amount, :signed_on, :updated_at)"
                ),
                # Text for every value: both databases cast it to the column's type (SQLite
                # keeps ISO text for dates, as its exports do).
                {
                    "no": no,
                    "unit": unit,
                    "vendor": vendor,
                    "amount": amount,
                    "signed_on": signed_on,
                    "updated_at": updated_at,
                },
            )
    engine.dispose()


def source(**extra: object) -> SqlSource:
    return SqlSource.model_validate(
        {"kind": "sql", "name": "erp", "url_env": "ERP_URL", "query": QUERY, "map": MAP, **extra}
    )


def test_incremental_by_watermark(erp_url: str, sqlite_engine: sa.Engine) -> None:
    add_contracts(
        erp_url,
        [
            ("HT1", "B01", "甲公司", "1200000.00", "2026-03-01", "2026-03-01 10:00:00"),
            ("HT2", "B02", "乙公司", "80000.50", "2026-03-02", "2026-03-02 10:00:00"),
        ],
    )
    env = {"ERP_URL": erp_url}
    incremental = source(watermark="updated_at")
    with Session(sqlite_engine) as session:
        first = gather(
            session, type_name="contract", evidence_type=CONTRACT, source=incremental, env=env
        )
        session.commit()
        assert (first.fetched, first.new, first.watermark_before) == (2, 2, None)
        assert str(store.get_watermark(session, source_name="erp")) == "2026-03-02 10:00:00"
        add_contracts(
            erp_url,
            [
                ("HT2", "B02", "乙公司", "90000", "2026-03-02", "2026-03-05 09:00:00"),  # changed
                ("HT3", "B03", "丙公司", "5000", "2026-03-05", "2026-03-05 09:30:00"),
            ],
        )
        second = gather(
            session, type_name="contract", evidence_type=CONTRACT, source=incremental, env=env
        )
        session.commit()
        # Only rows at or after the mark are read; HT1 is not fetched again.
        assert (second.fetched, second.new, second.changed, second.unchanged) == (2, 1, 1, 0)
        assert str(store.get_watermark(session, source_name="erp")) == "2026-03-05 09:30:00"
        third = gather(
            session, type_name="contract", evidence_type=CONTRACT, source=incremental, env=env
        )
        assert (third.fetched, third.unchanged, third.new) == (1, 1, 0)  # the row at the mark
        rows = {r.natural_key: r for r in store.list_current(session, type_name="contract")}
    assert sorted(rows) == ["HT1", "HT2", "HT3"]
    assert rows["HT2"].fields == {
        "no": "HT2",
        "unit": "B02",
        "vendor": "乙公司",
        "amount": "90000",
        "signed_on": "2026-03-02",
    }
    assert rows["HT2"].version == 2 and rows["HT2"].source_kind == "sql"
    assert rows["HT1"].raw["updated_at"].startswith("2026-03-01")
    assert rows["HT1"].location == "erp#1"


def test_watermark_is_stored_in_the_store_database(engine: sa.Engine, tmp_path: Path) -> None:
    erp = f"sqlite:///{tmp_path / 'erp2.db'}"
    e = sa.create_engine(erp)
    with e.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE erp_contracts (contract_no TEXT, dept_code TEXT, vendor TEXT, amount TEXT, signed_on TEXT, updated_at INTEGER)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO erp_contracts VALUES ('HT1', 'B01', 'V', '1,000', '2026/3/1', 7), ('HT2', 'B01', 'V', '2,000', '2026/3/2', 9)"
            )
        )
    e.dispose()
    with Session(engine) as session:
        report = gather(
            session,
            type_name="contract",
            evidence_type=CONTRACT,
            source=source(watermark="updated_at"),
            env={"ERP_URL": erp},
        )
        session.commit()
    assert report.watermark_after == "9"
    with Session(engine) as session:
        assert store.get_watermark(session, source_name="erp") == 9
        assert store.count_current(session, type_name="contract") == 2


def test_a_wrong_column_is_a_clear_error(erp_url: str, sqlite_engine: sa.Engine) -> None:
    add_contracts(erp_url, [("HT1", "B01", "甲公司", "1", "2026-03-01", "2026-03-01 10:00:00")])
    env = {"ERP_URL": erp_url}
    wrong_query = source(query="SELECT contract_no, dept, vendor FROM erp_contracts")
    with pytest.raises(UserError) as raised:
        wrong_query.read(CONTRACT, FetchContext(source_name="erp", env=env))
    (problem,) = raised.value.problems
    assert problem.field == "source erp.query" and "dept" in problem.message and problem.hint
    wrong_map = source(map={"no": "contract_no", "unit": "department"})
    with pytest.raises(UserError) as raised:
        wrong_map.read(CONTRACT, FetchContext(source_name="erp", env=env))
    (problem,) = raised.value.problems
    assert "department" in problem.message and problem.hint and "dept_code" in problem.hint
    wrong_mark = source(watermark="modified_at")
    with Session(sqlite_engine) as session:
        with pytest.raises(UserError, match="modified_at"):
            gather(
                session, type_name="contract", evidence_type=CONTRACT, source=wrong_mark, env=env
            )
        assert store.get_watermark(session, source_name="erp") is None


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("DELETE FROM erp_contracts", "not a SELECT query: DELETE"),
        ("UPDATE erp_contracts SET amount = 0", "not a SELECT query: UPDATE"),
        ("SELECT 1; DROP TABLE erp_contracts", "expected one statement, got 2"),
        (
            "WITH d AS (DELETE FROM erp_contracts RETURNING *) SELECT * FROM d",
            "writes or locks: DELETE",
        ),
        ("SELECT * INTO copy FROM erp_contracts", "writes or locks: INTO"),
        ("SELECT * FROM erp_contracts FOR UPDATE", "writes or locks: LOCK"),
        ("SELEC * FROM erp_contracts", "SQL"),
    ],
)
def test_only_a_single_select_is_accepted(query: str, reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        source(query=query)
    assert reason in str(raised.value)
    assert check_select("WITH x AS (SELECT 1 AS a) SELECT a FROM x UNION SELECT 2") == []


def test_the_transaction_is_read_only(erp_url: str) -> None:
    """Even a SELECT that calls a writing function cannot change the source database."""
    add_contracts(erp_url, [("HT1", "B01", "甲公司", "1", "2026-03-01", "2026-03-01 10:00:00")])
    if erp_url.startswith("postgresql"):
        writer = sa.create_engine(erp_url)
        with writer.begin() as connection:
            connection.execute(sa.text("CREATE SEQUENCE erp_seq"))
        writer.dispose()
        query = "SELECT contract_no, dept_code, nextval('erp_seq') AS n FROM erp_contracts"
        expected = "read-only transaction"
    else:
        # SQLite has no writing SELECT; a query-only connection refuses the write it would do.
        query = "SELECT contract_no, dept_code FROM erp_contracts"
        expected = None
    sneaky = SqlSource(url_env="ERP_URL", query=query, map=MAP)
    evidence_type = EvidenceType.model_validate({"fields": {"no": "str", "unit": "unit"}})
    if expected is None:
        result = sneaky.read(
            evidence_type, FetchContext(source_name="erp", env={"ERP_URL": erp_url})
        )
        assert [r.fields["no"] for r in result.records] == ["HT1"]
        return
    with pytest.raises(UserError, match=expected):
        sneaky.read(evidence_type, FetchContext(source_name="erp", env={"ERP_URL": erp_url}))


def test_unreachable_database_and_missing_url(caplog: pytest.LogCaptureFixture) -> None:
    secret_url = "postgresql+psycopg2://reader:s3cr3t-pw@127.0.0.1:1/erp"
    with pytest.raises(RunError) as raised:
        source().read(CONTRACT, FetchContext(source_name="erp", env={"ERP_URL": secret_url}))
    assert "erp" in str(raised.value) and "$ERP_URL" in str(raised.value)
    assert "s3cr3t-pw" not in str(raised.value) and "s3cr3t-pw" not in caplog.text
    with pytest.raises(UserError, match="ERP_URL is not set"):
        source().read(CONTRACT, FetchContext(source_name="erp", env={}))
    with pytest.raises(UserError, match="not a valid SQLAlchemy URL") as raised:
        source().read(
            CONTRACT, FetchContext(source_name="erp", env={"ERP_URL": "nonsense://x:pw-9@h/db"})
        )
    assert "pw-9" not in str(raised.value)
