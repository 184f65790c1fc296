"""The organisation: units as a tree, people, post types and post assignments over time.

Who bears a duty is decided by who held a post at a stated date, so assignments carry
[since, until] (both inclusive; ``until`` NULL = still holding).

The services answer the questions the engine, the ladders and the console ask: the units of a
jurisdiction (``subtree``), who held a post at a unit on a date (``holders``), and who supervises
a person on a date (``supervisor_chain``). The upserts are what ``evidence.orgfiles`` imports with.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Select,
    String,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from dualduty.errors import NotFoundError
from dualduty.problems import Problem
from models.base import Base


class UnitKind(StrEnum):
    """Levels of a state-owned group, top to bottom."""

    company = "company"  # 集团公司 / 公司
    subsidiary = "subsidiary"  # 子公司
    mine = "mine"  # 矿 / 厂
    department = "department"  # 部门 / 科室 / 区队
    branch = "branch"  # 党支部
    group = "group"  # 党小组 / 班组


UNIT_KIND_LABELS: dict[UnitKind, str] = {
    UnitKind.company: "公司",
    UnitKind.subsidiary: "子公司",
    UnitKind.mine: "矿",
    UnitKind.department: "部门",
    UnitKind.branch: "党支部",
    UnitKind.group: "党小组",
}


def kind_label(kind: str) -> str:
    """The Chinese label of a unit kind as stored (a plain string), or the string itself."""
    return next((label for k, label in UNIT_KIND_LABELS.items() if k.value == kind), kind)


class Unit(Base):
    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("units.code", ondelete="RESTRICT"), index=True
    )


class Person(Base):
    __tablename__ = "people"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)  # 工号 / employee number
    name: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[str]] = mapped_column(default=list)
    # Channel addresses by channel kind: {"email": "...", "mobile": "...", "dingtalk": "..."}.
    contacts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PostType(Base):
    """A kind of post (党支部书记, 部门负责人 …). ``name`` is the Chinese name used in rule packs."""

    __tablename__ = "post_types"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(100), default="")
    # One holder at a time per unit (党委书记);班子成员 has many.
    single_holder: Mapped[bool] = mapped_column(Boolean, default=True)
    # The unit's leading post: the superior of everyone else in the unit and of the heads of
    # its child units.
    head_of_unit: Mapped[bool] = mapped_column(Boolean, default=False)


class PostAssignment(Base):
    __tablename__ = "post_assignments"
    __table_args__ = (Index("ix_post_assignments__unit_post", "unit_code", "post_name", "since"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    person_code: Mapped[str] = mapped_column(ForeignKey("people.code"), index=True)
    post_name: Mapped[str] = mapped_column(ForeignKey("post_types.name"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    since: Mapped[dt.date] = mapped_column(Date)
    until: Mapped[dt.date | None] = mapped_column(Date)


# ---------------------------------------------------------------------------------------------
# Default post types
# ---------------------------------------------------------------------------------------------


class PostTypeSpec(BaseModel):
    """A post type as declared in code or in an import mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    name_en: str = ""
    single_holder: bool = True
    head_of_unit: bool = False


DEFAULT_POST_TYPES: tuple[PostTypeSpec, ...] = (
    PostTypeSpec(name="党委书记", name_en="Party committee secretary", head_of_unit=True),
    PostTypeSpec(
        name="党委副书记", name_en="Party committee deputy secretary", single_holder=False
    ),
    PostTypeSpec(name="纪委书记", name_en="Discipline committee secretary"),
    PostTypeSpec(
        name="纪委副书记", name_en="Discipline committee deputy secretary", single_holder=False
    ),
    PostTypeSpec(name="班子成员", name_en="Leadership-team member", single_holder=False),
    PostTypeSpec(name="董事长", name_en="Chairman of the board"),
    PostTypeSpec(name="总经理", name_en="General manager"),
    PostTypeSpec(name="副总经理", name_en="Deputy general manager", single_holder=False),
    PostTypeSpec(name="矿长", name_en="Mine manager"),
    PostTypeSpec(name="副矿长", name_en="Deputy mine manager", single_holder=False),
    PostTypeSpec(name="工会主席", name_en="Trade-union chair"),
    PostTypeSpec(name="部门负责人", name_en="Department head", head_of_unit=True),
    PostTypeSpec(name="党支部书记", name_en="Party branch secretary", head_of_unit=True),
    PostTypeSpec(name="纪检委员", name_en="Branch discipline member"),
    PostTypeSpec(name="组织委员", name_en="Branch organisation member"),
    PostTypeSpec(name="宣传委员", name_en="Branch publicity member"),
    PostTypeSpec(name="党小组组长", name_en="Party group leader", head_of_unit=True),
    PostTypeSpec(name="纪检监察人员", name_en="Discipline inspector", single_holder=False),
)


