"""The XLSX export in the layout Chinese offices file: one sheet per level, a title row, a
frozen header, a totals row, Chinese column names and widths that fit Chinese text.

Sheets: one per unit level (子公司, 矿, 部门, 党支部 …), 领导干部 (cadres, grouped by post),
两优一先推荐, 扣分明细 (every scored line) and 说明 (method, hashes, versions).
Every text cell is neutralised against formula injection (``text.neutralise``).
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from assessments.reports import text
from assessments.results import (
    EVIDENCE_LABELS,
    SIDE_LABELS,
    AssessmentResult,
    Scorecard,
    by_peer_group,
)
from assessments.service import AssessmentOutcome
from rules.findings import Side as DutySide

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_TOP_WRAP = Alignment(vertical="top", wrap_text=True)
SCORE_FORMAT = "0.00"


def _named(name: str, font: Font, alignment: Alignment, **extra: Any) -> NamedStyle:
    return NamedStyle(name=name, font=font, alignment=alignment, **extra)


# Named styles, registered once per workbook: assigning a style object per cell makes openpyxl
# hash it for every cell (minutes for a large company); a named style is one lookup.
def _styles() -> list[NamedStyle]:
    # New objects per workbook: openpyxl binds a named style to the workbook it is added to.
    return [
        _named(
            "dd-title",
            Font(name="黑体", size=16, bold=True),
            Alignment(horizontal="center", vertical="center"),
        ),
        _named(
            "dd-subtitle",
            Font(name="宋体", size=10, color="555555"),
            Alignment(horizontal="center"),
        ),
        _named(
            "dd-header",
            Font(name="黑体", size=11, bold=True),
            Alignment(horizontal="center", vertical="center", wrap_text=True),
            fill=PatternFill("solid", fgColor="D9D9D9"),
            border=_BORDER,
        ),
        _named("dd-body", Font(name="宋体", size=11), _TOP_WRAP, border=_BORDER),
        _named(
            "dd-body-score",
            Font(name="宋体", size=11),
            _TOP_WRAP,
            border=_BORDER,
            number_format=SCORE_FORMAT,
        ),
        _named(
            "dd-total",
            Font(name="黑体", size=11, bold=True),
            _TOP_WRAP,
            border=_BORDER,
            fill=PatternFill("solid", fgColor="F2F2F2"),
        ),
        _named(
            "dd-total-score",
            Font(name="黑体", size=11, bold=True),
            _TOP_WRAP,
            border=_BORDER,
            fill=PatternFill("solid", fgColor="F2F2F2"),
            number_format=SCORE_FORMAT,
        ),
        _named("dd-key", Font(name="黑体", size=11, bold=True), Alignment(vertical="top")),
        _named("dd-text", Font(name="宋体", size=11), _TOP_WRAP),
    ]


HEADER_ROW = 3
_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})

UNIT_COLUMNS = [
    "序号", "排名", "单位编码", "单位名称", "得分", "业务得分", "党风廉政得分", "扣分", "加分",
    "等级", "计算等级", "上期得分", "环比", "未通过", "无证据", "通过", "证据情况", "限制事项",
    "并列说明",
]  # fmt: skip
CADRE_COLUMNS = [
    "序号", "岗位", "排名", "工号", "姓名", "所在单位", "得分", "业务得分", "党风廉政得分",
    "等级", "上期得分", "环比", "未通过", "无证据", "任职分摊", "限制事项", "并列说明",
]  # fmt: skip
LINE_COLUMNS = [
    "对象类型", "编码", "名称", "方面", "扣分项", "规则", "规则名称", "检查对象", "期间", "结论",
    "标准分值", "实际计分", "上限说明", "承担岗位", "说明",
]  # fmt: skip
SHORTLIST_COLUMNS = [
    "推荐类别", "编码", "名称", "类别/岗位", "得分", "等级", "排名", "是否符合", "理由",
]  # fmt: skip


def write_xlsx(outcome: AssessmentOutcome, path: Path) -> Path:
    workbook = build_workbook(outcome)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def build_workbook(outcome: AssessmentOutcome) -> Workbook:
    result = outcome.result
    title = f"{text.period_title(result.period)}一岗双责考核结果"
    subtitle = f"{result.scheme_title}（第{result.scheme_version}版） · {outcome.status_label}" + (
        " · 本期无任何检查结果（无证据，非满分）" if result.evidence.nothing_at_all else ""
    )
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for style in _styles():
        workbook.add_named_style(style)
    for label, cards in by_peer_group(result.units).items():
        sheet = _sheet(workbook, label, f"{title}（{label}）", subtitle, UNIT_COLUMNS)
        rows = [_unit_row(i, c) for i, c in enumerate(cards, start=1)]
        _fill(sheet, rows, _totals(cards, UNIT_COLUMNS, score_columns=(5, 6, 7)))
    if result.people:
        cards = sorted(result.people, key=lambda c: (c.peer_label, c.position))
        sheet = _sheet(workbook, "领导干部", f"{title}（领导干部）", subtitle, CADRE_COLUMNS)
        rows = [_cadre_row(i, c) for i, c in enumerate(cards, start=1)]
        _fill(sheet, rows, _totals(cards, CADRE_COLUMNS, score_columns=(7, 8, 9)))
    sheet = _sheet(
        workbook, "两优一先推荐", f"{title}（两优一先推荐名单）", subtitle, SHORTLIST_COLUMNS
    )
    rows = [
        [
            e.kind,
            e.subject_id,
            e.name,
            e.peer_label,
            e.score,
            e.grade,
            f"{e.rank}/{e.peers}" if e.rank else "—",
            "符合" if e.qualifies else "不符合",
            "\n".join(e.reasons),
        ]
        for e in result.commendations
    ]
    qualified = sum(e.qualifies for e in result.commendations)
    _fill(sheet, rows, ["合计", f"{len(rows)}人/个", "", "", None, "", "", f"符合{qualified}", ""])
    sheet = _sheet(workbook, "扣分明细", f"{title}（扣分明细）", subtitle, LINE_COLUMNS)
    rows = [_line_row(c, ln) for c in result.units + result.people for ln in c.lines]
    charged = sum((ln.points for c in result.units + result.people for ln in c.lines), Decimal(0))
    totals: list[Any] = ["合计", f"{len(rows)}条"] + [""] * 9 + [charged, "", "", ""]
    _fill(sheet, rows, totals)
    _about(workbook, outcome, title)
    return workbook


def _sheet(
    workbook: Workbook, name: str, title: str, subtitle: str, columns: list[str]
) -> Worksheet:
    sheet: Worksheet = workbook.create_sheet(_sheet_name(workbook, name))
    width = len(columns)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    _put(sheet.cell(1, 1), title, "dd-title")
    _put(sheet.cell(2, 1), subtitle, "dd-subtitle")
    sheet.row_dimensions[1].height = 30
    for index, name_ in enumerate(columns, start=1):
        cell = sheet.cell(HEADER_ROW, index)
        _put(cell, name_, "dd-header")
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    return sheet


def _sheet_name(workbook: Workbook, name: str) -> str:
    base = name.translate(_BAD_SHEET_CHARS)[:31] or "Sheet"
    candidate, n = base, 2
    while candidate in workbook.sheetnames:
        candidate = f"{base[:28]}({n})"
        n += 1
    return candidate


def _fill(sheet: Worksheet, rows: Sequence[Sequence[Any]], totals: Sequence[Any]) -> None:
    first = HEADER_ROW + 1
    for r, values in enumerate(rows, start=first):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(r, c)
            _put(cell, value, "dd-body")
    total_row = first + len(rows)
    for c, value in enumerate(totals, start=1):
        cell = sheet.cell(total_row, c)
        _put(cell, value, "dd-total")
    _widths(sheet, [list(r) for r in rows] + [list(totals)])


def _put(cell: Any, value: Any, style: str) -> None:
    if isinstance(value, Decimal):
        cell.value = float(value)
        style += "-score" if style in {"dd-body", "dd-total"} else ""
    elif isinstance(value, str):
        # Control characters (a BEL pasted into an explanation) are not allowed in XLSX at all:
        # openpyxl would refuse the whole export, so they are dropped.
        cell.value = text.neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
    else:
        cell.value = value
    _stamp(cell, style)


# Per workbook: the style array each named style resolves to. ``cell.style = name`` searches
# the workbook's style list on every assignment (most of the time of a 1M-cell export); the
# first cell of each style pays that once and the rest copy its array, as openpyxl's own
# worksheet copy does.
_STAMPS: weakref.WeakKeyDictionary[Workbook, dict[str, Any]] = weakref.WeakKeyDictionary()


def _stamp(cell: Any, style: str) -> None:
    stamps = _STAMPS.setdefault(cell.parent.parent, {})
    if style in stamps:
        cell._style = copy.copy(stamps[style])
        return
    cell.style = style
    stamps[style] = copy.copy(cell._style)


def _widths(sheet: Worksheet, rows: list[list[Any]]) -> None:
    """Column widths in characters; a CJK character takes two."""
    header = [sheet.cell(HEADER_ROW, c).value for c in range(1, sheet.max_column + 1)]
    for index, name in enumerate(header, start=1):
        values = [str(name or "")] + [_shown(r[index - 1]) for r in rows if index - 1 < len(r)]
        longest = max(_display_width(line) for v in values for line in v.split("\n"))
        sheet.column_dimensions[get_column_letter(index)].width = min(max(longest + 2, 6), 60)


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _display_width(value: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in value)


def _blockers(card: Scorecard) -> str:
    return "\n".join(f"{b.title}：{b.reason}" for b in card.blockers)


def _unit_row(index: int, c: Scorecard) -> list[Any]:
    business = c.side(DutySide.business) if c.sides else None
    integrity = c.side(DutySide.integrity) if c.sides else None
    return [
        index,
        c.rank if c.rank is not None else "—",
        c.subject_id,
        c.name,
        c.score if c.score is not None else "无证据",
        business.score if business else None,
        integrity.score if integrity else None,
        (business.deducted + integrity.deducted) if business and integrity else None,
        (business.bonus + integrity.bonus) if business and integrity else None,
        c.grade,
        c.computed_grade or "—",
        c.previous_score,
        text.delta(c.delta),
        c.failed,
        c.no_evidence,
        c.passed,
        EVIDENCE_LABELS[c.evidence],
        _blockers(c),
        c.tie_note,
    ]


def _cadre_row(index: int, c: Scorecard) -> list[Any]:
    business = c.side(DutySide.business) if c.sides else None
    integrity = c.side(DutySide.integrity) if c.sides else None
    shares = "\n".join(
        f"{p.post_name}（{p.unit_name}）{p.since:%m-%d}至{p.until:%m-%d} {p.days}天 "
        f"{text.percent(p.share)} 计{text.score(p.contribution)}分"
        for p in c.posts
    )
    return [
        index,
        c.peer_label,
        c.rank if c.rank is not None else "—",
        c.subject_id,
        c.name,
        c.unit_name,
        c.score if c.score is not None else "无证据",
        business.score if business else None,
        integrity.score if integrity else None,
        c.grade,
        c.previous_score,
        text.delta(c.delta),
        c.failed,
        c.no_evidence,
        shares,
        _blockers(c),
        c.tie_note,
    ]


def _line_row(c: Scorecard, ln: Any) -> list[Any]:
    return [
        "单位" if c.subject_kind == "unit" else "干部",
        c.subject_id,
        c.name,
        SIDE_LABELS[ln.side],
        ln.item_title,
        ln.rule_id or "",
        ln.rule_title,
        ln.finding_subject or "",
        ln.finding_period or "",
        ln.label,
        ln.nominal,
        ln.points,
        ln.capped_by or "",
        ln.post or "",
        ln.explanation,
    ]


def _totals(
    cards: list[Scorecard], columns: list[str], score_columns: tuple[int, ...]
) -> list[Any]:
    """合计 row: count, averages of the score columns, and the grade distribution."""
    rated = [c for c in cards if c.score is not None]
    row: list[Any] = [""] * len(columns)
    row[0] = "合计/平均"
    row[1] = f"{len(cards)}个（评分{len(rated)}）"
    for column in score_columns:
        values = [_score_of(c, column, columns) for c in rated]
        known = [v for v in values if v is not None]
        row[column - 1] = (
            (sum(known, Decimal(0)) / len(known)).quantize(Decimal("0.01")) if known else None
        )
    grades: dict[str, int] = {}
    for card in cards:
        grades[card.grade] = grades.get(card.grade, 0) + 1
    row[columns.index("等级")] = " ".join(f"{g}{n}" for g, n in grades.items())
    return row


def _score_of(card: Scorecard, column: int, columns: list[str]) -> Decimal | None:
    name = columns[column - 1]
    if name == "得分":
        return card.score
    if name == "业务得分":
        return card.side(DutySide.business).score
    if name == "党风廉政得分":
        return card.side(DutySide.integrity).score
    return None


def _about(workbook: Workbook, outcome: AssessmentOutcome, title: str) -> None:
    result: AssessmentResult = outcome.result
    sheet = workbook.create_sheet("说明")
    sheet.merge_cells("A1:B1")
    _put(sheet.cell(1, 1), f"{title}（说明）", "dd-title")
    facts: list[tuple[str, str]] = [
        ("考核期间", f"{text.period_title(result.period)}（{result.period}）"),
        ("考核方案", f"{result.scheme_title}（{result.scheme_name}，第{result.scheme_version}版）"),
        ("状态", outcome.status_label),
        ("方案哈希", result.scheme_sha256),
        ("输入哈希", result.inputs_sha256),
        ("规则包版本", "\n".join(result.pack_versions) or "—"),
        ("上期", f"{result.previous_period or '—'} {result.previous_source or ''}".strip()),
        (
            "检查结果",
            f"共{result.evidence.findings}条：通过{result.evidence.passed}，未通过"
            f"{result.evidence.failed}，无证据{result.evidence.no_evidence}；不属本期"
            f"{result.evidence.ignored}",
        ),
    ]
    facts += [("计分说明", note) for note in result.method]
    facts += [("提示", note) for note in outcome.notes]
    for r, (key, value) in enumerate(facts, start=3):
        _put(sheet.cell(r, 1), key, "dd-key")
        _put(sheet.cell(r, 2), value, "dd-text")
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 100
