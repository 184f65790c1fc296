"""A small organisation for escalation tests: who gets which rung's message.

C 集团公司 (党委书记 P-CEO, 纪委书记 P-JW)
└── M1 第一煤矿 (党委书记 P-M1)
    ├── B01 综采一队党支部 (党支部书记 P-B01, 纪检委员 P-B01J)
    └── B02 掘进二队党支部 (党支部书记 P-B02; no 纪检委员: falls back to C's 纪委书记)
inspector account "insp" (person P-INS) with jurisdiction M1
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from models import org, users
from models.org import Person, PostAssignment, Unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
SINCE = dt.date(2020, 1, 1)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """A moment on ``day`` in Beijing time (the organisation's calendar day)."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def build(session: Session) -> None:
    org.seed_post_types(session)
    session.add_all(
        [
            Unit(code="C", name="集团公司", kind="company", parent_code=None),
            Unit(code="M1", name="第一煤矿", kind="mine", parent_code="C"),
            Unit(code="B01", name="综采一队党支部", kind="branch", parent_code="M1"),
            Unit(code="B02", name="掘进二队党支部", kind="branch", parent_code="M1"),
        ]
    )
    session.flush()
    people = {
        "P-CEO": ("赵书记", "C"),
        "P-JW": ("钱纪委", "C"),
        "P-M1": ("孙矿党委", "M1"),
        "P-B01": ("李书记", "B01"),
        "P-B01J": ("周委员", "B01"),
        "P-B02": ("吴书记", "B02"),
        "P-INS": ("郑监察", "M1"),
    }
    session.add_all(
        [Person(code=code, name=name, unit_code=unit) for code, (name, unit) in people.items()]
    )
    session.flush()
    posts = [
        ("P-CEO", "党委书记", "C"),
        ("P-JW", "纪委书记", "C"),
        ("P-M1", "党委书记", "M1"),
        ("P-B01", "党支部书记", "B01"),
        ("P-B01J", "纪检委员", "B01"),
        ("P-B02", "党支部书记", "B02"),
    ]
    session.add_all(
        [
            PostAssignment(person_code=p, post_name=post, unit_code=u, since=SINCE, until=None)
            for p, post, u in posts
        ]
    )
    users.create_user(
        session,
        username="insp",
        display_name="郑监察",
        role=users.Role.inspector,
        password=None,
        now=at(SINCE),
        person_code="P-INS",
        jurisdiction="M1",
    )
    session.flush()
