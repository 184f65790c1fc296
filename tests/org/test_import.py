"""Org import from files: every bad input reported with file and line, all at once; all or
nothing; --skip-bad-rows; re-import is a no-op."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy.orm import Session

from dualduty.errors import UserError
from dualduty.problems import Problem
from evidence.orgfiles import import_org, parse_party_member
from evidence.orgmapping import load_mapping
from evidence.values import BadValue
from models import org

from .helpers import PEOPLE, POSTS, UNITS, counts, run_import, write, write_org

D = dt.date


def problems_of(session: Session, paths: list[Path], **kwargs: object) -> list[Problem]:
    before = counts(session)
    with pytest.raises(UserError) as caught:
        import_org(session, paths=paths, **kwargs)  # type: ignore[arg-type]
    session.rollback()
    assert counts(session) == before, "a failed import must leave the database as it was"
    return [p for p in caught.value.problems if p.severity == "error"]


def where(problem: Problem) -> str:
    return str(problem.location)


def line(problem: Problem) -> int:
    assert problem.location is not None and problem.location.line is not None
    return problem.location.line


# -- good input ---------------------------------------------------------------------------------


def test_import_and_reimport_changes_nothing(session: Session, tmp_path: Path) -> None:
    paths = write_org(tmp_path)
    first = run_import(session, paths)
    assert (first.units.added, first.people.added, first.posts.added) == (7, 8, 9)
    assert first.warnings == [] and first.skipped == []
    assert [f.encoding for f in first.files] == ["utf-8-sig", "gb18030", "utf-8-sig"]
    person = org.get_person_or_raise(session, code="P5")
    assert (person.name, person.unit_code, person.party_member) == ("刘晓梅", "D", True)
    assert org.get_person_or_raise(session, code="P7").party_member is False

    again = run_import(session, paths)
    assert again.changed == 0
    assert (again.units.unchanged, again.people.unchanged, again.posts.unchanged) == (7, 8, 9)

    # A later export adds a 免职日期 and renames a unit: two updates, nothing else.
    write(
        tmp_path / "posts.csv",
        POSTS.replace(
            "P8,周敏,D2,部门负责人,2024-06-01,", "P8,周敏,D2,部门负责人,2024-06-01,2026-08-31"
        ),
    )
    write(tmp_path / "units.csv", UNITS.replace("D2,机电科", "D2,机电运输科"), "utf-8-sig")
    third = run_import(session, paths)
    assert (third.units.updated, third.posts.updated, third.people.updated) == (1, 1, 0)
    assert org.holders(session, unit_code="D2", post_name="部门负责人", on=D(2026, 9, 1)) == []


def test_chinese_date_formats(lite: Session, tmp_path: Path) -> None:
    posts = POSTS.replace(
        "P5,刘晓梅,B,党支部书记,2026-05-01,", "P5,刘晓梅,B,党支部书记,2026年5月1日,"
    )
    posts = posts.replace("2026-04-30", "2026/4/30")
    run_import(lite, write_org(tmp_path, posts=posts))
    (a,) = org.holders(lite, unit_code="B", post_name="党支部书记", on=D(2026, 4, 30))
    (b,) = org.holders(lite, unit_code="B", post_name="党支部书记", on=D(2026, 5, 1))
    assert (a.code, b.code) == ("P4", "P5")


def test_gbk_and_bom_files_load(lite: Session, tmp_path: Path) -> None:
    units = write(tmp_path / "u.csv", UNITS, "gbk")
    people = write(tmp_path / "p.csv", PEOPLE, "utf-8-sig")
    report = run_import(lite, [units, people])
    assert [f.encoding for f in report.files] == ["gb18030", "utf-8-sig"]
    assert org.get_unit_or_raise(lite, code="D").name == "综采队"
    assert org.get_person_or_raise(lite, code="P1").name == "张建国"


def test_xlsx_and_yaml_files(lite: Session, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in UNITS.splitlines():
        sheet.append(line.split(","))
    workbook.save(tmp_path / "units.xlsx")
    write(
        tmp_path / "people.yaml",
        "- {工号: 1001, 姓名: 孙丽, 所在单位: D, 是否党员: 是}\n"
        "- {工号: 1002, 姓名: 钱进, 所在单位: D, 是否党员: 否}\n",
    )
    write(
        tmp_path / "posts.yaml",
        "- {工号: 1001, 任职单位: B, 职务: 党支部书记, 任职日期: 2026-01-01}\n",
    )
    report = run_import(
        lite, [tmp_path / "units.xlsx", tmp_path / "people.yaml", tmp_path / "posts.yaml"]
    )
    assert (report.units.added, report.people.added, report.posts.added) == (7, 2, 1)
    assert org.get_person_or_raise(lite, code="1001").party_member is True
    assert [
        p.code for p in org.holders(lite, unit_code="B", post_name="党支部书记", on=D(2026, 2, 1))
    ] == ["1001"]


def test_folder_argument_reads_every_file(lite: Session, tmp_path: Path) -> None:
    write_org(tmp_path / "export")
    report = run_import(lite, [tmp_path / "export"])
    assert report.posts.added == 9


def test_combined_people_and_posts_export(lite: Session, tmp_path: Path) -> None:
    """One row per person and post, people repeated; a person without a post has an empty 职务."""
    units = write(tmp_path / "units.csv", UNITS)
    combined = write(
        tmp_path / "hr.csv",
        "工号,姓名,所在单位,政治面貌,职务,任职日期,免职日期\n"
        "P1,张建国,C,中共党员,党委书记,2020-01-01,\n"
        "P1,张建国,C,中共党员,班子成员,2020-01-01,\n"
        "P2,李卫东,D,群众,,,\n",
    )
    report = run_import(lite, [units, combined])
    assert report.files[1].kinds == ["people", "posts"]
    assert (report.people.added, report.posts.added) == (2, 2)
    assert [a.post_name for a in org.posts_of(lite, person_code="P1", on=D(2026, 1, 1))] == [
        "党委书记",
        "班子成员",
    ]

    conflicting = write(
        tmp_path / "hr2.csv",
        "工号,姓名,所在单位,职务,任职日期\nP3,王五,C,班子成员,2020-01-01\nP3,王五,D,工会主席,2020-01-01\n",
    )
    (problem,) = problems_of(lite, [conflicting])
    assert "不一致" in problem.message and where(problem).endswith("hr2.csv:3")


def test_units_and_people_may_name_a_unit_by_its_name(lite: Session, tmp_path: Path) -> None:
    """HR exports often write the department's name where its code belongs."""
    units = write(tmp_path / "units.csv", UNITS + "D3,掘进队,区队,一矿\n")
    people = write(tmp_path / "people.csv", "工号,姓名,所在单位\nP9,吴刚,掘进队\n")
    run_import(lite, [units, people])
    assert org.get_unit_or_raise(lite, code="D3").parent_code == "M"
    assert org.get_person_or_raise(lite, code="P9").unit_code == "D3"


