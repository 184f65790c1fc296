"""Charts as inline SVG written here: a report loads nothing from anywhere and prints as shown.

Why not a charting library: pygal (the maintained pure-Python SVG one) appends a legacy
``sys.meta_path`` finder on import; under our ``filterwarnings = error`` every later failed
import in the process then raises ImportWarning, and on Python 3.12 it breaks outright.
matplotlib would bring numpy and font handling for two simple chart kinds. Both charts here are
plain rectangles, lines and text; every label is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

from markupsafe import Markup, escape

from assessments.results import AssessmentResult, Scorecard
from rules.findings import Side

MAX_BARS = 40
WIDTH = 760
INTEGRITY_COLOUR = "#b8332a"
BUSINESS_COLOUR = "#2f5d8a"
SERIES_COLOURS = ("#b8332a", "#2f5d8a", "#3c8d2f", "#c77c11", "#6a4c93", "#1b7f86", "#7a7a7a")
FONT = (
    "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','WenQuanYi Zen Hei',"
    "'PingFang SC',sans-serif"
)
BAR = 18
GAP = 8


def text_width(text: str, size: float = 12) -> float:
    """Rough rendered width: CJK and full-width characters are one em, others about half."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.58 for ch in text)


def side_bars(cards: list[Scorecard], title: str, *, label: Callable[[Scorecard], str]) -> Markup:
    """Rated cards in display order (at most MAX_BARS), each bar split into its two sides, so
    one chart shows the score and the dual-duty split at once."""
    rated = [c for c in cards if c.score is not None][:MAX_BARS]
    labels = [label(c) for c in rated]
    left = min(20 + max((text_width(t) for t in labels), default=40), 300)
    top, axis = 34, 44
    height = top + len(rated) * (BAR + GAP) + axis + 18
    right = WIDTH - 50
    highest = max((float(c.score or 0) for c in rated), default=100)
    top_value = max(100.0, math.ceil(highest / 10) * 10)
    scale = (right - left) / top_value
    parts = [_open(height, title)]
    step = 10 if top_value <= 120 else 20
    for tick in range(0, int(top_value) + 1, step):
        x = left + tick * scale
        bottom = top + len(rated) * (BAR + GAP)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" stroke="#ccc" '
            f'stroke-dasharray="3,3"/><text x="{x:.1f}" y="{bottom + 14}" font-size="11" '
            f'text-anchor="middle" fill="#444">{tick}</text>'
        )
    for i, (card, name) in enumerate(zip(rated, labels, strict=True)):
        y = top + i * (BAR + GAP)
        integrity = float(card.side(Side.integrity).score)
        business = float(card.side(Side.business).score)
        w1, w2 = max(integrity, 0) * scale, max(business, 0) * scale
        tip = f"{name}：党风廉政 {integrity:g}，业务 {business:g}，合计 {float(card.score or 0):g}"
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<text x="{left - 6:.1f}" y="{y + BAR - 4}" font-size="12" text-anchor="end" '
            f'fill="#222">{escape(name)}</text>'
            f'<rect x="{left:.1f}" y="{y}" width="{w1:.1f}" height="{BAR}" fill="{INTEGRITY_COLOUR}"/>'
            f'<rect x="{left + w1:.1f}" y="{y}" width="{w2:.1f}" height="{BAR}" '
            f'fill="{BUSINESS_COLOUR}"/>'
            f'<text x="{left + w1 + w2 + 4:.1f}" y="{y + BAR - 4}" font-size="11" '
            f'fill="#222">{escape(_number(card.score))}</text></g>'
        )
    legend_y = height - 12
    parts.append(
        _legend(
            left,
            legend_y,
            [("党风廉政 / integrity", INTEGRITY_COLOUR), ("业务 / business", BUSINESS_COLOUR)],
        )
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def trend(results: list[AssessmentResult], title: str) -> Markup:
    """Average unit score per level (peer group) across periods, oldest first."""
    groups: dict[str, str] = {}
    for result in results:
        for card in result.units:
            groups.setdefault(card.peer_group, card.peer_label)
    series = [
        (label, [_average(r.units, group) for r in results]) for group, label in groups.items()
    ]
    series = [(label, values) for label, values in series if any(v is not None for v in values)]
    values = [v for _, vs in series for v in vs if v is not None]
    low = math.floor((min(values, default=0) - 2) / 5) * 5
    high = math.ceil((max(values, default=100) + 2) / 5) * 5
    if high - low < 10:
        low = high - 10
    left, right, top, bottom = 48, WIDTH - 50, 34, 250
    height = bottom + 60
    span = max(len(results) - 1, 1)

    def x(i: int) -> float:
        return left + (right - left) * (i / span if len(results) > 1 else 0.5)

    def y(v: float) -> float:
        return bottom - (bottom - top) * (v - low) / (high - low)

    parts = [_open(height, title)]
    for tick in range(low, high + 1, 5 if high - low <= 40 else 10):
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{right}" y2="{y(tick):.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#444">{tick}</text>'
        )
    for i, result in enumerate(results):
        parts.append(
            f'<text x="{x(i):.1f}" y="{bottom + 18}" font-size="11" text-anchor="middle" '
            f'fill="#444">{escape(result.period)}</text>'
        )
    legend: list[tuple[str, str]] = []
    for n, (label, points) in enumerate(series):
        colour = SERIES_COLOURS[n % len(SERIES_COLOURS)]
        legend.append((label, colour))
        known = [(i, v) for i, v in enumerate(points) if v is not None]
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in known)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, v in known:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(label)} {escape(results[i].period)}：{v:g}</title></circle>"
                f'<text x="{x(i) + 5:.1f}" y="{y(v) - 6:.1f}" font-size="10" fill="{colour}">'
                f"{v:g}</text>"
            )
    parts.append(_legend(left, height - 14, legend))
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(height: float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" role="img" aria-label="{escape(title)}" '
        f'font-family="{FONT}"><title>{escape(title)}</title>'
        f'<text x="{WIDTH / 2}" y="18" font-size="14" font-weight="bold" text-anchor="middle" '
        f'fill="#111">{escape(title)}</text>'
    )


def _legend(x: float, y: float, items: list[tuple[str, str]]) -> str:
    parts = []
    for label, colour in items:
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10}" width="11" height="11" fill="{colour}"/>'
            f'<text x="{x + 15:.1f}" y="{y}" font-size="11" fill="#222">{escape(label)}</text>'
        )
        x += 30 + text_width(label, 11)
    return "".join(parts)


def _number(value: Decimal | None) -> str:
    return "—" if value is None else format(value.normalize(), "f")


def _average(cards: list[Scorecard], group: str) -> float | None:
    scores = [c.score for c in cards if c.peer_group == group and c.score is not None]
    if not scores:
        return None
    return float(round(sum(scores, Decimal(0)) / len(scores), 2))
