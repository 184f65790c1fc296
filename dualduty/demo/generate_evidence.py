"""Writes the sample company's evidence (dualduty/demo/evidence/): what the systems of 北辰煤业集团
would export for January to October 2026. Run once; the output is committed.

    python -m dualduty.demo.generate_evidence

The files read like real exports: Chinese headers, columns the packs do not use, one file in GBK
(the old ERP), dates as 2026/3/8, 2026-03-08 14:30 or 2026年3月8日, amounts as 1,200,000.00 and
yes/no as 是/否. Folders are named after the source systems (party = 智慧党建, oa, hr, discipline =
纪检监察, erp, expense = 费用报销, fleet = 公车平台, registry = 企查查 matches). The sample packs'
file sources (rules/packs/*.yaml) point here.

The company is compliant except for the violations planted on purpose. They are listed once, in
``planted()``: the generator follows it, ``planted.csv`` and ``README.md`` document it, and
``tests/packs/test_demo_evidence.py`` checks that the sample packs find exactly those, no more and
no fewer. A seeded generator keeps every run identical.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Protocol

from dualduty.demo.generate_org import FEMALE, GIVEN, SURNAMES
from evidence.tabular import read_table
from evidence.values import parse_date

SEED = 20261105
YEAR = 2026
MONTHS = range(1, 11)  # January to October 2026
YEAR_END = dt.date(YEAR, 12, 31)
EVIDENCE_DIR = Path(__file__).with_name("evidence")
SAMPLE_DIR = Path(__file__).with_name("sample")
SAMPLE_PACKS = ("branch-life", "leadership", "integrity")

# Public holidays of 2026 as the generator avoids them for meetings (approximate: the official
# arrangement with its make-up working days is the holidays file's business, not the demo's).
HOLIDAYS = {
    dt.date(YEAR, 1, 1),
    dt.date(YEAR, 1, 2),
    *(dt.date(YEAR, 2, d) for d in range(15, 24)),
    dt.date(YEAR, 4, 6),
    *(dt.date(YEAR, 5, d) for d in range(1, 6)),
    dt.date(YEAR, 6, 19),
    dt.date(YEAR, 9, 25),
    *(dt.date(YEAR, 10, d) for d in range(1, 9)),
}


def sample_pack_paths() -> list[Path]:
    """The sample packs whose file sources read this folder."""
    import rules

    folder = Path(rules.__file__).parent / "packs"
    return [folder / f"{name}.yaml" for name in SAMPLE_PACKS]


# ---------------------------------------------------------------------------------------------
# The organisation, as the sample HR export states it
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str  # as exported: 公司, 煤矿, 科室, 区队, 部门, 党支部, 党小组
    parent: str | None


@dataclass(frozen=True)
class Person:
    code: str
    name: str
    gender: str
    born: dt.date
    unit: str
    status: str  # 政治面貌

    @property
    def member(self) -> bool:
        return self.status in {"中共党员", "中共预备党员"}

    @property
    def probationary(self) -> bool:
        return self.status == "中共预备党员"


@dataclass(frozen=True)
class Post:
    person: str
    post: str
    unit: str
    since: dt.date
    until: dt.date | None

    def held_on(self, day: dt.date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)


class Org:
    """Lookups over the sample organisation, the way the rules see it."""

    def __init__(self, units: list[Unit], people: list[Person], posts: list[Post]) -> None:
        self.units = {u.code: u for u in units}
        self.unit_order = [u.code for u in units]
        self.people = {p.code: p for p in people}
        self.posts = posts
        self._pools = self._branch_pools()
        self.branch_by_unit = {unit: b for b, pool in self._pools.items() for unit in pool}

    def children(self, code: str, kind: str | None = None) -> list[str]:
        return [
            c
            for c in self.unit_order
            if self.units[c].parent == code and (kind is None or self.units[c].kind == kind)
        ]

    def of_kind(self, *kinds: str) -> list[str]:
        return [c for c in self.unit_order if self.units[c].kind in kinds]

    def holders(self, unit: str, post: str, on: dt.date) -> list[str]:
        return sorted(
            p.person for p in self.posts if p.unit == unit and p.post == post and p.held_on(on)
        )

    def holder(self, unit: str, post: str, on: dt.date) -> str | None:
        found = self.holders(unit, post, on)
        return found[0] if found else None

    def holder_up(self, unit: str, post: str, on: dt.date) -> str | None:
        """The holder at the unit, else at the nearest unit above it (a bearer with ``up``)."""
        current: str | None = unit
        while current is not None:
            found = self.holder(current, post, on)
            if found is not None:
                return found
            current = self.units[current].parent
        return None

    def assignments(self, posts: Iterable[str], on: dt.date) -> list[Post]:
        wanted = set(posts)
        return [p for p in self.posts if p.post in wanted and p.held_on(on)]

    def subjects(self, posts: Iterable[str], on: dt.date) -> dict[str, str]:
        """People holding one of ``posts`` on ``on`` -> the (first) unit where they hold it."""
        found: dict[str, str] = {}
        for entry in sorted(self.assignments(posts, on), key=lambda p: (p.person, p.unit)):
            found.setdefault(entry.person, entry.unit)
        return found

    def since(self, person: str, unit: str, post: str) -> dt.date:
        return min(
            p.since for p in self.posts if (p.person, p.unit, p.post) == (person, unit, post)
        )

    def _branch_pools(self) -> dict[str, list[str]]:
        """Which units' staff belong to which party branch (as generate_org assigned them)."""
        pools: dict[str, list[str]] = {}
        for branch in self.of_kind("党支部"):
            parent = self.units[branch].parent
            assert parent is not None
            kind = self.units[parent].kind
            if kind == "区队":
                pools[branch] = [parent]
            elif kind == "煤矿":
                pools[branch] = [parent, *self.children(parent, "科室")]
        # Headquarters: the first four departments (and the leadership) in the first branch.
        top = self.of_kind("公司")[0]
        departments = self.children(top, "部门")
        first, second = self.children(top, "党支部")
        pools[first] = [top, *departments[:4]]
        pools[second] = departments[4:]
        return pools

    def branch_of(self, person: str) -> str:
        return self.branch_by_unit[self.people[person].unit]

    def members(self, branch: str) -> list[Person]:
        pool = set(self._pools[branch])
        return [p for p in self.people.values() if p.member and p.unit in pool]

    def party_members(self) -> list[Person]:
        return [p for p in self.people.values() if p.member]

    def staff(self, unit: str) -> list[Person]:
        return [p for p in self.people.values() if p.unit == unit]

    def name(self, person: str | None) -> str:
        return self.people[person].name if person else ""


def read_org(folder: Path = SAMPLE_DIR) -> Org:
    units = [
        Unit(r["单位编码"], r["单位名称"], r["单位类型"], r["上级单位"] or None)
        for r in (row.values for row in read_table(folder / "units.csv").rows)
    ]
    people = [
        Person(
            r["工号"], r["姓名"], r["性别"], parse_date(r["出生日期"]), r["所在单位"], r["政治面貌"]
        )
        for r in (row.values for row in read_table(folder / "people.csv").rows)
    ]
    posts = [
        Post(
            r["工号"],
            r["职务"],
            r["任职单位"],
            parse_date(r["任职日期"]),
            parse_date(r["免职日期"]) if r["免职日期"] else None,
        )
        for r in (row.values for row in read_table(folder / "posts.csv").rows)
    ]
    return Org(units, people, posts)


# ---------------------------------------------------------------------------------------------
# The planted violations: the one list the generator follows and the demo test checks
# ---------------------------------------------------------------------------------------------

# Where each violation is planted. Units are named; people are found from the organisation.
MISSED_COMMITTEE = ("BC-XG-JJ1-ZB", 5)  # no 支委会 in May
LATE_COMMITTEE = ("BC-NL-JG", 8, dt.date(YEAR, 9, 2))  # August's 支委会 held on 2 September
MISSED_GROUP_MEETING = ("BC-QSL-JJ1-ZB-G1", 6)  # the group's leader changed on 15 June
MISSED_LECTURE = ("BC-DS-ZC1-ZB", 2)  # no 党课 in Q2; the secretary changed on 1 May
LOW_QUORUM = ("BC-DS-JJ2-ZB", dt.date(YEAR, 8, 14))
MISSED_GENERAL_MEETING = ("BC-QSL-TF-ZB", 3)  # no 党员大会 in Q3
MISSED_PARTY_DAY = ("BC-B2", 9)
LATE_ORG_LIFE = ("BC-XG-TF-ZB", dt.date(YEAR, 4, 16))
NO_SECRETARY_LECTURE = "BC-XG"  # its 党委书记 gives no 党课 all year
TOO_MANY_EXCELLENT = "BC-DS-JG"
NO_HEART_TALK = ("BC-NL-JJ1-ZB", "宣传委员")
LOW_HALF_YEAR_HOURS = "BC-XG-JJ2-ZB"  # its first member
LOW_OFFICER_HOURS = "BC-NL-ZC1-ZB"  # its secretary
LATE_DUES = ("BC-DS-JY-ZB", 9, dt.date(YEAR, 10, 20))  # its second member, September's dues
WRONG_DUES = ("BC-DS", "矿长", 6)  # the director's June dues at 1.5 % of a base above 10,000
INCOMPLETE_RECORD = "BC-QSL-ZC1-ZB"  # its third member has no 入党日期

NO_INTEGRITY_SESSION = ("BC-QSL", 1)  # H1
NO_STUDY_GROUP = ("BC-NL", 2)  # Q2, after the secretary changed on 1 April
NO_SECRETARY_TALK = ("BC-QSL", "副矿长")
LATE_AREA_MEETING = ("BC", "副总经理", 2, dt.date(YEAR, 7, 18))
LATE_PLEDGE = ("BC-NL-AQ", dt.date(YEAR, 4, 9))
LATE_PERSONAL_REPORT = ("BC-XG-SJ", dt.date(YEAR, 2, 6))
NO_APPOINTMENT_TALK = ("BC-XG-CW", "部门负责人")
NO_HEAD_TALK = "BC-DS-JD"
UNREVIEWED_RESOLUTION = ("BC-DS", dt.date(YEAR, 6, 18))
LATE_RECTIFICATION = "BC-XG"
LATE_INQUIRY_REPLY = "BC-XG-ZH"

LATE_DECISION = ("BC-WZ", dt.date(YEAR, 7, 9), dt.date(YEAR, 7, 16))  # contract, decision
SPLIT_PURCHASE = ("BC-DS-JD", (dt.date(YEAR, 4, 8), dt.date(YEAR, 5, 12), dt.date(YEAR, 6, 19)))
RELATED_VENDOR = ("BC-NL-ZH", dt.date(YEAR, 5, 19))
WORK_BEFORE_CONTRACT = ("BC-QSL-SJ", dt.date(YEAR, 7, 10), dt.date(YEAR, 7, 2))
DUPLICATE_INVOICE = ("BC-AJ", dt.date(YEAR, 4, 20), dt.date(YEAR, 5, 11))  # the two claims
OVER_STAFFED_RECEPTION = ("BC-AJ", dt.date(YEAR, 5, 21))
SPLIT_DINING = ("BC-NL-ZH", dt.date(YEAR, 8, 7))
LEISURE_TRIP = ("BC-XG-ZH", dt.date(YEAR, 10, 3))
LATE_GIFT = ("BC-QSL-ZH", dt.date(YEAR, 2, 14), dt.date(YEAR, 4, 1))
GIFT_CARD = ("BC-DQ", dt.date(YEAR, 9, 18))
RELATIVE_HIRED = ("BC-RL", dt.date(YEAR, 3, 2))
UNDECLARED_INTEREST = "BC-SC"  # its head is a supervisor of a firm, undeclared


