"""``dualduty cases``: the review queue, one case in full, decisions, comments, attachments;
and ``dualduty escalate``: one escalation pass."""

from __future__ import annotations

import datetime as dt
import getpass
import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import select

from dualduty.cli.console import err_console, out
from dualduty.errors import UserError
from dualduty.settings import get_settings
from models import cases
from models.base import utcnow
from models.cases import (
    STATE_LABELS,
    AccountabilityForm,
    CaseFilter,
    CaseSort,
    CaseState,
    Decision,
    DecisionKind,
    DismissCategory,
)
from models.outbox import OutboxMessage
from models.session import session_scope
from rules.findings import Severity, Side

app = typer.Typer(help="案件 / cases: review queue, details and decisions.", no_args_is_help=True)


def default_actor() -> str:
    return f"cli:{getpass.getuser()}"


def parse_now(value: str | None) -> dt.datetime:
    """``--now``: an ISO date or datetime; without an offset it is read in settings.timezone."""
    if value is None:
        return utcnow()
    try:
        moment = (
            dt.datetime.fromisoformat(value)
            if "T" in value or " " in value
            else dt.datetime.combine(dt.date.fromisoformat(value), dt.time(9))
        )
    except ValueError as error:
        raise UserError(
            f"无法识别的时间 / unrecognised time {value!r}",
            hint="use 2026-04-10 or 2026-04-10T09:30 (optionally with +08:00)",
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return moment


def _local(moment: dt.datetime) -> str:
    """A stored UTC moment as the organisation's wall-clock time."""
    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")


def _label(state: str) -> str:
    return STATE_LABELS.get(CaseState(state), state)


@app.command("list")
def list_(
    state: Annotated[
        list[CaseState] | None, typer.Option("--state", help="状态，可多次 / state (repeatable)")
    ] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="规则编号 / rule id")] = None,
    severity: Annotated[
        list[Severity] | None, typer.Option("--severity", help="严重程度 / severity (repeatable)")
    ] = None,
    side: Annotated[Side | None, typer.Option("--side", help="business | integrity")] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", help="单位及其下级 / unit code and its subtree")
    ] = None,
    step: Annotated[
        str | None, typer.Option("--step", help="阶梯步骤 / ladder step, e.g. L2")
    ] = None,
    bearer: Annotated[str | None, typer.Option("--bearer", help="责任人工号 / person code")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="仅逾期 / overdue only")] = False,
    sort: Annotated[
        CaseSort, typer.Option("--sort", help="due | severity | newest")
    ] = CaseSort.due,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    cursor: Annotated[str | None, typer.Option("--cursor", help="下一页游标 / next page")] = None,
) -> None:
    """案件列表 / list cases with filters, sorted and paged."""
    with session_scope() as session:
        filters = CaseFilter(
            states=state or [],
            rule_id=rule,
            severities=severity or [],
            side=side,
            unit_subtree=unit,
            ladder_step=step,
            bearer_person=bearer,
            overdue_on=cases.local_date(utcnow()) if overdue else None,
        )
        page = cases.list_cases(session, filters=filters, sort=sort, cursor=cursor, limit=limit)
        counts = cases.count_by_state(session, filters=filters)
        table = Table(
            "#",
            "状态 / state",
            "规则 / rule",
            "对象 / subject",
            "期间 / period",
            "单位 / unit",
            "严重 / severity",
            "步骤 / step",
            "期限 / due",
            "责任人 / bearer",
        )
        for case in page.items:
            table.add_row(
                str(case.id),
                _label(case.state) + (" (迟 late)" if case.late else ""),
                case.rule_id,
                case.subject_id,
                case.period or "—",
                case.unit_code or "—",
                case.severity,
                case.ladder_step or "—",
                str(case.due_on),
                case.bearer_person or "—",
            )
    out.print(
        "  ".join(f"{_label(s)}: {n}" for s, n in counts.items() if n) or "无案件 / no cases",
        soft_wrap=True,
    )
    if page.items:
        out.print(table)
    if page.next_cursor:
        out.print(f"下一页 / next page: --cursor {page.next_cursor}", soft_wrap=True)


