"""Shared fixtures: databases on SQLite and real PostgreSQL.

PostgreSQL: one throwaway database per test session (per xdist worker), created and dropped here;
tables are truncated after each test. With CI=true an unreachable server fails the run instead of
skipping, so the PostgreSQL half of the suite can never silently vanish.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import models
from models.session import make_engine

PG_ADMIN_URL = os.environ.get(
    "DUALDUTY_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _pg_unavailable(reason: str) -> None:
    message = (
        f"PostgreSQL not reachable at {PG_ADMIN_URL} ({reason}). Start it with "
        "`pg_ctlcluster --skip-systemctl-redirect 15 main start` or set DUALDUTY_TEST_PG_URL."
    )
    if IN_CI:
        pytest.fail("CI=true requires PostgreSQL: " + message, pytrace=False)
    pytest.skip(message)


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it afterwards."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"dualduty_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        _pg_unavailable(str(error.orig).strip().splitlines()[0])
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a PostgreSQL database shared by this test session (per xdist worker)."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def pg_fresh_url() -> Iterator[str]:
    """URL of an empty PostgreSQL database of this test's own (for migrations, CLI runs)."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def pg_engine_session(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    models.Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in models.Base.metadata.sorted_tables)
    if tables:
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def pg_engine(pg_engine_session: Engine) -> Iterator[Engine]:
    """The session's PostgreSQL database with every table empty."""
    _truncate_all(pg_engine_session)
    yield pg_engine_session
    _truncate_all(pg_engine_session)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dualduty.db'}"


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    models.Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Runs the test once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    result: Engine = request.getfixturevalue(fixture)
    return result


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def db_env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> str:
    """Point the application's settings (CLI, flows) at a fresh SQLite file in tmp_path."""
    from dualduty.settings import get_settings
    from models.session import get_engine

    monkeypatch.setenv("DUALDUTY_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DUALDUTY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    get_engine.cache_clear()
    return sqlite_url