def test_extra_columns_warn_and_are_ignored(lite: Session, tmp_path: Path) -> None:
    people = PEOPLE.replace(
        "工号,姓名,所在单位,政治面貌", "工号,姓名,所在单位,政治面貌,性别,籍贯,爱好"
    )
    people = "\n".join(
        line + (",男,山西,篮球" if i else "") for i, line in enumerate(people.splitlines())
    )
    paths = write_org(tmp_path)
    write(paths[1], people, "gbk")
    report = run_import(lite, paths)
    assert report.people.added == 8
    (warning,) = report.warnings
    assert warning.severity == "warning"
    assert "籍贯, 爱好" in warning.message and "性别" not in warning.message  # 性别 is known
    assert where(warning).endswith("people.csv")


def test_mapping_file_renames_columns_kinds_and_posts(lite: Session, tmp_path: Path) -> None:
    mapping = write(
        tmp_path / "mapping.yaml",
        "units: {code: 机构代码, name: 机构全称, kind: 机构类别, parent_code: 隶属机构}\n"
        "people: {code: 员工号}\nposts: {person_code: 员工号, post_name: 现任职务}\n"
        "unit_kinds: {工区: department}\npost_aliases: {支书: 党支部书记}\n"
        "post_types: [{name: 安全总监, name_en: Chief safety officer}]\n",
    )
    units = write(
        tmp_path / "u.csv",
        "机构代码,机构全称,机构类别,隶属机构\nC,集团,公司,\nW,一工区,工区,C\nWB,一工区党支部,党支部,W\n",
    )
    people = write(tmp_path / "p.csv", "员工号,姓名,所在单位\nE1,甲,W\nE2,乙,C\n")
    posts = write(
        tmp_path / "j.csv",
        "员工号,现任职务,任职单位,任职日期\nE1,支书,WB,2026-01-01\nE2,安全总监,C,2026-01-01\n",
    )
    report = run_import(lite, [units, people, posts], mapping=load_mapping(mapping))
    assert report.post_types.added == len(org.DEFAULT_POST_TYPES) + 1
    assert org.get_unit_or_raise(lite, code="W").kind == "department"
    assert [
        p.code for p in org.holders(lite, unit_code="WB", post_name="党支部书记", on=D(2026, 1, 1))
    ] == ["E1"]
    assert [
        p.code for p in org.holders(lite, unit_code="C", post_name="安全总监", on=D(2026, 1, 1))
    ] == ["E2"]


