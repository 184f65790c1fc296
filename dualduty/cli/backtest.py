"""``dualduty backtest``: what a pack would have found over stored evidence, and what changes
against another version, by rule and unit. Reads only; cases are never touched."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dualduty.cli.console import err_console, out
from dualduty.errors import DualdutyError

if TYPE_CHECKING:
    from workflows.backtest import BacktestReport, Difference


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def backtest(
    pack: Annotated[Path, typer.Option("--pack", help="新规则包 / the new pack", exists=True)],
    first: Annotated[str, typer.Option("--from", help="起始期间 / first period (2025-01)")],
    last: Annotated[str, typer.Option("--to", help="结束期间 / last period (2025-12)")],
    against: Annotated[
        Path | None,
        typer.Option("--against", help="旧规则包 / the pack to compare with", exists=True),
    ] = None,
    scope: Annotated[
        str | None, typer.Option("--scope", help="单位编码 / unit code: only its subtree")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="输出格式 / output format")
    ] = OutputFormat.table,
) -> None:
    """回测 / run a pack over stored evidence and compare it with another version."""
    from workflows.backtest import backtest as run_backtest

    try:
        report = run_backtest(
            pack=str(pack.resolve()),
            against=str(against.resolve()) if against else None,
            first=first,
            last=last,
            scope=scope,
        )
    except DualdutyError as error:
        err_console.print(f"[bold red]错误 / error[/]: {error}", highlight=False)
        raise typer.Exit(error.exit_code) from None
    if output == OutputFormat.json:
        out.print_json(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
        return
    print_report(report)


def _table(title: str, column: str, rows: list[Difference], compare: bool) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(column, min_width=24, overflow="fold")  # rule ids stay readable
    if compare:
        for name in ("旧不合格\nold fail", "新不合格\nnew fail", "新增\nadded", "消失\nremoved"):
            table.add_column(name, justify="right")
        table.add_column("无证据\nno-ev.", justify="right")
    else:
        table.add_column("不合格\nfail", justify="right")
        table.add_column("无证据\nno evidence", justify="right")
    for row in rows:
        if compare:
            cells = [
                str(row.old_failed),
                str(row.new_failed),
                f"[red]+{row.added}[/]" if row.added else "0",
                f"[green]-{row.removed}[/]" if row.removed else "0",
                f"{row.old_no_evidence}→{row.new_no_evidence}",
            ]
        else:
            cells = [str(row.new_failed), str(row.new_no_evidence)]
        table.add_row(row.key, *cells, style="bold" if row.changed else None)
    return table


def print_report(report: BacktestReport) -> None:
    compare = report.old is not None
    span = f"{report.periods[0]} … {report.periods[-1]}" if report.periods else "-"
    out.print(
        f"回测 / backtest {report.new.pack} (version {report.new.version[:12]}) over {span}"
        + (f", scope {report.scope}" if report.scope else "")
        + (f" against version {report.old.version[:12]}" if report.old else ""),
        highlight=False,
    )
    out.print(_table("按规则 / by rule", "规则 / rule", report.by_rule, compare))
    out.print(
        _table(
            "按单位 / by unit",
            "单位 / unit",
            [row for row in report.by_unit if row.changed or not compare],
            compare,
        )
    )
    if compare:
        assert report.old is not None
        out.print(
            f"不合格 / failing: old {report.old.failed} → new {report.new.failed}; "
            f"{report.changes_total} verdicts change",
            highlight=False,
        )
        if report.changes:
            changes = Table(title="变化 / changed verdicts", title_justify="left")
            changes.add_column("规则 / rule", min_width=24, overflow="fold")
            for name in ("对象\nsubject", "期间\nperiod", "旧\nold", "新\nnew"):
                changes.add_column(name)
            for c in report.changes[:50]:
                changes.add_row(c.rule_id, c.subject_id, c.period, c.old or "—", c.new or "—")
            out.print(changes)
    else:
        out.print(
            f"不合格 / failing: {report.new.failed} of {report.new.findings} verdicts",
            highlight=False,
        )
