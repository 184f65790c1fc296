"""``dualduty deploy``: register a pack's schedules (and the assessment scheme's, with
``--scheme``) as Prefect deployments on a server.

The same flows the embedded scheduler runs, for a Prefect server with a work pool whose workers
(on any machine with dualduty installed) run them. docs/operations.md has the whole setup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dualduty.cli.console import err_console, out
from dualduty.errors import DualdutyError, UserError


def deploy(
    packs: Annotated[
        list[Path], typer.Option("--pack", help="规则包 / rule pack YAML (repeatable)", exists=True)
    ],
    pool: Annotated[str, typer.Option("--pool", help="Prefect 工作池 / work pool name")],
    escalate_every: Annotated[
        int, typer.Option("--escalate-every", help="升级督办间隔（分钟）/ escalation interval, min")
    ] = 60,
    org_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--org", help="每次检查前同步组织 / sync the org from these HR files (paths on workers)"
        ),
    ] = None,
    scheme: Annotated[
        Path | None,
        typer.Option(
            "--scheme",
            help="按考核方案的 schedule 部署考核 / also deploy this assessment scheme's schedule",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    reports: Annotated[
        Path | None,
        typer.Option(
            "--reports",
            help="考核报告目录（工作进程上的路径）/ assessment reports folder on the workers "
            "(default: the worker's DATA_DIR/reports)",
            file_okay=False,
        ),
    ] = None,
    create_pool: Annotated[
        bool,
        typer.Option(
            "--create-pool/--no-create-pool", help="不存在时创建 / create the pool if missing"
        ),
    ] = True,
) -> None:
    """部署到 Prefect / register the packs' (and the scheme's) schedules as deployments on a
    Prefect server."""
    try:
        from workflows import deployments

        if not deployments.api_url():
            raise UserError(
                "未配置 Prefect 服务器 / no Prefect server configured",
                hint="set PREFECT_API_URL=http://HOST:4200/api (see docs/operations.md)",
            )
        if create_pool and deployments.ensure_pool(pool):
            out.print(f"已创建工作池 / created work pool [bold]{pool}[/] (process)")
        table = Table(title=f"部署 / deployments in pool {pool}", title_justify="left")
        for name in ("流程/部署 / flow/deployment", "计划 / schedule", "id"):
            table.add_column(name)
        for item in deployments.deploy_packs(
            [str(path.resolve()) for path in packs],
            pool=pool,
            escalate_every_minutes=escalate_every,
            org_files=[str(p.resolve()) for p in org_files or []],
            scheme_path=str(scheme.resolve()) if scheme else None,
            reports_dir=str(reports.resolve()) if reports else None,
        ):
            table.add_row(item.full_name, item.schedule, str(item.id))
    except DualdutyError as error:
        err_console.print(f"[bold red]错误 / error[/]: {error}", highlight=False)
        raise typer.Exit(error.exit_code) from None
    out.print(table)
    out.print(
        f"启动工作进程 / start a worker: [bold]prefect worker start --pool {pool}[/] "
        "(with DUALDUTY_DATABASE_URL set)",
        highlight=False,
    )