@app.command("show")
def show(case_id: Annotated[int, typer.Argument(help="案件编号 / case id")]) -> None:
    """案件详情 / a case: its finding, evidence ids, ladder, history, notes and messages."""
    with session_scope() as session:
        case = cases.get_or_raise(session, case_id=case_id)
        finding = cases.finding_of(session, case=case)
        ladder = (
            f"{case.ladder or '—'} · 已到 / at {case.ladder_step or '—'}"
            f" · 下次 / next check {case.ladder_due_on or '—'}"
            + (f" · 暂停至 / paused until {case.paused_until}" if case.paused_until else "")
            + (f" · 待批准 / awaiting approval {case.pending_step}" if case.pending_step else "")
            + (f" · 已批准 / approved {case.approved_step}" if case.approved_step else "")
        )
        lines = [
            f"[bold]{case.rule_id}[/] · {case.subject_kind} {case.subject_id} · {case.period or '—'}",
            f"状态 / state: {_label(case.state)}"
            + (" · 迟纠正 / resolved late" if case.late else "")
            + (f" · 问责 / form: {case.accountability_form}" if case.accountability_form else "")
            + (
                f" · 误报类别 / dismissed as: {case.dismiss_category}"
                if case.dismiss_category
                else ""
            ),
            f"版本 / version: {case.version} · 重开 / reopened: {case.reopen_count}",
            f"单位 / unit: {case.unit_code or '—'} · 责任人 / bearer: {case.bearer_person or '—'}"
            f" ({case.bearer_post or '—'}) · {case.side} · {case.severity}",
            f"期限 / deadline: {case.deadline_on} · 当前期限 / due: {case.due_on}",
            f"阶梯 / ladder: {ladder}",
            f"结论 / finding: {finding.verdict} — {finding.explanation}",
            f"证据 / evidence ids: {', '.join(map(str, finding.evidence_ids)) or '—'}"
            f" · pack {finding.pack} {finding.pack_version[:12]}",
        ]
        out.print(Panel("\n".join(lines), title=f"案件 / case #{case.id}"), highlight=False)

        # One line per event, soft-wrapped: reasons are long and must never be cut off.
        out.print(f"[bold]历史 / history[/] ({get_settings().timezone})")
        for event in cases.history(session, case_id=case_id):
            detail = ", ".join(
                f"{k}={v}" for k, v in event.detail.items() if v not in (None, [], "")
            )
            out.print(
                f"  {_local(event.at)} v{event.version} {event.actor} {event.kind} "
                f"{event.from_state or '·'} → {event.to_state or '·'}  {detail}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

        messages = session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id == case_id).order_by(OutboxMessage.id)
        ).all()
        if messages:
            sent = Table(
                "步骤 / step",
                "渠道 / channel",
                "收件人 / to",
                "状态 / state",
                "发送 / sent",
                title="通知 / messages",
            )
            for message in messages:
                sent.add_row(
                    message.step,
                    message.channel,
                    message.recipient,
                    message.state,
                    _local(message.sent_at) if message.sent_at else "—",
                )
            out.print(sent)
        for comment in cases.comments(session, case_id=case_id):
            out.print(
                f"💬 {_local(comment.at)} {comment.author}: {comment.body}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        for item in cases.attachments(session, case_id=case_id):
            out.print(
                f"📎 #{item.id} {item.filename} ({item.size} B, {item.sha256[:12]}) "
                f"{item.uploaded_by}",
                markup=False,
                soft_wrap=True,
            )


@app.command("decide")
def decide(
    case_id: Annotated[int, typer.Argument(help="案件编号 / case id")],
    kind: Annotated[DecisionKind, typer.Option("--kind", help="决定类型 / decision kind")],
    reason: Annotated[str, typer.Option("--reason", help="书面理由（必填）/ written reason")],
    category: Annotated[
        DismissCategory | None, typer.Option("--category", help="dismiss: 误报类别 / category")
    ] = None,
    deadline: Annotated[
        str | None, typer.Option("--deadline", help="整改期限 / rectification deadline YYYY-MM-DD")
    ] = None,
    form: Annotated[
        AccountabilityForm | None, typer.Option("--form", help="问责方式 / accountability form")
    ] = None,
    step: Annotated[str | None, typer.Option("--step", help="批准的步骤 / step approved")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="案号 / reference")] = None,
    version: Annotated[
        int | None,
        typer.Option(
            "--version", help="基于的版本（默认当前）/ version decided on (default: current)"
        ),
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="操作者 / actor")] = None,
) -> None:
    """作出决定 / decide on a case (the reason is mandatory; the actor is recorded)."""
    try:
        decision = Decision(
            kind=kind,
            reason=reason,
            category=category,
            deadline=dt.date.fromisoformat(deadline) if deadline else None,
            form=form,
            step=step,
            reference=reference,
        )
    except ValueError as error:
        raise UserError(f"决定无效 / invalid decision: {error}") from error
    who = actor or default_actor()
    with session_scope() as session:
        current = cases.get_or_raise(session, case_id=case_id)
        case = cases.decide(
            session,
            case_id=case_id,
            actor=who,
            decision=decision,
            expected_version=version if version is not None else current.version,
            now=utcnow(),
        )
        out.print(
            f"已记录 / recorded: 案件 #{case.id} {decision.kind.value} → {_label(case.state)} "
            f"(version {case.version}, by {who})",
            soft_wrap=True,
        )


