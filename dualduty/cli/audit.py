"""``dualduty audit``: verify the tamper-evident chain, and read it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dualduty.cli.console import err_console, out
from models import audit
from models.session import session_scope

app = typer.Typer(help="审计日志 / the tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """校验审计链 / verify every entry's hash and link; exit 1 if the chain is broken."""
    with session_scope() as session:
        report = audit.verify(session)
    if report.ok:
        out.print(
            f"审计链完整 / chain intact: {report.entries} 条 entries, "
            f"last seq {report.last_seq}, last hash {report.last_hash}",
            soft_wrap=True,
        )
        return
    err_console.print(
        f"[bold red]审计链已被破坏 / chain BROKEN[/]: {len(report.breaks)} 处 problem(s) "
        f"in {report.entries} entries",
        highlight=False,
        soft_wrap=True,
    )
    for item in report.breaks:
        err_console.print(
            f"  seq {item.seq} [{item.kind}] {item.message}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    raise typer.Exit(1)


@app.command("log")
def log(
    case: Annotated[
        int | None, typer.Option("--case", help="只看某案件 / one case's entries")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="e.g. user:zhang")] = None,
    before: Annotated[
        int | None, typer.Option("--before", help="翻页：早于该序号 / entries before this seq")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """查看审计日志（最新在前）/ show audit entries, newest first."""
    with session_scope() as session:
        rows = audit.entries(
            session,
            subject_type="case" if case is not None else None,
            subject_id=case,
            actor=actor,
            before_seq=before,
            limit=limit,
        )
        table = Table(
            "seq",
            "时间 / at (UTC)",
            "操作者 / actor",
            "操作 / action",
            "对象 / subject",
            "详情 / detail",
            "hash",
        )
        for entry in rows:
            table.add_row(
                str(entry.seq),
                entry.at.strftime("%Y-%m-%d %H:%M:%S"),
                entry.actor,
                entry.action,
                f"{entry.subject_type}:{entry.subject_id}",
                _short(entry.detail),
                entry.hash[:12],
            )
    if not rows:
        out.print("无记录 / no entries")
        return
    out.print(table)
    if len(rows) == limit:
        out.print(f"更早的记录 / older entries: --before {rows[-1].seq}", soft_wrap=True)


def _short(detail: dict[str, object]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in detail.items())
    return text if len(text) <= 80 else text[:79] + "…"
