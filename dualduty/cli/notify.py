"""``dualduty notify``: test a channel, run a delivery pass, list and retry outbox messages."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

import httpx
import typer
from rich.table import Table

from dualduty.cli.console import err_console, out
from models import outbox
from models.base import utcnow
from models.outbox import STATE_LABELS, Notice, OutboxState
from models.session import session_factory, session_scope
from notifiers.base import DeliveryError
from notifiers.channels import load_channels
from notifiers.delivery import deliver_due, send_now

app = typer.Typer(
    help="通知渠道与发件箱 / notification channels and the outbox.", no_args_is_help=True
)


class Language(StrEnum):
    zh = "zh"
    en = "en"


def _fmt(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


@app.command("test")
def test(
    channel: Annotated[str, typer.Option("--channel", help="渠道名 / channel name")],
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="工号或 group:NAME / person code or group:NAME (robots: omit = the group)"
        ),
    ] = None,
    language: Annotated[Language, typer.Option("--lang", help="zh | en")] = Language.zh,
) -> None:
    """发送测试消息 / send a test message now (not through the outbox)."""
    channels = load_channels()
    kind = channels.get_or_raise(channel).kind_name()
    notice = Notice(template="test", language=language.value)
    with session_scope() as session, httpx.Client() as http:
        try:
            delivery = send_now(
                session,
                channels=channels,
                channel_name=channel,
                recipient=to,
                notice=notice,
                http=http,
                now=utcnow(),
            )
        except DeliveryError as error:
            err_console.print(
                f"[bold red]发送失败 / send failed[/] ({channel}, {kind}): {error}",
                highlight=False,
            )
            raise typer.Exit(1) from None
    ref = delivery.provider_ref or delivery.detail or "ok"
    out.print(f"已发送 / sent: {channel} ({kind}) -> {to or '群 / group'}: {ref}", highlight=False)


@app.command("deliver")
def deliver(
    limit: Annotated[int, typer.Option("--limit", min=1, help="最多发送条数 / at most")] = 100,
) -> None:
    """执行一轮投递 / run one delivery pass over due messages."""
    report = deliver_due(session_factory(), limit=limit)
    for outcome in report.outcomes:
        out.print(
            f"#{outcome.outbox_id} {outcome.channel} -> {outcome.recipient}: "
            f"{outcome.state} {outcome.detail}",
            highlight=False,
        )
    out.print(report.summary(), highlight=False)


@app.command("list")
def list_(
    state: Annotated[
        OutboxState | None, typer.Option("--state", help="pending | sent | dead | …")
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel")] = None,
    case_id: Annotated[int | None, typer.Option("--case")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
) -> None:
    """列出发件箱消息 / list outbox messages, newest first."""
    with session_scope() as session:
        rows = outbox.list_messages(
            session, state=state, channel=channel, case_id=case_id, limit=limit
        )
        counts = outbox.count_by_state(session)
    table = Table(title="发件箱 / outbox")
    for column in ("id", "状态/state", "渠道/channel", "收件人/to", "案件/case", "步骤/step"):
        table.add_column(column)
    table.add_column("次数/tries", justify="right")
    table.add_column("下次/next")
    for row in rows:
        table.add_row(
            str(row.id),
            STATE_LABELS[OutboxState(row.state)],
            row.channel,
            row.recipient,
            "—" if row.case_id is None else str(row.case_id),
            row.step,
            str(row.attempts),
            _fmt(row.next_attempt_at) if row.state == OutboxState.pending else "—",
        )
    out.print(table)
    # Errors in full below the table, where a narrow terminal cannot cut them.
    for row in rows:
        if row.last_error and row.state != OutboxState.sent:
            out.print(f"#{row.id} 错误/error: {row.last_error}", highlight=False, soft_wrap=True)
    out.print(
        " ".join(f"{state}={count}" for state, count in sorted(counts.items())) or "(empty)",
        highlight=False,
    )


@app.command("retry")
def retry(
    dead: Annotated[
        bool, typer.Option("--dead", help="重发失败消息 / revive dead messages")
    ] = False,
    message_id: Annotated[
        int | None, typer.Option("--id", help="只处理这一条 / just this one")
    ] = None,
) -> None:
    """把失败或等待中的消息放回待发送 / put dead or waiting messages back to pending, due now."""
    with session_scope() as session:
        count = outbox.requeue(session, now=utcnow(), dead=dead, message_id=message_id)
    what = f"#{message_id}" if message_id is not None else ("dead" if dead else "waiting")
    out.print(
        f"已放回待发送 / requeued {count} ({what}); run `dualduty notify deliver`",
        highlight=False,
    )


@app.command("channels")
def channels() -> None:
    """检查渠道文件 / validate the channels file and show missing secrets (never their values)."""
    loaded = load_channels()
    missing = loaded.missing_secrets()
    out.print(f"渠道文件 / channels file: {loaded.source}", highlight=False)
    for name, channel in loaded:
        limits = ", ".join(str(limit) for limit in channel.effective_rate_limits()) or "—"
        secrets = ", ".join(
            f"{env} {'缺失/missing' if env in missing.get(name, []) else 'ok'}"
            for env in channel.secret_envs()
        )
        digest = channel.digest_at.strftime("%H:%M") if channel.digest_at else "—"
        out.print(
            f"{name} ({channel.kind_name()}): 限流/limits {limits}; 备用/fallback "
            f"{channel.fallback or '—'}; 汇总/digest {digest}; 密钥/secrets {secrets or '—'}",
            highlight=False,
            soft_wrap=True,
        )
    if missing:
        err_console.print(
            "缺少环境变量 / missing environment variables: "
            + "; ".join(f"{name}: {', '.join(envs)}" for name, envs in missing.items()),
            highlight=False,
        )
        raise typer.Exit(1)