# ---------------------------------------------------------------------------------------------
# Reading the organisation
# ---------------------------------------------------------------------------------------------

# Guards the recursive queries against a cycle that slipped into the table by hand: the import
# refuses cycles, but a loop here would otherwise never end.
MAX_DEPTH = 64


class ChainLink(BaseModel):
    """One step up a supervisor chain: who, in which post, at which unit."""

    model_config = ConfigDict(frozen=True)

    person_code: str
    person_name: str
    post_name: str
    unit_code: str
    unit_name: str


def get_unit(session: Session, *, code: str) -> Unit | None:
    return session.get(Unit, code)


def get_unit_or_raise(session: Session, *, code: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None:
        known = session.scalars(select(Unit.code)).all()
        raise _not_found(f"单位不存在 / no unit {code!r}", field="unit", code=code, known=known)
    return unit


def get_person(session: Session, *, code: str) -> Person | None:
    return session.get(Person, code)


def get_person_or_raise(session: Session, *, code: str) -> Person:
    person = session.get(Person, code)
    if person is None:
        known = session.scalars(select(Person.code)).all()
        raise _not_found(
            f"人员不存在 / no person with 工号 {code!r}", field="person", code=code, known=known
        )
    return person


def _not_found(message: str, *, field: str, code: str, known: Sequence[str]) -> NotFoundError:
    """A missing code, with the closest known codes as the hint."""
    close = difflib.get_close_matches(code, list(known), n=3, cutoff=0.5)
    hint = ("是否指 / did you mean: " + ", ".join(close)) if close else None
    return NotFoundError([Problem(message=message, field=field, hint=hint)])


def subtree(session: Session, *, unit_code: str) -> list[str]:
    """The unit and every unit below it, top-down (breadth first, then by code).

    Jurisdictions and inspection scopes are subtrees; one recursive query serves both dialects.
    """
    get_unit_or_raise(session, code=unit_code)
    tree = (
        select(Unit.code.label("code"), literal(0).label("depth"))
        .where(Unit.code == unit_code)
        .cte("tree", recursive=True)
    )
    child = aliased(Unit)
    tree = tree.union_all(
        select(child.code, tree.c.depth + 1).where(
            child.parent_code == tree.c.code, tree.c.depth < MAX_DEPTH
        )
    )
    return list(session.scalars(select(tree.c.code).order_by(tree.c.depth, tree.c.code)))


def ancestors(session: Session, *, unit_code: str) -> list[str]:
    """The units above ``unit_code``, nearest first (parent, grandparent … root); not the unit."""
    get_unit_or_raise(session, code=unit_code)
    chain = (
        select(Unit.parent_code.label("code"), literal(1).label("depth"))
        .where(Unit.code == unit_code)
        .cte("chain", recursive=True)
    )
    parent = aliased(Unit)
    chain = chain.union_all(
        select(parent.parent_code, chain.c.depth + 1).where(
            parent.code == chain.c.code, chain.c.depth < MAX_DEPTH
        )
    )
    return list(
        session.scalars(
            select(chain.c.code).where(chain.c.code.is_not(None)).order_by(chain.c.depth)
        )
    )


def _held_on(on: dt.date | BindParameter[dt.date]) -> ColumnElement[bool]:
    return and_(
        PostAssignment.since <= on,
        or_(PostAssignment.until.is_(None), PostAssignment.until >= on),
    )


def holders(session: Session, *, unit_code: str, post_name: str, on: dt.date) -> list[Person]:
    """Who held ``post_name`` at ``unit_code`` on ``on``: the bearer of a duty at a date."""
    return list(
        session.scalars(
            select(Person)
            .join(PostAssignment, PostAssignment.person_code == Person.code)
            .where(
                PostAssignment.unit_code == unit_code,
                PostAssignment.post_name == post_name,
                _held_on(on),
            )
            .order_by(PostAssignment.since, Person.code)
        )
    )


def posts_of(session: Session, *, person_code: str, on: dt.date) -> list[PostAssignment]:
    """The posts a person held on a date, ordered by unit and post."""
    return list(
        session.scalars(
            select(PostAssignment)
            .where(PostAssignment.person_code == person_code, _held_on(on))
            .order_by(PostAssignment.unit_code, PostAssignment.post_name)
        )
    )


def head_posts(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(PostType.name).where(PostType.head_of_unit.is_(True)).order_by(PostType.name)
        )
    )


