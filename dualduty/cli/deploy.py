"""``dualduty deploy``: register a pack's schedules as Prefect deployments on a server.

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
    create_pool: Annotated[
        bool,
        typer.Option(
            "--create-pool/--no-create-pool", help="不存在时创建 / create the pool if missing"
        ),
    ] = True,
) -> None:
    """部署到 Prefect / register the packs' schedules as deployments on a Prefect server."""
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