@dataclass(frozen=True)
class Violation:
    """One planted violation: the failing finding the sample packs must produce for it."""

    pack: str
    rule: str
    catalogue: str
    subject: str
    period: str  # "" for rules without a period
    bearer: str | None
    zh: str
    en: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.subject, self.period)


def _day(value: dt.date) -> str:
    return value.isoformat()


def _members_of(org: Org, branch: str) -> list[str]:
    return sorted(p.code for p in org.members(branch))


def _first(org: Org, unit: str, post: str, on: dt.date) -> str:
    found = org.holder(unit, post, on)
    assert found is not None, f"no {post} at {unit} on {on}"
    return found


def _people_targets(org: Org) -> dict[str, str]:
    """The people the violations are planted on, chosen from the organisation."""
    late_dues_branch = LATE_DUES[0]
    officers = set(org.subjects(OFFICER_POSTS, YEAR_END))  # their extra training is in H1
    return {
        "low_half": next(m for m in _members_of(org, LOW_HALF_YEAR_HOURS) if m not in officers),
        "low_officer": _first(org, LOW_OFFICER_HOURS, "党支部书记", YEAR_END),
        "late_dues": _members_of(org, late_dues_branch)[1],
        "wrong_dues": _first(org, WRONG_DUES[0], WRONG_DUES[1], YEAR_END),
        "incomplete": _members_of(org, INCOMPLETE_RECORD)[2],
        "no_lecture": _first(org, NO_SECRETARY_LECTURE, "党委书记", YEAR_END),
        "no_heart_talk": _first(org, NO_HEART_TALK[0], NO_HEART_TALK[1], YEAR_END),
        "no_secretary_talk": _first(org, NO_SECRETARY_TALK[0], NO_SECRETARY_TALK[1], YEAR_END),
        "late_area": _late_area_person(org),
        "late_pledge": _first(org, LATE_PLEDGE[0], "部门负责人", dt.date(YEAR, 3, 31)),
        "late_report": _first(org, LATE_PERSONAL_REPORT[0], "部门负责人", dt.date(YEAR, 1, 31)),
        "no_appointment_talk": _first(
            org, NO_APPOINTMENT_TALK[0], NO_APPOINTMENT_TALK[1], YEAR_END
        ),
        "no_head_talk": _first(org, NO_HEAD_TALK, "部门负责人", YEAR_END),
        "inquired": _first(org, LATE_INQUIRY_REPLY, "部门负责人", YEAR_END),
        "undeclared": _first(org, UNDECLARED_INTEREST, "部门负责人", YEAR_END),
    }


def _late_area_person(org: Org) -> str:
    """A 副总经理 of the group in post all year (not the one who came from 南岭 in April)."""
    unit, post = LATE_AREA_MEETING[0], LATE_AREA_MEETING[1]
    return next(
        p for p in org.holders(unit, post, YEAR_END) if org.since(p, unit, post).year < YEAR
    )


# What each planted violation is: key -> (pack, rule, catalogue item, 说明, description).
# fmt: off
PLANTS: dict[str, tuple[str, str, str, str, str]] = {
    "A2-missed": ("branch-life", "branch-committee-monthly", "A2", "5 月未召开支委会", "no branch committee meeting in May"),
    "A2-late": ("branch-life", "branch-committee-monthly", "A2", "8 月的支委会 9 月 2 日才补开，逾期不计入", "August's committee meeting held on 2 September: late"),
    "A3-handover": ("branch-life", "party-group-monthly", "A3", "6 月未开党小组会；组长 6 月 15 日交接，由接任者负责", "no group meeting in June; borne by the leader who took over on 15 June"),
    "A4-handover": ("branch-life", "party-lecture-quarterly", "A4", "二季度未上党课；书记 5 月 1 日交接，由接任者负责", "no Party lecture in Q2; borne by the secretary who took over on 1 May"),
    "A1-quorum": ("branch-life", "general-meeting-quorum", "A1", "三季度党员大会到会不足半数", "Q3 general meeting without a majority present"),
    "A1-missed": ("branch-life", "branch-general-meeting-quarterly", "A1", "三季度未召开党员大会", "no general meeting in Q3"),
    "A5-missed": ("branch-life", "themed-party-day-monthly", "A5", "9 月未开展主题党日", "no themed Party day in September"),
    "A6-late": ("branch-life", "org-life-meeting-annual", "A6", "组织生活会 4 月 16 日才召开，超过 3 月 31 日期限", "organisational-life meeting on 16 April, after the 31 March deadline"),
    "A4-secretary": ("branch-life", "secretary-lecture-yearly", "A4", "西沟煤矿党委书记全年未讲党课", "the 西沟 mine's Party secretary gave no lecture"),
    "A7-excellent": ("branch-life", "appraisal-excellent-share", "A7", "民主评议评为优秀的党员超过三分之一", "more than a third rated excellent"),
    "A8-talk": ("branch-life", "committee-heart-talks", "A8", "支部书记全年未与宣传委员谈心谈话", "no heart-to-heart talk with the publicity member"),
    "A10-half": ("branch-life", "member-training-half", "A10", "上半年学习培训只有 12 学时", "only 12 training hours in the first half-year"),
    "A10-officer": ("branch-life", "officer-training-yearly", "A10", "支部书记全年学时不足 56 学时", "a branch secretary below 56 hours"),
    "A11-late": ("branch-life", "dues-monthly", "A11", "9 月党费 10 月 20 日才交纳", "September's dues paid on 20 October"),
    "A11-amount": ("branch-life", "dues-amount", "A11", "月收入超过 1 万元，党费按 1.5% 交纳（应为 2%）", "dues at 1.5 % of an income above 10,000"),
    "A12-record": ("branch-life", "member-record-complete", "A12", "党员信息缺入党日期", "member record without a joining date"),
    "B1-session": ("leadership", "integrity-sessions-half-yearly", "B1", "上半年党委会未专题研究党风廉政建设", "no dedicated integrity session in H1"),
    "B21-study": ("leadership", "theory-study-quarterly", "B21", "二季度中心组未学习；党委书记 4 月 1 日交接，由接任者负责", "no study-group session in Q2; borne by the secretary in post since 1 April"),
    "B3-talk": ("leadership", "secretary-integrity-talks", "B3", "党委书记全年未与一名副矿长廉洁谈话", "no integrity talk with a deputy director"),
    "B4-late": ("leadership", "area-meeting-quarterly", "B4", "二季度“1+X”专题会材料 7 月 18 日才报送", "Q2 '1+X' materials sent on 18 July, after the 10th"),
    "B6-late": ("leadership", "integrity-pledge-by-march", "B6", "党风廉政建设责任书 4 月 9 日才签订", "integrity pledge signed on 9 April"),
    "B12-late": ("leadership", "personal-matters-report", "B12", "个人有关事项报告 2 月 6 日才报送", "personal-matters report filed on 6 February"),
    "B8-no-talk": ("leadership", "pre-appointment-talk", "B8", "7 月 15 日新任财务科长，无任前廉洁谈话", "new head of finance with no pre-appointment talk"),
    "B9-no-talk": ("leadership", "department-head-talks", "B9", "机电科长全年未被约谈", "a department head not talked with all year"),
    "B11-unreviewed": ("leadership", "prior-party-review", "B11", "前置研究事项未经党委会研究即由矿长办公会决定", "a listed matter decided without the Party committee's prior review"),
    "B15-late": ("leadership", "inspection-rectification", "B15", "巡察整改报告超过整改期限报送", "rectification report after its deadline"),
    "B18-late": ("leadership", "inquiry-reply-on-time", "B18", "函询逾期回复", "written inquiry answered after its deadline"),
    "B10-late": ("integrity", "major-procurement-decision", "B10", "大额采购合同签订一周后才集体决策", "collective decision a week after the contract"),
    "C1-split": ("integrity", "split-purchase-goods", "C1", "73 天内向同一供应商三次询比价采购，合计 230 万元", "three purchases from one vendor within 73 days totalling 2.3 million"),
    "C2-related": ("integrity", "vendor-related-to-cadre", "C2", "供应商法定代表人是综合办公室主任申报的配偶", "the vendor's representative is the office head's declared spouse"),
    "C4-early": ("integrity", "work-before-tender", "C4", "工程先开工、后签合同", "works started before the contract"),
    "C5-twice": ("integrity", "duplicate-invoice", "C5", "同一张住宿发票两人分别报销", "one hotel invoice claimed by two people"),
    "C6-companions": ("integrity", "official-reception-standard", "C6", "来宾 4 人、陪餐 6 人", "six companions for four guests"),
    "C7-split": ("integrity", "split-dining-claims", "C7", "同一饭店两日内三张招待费发票，均低于审批限额、合计 4700 元", "three dining invoices from one restaurant over two days, together 4,700"),
    "C8-leisure": ("integrity", "car-leisure-stop", "C8", "国庆假期公车停留旅游景区", "official car at a scenic area during the national holiday"),
    "C9-late": ("integrity", "gift-hand-in-30-days", "C9", "春节收受的礼品 46 天后才上交", "a Spring Festival gift handed in after 46 days"),
    "C9-card": ("integrity", "gift-card-purchase", "C9", "以办公费名义报销超市购物卡", "a supermarket gift card claimed as office supplies"),
    "C10-hire": ("integrity", "hire-relative-avoidance", "C10", "人力资源部负责人的子女入职本部门，未经回避审查", "the HR head's child hired into the department without an avoidance review"),
    "C11-undeclared": ("integrity", "undeclared-outside-interest", "C11", "工商登记显示任外部公司监事，未在个人有关事项中申报", "registered as a firm's supervisor, not declared"),
}
# fmt: on


def planted_violations() -> list[Violation]:
    """The planted violations of the bundled sample company (for the demo and its tests)."""
    return planted(read_org())


