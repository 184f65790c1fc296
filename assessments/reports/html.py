"""The HTML report: Jinja2 with autoescaping, charts inline as SVG, print CSS for A4.

It reads well on paper: sections start on a new page, table headers repeat, rows and charts
do not split across pages, and colours print. Nothing is loaded from the network.
"""

from __future__ import annotations

from decimal import Decimal

from jinja2 import Environment, PackageLoader, StrictUndefined

from assessments.ranking import TIEBREAK_NOTE
from assessments.reports import charts, text
from assessments.results import (
    EVIDENCE_LABELS,
    SIDE_LABELS,
    CommendationEntry,
    Scorecard,
    by_peer_group,
)
from assessments.service import AssessmentOutcome
from rules.findings import Side

_ENV = Environment(
    loader=PackageLoader("assessments.reports", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(outcome: AssessmentOutcome) -> str:
    result = outcome.result
    title = f"{text.period_title(result.period)}一岗双责考核报告"
    unit_groups = list(by_peer_group(result.units).items())
    cadre_groups = list(by_peer_group(result.people).items())
    unrated = next((c.grade for c in result.units + result.people if c.score is None), "无证据")
    grades = _grades(result.units + result.people, unrated)
    history = [*outcome.history, result]
    return _ENV.get_template("report.html.j2").render(
        outcome=outcome,
        r=result,
        title=title,
        period_title=text.period_title(result.period),
        grades=grades,
        unrated_label=unrated,
        grade_counts=[
            ("单位 / units", _count(result.units)),
            ("干部 / cadres", _count(result.people)),
        ],
        unit_groups=unit_groups,
        cadre_groups=cadre_groups,
        unit_svgs={
            label: charts.side_bars(cards, f"{label}得分 / scores", label=lambda c: c.name)
            if any(c.score is not None for c in cards)
            else None
            for label, cards in unit_groups
        },
        dual_svg=(
            charts.side_bars(
                result.people,
                "干部一岗双责得分 / cadres' dual-duty split",
                label=lambda c: f"{c.name}（{c.peer_label}）",
            )
            if any(c.score is not None for c in result.people)
            else None
        ),
        trend_svg=charts.trend(history, "单位平均得分趋势 / unit average trend")
        if len(history) > 1
        else None,
        shortlist=_shortlist(result.commendations),
        detailed=[c for c in result.units + result.people if _worth_detailing(c)],
        max_bars=charts.MAX_BARS,
        tiebreak=TIEBREAK_NOTE,
        evidence_labels=EVIDENCE_LABELS,
        side_labels=SIDE_LABELS,
        fmt=text.score,
        delta=text.delta,
        percent=text.percent,
        side=_side,
        blockers=text.blockers,
    )


def _side(card: Scorecard, side: str) -> Decimal | None:
    if not card.sides:
        return None
    return card.side(Side(side)).score


def _grades(cards: list[Scorecard], unrated: str) -> list[str]:
    seen: list[str] = []
    for card in sorted(cards, key=lambda c: -(c.score or Decimal(-1))):
        if card.grade != unrated and card.grade not in seen:
            seen.append(card.grade)
    return seen


def _count(cards: list[Scorecard]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for card in cards:
        counts[card.grade] = counts.get(card.grade, 0) + 1
    return counts


def _shortlist(entries: list[CommendationEntry]) -> list[tuple[str, list[CommendationEntry]]]:
    grouped: dict[str, list[CommendationEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.kind, []).append(entry)
    return list(grouped.items())


def _worth_detailing(card: Scorecard) -> bool:
    return any(ln.points != 0 or ln.kind == "no_evidence" for ln in card.lines) or bool(
        card.blockers
    )
