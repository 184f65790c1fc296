"""The Alembic migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

import models
from models import migrate
from models.session import make_engine


def _assert_matches_models(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), models.Base.metadata
        )
    assert diff == [], f"models and migrations differ; run `python -m models.migrate MSG`: {diff}"
    # Upgrading twice is a no-op.
    migrate.upgrade(engine)


def test_migrations_match_models_on_sqlite(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    _assert_matches_models(engine)
    assert "units" in inspect(engine).get_table_names()
    engine.dispose()


def test_migrations_match_models_on_postgres(pg_fresh_url: str) -> None:
    engine = make_engine(pg_fresh_url)
    _assert_matches_models(engine)
    engine.dispose()