def planted(org: Org) -> list[Violation]:
    """Every planted violation, as the failing finding the sample packs must produce: its
    subject, period and bearer (the post holder the rule names, found here from the org)."""
    t = _people_targets(org)
    at, up = org.holder, org.holder_up

    def month(day: dt.date) -> str:
        return f"{day:%Y-%m}"

    def end(month: int) -> dt.date:
        return last_day(month)

    appointee = t["no_appointment_talk"]
    appointed = org.since(appointee, *NO_APPOINTMENT_TALK)
    late_area, quarter_q2 = t["late_area"], LATE_AREA_MEETING[2]
    wrong_dues, june = t["wrong_dues"], dt.date(YEAR, WRONG_DUES[2], 12)
    # fmt: off
    rows: list[tuple[str, str, str, str | None]] = [  # key, subject, period, bearer
        ("A2-missed", MISSED_COMMITTEE[0], month(end(MISSED_COMMITTEE[1])), at(MISSED_COMMITTEE[0], "党支部书记", end(MISSED_COMMITTEE[1]))),
        ("A2-late", LATE_COMMITTEE[0], month(end(LATE_COMMITTEE[1])), at(LATE_COMMITTEE[0], "党支部书记", end(LATE_COMMITTEE[1]))),
        ("A3-handover", MISSED_GROUP_MEETING[0], month(end(MISSED_GROUP_MEETING[1])), at(MISSED_GROUP_MEETING[0], "党小组组长", end(MISSED_GROUP_MEETING[1]))),
        ("A4-handover", MISSED_LECTURE[0], f"{YEAR}-Q{MISSED_LECTURE[1]}", at(MISSED_LECTURE[0], "党支部书记", end(3 * MISSED_LECTURE[1]))),
        ("A1-quorum", f"{LOW_QUORUM[0]}/党员大会/{LOW_QUORUM[1]:%Y-%m-%d}", month(LOW_QUORUM[1]), at(LOW_QUORUM[0], "党支部书记", LOW_QUORUM[1])),
        ("A1-missed", MISSED_GENERAL_MEETING[0], f"{YEAR}-Q{MISSED_GENERAL_MEETING[1]}", at(MISSED_GENERAL_MEETING[0], "党支部书记", end(3 * MISSED_GENERAL_MEETING[1]))),
        ("A5-missed", MISSED_PARTY_DAY[0], month(end(MISSED_PARTY_DAY[1])), at(MISSED_PARTY_DAY[0], "党支部书记", end(MISSED_PARTY_DAY[1]))),
        ("A6-late", LATE_ORG_LIFE[0], str(YEAR), at(LATE_ORG_LIFE[0], "党支部书记", dt.date(YEAR, 3, 31))),
        ("A4-secretary", t["no_lecture"], str(YEAR), t["no_lecture"]),
        ("A7-excellent", f"{TOO_MANY_EXCELLENT}/{YEAR - 1}", f"{YEAR}-03", at(TOO_MANY_EXCELLENT, "党支部书记", dt.date(YEAR, 3, 10))),
        ("A8-talk", t["no_heart_talk"], str(YEAR), at(NO_HEART_TALK[0], "党支部书记", YEAR_END)),
        ("A10-half", t["low_half"], f"{YEAR}-H1", t["low_half"]),
        ("A10-officer", t["low_officer"], str(YEAR), t["low_officer"]),
        ("A11-late", t["late_dues"], month(end(LATE_DUES[1])), t["late_dues"]),
        ("A11-amount", f"{wrong_dues}/{month(june)}", month(june), at(org.branch_of(wrong_dues), "组织委员", june)),
        ("A12-record", t["incomplete"], "", at(org.branch_of(t["incomplete"]), "组织委员", end(10))),
        ("B1-session", NO_INTEGRITY_SESSION[0], f"{YEAR}-H{NO_INTEGRITY_SESSION[1]}", at(NO_INTEGRITY_SESSION[0], "党委书记", end(6))),
        ("B21-study", NO_STUDY_GROUP[0], f"{YEAR}-Q{NO_STUDY_GROUP[1]}", at(NO_STUDY_GROUP[0], "党委书记", end(6))),
        ("B3-talk", t["no_secretary_talk"], str(YEAR), at(NO_SECRETARY_TALK[0], "党委书记", YEAR_END)),
        ("B4-late", late_area, f"{YEAR}-Q{quarter_q2}", late_area),
        ("B6-late", t["late_pledge"], str(YEAR), up(LATE_PLEDGE[0], "党委书记", dt.date(YEAR, 3, 31))),
        ("B12-late", t["late_report"], str(YEAR), up(LATE_PERSONAL_REPORT[0], "党委书记", dt.date(YEAR, 1, 31))),
        ("B8-no-talk", f"{_appointment_no(org, appointee, *NO_APPOINTMENT_TALK)}/{appointee}", month(appointed), up(NO_APPOINTMENT_TALK[0], "纪委书记", appointed)),
        ("B9-no-talk", t["no_head_talk"], str(YEAR), up(NO_HEAD_TALK, "纪委书记", YEAR_END)),
        ("B11-unreviewed", _resolution_id(*UNREVIEWED_RESOLUTION), month(UNREVIEWED_RESOLUTION[1]), at(UNREVIEWED_RESOLUTION[0], "党委书记", UNREVIEWED_RESOLUTION[1])),
        ("B15-late", _feedback_id(LATE_RECTIFICATION), month(_RECTIFICATIONS[LATE_RECTIFICATION][1]), at(LATE_RECTIFICATION, "党委书记", _RECTIFICATIONS[LATE_RECTIFICATION][1])),
        ("B18-late", _inquiry_id(LATE_INQUIRY_REPLY), month(_INQUIRIES[LATE_INQUIRY_REPLY][1]), up(LATE_INQUIRY_REPLY, "党委书记", _INQUIRIES[LATE_INQUIRY_REPLY][1])),
        ("B10-late", _contract_no("late_decision"), month(LATE_DECISION[1]), up(LATE_DECISION[0], "部门负责人", LATE_DECISION[1])),
        ("C1-split", f"{SPLIT_PURCHASE[0]}/{_SPLIT_VENDOR}", month(SPLIT_PURCHASE[1][-1]), up(SPLIT_PURCHASE[0], "部门负责人", SPLIT_PURCHASE[1][-1])),
        ("C2-related", _contract_no("related_vendor"), month(RELATED_VENDOR[1]), up(RELATED_VENDOR[0], "部门负责人", RELATED_VENDOR[1])),
        ("C4-early", _contract_no("work_before_contract"), month(WORK_BEFORE_CONTRACT[1]), up(WORK_BEFORE_CONTRACT[0], "部门负责人", WORK_BEFORE_CONTRACT[1])),
        ("C5-twice", "/".join(_DUP_INVOICE), month(DUPLICATE_INVOICE[2]), None),
        ("C6-companions", _reception_id(OVER_STAFFED_RECEPTION[1]), month(OVER_STAFFED_RECEPTION[1]), up(OVER_STAFFED_RECEPTION[0], "部门负责人", OVER_STAFFED_RECEPTION[1])),
        ("C7-split", f"{SPLIT_DINING[0]}/{_SPLIT_DINING_TAX_ID}", month(SPLIT_DINING[1]), up(SPLIT_DINING[0], "部门负责人", SPLIT_DINING[1] + dt.timedelta(days=1))),
        ("C8-leisure", _trip_no(LEISURE_TRIP[1]), month(LEISURE_TRIP[1]), up(LEISURE_TRIP[0], "部门负责人", LEISURE_TRIP[1])),
        ("C9-late", _gift_id(LATE_GIFT[2]), month(LATE_GIFT[2]), None),
        ("C9-card", _GIFT_CARD_SUBJECT, month(GIFT_CARD[1]), up(GIFT_CARD[0], "部门负责人", GIFT_CARD[1])),
        ("C10-hire", _RELATIVE_HIRE_CODE, month(RELATIVE_HIRED[1]), up(RELATIVE_HIRED[0], "部门负责人", RELATIVE_HIRED[1])),
        ("C11-undeclared", f"{t['undeclared']}/{_UNDECLARED_FIRM[1]}/监事", "", None),
    ]
    # fmt: on
    assert {row[0] for row in rows} == set(PLANTS), "every plant needs its row"
    return [
        Violation(*PLANTS[key][:3], subject, period, bearer, *PLANTS[key][3:])
        for key, subject, period, bearer in rows
    ]


# Identifiers the planted list and the generator share.
_SPLIT_VENDOR = "V021"
_SPLIT_DINING_TAX_ID = "91140700MA0XCJ8821"
_DUP_INVOICE = ("014002600211", "02718846")
_GIFT_CARD_SUBJECT = "BX-2026-09-0417/014002600256/05530218"
_RELATIVE_HIRE_CODE = "20260003"
_UNDECLARED_FIRM = ("大同晋北煤机配件有限公司", "91140200MA0LQH7K3F")
_RECTIFICATIONS = {  # unit -> (feedback date, deadline, report date)
    "BC-DS": (dt.date(YEAR, 3, 16), dt.date(YEAR, 5, 15), dt.date(YEAR, 5, 12)),
    "BC-XG": (dt.date(YEAR, 6, 12), dt.date(YEAR, 8, 12), dt.date(YEAR, 8, 26)),
    "BC-QSL": (dt.date(YEAR, 8, 20), dt.date(YEAR, 10, 20), dt.date(YEAR, 10, 16)),
}
_INQUIRIES = {  # unit whose head is inquired of -> (sent, reply due, replied)
    "BC-DS-AQ": (dt.date(YEAR, 4, 8), dt.date(YEAR, 4, 29), dt.date(YEAR, 4, 24)),
    "BC-XG-ZH": (dt.date(YEAR, 6, 9), dt.date(YEAR, 6, 30), dt.date(YEAR, 7, 8)),
    "BC-WZ": (dt.date(YEAR, 9, 14), dt.date(YEAR, 10, 12), dt.date(YEAR, 10, 9)),
}
_PLANTED_CONTRACTS = {"late_decision": 901, "related_vendor": 902, "work_before_contract": 903}


def _contract_no(which: str) -> str:
    return f"HT-{YEAR}-{_PLANTED_CONTRACTS[which]:04d}"


def _resolution_id(unit: str, day: dt.date) -> str:
    return f"{unit.removeprefix('BC-') or 'BC'}-JY-{day:%Y%m%d}"


def _feedback_id(unit: str) -> str:
    return f"XC-{YEAR}-{list(_RECTIFICATIONS).index(unit) + 1:02d}"


def _inquiry_id(unit: str) -> str:
    return f"HX-{YEAR}-{list(_INQUIRIES).index(unit) + 1:02d}"


def _reception_id(day: dt.date) -> str:
    return f"JD-{day:%Y%m%d}-01"


def _trip_no(day: dt.date) -> str:
    return f"PC-{day:%Y%m%d}-09"


def _gift_id(handed: dt.date) -> str:
    return f"LP-{handed:%Y%m%d}-01"


def appointments(org: Org) -> list[Post]:
    """Cadre appointments of the year, as the HR system records them (in date order)."""
    return sorted(
        (p for p in org.posts if p.since.year == YEAR and p.post in CADRE_POSTS),
        key=lambda p: (p.since, p.person),
    )


def _appointment_no(org: Org, person: str, unit: str, post: str) -> str:
    """任免文号: 党委 appoints to Party posts (党任), the company to the others (人任)."""
    number = next(
        index
        for index, p in enumerate(appointments(org), start=1)
        if (p.person, p.unit, p.post) == (person, unit, post)
    )
    party = post in {"党委书记", "纪委书记", "党委副书记"}
    return f"北辰{'党' if party else '人'}任〔{YEAR}〕{number}号"


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


