"""``dualduty scheduler``: run the packs' schedules (and the assessment scheme's, with
``--scheme``) on this machine until stopped.

Start it on one machine (or several: only the leader runs jobs, the others stand by). It pays
Prefect's start-up once for its whole life, so it runs the Prefect flows by default.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from apscheduler.triggers.cron import CronTrigger
from rich.logging import RichHandler
from rich.table import Table

from dualduty.cli.console import err_console, out
from dualduty.errors import DualdutyError
from workflows.schedules import ScheduledAssessment, ScheduledInspection, ScheduledRun

# What a scheduler operator wants to read: our packages and the job runs.
LOGGERS = ("dualduty", "workflows", "evidence", "models", "notifiers", "apscheduler")


def collect(packs: list[Path]) -> list[ScheduledInspection]:
    from workflows.packs import load_pack
    from workflows.schedules import scheduled_inspections

    items: list[ScheduledInspection] = []
    for path in packs:
        pack = load_pack(str(path.resolve()))
        found = scheduled_inspections(pack.rules, str(pack.path))
        if not found:
            err_console.print(
                f"[yellow]提示 / note[/]: {path} 没有 schedule / declares no schedule: skipped",
                highlight=False,
            )
        items.extend(found)
    return items


def collect_assessments(scheme: Path, packs: list[Path]) -> list[ScheduledAssessment]:
    """The scheme's schedule entries; the packs give the reports rule titles and catalogue tags."""
    from assessments.loading import load_scheme
    from workflows.schedules import scheduled_assessments

    path = scheme.resolve()
    items = scheduled_assessments(
        load_scheme(path).scheme, str(path), [str(p.resolve()) for p in packs]
    )
    if not items:
        err_console.print(
            f"[yellow]提示 / note[/]: {scheme} 没有 schedule / declares no schedule: "
            "no assessment is scheduled",
            highlight=False,
        )
    return items


def show(items: list[ScheduledInspection], assessments: list[ScheduledAssessment]) -> None:
    now = dt.datetime.now(dt.UTC)
    table = Table(title="计划 / schedules", title_justify="left")
    for name in (
        "规则包或考核方案 / pack or scheme",
        "范围 / scope",
        "cron",
        "期间 / period",
        "下次 / next run",
    ):
        table.add_column(name)
    rows: list[tuple[str, str, ScheduledRun]] = [
        (item.pack_name, item.scope or "全部 / all", item) for item in items
    ]
    rows += [
        (
            f"考核 / assessment {item.scheme_name}",
            "全部 / all" + ("，自动发布 / published" if item.publish else "，草稿 / draft"),
            item,
        )
        for item in assessments
    ]
    for name, scope, run in rows:
        next_run = CronTrigger.from_crontab(run.cron, timezone=run.timezone).get_next_fire_time(
            None, now
        )
        table.add_row(
            name,
            scope,
            f"{run.cron} ({run.timezone})",
            f"{run.period} {run.offset:+d}",
            next_run.isoformat() if next_run else "-",
        )
    out.print(table)


def scheduler(
    packs: Annotated[
        list[Path], typer.Option("--pack", help="规则包 / rule pack YAML (repeatable)", exists=True)
    ],
    scheme: Annotated[
        Path | None,
        typer.Option(
            "--scheme",
            help="按考核方案的 schedule 定时考核 / also run this assessment scheme's schedule",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    reports: Annotated[
        Path | None,
        typer.Option(
            "--reports",
            help="考核报告目录 / folder for assessment reports (default: DATA_DIR/reports)",
            file_okay=False,
        ),
    ] = None,
    prefect: Annotated[
        bool,
        typer.Option("--prefect/--no-prefect", help="经 Prefect 运行 / run jobs as Prefect flows"),
    ] = True,
    org_files: Annotated[
        list[Path] | None,
        typer.Option("--org", help="每次检查前同步组织 / sync the org from these HR files first"),
    ] = None,
    escalate_every: Annotated[
        int, typer.Option("--escalate-every", help="升级督办间隔（分钟）/ escalation interval, min")
    ] = 60,
    misfire_grace: Annotated[
        int,
        typer.Option(
            "--misfire-grace", help="错过后补跑时限（秒）/ catch up missed runs this late, s"
        ),
    ] = 3 * 24 * 3600,
    poll: Annotated[
        float, typer.Option("--poll", help="备用轮询（秒）/ standby poll interval, s")
    ] = 5.0,
    list_only: Annotated[
        bool, typer.Option("--list", help="只列出计划 / list the schedules and exit")
    ] = False,
) -> None:
    """定时检查与考核 / run the packs' inspection schedules, the scheme's assessment schedule
    and the escalation pass until stopped."""
    try:
        items = collect(packs)
        assessments = collect_assessments(scheme, packs) if scheme else []
    except DualdutyError as error:
        err_console.print(f"[bold red]错误 / error[/]: {error}", highlight=False)
        raise typer.Exit(error.exit_code) from None
    show(items, assessments)
    if list_only:
        return
    logging.basicConfig(
        level=logging.WARNING,  # libraries (httpx logs every request at INFO) stay quiet
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
    )
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    from workflows.scheduler import SchedulerOptions, serve

    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("dualduty.scheduler").info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    options = SchedulerOptions(
        use_prefect=prefect,
        org_files=[str(p.resolve()) for p in org_files or []],
        reports_dir=str(reports.resolve()) if reports else None,
        escalate_every_minutes=escalate_every,
        misfire_grace_seconds=misfire_grace,
        poll_seconds=poll,
    )
    serve(items, options=options, stop=stop, assessments=assessments)
    out.print("调度器已停止 / scheduler stopped")