def test_bad_mapping_file(tmp_path: Path) -> None:
    mapping = write(tmp_path / "m.yaml", "units: {cod: 机构代码}\nunit_kinds: {工区: workshop}\n")
    with pytest.raises(UserError) as caught:
        load_mapping(mapping)
    fields = {p.field: p for p in caught.value.problems}
    assert "did you mean: code" in (fields["units.cod"].hint or "")
    assert "unit_kinds.工区" in fields
    with pytest.raises(UserError, match="not found"):
        load_mapping(tmp_path / "missing.yaml")


def test_party_status_values() -> None:
    assert parse_party_member("中共预备党员") is True
    assert parse_party_member("是") is True
    assert parse_party_member("共青团员") is False
    assert parse_party_member("民盟盟员") is False
    assert parse_party_member("九三学社社员") is False
    with pytest.raises(BadValue, match="政治面貌"):
        parse_party_member("党外人士?")


# -- bad input ----------------------------------------------------------------------------------


def test_unit_with_missing_parent(lite: Session, tmp_path: Path) -> None:
    units = write(tmp_path / "units.csv", UNITS + "X,孤儿科,科室,ZZ\n")
    (problem,) = problems_of(lite, [units])
    assert where(problem).endswith("units.csv:9")
    assert problem.field == "上级单位" and "'ZZ'" in problem.message and "不存在" in problem.message


def test_cycle_in_the_tree(lite: Session, tmp_path: Path) -> None:
    units = write(tmp_path / "units.csv", UNITS + "A,甲科,科室,B2\nB2,乙科,科室,A\n")
    found = problems_of(lite, [units])
    assert sorted(where(p).rsplit(":", 1)[1] for p in found) == ["10", "9"]
    assert all("环" in p.message and "A → B2 → A" in p.message for p in found)


def test_cycle_through_the_database(lite: Session, tmp_path: Path) -> None:
    """Moving a stored unit under its own descendant is a cycle too."""
    run_import(lite, write_org(tmp_path))
    moved = write(tmp_path / "move.csv", "单位编码,单位名称,单位类型,上级单位\nM,一矿,煤矿,G\n")
    (problem,) = problems_of(lite, [moved])
    assert "M → G → B → D → M" in problem.message


