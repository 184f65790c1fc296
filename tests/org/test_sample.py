"""The bundled sample company loads through the normal import and is consistent."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dualduty.demo import (
    SAMPLE_COMPANY,
    SAMPLE_DIR,
    SAMPLE_FILES,
    generate_org,
    load_sample_company,
)
from models import org
from models.org import Person, PostAssignment, PostType, Unit

YEAR_START, YEAR_END = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
D = dt.date


@pytest.fixture
def company(session: Session) -> Session:
    report = load_sample_company(session)
    session.commit()
    assert report.warnings == [] and report.skipped == []
    assert report.units.added > 100 and 300 <= report.people.added <= 1000
    return session


def covered(session: Session, unit: str, post: str) -> bool:
    """Exactly one holder on every day of 2026: intervals sorted by start meet end to end."""
    spans = sorted(
        (a.since, a.until or dt.date.max)
        for a in session.scalars(
            select(PostAssignment).where(
                PostAssignment.unit_code == unit, PostAssignment.post_name == post
            )
        )
        if (a.until or dt.date.max) >= YEAR_START and a.since <= YEAR_END
    )
    if not spans or spans[0][0] > YEAR_START:
        return False
    end = spans[0][1]
    for since, until in spans[1:]:
        if since != end + dt.timedelta(days=1):
            return False
        end = until
    return end >= YEAR_END


def test_sample_company_is_consistent(company: Session) -> None:
    units = {u.code: u for u in company.scalars(select(Unit))}
    assert org.roots(company) == [SAMPLE_COMPANY]
    assert sorted(org.subtree(company, unit_code=SAMPLE_COMPANY)) == sorted(units)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for unit in units.values():
        by_kind[unit.kind].append(unit.code)
    assert len(by_kind["mine"]) == 4
    assert len(by_kind["branch"]) >= 20 and len(by_kind["group"]) >= 40
    head_of = {
        "company": "党委书记",
        "mine": "党委书记",
        "department": "部门负责人",
        "branch": "党支部书记",
        "group": "党小组组长",
    }
    missing = [
        (code, head_of[unit.kind])
        for code, unit in units.items()
        if not covered(company, code, head_of[unit.kind])
    ]
    assert missing == []
    for branch in by_kind["branch"]:
        for post in ("纪检委员", "组织委员", "宣传委员"):
            assert covered(company, branch, post), (branch, post)
    # Branches hang under a department, a mine or the company; groups under a branch.
    assert {units[units[b].parent_code or ""].kind for b in by_kind["branch"]} <= {
        "department",
        "mine",
        "company",
    }
    assert {units[units[g].parent_code or ""].kind for g in by_kind["group"]} == {"branch"}


def test_sample_people_and_posts(company: Session) -> None:
    people = list(company.scalars(select(Person)))
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", p.name) for p in people)
    assert all(p.contacts.get("mobile") and p.contacts.get("email") for p in people)
    holders = set(company.scalars(select(PostAssignment.person_code)))
    assert all(p.party_member for p in people if p.code in holders)
    assert 0.2 < sum(p.party_member for p in people) / len(people) < 0.9
    used = set(company.scalars(select(PostAssignment.post_name)))
    assert used <= set(company.scalars(select(PostType.name)))
    assert used >= {
        "党委书记",
        "党委副书记",
        "纪委书记",
        "班子成员",
        "董事长",
        "总经理",
        "部门负责人",
        "党支部书记",
        "纪检委员",
        "组织委员",
        "宣传委员",
        "党小组组长",
        "纪检监察人员",
    }
    # Mid-year changes in 2026: a predecessor leaves the day before the successor arrives.
    ending = {
        (a.unit_code, a.post_name, a.until)
        for a in company.scalars(select(PostAssignment).where(PostAssignment.until.is_not(None)))
        if a.until and YEAR_START <= a.until < YEAR_END
    }
    handovers = [
        a
        for a in company.scalars(select(PostAssignment))
        if (a.unit_code, a.post_name, a.since - dt.timedelta(days=1)) in ending
    ]
    assert len(handovers) >= 5
    # The secretary of 东山煤矿综采一队党支部 changes on 1 May; the chain follows the post.
    branch = f"{SAMPLE_COMPANY}-DS-ZC1-ZB"
    (april,) = org.holders(
        company, unit_code=branch, post_name="党支部书记", on=dt.date(2026, 4, 30)
    )
    (may,) = org.holders(company, unit_code=branch, post_name="党支部书记", on=dt.date(2026, 5, 1))
    assert april.code != may.code
    (leader,) = org.holders(
        company, unit_code=f"{branch}-G1", post_name="党小组组长", on=dt.date(2026, 6, 1)
    )
    chain = org.supervisor_chain(company, person_code=leader.code, on=dt.date(2026, 6, 1))
    assert (chain[0].person_code, chain[0].post_name) == (may.code, "党支部书记")
    assert [link.unit_code for link in chain] == [
        branch,
        f"{SAMPLE_COMPANY}-DS-ZC1",
        f"{SAMPLE_COMPANY}-DS",
        SAMPLE_COMPANY,
    ]


def test_the_leadership_team_follows_the_posts(company: Session) -> None:
    """At the company and the mines, on every day of 2026, the 班子成员 are exactly the
    people holding a leadership post there: a seat in the team moves with a handover."""
    leaders = {"党委书记", "党委副书记", "纪委书记", "董事长", "总经理", "副总经理", "矿长"}
    leaders |= {"副矿长", "工会主席"}
    kinds = {u.code: u.kind for u in company.scalars(select(Unit))}
    spans = [
        a
        for a in company.scalars(select(PostAssignment))
        if kinds[a.unit_code] in {"company", "mine"}
    ]
    day = YEAR_START
    while day <= YEAR_END:
        held = [a for a in spans if a.since <= day and (a.until is None or day <= a.until)]
        team = {(a.unit_code, a.person_code) for a in held if a.post_name == "班子成员"}
        posts = {(a.unit_code, a.person_code) for a in held if a.post_name in leaders}
        assert team == posts, (day, team ^ posts)
        day += dt.timedelta(days=1)
    # The group's 纪委书记 retires on 31 August; the successor takes the seat on 1 September.
    team = org.holders(company, unit_code=SAMPLE_COMPANY, post_name="班子成员", on=D(2026, 9, 1))
    assert "100020" in {p.code for p in team} and "100003" not in {p.code for p in team}


def test_sample_files_look_like_an_hr_export() -> None:
    units = (SAMPLE_DIR / "units.csv").read_bytes()
    people = (SAMPLE_DIR / "people.csv").read_bytes()
    assert units.startswith(b"\xef\xbb\xbf")  # Excel's UTF-8 with BOM
    with pytest.raises(UnicodeDecodeError):
        people.decode("utf-8")  # an older system's GBK
    assert people.decode("gbk").startswith("工号,姓名,")
    assert re.search(r",\d{4}/\d{1,2}/\d{1,2},", (SAMPLE_DIR / "posts.csv").read_text("utf-8"))


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    generate_org.write(generate_org.build(random.Random(generate_org.SEED)), tmp_path)
    for name in SAMPLE_FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name