def unit_heads(session: Session, *, unit_code: str, on: dt.date) -> list[tuple[Person, str]]:
    """Holders of the unit's head post(s) on a date, as (person, post name)."""
    rows = session.execute(
        select(Person, PostAssignment.post_name)
        .join(PostAssignment, PostAssignment.person_code == Person.code)
        .join(PostType, PostType.name == PostAssignment.post_name)
        .where(
            PostAssignment.unit_code == unit_code,
            PostType.head_of_unit.is_(True),
            _held_on(on),
        )
        .order_by(PostAssignment.since, Person.code)
    )
    return [(person, post) for person, post in rows.tuples()]


@functools.cache
def _chain_query(*, from_unit: bool) -> Select[tuple[str, bool, int, str, str, Any, Any, Any]]:
    """Each unit from the start(s) up to the root, with its heads on ``:on``: for the walk from
    ``:unit``, or from every unit where ``:person`` holds a post (``held``) and ``:home``.

    Built once: constructing a statement this size costs more than running it.
    """
    on = bindparam("on", type_=Date)
    if from_unit:
        anchor = select(
            Unit.code.label("origin"),
            Unit.code.label("code"),
            literal(0).label("depth"),
            literal(True).label("held"),
        ).where(Unit.code == bindparam("unit", type_=String))
    else:
        held = select(PostAssignment.unit_code).where(
            PostAssignment.person_code == bindparam("person", type_=String), _held_on(on)
        )
        anchor = select(
            Unit.code.label("origin"),
            Unit.code.label("code"),
            literal(0).label("depth"),
            Unit.code.in_(held).label("held"),
        ).where(or_(Unit.code.in_(held), Unit.code == bindparam("home", type_=String)))
    walk = anchor.cte("walk", recursive=True)
    unit = aliased(Unit)
    walk = walk.union_all(
        select(walk.c.origin, unit.parent_code, walk.c.depth + 1, walk.c.held).where(
            unit.code == walk.c.code, unit.parent_code.is_not(None), walk.c.depth < MAX_DEPTH
        )
    )
    heads = select(PostType.name).where(PostType.head_of_unit.is_(True))
    return (
        select(
            walk.c.origin,
            walk.c.held,
            walk.c.depth,
            walk.c.code,
            Unit.name,
            PostAssignment.post_name,
            Person.code,
            Person.name,
        )
        .join(Unit, Unit.code == walk.c.code)
        .outerjoin(
            PostAssignment,
            and_(
                PostAssignment.unit_code == walk.c.code,
                PostAssignment.post_name.in_(heads),
                _held_on(on),
            ),
        )
        .outerjoin(Person, Person.code == PostAssignment.person_code)
        .order_by(walk.c.origin, walk.c.depth, PostAssignment.since, Person.code)
    )


