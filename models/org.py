"""The organisation: units as a tree, people, post types and post assignments over time.

Who bears a duty is decided by who held a post at a stated date, so assignments carry
[since, until] (both inclusive; ``until`` NULL = still holding).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

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
