"""Reports: Chinese text survives in XLSX and HTML, formula-like values are neutralised, the
layout is what offices file, and nothing is loaded from the network."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from assessments.inputs import PersonInfo, PostHeld, UnitInfo
from assessments.reports import render_html, summary_markdown, write_reports
from assessments.reports.text import neutralise
from assessments.scoring import score
from assessments.service import AssessmentOutcome
from rules.findings import Side
from tests.assessments.builders import (
    PEOPLE,
    POSTS,
    UNITS,
    committee,
    finding,
    inputs,
    sample_scheme,
)

EVIL_UNIT = '=HYPERLINK("http://evil.example","点我")'
SCRIPT_UNIT = "<script>alert('第四党支部')</script>"
EVIL_PERSON = "@SUM(1+1)"


def outcome(**changes: object) -> AssessmentOutcome:
    units = [
        *UNITS,
        UnitInfo(code="B09", name=EVIL_UNIT, kind="branch", parent_code="M01"),
        UnitInfo(code="B10", name=SCRIPT_UNIT, kind="branch", parent_code="M01"),
    ]
    people = [*PEOPLE, PersonInfo(code="P09", name=EVIL_PERSON, unit_code="B09", party_member=True)]
    posts = [
        *POSTS,
        PostHeld(person_code="P09", post_name="党支部书记", unit_code="B09", since=PEOPLE_SINCE),
    ]
    findings = [
        committee("B01", "2026-07", "fail", "P01"),
        committee("B02", "2026-07", "pass", "P03"),
        committee("B03", "2026-07", "fail", "P04"),
        committee("B09", "2026-07", "fail", "P09"),
        committee("B10", "2026-07", "pass"),
        finding(
            "safety-report", "D01", "fail", side=Side.business, explanation="-1 份月报缺失\t+补报"
        ),
        finding("themed-party-day", "D01", "fail", explanation="记录含控制字符\x07\x00"),
    ]
    data = {"units": units, "people": people, "posts": posts, "findings": findings, **changes}
    result = score(scheme=sample_scheme(), inputs=inputs(**data))
    return AssessmentOutcome(result=result, status="draft")


PEOPLE_SINCE = POSTS[-1].since


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+86 138", "'+86 138"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("第一党支部", "第一党支部"),
        ("a=b", "a=b"),
    ],
)
def test_neutralise(value: str, expected: str) -> None:
    assert neutralise(value) == expected


def test_xlsx_layout_chinese_text_and_neutralised_cells(tmp_path: Path) -> None:
    files = write_reports(outcome(), tmp_path)
    assert files.xlsx.name == "assessment-2026-Q3-draft.xlsx"
    book = load_workbook(files.xlsx)
    assert book.sheetnames == [
        "党支部",
        "部门",
        "矿",
        "领导干部",
        "两优一先推荐",
        "扣分明细",
        "说明",
    ]
    sheet = book["党支部"]
    assert sheet["A1"].value == "2026年第三季度一岗双责考核结果（党支部）"
    assert "A1:S1" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet.freeze_panes == "A4"
    header = [c.value for c in sheet[3]]
    assert header[:7] == [
        "序号",
        "排名",
        "单位编码",
        "单位名称",
        "得分",
        "业务得分",
        "党风廉政得分",
    ]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    body, total = rows[:-1], rows[-1]
    names = [r[3] for r in body]
    assert "第二党支部" in names
    assert "'" + EVIL_UNIT in names  # text, not a formula
    assert SCRIPT_UNIT in names
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert total[0] == "合计/平均"
    rated = [r[4] for r in body if isinstance(r[4], int | float)]
    assert total[4] == pytest.approx(round(sum(rated) / len(rated), 2))
    assert sheet.column_dimensions["D"].width >= 2 * len("第二党支部")

    cadres = book["领导干部"]
    cadre_names = [r[4] for r in cadres.iter_rows(min_row=4, values_only=True)]
    assert "'" + EVIL_PERSON in cadre_names and "张伟" in cadre_names
    lines = list(book["扣分明细"].iter_rows(min_row=4, values_only=True))
    assert any(r[14] == "'-1 份月报缺失\t+补报" for r in lines)
    assert any(r[14] == "记录含控制字符" for r in lines)  # XLSX cannot hold them: dropped
    about = {r[0]: r[1] for r in book["说明"].iter_rows(min_row=3, values_only=True)}
    assert about["考核期间"] == "2026年第三季度（2026-Q3）"


def test_xlsx_of_a_period_without_evidence_says_so(tmp_path: Path) -> None:
    files = write_reports(outcome(findings=[]), tmp_path)
    sheet = load_workbook(files.xlsx)["党支部"]
    assert "本期无任何检查结果" in str(sheet["A2"].value)
    scores = [r[4] for r in sheet.iter_rows(min_row=4, values_only=True)][:-1]
    assert set(scores) == {"无证据"}


def test_html_is_chinese_escaped_self_contained_and_printable(tmp_path: Path) -> None:
    page = write_reports(outcome(), tmp_path).html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<title>2026年第三季度一岗双责考核报告</title>" in page
    for text in ("第二党支部", "张伟", "优秀共产党员", "先进基层党组织", "三会一课和主题党日"):
        assert text in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;第四党支部&#39;)&lt;/script&gt;" in page
    assert "<script" not in page  # no script at all: charts are static SVG
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    # One chart per level with scores (党支部, 部门; 矿 is unrated) and one for cadres; no
    # trend with a single period.
    assert page.count("<svg") == 3
    assert "@page { size: A4" in page and "break-before: page" in page
    assert "display: table-header-group" in page


def test_html_trend_needs_history_and_shows_periods(tmp_path: Path) -> None:
    current = outcome()
    earlier = outcome(period="2026-Q2", findings=[committee("B01", "2026-06", "fail", "P01")])
    page = render_html(current.model_copy(update={"history": [earlier.result]}))
    assert "单位平均得分趋势" in page
    assert "2026-Q2" in page and "2026-Q3" in page


def test_html_banner_for_a_period_without_evidence() -> None:
    page = render_html(outcome(findings=[]))
    assert "本期无任何检查结果（无证据）" in page
    assert "这不是满分" in page
    assert "<svg" not in page  # nothing rated, nothing to chart


def test_markdown_summary() -> None:
    text = summary_markdown(outcome())
    assert text.startswith("# 2026年第三季度一岗双责考核")
    assert "| 1 | 第二党支部 | 100 | 好 | — |" in text
    assert "两优一先推荐" in text


def test_scores_in_reports_match_the_result(tmp_path: Path) -> None:
    current = outcome()
    book = load_workbook(write_reports(current, tmp_path).xlsx)
    by_code = {r[2]: r[4] for r in book["党支部"].iter_rows(min_row=4, values_only=True)}
    for card in current.result.units:
        if card.peer_label == "党支部":
            expected = "无证据" if card.score is None else float(card.score)
            assert by_code[card.subject_id] == expected
    assert Decimal(str(by_code["B01"])) == Decimal(99)
