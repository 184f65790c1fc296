"""Console fixtures: cheap argon2, a small organisation, users in each role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from dualduty.settings import get_settings
from models import users
from models.org import Person, PostAssignment, PostType, Unit

NOW = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Production argon2 costs 64 MiB and ~0.1 s per hash; tests need neither."""
    monkeypatch.setenv("DUALDUTY_PASSWORD_HASH_TIME_COST", "1")
    monkeypatch.setenv("DUALDUTY_PASSWORD_HASH_MEMORY_KIB", "8")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def seed_org(session: Session) -> None:
    """集团 G > 一矿 M1 > 综采队 D1 > 支部 B1; 集团 G > 二矿 M2 > 支部 B2.

    People: P-HEAD-M1 heads 一矿, P-SEC-B1 is B1's 党支部书记, P-INSP1 and P-INSP2 are
    inspectors at 一矿, P-INSP3 at 二矿, P-STAFF a member of B1.
    """
    session.add_all(
        [
            Unit(code="G", name="能源集团", kind="company", parent_code=None),
            Unit(code="M1", name="第一煤矿", kind="mine", parent_code="G"),
            Unit(code="D1", name="综采一队", kind="department", parent_code="M1"),
            Unit(code="B1", name="综采一队党支部", kind="branch", parent_code="D1"),
            Unit(code="M2", name="第二煤矿", kind="mine", parent_code="G"),
            Unit(code="B2", name="二矿机关党支部", kind="branch", parent_code="M2"),
        ]
    )
    session.flush()
    session.add_all(
        [
            PostType(name="矿长", name_en="mine director", single_holder=True, head_of_unit=True),
            PostType(name="党支部书记", name_en="branch secretary", head_of_unit=True),
            PostType(name="纪检监察员", name_en="inspector", single_holder=False),
        ]
    )
    for code, name, unit in [
        ("P-HEAD-M1", "王矿长", "M1"),
        ("P-SEC-B1", "李书记", "B1"),
        ("P-INSP1", "张纪检", "M1"),
        ("P-INSP2", "赵纪检", "M1"),
        ("P-INSP3", "钱纪检", "M2"),
        ("P-STAFF", "孙职工", "B1"),
    ]:
        session.add(Person(code=code, name=name, unit_code=unit))
    session.flush()
    session.add_all(
        [
            PostAssignment(
                person_code="P-HEAD-M1",
                post_name="矿长",
                unit_code="M1",
                since=dt.date(2020, 1, 1),
                until=None,
            ),
            PostAssignment(
                person_code="P-SEC-B1",
                post_name="党支部书记",
                unit_code="B1",
                since=dt.date(2022, 1, 1),
                until=None,
            ),
        ]
    )
    session.flush()


def add_user(
    session: Session,
    username: str,
    role: users.Role,
    *,
    jurisdiction: str | None = None,
    person_code: str | None = None,
) -> users.User:
    return users.create_user(
        session,
        username=username,
        display_name=username,
        role=role,
        password=PASSWORD,
        now=NOW,
        jurisdiction=jurisdiction,
        person_code=person_code,
    )
