"""File sources: CSV (UTF-8, BOM, GBK), XLSX, JSON, folders, mapping and the on_error policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from pydantic import TypeAdapter, ValidationError

from dualduty.errors import UserError
from evidence.sources import AnySource, FetchContext, FileSource
from evidence.types import EvidenceType

MAP = {"unit": "单位编码", "kind": "会议类型", "held_on": "召开日期", "attendance": "应到人数"}
HEADER = "单位编码,会议类型,召开日期,应到人数\n"
GOOD_ROWS = [
    "B01,支委会,2026-03-05,7\n",
    "B02,党员大会,2026/3/12,25\n",
    "B03,支委会,2026年3月20日,6\n",
]
BROKEN_ROW = "B04,支委会,2026-02-30,abc\n"  # line 4 after the header and two rows


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def source(path: Path, **extra: object) -> FileSource:
    return FileSource.model_validate({"kind": "file", "path": str(path), "map": MAP, **extra})


def ctx(tmp_path: Path) -> FetchContext:
    return FetchContext(source_name="meetings-file", base_dir=tmp_path)


def test_reads_and_types_a_utf8_csv(tmp_path: Path, meeting_type: EvidenceType) -> None:
    path = write(tmp_path / "m.csv", HEADER + "".join(GOOD_ROWS))
    result = source(path).read(meeting_type, ctx(tmp_path))
    assert [r.fields["unit"] for r in result.records] == ["B01", "B02", "B03"]
    assert [str(r.fields["held_on"]) for r in result.records] == [
        "2026-03-05",
        "2026-03-12",
        "2026-03-20",
    ]
    assert [r.fields["attendance"] for r in result.records] == [7, 25, 6]
    assert result.records[0].raw == {
        "单位编码": "B01",
        "会议类型": "支委会",
        "召开日期": "2026-03-05",
        "应到人数": "7",
    }
    assert str(result.records[1].location) == f"{path}:3"
    assert result.problems == []


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_bom_and_gbk_are_detected(
    tmp_path: Path, meeting_type: EvidenceType, encoding: str
) -> None:
    path = write(tmp_path / "m.csv", HEADER + "".join(GOOD_ROWS), encoding)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    result = source(path).read(meeting_type, ctx(tmp_path))
    assert [r.fields["kind"] for r in result.records] == ["支委会", "党员大会", "支委会"]
    assert "单位编码" in result.records[0].raw  # the BOM did not stick to the first column


def test_broken_row_fails_the_whole_file_by_default(
    tmp_path: Path, meeting_type: EvidenceType
) -> None:
    path = write(
        tmp_path / "m.csv", HEADER + GOOD_ROWS[0] + GOOD_ROWS[1] + BROKEN_ROW + GOOD_ROWS[2]
    )
    with pytest.raises(UserError) as raised:
        source(path).read(meeting_type, ctx(tmp_path))
    problems = raised.value.problems
    # Both bad values of line 4 are reported, each with the field and its source column.
    assert [(str(p.location), p.field) for p in problems] == [
        (f"{path}:4", "held_on ← 召开日期"),
        (f"{path}:4", "attendance ← 应到人数"),
    ]
    assert "2026-02-30" in problems[0].message
    assert problems[0].hint is not None


def test_broken_row_is_skipped_and_reported_with_skip(
    tmp_path: Path, meeting_type: EvidenceType
) -> None:
    path = write(
        tmp_path / "m.csv", HEADER + GOOD_ROWS[0] + GOOD_ROWS[1] + BROKEN_ROW + GOOD_ROWS[2]
    )
    result = source(path, on_error="skip").read(meeting_type, ctx(tmp_path))
    assert [r.fields["unit"] for r in result.records] == ["B01", "B02", "B03"]
    assert result.fetched == 4
    assert {str(p.location) for p in result.problems} == {f"{path}:4"}
    assert all(p.severity == "warning" for p in result.problems)


def test_a_missing_column_fails_even_with_skip(tmp_path: Path, meeting_type: EvidenceType) -> None:
    path = write(tmp_path / "m.csv", HEADER + "".join(GOOD_ROWS))
    wrong = dict(MAP, held_on="会议日期")
    with pytest.raises(UserError) as raised:
        FileSource(path=path, map=wrong, on_error="skip").read(meeting_type, ctx(tmp_path))
    (problem,) = raised.value.problems
    assert "会议日期" in problem.message
    assert problem.field == "held_on"
    assert problem.hint is not None and "召开日期" in problem.hint


def test_empty_natural_key_field_is_a_bad_record(
    tmp_path: Path, meeting_type: EvidenceType
) -> None:
    path = write(tmp_path / "m.csv", HEADER + GOOD_ROWS[0] + ",支委会,2026-03-06,5\n")
    with pytest.raises(UserError) as raised:
        source(path).read(meeting_type, ctx(tmp_path))
    (problem,) = raised.value.problems
    assert problem.field == "unit ← 单位编码"
    assert str(problem.location) == f"{path}:3"


def test_a_folder_of_csv_xlsx_and_json(tmp_path: Path, meeting_type: EvidenceType) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    write(folder / "a-march.csv", HEADER + GOOD_ROWS[0], "gbk")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(MAP.values()))
    sheet.append(["B02", "党员大会", "2026-03-12", 25])
    workbook.save(folder / "b-april.xlsx")
    records = [{"单位编码": "B03", "会议类型": "支委会", "召开日期": "20260320", "应到人数": 6}]
    write(folder / "c.json", json.dumps({"records": records}, ensure_ascii=False))
    write(folder / "notes.md", "not evidence")
    result = FileSource(path=Path("exports"), map=MAP).read(meeting_type, ctx(tmp_path))
    assert [(r.fields["unit"], r.fields["attendance"]) for r in result.records] == [
        ("B01", 7),
        ("B02", 25),
        ("B03", 6),
    ]
    assert str(result.records[1].location) == f"{folder / 'b-april.xlsx'}[Sheet]:2"


def test_an_unreadable_file_in_a_folder_names_the_file(
    tmp_path: Path, meeting_type: EvidenceType
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    write(folder / "a.csv", HEADER + GOOD_ROWS[0])
    write(folder / "b.json", '{"records": [1, ')
    with pytest.raises(UserError) as raised:
        FileSource(path=folder, map=MAP).read(meeting_type, ctx(tmp_path))
    assert [p.location.file for p in raised.value.problems if p.location] == [
        str(folder / "b.json")
    ]


def test_missing_path_and_empty_folder(tmp_path: Path, meeting_type: EvidenceType) -> None:
    with pytest.raises(UserError, match="no such file or folder"):
        FileSource(path=Path("nope.csv")).read(meeting_type, ctx(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no CSV/XLSX/JSON files"):
        FileSource(path=Path("empty")).read(meeting_type, ctx(tmp_path))


def test_shorthand_and_registry() -> None:
    adapter: TypeAdapter[AnySource] = TypeAdapter(AnySource)
    parsed = adapter.validate_python({"file": "data/meetings.csv", "map": {"unit": "单位编码"}})
    assert isinstance(parsed, FileSource)
    assert parsed.path == Path("data/meetings.csv")
    with pytest.raises(ValidationError, match="one of file, sql, http, manual"):
        adapter.validate_python({"kind": "ftp", "path": "x"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        adapter.validate_python({"kind": "file", "path": "x", "mapping": {}})
