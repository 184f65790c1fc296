"""``dualduty inspect``: inspect one pack for one period, now, and show what it found.

Failing findings are the point of an inspection, not a failure: the exit code is 0 whenever the
inspection ran, 1 when it could not run, 2 for bad input.
"""

from __future__ import annotations

import json
import os
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from dualduty.cli.console import err_console, out
from dualduty.errors import DualdutyError
from workflows.summary import STEP_LABELS, InspectionSummary, Timed

if TYPE_CHECKING:
    from workflows.pipeline import StepListener


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class ProgressListener:
    """Shows each pipeline step as a line that turns from a spinner into a tick."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def started(self, step: str) -> None:
        self._tasks[step] = self._progress.add_task(STEP_LABELS[step], total=1)

    def finished(self, step: str, detail: str, seconds: float) -> None:
        self._progress.update(
            self._tasks[step],
            completed=1,
            description=f"[green]✓[/] {STEP_LABELS[step]} — {detail}",
        )


class LineListener:
    """Plain lines when output is not a terminal (logs, CI, the kill test)."""

    def started(self, step: str) -> None:
        err_console.print(f"▶ {step} {STEP_LABELS[step]}", highlight=False)

    def finished(self, step: str, detail: str, seconds: float) -> None:
        err_console.print(f"✓ {step} {detail} ({seconds:.2f} s)", highlight=False)


def inspect(
    pack: Annotated[Path, typer.Option("--pack", help="规则包 / rule pack YAML", exists=True)],
    period: Annotated[str, typer.Option("--period", help="期间 / period: 2026-03, 2026-Q1 …")],
    scope: Annotated[
        str | None, typer.Option("--scope", help="单位编码 / unit code: inspect its subtree")
    ] = None,
    rules: Annotated[
        list[str] | None,
        typer.Option("--rule", help="只查这些规则 / only these rules (repeatable)"),
    ] = None,
    org_files: Annotated[
        list[Path] | None,
        typer.Option("--org", help="先同步组织 / sync the org from these HR files first"),
    ] = None,
    prefect: Annotated[
        bool | None,
        typer.Option(
            "--prefect/--no-prefect",
            help="经 Prefect 运行 / run as a Prefect flow (default: only when PREFECT_API_URL is set)",
        ),
    ] = None,
    gather: Annotated[
        bool,
        typer.Option(
            "--gather/--no-gather", help="先采集证据 / fetch from the sources first (else: stored)"
        ),
    ] = True,
    escalate: Annotated[
        bool, typer.Option("--escalate/--no-escalate", help="检查后升级督办 / escalate after")
    ] = True,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="输出格式 / output format")
    ] = OutputFormat.table,
) -> None:
    """立即检查 / inspect a pack for a period now and summarise the findings and cases."""
    from workflows import runner

    use_prefect = runner.prefect_by_default() if prefect is None else prefect
    engine = "Prefect flow" if use_prefect else "library pipeline (no Prefect)"
    if output == OutputFormat.table:
        out.print(
            f"检查 / inspecting [bold]{pack}[/] {period} "
            f"(范围 / scope: {scope or '全部 / all'}) — {engine}"
        )
    began = time.perf_counter()

    def run(listener: StepListener | None) -> InspectionSummary:
        return runner.inspect(
            pack=str(pack.resolve()),
            period=period,
            scope=scope,
            trigger="cli",
            use_prefect=use_prefect,
            rules=rules,
            org_files=[str(p.resolve()) for p in org_files or []],
            gather=gather,
            escalate=escalate,
            listener=listener,
        )

    try:
        if use_prefect or output == OutputFormat.json:
            with err_console.status("运行中 / running …"):
                summary = run(None)
        elif out.is_terminal:
            columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
            with Progress(*columns, console=out) as progress:
                summary = run(ProgressListener(progress))
        else:
            summary = run(LineListener())
    except DualdutyError as error:
        err_console.print(f"[bold red]错误 / error[/]: {error}", highlight=False)
        raise typer.Exit(error.exit_code) from None
    timing = Timed(
        engine="prefect" if use_prefect else "library",
        process_seconds=process_age(before=time.perf_counter() - began),
        total_seconds=time.perf_counter() - began,
        work_seconds=summary.work_seconds,
    )
    if output == OutputFormat.json:
        data = summary.model_dump(mode="json") | {"timing": timing.model_dump()}
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    print_summary(summary)
    print_timing(timing)


def print_summary(summary: InspectionSummary, *, failing_rows: int = 20) -> None:
    c = summary.counts
    rules = Table(
        title=f"检查结果 / findings: {summary.pack} {summary.period} (run #{summary.run_id})",
        title_justify="left",
    )
    rules.add_column("规则 / rule", min_width=24, overflow="fold")
    rules.add_column("不合格 / fail", justify="right", style="red")
    rules.add_column("无证据 / no evidence", justify="right", style="yellow")
    rules.add_column("合格 / pass", justify="right", style="green")
    for row in summary.by_rule:
        rules.add_row(row.key, str(row.failed), str(row.no_evidence), str(row.passed))
    rules.add_section()
    rules.add_row("合计 / total", str(c.failed), str(c.no_evidence), str(c.passed), style="bold")
    out.print(rules)
    out.print(
        f"证据 / evidence: {c.evidence_fetched} fetched, {c.evidence_new} new, "
        f"{c.evidence_changed} changed · 问题 / cases: 新增 new {c.cases_opened}, "
        f"仍未整改 still open {c.cases_still_open}, 重新打开 reopened {c.cases_reopened}, "
        f"已解决 resolved {c.cases_resolved} · 通知 / notifications queued {c.notifications}",
        highlight=False,
    )
    if summary.failing:
        failing = Table(
            title=f"不合格 / failing (first {min(failing_rows, len(summary.failing))} of {c.failed})",
            title_justify="left",
        )
        for name in (
            "规则 / rule",
            "对象 / subject",
            "单位 / unit",
            "责任人 / bearer",
            "说明 / why",
        ):
            failing.add_column(name, overflow="fold")
        for f in summary.failing[:failing_rows]:
            failing.add_row(
                f.rule_id, f.subject_id, f.unit_code or "", f.bearer or "", f.explanation
            )
        out.print(failing)


def process_age(*, before: float) -> float | None:
    """Seconds from this process's start to ``before`` seconds ago (Linux /proc); what the
    interpreter and the imports cost before the command began."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    return round(max(age - before, 0.0), 2)


def print_timing(timing: Timed) -> None:
    engine = "Prefect" if timing.engine == "prefect" else "library pipeline"
    process = (
        f"进程启动 process start {timing.process_seconds:.2f} s + "
        if timing.process_seconds is not None
        else ""
    )
    out.print(
        f"耗时 / time: {process}启动与编排 start-up {timing.startup_seconds:.2f} s + "
        f"工作 work {timing.work_seconds:.2f} s ({engine})",
        highlight=False,
    )