def test_overlapping_single_holder_posts(lite: Session, tmp_path: Path) -> None:
    posts = POSTS.replace("2026-04-30", "2026-05-01")  # the handover day is held twice
    posts += "P7,杨小红,D,部门负责人,2025-01-01,\n"  # while P3 still heads D
    posts += (
        "P7,杨小红,D,班子成员,2025-01-01,\nP3,王海燕,D,班子成员,2025-01-01,\n"  # many holders: fine
    )
    found = problems_of(lite, write_org(tmp_path, posts=posts))
    assert len(found) == 2
    secretary, head = sorted(found, key=line)
    assert where(secretary).endswith("posts.csv:7") and "posts.csv:6" in secretary.message
    assert "B 的 党支部书记" in secretary.message
    assert where(head).endswith("posts.csv:11") and "posts.csv:5" in head.message


def test_overlap_with_a_stored_assignment(lite: Session, tmp_path: Path) -> None:
    run_import(lite, write_org(tmp_path))
    later = write(
        tmp_path / "later.csv", "工号,职务,任职单位,任职日期\nP7,党支部书记,B,2026-10-01\n"
    )
    (problem,) = problems_of(lite, [later])
    assert "P5" in problem.message and "already stored" in problem.message


def test_unknown_post_type_suggests_the_closest(lite: Session, tmp_path: Path) -> None:
    posts = POSTS + "P7,杨小红,B,党支部书计,2026-01-01,\n"
    (problem,) = problems_of(lite, write_org(tmp_path, posts=posts))
    assert where(problem).endswith("posts.csv:11") and problem.field == "列 职务"
    assert "党支部书计" in problem.message and "did you mean: 党支部书记" in (problem.hint or "")


def test_unknown_unit_kind(lite: Session, tmp_path: Path) -> None:
    # X1 under the bad X is not reported as well: only the root cause is.
    units = write(tmp_path / "units.csv", UNITS + "X,某站,工作站,C\nX1,某站一班,班组,X\n")
    (problem,) = problems_of(lite, [units])
    assert where(problem).endswith("units.csv:9") and "工作站" in problem.message
    assert "unit_kinds" in (problem.hint or "")


def test_duplicates(lite: Session, tmp_path: Path) -> None:
    units = write(tmp_path / "units.csv", UNITS + "D,综采队,区队,M\n")
    people = write(tmp_path / "people.csv", PEOPLE + "P1,张建国,C,中共党员\n")
    posts = write(tmp_path / "posts.csv", POSTS + "P2,李卫东,M,班子成员,2021-03-01,\n")
    found = problems_of(lite, [units, people, posts])
    assert [(where(p).rsplit("/", 1)[1], p.hint) for p in found] == [
        ("units.csv:9", f"首次出现于 / first at {tmp_path / 'units.csv'}:4"),
        ("people.csv:10", f"首次出现于 / first at {tmp_path / 'people.csv'}:2"),
        ("posts.csv:11", f"首次出现于 / first at {tmp_path / 'posts.csv'}:4"),
    ]


def test_bad_values_in_rows_are_all_reported(lite: Session, tmp_path: Path) -> None:
    posts = POSTS + (
        "P7,杨小红,B,组织委员,2026-13-01,\n"  # no month 13
        "P7,杨小红,B,宣传委员,2026-01-01,2025-12-31\n"  # ends before it starts
        "P99,无名,B,组织委员,2026-01-01,\n"  # no such person
        "P7,杨小红,Q,组织委员,2026-01-01,\n"  # no such unit
        ",杨小红,B,组织委员,2026-01-01,\n"  # no 工号
    )
    found = problems_of(lite, write_org(tmp_path, posts=posts))
    by_line = {int(where(p).rsplit(":", 1)[1]): p for p in found}
    assert sorted(by_line) == [11, 12, 13, 14, 15]
    assert "impossible date" in by_line[11].message and by_line[11].field == "列 任职日期"
    assert "before since" in by_line[12].message
    assert "P99" in by_line[13].message
    assert "'Q'" in by_line[14].message
    assert "required" in by_line[15].message and by_line[15].field == "列 工号"


