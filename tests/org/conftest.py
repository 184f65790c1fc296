from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session


@pytest.fixture
def lite(sqlite_engine: Engine) -> Iterator[Session]:
    """A SQLite session, for checks that do not depend on the database kind."""
    with Session(sqlite_engine, expire_on_commit=False) as s:
        yield s