@app.command("comment")
def comment(
    case_id: Annotated[int, typer.Argument(help="案件编号 / case id")],
    body: Annotated[str, typer.Option("--body", help="评论内容 / text")],
    actor: Annotated[str | None, typer.Option("--actor", help="操作者 / actor")] = None,
) -> None:
    """添加评论 / add a comment to a case."""
    with session_scope() as session:
        note = cases.add_comment(
            session, case_id=case_id, author=actor or default_actor(), body=body, now=utcnow()
        )
        out.print(f"已添加评论 / comment #{note.id} added to case #{case_id}", soft_wrap=True)


@app.command("attach")
def attach(
    case_id: Annotated[int, typer.Argument(help="案件编号 / case id")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    note: Annotated[str, typer.Option("--note", help="说明 / note")] = "",
    actor: Annotated[str | None, typer.Option("--actor", help="操作者 / actor")] = None,
) -> None:
    """上传附件（如整改报告）/ attach a file (e.g. a rectification report)."""
    with session_scope() as session, file.open("rb") as content:
        item = cases.add_attachment(
            session,
            case_id=case_id,
            uploaded_by=actor or default_actor(),
            filename=file.name,
            content=content,
            now=utcnow(),
            note=note,
        )
        out.print(
            f"已上传 / attached #{item.id} {item.filename} ({item.size} bytes)",
            markup=False,
            soft_wrap=True,
        )


def escalate(
    now: Annotated[
        str | None, typer.Option("--now", help="视为此刻 / treat this as now (ISO date/time)")
    ] = None,
    pack: Annotated[
        list[Path] | None,
        typer.Option(
            "--pack", help="规则包（其阶梯与规则标题）/ rule packs: their ladders, titles"
        ),
    ] = None,
    deliver: Annotated[
        bool, typer.Option("--deliver/--no-deliver", help="随后投递发件箱 / then deliver")
    ] = True,
) -> None:
    """升级督办一次 / one escalation pass: take every due ladder step, then deliver messages."""
    from workflows import escalation

    moment = parse_now(now)
    started = time.perf_counter()
    report = escalation.advance(packs=[str(p) for p in pack or []], now=moment)
    advanced = time.perf_counter()
    if deliver:
        report = escalation.combine(report, escalation.deliver())
    done = time.perf_counter()
    out.print(f"升级督办 / escalation at {moment.isoformat()}: {report}", soft_wrap=True)
    out.print(
        f"用时 / time: advance {advanced - started:.2f} s"
        + (f", deliver {done - advanced:.2f} s" if deliver else "")
    )
    for failure in report.failures:
        err_console.print(
            f"  跳过 / skipped: {failure}", highlight=False, markup=False, soft_wrap=True
        )
