"""Writes the sample company's HR export (dualduty/demo/sample/*.csv). Run once; output is committed.

    python -m dualduty.demo.generate_org

北辰煤业集团有限公司 is fictional: a group headquarters with its departments and office branches,
and four coal mines, each with offices (科室), production teams (区队), their party branches and
party groups. The files look like a real export: Chinese headers, columns we do not use, one
file in GBK, dates written 2023/3/1. A seeded generator keeps the output the same on every run,
so tests can name people and units. Six posts change hands in 2026, so duties that follow the
post can be tested across the change.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_DIR = Path(__file__).with_name("sample")
SEED = 20260101
COMPANY = "BC"
EMAIL_DOMAIN = "beichen-coal.example.cn"

SURNAMES = (
    "王" * 9
    + "李" * 9
    + "张" * 8
    + "刘" * 7
    + "陈" * 6
    + "杨" * 5
    + "赵" * 4
    + "黄" * 4
    + "周" * 4
    + "吴" * 3
    + "徐" * 3
    + "孙" * 3
    + "胡" * 3
    + "朱" * 3
    + "高" * 3
    + "林" * 2
    + "何" * 2
    + "郭" * 3
    + "马" * 3
    + "罗"
    + "梁" * 2
    + "宋" * 2
    + "郑" * 2
    + "谢"
    + "韩" * 2
    + "唐"
    + "冯" * 2
    + "于"
    + "董" * 2
    + "程"
    + "曹"
    + "袁"
    + "邓"
    + "许"
    + "傅"
    + "沈"
    + "曾"
    + "彭"
    + "吕"
    + "苏"
    + "卢"
    + "蒋"
    + "蔡"
    + "贾" * 2
    + "丁"
    + "魏"
    + "薛"
    + "叶"
    + "阎"
    + "潘"
    + "杜"
    + "戴"
    + "夏"
    + "钟"
    + "田" * 2
    + "任"
    + "姜"
    + "范"
    + "方"
    + "石"
    + "姚"
    + "谭"
    + "廖"
    + "邹"
    + "熊"
    + "金"
    + "陆"
    + "郝" * 2
    + "孔"
    + "白"
    + "崔"
    + "康"
    + "毛"
    + "邱"
    + "秦"
    + "史"
    + "顾"
    + "侯" * 2
    + "邵"
    + "孟"
    + "龙"
    + "段"
    + "雷"
    + "武" * 2
    + "乔"
    + "贺"
    + "常"
    + "牛" * 2
    + "温"
    + "申"
)
GIVEN = (
    "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清"
    "飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善"
    "厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家"
    "致树炎德行时泰盛秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环"
    "雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶"
)
FEMALE = set(
    "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶"
)

MINES = (
    ("DS", "东山煤矿", ("ZH", "AQ", "SJ", "JD", "CW"), ("ZC1", "ZC2", "JJ1", "JJ2", "JY", "TF")),
    ("XG", "西沟煤矿", ("ZH", "AQ", "SJ", "CW"), ("ZC1", "JJ1", "JJ2", "JY", "TF")),
    ("NL", "南岭煤矿", ("ZH", "AQ", "SJ", "JD", "CW"), ("ZC1", "ZC2", "JJ1", "JY")),
    ("QSL", "青石岭煤矿", ("ZH", "AQ", "SJ", "CW"), ("ZC1", "JJ1", "JJ2", "TF")),
)
OFFICES = {
    "ZH": "综合办公室",
    "AQ": "安全科",
    "SJ": "生产技术科",
    "JD": "机电科",
    "CW": "财务科",
}
TEAMS = {
    "ZC1": "综采一队",
    "ZC2": "综采二队",
    "JJ1": "掘进一队",
    "JJ2": "掘进二队",
    "JY": "机运队",
    "TF": "通风队",
}
HQ_DEPARTMENTS = {
    "DQ": "党群工作部",
    "JW": "纪检监察部",
    "RL": "人力资源部",
    "CW": "财务部",
    "AJ": "安全监察部",
    "SC": "生产技术部",
    "WZ": "物资供应部",
}
GROUP_NAMES = ("第一党小组", "第二党小组", "第三党小组")


@dataclass
class Unit:
    code: str
    name: str
    kind: str  # as the export writes it: 公司, 煤矿, 科室, 区队, 部门, 党支部, 党小组
    parent: str | None


@dataclass
class Person:
    code: str
    name: str
    gender: str
    born: dt.date
    unit: str
    status: str  # 政治面貌
    mobile: str
    holds: bool = False

    @property
    def member(self) -> bool:
        return self.status in {"中共党员", "中共预备党员"}


@dataclass
class Post:
    person: Person
    unit: str
    post: str
    since: dt.date
    until: dt.date | None = None


@dataclass
class Company:
    rng: random.Random
    units: list[Unit] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    # Branch unit code -> the department(s) its members come from.
    branch_pool: dict[str, list[str]] = field(default_factory=dict)

    def unit(self, code: str, name: str, kind: str, parent: str | None) -> str:
        self.units.append(Unit(code, name, kind, parent))
        return code

    def person(self, unit: str, *, member: bool | None = None) -> Person:
        rng = self.rng
        while True:
            given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
            name = rng.choice(SURNAMES) + given
            if name not in self.names:
                break
        self.names.add(name)
        if member is None:
            member = rng.random() < 0.42
        if member:
            status = "中共预备党员" if rng.random() < 0.05 else "中共党员"
        else:
            status = rng.choice(("群众", "群众", "群众", "共青团员"))
        person = Person(
            code=f"{100001 + len(self.people)}",
            name=name,
            gender="女" if given[-1] in FEMALE else "男",
            born=dt.date(rng.randint(1966, 2002), rng.randint(1, 12), rng.randint(1, 28)),
            unit=unit,
            status=status,
            mobile=f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
        )
        self.people.append(person)
        return person

    def staff(self, unit: str) -> list[Person]:
        return [p for p in self.people if p.unit == unit]

    def pick(self, units: list[str]) -> Person:
        """A party member from these units who holds no post yet."""
        pool = [p for u in units for p in self.staff(u) if p.member and not p.holds]
        person = self.rng.choice(pool)
        person.holds = True
        return person

    def since(self) -> dt.date:
        return dt.date(self.rng.randint(2019, 2025), self.rng.randint(1, 12), 1)

    def post(self, person: Person, unit: str, post: str, since: dt.date | None = None) -> Post:
        person.holds = True
        entry = Post(person, unit, post, since or self.since())
        self.posts.append(entry)
        return entry

    def leadership(self, unit: str, titles: list[list[str]]) -> list[Person]:
        """A leadership team: one person per entry, holding those posts plus 班子成员."""
        team = []
        for posts in titles:
            leader = self.person(unit, member=True)
            since = self.since()
            for post in [*posts, "班子成员"]:
                self.post(leader, unit, post, since)
            team.append(leader)
        return team

    def branch(self, code: str, name: str, parent: str, pool: list[str], groups: int) -> None:
        self.unit(code, name, "党支部", parent)
        self.branch_pool[code] = pool
        for post in ("党支部书记", "纪检委员", "组织委员", "宣传委员"):
            self.post(self.pick(pool), code, post)
        for index in range(groups):
            group = self.unit(f"{code}-G{index + 1}", f"{name}{GROUP_NAMES[index]}", "党小组", code)
            self.post(self.pick(pool), group, "党小组组长")

    def department(
        self, code: str, name: str, kind: str, parent: str, size: int, members: int = 5
    ) -> str:
        self.unit(code, name, kind, parent)
        for _ in range(size):
            self.person(code)
        # Heads, branch officers and group leaders are party members: make sure there are enough.
        for _ in range(members):
            self.person(code, member=True)
        self.post(self.pick([code]), code, "部门负责人")
        return code


def build(rng: random.Random) -> Company:
    company = Company(rng)
    top = company.unit(COMPANY, "北辰煤业集团有限公司", "公司", None)
    company.leadership(
        top,
        [
            ["党委书记", "董事长"],
            ["党委副书记", "总经理"],
            ["纪委书记"],
            ["副总经理"],
            ["副总经理"],
            ["副总经理"],
            ["工会主席"],
        ],
    )
    hq = [
        company.department(f"{top}-{code}", name, "部门", top, rng.randint(2, 5))
        for code, name in HQ_DEPARTMENTS.items()
    ]
    for staff in company.pick([f"{top}-JW"]), company.pick([f"{top}-JW"]):
        company.post(staff, f"{top}-JW", "纪检监察人员")
    company.branch(f"{top}-B1", "集团机关第一党支部", top, hq[:4], 2)
    company.branch(f"{top}-B2", "集团机关第二党支部", top, hq[4:], 2)

    for mine_code, mine_name, offices, teams in MINES:
        mine = company.unit(f"{top}-{mine_code}", mine_name, "煤矿", top)
        company.leadership(
            mine,
            [
                ["党委书记"],
                ["矿长"],
                ["党委副书记"],
                ["纪委书记"],
                ["副矿长"],
                ["副矿长"],
                ["工会主席"],
            ],
        )
        office_codes = [
            company.department(
                f"{mine}-{code}", f"{mine_name}{OFFICES[code]}", "科室", mine, rng.randint(2, 5)
            )
            for code in offices
        ]
        company.post(company.pick([f"{mine}-ZH"]), mine, "纪检监察人员")
        company.branch(f"{mine}-JG", f"{mine_name}机关党支部", mine, office_codes, 2)
        for code in teams:
            team = company.department(
                f"{mine}-{code}", f"{mine_name}{TEAMS[code]}", "区队", mine, rng.randint(6, 12), 10
            )
            company.branch(
                f"{team}-ZB", f"{mine_name}{TEAMS[code]}党支部", team, [team], rng.choice((2, 3))
            )
    changes_in_2026(company)
    return company


def _holder(company: Company, unit: str, post: str) -> Post:
    return next(p for p in company.posts if p.unit == unit and p.post == post and p.until is None)


def _hand_over(
    company: Company,
    unit: str,
    post: str,
    successor: Person,
    on: dt.date,
    *,
    leaves_team: bool = False,
) -> None:
    """``successor`` holds ``post`` from ``on``. With ``leaves_team`` the predecessor leaves the
    unit's leadership team (班子成员) that day and the successor joins it."""
    leaving = _holder(company, unit, post)
    leaving.until = on - dt.timedelta(days=1)
    company.post(successor, unit, post, on)
    if leaves_team:
        for entry in company.posts:
            same_seat = entry.person is leaving.person and entry.unit == unit
            if same_seat and entry.post == "班子成员" and entry.until is None:
                entry.until = leaving.until
        company.post(successor, unit, "班子成员", on)