@dataclass
class Export:
    """One exported file: its path under the evidence folder, header, rows and encoding."""

    path: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    encoding: str = "utf-8-sig"  # Excel's "CSV UTF-8"

    def add(self, *values: object) -> None:
        assert len(values) == len(self.header), (self.path, values)
        self.rows.append(["" if v is None else str(v) for v in values])

    def content(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return buffer.getvalue().encode(self.encoding)


def slash(day: dt.date | None) -> str:
    return f"{day.year}/{day.month}/{day.day}" if day else ""


def chinese(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def is_workday(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


def last_day(month: int) -> dt.date:
    nxt = dt.date(YEAR + month // 12, month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def quarter_months(quarter: int) -> list[int]:
    return [3 * quarter - 2, 3 * quarter - 1, 3 * quarter]


class MeetingAdder(Protocol):
    def __call__(
        self,
        unit: str,
        kind: str,
        month: int,
        day: dt.date,
        expected: int,
        attended: int,
        host: str | None,
        lecturer: str | None = None,
        topic: str = "",
    ) -> None: ...


class Generator:
    """Builds every export from the organisation, the planted list and one seeded random."""

    def __init__(self, org: Org, seed: int = SEED) -> None:
        self.org = org
        self.rng = random.Random(seed)
        self.targets = _people_targets(org)
        self.names: set[str] = {p.name for p in org.people.values()}
        self.exports: dict[str, Export] = {}
        self.committee_meetings: dict[str, list[tuple[str, dt.date]]] = defaultdict(list)
        # The planted relatives: the buyer head's spouse runs a vendor; the HR head's child is hired.
        self.related_rep = self.new_name(female=True)
        hr_head = org.holder(RELATIVE_HIRED[0], "部门负责人", RELATIVE_HIRED[1])
        self.relative_hire = self.new_name(org.name(hr_head)[0])

    # -- helpers -----------------------------------------------------------------------------

    def export(self, path: str, columns: str, encoding: str = "utf-8-sig") -> Export:
        """A new export file; ``columns`` is its header, the column names separated by spaces."""
        self.exports[path] = Export(path, columns.split(), encoding=encoding)
        return self.exports[path]

    def workday(self, month: int, low: int = 1, high: int = 31) -> dt.date:
        """A working day of ``month`` between the ``low``-th and ``high``-th (any working day of
        the month when holidays cover that span, as Spring Festival does in February)."""
        days = [dt.date(YEAR, month, d) for d in range(1, last_day(month).day + 1)]
        working = [d for d in days if is_workday(d)]
        return self.rng.choice([d for d in working if low <= d.day <= high] or working)

    def after(self, day: dt.date, low: int, high: int) -> dt.date:
        """A working day ``low``–``high`` days after ``day``."""
        candidate = day + dt.timedelta(days=self.rng.randint(low, high))
        while not is_workday(candidate):
            candidate += dt.timedelta(days=1)
        return candidate

    def new_name(self, surname: str | None = None, female: bool | None = None) -> str:
        while True:
            given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2))))
            if female is not None and (given[-1] in FEMALE) != female:
                continue
            name = (surname or self.rng.choice(SURNAMES)) + given
            if name not in self.names:
                self.names.add(name)
                return name

    def clock(self, day: dt.date) -> str:
        return f"{day.isoformat()} {self.rng.choice(('09:00', '10:00', '14:30', '15:00', '16:00'))}"

    def run(self) -> dict[str, Export]:
        self.meetings()
        self.appraisals()
        self.training()
        self.dues_and_members()
        self.talks()
        self.committee()
        self.area_meetings()
        self.reports_and_pledges()
        self.appointments()
        self.resolutions()
        self.rectifications()
        self.inquiries()
        self.procurement()
        self.family_and_interests()
        self.invoices()
        self.receptions()
        self.trips()
        self.gifts()
        self.hires()
        return self.exports

    # -- 智慧党建: 三会一课、主题党日、组织生活会 ----------------------------------------------------

    def meetings(self) -> None:
        org = self.org
        out = self.export(
            "party/meetings.csv",
            "组织编码 组织名称 会议类型 所属月份 召开时间 会议地点 应到人数 实到人数 主持人工号 主持人 授课人工号 授课人 会议主题 审核状态",
        )

        def add(
            unit: str,
            kind: str,
            month: int,
            day: dt.date,
            expected: int,
            attended: int,
            host: str | None,
            lecturer: str | None = None,
            topic: str = "",
        ) -> None:
            out.add(
                unit,
                org.units[unit].name,
                kind,
                f"{YEAR}-{month:02d}",
                self.clock(day),
                self.rng.choice(("党员活动室", "会议室", "班前会议室")),
                expected,
                attended,
                host,
                org.name(host),
                lecturer,
                org.name(lecturer),
                topic,
                "已审核",
            )

        for branch in org.of_kind("党支部"):
            self.branch_meetings(add, branch)
        # 七一 lectures by each Party committee secretary (one of them gives none).
        for unit in org.of_kind("公司", "煤矿"):
            if unit == NO_SECRETARY_LECTURE:
                continue
            branch = org.children(unit, "党支部")[0]
            size = len(org.members(branch))
            day = self.workday(6, 26, 30)
            add(
                branch,
                "党课",
                6,
                day,
                size,
                size - 2,
                org.holder(branch, "党支部书记", day),
                org.holder(unit, "党委书记", day),
                "七一专题党课",
            )

    def branch_meetings(self, add: MeetingAdder, branch: str) -> None:
        org = self.org
        size = len(org.members(branch))
        groups = org.children(branch, "党小组")
        party_day = self.rng.randint(12, 20)
        quarter_month = {q: self.rng.choice(quarter_months(q)) for q in (1, 2, 3, 4)}
        if branch == LOW_QUORUM[0]:
            quarter_month[3] = LOW_QUORUM[1].month

        def secretary(day: dt.date) -> str | None:
            return org.holder(branch, "党支部书记", day)

        def present() -> int:
            return max(size // 2 + 1, size - self.rng.randint(0, 3))

        # 组织生活会 for the year before, in January to March (one branch late).
        held = (
            LATE_ORG_LIFE[1]
            if branch == LATE_ORG_LIFE[0]
            else self.workday(self.rng.choice((1, 3)), 5, 27)
        )
        add(
            branch,
            "组织生活会",
            held.month,
            held,
            size,
            present(),
            secretary(held),
            topic=f"{YEAR - 1}年度组织生活会",
        )
        for month in MONTHS:
            if (branch, month) != MISSED_COMMITTEE:
                late = (branch, month) == LATE_COMMITTEE[:2]
                day = LATE_COMMITTEE[2] if late else self.workday(month, 3, 11)
                add(
                    branch,
                    "支委会",
                    month,
                    day,
                    4,
                    self.rng.choice((3, 4, 4)),
                    secretary(day),
                    topic="研究本月支部工作",
                )
            if (branch, month) != MISSED_PARTY_DAY:
                day = self.workday(month, party_day, party_day + 6)
                add(
                    branch,
                    "主题党日",
                    month,
                    day,
                    size,
                    present(),
                    secretary(day),
                    topic=self.rng.choice(THEMES),
                )
            quarter = (month - 1) // 3 + 1
            if quarter_month[quarter] == month:
                # The quarter's 党员大会 and 党课, before the 26th (clear of the 七一 lectures).
                if (branch, quarter) != MISSED_GENERAL_MEETING:
                    if branch == LOW_QUORUM[0] and quarter == 3:
                        day, attended = LOW_QUORUM[1], size // 2 - 1
                    else:
                        day, attended = self.workday(month, 3, 25), present()
                    add(
                        branch,
                        "党员大会",
                        month,
                        day,
                        size,
                        attended,
                        secretary(day),
                        topic="通报支部工作、讨论党员发展",
                    )
                if (branch, quarter) != MISSED_LECTURE:
                    day = self.workday(month, 3, 25)
                    add(
                        branch,
                        "党课",
                        month,
                        day,
                        size,
                        present(),
                        secretary(day),
                        secretary(day),
                        self.rng.choice(LECTURES),
                    )
            for group in groups:
                if (group, month) == MISSED_GROUP_MEETING:
                    continue
                day = self.workday(month, 13, 24)
                members = max(3, size // len(groups))
                add(
                    group,
                    "党小组会",
                    month,
                    day,
                    members,
                    members - self.rng.randint(0, 1),
                    org.holder(group, "党小组组长", day),
                    topic="学习讨论",
                )

    def appraisals(self) -> None:
        org = self.org
        out = self.export(
            "party/appraisal.csv",
            "支部编码 支部名称 评议年度 评议日期 参评党员数 优秀 合格 基本合格 不合格",
        )
        for branch in org.of_kind("党支部"):
            size = len(org.members(branch))
            excellent = size // 2 + 1 if branch == TOO_MANY_EXCELLENT else size // 5
            basic = 1 if size > 12 and self.rng.random() < 0.3 else 0
            day = (
                self.workday(3, 2, 10)
                if branch == TOO_MANY_EXCELLENT
                else self.workday(self.rng.choice((1, 3)), 5, 27)
            )
            out.add(
                branch,
                org.units[branch].name,
                YEAR - 1,
                chinese(day),
                size,
                excellent,
                size - excellent - basic,
                basic,
                0,
            )

    def training(self) -> None:
        org = self.org
        out = self.export(
            "party/training.csv",
            "工号 姓名 所在支部 课程名称 培训形式 学时 培训日期",
        )
        officers = set(org.subjects(OFFICER_POSTS, YEAR_END))
        for person in sorted(org.party_members(), key=lambda p: p.code):
            branch = org.units[org.branch_of(person.code)].name
            sessions: list[tuple[str, str, int, dt.date]] = []
            if person.code == self.targets["low_half"]:
                sessions += [
                    (COURSES[0], "集中培训", 8, self.workday(3, 2, 27)),
                    (COURSES[4], "集中培训", 4, self.workday(5, 6, 29)),
                    (COURSES[5], "网络学习", 8, self.workday(7, 1, 30)),
                ]
            else:
                sessions += [
                    (COURSES[0], "集中培训", 8, self.workday(3, 2, 27)),
                    (COURSES[1], "集中培训", self.rng.choice((8, 10, 12)), self.workday(5, 6, 29)),
                ]
            sessions += [
                (COURSES[2], "网络学习", 8, self.workday(self.rng.choice((7, 8)), 1, 28)),
                (COURSES[3], "集中培训", 8, self.workday(self.rng.choice((9, 10)), 9, 28)),
            ]
            if person.code in officers and person.code != self.targets["low_officer"]:
                sessions.append((COURSES[6], "脱产培训", 24, self.workday(4, 13, 17)))
            for course, mode, hours, day in sessions:
                out.add(person.code, person.name, branch, course, mode, hours, slash(day))

    def dues_and_members(self) -> None:
        org = self.org
        dues = self.export(
            "party/dues.csv",
            "工号 姓名 所在支部编码 所在支部 所属月份 计缴基数 交纳比例 交纳金额 交纳日期 交纳方式",
        )
        members = self.export(
            "party/members.csv",
            "工号 姓名 性别 所在支部编码 所在支部 党员类别 入党日期 转正日期 党费标准 联系电话",
        )
        leaders = set(org.subjects(["班子成员"], YEAR_END))
        heads = set(org.subjects(["部门负责人"], YEAR_END))
        for person in sorted(org.party_members(), key=lambda p: p.code):
            branch = org.branch_of(person.code)
            base = self.base_income(person, leaders, heads)
            rate = dues_rate(base)
            standard = cents(base * rate)
            joined = self.joined(person)
            full = (
                None if person.probationary else dt.date(joined.year + 1, joined.month, joined.day)
            )
            members.add(
                person.code,
                person.name,
                person.gender,
                branch,
                org.units[branch].name,
                "预备党员" if person.probationary else "正式党员",
                "" if person.code == self.targets["incomplete"] else slash(joined),
                slash(full),
                standard,
                "",
            )
            way = self.rng.choice(("微信缴纳", "微信缴纳", "现金", "银行代扣"))
            for month in MONTHS:
                amount = standard
                paid = self.workday(month, 5, 26)
                if person.code == self.targets["late_dues"] and month == LATE_DUES[1]:
                    paid = LATE_DUES[2]
                if person.code == self.targets["wrong_dues"] and month == WRONG_DUES[2]:
                    amount, paid = cents(base * Decimal("0.015")), dt.date(YEAR, month, 12)
                dues.add(
                    person.code,
                    person.name,
                    branch,
                    org.units[branch].name,
                    f"{YEAR}-{month:02d}",
                    base,
                    f"{rate * 100:.1f}%",
                    amount,
                    slash(paid),
                    way,
                )

    def base_income(self, person: Person, leaders: set[str], heads: set[str]) -> Decimal:
        kind = self.org.units[person.unit].kind
        if person.code in leaders:
            low, high = 12000, 18000
        elif person.code in heads:
            low, high = 9000, 13000
        elif person.probationary:
            low, high = 2600, 4800
        elif kind == "区队":
            low, high = 6500, 11000
        else:
            low, high = 4200, 9000
        return Decimal(self.rng.randrange(low, high, 10))

    def joined(self, person: Person) -> dt.date:
        if person.probationary:
            return dt.date(YEAR - 1, self.rng.choice((6, 7, 12)), 1)
        year = min(YEAR - 2, person.born.year + self.rng.randint(21, 32))
        return dt.date(year, self.rng.choice((1, 5, 7, 10, 12)), 1)

    # -- 纪检监察: 谈话 -------------------------------------------------------------------------

    def talks(self) -> None:
        org = self.org
        out = self.export(
            "discipline/talks.csv",
            "谈话编号 谈话类型 谈话人工号 谈话人 谈话人职务 谈话对象工号 谈话对象 谈话对象单位编码 谈话日期 谈话地点 谈话要点",
        )
        counter = 0

        def add(
            kind: str,
            talker: str | None,
            talker_post: str,
            talkee: str,
            unit: str,
            day: dt.date,
            note: str,
        ) -> None:
            nonlocal counter
            counter += 1
            out.add(
                f"TH-{YEAR}-{counter:04d}",
                kind,
                talker,
                org.name(talker),
                talker_post,
                talkee,
                org.name(talkee),
                unit,
                slash(day),
                self.rng.choice(
                    ("书记办公室", "党员活动室")
                    if kind == "谈心谈话"
                    else ("书记办公室", "纪委谈话室")
                ),
                note,
            )

        def day_from(start: dt.date) -> dt.date:
            """A working day between February (or the start of the post) and October."""
            first = max(start, dt.date(YEAR, 2, 1))
            if first.day > 20:
                first = last_day(first.month) + dt.timedelta(days=1)
            month = self.rng.randint(first.month, 10)
            return self.workday(month, first.day if month == first.month else 3, 26)

        # A8 支部书记 ↔ 支委 (one committee member is left out)
        for branch in org.of_kind("党支部"):
            for post in ("纪检委员", "组织委员", "宣传委员"):
                member = org.holder(branch, post, YEAR_END)
                if member is None or (branch, post) == NO_HEART_TALK:
                    continue
                day = day_from(org.since(member, branch, post))
                add(
                    "谈心谈话",
                    org.holder(branch, "党支部书记", day),
                    "党支部书记",
                    member,
                    org.people[member].unit,
                    day,
                    "思想工作情况交流",
                )
        # B3 党委书记 → each leadership-team member (one deputy director is left out)
        for person, unit in org.subjects(LEADERS_TALKED_WITH, YEAR_END).items():
            if person == self.targets["no_secretary_talk"]:
                continue
            posts = [p for p in org.posts if p.person == person and p.unit == unit]
            day = day_from(max(p.since for p in posts))
            add(
                "廉洁谈话",
                org.holder(unit, "党委书记", day),
                "党委书记",
                person,
                unit,
                day,
                "落实一岗双责，廉洁从业提醒",
            )
        # B9 纪委书记 → each department head (one is left out)
        for person, unit in org.subjects(["部门负责人"], YEAR_END).items():
            if person == self.targets["no_head_talk"]:
                continue
            day = day_from(org.since(person, unit, "部门负责人"))
            add(
                self.rng.choice(("约谈", "廉政谈话")),
                org.holder_up(unit, "纪委书记", day),
                "纪委书记",
                person,
                unit,
                day,
                "分管领域廉政风险防控",
            )
        # B8 任前廉洁谈话 (one new appointee has none)
        for appointment in appointments(self.org):
            if (appointment.unit, appointment.post) == NO_APPOINTMENT_TALK:
                continue
            day = appointment.since - dt.timedelta(days=self.rng.randint(3, 8))
            while not is_workday(day):
                day -= dt.timedelta(days=1)
            add(
                "任前廉洁谈话",
                org.holder("BC", "纪委书记", day),
                "纪委书记",
                appointment.person,
                appointment.unit,
                day,
                "任前廉洁谈话",
            )

    # -- OA: 党委会、中心组、民主生活会、"1+X"、报告、责任书、决议 ----------------------------------

    def committee(self) -> None:
        org = self.org
        out = self.export(
            "oa/committee_meetings.csv",
            "会议编号 单位编码 单位名称 会议类型 召开日期 主持人 议题 出席人数",
        )
        for unit in org.of_kind("公司", "煤矿"):
            short = unit.removeprefix("BC-") if unit != "BC" else "BC"
            counter = 0

            def add(
                kind: str, day: dt.date, topics: list[str], unit: str = unit, short: str = short
            ) -> str:
                nonlocal counter
                counter += 1
                prefix = {"党委会": "DW", "理论学习中心组学习": "ZX", "民主生活会": "MS"}[kind]
                meeting_id = f"{prefix}-{short}-{YEAR}-{counter:03d}"
                out.add(
                    meeting_id,
                    unit,
                    org.units[unit].name,
                    kind,
                    slash(day),
                    org.name(org.holder(unit, "党委书记", day)),
                    "；".join(topics),
                    len(org.holders(unit, "班子成员", day)),
                )
                if kind == "党委会":
                    self.committee_meetings[unit].append((meeting_id, day))
                return meeting_id

            held = self.workday(1, 19, 30)
            add("民主生活会", held, [f"{YEAR - 1}年度民主生活会", "对照检查"])
            for month in MONTHS:
                for low, high in ((3, 12), (17, 26)):
                    topics = self.rng.sample(COMMITTEE_TOPICS, 2)
                    skipped = unit == NO_INTEGRITY_SESSION[0] and month <= 6
                    if month in (3, 9) and low == 3 and not skipped:
                        topics.append("党风廉政建设")
                    if month in (5, 10) and low == 17:
                        topics.append("听取纪委工作汇报")
                    add("党委会", self.workday(month, low, high), topics)
                quarter = (month - 1) // 3 + 1
                if month % 3 == 2 and (unit, quarter) != NO_STUDY_GROUP:
                    add(
                        "理论学习中心组学习",
                        self.workday(month, 20, 28),
                        [self.rng.choice(STUDY_TOPICS)],
                    )

    def area_meetings(self) -> None:
        org = self.org
        out = self.export(
            "oa/area_meetings.csv",
            "召集人工号 召集人 单位编码 分管领域 所属季度 召开日期 材料报送日期 会议主题",
        )
        for quarter in (1, 2, 3):
            end = last_day(3 * quarter)
            for person, unit in org.subjects(["班子成员"], end).items():
                held = self.workday(3 * quarter, 8, 26)
                if (person, quarter) == (self.targets["late_area"], LATE_AREA_MEETING[2]):
                    sent = LATE_AREA_MEETING[3]
                else:
                    sent = self.after(end, 1, 6)
                    if sent.day > 10:
                        sent = dt.date(sent.year, sent.month, 9)
                out.add(
                    person,
                    org.name(person),
                    unit,
                    self.rng.choice(AREAS),
                    f"{YEAR}-Q{quarter}",
                    slash(held),
                    slash(sent),
                    "“1+X”全面从严治党专题会",
                )

    def reports_and_pledges(self) -> None:
        org = self.org
        reports = self.export(
            "oa/cadre_reports.csv",
            "工号 姓名 单位编码 报告类型 报告年度 提交日期 审核状态",
        )
        pledges = self.export(
            "oa/pledges.csv",
            "责任书编号 签订人工号 签订人 单位编码 责任书年度 签订日期 责任书名称",
        )
        january = dt.date(YEAR, 1, 31)
        for person, unit in org.subjects(["班子成员", "部门负责人"], january).items():
            reports.add(
                person,
                org.name(person),
                unit,
                "述责述廉报告",
                YEAR - 1,
                slash(self.workday(1, 5, 27)),
                "已审核",
            )
            sent = self.workday(1, 6, 29)
            if person == self.targets["late_report"]:
                sent = LATE_PERSONAL_REPORT[1]
            reports.add(
                person, org.name(person), unit, "个人有关事项报告", YEAR - 1, slash(sent), "已审核"
            )
        for person, unit in org.subjects(["班子成员"], dt.date(YEAR, 6, 30)).items():
            reports.add(
                person,
                org.name(person),
                unit,
                "分管领域从严治党检查报告",
                YEAR,
                slash(self.workday(6, 8, 29)),
                "已审核",
            )
        for number, (person, unit) in enumerate(
            org.subjects(["班子成员", "部门负责人"], dt.date(YEAR, 3, 31)).items(), start=1
        ):
            signed = self.workday(self.rng.choice((2, 3)), 2, 20)
            if person == self.targets["late_pledge"]:
                signed = LATE_PLEDGE[1]
            pledges.add(
                f"ZRS-{YEAR}-{number:03d}",
                person,
                org.name(person),
                unit,
                YEAR,
                slash(signed),
                f"{YEAR}年度党风廉政建设责任书",
            )

    def appointments(self) -> None:
        org = self.org
        out = self.export(
            "hr/appointments.csv",
            "任免文号 工号 姓名 任职单位编码 任职单位 职务 任职日期 任免类型",
        )
        for appointment in appointments(self.org):
            out.add(
                _appointment_no(org, appointment.person, appointment.unit, appointment.post),
                appointment.person,
                org.name(appointment.person),
                appointment.unit,
                org.units[appointment.unit].name,
                appointment.post,
                slash(appointment.since),
                "任职",
            )

    def resolutions(self) -> None:
        org = self.org
        out = self.export(
            "oa/board_resolutions.csv",
            "决议编号 单位编码 会议类型 决议日期 决议事项 是否前置研究事项 前置研究会议编号",
        )
        for unit in org.of_kind("公司", "煤矿"):
            body = "董事会" if unit == "BC" else "矿长办公会"
            for month in MONTHS:
                day = self.workday(month, 14, 28)
                unreviewed = (unit, month) == (
                    UNREVIEWED_RESOLUTION[0],
                    UNREVIEWED_RESOLUTION[1].month,
                )
                if unreviewed:
                    day = UNREVIEWED_RESOLUTION[1]
                listed = self.rng.random() < 0.6 or unreviewed
                prior = ""
                if listed and not unreviewed:
                    earlier = [m for m, held in self.committee_meetings[unit] if held < day]
                    prior = earlier[-1]
                item = self.rng.choice(RESOLUTION_ITEMS if listed else ROUTINE_ITEMS)
                out.add(
                    _resolution_id(unit, day),
                    unit,
                    body,
                    slash(day),
                    item,
                    "是" if listed else "否",
                    prior,
                )

    # -- 纪检监察: 巡察整改、函询 ------------------------------------------------------------------

    def rectifications(self) -> None:
        org = self.org
        feedback = self.export(
            "discipline/inspection_feedback.csv",
            "反馈编号 被巡察单位编码 被巡察单位 巡察组 反馈日期 整改期限 问题数量",
        )
        reports = self.export(
            "discipline/rectification_reports.csv",
            "反馈编号 单位编码 报送日期 整改完成率",
        )
        for number, (unit, (fed, deadline, sent)) in enumerate(_RECTIFICATIONS.items(), start=1):
            feedback.add(
                _feedback_id(unit),
                unit,
                org.units[unit].name,
                f"集团第{number}巡察组",
                slash(fed),
                slash(deadline),
                self.rng.randint(6, 15),
            )
            reports.add(_feedback_id(unit), unit, slash(sent), f"{self.rng.randint(85, 100)}%")

    def inquiries(self) -> None:
        org = self.org
        sent_out = self.export(
            "discipline/inquiries.csv",
            "函询编号 被函询人工号 被函询人 单位编码 问题线索编号 发函日期 回复期限",
        )
        replies = self.export(
            "discipline/inquiry_replies.csv",
            "函询编号 回复日期 党委主要负责人签字 了结意见",
        )
        for number, (unit, (sent, due, replied)) in enumerate(_INQUIRIES.items(), start=1):
            person = org.holder(unit, "部门负责人", sent)
            sent_out.add(
                _inquiry_id(unit),
                person,
                org.name(person),
                unit,
                f"XS-{YEAR}-{number * 7:03d}",
                slash(sent),
                slash(due),
            )
            replies.add(_inquiry_id(unit), slash(replied), "是", "予以了结")

    # -- ERP、OA: 采购、决策、招标、供应商 ----------------------------------------------------------

    def procurement(self) -> None:
        org = self.org
        contracts = self.export(
            "erp/contracts.csv",
            "合同编号 合同名称 承办部门编码 供应商编码 供应商名称 采购类别 采购方式 合同金额（元） 签订日期 三重一大决策编号 招标编号 开工日期",
            encoding="gbk",  # the old ERP exports GBK
        )
        decisions = self.export(
            "oa/major_decisions.csv",
            "决策编号 单位编码 决策事项 决策会议 决策日期 表决结果",
        )
        tenders = self.export(
            "erp/tenders.csv", "招标编号 项目名称 招标方式 中标通知书日期 中标人编码"
        )
        vendors = self.vendors()
        by_category: dict[str, list[str]] = defaultdict(list)
        for code, (_, category, _) in vendors.items():
            if code not in {_SPLIT_VENDOR, _RELATED_VENDOR, _RESERVED_WORKS_VENDOR}:
                by_category[category].append(code)
        buyers = [
            "BC-WZ",
            "BC-SC",
            *[u for u in org.of_kind("科室") if u.endswith(("-ZH", "-JD", "-SJ"))],
        ]
        last_small: dict[tuple[str, str], dt.date] = {}
        counters = {"contract": 0, "decision": 0, "tender": 0}

        def decision(unit: str, matter: str, day: dt.date) -> str:
            counters["decision"] += 1
            number = f"SZYD-{YEAR}-{counters['decision']:03d}"
            meeting = "党委会" if unit == "BC" or self.rng.random() < 0.5 else "总经理办公会"
            decisions.add(number, unit, matter, meeting, slash(day), "同意")
            return number

        def tender(matter: str, winner: str, day: dt.date, method: str) -> str:
            counters["tender"] += 1
            number = f"ZB-{YEAR}-{counters['tender']:03d}"
            tenders.add(number, matter, method, slash(day), winner)
            return number

        def contract(
            number: str,
            unit: str,
            vendor: str,
            category: str,
            method: str,
            amount: Decimal,
            signed: dt.date,
            decision_id: str = "",
            tender_no: str = "",
            start: dt.date | None = None,
        ) -> None:
            name = f"{vendors[vendor][2]}{CATEGORY_WORDS[category]}合同"
            contracts.add(
                number,
                name,
                unit,
                vendor,
                vendors[vendor][0],
                category,
                method,
                money(amount),
                slash(signed),
                decision_id,
                tender_no,
                slash(start),
            )

        top = "BC"
        for month in MONTHS:
            for _ in range(7):
                counters["contract"] += 1
                number = f"HT-{YEAR}-{counters['contract']:04d}"
                unit = self.rng.choice(buyers)
                category = self.rng.choice(("货物", "货物", "服务", "工程"))
                signed = self.workday(month, 2, 27)
                size = self.rng.random()
                owner = (
                    top
                    if unit.startswith("BC-") and unit.count("-") == 1
                    else unit[: unit.rfind("-")]
                )
                if size < 0.2:  # large: public tender, collective decision
                    vendor = self.rng.choice(by_category[category])
                    amount = Decimal(self.rng.randrange(*LARGE[category], 10000))
                    awarded = signed - dt.timedelta(days=self.rng.randint(6, 15))
                    decided = awarded - dt.timedelta(days=self.rng.randint(7, 20))
                    matter = f"{org.units[unit].name}{vendors[vendor][2]}采购"
                    start = self.after(signed, 5, 20) if category == "工程" else None
                    contract(
                        number,
                        unit,
                        vendor,
                        category,
                        "公开招标",
                        amount,
                        signed,
                        decision(owner, matter, decided),
                        tender(matter, vendor, awarded, "公开招标"),
                        start,
                    )
                    continue
                # below the tender threshold: one per unit and vendor in 120 days, so nothing adds up
                choices = [
                    v
                    for v in by_category[category]
                    if (unit, v) not in last_small or (signed - last_small[(unit, v)]).days > 120
                ]
                vendor = self.rng.choice(choices)
                last_small[(unit, vendor)] = signed
                low, high = SMALL[category]
                amount = Decimal(self.rng.randrange(low, high, 1000))
                method = self.rng.choice(("询比价", "竞争性谈判", "单一来源"))
                decision_id = ""
                if amount >= 1_000_000:
                    decided = signed - dt.timedelta(days=self.rng.randint(5, 20))
                    decision_id = decision(
                        owner, f"{org.units[unit].name}{vendors[vendor][2]}采购", decided
                    )
                start = self.after(signed, 3, 15) if category == "工程" else None
                contract(
                    number, unit, vendor, category, method, amount, signed, decision_id, start=start
                )

        # The planted ones.
        unit, signed, decided = LATE_DECISION
        vendor = by_category["货物"][0]
        matter = "综采工作面液压支架配件集中采购"
        awarded = signed - dt.timedelta(days=9)
        contract(
            _contract_no("late_decision"),
            unit,
            vendor,
            "货物",
            "公开招标",
            Decimal("2480000"),
            signed,
            decision(top, matter, decided),
            tender(matter, vendor, awarded, "公开招标"),
        )
        unit, signed = RELATED_VENDOR
        contract(
            _contract_no("related_vendor"),
            unit,
            _RELATED_VENDOR,
            "货物",
            "询比价",
            Decimal("320000"),
            signed,
        )
        unit, signed, started = WORK_BEFORE_CONTRACT
        contract(
            _contract_no("work_before_contract"),
            unit,
            _RESERVED_WORKS_VENDOR,
            "工程",
            "单一来源",
            Decimal("900000"),
            signed,
            start=started,
        )
        unit, dates = SPLIT_PURCHASE
        for offset, (day, price) in enumerate(
            zip(dates, ("850000", "760000", "690000"), strict=True)
        ):
            contract(
                f"HT-{YEAR}-{911 + offset:04d}",
                unit,
                _SPLIT_VENDOR,
                "货物",
                "询比价",
                Decimal(price),
                day,
            )
        contracts.rows.sort(key=lambda row: (parse_date(row[8]), row[0]))

    def vendors(self) -> dict[str, tuple[str, str, str]]:
        """code -> (name, category, what they sell); also writes the vendor master."""
        out = self.export(
            "erp/vendors.csv",
            "供应商编码 供应商名称 统一社会信用代码 法定代表人 联系电话 开户银行 注册地址 供应类别",
        )
        found: dict[str, tuple[str, str, str]] = {}
        for index, (name, category, goods) in enumerate(VENDORS, start=1):
            code = f"V{index:03d}"
            found[code] = (name, category, goods)
            rep = self.related_rep if code == _RELATED_VENDOR else self.new_name()
            region = self.rng.choice(("0100", "0200", "0300", "0700"))
            check = self.rng.choice("ABCDEFGHJKLMNPQRTUXY")
            credit = f"9114{region}MA0{self.rng.randint(100000, 999999)}{check}"  # 18 characters
            out.add(
                code,
                name,
                credit,
                rep,
                f"0351-{self.rng.randint(2000000, 8999999)}",
                self.rng.choice(BANKS),
                f"{self.rng.choice(CITIES)}{self.rng.choice(STREETS)}{self.rng.randint(1, 300)}号",
                category,
            )
        return found

    # -- 人力资源: 家庭成员、投资兼职申报、工商登记比对 ---------------------------------------------

    def family_and_interests(self) -> None:
        org = self.org
        family = self.export(
            "hr/family_members.csv",
            "干部工号 干部姓名 姓名 与本人关系 工作单位 出生年月",
        )
        interests = self.export(
            "hr/outside_interests.csv",
            "干部工号 干部姓名 企业名称 统一社会信用代码 申报类型 申报日期",
        )
        matches = self.export(
            "registry/qichacha_matches.csv",
            "工号 姓名 单位编码 企业名称 统一社会信用代码 任职或持股 登记日期 比对日期",
        )
        cadres = sorted(
            {p.person: p.unit for p in org.posts if p.post in {"班子成员", "部门负责人"}}.items()
        )
        spouse_of = org.holder(RELATED_VENDOR[0], "部门负责人", RELATED_VENDOR[1])
        hired_into = org.holder(RELATIVE_HIRED[0], "部门负责人", RELATIVE_HIRED[1])
        for person, _ in cadres:
            cadre = org.people[person]
            female = cadre.gender == "女"
            spouse = self.related_rep if person == spouse_of else self.new_name(female=not female)
            family.add(
                person,
                cadre.name,
                spouse,
                "配偶",
                self.rng.choice(EMPLOYERS),
                f"{cadre.born.year + self.rng.randint(-3, 3)}.{self.rng.randint(1, 12):02d}",
            )
            child = self.relative_hire if person == hired_into else self.new_name(cadre.name[0])
            born = min(
                cadre.born.year + self.rng.randint(24, 32), 2003 if person == hired_into else 2012
            )
            work = self.rng.choice(EMPLOYERS[:4]) if born < 2004 else "在读"
            family.add(
                person,
                cadre.name,
                child,
                "子女",
                "待业" if person == hired_into else work,
                f"{born}.{self.rng.randint(1, 12):02d}",
            )
        # Declared shareholdings, their registry matches, and one undeclared post.
        declared = [person for person, _ in cadres][3::9]
        for number, person in enumerate(declared, start=1):
            firm, credit = (
                f"{self.rng.choice(FIRM_PLACES)}{self.rng.choice(FIRM_TRADES)}有限公司",
                (f"911407MA0{number:02d}{self.rng.randint(100000, 999999)}X"),
            )
            interests.add(
                person, org.name(person), firm, credit, "投资入股", slash(self.workday(1, 6, 29))
            )
            matches.add(
                person,
                org.name(person),
                org.people[person].unit,
                firm,
                credit,
                "股东",
                slash(dt.date(self.rng.randint(2012, 2022), 6, 1)),
                slash(dt.date(YEAR, 11, 2)),
            )
        person = self.targets["undeclared"]
        matches.add(
            person,
            org.name(person),
            org.people[person].unit,
            _UNDECLARED_FIRM[0],
            _UNDECLARED_FIRM[1],
            "监事",
            slash(dt.date(2023, 8, 17)),
            slash(dt.date(YEAR, 11, 2)),
        )

    def hires(self) -> None:
        org = self.org
        out = self.export(
            "hr/new_hires.csv",
            "工号 姓名 性别 入职单位编码 入职单位 入职日期 用工形式 回避审查编号",
        )
        units = [u for u in org.of_kind("区队", "科室", "部门")]
        rows: list[tuple[dt.date, str, str, str]] = []
        unit, hired = RELATIVE_HIRED
        rows.append((hired, self.relative_hire, unit, ""))
        for _ in range(5):
            rows.append(
                (
                    self.workday(self.rng.choice((3, 4, 5, 9)), 1, 20),
                    self.new_name(),
                    self.rng.choice(units),
                    "",
                )
            )
        for _ in range(14):  # graduates join in July
            rows.append((dt.date(YEAR, 7, 6), self.new_name(), self.rng.choice(units), ""))
        for number, (day, name, unit, avoidance) in enumerate(
            sorted(rows, key=lambda r: (r[0], r[1])), start=1
        ):
            code = _RELATIVE_HIRE_CODE if name == self.relative_hire else f"{YEAR}{number + 10:04d}"
            out.add(
                code,
                name,
                "女" if name[-1] in FEMALE else "男",
                unit,
                org.units[unit].name,
                slash(day),
                "合同制" if day.month != 7 else "高校毕业生",
                avoidance,
            )

    # -- 费用报销: 发票、公务接待 ----------------------------------------------------------------

    def invoices(self) -> None:
        org = self.org
        out = self.export(
            "expense/invoices.csv",
            "报销单号 报销人工号 报销人 费用承担部门编码 费用类型 发票代码 发票号码 开票日期 销售方名称 销售方纳税人识别号 货物或应税劳务名称 价税合计 报销日期 审批状态",
        )
        serial = 2718000
        claims = 0
        units = [u for u in org.of_kind("部门", "科室")]

        def add(
            unit: str,
            claimant: str,
            fee: str,
            code: str,
            number: str,
            issued: dt.date,
            seller: tuple[str, str],
            item: str,
            amount: Decimal,
            claimed: dt.date,
            claim_no: str | None = None,
        ) -> str:
            nonlocal claims
            if claim_no is None:
                claims += 1
                claim_no = f"BX-{claimed:%Y-%m}-{claims:04d}"
            out.add(
                claim_no,
                claimant,
                org.name(claimant),
                unit,
                fee,
                code,
                number,
                slash(issued),
                seller[0],
                seller[1],
                item,
                money(amount),
                slash(claimed),
                "已审批",
            )
            return claim_no

        for month in MONTHS:
            for unit in units:
                staff = sorted(p.code for p in org.staff(unit))
                fees = ["差旅费", "办公费"] + (
                    ["业务招待费"] if unit.endswith(("-ZH", "-WZ", "-DQ")) else []
                )
                for fee in fees:
                    if fee == "办公费" and self.rng.random() < 0.5:
                        continue
                    serial += self.rng.randint(3, 40)
                    issued = self.workday(month, 2, 20)
                    if fee == "业务招待费" and (unit, month) == (
                        SPLIT_DINING[0],
                        SPLIT_DINING[1].month,
                    ):
                        issued = self.workday(month, 20, 28)  # clear of the planted dinner
                    seller = self.rng.choice(SELLERS[fee])
                    item, low, high = ITEMS[fee]
                    amount = (
                        Decimal(self.rng.randrange(low, high))
                        + Decimal(self.rng.randrange(0, 100)) / 100
                    )
                    add(
                        unit,
                        self.rng.choice(staff),
                        fee,
                        f"0140026001{self.rng.randint(10, 99)}",
                        f"{serial:08d}",
                        issued,
                        seller,
                        item,
                        amount,
                        self.after(issued, 2, 8),
                    )
        # C5: one hotel invoice, two claims.
        unit, first, second = DUPLICATE_INVOICE
        staff = sorted(p.code for p in org.staff(unit))
        hotel = SELLERS["差旅费"][0]
        issued = first - dt.timedelta(days=6)
        for claimant, claimed in ((staff[0], first), (staff[1], second)):
            add(
                unit,
                claimant,
                "差旅费",
                _DUP_INVOICE[0],
                _DUP_INVOICE[1],
                issued,
                hotel,
                "住宿服务",
                Decimal("1286.00"),
                claimed,
            )
        # C7: three dinners at one restaurant over two days, each below the 2,000 approval limit.
        unit, day = SPLIT_DINING
        staff = sorted(p.code for p in org.staff(unit))
        restaurant = ("沁园春酒楼", _SPLIT_DINING_TAX_ID)
        for offset, (price, number) in enumerate(
            ((1900, "00920511"), (1600, "00920512"), (1200, "00920513"))
        ):
            issued = day + dt.timedelta(days=1 if offset == 2 else 0)
            add(
                unit,
                staff[offset % len(staff)],
                "业务招待费",
                "014002600288",
                number,
                issued,
                restaurant,
                "餐饮服务",
                Decimal(price),
                issued + dt.timedelta(days=4),
            )
        # C9: a supermarket gift card claimed as office supplies.
        unit, claimed = GIFT_CARD
        claim_no, code, number = _GIFT_CARD_SUBJECT.split("/")
        staff = sorted(p.code for p in org.staff(unit))
        add(
            unit,
            staff[0],
            "办公费",
            code,
            number,
            claimed - dt.timedelta(days=3),
            ("美特好超市", "91140100MA0CS5521Q"),
            "超市购物卡",
            Decimal("5000.00"),
            claimed,
            claim_no,
        )
        out.rows.sort(key=lambda row: (parse_date(row[12]), row[0], row[6]))

    def receptions(self) -> None:
        org = self.org
        out = self.export(
            "expense/receptions.csv",
            "接待编号 接待单位编码 接待日期 来访单位 公函编号 接待清单 来宾人数 陪餐人数 餐别 是否饮酒 金额",
        )
        hosts = ["BC-DQ", "BC-AJ", *[u for u in org.of_kind("科室") if u.endswith("-ZH")]]
        per_day: dict[dt.date, int] = defaultdict(int)
        for month in MONTHS:
            for unit in self.rng.sample(hosts, 3):
                day = self.workday(month, 2, 27)
                if (unit, day) == OVER_STAFFED_RECEPTION:
                    continue
                guests = self.rng.randint(2, 14)
                companions = min(3, self.rng.randint(1, 3)) if guests <= 10 else guests // 3
                visitor = self.rng.choice(VISITORS)
                meal = self.rng.choice(("午餐", "晚餐"))
                per_day[day] += 1
                out.add(
                    f"JD-{day:%Y%m%d}-{per_day[day] + 1:02d}",
                    unit,
                    slash(day),
                    visitor[0],
                    f"{visitor[1]}〔{YEAR}〕{self.rng.randint(3, 99)}号",
                    "是",
                    guests,
                    companions,
                    meal,
                    "否",
                    money(Decimal(120 * (guests + companions))),
                )
        unit, day = OVER_STAFFED_RECEPTION
        out.add(
            _reception_id(day),
            unit,
            slash(day),
            "兄弟单位安全管理考察组",
            f"同煤函〔{YEAR}〕18号",
            "是",
            4,
            6,
            "晚餐",
            "否",
            money(Decimal(1380)),
        )
        out.rows.sort(key=lambda row: (parse_date(row[2]), row[0]))

    def trips(self) -> None:
        org = self.org
        out = self.export(
            "fleet/trips.csv",
            "派车单号 用车单位编码 车牌号 用车人工号 用车人 出车日期 目的地 停留点类型 里程（公里）",
        )
        units = [u for u in org.of_kind("部门", "科室") if u.endswith(("-ZH", "-DQ", "-AJ", "-WZ"))]
        plates = {u: f"晋{self.rng.choice('ABCK')}·{self.rng.randint(10000, 99999)}" for u in units}
        per_day: dict[dt.date, int] = defaultdict(int)
        for month in MONTHS:
            for _ in range(12):
                unit = self.rng.choice(units)
                day = self.workday(month, 1, 28)
                user = self.rng.choice(sorted(p.code for p in org.staff(unit)))
                place, kind = self.rng.choice(DESTINATIONS)
                per_day[day] += 1
                out.add(
                    f"PC-{day:%Y%m%d}-{per_day[day]:02d}",
                    unit,
                    plates[unit],
                    user,
                    org.name(user),
                    slash(day),
                    place,
                    kind,
                    self.rng.randint(12, 260),
                )
        unit, day = LEISURE_TRIP
        user = sorted(p.code for p in org.staff(unit))[0]
        out.add(
            _trip_no(day),
            unit,
            plates[unit],
            user,
            org.name(user),
            slash(day),
            "绵山风景区",
            "旅游景区",
            186,
        )
        out.rows.sort(key=lambda row: (parse_date(row[5]), row[0]))

    def gifts(self) -> None:
        org = self.org
        out = self.export(
            "discipline/gifts.csv",
            "登记编号 工号 姓名 单位编码 收受日期 上交日期 物品描述 估值（元） 处理方式",
        )
        heads = org.subjects(["部门负责人"], YEAR_END)
        chosen = sorted(heads.items())[::6]
        for index, (person, unit) in enumerate(chosen):
            festival = (2, 12) if index % 2 == 0 else (9, 22)
            received = dt.date(YEAR, *festival) + dt.timedelta(days=self.rng.randint(0, 4))
            handed = self.after(received, 5, 20)
            out.add(
                f"LP-{handed:%Y%m%d}-{index + 2:02d}",
                person,
                org.name(person),
                unit,
                slash(received),
                slash(handed),
                self.rng.choice(GIFTS),
                self.rng.choice((300, 500, 800, 1000)),
                "上交纪委",
            )
        unit, received, handed = LATE_GIFT
        keeper = org.holder(unit, "部门负责人", received)
        out.add(
            _gift_id(handed),
            keeper,
            org.name(keeper),
            unit,
            slash(received),
            slash(handed),
            "高档白酒两瓶",
            2600,
            "上交纪委",
        )
        out.rows.sort(key=lambda row: (parse_date(row[5]), row[0]))


def dues_rate(base: Decimal) -> Decimal:
    """党费比例: ≤3,000 0.5 %, ≤5,000 1 %, ≤10,000 1.5 %, above 2 % of the monthly income."""
    if base <= 3000:
        return Decimal("0.005")
    if base <= 5000:
        return Decimal("0.01")
    if base <= 10000:
        return Decimal("0.015")
    return Decimal("0.02")


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

OFFICER_POSTS = (
    "党委书记",
    "党委副书记",
    "纪委书记",
    "党支部书记",
    "纪检委员",
    "组织委员",
    "宣传委员",
)
LEADERS_TALKED_WITH = ("总经理", "党委副书记", "纪委书记", "副总经理", "工会主席", "矿长", "副矿长")
CADRE_POSTS = {
    "党委书记",
    "纪委书记",
    "部门负责人",
    "副总经理",
    "总经理",
    "矿长",
    "副矿长",
    "工会主席",
}
THEMES = (
    "重温入党誓词",
    "学习新修订的《中国共产党纪律处分条例》",
    "安全生产党员先锋岗活动",
    "走访慰问困难职工",
    "警示教育：观看廉政教育片",
    "“我为群众办实事”志愿服务",
)
LECTURES = ("学习贯彻党的二十届四中全会精神", "以党建引领安全生产", "加强党性修养，严守纪律规矩")
COURSES = (
    "党的二十届四中全会精神专题学习",
    "党纪学习教育专题学习",
    "“学习强国”专题学习",
    "安全生产与党建融合专题培训",
    "党章党规学习（半天）",
    "党纪学习教育补学",
    "基层党组织书记和党务干部示范培训班",
)
COMMITTEE_TOPICS = (
    "安全生产形势分析",
    "干部选拔任用",
    "年度预算执行",
    "重大项目投资",
    "意识形态工作",
    "信访维稳",
    "党建工作",
    "生产经营情况",
    "职工福利",
    "科技创新",
)
STUDY_TOPICS = ("习近平新时代中国特色社会主义思想", "党的二十届四中全会精神", "安全生产重要论述")
AREAS = ("安全生产", "生产技术", "经营管理", "机电运输", "党群工作", "人力资源", "财务资产")
RESOLUTION_ITEMS = (
    "年度投资计划调整",
    "综采设备更新改造项目",
    "对外担保事项",
    "机构设置调整",
    "大额资金使用",
    "资产处置",
    "工资总额预算",
)
ROUTINE_ITEMS = ("办公用品管理办法修订", "会议制度修订", "档案管理规定", "车辆管理细则")
VENDORS = (
    ("太原恒通机电设备有限公司", "货物", "综采设备配件"),
    ("山西华晟物资有限公司", "货物", "井下支护材料"),
    ("阳泉中煤机械制造有限公司", "货物", "刮板输送机配件"),
    ("晋中鑫磊电缆有限公司", "货物", "矿用电缆"),
    ("大同恒泰劳保用品有限公司", "货物", "劳动保护用品"),
    ("太原博远仪器仪表有限公司", "货物", "安全监测仪器"),
    ("山西安泰技术服务有限公司", "服务", "安全评价服务"),
    ("太原智联信息技术有限公司", "服务", "信息系统运维"),
    ("晋城华信检测有限公司", "服务", "设备检测检验"),
    ("山西正源会计师事务所有限公司", "服务", "审计服务"),
    ("太原德润物业管理有限公司", "服务", "物业服务"),
    ("长治安达培训中心有限公司", "服务", "安全培训"),
    ("晋中路桥建设工程有限公司", "工程", "道路维修工程"),
    ("中煤建安第三工程处", "工程", "井巷工程"),
    ("山西宏达建筑安装有限公司", "工程", "房屋修缮工程"),
    ("太原泰和环保工程有限公司", "工程", "污水处理改造工程"),
    ("阳泉矿建工程有限公司", "工程", "通风设施工程"),
    ("晋北机电安装工程有限公司", "工程", "供电设备安装工程"),
    ("山西万通商贸有限公司", "货物", "办公设备"),
    ("忻州绿源园林工程有限公司", "工程", "绿化工程"),
    ("太原市鑫达工贸有限公司", "货物", "皮带输送机配件"),
    ("晋阳鑫源商贸有限公司", "货物", "五金材料"),
    ("临汾恒基建设工程有限公司", "工程", "排水管路工程"),
)
_RELATED_VENDOR = "V022"
_RESERVED_WORKS_VENDOR = "V023"
CATEGORY_WORDS = {"货物": "采购", "服务": "", "工程": "施工"}
LARGE = {
    "货物": (2_200_000, 6_000_000),
    "服务": (1_100_000, 2_800_000),
    "工程": (4_200_000, 12_000_000),
}
SMALL = {"货物": (60_000, 1_400_000), "服务": (50_000, 900_000), "工程": (200_000, 3_500_000)}
BANKS = ("中国工商银行太原分行", "中国建设银行太原分行", "中国银行晋中分行", "山西银行")
CITIES = ("太原市", "晋中市", "阳泉市", "大同市", "长治市")
STREETS = ("迎泽大街", "长风街", "学府街", "并州路", "新建路", "平阳路")
EMPLOYERS = (
    "太原市第五中学",
    "山西省人民医院",
    "北辰煤业集团医院",
    "太原市税务局",
    "退休",
    "个体经营",
)
FIRM_PLACES = ("太原", "晋中", "阳泉", "大同", "忻州")
FIRM_TRADES = ("文化传媒", "农业科技", "餐饮管理", "信息咨询", "建材销售")
SELLERS = {
    "差旅费": (
        ("太原迎泽宾馆", "91140100MA0XH10011"),
        ("北京中煤大厦酒店", "91110105MA0XH20022"),
        ("大同云冈国际酒店", "91140200MA0XH30033"),
    ),
    "办公费": (
        ("太原新华书店", "91140100MA0XS10044"),
        ("山西晋图文具有限公司", "91140100MA0XS20055"),
    ),
    "业务招待费": (
        ("晋味轩酒家", "91140700MA0XCJ1101"),
        ("老太原面食馆", "91140100MA0XCJ2202"),
        ("福满楼餐饮", "91140700MA0XCJ3303"),
        ("并州饭店", "91140100MA0XCJ4404"),
    ),
}
ITEMS = {
    "差旅费": ("住宿服务", 280, 1500),
    "办公费": ("办公用品", 120, 1800),
    "业务招待费": ("餐饮服务", 320, 1800),
}
VISITORS = (
    ("省国资委调研组", "晋国资函"),
    ("市应急管理局检查组", "并应急函"),
    ("省煤监局检查组", "晋煤安函"),
    ("兄弟单位考察组", "同煤函"),
    ("省总工会调研组", "晋工函"),
    ("省煤炭工业协会", "晋煤协函"),
)
DESTINATIONS = (
    ("山西省国资委", "政府机关"),
    ("太原南站", "火车站"),
    ("武宿机场", "机场"),
    ("东山煤矿工业广场", "矿区"),
    ("南岭煤矿", "矿区"),
    ("太原重工", "客户单位"),
    ("省人民医院", "医院"),
    ("山西国际会议中心", "会议中心"),
)
GIFTS = ("茶叶两盒", "月饼一盒", "土特产一箱", "购物卡一张", "红包一个")


# ---------------------------------------------------------------------------------------------
# Writing the folder
# ---------------------------------------------------------------------------------------------


def render(org: Org | None = None) -> dict[str, bytes]:
    """Every file of the evidence folder: path relative to it -> content."""
    org = org or read_org()
    generator = Generator(org)
    files = {path: export.content() for path, export in generator.run().items()}
    violations = planted(org)
    files["planted.csv"] = planted_csv(org, violations)
    files["README.md"] = readme(org, generator.exports, violations).encode("utf-8")
    return files


def planted_csv(org: Org, violations: list[Violation]) -> bytes:
    out = Export(
        "planted.csv",
        [
            "编号",
            "规则包",
            "规则",
            "目录项",
            "主体",
            "期间",
            "责任人工号",
            "责任人",
            "说明",
            "description",
        ],
    )
    for number, v in enumerate(violations, start=1):
        out.add(
            number,
            v.pack,
            v.rule,
            v.catalogue,
            v.subject,
            v.period,
            v.bearer,
            org.name(v.bearer),
            v.zh,
            v.en,
        )
    return out.content()


def readme(org: Org, exports: dict[str, Export], violations: list[Violation]) -> str:
    lines = [
        "# 北辰煤业集团示例证据 / demo evidence of the sample company",
        "",
        "由 `python -m dualduty.demo.generate_evidence` 生成，请勿手工修改。",
        "Generated by `python -m dualduty.demo.generate_evidence`; do not edit by hand.",
        "",
        "2026 年 1–10 月各系统的导出文件。示例规则包（rules/packs/branch-life.yaml、leadership.yaml、",
        "integrity.yaml）的文件来源指向这里；除下表所列有意植入的问题外，其余记录均合规。",
        "Exports of January–October 2026. The sample packs read these files; apart from the planted",
        "violations below, every record is compliant.",
        "",
        "检查示例公司 / inspect the sample company:",
        "",
        "```bash",
        "dualduty demo --on 2026-10-31        # 导入示例公司 / import the organisation",
        "dualduty inspect --pack rules/packs/branch-life.yaml --period 2026-10",
        "dualduty inspect --pack rules/packs/leadership.yaml --period 2026-Q3",
        "dualduty inspect --pack rules/packs/integrity.yaml --period 2026-Q2",
        "```",
        "",
        "| 文件 / file | 行数 / rows | 编码 / encoding |",
        "|---|---:|---|",
    ]
    for path, export in sorted(exports.items()):
        lines.append(f"| `{path}` | {len(export.rows)} | {export.encoding} |")
    lines += [
        "",
        f"## 植入的问题 / planted violations ({len(violations)})",
        "",
        "同一清单见 `planted.csv`。/ The same list is in `planted.csv`.",
        "",
        "| # | 规则 / rule | 目录项 | 主体 / subject | 期间 / period | 责任人 / bearer | 说明 |",
        "|---:|---|---|---|---|---|---|",
    ]
    for number, v in enumerate(violations, start=1):
        bearer = f"{v.bearer} {org.name(v.bearer)}" if v.bearer else "—"
        lines.append(
            f"| {number} | {v.pack}: `{v.rule}` | {v.catalogue} | `{v.subject}` | "
            f"{v.period or '—'} | {bearer} | {v.zh} / {v.en} |"
        )
    return "\n".join(lines) + "\n"


def write(folder: Path = EVIDENCE_DIR) -> dict[str, bytes]:
    files = render()
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return files


def main() -> None:
    files = write()
    size = sum(len(content) for content in files.values())
    print(f"wrote {len(files)} files ({size / 1024:.0f} KiB) to {EVIDENCE_DIR}")


if __name__ == "__main__":
    main()
