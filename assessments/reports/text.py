"""Formatting shared by every report: numbers, period titles, and safe spreadsheet text.

A value that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
spreadsheet programs as a formula (CSV/formula injection: a unit named ``=HYPERLINK(…)``). Every
text cell an export writes goes through ``neutralise``, which prefixes such values with ``'``.
"""

from __future__ import annotations

from decimal import Decimal

from rules.periods import Period, PeriodKind

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
QUARTERS = {1: "一", 2: "二", 3: "三", 4: "四"}


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def score(value: Decimal | None) -> str:
    """``99``, ``97.5``, ``96.25``; ``—`` when unrated."""
    if value is None:
        return "—"
    text = format(value.quantize(Decimal("0.01")).normalize(), "f")
    return text


def delta(value: Decimal | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "持平 0"
    sign = "+" if value > 0 else "−"
    return f"{sign}{score(abs(value))}"


def percent(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.01'))}%"


def period_title(label: str) -> str:
    """``2026-Q3`` -> ``2026年第三季度``."""
    period = Period.parse(label)
    year = period.start.year
    match period.kind:
        case PeriodKind.month:
            return f"{year}年{period.start.month}月"
        case PeriodKind.quarter:
            return f"{year}年第{QUARTERS[(period.start.month - 1) // 3 + 1]}季度"
        case PeriodKind.half:
            return f"{year}年{'上' if period.start.month == 1 else '下'}半年"
        case PeriodKind.year:
            return f"{year}年度"


def blockers(titles: list[str]) -> str:
    """``有未办结的高严重度问题（3）；处于影响期内``: one entry per kind, with its count."""
    counts: dict[str, int] = {}
    for title in titles:
        counts[title] = counts.get(title, 0) + 1
    return "；".join(f"{t}（{n}）" if n > 1 else t for t, n in counts.items()) or "—"
