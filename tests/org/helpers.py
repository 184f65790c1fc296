"""A small organisation as HR export files, and helpers to import them.

Tree (codes): C 测试集团 > M 一矿 > D 综采队 > B 综采队党支部 > G 第一党小组, and C > M2 二矿 > D2
机电科. M2 has no party secretary, so a chain from D2 skips it. The branch secretary changes on
2026-05-01 (P4 until 04-30, P5 from 05-01).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence.orgfiles import ImportReport, import_org
from evidence.orgmapping import OrgMapping
from models.org import Person, PostAssignment, PostType, Unit

UNITS = """单位编码,单位名称,单位类型,上级单位
C,测试集团,公司,
M,一矿,煤矿,C
D,综采队,区队,M
B,综采队党支部,党支部,D
G,第一党小组,党小组,B
M2,二矿,矿,C
D2,机电科,科室,M2
"""

PEOPLE = """工号,姓名,所在单位,政治面貌
P1,张建国,C,中共党员
P2,李卫东,M,中共党员
P3,王海燕,D,中共党员
P4,赵志强,D,中共党员
P5,刘晓梅,D,中共预备党员
P6,陈立新,D,中共党员
P7,杨小红,D,群众
P8,周敏,D2,中共党员
"""

POSTS = """工号,姓名,任职单位,职务,任职日期,免职日期
P1,张建国,C,党委书记,2020-01-01,
P2,李卫东,M,党委书记,2021/3/1,
P2,李卫东,M,班子成员,2021/3/1,
P3,王海燕,D,部门负责人,2022年1月1日,
P4,赵志强,B,党支部书记,2020-01-01,2026-04-30
P5,刘晓梅,B,党支部书记,2026-05-01,
P6,陈立新,G,党小组组长,2023-01-01,
P6,陈立新,B,纪检委员,2023-01-01,
P8,周敏,D2,部门负责人,2024-06-01,
"""


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def write_org(folder: Path, *, posts: str = POSTS) -> list[Path]:
    return [
        write(folder / "units.csv", UNITS, "utf-8-sig"),
        write(folder / "people.csv", PEOPLE, "gbk"),
        write(folder / "posts.csv", posts),
    ]


def run_import(
    session: Session,
    paths: list[Path],
    *,
    skip_bad_rows: bool = False,
    mapping: OrgMapping | None = None,
) -> ImportReport:
    report = import_org(session, paths=paths, skip_bad_rows=skip_bad_rows, mapping=mapping)
    session.commit()
    return report


def counts(session: Session) -> tuple[int, int, int, int]:
    """Rows per table: the database's state in four numbers."""
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(table)) or 0
        for table in (Unit, Person, PostType, PostAssignment)
    )
