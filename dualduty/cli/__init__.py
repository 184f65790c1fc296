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
    evidence,
    inspect,
    notify,
    org,
    rules,
    scheduler,
    serve,
    users,
)
from dualduty.cli.console import err_console
from dualduty.errors import DualdutyError, RunError, UserError
from dualduty.settings import get_settings

app = typer.Typer(
    name="dualduty",
    help="一岗双责 监督执纪工作流 / dual-duty supervision workflow engine.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
START = "入门 / Getting started"
ADMIN = "管理 / Administration"
RUN = "运行 / Operations"
REVIEW = "监督 / Review"



@app.callback()
def _settings_first() -> None:
    """Read the settings before any command runs, so a bad one stops every command with its name,
    not only the commands that happen to read it (and not halfway through their work)."""
    get_settings()


app.command("demo", rich_help_panel=START)(demo.demo)
app.add_typer(db.app, name="db", rich_help_panel=START)
app.add_typer(org.app, name="org", rich_help_panel=ADMIN)
app.add_typer(rules.app, name="rules", rich_help_panel=ADMIN)
app.add_typer(evidence.app, name="evidence", rich_help_panel=ADMIN)
app.add_typer(users.app, name="users", rich_help_panel=ADMIN)
app.command("inspect", rich_help_panel=RUN)(inspect.inspect)
app.command("backtest", rich_help_panel=RUN)(backtest.backtest)
app.command("escalate", rich_help_panel=RUN)(cases.escalate)
app.add_typer(notify.app, name="notify", rich_help_panel=RUN)
app.command("scheduler", rich_help_panel=RUN)(scheduler.scheduler)
app.command("deploy", rich_help_panel=RUN)(deploy.deploy)
app.add_typer(cases.app, name="cases", rich_help_panel=REVIEW)
app.command("assess", rich_help_panel=REVIEW)(assess.assess)
app.add_typer(audit.app, name="audit", rich_help_panel=REVIEW)
app.command("serve", rich_help_panel=REVIEW)(serve.serve)


def main() -> None:
    """Console-script entry: user errors print cleanly with their exit code, never a traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    try:
        app()
    except UserError as error:
        # Each problem already reads "where: error: what (hint)".
        err_console.print(str(error), style="red", markup=False, highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except DualdutyError as error:
        err_console.print(
            f"错误 / error: {error}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        sys.exit(error.exit_code)
    except OperationalError as error:
        # The database is down, unreachable or refuses us: say which one, never the password.
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        where = make_url(get_settings().database_url).render_as_string(hide_password=True)
        err_console.print(
            f"错误 / error: 无法连接数据库 / cannot use the database ({where}): {reason}\n"
            "提示 / hint: check DUALDUTY_DATABASE_URL and that the server is running",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(RunError.exit_code)
