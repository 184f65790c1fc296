"""``dualduty org``: import the organisation from HR exports and look at it as of a date."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.tree import Tree
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from dualduty.cli.console import err_console, out
from dualduty.errors import UserError
from dualduty.problems import Problem
from dualduty.settings import get_settings
from evidence.orgfiles import ImportReport, import_org
from evidence.orgmapping import KIND_LABELS, OrgMapping, load_mapping
from evidence.values import BadValue, parse_date
from models import org
from models.org import Person, PostAssignment, Unit, UnitKind, kind_label
from models.session import get_engine, session_factory

app = typer.Typer(help="组织机构 / organisation: units, people, posts.", no_args_is_help=True)


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo(get_settings().timezone)).date()


def parse_on(text: str | None) -> dt.date:
    if text is None:
        return today()
    try:
        return parse_date(text)
    except BadValue as error:
        raise UserError([Problem(message=str(error), field="--on")]) from None


def require_schema(engine: Engine) -> None:
    if "units" not in inspect(engine).get_table_names():
        raise UserError(
            "数据库还没有建表 / the database has no tables yet",
            hint="先运行 / run `dualduty db upgrade`",
        )


@app.command("import")
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="CSV / XLSX / YAML 文件或目录 / files or folders")
    ],
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="列映射 YAML / column mapping (see `dualduty org mapping`)"),
    ] = None,
    skip_bad_rows: Annotated[
        bool,
        typer.Option(
            "--skip-bad-rows", help="跳过有错的行，导入其余 / import the good rows, list the bad"
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只校验不写入 / validate, write nothing")
    ] = False,
) -> None:
    """导入单位、人员、任职 / import units, people and post assignments."""
    engine = get_engine()
    require_schema(engine)
    column_mapping = load_mapping(mapping)
    session = session_factory(engine)()
    try:
        report = import_org(
            session, paths=files, mapping=column_mapping, skip_bad_rows=skip_bad_rows
        )
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    print_report(report, dry_run=dry_run)


def print_report(report: ImportReport, *, dry_run: bool) -> None:
    files = Table(title="文件 / files", title_justify="left")
    for column in ("文件 / file", "内容 / holds", "行 / rows", "编码 / encoding"):
        files.add_column(column)
    for summary in report.files:
        holds = ", ".join(f"{KIND_LABELS[k]}/{k}" for k in summary.kinds)
        files.add_row(summary.path, holds, str(summary.rows), summary.encoding or "xlsx")
    out.print(files)
    counts = Table(title="变更 / changes", title_justify="left")
    for column in ("", "新增 / added", "更新 / updated", "未变 / unchanged"):
        counts.add_column(column, justify="right" if column else "left")
    for label, change in (
        ("职务类型 / post types", report.post_types),
        ("单位 / units", report.units),
        ("人员 / people", report.people),
        ("任职 / posts", report.posts),
    ):
        counts.add_row(label, str(change.added), str(change.updated), str(change.unchanged))
    out.print(counts)
    for warning in report.warnings:
        # soft_wrap: a file:line must stay on one line to be copied or clicked in a terminal.
        err_console.print(f"[yellow]{warning}[/]", markup=True, highlight=False, soft_wrap=True)
    if report.skipped:
        err_console.print(
            f"[bold yellow]已跳过 {len({p.location for p in report.skipped})} 行 / "
            f"skipped rows:[/]",
            markup=True,
        )
        for problem in report.skipped:
            err_console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
    if dry_run:
        out.print("试运行，未写入 / dry run: nothing was written")
    elif report.changed == 0:
        out.print("没有变化 / nothing changed")
    else:
        out.print(f"已导入 / imported: {report.changed} 项变更 / changes")


@app.command("show")
def show(
    unit: Annotated[
        str | None, typer.Option("--unit", help="从此单位开始 / root unit code")
    ] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="日期 / as of date (default: today)")
    ] = None,
    depth: Annotated[
        int | None, typer.Option("--depth", min=0, help="显示层数 / levels below the root")
    ] = None,
) -> None:
    """显示组织树及任职人员 / show the unit tree with its post holders."""
    engine = get_engine()
    require_schema(engine)
    day = parse_on(on)
    with session_factory(engine)() as session:
        trees = org_trees(session, root=unit, on=day, depth=depth)
    if not trees:
        out.print("还没有单位 / no units yet: `dualduty org import FILE...` or `dualduty demo`")
    for tree in trees:
        out.print(tree)


def org_trees(session: Session, *, root: str | None, on: dt.date, depth: int | None) -> list[Tree]:
    """Rich trees of units (from ``root``, or from every top unit) with who holds what on ``on``."""
    starts = [org.get_unit_or_raise(session, code=root).code] if root else org.roots(session)
    codes = [code for start in starts for code in org.subtree(session, unit_code=start)]
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    # Mines before departments before branches: the order a reader of an org chart expects.
    rank = {kind.value: index for index, kind in enumerate(UnitKind)}
    children: dict[str, list[str]] = defaultdict(list)
    for code in sorted(codes, key=lambda c: (rank.get(units[c].kind, len(rank)), c)):
        parent = units[code].parent_code
        if parent in units and code not in starts:
            children[parent].append(code)
    posts: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = session.execute(
        select(PostAssignment.unit_code, PostAssignment.post_name, Person.name)
        .join(Person, Person.code == PostAssignment.person_code)
        .where(
            PostAssignment.unit_code.in_(codes),
            PostAssignment.since <= on,
            (PostAssignment.until.is_(None)) | (PostAssignment.until >= on),
        )
        .order_by(PostAssignment.since, Person.code)
    ).tuples()
    for unit_code, post_name, name in rows:
        posts[unit_code][post_name].append(name)
    order = org.post_order(session)

    def label(unit: Unit) -> str:
        kind = kind_label(unit.kind)
        held = sorted(posts[unit.code].items(), key=lambda kv: order.get(kv[0], len(order)))
        holders = "；".join(f"{post}：{'、'.join(names)}" for post, names in held)
        text = f"[bold]{unit.name}[/] [dim]{unit.code} · {kind}[/]"
        return f"{text}  [cyan]{holders}[/]" if holders else text

    def grow(node: Tree, code: str, level: int) -> None:
        kids = children.get(code, [])
        if depth is not None and level >= depth:
            if kids:
                node.add(f"[dim]… {len(kids)} 个下级单位 / more units[/]")
            return
        for kid in kids:
            grow(node.add(label(units[kid])), kid, level + 1)

    trees = []
    for start in starts:
        tree = Tree(label(units[start]))
        grow(tree, start, 0)
        trees.append(tree)
    return trees


@app.command("chain")
def chain(
    person: Annotated[str, typer.Argument(help="工号 / person code")],
    on: Annotated[
        str | None, typer.Option("--on", help="日期 / as of date (default: today)")
    ] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", help="从此单位算起 / start at this unit")
    ] = None,
) -> None:
    """上级链 / who supervises a person on a date, nearest first."""
    engine = get_engine()
    require_schema(engine)
    day = parse_on(on)
    with session_factory(engine)() as session:
        subject = org.get_person_or_raise(session, code=person)
        held = org.posts_of(session, person_code=person, on=day)
        links = org.supervisor_chain(session, person_code=person, on=day, unit_code=unit)
    posts = "、".join(f"{a.unit_code} {a.post_name}" for a in held) or "无职务 / no post"
    out.print(f"{subject.name} ({subject.code}) · {posts} · {day.isoformat()}")
    table = Table()
    for column in ("", "姓名 / name", "工号 / code", "职务 / post", "单位 / unit"):
        table.add_column(column)
    for index, link in enumerate(links, start=1):
        table.add_row(
            str(index),
            link.person_name,
            link.person_code,
            link.post_name,
            f"{link.unit_name} ({link.unit_code})",
        )
    out.print(table if links else "没有上级 / no superior on that date")


@app.command("mapping")
def mapping() -> None:
    """打印默认列映射 / print the default column mapping (a starting point for --mapping)."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 100
    buffer = io.StringIO()
    yaml.dump(OrgMapping().model_dump(mode="json"), buffer)
    out.print(buffer.getvalue(), markup=False, highlight=False, end="")