def test_empty_files(lite: Session, tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.csv", "")
    header_only = write(tmp_path / "header.csv", "单位编码,单位名称,单位类型,上级单位\n")
    found = problems_of(lite, [empty, header_only])
    assert [(where(p), "空" in p.message or "no data" in p.message) for p in found] == [
        (str(empty), True),
        (str(header_only), True),
    ]


def test_missing_required_columns(lite: Session, tmp_path: Path) -> None:
    posts = write(tmp_path / "posts.csv", "工号,姓名,职务,任职单位\nP1,张建国,党委书记,C\n")
    (problem,) = problems_of(lite, [posts])
    assert "任职日期" in problem.message and "posts" in problem.message
    assert "工号, 姓名, 职务, 任职单位" in (problem.hint or "")
    unknown = write(tmp_path / "what.csv", "编号,内容\n1,x\n")
    (problem,) = problems_of(lite, [unknown])
    assert "cannot tell" in problem.message and "编号, 内容" in (problem.hint or "")


def test_file_problems_stop_even_with_skip(lite: Session, tmp_path: Path) -> None:
    paths = write_org(tmp_path)
    found = problems_of(lite, [*paths, write(tmp_path / "empty.csv", "")], skip_bad_rows=True)
    assert len(found) == 1 and "empty" in found[0].message


def test_all_or_nothing(session: Session, tmp_path: Path) -> None:
    """One bad row among good files: nothing at all is written, on either database."""
    run_import(
        session, [write(tmp_path / "first.csv", "单位编码,单位名称,单位类型\nC0,旧集团,公司\n")]
    )
    before = counts(session)
    posts = POSTS + "P7,杨小红,B,党支部书计,2026-01-01,\n"
    problems_of(session, write_org(tmp_path, posts=posts))
    assert counts(session) == before
    assert before[:2] == (1, 0)  # one unit, no people


def test_skip_bad_rows_imports_the_rest(session: Session, tmp_path: Path) -> None:
    units = UNITS + "X,某站,工作站,C\nX1,某站一班,班组,X\n"  # X is bad; X1 depends on it
    people = PEOPLE + "P9,孙悟,X1,群众\n"  # depends on X1
    posts = POSTS + "P7,杨小红,B,党支部书计,2026-01-01,\nP9,孙悟,X1,党小组组长,2026-01-01,\n"
    paths = write_org(tmp_path, posts=posts)
    write(paths[0], units, "utf-8-sig")
    write(paths[1], people, "gbk")
    report = run_import(session, paths, skip_bad_rows=True)
    assert (report.units.added, report.people.added, report.posts.added) == (7, 8, 9)
    skipped = sorted({where(p).rsplit("/", 1)[1] for p in report.skipped})
    assert skipped == [
        "people.csv:10",
        "posts.csv:11",
        "posts.csv:12",
        "units.csv:10",
        "units.csv:9",
    ]
    assert org.get_unit(session, code="X") is None and org.get_person(session, code="P9") is None
    dependent = next(p for p in report.skipped if where(p).endswith("people.csv:10"))
    assert f"own row is skipped: {paths[0]}:10" in (dependent.hint or "")
    # The skipped rows are fixed in the next export: they import, the rest is unchanged.
    write(paths[0], units.replace("工作站", "部门"), "utf-8-sig")
    write(paths[2], posts.replace("党支部书计", "组织委员"))
    fixed = run_import(session, paths)
    assert (fixed.units.added, fixed.people.added, fixed.posts.added) == (2, 1, 2)
    assert fixed.units.unchanged == 7