def changes_in_2026(company: Company) -> None:
    """Six posts change hands mid-year; each handover is contiguous (no vacancy, no overlap)."""
    top = COMPANY
    # A branch secretary hands over on 1 May.
    unit = f"{top}-DS-ZC1-ZB"
    _hand_over(
        company, unit, "党支部书记", company.pick(company.branch_pool[unit]), dt.date(2026, 5, 1)
    )
    # The finance office of 西沟 gets a new head on 15 July.
    unit = f"{top}-XG-CW"
    _hand_over(company, unit, "部门负责人", company.pick([unit]), dt.date(2026, 7, 15))
    # 南岭's party secretary moves up to headquarters on 1 April; the deputy secretary succeeds.
    mine = f"{top}-NL"
    day = dt.date(2026, 4, 1)
    leaving = _holder(company, mine, "党委书记").person
    deputy = _holder(company, mine, "党委副书记")
    deputy.until = day - dt.timedelta(days=1)
    _hand_over(company, mine, "党委书记", deputy.person, day)
    for entry in company.posts:
        if entry.person is leaving and entry.unit == mine and entry.until is None:
            entry.until = day - dt.timedelta(days=1)
    company.post(leaving, top, "副总经理", day)
    company.post(leaving, top, "班子成员", day)
    # The group's discipline secretary retires on 31 August: their seat in the leadership team
    # (班子成员) passes to the successor with the post.
    _hand_over(
        company,
        top,
        "纪委书记",
        company.pick([f"{top}-JW"]),
        dt.date(2026, 9, 1),
        leaves_team=True,
    )
    # A party group of 青石岭 changes leader on 15 June.
    unit = f"{top}-QSL-JJ1-ZB-G1"
    _hand_over(company, unit, "党小组组长", company.pick([f"{top}-QSL-JJ1"]), dt.date(2026, 6, 15))
    # A branch discipline member of 西沟 changes on 1 March.
    unit = f"{top}-XG-TF-ZB"
    _hand_over(company, unit, "纪检委员", company.pick([f"{top}-XG-TF"]), dt.date(2026, 3, 1))


