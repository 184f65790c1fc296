"""The words of a finding: why this verdict, Chinese first, then English.

Kept apart from the queries so the sentences can be read (and reviewed by people who write
inspection reports) in one place.
"""

from __future__ import annotations

from decimal import Decimal

from rules.compiler import CompiledPack, RulePlan, describe
from rules.findings import Verdict
from rules.kinds import Check, Duty, Window


def period_words(label: str) -> str:
    return label or "全部期间 / all time"


def type_title(pack: CompiledPack, name: str) -> str:
    title = pack.evidence_type(name).title
    return title or name


def _threshold(rule: Duty, unit_zh: str, unit_en: str) -> tuple[str, str]:
    low, high = rule.at_least, rule.at_most
    if low is not None and high is not None:
        return (
            f"要求 {describe(low)}–{describe(high)}{unit_zh}",
            f"{describe(low)}–{describe(high)}{unit_en} required",
        )
    if low is not None:
        return f"要求至少 {describe(low)}{unit_zh}", f"at least {describe(low)}{unit_en} required"
    return f"要求至多 {describe(high)}{unit_zh}", f"at most {describe(high)}{unit_en} allowed"


def duty_words(
    pack: CompiledPack,
    plan: RulePlan,
    verdict: Verdict,
    period: str,
    n: int,
    total: Decimal | None,
    late: int,
) -> str:
    rule = plan.rule
    assert isinstance(rule, Duty)
    title = type_title(pack, plan.evidence)
    when = period_words(period)
    if verdict is Verdict.no_evidence:
        return (
            f"{when}：本期没有任何「{title}」记录，无法判断（数据是否已导入？）/ "
            f"no {plan.evidence} records at all for this period: cannot judge (is the source loaded?)"
        )
    value = describe(total if total is not None else n)
    if rule.sum is not None:
        need_zh, need_en = _threshold(rule, "", "")
        zh = f"{when}：计入的「{title}」{n} 条，{rule.sum} 合计 {value}，{need_zh}"
        en = f"{n} records count, {rule.sum} totals {value}, {need_en}"
    elif rule.distinct is not None:
        need_zh, need_en = _threshold(rule, " 个", "")
        zh = f"{when}：计入的「{title}」{n} 条，不同 {rule.distinct} {value} 个，{need_zh}"
        en = f"{n} records count, {value} distinct {rule.distinct}, {need_en}"
    else:
        need_zh, need_en = _threshold(rule, " 条", "")
        zh = f"{when}：计入的「{title}」{value} 条，{need_zh}"
        en = f"{value} matching {plan.evidence} record(s), {need_en}"
    if late:
        zh += f"；另有 {late} 条逾期记录不计入"
        en += f"; {late} late record{'s' if late != 1 else ''} not counted (late is not on time)"
    return f"{zh} / {en}"


def check_words(plan: RulePlan, verdict: Verdict, subject: str, missing: list[str]) -> str:
    rule = plan.rule
    assert isinstance(rule, Check)
    applies = f"（适用条件 / applies: {rule.when}）" if rule.when else ""
    if verdict is Verdict.no_evidence:
        types = ", ".join(missing)
        return (
            f"记录 {subject}：关联证据 {types} 没有任何数据，无法判断 / "
            f"no {types} records loaded: cannot judge"
        )
    if verdict is Verdict.passed:
        return f"记录 {subject} 满足要求{applies} / satisfies: {rule.require}"
    return f"记录 {subject} 不满足要求{applies} / fails: {rule.require}"


def window_words(
    plan: RulePlan, verdict: Verdict, subject: str, n: int, total: Decimal | None
) -> str:
    rule = plan.rule
    assert isinstance(rule, Window)
    limit = describe(rule.at_least)
    days = rule.within_days
    each = f"（每笔满足 {rule.where}）" if rule.where else ""
    if verdict is Verdict.failed:
        return (
            f"{subject}：{days} 天内 {n} 笔{each}，{rule.sum} 合计 {describe(total)}，达到 {limit} / "
            f"{n} records within {days} days total {describe(total)}, reaching {limit}"
        )
    return (
        f"{subject}：本期 {n} 笔，任意 {days} 天内合计均未达到 {limit} / "
        f"{n} records; no {days}-day run reaches {limit}"
    )
