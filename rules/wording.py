"""The words of a finding: why this verdict, Chinese first, then English.

The sentences are SQL expressions over a rule query's ``result`` columns (``verdict``, ``period``,
``subject_id``, ``n``, ``total``, ``late``), so an inspection with a million findings builds its
explanations inside DuckDB, not in a Python loop. They are kept here, apart from the queries, so
the wording can be read and reviewed in one place.
"""

from __future__ import annotations

from rules.compiler import CompiledPack, RulePlan, describe
from rules.kinds import Check, Duty, Window
from rules.queries.common import literal


def text(*parts: str | tuple[str]) -> str:
    """``concat`` of literal text (``str``) and SQL expressions (``(sql,)``)."""
    rendered = [part[0] if isinstance(part, tuple) else literal(part) for part in parts]
    return "concat(" + ", ".join(rendered) + ")"


def number(column: str) -> tuple[str]:
    """A decimal without trailing zeros: 2100000, 8.5 (DECIMAL(38,4) prints 2100000.0000)."""
    return (f"rtrim(rtrim(CAST({column} AS VARCHAR), '0'), '.')",)


COUNT: tuple[str] = ("n",)
LATE_ZH: tuple[str] = (
    "CASE WHEN late > 0 THEN concat('；另有 ', late, ' 条逾期记录不计入') ELSE '' END",
)
LATE_EN: tuple[str] = (
    "CASE WHEN late > 0 THEN concat('; ', late, ' late record(s) not counted "
    "(late is not on time)') ELSE '' END",
)


PERIOD: tuple[str] = ("CASE WHEN period = '' THEN '全部期间 / all time' ELSE period END",)
SUBJECT: tuple[str] = ("subject_id",)


def explanation_sql(pack: CompiledPack, plan: RulePlan) -> str:
    rule = plan.rule
    if isinstance(rule, Duty):
        return duty_sql(pack, plan, rule)
    if isinstance(rule, Check):
        return check_sql(rule)
    assert isinstance(rule, Window)
    return window_sql(rule)


def _threshold(rule: Duty, unit: str) -> tuple[str, str]:
    low, high = rule.at_least, rule.at_most
    if low is not None and high is not None:
        span = f"{describe(low)}–{describe(high)}"
        return f"要求 {span}{unit}", f"{span} required"
    if low is not None:
        return f"要求至少 {describe(low)}{unit}", f"at least {describe(low)} required"
    return f"要求至多 {describe(high)}{unit}", f"at most {describe(high)} allowed"


def duty_sql(pack: CompiledPack, plan: RulePlan, rule: Duty) -> str:
    title = pack.evidence_type(plan.evidence).title or plan.evidence
    no_evidence = text(
        PERIOD,
        f"：本期没有任何「{title}」记录，无法判断（数据是否已导入？）/ no {plan.evidence} "
        "records at all for this period: cannot judge (is the source loaded?)",
    )
    if rule.sum is not None:
        need_zh, need_en = _threshold(rule, "")
        body = text(
            PERIOD,
            f"：计入的「{title}」",
            COUNT,
            f" 条，{rule.sum} 合计 ",
            number("total"),
            f"，{need_zh}",
            LATE_ZH,
            " / ",
            COUNT,
            f" record(s) count, {rule.sum} totals ",
            number("total"),
            f", {need_en}",
            LATE_EN,
        )
    elif rule.distinct is not None:
        need_zh, need_en = _threshold(rule, " 个")
        body = text(
            PERIOD,
            f"：计入的「{title}」",
            COUNT,
            f" 条，不同 {rule.distinct} ",
            number("total"),
            f" 个，{need_zh}",
            LATE_ZH,
            " / ",
            COUNT,
            " record(s) count, ",
            number("total"),
            f" distinct {rule.distinct}, {need_en}",
            LATE_EN,
        )
    else:
        need_zh, need_en = _threshold(rule, " 条")
        body = text(
            PERIOD,
            f"：计入的「{title}」",
            COUNT,
            f" 条，{need_zh}",
            LATE_ZH,
            " / ",
            COUNT,
            f" matching {plan.evidence} record(s), {need_en}",
            LATE_EN,
        )
    return f"CASE WHEN verdict = 'no-evidence' THEN {no_evidence} ELSE {body} END"


def check_sql(rule: Check) -> str:
    applies = f"（适用条件 / applies: {rule.when}）" if rule.when else ""
    return (
        "CASE verdict "
        f"WHEN 'pass' THEN {text('记录 ', SUBJECT, f' 满足要求{applies} / satisfies: {rule.require}')} "
        f"WHEN 'fail' THEN {text('记录 ', SUBJECT, f' 不满足要求{applies} / fails: {rule.require}')} "
        f"ELSE {text('记录 ', SUBJECT, '：关联证据没有任何数据，无法判断 / looked-up evidence has no records at all: cannot judge')} "
        "END"
    )


def window_sql(rule: Window) -> str:
    limit = describe(rule.at_least)
    days = rule.within_days
    each = f"（每笔满足 {rule.where}）" if rule.where else ""
    failed = text(
        SUBJECT,
        f"：{days} 天内 ",
        COUNT,
        f" 笔{each}，{rule.sum} 合计 ",
        number("total"),
        f"，达到 {limit} / ",
        COUNT,
        f" records within {days} days total ",
        number("total"),
        f", reaching {limit}",
    )
    passed = text(
        SUBJECT,
        "：本期 ",
        COUNT,
        f" 笔，任意 {days} 天内合计均未达到 {limit} / ",
        COUNT,
        f" records; no {days}-day run reaches {limit}",
    )
    return f"CASE WHEN verdict = 'fail' THEN {failed} ELSE {passed} END"
