"""A short Markdown summary: the Prefect artifact of an assessment run and the CLI's digest."""

from __future__ import annotations

from assessments.reports import text
from assessments.results import by_peer_group
from assessments.service import AssessmentOutcome

TOP = 10


def summary_markdown(outcome: AssessmentOutcome) -> str:
    r = outcome.result
    lines = [
        f"# {text.period_title(r.period)}一岗双责考核 / assessment {r.period}",
        "",
        f"{r.scheme_title}（第{r.scheme_version}版） · {outcome.status_label}",
        "",
        f"检查结果 {r.evidence.findings} 条：通过 {r.evidence.passed}，未通过 {r.evidence.failed}，"
        f"无证据 {r.evidence.no_evidence}",
    ]
    if r.evidence.nothing_at_all:
        lines += ["", "> **本期无任何检查结果：所有对象未评分（不是满分）/ no evidence at all**"]
    lines += [f"> {note}" for note in outcome.notes]
    for heading, cards in (("单位 / units", r.units), ("干部 / cadres", r.people)):
        for label, group in by_peer_group(cards).items():
            lines += [
                "",
                f"## {heading}：{label}",
                "",
                "| 排名 | 名称 | 得分 | 等级 | 环比 |",
                "|---:|---|---:|---|---:|",
            ]
            for card in group[:TOP]:
                rank = card.rank if card.rank is not None else "—"
                name = card.name.replace("|", "\\|")
                lines.append(
                    f"| {rank} | {name} | {text.score(card.score)} | {card.grade} | {text.delta(card.delta)} |"
                )
            if len(group) > TOP:
                lines.append(f"| … | 另 {len(group) - TOP} 个 | | | |")
    qualified = [e for e in r.commendations if e.qualifies]
    lines += ["", f"## 两优一先推荐 / shortlist：{len(qualified)} 名符合条件"]
    lines += [f"- {e.kind}：{e.name}（{text.score(e.score)}，{e.grade}）" for e in qualified]
    return "\n".join(lines) + "\n"
