"""Service functions of models.org on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from dualduty.errors import NotFoundError
from models import org
from models.org import DEFAULT_POST_TYPES, Change, PostType

from .helpers import run_import, write_org

D = dt.date


@pytest.fixture
def loaded(session: Session, tmp_path: Path) -> Session:
    run_import(session, write_org(tmp_path))
    return session


def test_subtree_is_the_unit_and_everything_below(loaded: Session) -> None:
    assert org.subtree(loaded, unit_code="C") == ["C", "M", "M2", "D", "D2", "B", "G"]
    assert org.subtree(loaded, unit_code="D") == ["D", "B", "G"]
    assert org.subtree(loaded, unit_code="G") == ["G"]


def test_ancestors_nearest_first(loaded: Session) -> None:
    assert org.ancestors(loaded, unit_code="G") == ["B", "D", "M", "C"]
    assert org.ancestors(loaded, unit_code="C") == []


def test_unknown_unit_raises_with_a_suggestion(loaded: Session) -> None:
    with pytest.raises(NotFoundError) as caught:
        org.subtree(loaded, unit_code="D3")
    assert "D3" in str(caught.value)
    assert "did you mean" in str(caught.value)
    assert org.get_unit(loaded, code="D3") is None
    assert org.get_unit_or_raise(loaded, code="D").name == "综采队"


def test_holders_across_a_mid_period_change(loaded: Session) -> None:
    def secretary(on: dt.date) -> list[str]:
        return [p.code for p in org.holders(loaded, unit_code="B", post_name="党支部书记", on=on)]

    assert secretary(D(2026, 4, 30)) == ["P4"]  # until is inclusive
    assert secretary(D(2026, 5, 1)) == ["P5"]
    assert secretary(D(2019, 12, 31)) == []
    assert secretary(D(2030, 1, 1)) == ["P5"]  # open-ended
    # The Chinese date formats in posts.csv were read as the dates they say.
    assert [
        p.code for p in org.holders(loaded, unit_code="M", post_name="党委书记", on=D(2021, 3, 1))
    ] == ["P2"]
    assert org.holders(loaded, unit_code="D", post_name="部门负责人", on=D(2021, 12, 31)) == []
    assert [
        p.code for p in org.holders(loaded, unit_code="D", post_name="部门负责人", on=D(2022, 1, 1))
    ] == ["P3"]


def test_posts_of(loaded: Session) -> None:
    held = org.posts_of(loaded, person_code="P6", on=D(2026, 6, 1))
    assert [(a.unit_code, a.post_name) for a in held] == [("B", "纪检委员"), ("G", "党小组组长")]
    assert org.posts_of(loaded, person_code="P4", on=D(2026, 5, 1)) == []
    assert org.posts_of(loaded, person_code="P6", on=D(2022, 12, 31)) == []


def _chain(
    session: Session, person: str, on: dt.date, unit: str | None = None
) -> list[tuple[str, str, str]]:
    return [
        (link.person_code, link.post_name, link.unit_code)
        for link in org.supervisor_chain(session, person_code=person, on=on, unit_code=unit)
    ]


def test_supervisor_chain(loaded: Session) -> None:
    before, after = D(2026, 4, 1), D(2026, 6, 1)
    # A party group leader: branch secretary, department head, mine secretary, group secretary.
    assert _chain(loaded, "P6", before) == [
        ("P4", "党支部书记", "B"),
        ("P3", "部门负责人", "D"),
        ("P2", "党委书记", "M"),
        ("P1", "党委书记", "C"),
    ]
    # The same chain follows the post after the branch secretary changed.
    assert _chain(loaded, "P6", after)[0] == ("P5", "党支部书记", "B")
    # A member without a post starts at their home unit.
    assert _chain(loaded, "P7", after) == [
        ("P3", "部门负责人", "D"),
        ("P2", "党委书记", "M"),
        ("P1", "党委书记", "C"),
    ]
    # A unit head is supervised by the nearest ancestor head, not by themselves.
    assert _chain(loaded, "P5", after) == [
        ("P3", "部门负责人", "D"),
        ("P2", "党委书记", "M"),
        ("P1", "党委书记", "C"),
    ]
    # 二矿 has no party secretary: the chain skips the vacancy.
    assert _chain(loaded, "P8", after) == [("P1", "党委书记", "C")]
    assert _chain(loaded, "P1", after) == []
    # Starting at a stated unit (where a duty is borne).
    assert _chain(loaded, "P6", after, unit="D") == [
        ("P3", "部门负责人", "D"),
        ("P2", "党委书记", "M"),
        ("P1", "党委书记", "C"),
    ]
    # Before P4 took the post in 2020, the branch had no secretary.
    assert _chain(loaded, "P7", D(2020, 6, 1)) == [("P1", "党委书记", "C")]
    with pytest.raises(NotFoundError):
        org.supervisor_chain(loaded, person_code="P99", on=after)


def test_supervisor_chain_is_one_walk_whatever_the_depth(loaded: Session) -> None:
    """Recusal asks for chains per inspector and per date: a query per ancestor (and one per
    post held) used to cost about 20 ms a call."""
    statements: list[str] = []

    def grab(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = loaded.get_bind()
    event.listen(engine, "before_cursor_execute", grab)
    try:
        deep = _chain(loaded, "P6", D(2026, 6, 1))  # posts at B and G, four units up
        at_unit = _chain(loaded, "P6", D(2026, 6, 1), unit="D")
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert len(deep) == 4 and len(at_unit) == 3
    # Per call: the person (not kept in the session between calls), then one walk.
    assert len(statements) == 4, statements
    assert [sql.lstrip().startswith("WITH RECURSIVE") for sql in statements] == [0, 1, 0, 1]


def test_seed_post_types_adds_only_what_is_missing(session: Session) -> None:
    first = org.seed_post_types(session)
    assert first.added == len(DEFAULT_POST_TYPES)
    session.flush()
    changed = session.get(PostType, "纪检委员")
    assert changed is not None
    changed.name_en = "Discipline member (our wording)"
    again = org.seed_post_types(session)
    assert (again.added, again.unchanged) == (0, len(DEFAULT_POST_TYPES))
    session.commit()
    kept = session.get(PostType, "纪检委员")
    assert kept is not None and kept.name_en == "Discipline member (our wording)"
    heads = {spec.name for spec in DEFAULT_POST_TYPES if spec.head_of_unit}
    assert heads == {"党委书记", "部门负责人", "党支部书记", "党小组组长"}
    assert set(org.head_posts(session)) == heads
    many = {spec.name for spec in DEFAULT_POST_TYPES if not spec.single_holder}
    assert "班子成员" in many and "党支部书记" not in many


def test_upserts_report_their_change(session: Session) -> None:
    org.seed_post_types(session)
    kind = org.UnitKind.company
    assert (
        org.upsert_unit(session, code="X", name="甲", kind=kind, parent_code=None) == Change.added
    )
    session.flush()
    assert (
        org.upsert_unit(session, code="X", name="甲", kind=kind, parent_code=None)
        == Change.unchanged
    )
    assert (
        org.upsert_unit(session, code="X", name="乙", kind=kind, parent_code=None) == Change.updated
    )
    assert (
        org.upsert_person(session, code="1", name="张三", unit_code="X", contacts={"email": "a@x"})
        == Change.added
    )
    session.flush()
    # Contacts merge by channel: a file with mobiles only keeps the known email.
    assert (
        org.upsert_person(session, code="1", name="张三", unit_code="X", contacts={"mobile": "139"})
        == Change.updated
    )
    person = org.get_person_or_raise(session, code="1")
    assert person.contacts == {"email": "a@x", "mobile": "139"}
    args = {"person_code": "1", "post_name": "部门负责人", "unit_code": "X", "since": D(2026, 1, 1)}
    assert org.upsert_assignment(session, until=None, **args) == Change.added
    session.flush()
    assert org.upsert_assignment(session, until=None, **args) == Change.unchanged
    assert org.upsert_assignment(session, until=D(2026, 6, 30), **args) == Change.updated
    session.commit()


def test_summary(loaded: Session) -> None:
    summary = org.summary(loaded, on=D(2026, 6, 1))
    assert summary.units_by_kind == {
        "company": 1,
        "mine": 2,
        "department": 2,
        "branch": 1,
        "group": 1,
    }
    assert (summary.people, summary.party_members) == (8, 7)
    assert summary.posts_by_type["党支部书记"] == 1
    assert summary.posts_by_type["部门负责人"] == 2
    assert summary.roots == ["C"]
