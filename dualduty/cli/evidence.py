"""``dualduty evidence``: enter records by hand, gather from sources, look at the store."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.table import Table

from dualduty.cli.console import err_console, out
from dualduty.errors import UserError
from dualduty.problems import Problem
from evidence import manual, store
from evidence.gather import GatherReport, gather
from evidence.tabular import iter_files, read_table
from evidence.types import EvidenceType
from models.session import get_engine, session_scope

app = typer.Typer(help="证据 / evidence: manual entry, gathering, the store.", no_args_is_help=True)

PackOption = Annotated[
    Path | None,
    typer.Option("--pack", help="规则包 / rule pack declaring the type (default: as last stored)"),
]


def _require_schema() -> None:
    if "evidence_records" not in sa.inspect(get_engine()).get_table_names():
        raise UserError(
            "数据库还没有证据表 / the database has no evidence tables yet",
            hint="先运行 / run `dualduty db upgrade`",
        )


def _pack_types(pack: Path) -> dict[str, EvidenceType]:
    from rules.compiler import load_pack

    return dict(load_pack(pack).pack.evidence)


def _evidence_type(type_name: str, pack: Path | None) -> EvidenceType:
    if pack is not None:
        types = _pack_types(pack)
        if type_name not in types:
            raise UserError(
                [
                    Problem(
                        message=f"规则包没有声明证据类型 {type_name} / the pack declares no evidence type {type_name!r}",
                        field="--type",
                        hint="declared: " + ", ".join(sorted(types)),
                    )
                ]
            )
        return types[type_name]
    with session_scope() as session:
        declared = store.declared_type(session, type_name=type_name)
        known = [name for name, _ in store.declared_types(session)]
    if declared is None:
        raise UserError(
            [
                Problem(
                    message=f"未知的证据类型 {type_name} / unknown evidence type {type_name!r}",
                    field="--type",
                    hint="give --pack PACK.yaml that declares it"
                    + (f" (known: {', '.join(known)})" if known else ""),
                )
            ]
        )
    return declared


def _parse_fields(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            problems.append(
                Problem(message=f"应为 名称=值 / expected name=value: {pair!r}", field="--field")
            )
            continue
        values[name.strip()] = value
    if problems:
        raise UserError(problems)
    return values


@app.command("add")
def add(
    type_name: Annotated[str, typer.Option("--type", "-t", help="证据类型 / evidence type")],
    field: Annotated[
        list[str] | None,
        typer.Option("--field", "-f", help="字段 / field as name=value (repeat)"),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="CSV/XLSX/JSON 文件，每行一条 / one record per row"),
    ] = None,
    pack: PackOption = None,
    by: Annotated[
        str | None, typer.Option("--by", help="登记人 / submitted by (default: login name)")
    ] = None,
) -> None:
    """登记证据 / submit records by hand (a meeting, a talk, a declaration …)."""
    _require_schema()
    if bool(field) == (file is not None):
        raise UserError(
            "请给出 --field 或 --file（二选一）/ give either --field name=value … or --file",
            hint="dualduty evidence add --type meeting --field unit=B01 --field held_on=2026-03-05",
        )
    store.check_type_name(type_name)
    evidence_type = _evidence_type(type_name, pack)
    records: list[dict[str, Any]] = []
    locations = None
    origin = "cli"
    if file is not None:
        rows = [row for path in iter_files(file) for row in read_table(path).rows]
        records = [dict(row.values) for row in rows]
        locations = [row.location for row in rows]
        origin = f"cli:{file.name}"
    else:
        records = [_parse_fields(field or [])]
    with session_scope() as session:
        report = manual.submit(
            session,
            type_name=type_name,
            evidence_type=evidence_type,
            records=records,
            submitted_by=by or getpass.getuser(),
            origin=origin,
            locations=locations,
        )
    ids = ", ".join(f"#{i}" for i in report.ids) or "-"
    out.print(
        f"已登记 / recorded {type_name}: 新增 new {report.new}, 变更 changed {report.changed}, "
        f"未变 unchanged {report.unchanged} (ids {ids})"
    )
    for problem in report.problems:
        err_console.print(str(problem), markup=False, highlight=False)


@app.command("gather")
def gather_(
    pack: Annotated[Path, typer.Option("--pack", help="规则包 / rule pack with sources")],
    type_name: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="只采集这些类型 / only these types")
    ] = None,
) -> None:
    """从来源采集证据 / fetch every declared source of a pack into the store."""
    _require_schema()
    types = _pack_types(pack)
    unknown = sorted(set(type_name or []) - set(types))
    if unknown:
        raise UserError(
            [
                Problem(
                    message=f"规则包没有声明 / the pack declares no evidence type {', '.join(unknown)}",
                    field="--type",
                    hint="declared: " + ", ".join(sorted(types)),
                )
            ]
        )
    chosen = [n for n in types if (not type_name or n in type_name) and types[n].source is not None]
    reports: list[GatherReport] = []
    for name in chosen:
        # One transaction per source: a source that fails leaves the others' records stored.
        with session_scope() as session:
            reports.append(
                gather(session, type_name=name, evidence_type=types[name], base_dir=pack.parent)
            )
    table = Table(title="采集结果 / gathered")
    for column in (
        "类型 type",
        "来源 source",
        "获取 fetched",
        "新增 new",
        "变更 changed",
        "未变 unchanged",
        "跳过 skipped",
        "秒 s",
    ):
        table.add_column(column)
    for r in reports:
        table.add_row(
            r.type_name,
            f"{r.source_name} ({r.source_kind})",
            str(r.fetched),
            str(r.new),
            str(r.changed),
            str(r.unchanged),
            str(r.skipped),
            f"{r.seconds:.2f}",
        )
    out.print(table)
    for r in reports:
        for problem in r.problems:
            err_console.print(str(problem), markup=False, highlight=False)


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@app.command("list")
def list_(
    type_name: Annotated[str, typer.Option("--type", "-t", help="证据类型 / evidence type")],
    unit: Annotated[str | None, typer.Option("--unit", "-u", help="单位编码 / unit code")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="最多显示 / at most")] = 50,
) -> None:
    """列出当前证据 / current records of a type, with provenance."""
    _require_schema()
    store.check_type_name(type_name)
    with session_scope() as session:
        total = store.count_current(session, type_name=type_name, unit_code=unit)
        records = store.list_current(session, type_name=type_name, unit_code=unit, limit=limit)
        declared = store.declared_type(session, type_name=type_name)
    names = list(declared.fields) if declared else sorted({k for r in records for k in r.fields})
    table = Table(title=f"{type_name}: {len(records)} / {total}", show_lines=False)
    table.add_column("ID", justify="right")
    for name in names:
        table.add_column(name)
    for column in ("来源 source", "获取时间 fetched_at", "哈希 hash", "版本 v"):
        table.add_column(column)
    for record in records:
        table.add_row(
            str(record.id),
            *[_value(record.fields.get(n)) for n in names],
            record.source_name,
            record.fetched_at.strftime("%Y-%m-%d %H:%M"),
            record.content_hash[:12],
            str(record.version),
        )
    out.print(table)


@app.command("show")
def show(record_id: Annotated[int, typer.Argument(help="证据记录 ID / record id")]) -> None:
    """查看一条证据及其各版本 / a record, its provenance and its versions."""
    _require_schema()
    with session_scope() as session:
        record = store.get_or_raise(session, record_id=record_id)
        history = store.versions(session, record=record)
    state = "当前 current" if record.is_current else "已被替代 superseded"
    out.print(
        f"[bold]{record.type_name} #{record.id}[/] {record.natural_key}  v{record.version} ({state})"
    )
    details = Table(show_header=False, box=None)
    details.add_column(style="bold")
    details.add_column()
    for name, value in record.fields.items():
        details.add_row(name, _value(value))
    details.add_row("", "")
    details.add_row("来源 source", f"{record.source_name} ({record.source_kind})")
    details.add_row("位置 location", record.location or "")
    if record.submitted_by:
        details.add_row("登记人 submitted by", record.submitted_by)
    details.add_row("获取时间 fetched_at", record.fetched_at.isoformat())
    details.add_row("内容哈希 hash", record.content_hash)
    details.add_row("原始数据 raw", json.dumps(record.raw, ensure_ascii=False))
    out.print(details)
    versions = Table(title="版本 / versions")
    for column in ("v", "ID", "获取时间 fetched_at", "来源 source", "哈希 hash", "状态 state"):
        versions.add_column(column)
    for version in history:
        versions.add_row(
            str(version.version),
            str(version.id),
            version.fetched_at.strftime("%Y-%m-%d %H:%M"),
            version.source_name,
            version.content_hash[:12],
            "当前 current"
            if version.is_current
            else f"替代于 superseded {version.superseded_at:%Y-%m-%d %H:%M}",
        )
    out.print(versions)
