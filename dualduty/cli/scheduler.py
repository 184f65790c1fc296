"""``dualduty scheduler``: run the packs' schedules on this machine until stopped.

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
from workflows.schedules import ScheduledInspection

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


def show(items: list[ScheduledInspection]) -> None:
    now = dt.datetime.now(dt.UTC)
    table = Table(title="计划 / schedules", title_justify="left")
    for name in ("规则包 / pack", "范围 / scope", "cron", "期间 / period", "下次 / next run"):
        table.add_column(name)
    for item in items:
        next_run = CronTrigger.from_crontab(item.cron, timezone=item.timezone).get_next_fire_time(
            None, now
        )
        table.add_row(
            item.pack_name,
            item.scope or "全部 / all",
            f"{item.cron} ({item.timezone})",
            f"{item.period} {item.offset:+d}",
            next_run.isoformat() if next_run else "-",
        )
    out.print(table)


def scheduler(
    packs: Annotated[
        list[Path], typer.Option("--pack", help="规则包 / rule pack YAML (repeatable)", exists=True)
    ],
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
    """定时检查 / run the packs' inspection schedules and the escalation pass until stopped."""
    try:
        items = collect(packs)
    except DualdutyError as error:
        err_console.print(f"[bold red]错误 / error[/]: {error}", highlight=False)
        raise typer.Exit(error.exit_code) from None
    show(items)
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
        escalate_every_minutes=escalate_every,
        misfire_grace_seconds=misfire_grace,
        poll_seconds=poll,
    )
    serve(items, options=options, stop=stop)
    out.print("调度器已停止 / scheduler stopped")