def _slash(day: dt.date | None) -> str:
    return f"{day.year}/{day.month}/{day.day}" if day else ""


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write(company: Company, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    kinds = {"公司": "公司", "煤矿": "煤矿", "科室": "科室", "区队": "区队", "部门": "部门"}
    units = _csv(
        ["单位编码", "单位名称", "单位类型", "上级单位"],
        [[u.code, u.name, kinds.get(u.kind, u.kind), u.parent or ""] for u in company.units],
    )
    # Excel's "CSV UTF-8" writes a BOM; the people export comes from an older system in GBK.
    (folder / "units.csv").write_bytes(units.encode("utf-8-sig"))
    people = _csv(
        ["工号", "姓名", "性别", "出生日期", "所在单位", "政治面貌", "手机号码", "电子邮箱"],
        [
            [
                p.code,
                p.name,
                p.gender,
                p.born.isoformat(),
                p.unit,
                p.status,
                p.mobile,
                f"{p.code}@{EMAIL_DOMAIN}",
            ]
            for p in company.people
        ],
    )
    (folder / "people.csv").write_bytes(people.encode("gbk"))
    posts = _csv(
        ["工号", "姓名", "任职单位", "职务", "任职日期", "免职日期"],
        [
            [p.person.code, p.person.name, p.unit, p.post, _slash(p.since), _slash(p.until)]
            for p in sorted(company.posts, key=lambda p: (p.unit, p.post, p.since))
        ],
    )
    (folder / "posts.csv").write_bytes(posts.encode("utf-8"))


def main() -> None:
    company = build(random.Random(SEED))
    write(company, SAMPLE_DIR)
    print(
        f"wrote {len(company.units)} units, {len(company.people)} people, "
        f"{len(company.posts)} posts to {SAMPLE_DIR}"
    )


if __name__ == "__main__":
    main()
