"""``dualduty users``: console accounts, roles, jurisdictions and API tokens."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich.table import Table

from dualduty.cli.console import err_console, out
from models import users
from models.base import utcnow
from models.session import session_scope
from models.users import Role

app = typer.Typer(help="用户与令牌 / console users, roles and API tokens.", no_args_is_help=True)
token_app = typer.Typer(help="API 令牌 / API tokens for automation.", no_args_is_help=True)
app.add_typer(token_app, name="token")


def _read_password(password_stdin: bool) -> str:
    """From stdin for scripts, else prompted twice without echo; never from an argument, which
    would land in shell history and process listings."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    return password


def _fmt(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="登录名 / login name")],
    role: Annotated[Role, typer.Option("--role", help="admin | inspector | viewer")],
    name: Annotated[str, typer.Option("--name", help="显示姓名 / display name")] = "",
    jurisdiction: Annotated[
        str | None,
        typer.Option(
            "--jurisdiction", help="管辖单位编码 / unit code whose subtree the user covers"
        ),
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            "--person", help="工号 / the user's person code in the organisation (for 回避)"
        ),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="从标准输入读取密码 / read the password from stdin"),
    ] = False,
    no_password: Annotated[
        bool,
        typer.Option(
            "--no-password",
            help="不设本地密码 / no local password (token-only or identity-provider accounts)",
        ),
    ] = False,
) -> None:
    """新增用户 / add a console user."""
    password = None if no_password else _read_password(password_stdin)
    with session_scope() as session:
        user = users.create_user(
            session,
            username=username,
            display_name=name or username,
            role=role,
            password=password,
            now=utcnow(),
            person_code=person,
            jurisdiction=jurisdiction,
        )
        scope = user.jurisdiction or "全部 / everything"
        out.print(
            f"已新增用户 / added {user.label}: {users.ROLE_LABELS[role]}, 管辖 / scope {scope}"
        )


@app.command("role")
def role(
    username: Annotated[str, typer.Argument()],
    new_role: Annotated[Role, typer.Argument(metavar="ROLE", help="admin | inspector | viewer")],
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="新的管辖单位 / new scope")
    ] = None,
) -> None:
    """修改角色或管辖范围 / change a user's role or jurisdiction."""
    with session_scope() as session:
        user = users.set_role(session, username=username, role=new_role, jurisdiction=jurisdiction)
        scope = user.jurisdiction or "全部 / everything"
        out.print(f"{user.label}: {users.ROLE_LABELS[new_role]}, 管辖 / scope {scope}")


@app.command("disable")
def disable(
    username: Annotated[str, typer.Argument()],
    enable: Annotated[bool, typer.Option("--enable", help="重新启用 / enable again")] = False,
) -> None:
    """停用用户（立即退出所有会话）/ disable a user, ending their sessions at once."""
    with session_scope() as session:
        user = users.set_disabled(session, username=username, disabled=not enable)
        state = "已启用 / enabled" if enable else "已停用 / disabled"
        out.print(f"{user.label}: {state}")


@app.command("password")
def password(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """重设密码（其他会话随之失效）/ set a new password; the user's sessions end."""
    new_password = _read_password(password_stdin)
    with session_scope() as session:
        user = users.get_by_username_or_raise(session, username=username)
        users.set_password(user=user, password=new_password, now=utcnow())
        out.print(f"{user.label}: 密码已更新 / password changed")


@app.command("list")
def list_() -> None:
    """列出用户 / list users."""
    with session_scope() as session:
        table = Table()
        for header in (
            "用户名/user",
            "姓名/name",
            "角色/role",
            "管辖/scope",
            "工号/person",
            "状态/state",
            "最近登录/last login",
        ):
            # Fold rather than elide: on a narrow terminal a cut username is no use.
            table.add_column(header, overflow="fold")
        for user in users.list_users(session):
            table.add_row(
                user.username,
                user.display_name,
                user.role,
                user.jurisdiction or "*",
                user.person_code or "—",
                "停用 / disabled" if user.disabled else "正常 / active",
                _fmt(user.last_login_at),
            )
        out.print(table)


@token_app.command("create")
def token_create(
    username: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option("--name", help="用途 / what the token is for")],
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="有效天数 / expires after N days")
    ] = None,
) -> None:
    """创建令牌（只显示一次）/ create an API token; it is shown once."""
    now = utcnow()
    expires = now + dt.timedelta(days=days) if days else None
    with session_scope() as session:
        token, plaintext = users.create_token(
            session, username=username, name=name, now=now, expires_at=expires
        )
        token_id = token.id
    err_console.print(
        f"令牌 #{token_id} 已创建，请立即保存，之后无法再次查看。/ token #{token_id} created; "
        "store it now, it cannot be shown again."
    )
    # The token alone on stdout, so `TOKEN=$(dualduty users token create …)` works.
    out.print(plaintext, highlight=False, soft_wrap=True)


@token_app.command("list")
def token_list(username: Annotated[str | None, typer.Argument()] = None) -> None:
    """列出令牌 / list API tokens (never their values)."""
    with session_scope() as session:
        table = Table()
        for header in (
            "#",
            "用户/user",
            "用途/name",
            "前缀/prefix",
            "创建/created",
            "到期/expires",
            "最近使用/last used",
            "状态/state",
        ):
            table.add_column(header, overflow="fold")
        for token, user in users.list_tokens(session, username=username):
            table.add_row(
                str(token.id),
                user.username,
                token.name,
                token.prefix + "…",
                _fmt(token.created_at),
                _fmt(token.expires_at),
                _fmt(token.last_used_at),
                "已吊销 / revoked" if token.revoked_at else "有效 / active",
            )
        out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="令牌编号 / token #")]) -> None:
    """吊销令牌 / revoke an API token."""
    with session_scope() as session:
        users.revoke_token(session, token_id=token_id, now=utcnow())
        out.print(f"令牌 #{token_id} 已吊销 / revoked")