def supervisor_chain(
    session: Session, *, person_code: str, on: dt.date, unit_code: str | None = None
) -> list[ChainLink]:
    """The person's superiors on a date, nearest first, up to the top of the tree.

    Within a unit, the holder of the unit's head post supervises everyone else in it; a unit
    head is supervised by the head of the nearest ancestor unit that has one. The walk starts
    at ``unit_code`` when given (the unit where a duty is borne), else at the deepest unit where
    the person holds a post that day, else at the person's home unit. A unit whose head post is
    vacant that day is skipped, so a vacancy never breaks the chain.

    One query walks up from every candidate start at once, with each unit's heads that day:
    recusal asks this per inspector and per date, and a query per ancestor added up.
    """
    person = get_person_or_raise(session, code=person_code)
    rows = session.execute(
        _chain_query(from_unit=unit_code is not None),
        {"unit": unit_code, "person": person.code, "home": person.unit_code, "on": on},
    ).tuples()
    walks: dict[str, list[tuple[int, str, str, str | None, str | None, str | None]]] = {}
    held_at: set[str] = set()
    for origin, is_held, depth, code, unit_name, post, head, head_name in rows:
        walks.setdefault(origin, []).append((depth, code, unit_name, post, head, head_name))
        if is_held:
            held_at.add(origin)
    if unit_code is not None:
        if unit_code not in walks:
            get_unit_or_raise(session, code=unit_code)  # raises, with a suggestion
        start: str | None = unit_code
    elif held_at:
        # The deepest unit, by the length of its walk to the top; the first code on a tie.
        start = max(sorted(held_at), key=lambda code: walks[code][-1][0])
    else:
        start = person.unit_code
    chain: list[ChainLink] = []
    seen = {person.code}
    linked: set[int] = set()  # depths whose unit already gave its link
    for depth, code, unit_name, post, head, head_name in walks.get(start or "", []):
        if head is None or depth in linked or head in seen:
            continue
        assert post is not None and head_name is not None
        chain.append(
            ChainLink(
                person_code=head,
                person_name=head_name,
                post_name=post,
                unit_code=code,
                unit_name=unit_name,
            )
        )
        seen.add(head)
        linked.add(depth)
    return chain


# ---------------------------------------------------------------------------------------------
# Writing the organisation (the import's upserts)
# ---------------------------------------------------------------------------------------------


class Change(StrEnum):
    added = "added"
    updated = "updated"
    unchanged = "unchanged"


