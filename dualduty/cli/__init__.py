"""The ``dualduty`` command: one typer app, one module per command group."""

from __future__ import annotations

import sys

import typer

from dualduty.cli import (
    assess,
    audit,
    backtest,
    cases,
    db,
    demo,
    deploy,
    inspect,
    notify,
    org,
    rules,
    scheduler,
    serve,
    users,
)
from dualduty.cli.console import err_console
from dualduty.errors import DualdutyError

app = typer.Typer(
    name="dualduty",
    help="一岗双责 监督执纪工作流 / dual-duty supervision workflow engine.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(org.app, name="org")
app.add_typer(demo.app, name="demo")
app.add_typer(users.app, name="users")
app.add_typer(notify.app, name="notify")
app.add_typer(rules.app, name="rules")
app.command("serve")(serve.serve)
app.command("inspect")(inspect.inspect)
app.command("scheduler")(scheduler.scheduler)
app.command("deploy")(deploy.deploy)
app.command("backtest")(backtest.backtest)
app.add_typer(cases.app, name="cases")
app.add_typer(audit.app, name="audit")
app.command("escalate")(cases.escalate)
app.command("assess")(assess.assess)


def main() -> None:
    """Console-script entry: user errors print cleanly with their exit code, never a traceback."""
    try:
        app()
    except DualdutyError as error:
        err_console.print(f"[bold red]错误 / error[/]: {error}", markup=True, highlight=False)
        sys.exit(error.exit_code)
