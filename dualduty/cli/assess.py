"""``dualduty assess``: score a period, print the summary, write the HTML and XLSX reports.

Plain library code, no Prefect: an assessment takes a second or two, and a one-off command
should not pay the orchestrator's start-up for it (the flow in ``workflows/assess.py`` is for
schedules). Exit codes: 0 when assessed (whatever the scores), 2 for bad input.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dualduty.cli.console import err_console, out
from dualduty.errors import DualdutyError
from dualduty.settings import get_settings

if TYPE_CHECKING:
    from assessments.results import Scorecard
    from assessments.service import AssessmentOutcome

ROWS_PER_GROUP = 20


def assess(
    period: Annotated[
        str, typer.Option("--period", help="考核期间 / period: 2026-Q3, 2026-H1, 2026, 2026-09")
    ],
    scheme: Annotated[
        Path | None,
        typer.Option(
            "--scheme", help="考核方案 / scheme YAML (default: rules/packs/assessment.yaml)"
        ),
    ] = None,
    packs: Annotated[
        list[Path] | None,
        typer.Option(
            "--pack", help="规则包，用于规则标题和目录项 / rule packs for titles and tags"
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="报告目录 / folder for the HTML and XLSX reports "
            "(default: DUALDUTY_REPORTS_DIR, else .dualduty/reports)",
        ),
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="发布（仅限已结束的期间）/ publish a closed period")
    ] = False,
    reissue: Annotated[
        bool,
        typer.Option("--reissue", help="重新发布新版本，保留旧版本 / issue a new version"),
    ] = False,
    reason: Annotated[
        str, typer.Option("--reason", help="重新发布的理由 / why it is re-issued")
    ] = "",
) -> None:
    """考核 / assess every unit and cadre for a period and write the reports."""
    try:
        from assessments.runner import (
            assess_period,
        )  # imported here: every CLI start pays for it otherwise

        run = assess_period(
            period=period,
            out_dir=out_dir or get_settings().assessment_reports_dir,
            scheme_path=scheme,
            pack_paths=packs or [],
            publish=publish,
            reissue=reissue,
            reason=reason,
            actor=f"cli:{getpass.getuser()}",
        )
    except DualdutyError as error:
        err_console.print(f"[bold red]错误 / error[/]: {error}", highlight=False)
        raise typer.Exit(error.exit_code) from None
    print_outcome(run.outcome)
    out.print(f"报告 / reports: {run.files.html}  {run.files.xlsx}", highlight=False)
    out.print(f"用时 / took {run.seconds:.2f} s", style="dim")


def print_outcome(outcome: AssessmentOutcome) -> None:
    from assessments.reports import text
    from assessments.results import by_peer_group

    r = outcome.result
    out.print(
        f"[bold]{text.period_title(r.period)}一岗双责考核[/] {r.period} · {r.scheme_title}"
        f"（第{r.scheme_version}版） · {outcome.status_label}",
        highlight=False,
    )
    e = r.evidence
    out.print(
        f"检查结果 / findings: {e.findings}（通过 {e.passed}，未通过 {e.failed}，无证据 "
        f"{e.no_evidence}）",
        highlight=False,
    )
    if e.nothing_at_all:
        out.print(
            "[bold red]本期无任何检查结果：所有对象未评分（不是满分）/ no evidence at all: "
            "every subject is unrated, not perfect[/]"
        )
    for note in outcome.notes:
        out.print(f"[yellow]! {note}[/]", highlight=False)
    for heading, cards in (("单位 / units", r.units), ("干部 / cadres", r.people)):
        for label, group in by_peer_group(cards).items():
            out.print(_table(f"{heading}：{label}", group))
    qualified = [c for c in r.commendations if c.qualifies]
    out.print(
        f"两优一先推荐 / shortlist: {len(qualified)} 符合 / qualify, "
        f"{len(r.commendations) - len(qualified)} 不符合 / blocked",
        highlight=False,
    )


def _table(title: str, cards: list[Scorecard]) -> Table:
    from assessments.reports import text

    table = Table(title=title, title_justify="left")
    table.add_column("排名", justify="right")
    table.add_column("名称 / name")
    table.add_column("得分", justify="right")
    table.add_column("业务", justify="right")
    table.add_column("党风廉政", justify="right")
    table.add_column("等级")
    table.add_column("环比", justify="right")
    table.add_column("限制 / blockers")
    for card in cards[:ROWS_PER_GROUP]:
        sides = {s.side.value: s.score for s in card.sides}
        rank = "—" if card.rank is None else str(card.rank) + ("=" if card.tie_note else "")
        table.add_row(
            rank,
            f"{card.name} ({card.subject_id})",
            text.score(card.score),
            text.score(sides.get("business")),
            text.score(sides.get("integrity")),
            card.grade,
            text.delta(card.delta),
            text.blockers([b.title for b in card.blockers]),
        )
    if len(cards) > ROWS_PER_GROUP:
        table.add_row("…", f"另 {len(cards) - ROWS_PER_GROUP} 个 / more", "", "", "", "", "", "")
    return table