class ChangeCounts(BaseModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def count(self, change: Change) -> None:
        setattr(self, change.value, getattr(self, change.value) + 1)

    @property
    def changed(self) -> int:
        return self.added + self.updated


def _apply(row: Base, values: dict[str, Any]) -> Change:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return Change.updated if changed else Change.unchanged


def upsert_unit(
    session: Session, *, code: str, name: str, kind: UnitKind, parent_code: str | None
) -> Change:
    unit = session.get(Unit, code)
    values: dict[str, Any] = {"name": name, "kind": kind.value, "parent_code": parent_code}
    if unit is None:
        session.add(Unit(code=code, **values))
        return Change.added
    return _apply(unit, values)


def upsert_person(
    session: Session,
    *,
    code: str,
    name: str,
    unit_code: str | None,
    party_member: bool | None = None,
    contacts: dict[str, str] | None = None,
    tags: list[str] | None = None,
) -> Change:
    """Create or update a person. ``None`` leaves a value as it is (the file did not say).

    Contacts merge by channel: an export that has mobiles but no emails keeps known emails.
    """
    person = session.get(Person, code)
    if person is None:
        session.add(
            Person(
                code=code,
                name=name,
                unit_code=unit_code,
                party_member=bool(party_member),
                contacts=dict(contacts or {}),
                tags=list(tags or []),
            )
        )
        return Change.added
    values: dict[str, Any] = {"name": name, "unit_code": unit_code}
    if party_member is not None:
        values["party_member"] = party_member
    if contacts:
        values["contacts"] = {**person.contacts, **contacts}
    if tags is not None:
        values["tags"] = list(tags)
    return _apply(person, values)


def upsert_post_type(session: Session, *, spec: PostTypeSpec) -> Change:
    post_type = session.get(PostType, spec.name)
    values = spec.model_dump(exclude={"name"})
    if post_type is None:
        session.add(PostType(name=spec.name, **values))
        return Change.added
    return _apply(post_type, values)


def seed_post_types(session: Session) -> ChangeCounts:
    """Add the default post types that are missing; post types already present are kept as
    an admin may have changed them."""
    counts = ChangeCounts()
    for spec in DEFAULT_POST_TYPES:
        if session.get(PostType, spec.name) is None:
            counts.count(upsert_post_type(session, spec=spec))
        else:
            counts.count(Change.unchanged)
    return counts


def find_assignment(
    session: Session, *, person_code: str, post_name: str, unit_code: str, since: dt.date
) -> PostAssignment | None:
    """An assignment by its natural key: a person took a post at a unit on a date."""
    return session.scalars(
        select(PostAssignment).where(
            PostAssignment.person_code == person_code,
            PostAssignment.post_name == post_name,
            PostAssignment.unit_code == unit_code,
            PostAssignment.since == since,
        )
    ).first()


def upsert_assignment(
    session: Session,
    *,
    person_code: str,
    post_name: str,
    unit_code: str,
    since: dt.date,
    until: dt.date | None,
) -> Change:
    """Keyed by (person, post, unit, since): a re-export that adds a 免职日期 updates ``until``."""
    assignment = find_assignment(
        session, person_code=person_code, post_name=post_name, unit_code=unit_code, since=since
    )
    if assignment is None:
        session.add(
            PostAssignment(
                person_code=person_code,
                post_name=post_name,
                unit_code=unit_code,
                since=since,
                until=until,
            )
        )
        return Change.added
    return _apply(assignment, {"until": until})


# ---------------------------------------------------------------------------------------------
# Overview
# ---------------------------------------------------------------------------------------------


class OrgSummary(BaseModel):
    """Counts that tell at a glance whether an import looks right."""

    on: dt.date
    units_by_kind: dict[str, int]
    people: int
    party_members: int
    posts_by_type: dict[str, int]  # assignments held on ``on``
    roots: list[str]


def roots(session: Session) -> list[str]:
    return list(
        session.scalars(select(Unit.code).where(Unit.parent_code.is_(None)).order_by(Unit.code))
    )


def summary(session: Session, *, on: dt.date) -> OrgSummary:
    by_kind = session.execute(select(Unit.kind, func.count()).group_by(Unit.kind)).tuples()
    order = {kind.value: index for index, kind in enumerate(UnitKind)}
    posts = session.execute(
        select(PostAssignment.post_name, func.count())
        .where(_held_on(on))
        .group_by(PostAssignment.post_name)
    ).tuples()
    post_order = {spec.name: index for index, spec in enumerate(DEFAULT_POST_TYPES)}
    return OrgSummary(
        on=on,
        units_by_kind=dict(sorted(by_kind, key=lambda kv: (order.get(kv[0], 99), kv[0]))),
        people=session.scalar(select(func.count()).select_from(Person)) or 0,
        party_members=session.scalar(
            select(func.count()).select_from(Person).where(Person.party_member.is_(True))
        )
        or 0,
        posts_by_type=dict(sorted(posts, key=lambda kv: (post_order.get(kv[0], 99), kv[0]))),
        roots=roots(session),
    )


def post_order(session: Session) -> dict[str, int]:
    """Display order of post types: heads first, then the defaults' order, then by name."""
    names = session.scalars(select(PostType.name)).all()
    heads = set(head_posts(session))
    default = {spec.name: index for index, spec in enumerate(DEFAULT_POST_TYPES)}
    ranked = sorted(names, key=lambda n: (n not in heads, default.get(n, len(default)), n))
    return {name: index for index, name in enumerate(ranked)}
