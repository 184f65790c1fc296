"""``dualduty db``: create or upgrade the database schema."""

from __future__ import annotations

import typer

from dualduty.cli.console import out
from models import migrate
from models.session import get_engine

app = typer.Typer(help="数据库 / database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="目标版本 / target revision")) -> None:
    """升级数据库结构 / apply schema migrations (SQLite or PostgreSQL)."""
    engine = get_engine()
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, revision)
    after = migrate.current_revision(engine)
    url = engine.url.render_as_string(hide_password=True)
    if before == after:
        out.print(f"数据库已是最新 / already at {after} ({url})")
    else:
        out.print(f"数据库已升级 / upgraded {before or '(empty)'} -> {after} ({url})")
